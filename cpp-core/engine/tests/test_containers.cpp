#include <gtest/gtest.h>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <random>
#include "oms/engine/dedup.hpp"
#include "oms/engine/fixed_string.hpp"
#include "oms/engine/flat_map.hpp"
#include "oms/engine/pool.hpp"
#include "oms/engine/spsc_ring.hpp"

using namespace oms::engine;

TEST(FixedString, AssignAndTruncate) {
    FixedString<8> s;
    EXPECT_TRUE(s.assign("abc"));
    EXPECT_EQ(s.view(), "abc");
    EXPECT_FALSE(s.assign("0123456789"));
    EXPECT_EQ(s.view(), "0123456");
    EXPECT_TRUE(s.assign("x"));
    EXPECT_EQ(s.data[2], '\0');  // tail zeroed
}

TEST(FlatMap, InsertFindEraseAgainstStdMap) {
    FlatMap<std::uint64_t, int, 1024, U64Hash> m;
    std::map<std::uint64_t, int> ref;
    std::mt19937_64 rng(42);
    for (int i = 0; i < 200000; ++i) {
        std::uint64_t k = rng() % 700;
        if (rng() % 3 == 0) {
            EXPECT_EQ(m.erase(k), ref.erase(k) == 1);
        } else {
            bool ins;
            int* v = m.insert(k, i, &ins);
            ASSERT_NE(v, nullptr);
            EXPECT_EQ(ins, ref.find(k) == ref.end());
            ref.emplace(k, i);
        }
        if (i % 997 == 0)
            for (auto& [k2, v2] : ref) { ASSERT_NE(m.find(k2), nullptr); EXPECT_EQ(*m.find(k2), v2); }
    }
    EXPECT_EQ(m.size(), ref.size());
}

TEST(FlatMap, RefusesBeyondMaxLoad) {
    FlatMap<std::uint64_t, int, 16, U64Hash> m;
    std::size_t ok = 0;
    for (std::uint64_t k = 0; k < 32; ++k) if (m.insert(k, 1)) ++ok;
    EXPECT_EQ(ok, m.max_size());
    EXPECT_EQ(m.find(31), nullptr);
}

TEST(Pool, AcquireReleaseExhaust) {
    Pool<int, 4> p;
    std::uint32_t a = p.acquire(), b = p.acquire(), c = p.acquire(), d = p.acquire();
    EXPECT_EQ(p.acquire(), kNoIndex);
    p.release(b);
    p.release(b);  // double release is harmless
    EXPECT_EQ(p.size(), 3u);
    EXPECT_EQ(p.acquire(), b);
    (void)a; (void)c; (void)d;
}

TEST(Dedup, EvictsOldestFifo) {
    struct Fp { Fp128 operator()(std::uint64_t k) const { return {U64Hash{}(k), k}; } };
    DedupTable<std::uint64_t, int, 4, Fp> d;
    for (std::uint64_t k = 1; k <= 6; ++k) d.put(k, static_cast<int>(k * 10));
    EXPECT_EQ(d.find(1), nullptr);
    EXPECT_EQ(d.find(2), nullptr);
    ASSERT_NE(d.find(3), nullptr);
    EXPECT_EQ(*d.find(6), 60);
    EXPECT_EQ(d.size(), 4u);
}

// The bucketed index against a model (the last Capacity distinct keys),
// with fingerprints crowded onto few home buckets so buckets overflow into
// their neighbours and evictions clear entries other keys probed past.
TEST(Dedup, MatchesFifoModelUnderBucketOverflow) {
    struct Crowded {  // home bucket from 2 bits only: at most 4 of 32 buckets
        Fp128 operator()(std::uint64_t k) const { return {U64Hash{}(k) & 3u, U64Hash{}(k ^ 0xABCDEFull)}; }
    };
    struct Spread {
        Fp128 operator()(std::uint64_t k) const { return {U64Hash{}(k), U64Hash{}(k ^ 0xABCDEFull)}; }
    };
    auto run = [](auto& d, std::uint64_t seed) {
        std::mt19937_64 g(seed);
        std::deque<std::uint64_t> fifo;  // model: insertion order of remembered keys
        std::set<std::uint64_t> live;
        const std::size_t cap = d.capacity();
        for (int i = 0; i < 20000; ++i) {
            const std::uint64_t k = g() % 200;  // repeats: re-puts of live keys
            const bool was = live.count(k) != 0;
            ASSERT_EQ(d.find(k) != nullptr, was) << "step " << i << " key " << k;
            d.put(k, static_cast<int>(k) + 1);
            if (!was) {
                if (fifo.size() == cap) { live.erase(fifo.front()); fifo.pop_front(); }
                fifo.push_back(k);
                live.insert(k);
            }
            ASSERT_EQ(d.size(), live.size());
            if (i % 97 == 0)
                for (std::uint64_t q = 0; q < 200; ++q) {
                    const int* v = d.find(q);
                    ASSERT_EQ(v != nullptr, live.count(q) != 0) << "step " << i << " key " << q;
                    if (v) ASSERT_EQ(*v, static_cast<int>(q) + 1);
                }
        }
    };
    auto crowded = std::make_unique<DedupTable<std::uint64_t, int, 64, Crowded>>();
    run(*crowded, 1);
    auto spread = std::make_unique<DedupTable<std::uint64_t, int, 64, Spread>>();
    run(*spread, 2);
}

TEST(SpscRing, SingleThreadFifoAndFull) {
    SpscRing<int, 4> r;
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.try_push(i));
    EXPECT_FALSE(r.try_push(99));
    int v;
    for (int i = 0; i < 4; ++i) { EXPECT_TRUE(r.try_pop(v)); EXPECT_EQ(v, i); }
    EXPECT_FALSE(r.try_pop(v));
    int* slot = r.try_claim(); ASSERT_NE(slot, nullptr); *slot = 7; r.commit();
    const int* f = r.front(); ASSERT_NE(f, nullptr); EXPECT_EQ(*f, 7); r.pop();
    EXPECT_EQ(r.front(), nullptr);
}
