// Replay order of oms-core's inputs across streams (deterministic).
//
// On restart the engine rebuilds state by replaying several streams at once
// (COMMANDS: cmd.risk.>, cmd.control.>; ORDERS; TRADES; POSITIONS;
// MARKETDATA: md.tob.>, md.instruments.>). Each arrives on its own pull
// consumer, so "whatever was fetched first" would differ from run to run.
// Instead the engine always applies, among the next message of every source,
// the first one in this order:
//   1. two sources of the same stream: by stream sequence;
//   2. otherwise by JetStream store timestamp (ns, from the message metadata);
//   3. equal timestamps: by source rank - instruments, control, positions,
//      orders, trades, top of book, commands (reference data and controls
//      before the orders they govern);
//   4. then by sequence.
// A source that has not caught up and has nothing queued blocks the merge
// (it may still deliver an earlier message), for at most 2 s (liveness: a
// failing consumer must not stall the engine; then the order is best effort). Live processing is arrival
// order, which is store order up to thread scheduling; messages stored after
// a restart are newer than every replayed one, so they never reorder it.
#pragma once

#include <cstdint>

namespace oms::core {

// Source numbering of risk_engine_host.cpp.
enum ReplaySource : int { kSrcCommands, kSrcControl, kSrcOrders, kSrcTrades, kSrcPositions, kSrcTob, kSrcInstruments, kSrcCount };

inline constexpr int kReplayStreamOf[kSrcCount] = {0, 0, 1, 2, 3, 4, 4};
inline constexpr int kReplayRank[kSrcCount] = {6, 1, 3, 4, 2, 5, 0};

struct ReplayKey {
  int source = 0;
  std::uint64_t seq = 0;  // stream sequence
  std::int64_t ts = 0;    // store timestamp, ns
};

// True when `a` is applied before `b`.
inline bool replay_before(const ReplayKey& a, const ReplayKey& b) {
  if (kReplayStreamOf[a.source] == kReplayStreamOf[b.source]) return a.seq < b.seq;
  if (a.ts != b.ts) return a.ts < b.ts;
  if (kReplayRank[a.source] != kReplayRank[b.source]) return kReplayRank[a.source] < kReplayRank[b.source];
  return a.seq < b.seq;
}

}  // namespace oms::core
