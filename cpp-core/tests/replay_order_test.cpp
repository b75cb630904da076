// The replay merge order of oms-core's input streams (replay_order.hpp).
#include "oms/core/replay_order.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

using namespace oms::core;

TEST(ReplayOrder, SameStreamBySequenceEvenIfTimestampsDisagree) {
  // cmd.risk.> and cmd.control.> share COMMANDS: sequence decides.
  EXPECT_TRUE(replay_before({kSrcControl, 5, 900}, {kSrcCommands, 6, 100}));
  EXPECT_FALSE(replay_before({kSrcCommands, 6, 100}, {kSrcControl, 5, 900}));
  EXPECT_TRUE(replay_before({kSrcInstruments, 1, 50}, {kSrcTob, 2, 10}));
}

TEST(ReplayOrder, AcrossStreamsByStoreTimeThenRankThenSequence) {
  EXPECT_TRUE(replay_before({kSrcTrades, 90, 100}, {kSrcCommands, 3, 101}));
  EXPECT_FALSE(replay_before({kSrcCommands, 3, 101}, {kSrcTrades, 90, 100}));
  // Same nanosecond: instruments < control < positions < orders < trades < tob < commands.
  const int order[] = {kSrcInstruments, kSrcControl, kSrcPositions, kSrcOrders, kSrcTrades, kSrcTob, kSrcCommands};
  for (int i = 0; i + 1 < 7; ++i) {
    if (kReplayStreamOf[order[i]] == kReplayStreamOf[order[i + 1]]) continue;
    EXPECT_TRUE(replay_before({order[i], 50, 7}, {order[i + 1], 1, 7})) << i;
    EXPECT_FALSE(replay_before({order[i + 1], 1, 7}, {order[i], 50, 7})) << i;
  }
}

TEST(ReplayOrder, MergeKeepsStreamOrderAndStoreTimeOrder) {
  // Per-source queues in stream order (what each consumer delivers), merged
  // the way the engine thread does it (always the smallest head): the result
  // depends only on the queues' contents, never on fetch timing.
  std::mt19937 rng(7);
  std::vector<std::vector<ReplayKey>> q(kSrcCount);
  std::uint64_t seq[5] = {};
  for (int i = 0; i < 2000; ++i) {
    const int src = static_cast<int>(rng() % kSrcCount);
    const std::int64_t ts = 1000 + i / 3;  // some equal timestamps across streams
    q[static_cast<std::size_t>(src)].push_back({src, ++seq[kReplayStreamOf[src]], ts});
  }
  auto merge = [&](std::vector<std::vector<ReplayKey>> qs) {
    std::vector<ReplayKey> out;
    std::vector<std::size_t> head(kSrcCount, 0);
    for (;;) {
      int best = -1;
      for (int s = 0; s < kSrcCount; ++s)
        if (head[s] < qs[s].size() && (best < 0 || replay_before(qs[s][head[s]], qs[best][head[best]]))) best = s;
      if (best < 0) break;
      out.push_back(qs[best][head[best]++]);
    }
    return out;
  };
  const auto a = merge(q);
  ASSERT_EQ(a.size(), 2000u);
  // Stream order preserved, and time order across streams.
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (kReplayStreamOf[a[i - 1].source] == kReplayStreamOf[a[i].source]) EXPECT_LT(a[i - 1].seq, a[i].seq);
    EXPECT_LE(a[i - 1].ts, a[i].ts);
  }
}
