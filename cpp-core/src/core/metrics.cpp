#include "oms/core/metrics.hpp"

namespace oms::core {

namespace {
void metric(std::string& out, const char* name, const char* type, const char* help, double v) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out += buf;
  out += '\n';
}
double d(uint64_t v) { return static_cast<double>(v); }
}  // namespace

std::string render_prometheus(const CoreMetrics& m, const MetricsSample& s) {
  using namespace std::chrono;
  std::string out;
  out.reserve(1536);
  const double uptime = duration<double>(steady_clock::now() - m.started).count();
  metric(out, "oms_core_up", "gauge", "1 while the oms-core process is running.", 1);
  metric(out, "oms_core_ready", "gauge", "1 when NATS is connected and JetStream reachable.", s.ready ? 1 : 0);
  metric(out, "oms_core_uptime_seconds", "gauge", "Seconds since oms-core started.", uptime);
  metric(out, "oms_core_heartbeats_total", "counter", "Heartbeats published on hb.oms-core.<instance>.",
         d(m.heartbeats_sent.load(std::memory_order_relaxed)));
  metric(out, "oms_core_heartbeat_errors_total", "counter", "Heartbeats that failed to publish.",
         d(m.heartbeat_errors.load(std::memory_order_relaxed)));
  metric(out, "oms_core_nats_connected", "gauge", "1 while the NATS connection is up.", s.nats_connected ? 1 : 0);
  metric(out, "oms_core_nats_reconnects_total", "counter", "NATS reconnections since start.", d(s.nats_reconnects));
  metric(out, "oms_core_nats_disconnects_total", "counter", "NATS disconnections since start.", d(s.nats_disconnects));
  metric(out, "oms_core_js_async_publish_errors_total", "counter", "JetStream async publishes the server rejected.",
         d(s.js_async_errors));
  metric(out, "oms_core_http_requests_total", "counter", "HTTP requests served.",
         d(m.http_requests.load(std::memory_order_relaxed)));
  return out;
}

}  // namespace oms::core
