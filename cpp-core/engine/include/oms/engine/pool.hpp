#pragma once
// Fixed-capacity object pool handing out 32-bit indices.
// Why: orders are created/destroyed at message rate; a preallocated pool with
// an intrusive free list makes that O(1) with zero heap traffic, and indices
// (not pointers) keep the state relocatable for memcpy snapshots.
#include <cstddef>
#include <cstdint>

namespace oms::engine {

inline constexpr std::uint32_t kNoIndex = 0xFFFFFFFFu;

template <typename T, std::size_t Capacity>
class Pool {
public:
    Pool() { reset(); }

    void reset() {
        for (std::size_t i = 0; i < Capacity; ++i) {
            next_free_[i] = static_cast<std::uint32_t>(i + 1 < Capacity ? i + 1 : kNoIndex);
            live_[i] = 0;
            items_[i] = T{};
        }
        free_head_ = 0;
        size_ = 0;
    }

    // kNoIndex when exhausted; the caller rejects rather than allocating.
    std::uint32_t acquire() {
        std::uint32_t i = free_head_;
        if (i == kNoIndex) return kNoIndex;
        free_head_ = next_free_[i];
        next_free_[i] = kNoIndex;
        live_[i] = 1;
        // items_[i] is T{} already: reset() and release() leave every free
        // item so (zeroing it again here cost ~30 instructions an order).
        ++size_;
        return i;
    }

    void release(std::uint32_t i) {
        if (i >= Capacity || !live_[i]) return;  // double release is a no-op, not a crash
        items_[i] = T{};
        live_[i] = 0;
        next_free_[i] = free_head_;
        free_head_ = i;
        --size_;
    }

    T& operator[](std::uint32_t i) { return items_[i]; }
    const T& operator[](std::uint32_t i) const { return items_[i]; }
    bool live(std::uint32_t i) const { return i < Capacity && live_[i]; }
    std::size_t size() const { return size_; }
    static constexpr std::size_t capacity() { return Capacity; }

    template <typename F> void for_each_live(F&& f) {
        for (std::uint32_t i = 0; i < Capacity; ++i) if (live_[i]) f(i, items_[i]);
    }

private:
    std::uint32_t free_head_ = 0;
    std::size_t size_ = 0;
    std::uint32_t next_free_[Capacity];
    std::uint8_t live_[Capacity];
    T items_[Capacity];
};

}  // namespace oms::engine
