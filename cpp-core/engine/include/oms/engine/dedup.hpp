#pragma once
// Bounded idempotency table: remembers the last Capacity keys (FIFO
// eviction) with a small value each.
// Why bounded: JetStream redelivers within its duplicate window; we only need
// to recognise recent redeliveries, and an unbounded set would grow forever.
// Why fingerprints: keys (command ids, trade ids) are up to 64 bytes; storing
// a 128-bit fingerprint (two independent 64-bit hashes) instead keeps the
// table ~6x smaller and cache-resident. A false "duplicate" needs a 128-bit
// collision among the last Capacity ids (~2^-114): negligible. (The index's
// 32-bit tags only pick candidates; every hit compares all 128 bits.)
#include <emmintrin.h>

#include <cstddef>
#include <cstdint>
#include "oms/engine/flat_map.hpp"

namespace oms::engine {

struct Fp128 {
    std::uint64_t a = 0, b = 0;
    bool operator==(const Fp128& o) const { return a == o.a && b == o.b; }
};
struct Fp128Hash {
    std::uint64_t operator()(const Fp128& f) const { return f.a; }
};

// Fingerprint = Hash(key, seed) twice with different seeds; Hash must accept
// (key, seed). See engine.hpp for the hashers used.
//
// Layout (why): every command and every order event probes this table at a
// random place, so its cost is cache misses. The index is an array of
// 64-byte buckets, 8 entries each: a 32-bit tag from the fingerprint and the
// FIFO slot that holds the full fingerprint. A lookup reads one bucket (one
// cache line, compared 4 tags per SSE2 instruction) and, only on a tag
// match, the slot's fingerprint; a FIFO eviction clears one entry in place -
// no probe chains to shift (the linear-probing map this replaced missed
// cache on the chain walk of every eviction). Buckets: Capacity / 2, so on
// average 2 of 8 entries are used and a bucket overflows into the next with
// probability ~2e-4; each bucket counts the entries that passed it, so a
// lookup stops at the first bucket nothing passed and erasing never breaks
// another entry's path.
template <typename K, typename V, std::size_t Capacity, typename Fingerprint>
class DedupTable {
    static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "power of two");
    static_assert(Capacity <= 0xFFFF, "slots and overflow counts are 16-bit");

public:
    static constexpr std::size_t capacity() { return Capacity; }

    static Fp128 fingerprint(const K& k) { return Fingerprint{}(k); }

    const V* find(const K& k) const { return find_fp(Fingerprint{}(k)); }
    const V* find_fp(const Fp128& fp) const {
        const std::uint32_t s = find_slot(fp);
        return s == kNone ? nullptr : &vals_[s];
    }
    void prefetch(const Fp128& fp) const { __builtin_prefetch(&buckets_[home(fp)]); }
    // The next put() evicts the oldest entry: prefetch its bucket too.
    void prefetch_eviction() const {
        if (next_ >= Capacity) __builtin_prefetch(&buckets_[home(keys_[next_ % Capacity])]);
    }

    // Remember fp and return its value slot for the caller to fill (lets a
    // large V be written field by field instead of copied whole).
    V* put_slot(const Fp128& fp) {
        if (const std::uint32_t s = find_slot(fp); s != kNone) return &vals_[s];
        return &vals_[add(fp)];
    }

    // Remember k -> v, evicting the oldest entry when full.
    void put(const K& k, const V& v) { put_fp(Fingerprint{}(k), v); }
    void put_fp(const Fp128& fp, const V& v) { *put_slot(fp) = v; }

    std::size_t size() const { return next_ < Capacity ? static_cast<std::size_t>(next_) : Capacity; }

private:
    static constexpr std::size_t kBuckets = Capacity / 2;
    static constexpr std::size_t kMask = kBuckets - 1;
    static constexpr int kWays = 8;
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

    struct alignas(64) Bucket {
        std::uint32_t tag[kWays];    // 0: free
        std::uint16_t slot[kWays];   // FIFO slot (keys_/vals_ index) of each used tag
        std::uint16_t passed;        // entries whose home is here but live in a later bucket
    };
    static_assert(sizeof(Bucket) == 64, "one cache line");

    static std::size_t home(const Fp128& fp) { return static_cast<std::size_t>(fp.a) & kMask; }
    static std::uint32_t tag_of(const Fp128& fp) { return static_cast<std::uint32_t>(fp.b) | 1u; }

    // Bit i set: tag[i] == t.
    static unsigned match(const Bucket& b, std::uint32_t t) {
        const __m128i x = _mm_set1_epi32(static_cast<int>(t));
        const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(b.tag));
        const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(b.tag + 4));
        return static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, x)))) |
               static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, x)))) << 4;
    }

    std::uint32_t find_slot(const Fp128& fp) const {
        const std::uint32_t t = tag_of(fp);
        std::size_t b = home(fp);
        for (std::size_t n = 0; n < kBuckets; ++n, b = (b + 1) & kMask) {
            const Bucket& k = buckets_[b];
            for (unsigned m = match(k, t); m; m &= m - 1) {
                const std::uint16_t s = k.slot[__builtin_ctz(m)];
                if (keys_[s] == fp) return s;
            }
            if (k.passed == 0) break;
        }
        return kNone;
    }

    // New entry (fp not present): takes the next FIFO slot, evicting its
    // previous owner once the FIFO has wrapped.
    std::uint32_t add(const Fp128& fp) {
        const auto slot = static_cast<std::uint32_t>(next_ % Capacity);
        if (next_ >= Capacity) erase(keys_[slot], slot);
        keys_[slot] = fp;
        const std::uint32_t t = tag_of(fp);
        std::size_t b = home(fp);
        for (;;) {  // terminates: 8 * Capacity / 2 entries for at most Capacity keys
            Bucket& k = buckets_[b];
            if (const unsigned free = match(k, 0)) {
                const int i = __builtin_ctz(free);
                k.tag[i] = t;
                k.slot[i] = static_cast<std::uint16_t>(slot);
                break;
            }
            ++k.passed;
            b = (b + 1) & kMask;
        }
        ++next_;
        return slot;
    }

    // Removes the entry of fp that points at `slot`, and its passage marks.
    void erase(const Fp128& fp, std::uint32_t slot) {
        const std::uint32_t t = tag_of(fp);
        std::size_t b = home(fp);
        for (std::size_t n = 0; n < kBuckets; ++n) {
            Bucket& k = buckets_[b];
            for (unsigned m = match(k, t); m; m &= m - 1) {
                const int i = __builtin_ctz(m);
                if (k.slot[i] != slot) continue;
                k.tag[i] = 0;
                k.slot[i] = 0;  // zeroed: deterministic snapshots
                for (std::size_t h = home(fp); h != b; h = (h + 1) & kMask) --buckets_[h].passed;
                return;
            }
            b = (b + 1) & kMask;
        }
    }

    std::uint64_t next_ = 0;
    Bucket buckets_[kBuckets] = {};
    Fp128 keys_[Capacity] = {};
    V vals_[Capacity] = {};
};

}  // namespace oms::engine
