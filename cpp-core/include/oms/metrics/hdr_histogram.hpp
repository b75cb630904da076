// HDR-style log-linear histogram (after Gil Tene's HdrHistogram), 3
// significant decimal digits: every recorded value is reported within
// 1/1024 (< 0.1%) of its true value. Buckets are allocated once in the
// constructor; record() is branch-light, allocation-free and noexcept, so it
// can sit on a latency path. Not thread-safe: one histogram per thread,
// merge() afterwards.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace oms::metrics {

class HdrHistogram {
 public:
  // Values above highest_trackable are clamped to it (and counted in
  // saturated()). 1 hour in ns by default: enough for any latency we track.
  explicit HdrHistogram(uint64_t highest_trackable = 3'600'000'000'000ull)
      : highest_(std::max<uint64_t>(highest_trackable, 2 * kSubBucketCount)) {
    // Number of power-of-two buckets needed to cover highest_.
    uint64_t smallest_untrackable = kSubBucketCount;
    int buckets = 1;
    while (smallest_untrackable <= highest_) {
      if (smallest_untrackable > (UINT64_MAX >> 1)) { ++buckets; break; }
      smallest_untrackable <<= 1;
      ++buckets;
    }
    counts_.assign(static_cast<size_t>(buckets + 1) * kSubBucketHalfCount, 0);
  }

  void record(uint64_t value, uint64_t count = 1) noexcept {
    if (value > highest_) { value = highest_; saturated_ += count; }
    counts_[index_of(value)] += count;
    total_ += count;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    sum_ += static_cast<long double>(value) * static_cast<long double>(count);
  }

  void merge(const HdrHistogram& o) {
    // Same layout required (same highest_trackable).
    for (size_t i = 0; i < counts_.size() && i < o.counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    saturated_ += o.saturated_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  void reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = saturated_ = 0;
    sum_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
  }

  uint64_t count() const noexcept { return total_; }
  uint64_t saturated() const noexcept { return saturated_; }
  uint64_t min() const noexcept { return total_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }   // exact
  double mean() const noexcept { return total_ ? static_cast<double>(sum_ / total_) : 0.0; }

  // Smallest recorded-bucket value v such that at least `percentile`% of
  // samples are <= v; reported as the bucket's highest equivalent value (so
  // it never under-reports), but never above the exact max.
  uint64_t value_at_percentile(double percentile) const noexcept {
    if (total_ == 0) return 0;
    percentile = std::clamp(percentile, 0.0, 100.0);
    auto wanted = static_cast<uint64_t>(percentile / 100.0 * static_cast<double>(total_) + 0.5);
    wanted = std::clamp<uint64_t>(wanted, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= wanted) return std::min(highest_equivalent(value_from_index(i)), max_);
    }
    return max_;
  }

  // Bucket geometry, exposed for tests.
  static constexpr uint64_t kSubBucketCount = 2048;   // 2 * 10^3 rounded up to 2^k
  static constexpr uint64_t kSubBucketHalfCount = kSubBucketCount / 2;
  static constexpr int kSubBucketHalfCountMagnitude = 10;  // log2(1024)
  size_t bucket_memory_bytes() const noexcept { return counts_.size() * sizeof(uint64_t); }

  static uint64_t lowest_equivalent(uint64_t v) noexcept {
    const int b = bucket_index(v);
    return (v >> b) << b;
  }
  static uint64_t highest_equivalent(uint64_t v) noexcept {
    const int b = bucket_index(v);
    return lowest_equivalent(v) + (uint64_t{1} << b) - 1;
  }

 private:
  // Bucket b holds values in [1024 * 2^b, 2048 * 2^b) at resolution 2^b
  // (bucket 0 also holds 0..1023 at resolution 1).
  static int bucket_index(uint64_t v) noexcept {
    const int pow2ceiling = 64 - std::countl_zero(v | (kSubBucketCount - 1));
    return pow2ceiling - (kSubBucketHalfCountMagnitude + 1);
  }
  static size_t index_of(uint64_t v) noexcept {
    const int b = bucket_index(v);
    const uint64_t sub = v >> b;  // in [1024, 2048) for b > 0, [0, 2048) for b == 0
    return (static_cast<size_t>(b + 1) << kSubBucketHalfCountMagnitude) + (sub - kSubBucketHalfCount);
  }
  static uint64_t value_from_index(size_t i) noexcept {
    int b = static_cast<int>(i >> kSubBucketHalfCountMagnitude) - 1;
    uint64_t sub = (i & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
    if (b < 0) { sub -= kSubBucketHalfCount; b = 0; }
    return sub << b;
  }

  uint64_t highest_;
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t saturated_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace oms::metrics
