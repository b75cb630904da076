#pragma once
// Bounded idempotency table: remembers the last Capacity keys (FIFO
// eviction) with a small value each.
// Why bounded: JetStream redelivers within its duplicate window; we only need
// to recognise recent redeliveries, and an unbounded set would grow forever.
// Why fingerprints: keys (command ids, trade ids) are up to 64 bytes; storing
// a 128-bit fingerprint (two independent 64-bit hashes) instead keeps the
// table ~6x smaller and cache-resident. A false "duplicate" needs a 128-bit
// collision among the last Capacity ids (~2^-114): negligible.
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
template <typename K, typename V, std::size_t Capacity, typename Fingerprint>
class DedupTable {
public:
    static constexpr std::size_t capacity() { return Capacity; }

    static Fp128 fingerprint(const K& k) { return Fingerprint{}(k); }

    const V* find(const K& k) const { return find_fp(Fingerprint{}(k)); }
    const V* find_fp(const Fp128& fp) const {
        const std::uint32_t* i = map_.find(fp);
        return i ? &vals_[*i] : nullptr;
    }
    void prefetch(const Fp128& fp) const { map_.prefetch(fp); }
    // The next put() evicts the oldest entry: prefetch its slot too.
    void prefetch_eviction() const {
        if (next_ >= Capacity) map_.prefetch(keys_[next_ % Capacity]);
    }

    // Remember fp and return its value slot for the caller to fill (lets a
    // large V be written field by field instead of copied whole).
    V* put_slot(const Fp128& fp) {
        if (std::uint32_t* i = map_.find(fp)) return &vals_[*i];
        std::uint32_t slot = static_cast<std::uint32_t>(next_ % Capacity);
        if (next_ >= Capacity) map_.erase(keys_[slot]);
        keys_[slot] = fp;
        map_.insert(fp, slot);
        ++next_;
        return &vals_[slot];
    }

    // Remember k -> v, evicting the oldest entry when full.
    void put(const K& k, const V& v) { put_fp(Fingerprint{}(k), v); }
    void put_fp(const Fp128& fp, const V& v) {
        if (std::uint32_t* i = map_.find(fp)) { vals_[*i] = v; return; }
        std::uint32_t slot = static_cast<std::uint32_t>(next_ % Capacity);
        if (next_ >= Capacity) map_.erase(keys_[slot]);
        keys_[slot] = fp;
        vals_[slot] = v;
        map_.insert(fp, slot);
        ++next_;
    }

    std::size_t size() const { return map_.size(); }

private:
    std::uint64_t next_ = 0;
    FlatMap<Fp128, std::uint32_t, Capacity * 2, Fp128Hash> map_;
    Fp128 keys_[Capacity] = {};
    V vals_[Capacity] = {};
};

}  // namespace oms::engine
