// oms-core's process wiring: HTTP probes, NATS connection, stream
// provisioning, heartbeats and the engine, started and stopped in order.
#pragma once

#include "oms/config.hpp"
#include "oms/core/engine_host.hpp"
#include "oms/core/heartbeat.hpp"
#include "oms/core/http_server.hpp"
#include "oms/core/metrics.hpp"
#include "oms/log.hpp"
#include "oms/nats/connection.hpp"
#include "oms/nats/jetstream.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace oms::core {

class CoreService {
 public:
  CoreService(const config::Config& cfg, const Logger& log, std::string version);
  ~CoreService() { stop(); }
  CoreService(const CoreService&) = delete;
  CoreService& operator=(const CoreService&) = delete;

  // Starts the HTTP server (so /healthz answers even while NATS is down).
  bool start_http();
  // Connects and provisions streams, retrying with backoff; `wait` sleeps
  // for the given time and returns false if shutdown was requested.
  bool connect(const std::function<bool(std::chrono::milliseconds)>& wait);
  // Heartbeats + engine; logs "ready".
  bool start_runtime();
  // Idempotent; bounded (well under 2 s).
  void stop();

  bool ready();
  // Re-read risk limits / instruments (SIGHUP). No-op before the engine runs.
  void reload();
  const std::string& instance() const { return instance_; }

 private:
  HttpResponse handle_http(std::string_view method, std::string_view path);
  MetricsSample sample(bool with_ready);

  const config::Config& cfg_;
  const Logger& log_;
  std::string version_;
  std::string instance_;
  CoreMetrics metrics_;
  HttpServer http_;
  std::optional<nats::Connection> conn_;
  std::optional<nats::JetStream> js_;
  std::atomic<bool> nats_up_{false};   // conn_/js_ are valid once true
  HeartbeatPublisher heartbeat_;
  std::unique_ptr<EngineHost> engine_;
  std::atomic<EngineHost*> engine_live_{nullptr};  // set while started; read by probes
  bool stopped_ = false;
};

}  // namespace oms::core
