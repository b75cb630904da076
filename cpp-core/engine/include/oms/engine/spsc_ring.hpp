#pragma once
// Single-producer/single-consumer lock-free ring.
// Why: the I/O thread hands decoded messages to the engine thread, and the
// engine hands encoded outputs to the publisher thread, without locks or
// allocation. Capacity is a power of two so the index wrap is a mask.
// head/tail live on separate cache lines (no false sharing) and each side
// caches the other side's index to avoid touching the shared line on every op.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace oms::engine {

inline constexpr std::size_t kCacheLine = 64;

template <typename T, std::size_t Capacity>
class SpscRing {
    static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "power of two");
    static_assert(std::is_trivially_copyable_v<T> || std::is_nothrow_move_assignable_v<T>);

public:
    static constexpr std::size_t capacity() { return Capacity; }

    // Producer side. Returns false when full (caller decides: spin, drop, alarm).
    bool try_push(const T& v) noexcept {
        const std::uint64_t t = tail_.load(std::memory_order_relaxed);
        if (t - head_cache_ >= Capacity) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (t - head_cache_ >= Capacity) return false;
        }
        slots_[t & kMask] = v;
        tail_.store(t + 1, std::memory_order_release);  // publish the slot write
        return true;
    }

    // Zero-copy producer API: write into the slot, then commit().
    T* try_claim() noexcept {
        const std::uint64_t t = tail_.load(std::memory_order_relaxed);
        if (t - head_cache_ >= Capacity) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (t - head_cache_ >= Capacity) return nullptr;
        }
        return &slots_[t & kMask];
    }
    void commit() noexcept {
        tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // Consumer side.
    bool try_pop(T& out) noexcept {
        const std::uint64_t h = head_.load(std::memory_order_relaxed);
        if (h == tail_cache_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (h == tail_cache_) return false;
        }
        out = slots_[h & kMask];
        head_.store(h + 1, std::memory_order_release);  // slot may be reused now
        return true;
    }

    // Zero-copy consumer API: read front(), then pop().
    const T* front() noexcept {
        const std::uint64_t h = head_.load(std::memory_order_relaxed);
        if (h == tail_cache_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (h == tail_cache_) return nullptr;
        }
        return &slots_[h & kMask];
    }
    void pop() noexcept {
        head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // Batch consumer API: how many items are readable now, read the i-th
    // one in place (i < available()), then release n of them at once. Lets
    // the publisher keep a batch in the ring (no copy) until it is acked.
    std::size_t available() noexcept {
        const std::uint64_t h = head_.load(std::memory_order_relaxed);
        tail_cache_ = tail_.load(std::memory_order_acquire);
        return static_cast<std::size_t>(tail_cache_ - h);
    }
    const T& at(std::size_t i) const noexcept {
        return slots_[(head_.load(std::memory_order_relaxed) + i) & kMask];
    }
    T& at(std::size_t i) noexcept {
        return slots_[(head_.load(std::memory_order_relaxed) + i) & kMask];
    }
    void pop_n(std::size_t n) noexcept {
        head_.store(head_.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }

    // Approximate (racy by nature) size for metrics.
    std::size_t size_approx() const noexcept {
        return static_cast<std::size_t>(tail_.load(std::memory_order_acquire) -
                                        head_.load(std::memory_order_acquire));
    }

private:
    static constexpr std::uint64_t kMask = Capacity - 1;
    alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};  // consumer-owned
    alignas(kCacheLine) std::uint64_t tail_cache_ = 0;        // consumer's view of tail
    alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};  // producer-owned
    alignas(kCacheLine) std::uint64_t head_cache_ = 0;        // producer's view of head
    alignas(kCacheLine) T slots_[Capacity];
};

}  // namespace oms::engine
