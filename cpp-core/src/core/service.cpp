#include "oms/core/service.hpp"

#include <algorithm>
#include <cstring>

namespace oms::core {

using namespace std::chrono;

namespace {
nats::StreamSpec to_spec(const config::StreamConfig& s) {
  nats::StreamSpec spec;
  spec.name = s.name;
  spec.subjects = s.subjects;
  spec.storage = s.storage == config::Storage::memory ? nats::StorageType::memory : nats::StorageType::file;
  spec.replicas = s.replicas;
  spec.max_age = s.max_age;
  spec.duplicate_window = s.duplicate_window;
  return spec;
}
milliseconds ms(config::Duration d) { return duration_cast<milliseconds>(d); }
}  // namespace

CoreService::CoreService(const config::Config& cfg, const Logger& log, std::string version)
    : cfg_(cfg), log_(log), version_(std::move(version)), instance_(default_instance_id()) {}

bool CoreService::start_http() {
  const int err = http_.start("127.0.0.1", cfg_.http_port,
                              [this](std::string_view m, std::string_view p) { return handle_http(m, p); },
                              [] { nats_ReleaseThreadMemory(); });
  if (err != 0) {
    log_.error("http listen failed", {{"port", std::to_string(cfg_.http_port)}, {"err", std::strerror(err)}});
    return false;
  }
  log_.info("http listening", {{"addr", "127.0.0.1:" + std::to_string(http_.port())}});
  return true;
}

bool CoreService::connect(const std::function<bool(milliseconds)>& wait) {
  nats::ConnectionOptions o;
  o.name = "oms-core:" + instance_;
  o.url = cfg_.nats_url;
  o.connect_timeout = ms(cfg_.nats_options.connect_timeout);
  o.reconnect_wait = ms(cfg_.nats_options.reconnect_wait);
  o.reconnect_wait_max = ms(cfg_.nats_options.reconnect_wait_max);
  o.max_reconnect = cfg_.nats_options.max_reconnect;
  o.send_asap = cfg_.nats_options.send_asap;
  o.logger = &log_;

  // Initial connect and provisioning retry with the same backoff as
  // reconnects: oms-core may start before nats-server.
  auto backoff = [&, attempt = 0]() mutable {
    const milliseconds d = std::min(o.reconnect_wait * (1 << std::min(attempt++, 16)), o.reconnect_wait_max);
    return wait(d);
  };
  for (;;) {
    auto c = nats::Connection::connect(o);
    if (!c) {
      log_.warn("nats connect failed; retrying", {{"url", cfg_.nats_url}, {"err", c.status().message()}});
      if (!backoff()) return false;
      continue;
    }
    conn_.emplace(std::move(c.value()));
    break;
  }
  for (;;) {
    auto js = nats::JetStream::create(*conn_);
    if (!js) {
      log_.error("jetstream context failed", {{"err", js.status().message()}});
      if (!backoff()) return false;
      continue;
    }
    bool all_ok = true;
    for (const auto& s : cfg_.jetstream.streams) {
      auto r = js->ensure_stream(to_spec(s));
      if (!r) {
        log_.error("ensure stream failed", {{"stream", s.name}, {"err", r.status().message()}});
        all_ok = false;
        break;
      }
      log_.info("stream ensured", {{"stream", s.name}, {"outcome", nats::to_string(*r)}});
    }
    if (all_ok) {
      js_.emplace(std::move(js.value()));
      break;
    }
    if (!backoff()) return false;
  }
  nats_up_.store(true, std::memory_order_release);
  return true;
}

bool CoreService::start_runtime() {
  HeartbeatOptions hb;
  hb.service = "oms-core";
  hb.instance = instance_;
  hb.version = version_;
  hb.interval = cfg_.heartbeat_interval;
  const milliseconds probe_timeout = std::clamp(ms(cfg_.heartbeat_interval) / 2, milliseconds(50), milliseconds(500));
  heartbeat_.start(*conn_, hb, metrics_, [this, probe_timeout] {
    HeartbeatHealth h;
    h.nats_connected = conn_->connected();
    h.jetstream_ok = h.nats_connected && js_->ping(probe_timeout).ok();
    const EngineHost* e = engine_live_.load(std::memory_order_acquire);
    h.engine_ok = e == nullptr || e->healthy();
    return h;
  });

  engine_ = make_engine_host(cfg_);
  EngineContext ctx{cfg_, *conn_, *js_, log_, metrics_};
  if (auto st = engine_->start(ctx); !st) {
    log_.error("engine start failed", {{"engine", engine_->name()}, {"err", st.message()}});
    return false;
  }
  engine_live_.store(engine_.get(), std::memory_order_release);
  log_.info("ready", {{"instance", instance_},
                      {"subject", heartbeat_subject("oms-core", instance_)},
                      {"nats", cfg_.nats_url},
                      {"http", "127.0.0.1:" + std::to_string(http_.port())},
                      {"engine", engine_->name()},
                      {"version", version_}});
  return true;
}

void CoreService::stop() {
  if (stopped_) return;
  stopped_ = true;
  engine_live_.store(nullptr, std::memory_order_release);
  if (engine_) engine_->stop();
  heartbeat_.stop();
  http_.stop();
  nats_up_.store(false, std::memory_order_release);
  js_.reset();
  if (conn_) {
    if (auto st = conn_->drain(milliseconds(500)); !st) log_.warn("nats drain incomplete", {{"err", st.message()}});
    conn_.reset();
  }
  engine_.reset();
}

void CoreService::reload() {
  EngineHost* e = engine_live_.load(std::memory_order_acquire);
  if (e == nullptr) return;
  log_.info("reload requested", {{"engine", e->name()}});
  e->reload();
}

bool CoreService::ready() {
  if (!nats_up_.load(std::memory_order_acquire)) return false;
  if (!conn_->connected() || !js_->ping(milliseconds(500)).ok()) return false;
  const EngineHost* e = engine_live_.load(std::memory_order_acquire);
  return e != nullptr && e->healthy();
}

MetricsSample CoreService::sample(bool with_ready) {
  MetricsSample s;
  if (nats_up_.load(std::memory_order_acquire)) {
    s.nats_connected = conn_->connected();
    const auto c = conn_->counters();
    s.nats_reconnects = c.reconnects;
    s.nats_disconnects = c.disconnects;
    s.js_async_errors = js_->async_errors();
    s.ready = with_ready && ready();
  }
  return s;
}

HttpResponse CoreService::handle_http(std::string_view method, std::string_view path) {
  metrics_.http_requests.fetch_add(1, std::memory_order_relaxed);
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/readyz") {
    return ready() ? HttpResponse{200, "text/plain; charset=utf-8", "ready\n"}
                   : HttpResponse{503, "text/plain; charset=utf-8", "not ready\n"};
  }
  if (path == "/metrics") {
    std::string body = render_prometheus(metrics_, sample(true));
    if (const EngineHost* e = engine_live_.load(std::memory_order_acquire)) e->render_metrics(body);
    return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(body)};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

}  // namespace oms::core
