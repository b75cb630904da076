#include "oms/engine/fixed_point.hpp"

namespace oms::engine {

bool parse_decimal(std::string_view s, int scale, std::int64_t& out) {
    if (scale < 0 || scale > kMaxScale) return false;
    std::size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    bool neg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) { neg = s[i] == '-'; ++i; }
    __int128 v = 0;
    int frac = -1;  // digits after '.', -1 before the point
    bool any = false;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c == '_' ) continue;  // "1_000_000" allowed for readability
        if (c == '.') { if (frac >= 0) return false; frac = 0; continue; }
        if (c < '0' || c > '9') return false;
        any = true;
        if (frac >= 0) {
            if (frac >= scale) { if (c != '0') return false; continue; }  // too precise
            ++frac;
        }
        v = v * 10 + (c - '0');
        if (v > static_cast<__int128>(INT64_MAX) * 10) return false;
    }
    if (!any) return false;
    int f = frac < 0 ? 0 : frac;
    for (int k = f; k < scale; ++k) { v *= 10; if (v > INT64_MAX) return false; }
    if (neg) v = -v;
    if (!fits_int64(v)) return false;
    out = static_cast<std::int64_t>(v);
    return true;
}

std::size_t format_fixed(char* buf, std::size_t cap, std::int64_t v, int scale, int min_frac) {
    if (cap == 0) return 0;
    char tmp[48];
    int n = 0;
    unsigned __int128 u = v < 0 ? static_cast<unsigned __int128>(-static_cast<__int128>(v))
                                : static_cast<unsigned __int128>(v);
    if (scale < 0) scale = 0;
    if (scale > kMaxScale) scale = kMaxScale;
    // Digits, least significant first, at least scale+1 of them.
    do { tmp[n++] = static_cast<char>('0' + static_cast<int>(u % 10)); u /= 10; } while (u && n < 40);
    while (n < scale + 1) tmp[n++] = '0';
    // Trim trailing fractional zeros down to min_frac.
    int frac = scale, skip = 0;
    if (min_frac < 0) min_frac = 0;
    while (frac > min_frac && tmp[skip] == '0') { ++skip; --frac; }
    std::size_t w = 0;
    auto put = [&](char c) { if (w + 1 < cap) buf[w++] = c; };
    if (v < 0) put('-');
    for (int k = n - 1; k >= scale; --k) put(tmp[k]);   // integer digits
    if (frac > 0) {
        put('.');
        for (int k = scale - 1; k >= skip; --k) put(tmp[k]);  // kept fraction digits
    }
    buf[w] = '\0';
    return w;
}

}  // namespace oms::engine
