#pragma once
// Fixed-capacity open-addressing hash map (linear probing, backward-shift
// deletion, no tombstones).
// Why: lookups by order id / account / instrument on the hot path must not
// allocate or chase pointers. Capacity is fixed at compile time, storage is
// inline, and the type is trivially copyable when K and V are, so the engine
// state snapshots with a memcpy. Keep the load factor <= ~0.7 by sizing
// Capacity at ~1.5x the number of live entries you expect.
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace oms::engine {

template <typename K, typename V, std::size_t Capacity, typename Hash>
class FlatMap {
    static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "power of two");

public:
    static constexpr std::size_t capacity() { return Capacity; }
    // Refuse inserts beyond this so probe chains stay short and a lookup for a
    // missing key always terminates at an empty slot.
    static constexpr std::size_t max_size() { return Capacity - Capacity / 8; }

    std::size_t size() const { return size_; }

    V* find(const K& k) {
        std::size_t i = Hash{}(k) & kMask;
        while (slots_[i].used) {
            if (slots_[i].key == k) return &slots_[i].val;
            i = (i + 1) & kMask;
        }
        return nullptr;
    }
    const V* find(const K& k) const { return const_cast<FlatMap*>(this)->find(k); }

    // Pull the key's home slot into cache ahead of a find/insert, so several
    // independent lookups of one message overlap their cache misses.
    void prefetch(const K& k) const { __builtin_prefetch(&slots_[Hash{}(k) & kMask]); }

    // Insert or return the existing value. nullptr when full.
    V* insert(const K& k, const V& v, bool* inserted = nullptr) {
        std::size_t i = Hash{}(k) & kMask;
        while (slots_[i].used) {
            if (slots_[i].key == k) { if (inserted) *inserted = false; return &slots_[i].val; }
            i = (i + 1) & kMask;
        }
        if (size_ >= max_size()) { if (inserted) *inserted = false; return nullptr; }
        slots_[i].used = 1; slots_[i].key = k; slots_[i].val = v; ++size_;
        if (inserted) *inserted = true;
        return &slots_[i].val;
    }

    bool erase(const K& k) {
        std::size_t i = Hash{}(k) & kMask;
        while (slots_[i].used) {
            if (slots_[i].key == k) { erase_at(i); return true; }
            i = (i + 1) & kMask;
        }
        return false;
    }

    void clear() {
        for (std::size_t i = 0; i < Capacity; ++i) slots_[i] = Slot{};
        size_ = 0;
    }

    template <typename F> void for_each(F&& f) {
        for (std::size_t i = 0; i < Capacity; ++i) if (slots_[i].used) f(slots_[i].key, slots_[i].val);
    }

private:
    static constexpr std::size_t kMask = Capacity - 1;

    // Key, value and occupancy share one slot (array of structs): a probe
    // touches one cache line instead of three parallel arrays.
    struct Slot {
        K key{};
        V val{};
        std::uint8_t used = 0;
    };

    // Backward-shift deletion: move later entries of the probe chain back so
    // no tombstones accumulate (lookups stay O(chain) forever).
    void erase_at(std::size_t i) {
        std::size_t j = i;
        for (;;) {
            j = (j + 1) & kMask;
            if (!slots_[j].used) break;
            std::size_t home = Hash{}(slots_[j].key) & kMask;
            // Can entry j move to hole i? Only if its home is not in (i, j].
            bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
            if (!in_range) { slots_[i] = slots_[j]; i = j; }
        }
        slots_[i] = Slot{};  // zeroed: deterministic snapshots
        --size_;
    }

    std::size_t size_ = 0;
    Slot slots_[Capacity] = {};
};

// For keys that already are well-mixed hashes (fingerprints).
struct IdentityHash {
    std::uint64_t operator()(std::uint64_t x) const { return x; }
};

struct U64Hash {
    std::uint64_t operator()(std::uint64_t x) const {
        x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
        return x;
    }
};

}  // namespace oms::engine
