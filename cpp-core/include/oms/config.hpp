// oms-core's view of configs/config.yaml (the schema shared with the Swift
// services). Only the keys oms-core needs are read; unknown keys are
// ignored so every service can load the same file.
#pragma once

#include "oms/log.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oms::config {

using Duration = std::chrono::nanoseconds;

// "250ms", "2s", "5m", "1h", "7d", also compound "1h30m"; units ns, us, ms,
// s, m, h, d. Integers only. nullopt if malformed.
std::optional<Duration> parse_duration(std::string_view text);

enum class Storage { file, memory };

struct NatsOptions {
  Duration connect_timeout = std::chrono::seconds(2);
  Duration reconnect_wait = std::chrono::milliseconds(250);   // backoff base
  Duration reconnect_wait_max = std::chrono::seconds(5);      // backoff cap
  int max_reconnect = -1;                                      // -1: forever
  bool send_asap = true;
};

// One stream with the jetstream-level defaults already applied.
struct StreamConfig {
  std::string name;
  std::vector<std::string> subjects;
  Storage storage = Storage::file;
  int replicas = 1;
  Duration max_age{0};            // storage.retention_days unless the entry sets max_age
  Duration duplicate_window = std::chrono::minutes(2);
};

struct JetStreamConfig {
  int replicas = 1;
  Storage storage = Storage::file;
  Duration duplicate_window = std::chrono::minutes(2);
  std::vector<StreamConfig> streams;
};

struct Config {
  std::string nats_url = "nats://localhost:4222";
  std::string nats_cluster_id;
  std::string data_dir = "./data";
  Duration snapshot_interval = std::chrono::hours(1);
  int retention_days = 30;
  LogLevel log_level = LogLevel::info;
  NatsOptions nats_options;
  JetStreamConfig jetstream;
  Duration heartbeat_interval = std::chrono::seconds(1);
  int http_port = 9102;           // services.oms-core.http_port
  int engine_cpu = -1;            // core.engine_cpu; -1: no pinning
  // core.idle_spin_us (env OMS_CORE_IDLE_SPIN_US): how long the engine and
  // publisher threads keep polling their rings after the last item before
  // parking on a futex. A parked thread costs a futex wake (tens of us on a
  // loaded machine) on the next message; spinning costs a core while idle.
  // 0 (default): ~256 polls, then park - on a 2-core machine shared with
  // nats-server a spinning thread starves the server (measured: 2 ms spin
  // tripled e2e p50). Raise it where the engine has cores of its own.
  int idle_spin_us = 0;
  // File this config came from (load_config); oms-core re-reads its
  // `risk:` / `instruments:` sections from it on reload. Empty for parse_config.
  std::string source_path;
};

// One problem, e.g. key "nats.url", message `"foo" is not a nats:// URL`.
struct ConfigError {
  std::string key;
  std::string message;
  std::string to_string() const { return key + ": " + message; }
};

struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Environment lookup, injectable for tests. Returns nullptr if unset.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup process_env();

// Reads, applies env overrides (OMS_NATS_URL, OMS_LOG_LEVEL,
// OMS_HTTP_PORT_OMS_CORE, OMS_DATA_DIR, OMS_JS_REPLICAS) and validates.
// Never throws; all problems are returned together.
LoadResult load_config(const std::string& path, const EnvLookup& env = process_env());
LoadResult parse_config(const std::string& yaml_text, const EnvLookup& env = process_env());

}  // namespace oms::config
