#include "oms/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <set>

namespace oms::config {

std::optional<Duration> parse_duration(std::string_view s) {
  using namespace std::chrono;
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), n);
    if (ec != std::errc{} || n < 0) return std::nullopt;
    i = static_cast<size_t>(p - s.data());
    size_t j = i;
    while (j < s.size() && s[j] >= 'a' && s[j] <= 'z') ++j;
    const std::string_view unit = s.substr(i, j - i);
    int64_t scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1'000;
    else if (unit == "ms") scale = 1'000'000;
    else if (unit == "s") scale = 1'000'000'000;
    else if (unit == "m") scale = 60'000'000'000;
    else if (unit == "h") scale = 3'600'000'000'000;
    else if (unit == "d") scale = 86'400'000'000'000;
    else return std::nullopt;
    if (n > (std::numeric_limits<int64_t>::max() - total) / scale) return std::nullopt;
    total += n * scale;
    i = j;
  }
  return Duration(total);
}

EnvLookup process_env() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

namespace {

const char* kDurationHint = "is not a duration (expected e.g. 250ms, 2s, 5m, 1h, 7d)";

std::string quoted(std::string_view v) { return "\"" + std::string(v) + "\""; }

// Reads typed values out of the YAML tree, recording (not throwing) errors
// that name the key, the offending value and what was expected.
class Reader {
 public:
  explicit Reader(std::vector<ConfigError>& errors) : errors_(errors) {}

  void error(std::string key, std::string message) {
    errors_.push_back({std::move(key), std::move(message)});
  }

  bool scalar(const YAML::Node& n, const std::string& key, std::string& out) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsScalar()) { error(key, "expected a scalar value"); return false; }
    out = n.Scalar();
    return true;
  }

  void str(const YAML::Node& n, const std::string& key, std::string& out) { scalar(n, key, out); }

  void integer(const YAML::Node& n, const std::string& key, int& out, int64_t lo, int64_t hi) {
    std::string s;
    if (!scalar(n, key, s)) return;
    set_integer(s, key, out, lo, hi);
  }

  void set_integer(const std::string& s, const std::string& key, int& out, int64_t lo, int64_t hi) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) {
      error(key, quoted(s) + " is not an integer");
      return;
    }
    if (v < lo || v > hi) {
      error(key, quoted(s) + " is out of range (expected " + std::to_string(lo) + ".." +
                     std::to_string(hi) + ")");
      return;
    }
    out = static_cast<int>(v);
  }

  void boolean(const YAML::Node& n, const std::string& key, bool& out) {
    std::string s;
    if (!scalar(n, key, s)) return;
    if (s == "true" || s == "True" || s == "yes" || s == "on") out = true;
    else if (s == "false" || s == "False" || s == "no" || s == "off") out = false;
    else error(key, quoted(s) + " is not a boolean (expected true or false)");
  }

  // min: durations must be > 0 unless allow_zero.
  void duration(const YAML::Node& n, const std::string& key, Duration& out, bool allow_zero = false) {
    std::string s;
    if (!scalar(n, key, s)) return;
    auto d = parse_duration(s);
    if (!d) { error(key, quoted(s) + " " + kDurationHint); return; }
    if (!allow_zero && d->count() == 0) { error(key, quoted(s) + " must be greater than 0"); return; }
    out = *d;
  }

  void storage(const YAML::Node& n, const std::string& key, Storage& out) {
    std::string s;
    if (!scalar(n, key, s)) return;
    set_storage(s, key, out);
  }

  void set_storage(const std::string& s, const std::string& key, Storage& out) {
    if (s == "file") out = Storage::file;
    else if (s == "memory") out = Storage::memory;
    else error(key, quoted(s) + " is not a storage type (expected file or memory)");
  }

  void set_log_level(const std::string& s, const std::string& key, LogLevel& out) {
    if (auto l = parse_log_level(s)) out = *l;
    else error(key, quoted(s) + " is not a log level (expected trace|debug|info|notice|warning|error|critical)");
  }

 private:
  std::vector<ConfigError>& errors_;
};

bool valid_nats_url(std::string_view url) {
  // Comma-separated server list; each entry nats://host[:port] or tls://...
  while (!url.empty()) {
    const size_t comma = url.find(',');
    std::string_view one = url.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    std::string_view rest;
    if (one.starts_with("nats://")) rest = one.substr(7);
    else if (one.starts_with("tls://")) rest = one.substr(6);
    else return false;
    if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
    if (rest.empty() || rest.front() == ':' || rest.front() == '/') return false;
    if (comma == std::string_view::npos) break;
    url.remove_prefix(comma + 1);
  }
  return true;
}

bool valid_stream_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '/' || c == '\\') return false;
  }
  return true;
}

std::vector<StreamConfig> default_streams() {
  return {{"ORDERS", {"orders.>"}},         {"TRADES", {"trades.>"}},
          {"POSITIONS", {"positions.>"}},   {"COMMANDS", {"cmd.>"}},
          {"DECISIONS", {"risk.>", "routing.>"}}, {"ALERTS", {"alerts.>"}},
          {"MARKETDATA", {"md.>"}, Storage::memory, 1, std::chrono::minutes(10)}};
}

void read_tree(const YAML::Node& root, const EnvLookup& env, LoadResult& out) {
  Reader r(out.errors);
  Config& c = out.config;
  if (!root.IsDefined() || root.IsNull()) {
    r.error("(root)", "file is empty (expected a mapping with at least nats.url)");
    return;
  }
  if (!root.IsMap()) { r.error("(root)", "expected a mapping at the top level"); return; }

  const YAML::Node nats = root["nats"];
  if (!nats.IsDefined() || !nats.IsMap() || !nats["url"].IsDefined()) {
    if (!env("OMS_NATS_URL")) r.error("nats.url", "is required (expected e.g. \"nats://localhost:4222\")");
  } else {
    r.str(nats["url"], "nats.url", c.nats_url);
    r.str(nats["cluster_id"], "nats.cluster_id", c.nats_cluster_id);
  }

  if (const YAML::Node st = root["storage"]; st.IsDefined() && !st.IsNull()) {
    r.str(st["data_dir"], "storage.data_dir", c.data_dir);
    r.duration(st["snapshot_interval"], "storage.snapshot_interval", c.snapshot_interval);
    r.integer(st["retention_days"], "storage.retention_days", c.retention_days, 1, 36500);
  }

  if (std::string lvl; r.scalar(root["log_level"], "log_level", lvl)) r.set_log_level(lvl, "log_level", c.log_level);

  if (const YAML::Node no = root["nats_options"]; no.IsDefined() && !no.IsNull()) {
    NatsOptions& o = c.nats_options;
    r.duration(no["connect_timeout"], "nats_options.connect_timeout", o.connect_timeout);
    r.duration(no["reconnect_wait"], "nats_options.reconnect_wait", o.reconnect_wait);
    r.duration(no["reconnect_wait_max"], "nats_options.reconnect_wait_max", o.reconnect_wait_max);
    r.integer(no["max_reconnect"], "nats_options.max_reconnect", o.max_reconnect, -1,
              std::numeric_limits<int>::max());
    r.boolean(no["send_asap"], "nats_options.send_asap", o.send_asap);
  }

  JetStreamConfig& js = c.jetstream;
  const YAML::Node jsn = root["jetstream"];
  bool have_streams = false;
  if (jsn.IsDefined() && !jsn.IsNull()) {
    r.integer(jsn["replicas"], "jetstream.replicas", js.replicas, 1, 5);
    r.storage(jsn["storage"], "jetstream.storage", js.storage);
    r.duration(jsn["duplicate_window"], "jetstream.duplicate_window", js.duplicate_window);
    const YAML::Node streams = jsn["streams"];
    if (streams.IsDefined() && !streams.IsNull()) {
      have_streams = true;
      if (!streams.IsSequence()) {
        r.error("jetstream.streams", "expected a list of { name, subjects } entries");
      } else {
        for (size_t i = 0; i < streams.size(); ++i) {
          const YAML::Node s = streams[i];
          const std::string key = "jetstream.streams[" + std::to_string(i) + "]";
          if (!s.IsMap()) { r.error(key, "expected a mapping with name and subjects"); continue; }
          StreamConfig sc;
          sc.max_age = Duration(-1);  // marker: resolved after env overrides
          sc.storage = js.storage;
          sc.replicas = js.replicas;
          sc.duplicate_window = js.duplicate_window;
          if (!r.scalar(s["name"], key + ".name", sc.name)) r.error(key + ".name", "is required");
          const YAML::Node subj = s["subjects"];
          if (!subj.IsDefined() || !subj.IsSequence() || subj.size() == 0) {
            r.error(key + ".subjects", "expected a non-empty list of subjects");
          } else {
            for (size_t k = 0; k < subj.size(); ++k) {
              std::string v;
              const std::string skey = key + ".subjects[" + std::to_string(k) + "]";
              if (r.scalar(subj[k], skey, v)) {
                if (v.empty() || v.find(' ') != std::string::npos) r.error(skey, quoted(v) + " is not a NATS subject");
                else sc.subjects.push_back(v);
              } else if (!subj[k].IsDefined() || subj[k].IsNull()) {
                r.error(skey, "is empty (expected a NATS subject)");
              }
            }
          }
          r.storage(s["storage"], key + ".storage", sc.storage);
          r.integer(s["replicas"], key + ".replicas", sc.replicas, 1, 5);
          r.duration(s["max_age"], key + ".max_age", sc.max_age, true);
          r.duration(s["duplicate_window"], key + ".duplicate_window", sc.duplicate_window);
          js.streams.push_back(std::move(sc));
        }
      }
    }
  }
  if (!have_streams) {
    for (auto& sc : default_streams()) {
      if (sc.max_age.count() == 0) sc.max_age = Duration(-1);
      if (sc.storage == Storage::file) sc.storage = js.storage;
      sc.replicas = js.replicas;
      sc.duplicate_window = js.duplicate_window;
      js.streams.push_back(std::move(sc));
    }
  }

  r.duration(root["heartbeat_interval"], "heartbeat_interval", c.heartbeat_interval);

  if (const YAML::Node svc = root["services"]; svc.IsDefined() && svc.IsMap()) {
    if (const YAML::Node me = svc["oms-core"]; me.IsDefined() && me.IsMap()) {
      r.integer(me["http_port"], "services.oms-core.http_port", c.http_port, 1, 65535);
    }
  }
  if (const YAML::Node core = root["core"]; core.IsDefined() && core.IsMap()) {
    r.integer(core["engine_cpu"], "core.engine_cpu", c.engine_cpu, -1, 4095);
    r.integer(core["idle_spin_us"], "core.idle_spin_us", c.idle_spin_us, 0, 1'000'000);
  }

  // ---- environment overrides (after the file, before semantic checks) ----
  if (const char* v = env("OMS_NATS_URL"); v && *v) c.nats_url = v;
  if (const char* v = env("OMS_LOG_LEVEL"); v && *v) r.set_log_level(v, "log_level (OMS_LOG_LEVEL)", c.log_level);
  if (const char* v = env("OMS_HTTP_PORT_OMS_CORE"); v && *v)
    r.set_integer(v, "services.oms-core.http_port (OMS_HTTP_PORT_OMS_CORE)", c.http_port, 1, 65535);
  if (const char* v = env("OMS_DATA_DIR"); v && *v) c.data_dir = v;
  if (const char* v = env("OMS_CORE_IDLE_SPIN_US"); v && *v)
    r.set_integer(v, "core.idle_spin_us (OMS_CORE_IDLE_SPIN_US)", c.idle_spin_us, 0, 1'000'000);
  if (const char* v = env("OMS_JS_REPLICAS"); v && *v) {
    int rep = js.replicas;
    r.set_integer(v, "jetstream.replicas (OMS_JS_REPLICAS)", rep, 1, 5);
    // The env var moves every stream that did not pin its own replicas.
    for (auto& s : js.streams) if (s.replicas == js.replicas) s.replicas = rep;
    js.replicas = rep;
  }

  // ---- semantic checks ----
  if (!valid_nats_url(c.nats_url)) {
    r.error(env("OMS_NATS_URL") ? "nats.url (OMS_NATS_URL)" : "nats.url",
            quoted(c.nats_url) + " is not a nats:// URL");
  }
  if (c.data_dir.empty()) r.error("storage.data_dir", "must not be empty");
  if (c.nats_options.reconnect_wait_max < c.nats_options.reconnect_wait) {
    r.error("nats_options.reconnect_wait_max", "must be >= nats_options.reconnect_wait");
  }
  const Duration retention = std::chrono::hours(24) * c.retention_days;
  std::set<std::string> names;
  for (size_t i = 0; i < js.streams.size(); ++i) {
    auto& s = js.streams[i];
    const std::string key = "jetstream.streams[" + std::to_string(i) + "]";
    if (s.max_age.count() < 0) s.max_age = retention;
    if (!s.name.empty() && !valid_stream_name(s.name)) {
      r.error(key + ".name", quoted(s.name) + " is not a valid stream name (no '.', '*', '>', spaces)");
    }
    if (!s.name.empty() && !names.insert(s.name).second) {
      r.error(key + ".name", quoted(s.name) + " is defined twice");
    }
    if (s.max_age.count() > 0 && s.duplicate_window > s.max_age) {
      r.error(key + ".duplicate_window", "must not exceed the stream's max_age");
    }
  }
}

}  // namespace

LoadResult parse_config(const std::string& yaml_text, const EnvLookup& env) {
  LoadResult out;
  try {
    read_tree(YAML::Load(yaml_text), env, out);
  } catch (const YAML::Exception& e) {
    out.errors.push_back({"(yaml)", e.what()});
  }
  return out;
}

LoadResult load_config(const std::string& path, const EnvLookup& env) {
  LoadResult out;
  out.config.source_path = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    out.errors.push_back({"(file)", quoted(path) + " cannot be read"});
    return out;
  } catch (const YAML::Exception& e) {
    out.errors.push_back({"(yaml)", path + ": " + e.what()});
    return out;
  }
  try {
    read_tree(root, env, out);
  } catch (const YAML::Exception& e) {
    out.errors.push_back({"(yaml)", path + ": " + e.what()});
  }
  return out;
}

}  // namespace oms::config
