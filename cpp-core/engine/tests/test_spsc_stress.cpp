// Two threads, millions of items, every sequence number checked in order.
// Built twice: normally, and with -DOMS_TSAN=ON under ThreadSanitizer.
#include <gtest/gtest.h>
#include <cstdint>
#include <thread>
#include "oms/engine/spsc_ring.hpp"

#ifndef OMS_SPSC_ITEMS
#define OMS_SPSC_ITEMS 10000000
#endif

using namespace oms::engine;

struct Item { std::uint64_t seq; std::uint64_t check; };

TEST(SpscRingStress, TwoThreadsSequenceChecked) {
    static SpscRing<Item, 1024> ring;
    constexpr std::uint64_t kN = OMS_SPSC_ITEMS;
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < kN; ++i) {
            Item it{i, i * 0x9E3779B97F4A7C15ull};
            while (!ring.try_push(it)) std::this_thread::yield();
        }
    });
    std::uint64_t expected = 0, bad = 0;
    Item it;
    while (expected < kN) {
        if (ring.try_pop(it)) {
            if (it.seq != expected || it.check != expected * 0x9E3779B97F4A7C15ull) ++bad;
            ++expected;
        } else {
            std::this_thread::yield();
        }
    }
    producer.join();
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(expected, kN);
    EXPECT_FALSE(ring.try_pop(it));
}

TEST(SpscRingStress, ZeroCopyApiTwoThreads) {
    static SpscRing<std::uint64_t, 256> ring;
    constexpr std::uint64_t kN = OMS_SPSC_ITEMS / 4;
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < kN; ++i) {
            std::uint64_t* s;
            while (!(s = ring.try_claim())) std::this_thread::yield();
            *s = i;
            ring.commit();
        }
    });
    std::uint64_t expected = 0, bad = 0;
    while (expected < kN) {
        const std::uint64_t* f = ring.front();
        if (!f) { std::this_thread::yield(); continue; }
        if (*f != expected) ++bad;
        ring.pop();
        ++expected;
    }
    producer.join();
    EXPECT_EQ(bad, 0u);
}
