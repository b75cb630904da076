#pragma once
// Fixed-capacity, NUL-terminated string stored inline.
// Why: identifiers (order ids, accounts, symbols) live inside preallocated
// tables and snapshot by memcpy; std::string would allocate on the hot path
// and make the state non-trivially-copyable.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace oms::engine {

template <std::size_t N>
struct FixedString {
    static_assert(N >= 2 && N <= 255, "length is stored in one byte");
    char data[N] = {};   // always NUL-terminated so protobuf-c can point into it
    std::uint8_t len = 0;

    static constexpr std::size_t capacity() { return N - 1; }

    // Returns false (and stores a truncated copy) when s does not fit; callers
    // on the order path turn that into INVALID_REQUEST rather than silently
    // accepting a mangled id.
    bool assign(std::string_view s) {
        std::size_t n = s.size() < capacity() ? s.size() : capacity();
        if (n) std::memcpy(data, s.data(), n);
        data[n] = '\0';
        // Zero the tail: keeps snapshots byte-deterministic.
        if (len > n) std::memset(data + n + 1, 0, len - n);
        len = static_cast<std::uint8_t>(n);
        return n == s.size();
    }
    bool assign(const char* s) { return assign(s ? std::string_view(s) : std::string_view()); }
    void clear() { std::memset(data, 0, len + 1u); len = 0; }

    std::string_view view() const { return {data, len}; }
    const char* c_str() const { return data; }
    bool empty() const { return len == 0; }
    std::size_t size() const { return len; }

    friend bool operator==(const FixedString& a, const FixedString& b) {
        if (a.len != b.len) return false;
        if constexpr (N % 8 == 0) {
            // Word compare, the last partial word masked (never past data[N]).
            std::size_t off = 0, n = a.len;
            for (; n >= 8; off += 8, n -= 8) {
                std::uint64_t x, y;
                std::memcpy(&x, a.data + off, 8);
                std::memcpy(&y, b.data + off, 8);
                if (x != y) return false;
            }
            if (!n) return true;
            std::uint64_t x, y;
            std::memcpy(&x, a.data + off, 8);
            std::memcpy(&y, b.data + off, 8);
            return ((x ^ y) & (~0ull >> (64 - 8 * n))) == 0;
        } else {
            return std::memcmp(a.data, b.data, a.len) == 0;
        }
    }
    bool operator==(std::string_view s) const { return view() == s; }
};

// Word-at-a-time multiply/xor-shift hash (8 bytes per step, then an
// avalanche). Why not byte-wise FNV-1a: ids are 10-48 bytes and FNV's
// per-byte multiply chain made hashing a visible part of the order path.
// Good enough for open addressing on short ids (tables either store full
// keys, or verify the fingerprint against the record they point to).
namespace detail {
inline std::uint64_t load_tail(const unsigned char* b, std::size_t n) {
    std::uint64_t v = 0;
    std::memcpy(&v, b, n);
    return v;
}
inline std::uint64_t mix64(std::uint64_t h) {
    h ^= h >> 32; h *= 0xd6e8feb86659fd93ull; h ^= h >> 32; h *= 0xd6e8feb86659fd93ull; h ^= h >> 32;
    return h;
}
}  // namespace detail

inline std::uint64_t hash_bytes(const void* p, std::size_t n, std::uint64_t seed = 0) {
    const auto* b = static_cast<const unsigned char*>(p);
    std::uint64_t h = (seed ^ 0x9E3779B97F4A7C15ull) + n * 0xff51afd7ed558ccdull;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, b, 8);
        h = (h ^ v) * 0x9FB21C651E98DF25ull;
        h ^= h >> 29;
        b += 8; n -= 8;
    }
    if (n) { h = (h ^ detail::load_tail(b, n)) * 0x9FB21C651E98DF25ull; h ^= h >> 29; }
    return detail::mix64(h);
}

// Two independent 64-bit hashes in one pass (128-bit fingerprint).
inline void hash_bytes128(const void* p, std::size_t n, std::uint64_t seed, std::uint64_t& a, std::uint64_t& b2) {
    const auto* b = static_cast<const unsigned char*>(p);
    std::uint64_t h1 = (seed ^ 0x9E3779B97F4A7C15ull) + n * 0xff51afd7ed558ccdull;
    std::uint64_t h2 = (seed ^ 0xC2B2AE3D27D4EB4Full) + n * 0x94D049BB133111EBull;
    auto step = [&](std::uint64_t v) {
        h1 = (h1 ^ v) * 0x9FB21C651E98DF25ull; h1 ^= h1 >> 29;
        h2 = (h2 ^ v) * 0xBF58476D1CE4E5B9ull; h2 ^= h2 >> 31;
    };
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, b, 8);
        step(v);
        b += 8; n -= 8;
    }
    if (n) step(detail::load_tail(b, n));
    a = detail::mix64(h1);
    b2 = detail::mix64(h2 ^ 0x2545F4914F6CDD1Dull);
}

// The same values as hash_bytes(s.data, s.len, seed) / hash_bytes128, for
// fixed strings: the last partial word is read as a whole 8-byte word and
// masked (it never reaches past data[N]: len <= N - 1 and N is 16/32/48/64),
// instead of a variable-length memcpy (a libc call on the order path).
namespace detail {
template <std::size_t N>
inline std::uint64_t last_word(const FixedString<N>& s, std::size_t off, std::size_t rem) {
    static_assert(N % 8 == 0, "whole words");
    std::uint64_t v;
    std::memcpy(&v, s.data + off, 8);
    return v & (~0ull >> (64 - 8 * rem));
}
}  // namespace detail

template <std::size_t N>
inline std::uint64_t hash_fs(const FixedString<N>& s, std::uint64_t seed = 0) {
    std::size_t n = s.len, off = 0;
    std::uint64_t h = (seed ^ 0x9E3779B97F4A7C15ull) + n * 0xff51afd7ed558ccdull;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, s.data + off, 8);
        h = (h ^ v) * 0x9FB21C651E98DF25ull;
        h ^= h >> 29;
        off += 8; n -= 8;
    }
    if (n) { h = (h ^ detail::last_word(s, off, n)) * 0x9FB21C651E98DF25ull; h ^= h >> 29; }
    return detail::mix64(h);
}

template <std::size_t N>
inline void hash_fs128(const FixedString<N>& s, std::uint64_t seed, std::uint64_t& a, std::uint64_t& b2) {
    std::size_t n = s.len, off = 0;
    std::uint64_t h1 = (seed ^ 0x9E3779B97F4A7C15ull) + n * 0xff51afd7ed558ccdull;
    std::uint64_t h2 = (seed ^ 0xC2B2AE3D27D4EB4Full) + n * 0x94D049BB133111EBull;
    auto step = [&](std::uint64_t v) {
        h1 = (h1 ^ v) * 0x9FB21C651E98DF25ull; h1 ^= h1 >> 29;
        h2 = (h2 ^ v) * 0xBF58476D1CE4E5B9ull; h2 ^= h2 >> 31;
    };
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, s.data + off, 8);
        step(v);
        off += 8; n -= 8;
    }
    if (n) step(detail::last_word(s, off, n));
    a = detail::mix64(h1);
    b2 = detail::mix64(h2 ^ 0x2545F4914F6CDD1Dull);
}

template <std::size_t N>
struct FixedStringHash {
    std::uint64_t operator()(const FixedString<N>& s) const { return hash_fs(s); }
};

using Str16 = FixedString<16>;
using Str32 = FixedString<32>;
using Str48 = FixedString<48>;
using Str64 = FixedString<64>;
using Str128 = FixedString<128>;

}  // namespace oms::engine
