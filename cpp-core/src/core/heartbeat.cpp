#include "oms/core/heartbeat.hpp"

#include "oms/nats/message.hpp"
#include "oms/proto/codec.hpp"
#include "oms/v1/heartbeat.pb-c.h"

#include <nats/nats.h>
#include <unistd.h>

#include <cctype>

namespace oms::core {

std::string heartbeat_subject(const std::string& service, const std::string& instance) {
  return "hb." + service + "." + instance;
}

std::string default_instance_id() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  std::string id = std::string(host) + ":" + std::to_string(::getpid());
  for (char& c : id) {
    if (c == '.' || c == '*' || c == '>' || std::isspace(static_cast<unsigned char>(c))) c = '_';
  }
  return id;
}

void HeartbeatPublisher::start(nats::Connection& conn, HeartbeatOptions opts, CoreMetrics& metrics,
                               HealthProbe probe) {
  conn_ = &conn;
  metrics_ = &metrics;
  opts_ = std::move(opts);
  probe_ = std::move(probe);
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void HeartbeatPublisher::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void HeartbeatPublisher::run() {
  using namespace std::chrono;
  const std::string subject = heartbeat_subject(opts_.service, opts_.instance);
  const std::string type = oms__v1__heartbeat__descriptor.name;  // "oms.v1.Heartbeat"
  const auto started = steady_clock::now();
  proto::Encoder enc;
  uint64_t seq = 0;
  auto next = steady_clock::now();

  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    const HeartbeatHealth h = probe_ ? probe_() : HeartbeatHealth{};
    ++seq;

    Oms__V1__HeartbeatDetail d_nats = OMS__V1__HEARTBEAT_DETAIL__INIT;
    Oms__V1__HeartbeatDetail d_js = OMS__V1__HEARTBEAT_DETAIL__INIT;
    d_nats.key = const_cast<char*>("nats");
    d_nats.value = const_cast<char*>(h.nats_connected ? "connected" : "disconnected");
    d_js.key = const_cast<char*>("jetstream");
    d_js.value = const_cast<char*>(h.jetstream_ok ? "ok" : "unreachable");
    Oms__V1__HeartbeatDetail* details[] = {&d_nats, &d_js};

    Oms__V1__Heartbeat hb = OMS__V1__HEARTBEAT__INIT;
    hb.service = const_cast<char*>(opts_.service.c_str());
    hb.instance_id = const_cast<char*>(opts_.instance.c_str());
    hb.version = const_cast<char*>(opts_.version.c_str());
    hb.status = (h.nats_connected && h.jetstream_ok && h.engine_ok) ? OMS__V1__SERVICE_STATUS__SERVICE_STATUS_READY
                                                     : OMS__V1__SERVICE_STATUS__SERVICE_STATUS_DEGRADED;
    hb.ts_ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
    hb.uptime_ms = static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now() - started).count());
    hb.sequence = seq;
    hb.n_details = 2;
    hb.details = details;
    hb.pid_present_case = OMS__V1__HEARTBEAT__PID_PRESENT_PID;
    hb.pid = static_cast<int32_t>(::getpid());

    const auto bytes = enc.encode(&hb.base);
    const std::string id = opts_.instance + "-" + std::to_string(seq);
    nats::OmsHeaders headers;
    headers.type = type.c_str();
    headers.id = id.c_str();
    headers.producer = opts_.service.c_str();
    bool sent = false;
    if (auto msg = nats::Msg::create(subject.c_str(), bytes, headers); msg) {
      sent = conn_->publish(*msg).ok();
    }
    (sent ? metrics_->heartbeats_sent : metrics_->heartbeat_errors).fetch_add(1, std::memory_order_relaxed);

    // Fixed-rate schedule; if we fell far behind (e.g. a slow probe), skip
    // ahead rather than bursting.
    next += duration_cast<steady_clock::duration>(opts_.interval);
    if (next < steady_clock::now()) next = steady_clock::now();
    lk.lock();
    cv_.wait_until(lk, next, [this] { return stop_; });
  }
  lk.unlock();
  nats_ReleaseThreadMemory();
}

}  // namespace oms::core
