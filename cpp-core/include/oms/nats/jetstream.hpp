// JetStream on top of oms::nats::Connection: stream provisioning from config,
// acked publish with dedup ids, async publish, durable pull consumers.
#pragma once

#include "oms/nats/connection.hpp"
#include "oms/nats/message.hpp"
#include "oms/nats/status.hpp"

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oms::nats {

enum class StorageType { file, memory };

// Desired state of one stream (built from config.yaml's jetstream section).
struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  StorageType storage = StorageType::file;
  int replicas = 1;
  std::chrono::nanoseconds max_age{0};            // 0: unlimited
  std::chrono::nanoseconds duplicate_window{std::chrono::minutes(2)};
};

enum class EnsureOutcome { created, updated, unchanged };
const char* to_string(EnsureOutcome o);

struct StreamState {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  int64_t consumers = 0;
};

struct PubAck {
  uint64_t stream_seq = 0;
  bool duplicate = false;   // server already had this Nats-Msg-Id in its window
};

// A durable pull consumer with explicit acks.
struct PullConsumerSpec {
  std::string stream;           // bind to this stream
  std::string durable;          // durable name (no '.')
  std::string filter_subject;   // subject to consume (must be in the stream)
  std::chrono::milliseconds ack_wait{30000};  // redeliver if not acked within
  int64_t max_deliver = -1;                   // -1: unlimited redeliveries
  int64_t max_ack_pending = 0;                // 0: server default
};

class PullConsumer {
 public:
  PullConsumer() = default;
  ~PullConsumer();
  PullConsumer(PullConsumer&& o) noexcept : sub_(std::exchange(o.sub_, nullptr)) {}
  PullConsumer& operator=(PullConsumer&& o) noexcept;
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Appends up to `batch` messages to `out` (reuse the vector to avoid
  // reallocation). NATS_TIMEOUT when nothing arrived within `timeout`.
  Status fetch(std::vector<Msg>& out, int batch, std::chrono::milliseconds timeout);

  // Stops consuming. The durable consumer stays on the server (a restart
  // resumes where it left off) unless delete_consumer is true.
  void close(bool delete_consumer = false);

  // Takes ownership of a subscription created directly with nats.c (e.g.
  // bound to a consumer made by js_AddConsumer with a start sequence).
  static PullConsumer adopt(natsSubscription* sub) noexcept {
    PullConsumer pc;
    pc.sub_ = sub;
    return pc;
  }

 private:
  friend class JetStream;
  natsSubscription* sub_ = nullptr;
};

class JetStream {
 public:
  struct Options {
    std::chrono::milliseconds api_wait{5000};  // timeout of JetStream API calls / sync publish
    int64_t max_pending_async = 4000;          // async publishes in flight before stalling
  };

  static Result<JetStream> create(Connection& conn, const Options& opts);
  static Result<JetStream> create(Connection& conn) { return create(conn, Options{}); }

  JetStream() = default;
  ~JetStream();
  JetStream(JetStream&&) noexcept;
  JetStream& operator=(JetStream&&) noexcept;
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  // Adds the stream, or updates it when the server's config differs.
  Result<EnsureOutcome> ensure_stream(const StreamSpec& spec);
  Result<StreamState> stream_state(const char* stream);
  Status delete_stream(const char* stream);
  // Cheap round trip to the JetStream API (readiness probe).
  Status ping(std::chrono::milliseconds timeout);

  // Publish and wait for the stream's ack. Set OmsHeaders::msg_id for dedup.
  Result<PubAck> publish(const Msg& msg);
  // Publish without waiting; takes ownership of msg on success. Failures
  // reported by the server later are counted in async_errors().
  Status publish_async(Msg&& msg);
  // Wait until every async publish was acked (or timeout).
  Status publish_async_complete(std::chrono::milliseconds timeout);
  uint64_t async_errors() const;

  Result<PullConsumer> pull_subscribe(const PullConsumerSpec& spec);

  jsCtx* raw() const noexcept { return js_; }

 private:
  struct AsyncState { std::atomic<uint64_t> errors{0}; };
  void destroy() noexcept;
  jsCtx* js_ = nullptr;
  std::unique_ptr<AsyncState> async_;
};

}  // namespace oms::nats
