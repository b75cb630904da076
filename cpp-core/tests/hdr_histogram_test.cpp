#include "oms/metrics/hdr_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

using oms::metrics::HdrHistogram;

// Reference: nearest-rank percentile over the sorted samples.
uint64_t reference_percentile(const std::vector<uint64_t>& sorted, double p) {
  auto rank = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void check_against_reference(std::vector<uint64_t> values) {
  HdrHistogram h;
  for (uint64_t v : values) h.record(v);
  std::sort(values.begin(), values.end());
  ASSERT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const uint64_t ref = reference_percentile(values, p);
    const uint64_t got = h.value_at_percentile(p);
    SCOPED_TRACE("p" + std::to_string(p));
    // 3 significant digits: never below the true value, at most 0.1% above.
    EXPECT_GE(got, ref);
    EXPECT_LE(static_cast<double>(got - ref), static_cast<double>(ref) * 0.001 + 1.0)
        << "ref=" << ref << " got=" << got;
  }
}

TEST(HdrHistogram, LogNormalLatencies) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.2);  // ~60 us median in ns
  std::vector<uint64_t> v(200000);
  for (auto& x : v) x = static_cast<uint64_t>(dist(rng));
  check_against_reference(std::move(v));
}

TEST(HdrHistogram, UniformWideRange) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<uint64_t> dist(0, 50'000'000'000ull);
  std::vector<uint64_t> v(100000);
  for (auto& x : v) x = dist(rng);
  check_against_reference(std::move(v));
}

TEST(HdrHistogram, SmallValuesAreExact) {
  HdrHistogram h;
  for (uint64_t v = 0; v < 2048; ++v) h.record(v);
  for (uint64_t v : {0ull, 1ull, 1000ull, 2047ull}) {
    EXPECT_EQ(HdrHistogram::lowest_equivalent(v), v);
    EXPECT_EQ(HdrHistogram::highest_equivalent(v), v);
  }
  EXPECT_EQ(h.value_at_percentile(50.0), 1023u);
}

TEST(HdrHistogram, BucketBoundaries) {
  // 2048..4095 has resolution 2, 4096..8191 resolution 4, ...
  EXPECT_EQ(HdrHistogram::lowest_equivalent(2049), 2048u);
  EXPECT_EQ(HdrHistogram::highest_equivalent(2048), 2049u);
  EXPECT_EQ(HdrHistogram::lowest_equivalent(4099), 4096u);
  EXPECT_EQ(HdrHistogram::highest_equivalent(4096), 4099u);
}

TEST(HdrHistogram, SaturatesAboveHighestTrackable) {
  HdrHistogram h(1'000'000);
  h.record(5);
  h.record(10'000'000);
  EXPECT_EQ(h.saturated(), 1u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_LE(h.value_at_percentile(100.0), 1'000'000u);
}

TEST(HdrHistogram, MergeAndReset) {
  HdrHistogram a, b;
  for (uint64_t v = 1; v <= 1000; ++v) a.record(v);
  for (uint64_t v = 1001; v <= 2000; ++v) b.record(v);
  a.merge(b);
  EXPECT_EQ(a.count(), 2000u);
  EXPECT_EQ(a.value_at_percentile(50.0), 1000u);
  EXPECT_NEAR(a.mean(), 1000.5, 1e-9);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.value_at_percentile(99.0), 0u);
}

TEST(HdrHistogram, MemoryIsBoundedAndFixed) {
  HdrHistogram h;  // 1 h in ns
  EXPECT_LT(h.bucket_memory_bytes(), 300u * 1024u);
}

}  // namespace
