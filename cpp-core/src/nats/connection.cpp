#include "oms/nats/connection.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

namespace oms::nats {

struct Connection::Shared {
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> reconnects{0};
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  const Logger* logger = nullptr;
  std::string name;
  int64_t backoff_base_ms = 250;
  int64_t backoff_max_ms = 5000;
  uint64_t rng = 0x9E3779B97F4A7C15ull;  // only touched by nats.c's reconnect thread
};

namespace {

using Shared = Connection::Shared;

void on_disconnected(natsConnection*, void* closure) {
  auto* sh = static_cast<Shared*>(closure);
  sh->disconnects.fetch_add(1, std::memory_order_relaxed);
  if (sh->logger) sh->logger->warn("nats disconnected", {{"conn", sh->name}});
}

void on_reconnected(natsConnection* nc, void* closure) {
  auto* sh = static_cast<Shared*>(closure);
  sh->reconnects.fetch_add(1, std::memory_order_relaxed);
  if (sh->logger) {
    char url[256] = {0};
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    sh->logger->info("nats reconnected", {{"conn", sh->name}, {"url", url}});
  }
}

void on_closed(natsConnection*, void* closure) {
  auto* sh = static_cast<Shared*>(closure);
  if (sh->logger) sh->logger->info("nats connection closed", {{"conn", sh->name}});
  {
    std::lock_guard lk(sh->mu);
    sh->closed = true;
  }
  sh->cv.notify_all();
}

void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
  auto* sh = static_cast<Shared*>(closure);
  if (sh->logger) sh->logger->warn("nats async error", {{"conn", sh->name}, {"err", natsStatus_GetText(err)}});
}

// Exponential backoff with jitter: base * 2^(attempt-1), capped, +0..10%.
// Jitter keeps a fleet of services from reconnecting in lockstep.
int64_t reconnect_delay(natsConnection*, int attempts, void* closure) {
  auto* sh = static_cast<Shared*>(closure);
  const int shift = std::clamp(attempts - 1, 0, 20);
  int64_t d = std::min(sh->backoff_base_ms << shift, sh->backoff_max_ms);
  sh->rng ^= sh->rng << 13;
  sh->rng ^= sh->rng >> 7;
  sh->rng ^= sh->rng << 17;
  const int64_t jitter_range = d / 10 + 1;
  return d + static_cast<int64_t>(sh->rng % static_cast<uint64_t>(jitter_range));
}

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  (*static_cast<Connection::Handler*>(closure))(Msg(msg));
}

#define OMS_TRY(call, name)                                   \
  do {                                                        \
    natsStatus s_ = (call);                                   \
    if (s_ != NATS_OK) { natsOptions_Destroy(o); return Status::failure(s_, name); } \
  } while (0)

}  // namespace

Result<Connection> Connection::connect(const ConnectionOptions& opts) {
  auto shared = std::make_unique<Shared>();
  shared->logger = opts.logger;
  shared->name = opts.name;
  shared->backoff_base_ms = std::max<int64_t>(1, opts.reconnect_wait.count());
  shared->backoff_max_ms = std::max<int64_t>(shared->backoff_base_ms, opts.reconnect_wait_max.count());
  shared->rng ^= static_cast<uint64_t>(nats_Now()) * 0x2545F4914F6CDD1Dull;

  natsOptions* o = nullptr;
  if (natsStatus s = natsOptions_Create(&o); s != NATS_OK) return Status::failure(s, "natsOptions_Create");
  OMS_TRY(natsOptions_SetName(o, opts.name.c_str()), "natsOptions_SetName");
  OMS_TRY(natsOptions_SetURL(o, opts.url.c_str()), "natsOptions_SetURL");
  OMS_TRY(natsOptions_SetTimeout(o, opts.connect_timeout.count()), "natsOptions_SetTimeout");
  OMS_TRY(natsOptions_SetAllowReconnect(o, true), "natsOptions_SetAllowReconnect");
  OMS_TRY(natsOptions_SetMaxReconnect(o, opts.max_reconnect), "natsOptions_SetMaxReconnect");
  // Ignored by nats.c once a custom delay is set, but keeps the intent visible.
  OMS_TRY(natsOptions_SetReconnectWait(o, opts.reconnect_wait.count()), "natsOptions_SetReconnectWait");
  OMS_TRY(natsOptions_SetCustomReconnectDelay(o, reconnect_delay, shared.get()), "natsOptions_SetCustomReconnectDelay");
  OMS_TRY(natsOptions_SetSendAsap(o, opts.send_asap), "natsOptions_SetSendAsap");
  OMS_TRY(natsOptions_SetDisconnectedCB(o, on_disconnected, shared.get()), "natsOptions_SetDisconnectedCB");
  OMS_TRY(natsOptions_SetReconnectedCB(o, on_reconnected, shared.get()), "natsOptions_SetReconnectedCB");
  OMS_TRY(natsOptions_SetClosedCB(o, on_closed, shared.get()), "natsOptions_SetClosedCB");
  OMS_TRY(natsOptions_SetErrorHandler(o, on_async_error, shared.get()), "natsOptions_SetErrorHandler");
  if (opts.retry_on_failed_connect) {
    OMS_TRY(natsOptions_SetRetryOnFailedConnect(o, true, nullptr, nullptr), "natsOptions_SetRetryOnFailedConnect");
  }

  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, o);
  natsOptions_Destroy(o);  // the connection keeps its own clone
  if (s != NATS_OK && !(opts.retry_on_failed_connect && s == NATS_NOT_YET_CONNECTED)) {
    return Status::failure(s, "natsConnection_Connect");
  }
  Connection c;
  c.nc_ = nc;
  c.shared_ = std::move(shared);
  return c;
}

Connection::~Connection() { destroy(); }

Connection::Connection(Connection&& o) noexcept
    : nc_(std::exchange(o.nc_, nullptr)), shared_(std::move(o.shared_)) {}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    destroy();
    nc_ = std::exchange(o.nc_, nullptr);
    shared_ = std::move(o.shared_);
  }
  return *this;
}

bool Connection::connected() const {
  return nc_ != nullptr && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

ConnectionCounters Connection::counters() const {
  if (!shared_) return {};
  return {shared_->disconnects.load(std::memory_order_relaxed),
          shared_->reconnects.load(std::memory_order_relaxed)};
}

Status Connection::publish(const char* subject, std::span<const uint8_t> data) {
  natsStatus s = natsConnection_Publish(nc_, subject, data.data(), static_cast<int>(data.size()));
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsConnection_Publish");
}

Status Connection::publish(const Msg& msg) {
  natsStatus s = natsConnection_PublishMsg(nc_, msg.raw());
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsConnection_PublishMsg");
}

Result<Msg> Connection::request(const Msg& req, std::chrono::milliseconds timeout) {
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_RequestMsg(&reply, nc_, req.raw(), timeout.count());
  if (s != NATS_OK) return Status::failure(s, "natsConnection_RequestMsg");
  return Msg(reply);
}

Result<Subscription> Connection::subscribe(const char* subject, Handler handler) {
  Subscription sub;
  sub.handler_ = std::make_unique<Handler>(std::move(handler));
  natsStatus s = natsConnection_Subscribe(&sub.sub_, nc_, subject, on_message, sub.handler_.get());
  if (s != NATS_OK) return Status::failure(s, "natsConnection_Subscribe");
  return sub;
}

Status Connection::flush(std::chrono::milliseconds timeout) {
  natsStatus s = natsConnection_FlushTimeout(nc_, timeout.count());
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsConnection_FlushTimeout");
}

Status Connection::drain(std::chrono::milliseconds timeout) {
  if (nc_ == nullptr) return Status::success();
  natsStatus s = natsConnection_DrainTimeout(nc_, timeout.count());
  if (s != NATS_OK) {
    natsConnection_Close(nc_);
    return Status::failure(s, "natsConnection_DrainTimeout");
  }
  std::unique_lock lk(shared_->mu);
  if (!shared_->cv.wait_for(lk, timeout + std::chrono::milliseconds(100), [&] { return shared_->closed; })) {
    lk.unlock();
    natsConnection_Close(nc_);
    return Status::failure(NATS_TIMEOUT, "natsConnection_DrainTimeout");
  }
  return Status::success();
}

void Connection::close() {
  if (nc_ != nullptr) natsConnection_Close(nc_);
}

void Connection::destroy() noexcept {
  if (nc_ == nullptr) return;
  natsConnection_Close(nc_);
  // The closed callback is the last one nats.c delivers with our closure;
  // wait for it so `shared_` is not freed under a running callback.
  {
    std::unique_lock lk(shared_->mu);
    shared_->cv.wait_for(lk, std::chrono::seconds(2), [&] { return shared_->closed; });
  }
  natsConnection_Destroy(nc_);
  nc_ = nullptr;
  shared_.reset();
}

// ---- Subscription -------------------------------------------------------

Subscription::~Subscription() { unsubscribe(); }

Subscription::Subscription(Subscription&& o) noexcept
    : sub_(std::exchange(o.sub_, nullptr)), handler_(std::move(o.handler_)) {}

Subscription& Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    unsubscribe();
    sub_ = std::exchange(o.sub_, nullptr);
    handler_ = std::move(o.handler_);
  }
  return *this;
}

void Subscription::unsubscribe(std::chrono::milliseconds drain_timeout) {
  if (sub_ == nullptr) return;
  // Drain rather than Unsubscribe: it lets us wait until no handler call is
  // in flight before the handler object is freed.
  if (natsSubscription_DrainTimeout(sub_, drain_timeout.count()) == NATS_OK) {
    natsSubscription_WaitForDrainCompletion(sub_, drain_timeout.count() + 100);
  } else {
    natsSubscription_Unsubscribe(sub_);
  }
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
  handler_.reset();
}

}  // namespace oms::nats
