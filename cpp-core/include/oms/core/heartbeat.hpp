// Publishes oms.v1.Heartbeat on core NATS subject hb.<service>.<instance>
// every interval from its own thread.
#pragma once

#include "oms/core/metrics.hpp"
#include "oms/nats/connection.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace oms::core {

struct HeartbeatHealth {
  bool nats_connected = false;
  bool jetstream_ok = false;
  bool engine_ok = true;
};

struct HeartbeatOptions {
  std::string service = "oms-core";
  std::string instance;       // hostname:pid, sanitised for use as a subject token
  std::string version;
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
};

// "hb.oms-core.<instance>"
std::string heartbeat_subject(const std::string& service, const std::string& instance);
// hostname:pid with subject-unsafe characters ('.', '*', '>', whitespace) replaced by '_'.
std::string default_instance_id();

class HeartbeatPublisher {
 public:
  // Called on the heartbeat thread before each beat (may do a JetStream ping).
  using HealthProbe = std::function<HeartbeatHealth()>;

  HeartbeatPublisher() = default;
  ~HeartbeatPublisher() { stop(); }
  HeartbeatPublisher(const HeartbeatPublisher&) = delete;
  HeartbeatPublisher& operator=(const HeartbeatPublisher&) = delete;

  void start(nats::Connection& conn, HeartbeatOptions opts, CoreMetrics& metrics, HealthProbe probe);
  void stop();

 private:
  void run();

  nats::Connection* conn_ = nullptr;
  CoreMetrics* metrics_ = nullptr;
  HeartbeatOptions opts_;
  HealthProbe probe_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace oms::core
