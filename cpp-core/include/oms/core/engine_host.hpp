// THE ENGINE SEAM. oms-core owns process concerns (config, NATS,
// JetStream streams, heartbeats, HTTP probes, signals); the trading engine
// (cpp-core/engine, target oms_engine) plugs in behind this interface.
//
// Lifecycle, driven by CoreService:
//   1. config loaded and validated, NATS connected, streams ensured;
//   2. make_engine_host(config) -> EngineHost;
//   3. host->start(ctx) once, on the main thread. The engine creates its own
//      threads (pin with pin_current_thread(ctx.config.engine_cpu)), its own
//      pull consumers / subscriptions through ctx.nats / ctx.js;
//   4. host->healthy() is polled by /readyz and heartbeats (must be cheap,
//      non-blocking, thread-safe);
//   5. on SIGTERM/SIGINT: host->stop() (must return within ~500 ms), then
//      oms-core drains NATS. Threads that used nats.c must call
//      nats_ReleaseThreadMemory() before exiting.
#pragma once

#include "oms/config.hpp"
#include "oms/core/metrics.hpp"
#include "oms/log.hpp"
#include "oms/nats/connection.hpp"
#include "oms/nats/jetstream.hpp"

#include <memory>
#include <string>

namespace oms::core {

struct EngineContext {
  const config::Config& config;
  nats::Connection& nats;     // outlives the engine
  nats::JetStream& js;        // outlives the engine
  const Logger& log;
  CoreMetrics& metrics;
};

class EngineHost {
 public:
  virtual ~EngineHost() = default;
  virtual const char* name() const noexcept = 0;
  virtual nats::Status start(EngineContext& ctx) = 0;
  virtual void stop() noexcept = 0;
  virtual bool healthy() const noexcept { return true; }
  // Re-read limits/instruments from the config file (SIGHUP). Thread-safe;
  // applied by the engine between messages.
  virtual void reload() noexcept {}
  // Appends engine metrics (Prometheus text) to the /metrics body.
  virtual void render_metrics(std::string& /*out*/) const {}
};

#if defined(OMS_HAVE_ENGINE)
// The real engine pipeline (src/core/risk_engine_host.cpp).
std::unique_ptr<EngineHost> make_risk_engine_host(const config::Config& config);
#endif

// Returns the engine to run. Today: a null engine (no trading logic). Wiring
// the real one means editing only src/core/engine_host.cpp.
std::unique_ptr<EngineHost> make_engine_host(const config::Config& config);

// Pins the calling thread to `cpu` (no-op for cpu < 0). Returns 0 or errno.
int pin_current_thread(int cpu);

}  // namespace oms::core
