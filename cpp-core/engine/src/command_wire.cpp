// Hand-written, allocation-free decoder for oms.v1.OrderCommand (the order
// path's hottest decode: protobuf-c's generic unpack + arena copy cost
// ~0.6-0.8 us per NewOrder, this is one straight pass over the bytes).
//
// Equivalence with the protobuf-c path (Codec::decode_command_reference) is
// the contract: same return value, same OrderCommandMsg when it succeeds
// (tests/test_codec.cpp and tests/test_command_wire.cpp check every golden
// vector, random commands and a differential mutation run;
// fuzz/fuzz_command.cpp aborts on any difference). To keep that contract
// simple the fast path only takes canonical input - what every producer
// writes (swift-protobuf in oms-server, protobuf-c, our own encoder): each
// message's fields in field-number order, each at most once (a repeated
// field's elements back to back), every tag in its shortest form. Reading a
// message is then a straight line of "is the next byte the tag of field k?"
// compares, one per field, in field order; a field seen twice or out of
// order simply fails to match and leaves bytes over. Anything else goes to
// protobuf-c (decode_command_fast returns -1):
//   * fields out of order or repeated, unknown fields, tag 0, mismatched wire
//     types, non-shortest tags, two oneof members, more than 4 routing venues,
//   * length prefixes of 5+ bytes, and any malformed or truncated input.
// Field semantics mirrored from protobuf-c + Codec: strings stop at the first
// NUL (protobuf-c hands out C strings), int32/enums are the varint's low 32
// bits, bools are "any payload bit set", absent fields and sub-messages read
// as zero / empty.
#include <emmintrin.h>

#include <cstring>

#include "oms/engine/codec.hpp"

namespace oms::engine {
namespace {

// The field readers and the short-string copy: inlined into each use, so
// every field is a few straight-line instructions with the cursor in
// registers.
#define OMS_INLINE [[gnu::always_inline]] inline

// What an absent string field reads from: a whole zero chunk, so copying it
// is the same straight-line chunk copy as a short string's.
alignas(16) constexpr std::uint8_t kEmpty[16] = {};

struct Slice {
    const std::uint8_t* p = kEmpty;
    std::uint32_t n = 0;
    // End of the whole input buffer: bytes in [p + n, lim) belong to later
    // fields and may be read (never used) by the 16-byte string copies and
    // the unrolled varint reads.
    const std::uint8_t* lim = kEmpty + 16;
};

constexpr std::uint32_t kVarint = 0, kLen = 2;

// A field's tag in its shortest encoding, byte 0 in the low byte (fields
// 1-15 take one byte, 16-2047 two).
constexpr std::uint16_t tag(std::uint32_t field, std::uint32_t wire_type) {
    const std::uint32_t v = field << 3 | wire_type;
    return static_cast<std::uint16_t>(v < 0x80 ? v : ((v & 0x7f) | 0x80) | (v >> 7) << 8);
}

// The slow paths below return the new read position (nullptr: malformed)
// and the value in registers: nothing of the caller's cursor is taken by
// address, so it stays in registers on the fast paths.
struct Read {
    const std::uint8_t* p;
    std::uint64_t v;
};

// Varint, byte by byte. protobuf-c's rules: at most 10 bytes, value = low
// 64 bits; with `bool_rule` the value is instead 1 if any payload bit is
// set (bits shifted out included), else 0.
[[gnu::noinline]] Read varint_slow(const std::uint8_t* p, const std::uint8_t* end, bool bool_rule) {
    std::uint64_t r = 0;
    bool any = false;
    for (int i = 0; i < 10; ++i) {
        if (p == end) return {nullptr, 0};
        const std::uint8_t b = *p++;
        any |= (b & 0x7f) != 0;
        r |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return {p, bool_rule ? any : r};
    }
    return {nullptr, 0};
}

// Length prefix of 2-4 bytes (5+: fallback).
[[gnu::noinline]] Read len_slow(const std::uint8_t* p, const std::uint8_t* end) {
    std::uint32_t len = 0;
    for (int i = 0; i < 4 && p != end; ++i) {
        const std::uint8_t b = *p++;
        len |= static_cast<std::uint32_t>(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return {p, len};
    }
    return {nullptr, 0};
}

// Cursor over one message, fields expected in field-number order. The
// readers take a field when the next bytes are its tag, leave it absent when
// they are not (both true), and return false only for a malformed value;
// done() at the end says every byte belonged to an expected field. A
// default Reader is an absent sub-message: it reads every field as absent.
struct Reader {
    const std::uint8_t* p = kEmpty;
    const std::uint8_t* end = kEmpty;
    const std::uint8_t* lim = kEmpty + 16;  // end of the whole input (Slice::lim)

    Reader() = default;
    explicit Reader(Slice s) : p(s.p), end(s.p + s.n), lim(s.lim) {}

    bool done() const { return p == end; }

    OMS_INLINE bool take(std::uint16_t t) {
        if (t < 0x80) {
            if (p == end || *p != t) return false;
            ++p;
            return true;
        }
        if (end - p < 2 || p[0] != (t & 0xff) || p[1] != (t >> 8)) return false;
        p += 2;
        return true;
    }
    // Varint value (bool_rule: 1 / 0 for "any payload bit set", protobuf-c's
    // bool). 1-byte varints inline; 2-9 bytes (prices, ts_ns), when the
    // input buffer has 9 bytes from here, unrolled without per-byte bounds
    // checks: each byte adds its 7 bits and cancels the previous byte's
    // continuation bit (the "- 1"); 9 bytes lose no payload bits, so the
    // bool rule is value != 0. Anything else: varint_slow.
    OMS_INLINE bool varint(std::uint64_t& v, bool bool_rule = false) {
        if (p != end && *p < 0x80) { v = bool_rule ? *p != 0 : *p; ++p; return true; }
        if (lim - p >= 9) {
            std::uint64_t r = p[0];  // >= 0x80
#pragma GCC unroll 8
            for (int i = 1; i < 9; ++i) {
                const std::uint64_t b = p[i];
                r += (b - 1) << (7 * i);
                if (b < 0x80) {
                    if (i >= end - p) return false;  // ends past the message: varint_slow would hit `end`
                    p += i + 1;
                    v = bool_rule ? r != 0 : r;
                    return true;
                }
            }
        }
        const Read x = varint_slow(p, end, bool_rule);
        p = x.p;
        v = x.v;
        return x.p != nullptr;
    }
    OMS_INLINE bool bytes(Slice& s) {
        if (p == end) return false;
        std::size_t len = *p;
        if (len < 0x80) {
            ++p;
        } else {
            const Read x = len_slow(p, end);
            if (!x.p) return false;
            p = x.p;
            len = x.v;
        }
        if (static_cast<std::size_t>(end - p) < len) return false;
        s.p = p; s.n = static_cast<std::uint32_t>(len); s.lim = lim;
        p += len;
        return true;
    }
    // The sub-message whose tag was just taken.
    OMS_INLINE bool sub(Reader& m) {
        Slice s;
        if (!bytes(s)) return false;
        m = Reader(s);
        return true;
    }

    // Scalar fields; absent reads as 0 / false (proto3 defaults).
    OMS_INLINE bool num(std::uint16_t t, std::uint64_t& v, bool* present = nullptr) {
        v = 0;
        const bool took = take(t);
        if (present) *present = took;
        return !took || varint(v);
    }
    OMS_INLINE bool flag(std::uint16_t t, bool& b) {
        std::uint64_t v = 0;
        const bool ok = !take(t) || varint(v, true);
        b = v != 0;
        return ok;
    }
    // Decimal sub-message; absent reads as 0 with present = false.
    OMS_INLINE bool dec(std::uint16_t t, Decimal& d, bool& present) {
        Reader m;
        std::uint64_t mantissa, scale;
        present = take(t);
        if (!((!present || sub(m)) && m.num(tag(1, kVarint), mantissa) && m.num(tag(2, kVarint), scale) && m.done()))
            return false;
        d.mantissa = static_cast<std::int64_t>(mantissa);
        d.scale = static_cast<std::int32_t>(static_cast<std::uint32_t>(scale));
        return true;
    }
};

// Copies a command's strings into its FixedStrings with protobuf-c's
// meaning: a string ends at its first NUL. Absent strings read as "".
struct Strings {
    bool fits = true;  // every id fitted its FixedString (else the decode fails)
    bool cut = false;  // some string was cut at a NUL: the decoded command says less than its bytes

    // String field whose truncation fails the decode (ids).
    template <std::size_t N>
    OMS_INLINE bool id(Reader& r, std::uint16_t t, FixedString<N>& dst) {
        Slice v;
        if (r.take(t) && !r.bytes(v)) return false;
        fits &= put(dst, v);
        return true;
    }
    // Free text (reasons): a truncated copy is fine.
    template <std::size_t N>
    OMS_INLINE bool text(Reader& r, std::uint16_t t, FixedString<N>& dst) {
        Slice v;
        if (r.take(t) && !r.bytes(v)) return false;
        put(dst, v);
        return true;
    }
    OMS_INLINE bool instrument(Reader& r, std::uint16_t t, InstrumentId& dst) {
        Reader m;
        return (!r.take(t) || r.sub(m)) && id(m, tag(1, kLen), dst.exchange) && id(m, tag(2, kLen), dst.market) &&
               id(m, tag(3, kLen), dst.symbol) && m.done();
    }
    // RoutingInstruction: strategy, then the venues back to back (a 5th one:
    // let the reference path reject it).
    OMS_INLINE bool routing(Reader& r, std::uint16_t t, NewOrderMsg& o, std::uint64_t& strategy) {
        Reader m;
        if ((r.take(t) && !r.sub(m)) || !m.num(tag(1, kVarint), strategy)) return false;
        o.routing_strategy = static_cast<std::uint8_t>(strategy);
        o.n_allowed_venues = 0;
        while (m.take(tag(2, kLen))) {
            Slice v;
            if (o.n_allowed_venues == kMaxRoutingVenues || !m.bytes(v)) return false;
            fits &= put(o.allowed_venues[o.n_allowed_venues++], v);
        }
        return m.done();
    }

    // Copies `s` into dst. Strings of up to 15 bytes (one 16-byte chunk
    // with their terminator) inline, longer ones in put_long; both leave
    // the bytes after the string zero, as FixedString::assign does
    // (deterministic snapshots).
    template <std::size_t N>
    OMS_INLINE bool put(FixedString<N>& dst, Slice s) {
        const std::size_t n = s.n;
        if (n < 16 && s.lim - s.p >= 16) {
            // Bytes past the string (later fields) are masked off; a NUL byte
            // or a masked one flags, so the first flag is where protobuf-c's
            // C string ends: n, or a NUL before it.
            __m128i v = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.p)), keep(n));
            const auto len = static_cast<std::size_t>(
                __builtin_ctz(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())))));
            if (len != n) {
                v = _mm_and_si128(v, keep(len));
                cut = true;
            }
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst.data), v);
            if (dst.len >= 16) std::memset(dst.data + 16, 0, dst.len - 15u);  // an older, longer value
            dst.len = static_cast<std::uint8_t>(len);
            return true;
        }
        const bool ok = put_long(dst, s);
        cut |= dst.len != n;  // (or truncated: then the decode fails anyway)
        return ok;
    }

    // 16 x 0xff then 16 x 0: the 16 bytes at kKeep + 16 - k keep a chunk's
    // first k bytes (k = 0..16).
    alignas(16) static constexpr std::uint8_t kKeep[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                           0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static __m128i keep(std::size_t k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(kKeep + 16 - k)); }

    // Strings of 16+ bytes (or near the end of the input): the same 16
    // bytes at a time, while whole chunks from the string's start - up to
    // and including the one holding byte n - lie inside the input buffer
    // (bytes past the string masked off), else libc. Never writes past
    // data[N]. (static, like put_slow: `this` stays unaddressed, the flags
    // in registers.)
    template <std::size_t N>
    [[gnu::noinline]] static bool put_long(FixedString<N>& dst, Slice s) {
        static_assert(N % 16 == 0, "whole chunks");
        const std::size_t n = s.n;
        const std::uint8_t* const p = s.p;
        if (n > N - 1 || static_cast<std::size_t>(s.lim - p) < ((n + 16) & ~std::size_t{15})) return put_slow(dst, p, n);
        char* const d = dst.data;
        const __m128i zero = _mm_setzero_si128();
        std::size_t j = 0;
        for (;; j += 16) {  // j <= n <= N - 1 and a multiple of 16: j + 16 <= N
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
            if (n - j < 16) v = _mm_and_si128(v, keep(n - j));  // the string's last chunk
            // As in put: the first NUL or masked byte ends the string.
            if (const unsigned z = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)))) {
                const auto b = static_cast<std::size_t>(__builtin_ctz(z));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d + j), _mm_and_si128(v, keep(b)));
                if (dst.len >= j + 16) std::memset(d + j + 16, 0, dst.len - 15u - j);  // an older, longer value
                dst.len = static_cast<std::uint8_t>(j + b);
                return true;
            }
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d + j), v);
        }
    }

    // Too long, or too close to the end of the input for whole-chunk reads:
    // rare (out of line: put_long stays a leaf without saved registers).
    template <std::size_t N>
    [[gnu::noinline, gnu::cold]] static bool put_slow(FixedString<N>& dst, const std::uint8_t* p, std::size_t n) {
        const void* z = n ? std::memchr(p, 0, n) : nullptr;
        const std::size_t len = z ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(z) - p) : n;
        return dst.assign(std::string_view(reinterpret_cast<const char*>(p), len));
    }
};

std::uint32_t low32(std::uint64_t v) { return static_cast<std::uint32_t>(v); }

}  // namespace

// 1 / 0: decoded, decode_command's result (per the Codec rules); -1: needs
// the protobuf-c path, which then rewrites everything `out` says (fields
// read before the fast path gave up may have been written already).
int decode_command_fast(const std::uint8_t* data, std::size_t len, std::uint64_t sequence, OrderCommandMsg& out) {
    if (len > 0xFFFFFFFFu) return -1;
    Reader r(Slice{data, static_cast<std::uint32_t>(len), data + len});
    Strings s;
    if (!s.id(r, tag(1, kLen), out.command_id)) return -1;
    out.sequence = sequence;
    // The oneof: one member (fields 2-5, all sub-messages) or none.
    std::uint32_t which = 0;
    Reader b;
    if (!r.done() && *r.p >= tag(2, kLen) && *r.p <= tag(5, kLen) && (*r.p & 7) == kLen) {
        which = *r.p++ >> 3;
        if (!r.sub(b)) return -1;
    }
    if (!r.done()) return -1;

    std::uint64_t ts;
    switch (which) {
        case 2: {
            NewOrderMsg& o = out.new_order;
            out.kind = CommandKind::NewOrder;
            std::uint64_t side, type, tif, strategy, e;
            bool has_qty;  // an absent quantity reads as 0 (the engine rejects it)
            if (!(s.id(b, tag(1, kLen), o.order_id) && s.id(b, tag(2, kLen), o.client_order_id) &&
                  s.id(b, tag(3, kLen), o.account) && s.instrument(b, tag(4, kLen), o.instrument) &&
                  b.num(tag(5, kVarint), side) && b.num(tag(6, kVarint), type) && b.num(tag(7, kVarint), tif) &&
                  b.dec(tag(8, kLen), o.quantity, has_qty) && b.dec(tag(9, kLen), o.price, o.has_price) &&
                  b.dec(tag(10, kLen), o.stop_price, o.has_stop_price) && b.flag(tag(11, kVarint), o.reduce_only) &&
                  b.flag(tag(12, kVarint), o.post_only) && s.routing(b, tag(13, kLen), o, strategy) &&
                  s.id(b, tag(14, kLen), o.parent_order_id) && b.num(tag(15, kVarint), ts) &&
                  b.dec(tag(16, kLen), o.quote_quantity, o.has_quote_quantity) &&
                  b.num(tag(17, kVarint), e, &o.has_expire_time) && b.done()))
                return -1;
            o.side = static_cast<Side>(low32(side) <= 2 ? low32(side) : 0);
            o.type = static_cast<OrderType>(low32(type) <= 7 ? low32(type) : 0);
            o.time_in_force = static_cast<std::uint8_t>(tif);
            o.ts_ns = static_cast<std::int64_t>(ts);
            o.expire_time_ns = static_cast<std::int64_t>(e);
            // Lossless: no string cut at a NUL, no enum or number narrowed.
            out.wire_lossless = !s.cut && low32(side) <= 2 && low32(type) <= 7 && low32(tif) <= 255 &&
                                low32(strategy) <= 255;
            break;
        }
        case 3: {
            CancelOrderMsg& o = out.cancel;
            out.kind = CommandKind::CancelOrder;
            if (!(s.id(b, tag(1, kLen), o.order_id) && s.id(b, tag(2, kLen), o.client_order_id) &&
                  s.id(b, tag(3, kLen), o.account) && s.instrument(b, tag(4, kLen), o.instrument) &&
                  s.text(b, tag(5, kLen), o.reason) && b.num(tag(6, kVarint), ts) && b.done()))
                return -1;
            o.ts_ns = static_cast<std::int64_t>(ts);
            out.wire_lossless = false;  // re-encoded (only NewOrder forwards its input bytes)
            break;
        }
        case 4: {
            AmendOrderMsg& o = out.amend;
            out.kind = CommandKind::AmendOrder;
            if (!(s.id(b, tag(1, kLen), o.order_id) && s.id(b, tag(2, kLen), o.account) &&
                  s.instrument(b, tag(3, kLen), o.instrument) &&
                  b.dec(tag(4, kLen), o.new_quantity, o.has_new_quantity) &&
                  b.dec(tag(5, kLen), o.new_price, o.has_new_price) && b.num(tag(6, kVarint), ts) && b.done()))
                return -1;
            o.ts_ns = static_cast<std::int64_t>(ts);
            out.wire_lossless = false;
            break;
        }
        case 5: {
            CancelAllMsg& o = out.cancel_all;
            out.kind = CommandKind::CancelAll;
            if (!(s.id(b, tag(1, kLen), o.account) && s.id(b, tag(2, kLen), o.exchange) &&
                  s.id(b, tag(3, kLen), o.market) && s.id(b, tag(4, kLen), o.symbol) &&
                  s.text(b, tag(5, kLen), o.reason) && b.num(tag(6, kVarint), ts) && b.done()))
                return -1;
            o.ts_ns = static_cast<std::int64_t>(ts);
            out.wire_lossless = false;
            break;
        }
        default:
            out.kind = CommandKind::None;
            out.wire_lossless = false;
            break;
    }
    return s.fits ? 1 : 0;
}

#undef OMS_INLINE

}  // namespace oms::engine
