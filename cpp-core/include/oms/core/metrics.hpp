// Process-level counters of oms-core, exported on /metrics in the
// Prometheus text format. Writers bump relaxed atomics; the HTTP thread
// renders a snapshot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace oms::core {

struct CoreMetrics {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<uint64_t> heartbeats_sent{0};
  std::atomic<uint64_t> heartbeat_errors{0};
  std::atomic<uint64_t> http_requests{0};
};

// Values sampled at scrape time from other components.
struct MetricsSample {
  bool nats_connected = false;
  bool ready = false;
  uint64_t nats_reconnects = 0;
  uint64_t nats_disconnects = 0;
  uint64_t js_async_errors = 0;
};

std::string render_prometheus(const CoreMetrics& m, const MetricsSample& s);

}  // namespace oms::core
