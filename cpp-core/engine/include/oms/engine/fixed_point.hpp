#pragma once
// Fixed-point arithmetic for prices, quantities and quote amounts.
// Why: money is never a float. A value is an int64 mantissa with an implied
// decimal scale; each instrument has its own price_scale/qty_scale and every
// quote-currency amount (notional, P&L, fees, limits) uses kQuoteScale.
// Products go through __int128 so px*qty cannot overflow before rescaling,
// and every narrowing back to int64 is checked.
#include <cstdint>
#include <cstddef>
#include <string_view>

namespace oms::engine {

// Quote-currency amounts: 8 decimals, max ~9.2e10 quote units.
inline constexpr int kQuoteScale = 8;
// Quantity limits are stored at this scale so one limit value serves
// instruments with different qty_scale.
inline constexpr int kLimitQtyScale = 8;
inline constexpr int kMaxScale = 18;
inline constexpr std::int64_t kInt64Max = INT64_MAX;

// Plain mirror of proto oms.v1.Decimal.
struct Decimal {
    std::int64_t mantissa = 0;
    std::int32_t scale = 0;
};

inline constexpr std::int64_t kPow10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

inline bool fits_int64(__int128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

enum class Rounding : std::uint8_t { Exact, TowardZero };

// Rescale v from scale `from` to scale `to`. With Rounding::Exact a loss of
// precision is an error (a price of 1.005 cannot become a 2-decimal price);
// with TowardZero it truncates. Returns false on overflow/invalid scale.
inline bool rescale(std::int64_t v, int from, int to, std::int64_t& out,
                    Rounding r = Rounding::Exact) {
    if (from < 0 || to < 0 || from > kMaxScale || to > kMaxScale) return false;
    if (to == from) { out = v; return true; }
    if (to > from) {
        __int128 w = static_cast<__int128>(v) * kPow10[to - from];
        if (!fits_int64(w)) return false;
        out = static_cast<std::int64_t>(w);
        return true;
    }
    std::int64_t d = kPow10[from - to];
    if (r == Rounding::Exact && v % d != 0) return false;
    out = v / d;
    return true;
}

// 128-bit rescale used for comparisons where both sides may be large.
inline __int128 rescale128(std::int64_t v, int from, int to) {
    if (to >= from) return static_cast<__int128>(v) * kPow10[to - from];
    return static_cast<__int128>(v) / kPow10[from - to];
}

// v / 10^d (truncated toward zero) with a compile-time divisor per d.
inline std::int64_t div_pow10(std::int64_t v, int d) {
    switch (d) {
        case 0: return v;
        case 1: return v / 10LL;
        case 2: return v / 100LL;
        case 3: return v / 1000LL;
        case 4: return v / 10000LL;
        case 5: return v / 100000LL;
        case 6: return v / 1000000LL;
        case 7: return v / 10000000LL;
        case 8: return v / 100000000LL;
        case 9: return v / 1000000000LL;
        case 10: return v / 10000000000LL;
        case 11: return v / 100000000000LL;
        case 12: return v / 1000000000000LL;
        case 13: return v / 10000000000000LL;
        case 14: return v / 100000000000000LL;
        case 15: return v / 1000000000000000LL;
        case 16: return v / 10000000000000000LL;
        case 17: return v / 100000000000000000LL;
        case 18: return v / 1000000000000000000LL;
        default: return 0;
    }
}

// notional = px * qty, expressed at kQuoteScale (truncated toward zero).
// px at price_scale, qty at qty_scale. Returns false on overflow.
inline bool notional(std::int64_t px, int price_scale, std::int64_t qty, int qty_scale,
                     std::int64_t& out) {
    __int128 p = static_cast<__int128>(px) * qty;  // scale ps+qs, cannot overflow i128
    int s = price_scale + qty_scale;
    if (s > kQuoteScale && s - kQuoteScale <= 18 && fits_int64(p)) {
        // Common case: the product fits in 64 bits; divide by a constant
        // power of ten (multiply-shift) instead of a 128-bit division call.
        out = div_pow10(static_cast<std::int64_t>(p), s - kQuoteScale);
        return true;
    }
    if (s > kQuoteScale) {
        int d = s - kQuoteScale;
        if (d > 36) { out = 0; return true; }
        // Divide in up to two steps: 10^d may exceed int64 when d > 18.
        while (d > 18) { p /= kPow10[18]; d -= 18; }
        p /= kPow10[d];
    } else if (s < kQuoteScale) {
        // Scaling up only grows |p|: past int64 already, it cannot fit (and
        // the multiply could overflow __int128, UB).
        if (!fits_int64(p)) return false;
        p *= kPow10[kQuoteScale - s];
    }
    if (!fits_int64(p)) return false;
    out = static_cast<std::int64_t>(p);
    return true;
}

// Saturating variant for internal accounting: overflow clamps, never UB.
inline std::int64_t notional_sat(std::int64_t px, int ps, std::int64_t qty, int qs) {
    std::int64_t out;
    if (notional(px, ps, qty, qs, out)) return out;
    bool neg = (px < 0) != (qty < 0);
    return neg ? INT64_MIN + 1 : INT64_MAX;
}

inline std::int64_t sat_add(std::int64_t a, std::int64_t b) {
    std::int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return (b > 0) ? INT64_MAX : INT64_MIN + 1;
    return r;
}

// Convert a proto Decimal to an int64 at the target scale, exactly.
inline bool from_decimal(const Decimal& d, int scale, std::int64_t& out) {
    return rescale(d.mantissa, d.scale, scale, out, Rounding::Exact);
}
inline Decimal to_decimal(std::int64_t v, int scale) { return Decimal{v, scale}; }

// Parse "123.45", "-0.001", "1e-3" is NOT accepted (config values are plain
// decimal strings). Result at `scale`; false if malformed, too precise or
// out of range. Used at config load, never on the hot path.
bool parse_decimal(std::string_view s, int scale, std::int64_t& out);

// Write v (at `scale`) as a decimal string into buf; trailing fractional zeros
// are trimmed down to `min_frac` digits. Returns the number of chars written
// (excluding NUL). Never allocates: used to build reject texts.
std::size_t format_fixed(char* buf, std::size_t cap, std::int64_t v, int scale, int min_frac);

}  // namespace oms::engine
