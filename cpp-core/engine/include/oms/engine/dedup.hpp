#pragma once
// Bounded idempotency table: remembers the last Capacity keys (FIFO
// eviction) with a small value each.
// Why bounded: JetStream redelivers within its duplicate window; we only need
// to recognise recent redeliveries, and an unbounded set would grow forever.
#include <cstddef>
#include <cstdint>
#include "oms/engine/flat_map.hpp"

namespace oms::engine {

template <typename K, typename V, std::size_t Capacity, typename Hash>
class DedupTable {
public:
    static constexpr std::size_t capacity() { return Capacity; }

    const V* find(const K& k) const {
        const std::uint32_t* i = map_.find(k);
        return i ? &vals_[*i] : nullptr;
    }

    // Remember k -> v, evicting the oldest entry when full.
    void put(const K& k, const V& v) {
        if (std::uint32_t* i = map_.find(k)) { vals_[*i] = v; return; }
        std::uint32_t slot = static_cast<std::uint32_t>(next_ % Capacity);
        if (next_ >= Capacity) map_.erase(keys_[slot]);
        keys_[slot] = k;
        vals_[slot] = v;
        map_.insert(k, slot);
        ++next_;
    }

    std::size_t size() const { return map_.size(); }

private:
    std::uint64_t next_ = 0;
    FlatMap<K, std::uint32_t, Capacity * 2, Hash> map_;
    K keys_[Capacity] = {};
    V vals_[Capacity] = {};
};

}  // namespace oms::engine
