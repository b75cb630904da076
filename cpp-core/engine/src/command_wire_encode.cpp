// Hand-written encoders for the two outputs of every accepted order:
// RiskDecision and the forwarded OrderCommand, straight into the caller's
// buffer (protobuf-c's get_packed_size + pack walk the descriptors twice;
// this is one pass). The bytes are identical to protobuf-c's (field-number
// order, proto3 zero/empty fields omitted, strings up to their first NUL,
// negative int32/enums as 10-byte varints): tests/test_command_wire.cpp
// compares both encoders on random messages.
#include <cstring>

#include "oms/engine/codec.hpp"

namespace oms::engine {
namespace {

// strnlen(s.data, s.len) without a libc call: protobuf-c stops a string at
// its first NUL, so an id with an embedded NUL must be cut there too. Word-
// wise zero-byte test; reads whole words, never past data[N] (N % 8 == 0).
template <std::size_t N>
inline std::size_t fs_strnlen(const FixedString<N>& s) {
    if constexpr (N % 8 != 0) {
        return strnlen(s.data, s.len);
    } else {
        const std::size_t len = s.len;
        for (std::size_t off = 0; off < len; off += 8) {
            std::uint64_t v;
            std::memcpy(&v, s.data + off, 8);
            const std::uint64_t z = (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull;
            if (z) {
                const std::size_t at = off + static_cast<std::size_t>(__builtin_ctzll(z) >> 3);
                return at < len ? at : len;
            }
        }
        return len;
    }
}

// kChecked = false when the caller proved the buffer can hold the largest
// message of its kind (see kMaxDecisionBytes): no capacity test per field.
template <bool kChecked = true>
struct W {
    std::uint8_t* p;
    std::uint8_t* end;
    bool ok = true;

    bool room(std::size_t n) {
        if constexpr (kChecked) {
            if (static_cast<std::size_t>(end - p) < n) { ok = false; return false; }
        }
        return true;
    }
    void varint(std::uint64_t v) {
        if (!room(v < 0x80 ? 1 : (64 - static_cast<std::size_t>(__builtin_clzll(v)) + 6) / 7)) return;  // exact size
        while (v >= 0x80) { *p++ = static_cast<std::uint8_t>(v | 0x80); v >>= 7; }
        *p++ = static_cast<std::uint8_t>(v);
    }
    // Tags and lengths below 128: one byte (every tag here, most lengths).
    void small(std::uint64_t v) {
        if (v < 0x80 && room(1)) *p++ = static_cast<std::uint8_t>(v);
        else varint(v);
    }
    void tag(std::uint32_t f, std::uint32_t wt) { small((f << 3) | wt); }
    void raw(const void* s, std::size_t n) {
        if (!room(n)) return;
        std::memcpy(p, s, n);
        p += n;
    }
    void str(std::uint32_t f, const char* s, std::size_t n_max) {
        std::size_t n = n_max ? strnlen(s, n_max) : 0;
        if (!n) return;
        tag(f, 2); small(n); raw(s, n);
    }
    // Copy of a fixed string's n used bytes: with room for all N bytes, one
    // fixed-size (inlined, vector) copy of the whole buffer, of which n count.
    template <std::size_t N>
    void raw_fs(const FixedString<N>& s, std::size_t n) {
        if (!kChecked || static_cast<std::size_t>(end - p) >= N) {
            std::memcpy(p, s.data, N);
            p += n;
        } else {
            raw(s.data, n);
        }
    }
    template <std::size_t N>
    void str_n(std::uint32_t f, const FixedString<N>& s, std::size_t n) {
        if (!n) return;
        tag(f, 2); small(n); raw_fs(s, n);
    }
    template <std::size_t N>
    void str(std::uint32_t f, const FixedString<N>& s) { str_n(f, s, fs_strnlen(s)); }
    template <std::size_t N>
    void rep_str(std::uint32_t f, const FixedString<N>& s) {  // repeated: empty elements are packed too
        const std::size_t n = fs_strnlen(s);
        tag(f, 2); small(n); raw_fs(s, n);
    }
    void u64(std::uint32_t f, std::uint64_t v) { if (v) { tag(f, 0); varint(v); } }
    void i64(std::uint32_t f, std::int64_t v) { u64(f, static_cast<std::uint64_t>(v)); }
    void i32(std::uint32_t f, std::int32_t v) { if (v) { tag(f, 0); varint(static_cast<std::uint64_t>(static_cast<std::int64_t>(v))); } }
    void boolean(std::uint32_t f, bool v) { if (v) { tag(f, 0); small(1); } }

    // Length-delimited sub-message: body written after a 1-byte length
    // placeholder, moved right when the length needs more bytes.
    template <typename Body>
    void msg(std::uint32_t f, Body&& body) {
        tag(f, 2);
        if (!ok || !room(1)) { ok = false; return; }
        std::uint8_t* len_at = p++;
        std::uint8_t* start = p;
        body();
        if (!ok) return;
        std::size_t n = static_cast<std::size_t>(p - start);
        if (n < 0x80) { *len_at = static_cast<std::uint8_t>(n); return; }
        std::uint8_t tmp[5];
        int k = 0;
        std::uint64_t v = n;
        while (v >= 0x80 && k < 4) { tmp[k++] = static_cast<std::uint8_t>(v | 0x80); v >>= 7; }  // n < 2^28: <= 4 bytes
        tmp[k++] = static_cast<std::uint8_t>(v);
        if (end - p < k - 1) { ok = false; return; }
        std::memmove(start + (k - 1), start, n);
        std::memcpy(len_at, tmp, static_cast<std::size_t>(k));
        p += k - 1;
    }
    void id(std::uint32_t f, const InstrumentId& i) {
        msg(f, [&] { str(1, i.exchange); str(2, i.market); str(3, i.symbol); });
    }
    void dec(std::uint32_t f, const Decimal& d) {
        msg(f, [&] { i64(1, d.mantissa); i32(2, d.scale); });
    }
};

// Largest RiskDecision W can write, counting whole FixedString copies
// (raw_fs stores all N bytes): tags 1 byte, lengths <= 2, varints <= 10.
constexpr std::size_t kMaxDecisionBytes =
    (1 + 1 + 64 + 9) +                                          // decision_id (raw_fs of command_id + ":decision")
    (1 + 1 + 64) + (1 + 1 + 48) + (1 + 1 + 32) +                // command_id, order_id, account
    (1 + 1 + (1 + 1 + 16) + (1 + 1 + 16) + (1 + 1 + 32)) +      // instrument
    2 * (1 + 10) +                                              // result, reason
    (1 + 2 + sizeof(RejectText::buf)) +                         // text
    3 * (1 + 10);                                               // sequence, latency, ts

template <bool kChecked>
std::size_t encode_decision_impl(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf, std::size_t cap) {
    W<kChecked> w{buf, buf + cap};
    // decision_id = command_id + ":decision" (Codec's join caps it at 95
    // chars; 63 + 9 never reaches that). An id with an embedded NUL ends
    // there, as in protobuf-c's strlen, and then has no suffix.
    const std::size_t n = fs_strnlen(d.command_id);
    const bool whole = n == d.command_id.len;
    if (const std::size_t id_len = n + (whole ? 9 : 0)) {
        w.tag(1, 2);
        w.small(id_len);
        w.raw_fs(d.command_id, n);
        if (whole) w.raw(":decision", 9);
    }
    w.str_n(2, d.command_id, n);
    w.str(3, d.order_id);
    w.str(4, d.account);
    w.id(5, d.instrument);
    w.i32(6, static_cast<std::int32_t>(d.result));
    w.i32(7, static_cast<std::int32_t>(d.reason));
    w.str(8, d.text.buf, d.text.len);
    w.u64(9, d.command_sequence);
    w.i64(10, check_latency_ns);
    w.i64(11, d.ts_ns);
    return w.ok ? static_cast<std::size_t>(w.p - buf) : 0;
}

}  // namespace

std::size_t encode_decision_direct(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf, std::size_t cap) {
    return cap >= kMaxDecisionBytes ? encode_decision_impl<false>(d, check_latency_ns, buf, cap)
                                    : encode_decision_impl<true>(d, check_latency_ns, buf, cap);
}

std::size_t encode_command_direct(const OrderCommandMsg& c, std::uint8_t* buf, std::size_t cap) {
    W<> w{buf, buf + cap};
    w.str(1, c.command_id);
    switch (c.kind) {
        case CommandKind::NewOrder: {
            const NewOrderMsg& n = c.new_order;
            w.msg(2, [&] {
                w.str(1, n.order_id);
                w.str(2, n.client_order_id);
                w.str(3, n.account);
                w.id(4, n.instrument);
                w.i32(5, static_cast<std::int32_t>(n.side));
                w.i32(6, static_cast<std::int32_t>(n.type));
                w.i32(7, static_cast<std::int32_t>(n.time_in_force));
                w.dec(8, n.quantity);
                if (n.has_price) w.dec(9, n.price);
                if (n.has_stop_price) w.dec(10, n.stop_price);
                w.boolean(11, n.reduce_only);
                w.boolean(12, n.post_only);
                if (n.routing_strategy || n.n_allowed_venues) {
                    w.msg(13, [&] {
                        w.i32(1, n.routing_strategy);
                        for (int i = 0; i < n.n_allowed_venues && i < kMaxRoutingVenues; ++i) w.rep_str(2, n.allowed_venues[i]);
                    });
                }
                w.str(14, n.parent_order_id);
                w.i64(15, n.ts_ns);
                if (n.has_quote_quantity) w.dec(16, n.quote_quantity);
                if (n.has_expire_time) { w.tag(17, 0); w.varint(static_cast<std::uint64_t>(n.expire_time_ns)); }
            });
            break;
        }
        case CommandKind::CancelOrder: {
            const CancelOrderMsg& n = c.cancel;
            w.msg(3, [&] {
                w.str(1, n.order_id);
                w.str(2, n.client_order_id);
                w.str(3, n.account);
                w.id(4, n.instrument);
                w.str(5, n.reason);
                w.i64(6, n.ts_ns);
            });
            break;
        }
        case CommandKind::AmendOrder: {
            const AmendOrderMsg& n = c.amend;
            w.msg(4, [&] {
                w.str(1, n.order_id);
                w.str(2, n.account);
                w.id(3, n.instrument);
                if (n.has_new_quantity) w.dec(4, n.new_quantity);
                if (n.has_new_price) w.dec(5, n.new_price);
                w.i64(6, n.ts_ns);
            });
            break;
        }
        case CommandKind::CancelAll: {
            const CancelAllMsg& n = c.cancel_all;
            w.msg(5, [&] {
                w.str(1, n.account);
                w.str(2, n.exchange);
                w.str(3, n.market);
                w.str(4, n.symbol);
                w.str(5, n.reason);
                w.i64(6, n.ts_ns);
            });
            break;
        }
        default: break;
    }
    return w.ok ? static_cast<std::size_t>(w.p - buf) : 0;
}

}  // namespace oms::engine
