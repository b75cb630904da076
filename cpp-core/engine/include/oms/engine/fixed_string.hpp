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
        return a.len == b.len && std::memcmp(a.data, b.data, a.len) == 0;
    }
    bool operator==(std::string_view s) const { return view() == s; }
};

// FNV-1a 64 with a final avalanche mix: cheap, branch-free, good enough for
// open addressing on short ids (the table stores full keys, so hash
// collisions only cost a probe).
inline std::uint64_t hash_bytes(const void* p, std::size_t n, std::uint64_t seed = 0) {
    const auto* b = static_cast<const unsigned char*>(p);
    std::uint64_t h = 1469598103934665603ull ^ seed;
    for (std::size_t i = 0; i < n; ++i) { h ^= b[i]; h *= 1099511628211ull; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdull; h ^= h >> 33;
    return h;
}

template <std::size_t N>
struct FixedStringHash {
    std::uint64_t operator()(const FixedString<N>& s) const { return hash_bytes(s.data, s.len); }
};

using Str16 = FixedString<16>;
using Str32 = FixedString<32>;
using Str48 = FixedString<48>;
using Str64 = FixedString<64>;
using Str128 = FixedString<128>;

}  // namespace oms::engine
