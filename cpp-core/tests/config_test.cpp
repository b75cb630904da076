#include "oms/config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using namespace std::chrono;
using oms::config::Duration;
using oms::config::parse_config;
using oms::config::parse_duration;

const std::string kRepoConfig = std::string(OMS_REPO_ROOT) + "/configs/config.yaml";

// Deterministic environment for tests (the real one may set OMS_*).
oms::config::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* k) -> const char* {
    auto it = vars.find(k);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

bool has_error(const oms::config::LoadResult& r, const std::string& key, const std::string& fragment = "") {
  for (const auto& e : r.errors) {
    if (e.key == key && e.to_string().find(fragment) != std::string::npos) return true;
  }
  return false;
}

std::string dump(const oms::config::LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("250ms"), Duration(milliseconds(250)));
  EXPECT_EQ(parse_duration("2s"), Duration(seconds(2)));
  EXPECT_EQ(parse_duration("5m"), Duration(minutes(5)));
  EXPECT_EQ(parse_duration("1h"), Duration(hours(1)));
  EXPECT_EQ(parse_duration("7d"), Duration(hours(24 * 7)));
  EXPECT_EQ(parse_duration("10us"), Duration(microseconds(10)));
  EXPECT_EQ(parse_duration("15ns"), Duration(15));
  EXPECT_EQ(parse_duration("1h30m"), Duration(minutes(90)));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "5", "ms", "2 s", "-1s", "1.5s", "3w", "1sm", "99999999999999999999d"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Config, RepoConfigLoadsAsIs) {
  const auto r = oms::config::load_config(kRepoConfig, env_of({}));
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& c = r.config;
  EXPECT_EQ(c.nats_url, "nats://localhost:4222");
  EXPECT_EQ(c.http_port, 9102);
  EXPECT_EQ(c.heartbeat_interval, Duration(seconds(1)));
  EXPECT_EQ(c.nats_options.reconnect_wait, Duration(milliseconds(250)));
  EXPECT_EQ(c.nats_options.max_reconnect, -1);
  EXPECT_TRUE(c.nats_options.send_asap);
  EXPECT_EQ(c.engine_cpu, -1);
  EXPECT_EQ(c.idle_spin_us, 0);
  EXPECT_EQ(c.log_level, oms::LogLevel::info);
  ASSERT_EQ(c.jetstream.streams.size(), 7u);
  const auto& orders = c.jetstream.streams[0];
  EXPECT_EQ(orders.name, "ORDERS");
  EXPECT_EQ(orders.subjects, std::vector<std::string>{"orders.>"});
  EXPECT_EQ(orders.storage, oms::config::Storage::file);
  EXPECT_EQ(orders.max_age, Duration(hours(24 * 30)));  // storage.retention_days
  EXPECT_EQ(orders.duplicate_window, Duration(minutes(2)));
  const auto& md = c.jetstream.streams[6];
  EXPECT_EQ(md.name, "MARKETDATA");
  EXPECT_EQ(md.storage, oms::config::Storage::memory);
  EXPECT_EQ(md.max_age, Duration(minutes(10)));
  EXPECT_EQ(c.jetstream.streams[4].subjects.size(), 2u);
}

TEST(Config, MinimalSeedBlockGetsDefaults) {
  const auto r = parse_config("nats: { url: \"nats://h:4222\" }\nstorage: { retention_days: 2 }\n", env_of({}));
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config.jetstream.streams.size(), 7u);
  EXPECT_EQ(r.config.jetstream.streams[0].max_age, Duration(hours(48)));
  EXPECT_EQ(r.config.jetstream.streams[6].max_age, Duration(minutes(10)));
  EXPECT_EQ(r.config.http_port, 9102);
}

TEST(Config, BadUrlNamesKeyValueAndExpectation) {
  const auto r = parse_config("nats: { url: \"foo\" }\n", env_of({}));
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(has_error(r, "nats.url")) << dump(r);
  EXPECT_NE(dump(r).find("nats.url: \"foo\" is not a nats:// URL"), std::string::npos) << dump(r);
}

TEST(Config, BadValuesNameTheirKeys) {
  const auto r = parse_config(R"(
nats: { url: "nats://localhost:4222" }
log_level: loud
nats_options: { reconnect_wait: "fast", send_asap: maybe, max_reconnect: -7 }
jetstream:
  storage: tape
  streams:
    - { name: "BAD.NAME", subjects: ["x.>"] }
    - { name: OK, subjects: [] }
heartbeat_interval: 0s
services: { oms-core: { http_port: 70000 } }
core: { engine_cpu: abc, idle_spin_us: -5 }
unknown_key: { whatever: 1 }
)", env_of({}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "log_level", "\"loud\"")) << dump(r);
  EXPECT_TRUE(has_error(r, "nats_options.reconnect_wait", "\"fast\" is not a duration")) << dump(r);
  EXPECT_TRUE(has_error(r, "nats_options.send_asap", "\"maybe\"")) << dump(r);
  EXPECT_TRUE(has_error(r, "nats_options.max_reconnect", "out of range")) << dump(r);
  EXPECT_TRUE(has_error(r, "jetstream.storage", "\"tape\"")) << dump(r);
  EXPECT_TRUE(has_error(r, "jetstream.streams[0].name", "BAD.NAME")) << dump(r);
  EXPECT_TRUE(has_error(r, "jetstream.streams[1].subjects")) << dump(r);
  EXPECT_TRUE(has_error(r, "heartbeat_interval", "greater than 0")) << dump(r);
  EXPECT_TRUE(has_error(r, "services.oms-core.http_port", "\"70000\" is out of range")) << dump(r);
  EXPECT_TRUE(has_error(r, "core.engine_cpu", "\"abc\" is not an integer")) << dump(r);
  EXPECT_TRUE(has_error(r, "core.idle_spin_us", "\"-5\" is out of range")) << dump(r);
  for (const auto& e : r.errors) EXPECT_EQ(e.key.find("unknown_key"), std::string::npos);
}

TEST(Config, EnvOverrides) {
  const auto r = oms::config::load_config(
      kRepoConfig, env_of({{"OMS_NATS_URL", "nats://10.0.0.1:4333"},
                           {"OMS_LOG_LEVEL", "debug"},
                           {"OMS_HTTP_PORT_OMS_CORE", "19102"},
                           {"OMS_CORE_IDLE_SPIN_US", "250"}}));
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config.idle_spin_us, 250);
  EXPECT_EQ(r.config.nats_url, "nats://10.0.0.1:4333");
  EXPECT_EQ(r.config.log_level, oms::LogLevel::debug);
  EXPECT_EQ(r.config.http_port, 19102);
}

TEST(Config, BadEnvOverrideNamesVariable) {
  const auto r = oms::config::load_config(kRepoConfig, env_of({{"OMS_HTTP_PORT_OMS_CORE", "http"},
                                                                {"OMS_NATS_URL", "localhost"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "services.oms-core.http_port (OMS_HTTP_PORT_OMS_CORE)", "\"http\"")) << dump(r);
  EXPECT_TRUE(has_error(r, "nats.url (OMS_NATS_URL)", "\"localhost\" is not a nats:// URL")) << dump(r);
}

TEST(Config, MissingFileAndBrokenYaml) {
  const auto missing = oms::config::load_config("/nonexistent/oms.yaml", env_of({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.errors[0].key, "(file)");
  const auto broken = parse_config("nats: [unclosed\n", env_of({}));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.errors[0].key, "(yaml)");
}

TEST(Config, DuplicateWindowMustFitMaxAge) {
  const auto r = parse_config(R"(
nats: { url: "nats://localhost:4222" }
jetstream:
  streams:
    - { name: MD, subjects: ["md.>"], max_age: "1m", duplicate_window: "2m" }
)", env_of({}));
  EXPECT_TRUE(has_error(r, "jetstream.streams[0].duplicate_window")) << dump(r);
}

}  // namespace
