// RAII NATS connection (nats.c) with reconnect backoff, core publish,
// request/reply and async subscriptions.
//
// Threading: nats.c runs its own I/O, flusher and callback threads.
// Subscription handlers and connection events are invoked on those threads,
// so they must not block (no sleeping, no synchronous NATS requests).
#pragma once

#include "oms/log.hpp"
#include "oms/nats/message.hpp"
#include "oms/nats/status.hpp"

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace oms::nats {

struct ConnectionOptions {
  std::string name = "oms";                      // shows up in the server's connz
  std::string url = "nats://127.0.0.1:4222";     // comma-separated list accepted
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};      // backoff base, doubled per attempt...
  std::chrono::milliseconds reconnect_wait_max{5000};  // ...up to this cap (+ up to 10% jitter)
  int max_reconnect = -1;                         // -1: retry forever
  bool send_asap = true;   // publish without waiting for the flusher (~5x lower RTT)
  bool retry_on_failed_connect = false;  // true: connect() succeeds and connects in background
  const Logger* logger = nullptr;        // disconnected/reconnected/closed get logged here
};

struct ConnectionCounters {
  uint64_t disconnects = 0;
  uint64_t reconnects = 0;
};

class Subscription;

class Connection {
 public:
  static Result<Connection> connect(const ConnectionOptions& opts);

  Connection() = default;
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const;
  ConnectionCounters counters() const;

  // Core NATS (at-most-once) publish without headers: no natsMsg allocation.
  Status publish(const char* subject, std::span<const uint8_t> data);
  // Core NATS publish of a prepared message (with headers).
  Status publish(const Msg& msg);
  // Request/reply on core NATS. NATS_NO_RESPONDERS if nobody listens.
  Result<Msg> request(const Msg& req, std::chrono::milliseconds timeout);

  // Async subscription; `handler` runs on a nats.c thread and must not block.
  using Handler = std::function<void(Msg&&)>;
  Result<Subscription> subscribe(const char* subject, Handler handler);

  Status flush(std::chrono::milliseconds timeout);
  // Drain subscriptions and pending publishes, then close; waits up to
  // `timeout` for the closed event.
  Status drain(std::chrono::milliseconds timeout);
  // Close without draining (idempotent). Also done by the destructor.
  void close();

  natsConnection* raw() const noexcept { return nc_; }
  explicit operator bool() const noexcept { return nc_ != nullptr; }

  struct Shared;  // callback state shared with nats.c threads (connection.cpp)

 private:
  void destroy() noexcept;
  natsConnection* nc_ = nullptr;
  std::unique_ptr<Shared> shared_;
};

// Async subscription handle. Destruction drains (waits for in-flight
// handler invocations, bounded) before freeing the handler.
class Subscription {
 public:
  Subscription() = default;
  ~Subscription();
  Subscription(Subscription&&) noexcept;
  Subscription& operator=(Subscription&&) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  void unsubscribe(std::chrono::milliseconds drain_timeout = std::chrono::milliseconds(1000));
  natsSubscription* raw() const noexcept { return sub_; }

 private:
  friend class Connection;
  natsSubscription* sub_ = nullptr;
  std::unique_ptr<Connection::Handler> handler_;
};

}  // namespace oms::nats
