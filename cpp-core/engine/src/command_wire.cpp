// Hand-written, allocation-free decoder for oms.v1.OrderCommand (the order
// path's hottest decode: protobuf-c's generic unpack + arena copy cost
// ~0.6-0.8 us per NewOrder, this is a single pass over the bytes).
//
// Equivalence with the protobuf-c path (Codec::decode_command_reference) is
// the contract: same return value, same OrderCommandMsg when it succeeds
// (tests/test_codec.cpp checks every golden vector and a differential
// mutation run; fuzz/fuzz_command.cpp aborts on any difference). To keep that
// contract simple the fast path only handles canonical, unambiguous input and
// returns Fallback for everything else, which then goes to protobuf-c:
//   * a tag that is not one of the message's fields with its wire type
//     (unknown fields, tag 0, mismatched wire types, overlong tag varints),
//   * any non-repeated field seen twice (protobuf-c merges repeated
//     sub-messages and switches oneofs), more than 4 routing venues,
//   * length prefixes of 5+ bytes, and any malformed or truncated input.
// Field semantics mirrored from protobuf-c + Codec: strings stop at the first
// NUL (protobuf-c hands out C strings), int32/enums are the varint's low 32
// bits, bools are "any payload bit set", absent sub-messages read as zero.
#include <cstring>

#include "oms/engine/codec.hpp"

namespace oms::engine {
namespace {

enum class R { Ok, Fallback };

struct Slice {
    const std::uint8_t* p = nullptr;
    std::uint32_t n = 0;
    // End of the whole input buffer: bytes in [p + n, lim) belong to later
    // fields and may be read (never used) by word-wise string copies.
    const std::uint8_t* lim = nullptr;
};

struct Reader {
    const std::uint8_t* p;
    const std::uint8_t* end;
    const std::uint8_t* lim;  // end of the whole input (Slice::lim)

    // Varint of at most 10 bytes (protobuf-c's limit); value = low 64 bits.
    // *any_bits: some payload bit set (protobuf-c's bool rule).
    bool varint(std::uint64_t& v, bool* any_bits = nullptr) {
        std::uint64_t r = 0;
        bool any = false;
        for (int i = 0; i < 10; ++i) {
            if (p == end) return false;
            std::uint8_t b = *p++;
            any |= (b & 0x7f) != 0;
            if (i < 10) r |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
            if (!(b & 0x80)) { v = r; if (any_bits) *any_bits = any; return true; }
        }
        return false;
    }
    // Tag: 1 byte (fields 1-15) or the canonical 2-byte form (fields 16+).
    bool tag(std::uint32_t& field, std::uint32_t& wt) {
        if (p == end) return false;
        std::uint8_t b0 = *p;
        if (!(b0 & 0x80)) { ++p; field = b0 >> 3; wt = b0 & 7; return true; }
        if (end - p < 2) return false;
        std::uint8_t b1 = p[1];
        if ((b1 & 0x80) || b1 == 0) return false;
        p += 2;
        std::uint32_t t = (b0 & 0x7fu) | (static_cast<std::uint32_t>(b1) << 7);
        field = t >> 3; wt = t & 7;
        return true;
    }
    // Length prefix of at most 4 bytes, bounded by the buffer.
    bool bytes(Slice& s) {
        std::uint32_t len = 0;
        for (int i = 0;; ++i) {
            if (i == 4 || p == end) return false;
            std::uint8_t b = *p++;
            len |= static_cast<std::uint32_t>(b & 0x7f) << (7 * i);
            if (!(b & 0x80)) break;
        }
        if (static_cast<std::size_t>(end - p) < len) return false;
        s.p = p; s.n = len; s.lim = lim;
        p += len;
        return true;
    }
};

constexpr std::uint32_t kVarint = 0, kLen = 2;

// Seen-once guard: a second occurrence of a field means fallback.
struct Seen {
    std::uint32_t bits = 0;
    bool first(std::uint32_t f) {
        std::uint32_t m = 1u << f;
        if (bits & m) return false;
        bits |= m;
        return true;
    }
};

template <std::size_t N>
[[gnu::noinline, gnu::cold]] bool put_str_slow(FixedString<N>& dst, const Slice& s) {
    std::size_t n = s.n;
    if (n) {
        const void* z = std::memchr(s.p, 0, n);
        if (z) n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(z) - s.p);
    }
    return dst.assign(std::string_view(reinterpret_cast<const char*>(s.p), n));
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "word-wise string copy assumes little endian");

// put_str_slow's result without libc calls (memchr + a variable-length
// memcpy, ~10% of a NewOrder decode): NUL scan and copy 8 bytes at a time.
// Reads whole words from the slice's start while they lie inside the input
// buffer (bytes past the slice are masked off, never used); never writes
// past data[N]; the bytes after the string end up zero, as
// FixedString::assign leaves them (deterministic snapshots).
template <std::size_t N>
[[gnu::always_inline]] inline bool put_str(FixedString<N>& dst, const Slice& s) {
    static_assert(N % 8 == 0, "whole words");
    constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    const std::size_t n = s.n;
    // Too long (or NUL-cut below the capacity), or a last word that would
    // reach past the input: rare, the libc path.
    if (n > N - 1 || static_cast<std::size_t>(s.lim - s.p) < ((n + 7) & ~std::size_t{7}))
        return put_str_slow(dst, s);
    char* d = dst.data;
    const std::uint8_t* const p = s.p;  // a local: the stores below may alias *s
    std::size_t cut = n, j = 0;
    for (; j < n; j += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + j, 8);
        const std::size_t k = n - j;  // bytes of the string in this word
        const std::uint64_t valid = k >= 8 ? ~0ull : ~0ull >> (64 - 8 * k);
        v &= valid;
        // Lowest flag = first NUL (borrows only ever flag bytes above it).
        if (const std::uint64_t z = (v - kOnes) & ~v & kHigh & valid) {
            const std::size_t b = static_cast<std::size_t>(__builtin_ctzll(z) >> 3);
            cut = j + b;
            v &= b ? ~0ull >> (64 - 8 * b) : 0;
            std::memcpy(d + j, &v, 8);
            j += 8;
            break;
        }
        std::memcpy(d + j, &v, 8);
    }
    // data[cut] is zero already unless the string filled whole words.
    if (cut == j) {  // cut % 8 == 0 and cut <= N - 1, so j + 8 <= N
        std::memset(d + j, 0, 8);
        j += 8;
    }
    if (dst.len >= j) std::memset(d + j, 0, dst.len + 1u - j);  // an older, longer value
    dst.len = static_cast<std::uint8_t>(cut);
    return true;
}

struct DecView {
    bool present = false;
    std::int64_t mantissa = 0;
    std::int32_t scale = 0;
};

R parse_decimal(Slice s, DecView& d) {
    Reader r{s.p, s.p + s.n, s.lim};
    Seen seen;
    d.present = true;
    while (r.p != r.end) {
        std::uint32_t f, wt;
        std::uint64_t v;
        if (!r.tag(f, wt) || wt != kVarint || (f != 1 && f != 2) || !seen.first(f) || !r.varint(v)) return R::Fallback;
        if (f == 1) d.mantissa = static_cast<std::int64_t>(v);
        else d.scale = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return R::Ok;
}

struct IdView {
    Slice ex, mkt, sym;
};

R parse_id(Slice s, IdView& id) {
    Reader r{s.p, s.p + s.n, s.lim};
    Seen seen;
    while (r.p != r.end) {
        std::uint32_t f, wt;
        if (!r.tag(f, wt) || wt != kLen || f < 1 || f > 3 || !seen.first(f)) return R::Fallback;
        Slice* dst = f == 1 ? &id.ex : f == 2 ? &id.mkt : &id.sym;
        if (!r.bytes(*dst)) return R::Fallback;
    }
    return R::Ok;
}

bool put_id(InstrumentId& dst, const IdView& v) {
    return put_str(dst.exchange, v.ex) && put_str(dst.market, v.mkt) && put_str(dst.symbol, v.sym);
}

void put_dec(Decimal& d, const DecView& v) {
    d.mantissa = v.present ? v.mantissa : 0;
    d.scale = v.present ? v.scale : 0;
}

std::uint32_t low32(std::uint64_t v) { return static_cast<std::uint32_t>(v); }

// Generic scan loop for one message: on_len(field, slice) / on_varint(field,
// value, any_bits) return false for "not mine" (-> fallback).
template <typename OnLen, typename OnVarint>
R scan(Slice s, std::uint32_t repeatable_mask, OnLen&& on_len, OnVarint&& on_varint) {
    Reader r{s.p, s.p + s.n, s.lim};
    Seen seen;
    while (r.p != r.end) {
        std::uint32_t f, wt;
        if (!r.tag(f, wt) || f == 0 || f > 31) return R::Fallback;
        if (!(repeatable_mask & (1u << f)) && !seen.first(f)) return R::Fallback;
        if (wt == kLen) {
            Slice v;
            if (!r.bytes(v) || !on_len(f, v)) return R::Fallback;
        } else if (wt == kVarint) {
            std::uint64_t v;
            bool any;
            if (!r.varint(v, &any) || !on_varint(f, v, any)) return R::Fallback;
        } else {
            return R::Fallback;
        }
    }
    return R::Ok;
}

}  // namespace

// 1: decoded (ok or not-ok per the Codec rules), -1: fallback needed.
int decode_command_fast(const std::uint8_t* data, std::size_t len, std::uint64_t sequence, OrderCommandMsg& out,
                        bool& ok_out) {
    Slice cmd_id, body;
    std::uint32_t which = 0;
    R r = scan(Slice{data, static_cast<std::uint32_t>(len), data + len}, 0,
               [&](std::uint32_t f, Slice v) {
                   if (f == 1) { cmd_id = v; return true; }
                   if (f >= 2 && f <= 5) {
                       if (which) return false;  // second oneof member: protobuf-c semantics, fall back
                       which = f; body = v;
                       return true;
                   }
                   return false;
               },
               [](std::uint32_t, std::uint64_t, bool) { return false; });
    if (r != R::Ok || len > 0xFFFFFFFFu) return -1;

    switch (which) {
        case 2: {
            Slice order_id, clord, account, parent, inst, routing;
            bool has_inst = false, has_routing = false;
            DecView qty, px, stop, qq;
            std::uint32_t side = 0, type = 0, tif = 0;
            bool reduce_only = false, post_only = false, has_expire = false;
            std::int64_t ts = 0, expire = 0;
            bool sub_ok = true;
            r = scan(body, 0,
                     [&](std::uint32_t f, Slice v) {
                         switch (f) {
                             case 1: order_id = v; return true;
                             case 2: clord = v; return true;
                             case 3: account = v; return true;
                             case 4: inst = v; has_inst = true; return true;
                             case 8: return parse_decimal(v, qty) == R::Ok;
                             case 9: return parse_decimal(v, px) == R::Ok;
                             case 10: return parse_decimal(v, stop) == R::Ok;
                             case 13: routing = v; has_routing = true; return true;
                             case 14: parent = v; return true;
                             case 16: return parse_decimal(v, qq) == R::Ok;
                             default: return false;
                         }
                     },
                     [&](std::uint32_t f, std::uint64_t v, bool any) {
                         switch (f) {
                             case 5: side = low32(v); return true;
                             case 6: type = low32(v); return true;
                             case 7: tif = low32(v); return true;
                             case 11: reduce_only = any; return true;
                             case 12: post_only = any; return true;
                             case 15: ts = static_cast<std::int64_t>(v); return true;
                             case 17: expire = static_cast<std::int64_t>(v); has_expire = true; return true;
                             default: return false;
                         }
                     });
            if (r != R::Ok) return -1;
            IdView id;
            if (has_inst && parse_id(inst, id) != R::Ok) return -1;
            std::uint32_t strategy = 0, n_venues = 0;
            Slice venues[kMaxRoutingVenues + 1];
            if (has_routing) {
                r = scan(routing, 1u << 2,
                         [&](std::uint32_t f, Slice v) {
                             if (f != 2) return false;
                             if (n_venues < kMaxRoutingVenues + 1) venues[n_venues] = v;
                             ++n_venues;
                             return true;
                         },
                         [&](std::uint32_t f, std::uint64_t v, bool) {
                             if (f != 1) return false;
                             strategy = low32(v);
                             return true;
                         });
                if (r != R::Ok || n_venues > kMaxRoutingVenues) return -1;  // > 4: let the reference path reject it
            }
            (void)sub_ok;
            NewOrderMsg& o = out.new_order;
            out.kind = CommandKind::NewOrder;
            out.wire_lossless = side <= 2 && type <= 7 && tif <= 255 && (!has_routing || strategy <= 255);
            bool ok = put_str(out.command_id, cmd_id);
            out.sequence = sequence;
            ok = ok && put_str(o.order_id, order_id) && put_str(o.client_order_id, clord) &&
                 put_str(o.parent_order_id, parent) && put_str(o.account, account) && put_id(o.instrument, id);
            o.side = static_cast<Side>(side <= 2 ? side : 0);
            o.type = static_cast<OrderType>(type <= 7 ? type : 0);
            o.time_in_force = static_cast<std::uint8_t>(tif);
            put_dec(o.quantity, qty);
            put_dec(o.price, px); o.has_price = px.present;
            put_dec(o.stop_price, stop); o.has_stop_price = stop.present;
            put_dec(o.quote_quantity, qq); o.has_quote_quantity = qq.present;
            o.reduce_only = reduce_only;
            o.post_only = post_only;
            o.has_expire_time = has_expire;
            o.expire_time_ns = has_expire ? expire : 0;
            o.ts_ns = ts;
            o.routing_strategy = has_routing ? static_cast<std::uint8_t>(strategy) : 0;
            o.n_allowed_venues = 0;
            for (std::uint32_t i = 0; ok && i < n_venues; ++i) ok = put_str(o.allowed_venues[o.n_allowed_venues++], venues[i]);
            // A string cut at a NUL is shorter than its bytes.
            out.wire_lossless = out.wire_lossless && out.command_id.len == cmd_id.n && o.order_id.len == order_id.n &&
                                o.client_order_id.len == clord.n && o.parent_order_id.len == parent.n &&
                                o.account.len == account.n && o.instrument.exchange.len == id.ex.n &&
                                o.instrument.market.len == id.mkt.n && o.instrument.symbol.len == id.sym.n;
            for (std::uint32_t i = 0; i < o.n_allowed_venues; ++i)
                out.wire_lossless = out.wire_lossless && o.allowed_venues[i].len == venues[i].n;
            ok_out = ok;
            return 1;
        }
        case 3: {
            Slice order_id, clord, account, inst, reason;
            bool has_inst = false;
            std::int64_t ts = 0;
            r = scan(body, 0,
                     [&](std::uint32_t f, Slice v) {
                         switch (f) {
                             case 1: order_id = v; return true;
                             case 2: clord = v; return true;
                             case 3: account = v; return true;
                             case 4: inst = v; has_inst = true; return true;
                             case 5: reason = v; return true;
                             default: return false;
                         }
                     },
                     [&](std::uint32_t f, std::uint64_t v, bool) {
                         if (f != 6) return false;
                         ts = static_cast<std::int64_t>(v);
                         return true;
                     });
            if (r != R::Ok) return -1;
            IdView id;
            if (has_inst && parse_id(inst, id) != R::Ok) return -1;
            CancelOrderMsg& o = out.cancel;
            out.kind = CommandKind::CancelOrder;
            out.wire_lossless = false;  // re-encoded (only NewOrder forwards its input bytes)
            bool ok = put_str(out.command_id, cmd_id);
            out.sequence = sequence;
            ok = ok && put_str(o.order_id, order_id) && put_str(o.client_order_id, clord) && put_str(o.account, account) &&
                 put_id(o.instrument, id);
            put_str(o.reason, reason);
            o.ts_ns = ts;
            ok_out = ok;
            return 1;
        }
        case 4: {
            Slice order_id, account, inst;
            bool has_inst = false;
            DecView q, p;
            std::int64_t ts = 0;
            r = scan(body, 0,
                     [&](std::uint32_t f, Slice v) {
                         switch (f) {
                             case 1: order_id = v; return true;
                             case 2: account = v; return true;
                             case 3: inst = v; has_inst = true; return true;
                             case 4: return parse_decimal(v, q) == R::Ok;
                             case 5: return parse_decimal(v, p) == R::Ok;
                             default: return false;
                         }
                     },
                     [&](std::uint32_t f, std::uint64_t v, bool) {
                         if (f != 6) return false;
                         ts = static_cast<std::int64_t>(v);
                         return true;
                     });
            if (r != R::Ok) return -1;
            IdView id;
            if (has_inst && parse_id(inst, id) != R::Ok) return -1;
            AmendOrderMsg& o = out.amend;
            out.kind = CommandKind::AmendOrder;
            out.wire_lossless = false;  // re-encoded (only NewOrder forwards its input bytes)
            bool ok = put_str(out.command_id, cmd_id);
            out.sequence = sequence;
            ok = ok && put_str(o.order_id, order_id) && put_str(o.account, account) && put_id(o.instrument, id);
            put_dec(o.new_quantity, q); o.has_new_quantity = q.present;
            put_dec(o.new_price, p); o.has_new_price = p.present;
            o.ts_ns = ts;
            ok_out = ok;
            return 1;
        }
        case 5: {
            Slice f_[6];
            std::int64_t ts = 0;
            r = scan(body, 0,
                     [&](std::uint32_t f, Slice v) {
                         if (f < 1 || f > 5) return false;
                         f_[f] = v;
                         return true;
                     },
                     [&](std::uint32_t f, std::uint64_t v, bool) {
                         if (f != 6) return false;
                         ts = static_cast<std::int64_t>(v);
                         return true;
                     });
            if (r != R::Ok) return -1;
            CancelAllMsg& o = out.cancel_all;
            out.kind = CommandKind::CancelAll;
            out.wire_lossless = false;  // re-encoded (only NewOrder forwards its input bytes)
            bool ok = put_str(out.command_id, cmd_id);
            out.sequence = sequence;
            ok = ok && put_str(o.account, f_[1]) && put_str(o.exchange, f_[2]) && put_str(o.market, f_[3]) &&
                 put_str(o.symbol, f_[4]);
            put_str(o.reason, f_[5]);
            o.ts_ns = ts;
            ok_out = ok;
            return 1;
        }
        default: {
            bool ok = put_str(out.command_id, cmd_id);
            out.sequence = sequence;
            out.kind = CommandKind::None;
            out.wire_lossless = false;  // re-encoded (only NewOrder forwards its input bytes)
            ok_out = ok;
            return 1;
        }
    }
}

}  // namespace oms::engine
