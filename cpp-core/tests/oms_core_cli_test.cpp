// Runs the built oms-core binary: --check-config exit codes, and a full
// start → ready → heartbeat → /readyz → SIGTERM cycle against a real
// nats-server.
#include "oms/proto/codec.hpp"
#include "oms/nats/connection.hpp"
#include "oms/nats/headers.hpp"
#include "oms/nats/jetstream.hpp"
#include "oms/v1/heartbeat.pb-c.h"
#include "testing/nats_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

namespace {

using namespace std::chrono_literals;

const std::string kRepoConfig = std::string(OMS_REPO_ROOT) + "/configs/config.yaml";

struct Proc {
  pid_t pid = -1;
  int err_fd = -1;  // read end of the child's stderr
};

// Spawns oms-core with extra env vars; stderr is captured through a pipe.
Proc spawn(std::vector<std::string> args, std::vector<std::string> env_extra = {}) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  args.insert(args.begin(), OMS_CORE_BINARY);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).starts_with("OMS_")) continue;  // hermetic
    env_s.emplace_back(*e);
  }
  for (auto& e : env_extra) env_s.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  Proc p;
  if (posix_spawn(&p.pid, OMS_CORE_BINARY, &fa, nullptr, argv.data(), envp.data()) != 0) p.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  p.err_fd = pipefd[0];
  return p;
}

// Reads stderr until `needle` appears or the deadline passes.
bool read_until(int fd, std::string& acc, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (acc.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return acc.find(needle) != std::string::npos;
    acc.append(buf, static_cast<size_t>(n));
  }
  return true;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(5ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;  // timed out
}

int run_check(const std::string& config, std::string* err = nullptr) {
  Proc p = spawn({"--check-config", "--config", config});
  EXPECT_GT(p.pid, 0);
  std::string acc;
  read_until(p.err_fd, acc, "\x01never", 5s);  // drain until EOF
  ::close(p.err_fd);
  if (err) *err = acc;
  return wait_exit(p.pid, 5s);
}

// Minimal HTTP GET → status code (or -1).
int http_get(int port, const char* path, std::string* body = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) { ::close(fd); return -1; }
  std::string req = std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)::write(fd, req.data(), req.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  int code = -1;
  std::sscanf(resp.c_str(), "HTTP/1.1 %d", &code);
  if (body) {
    const size_t h = resp.find("\r\n\r\n");
    *body = h == std::string::npos ? "" : resp.substr(h + 4);
  }
  return code;
}

TEST(OmsCoreCli, Help) {
  Proc p = spawn({"--help"});
  ::close(p.err_fd);
  EXPECT_EQ(wait_exit(p.pid, 5s), 0);
}

TEST(OmsCoreCli, CheckConfigAcceptsRepoConfig) {
  std::string err;
  EXPECT_EQ(run_check(kRepoConfig, &err), 0) << err;
}

TEST(OmsCoreCli, CheckConfigRejectsBadConfigAndNamesKey) {
  char path[] = "/tmp/oms-bad-config-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string bad = "nats: { url: \"foo\" }\nheartbeat_interval: soon\n";
  ASSERT_EQ(::write(fd, bad.data(), bad.size()), static_cast<ssize_t>(bad.size()));
  ::close(fd);
  std::string err;
  const int rc = run_check(path, &err);
  ::unlink(path);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("nats.url: \"foo\" is not a nats:// URL"), std::string::npos) << err;
  EXPECT_NE(err.find("heartbeat_interval"), std::string::npos) << err;
}

// The engine's `risk:` section is validated too: every bad limit is named
// with its key, the value given and what was expected; exit status non-zero.
TEST(OmsCoreCli, CheckConfigRejectsBadRiskLimits) {
  std::ifstream in(kRepoConfig);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string yaml = ss.str();
  // Replace the whole risk: block (up to the next top-level key) with bad values.
  const std::size_t b = yaml.find("\nrisk:");
  ASSERT_NE(b, std::string::npos);
  std::size_t e = b + 1;
  while ((e = yaml.find('\n', e)) != std::string::npos && e + 1 < yaml.size() &&
         (yaml[e + 1] == ' ' || yaml[e + 1] == '#' || yaml[e + 1] == '\n'))
    ++e;
  const std::string bad_risk =
      "\nrisk:\n"
      "  reference_max_age_ms: -5\n"
      "  allow_missing_reference: maybe\n"
      "  colar: 1\n"
      "  defaults:\n"
      "    max_order_qty: \"ten\"\n"
      "    max_order_notional: \"-1000\"\n"
      "    price_collar_bps: 20000\n"
      "    max_open_orders: -1\n"
      "    orders_per_second: \"0.0001\"\n"
      "    max_leverage: 0\n"
      "  brackets:\n"
      "    BTCUSDT: [ { cap: \"50000\" } ]\n"
      "  accounts:\n"
      "    acct-1: { max_open_orders: many, max_gros_exposure: \"1\" }\n"
      "  symbols:\n"
      "    BTCUSDT: { max_position_long: \"1.123456789\" }\n";
  yaml.replace(b, e == std::string::npos ? std::string::npos : e - b, bad_risk);
  char path[] = "/tmp/oms-bad-risk-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, yaml.data(), yaml.size()), static_cast<ssize_t>(yaml.size()));
  ::close(fd);
  std::string err;
  const int rc = run_check(path, &err);
  ::unlink(path);
  EXPECT_EQ(rc, 1) << err;
  for (const char* want : {
           "risk.reference_max_age_ms: -5 is invalid: expected a positive age in milliseconds (1..86400000)",
           "risk.allow_missing_reference: \"maybe\" is invalid: expected true or false",
           "risk.colar: unknown key",
           "risk.defaults.max_order_qty: \"ten\" is invalid: expected a non-negative decimal base quantity",
           "risk.defaults.max_order_notional: \"-1000\" is invalid: expected a non-negative decimal quote amount",
           "risk.defaults.price_collar_bps: 20000 is invalid: expected basis points, 0 = collar off (0..10000)",
           "risk.defaults.max_open_orders: -1 is invalid: expected an order count (0..1000000000)",
           "risk.defaults.orders_per_second: \"0.0001\" is invalid: expected a non-negative decimal rate (orders/s) "
           "with at most 3 decimal places",
           "risk.defaults.max_leverage: 0 is invalid: expected a leverage (x) (1..1000)",
           "risk.brackets.BTCUSDT[0].max_leverage: required",
           "risk.accounts.acct-1.max_open_orders: \"many\" is invalid: expected an integer",
           "risk.accounts.acct-1.max_gros_exposure: unknown limit",
           "risk.symbols.BTCUSDT.max_position_long: \"1.123456789\" is invalid: expected a non-negative decimal "
           "base quantity with at most 8 decimal places",
       })
    EXPECT_NE(err.find(want), std::string::npos) << "missing: " << want << "\n--- stderr:\n" << err;
  // The rest of the file is fine: only risk problems are listed.
  EXPECT_EQ(err.find("nats."), std::string::npos) << err;
}

TEST(OmsCoreCli, CheckConfigMissingFileFails) {
  EXPECT_NE(run_check("/nonexistent/config.yaml"), 0);
}

TEST(OmsCoreCli, CheckConfigDoesNotConnect) {
  // Unreachable URL: --check-config must still succeed (no connection made).
  std::string err;
  Proc p = spawn({"--check-config", "--config", kRepoConfig}, {"OMS_NATS_URL=nats://192.0.2.1:4222"});
  std::string acc;
  read_until(p.err_fd, acc, "\x01never", 5s);
  ::close(p.err_fd);
  EXPECT_EQ(wait_exit(p.pid, 2s), 0) << acc;
}

TEST(OmsCoreRun, ReadyHeartbeatProbesAndGracefulShutdown) {
  if (!oms::testing::NatsServer::available(OMS_NATS_SERVER)) GTEST_SKIP() << "nats-server not installed";
  oms::testing::NatsServer server(OMS_NATS_SERVER);
  ASSERT_TRUE(server.ready());

  // Listen for heartbeats before oms-core starts.
  oms::nats::ConnectionOptions o;
  o.url = server.url();
  auto conn = oms::nats::Connection::connect(o);
  ASSERT_TRUE(conn) << conn.status().message();
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> beats;  // subject, payload
  std::string type_header;
  auto sub = conn->subscribe("hb.oms-core.>", [&](oms::nats::Msg&& m) {
    std::lock_guard lk(mu);
    beats.emplace_back(m.subject(), std::string(m.text()));
    if (const char* t = m.header(oms::nats::hdr::kType)) type_header = t;
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(conn->flush(1s));

  const int http_port = oms::testing::free_tcp_port();
  Proc p = spawn({"--config", kRepoConfig},
                 {"OMS_NATS_URL=" + server.url(), "OMS_HTTP_PORT_OMS_CORE=" + std::to_string(http_port)});
  ASSERT_GT(p.pid, 0);
  std::string log;
  ASSERT_TRUE(read_until(p.err_fd, log, "msg=\"ready\"", 10s)) << log;
  EXPECT_NE(log.find("level=info service=oms-core msg=\"ready\""), std::string::npos) << log;

  EXPECT_EQ(http_get(http_port, "/healthz"), 200);
  EXPECT_EQ(http_get(http_port, "/readyz"), 200);
  EXPECT_EQ(http_get(http_port, "/nope"), 404);
  std::string metrics;
  EXPECT_EQ(http_get(http_port, "/metrics", &metrics), 200);
  EXPECT_NE(metrics.find("oms_core_up 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("oms_core_heartbeats_total"), std::string::npos);
  EXPECT_NE(metrics.find("oms_core_nats_reconnects_total 0"), std::string::npos) << metrics;

  // Heartbeats every 1 s: wait for two.
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::lock_guard lk(mu);
      if (beats.size() >= 2) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now() - t0, 5s) << "no heartbeats";
    std::this_thread::sleep_for(20ms);
  }
  {
    std::lock_guard lk(mu);
    EXPECT_EQ(type_header, "oms.v1.Heartbeat");
    EXPECT_EQ(beats[0].first.rfind("hb.oms-core.", 0), 0u);
    EXPECT_NE(beats[0].first.find(":" + std::to_string(p.pid)), std::string::npos) << beats[0].first;
    oms::proto::Arena arena;
    const auto& payload = beats[1].second;
    auto* hb = oms::proto::decode_as<Oms__V1__Heartbeat>(
        &oms__v1__heartbeat__descriptor,
        {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}, arena);
    ASSERT_NE(hb, nullptr);
    EXPECT_STREQ(hb->service, "oms-core");
    EXPECT_EQ(hb->status, OMS__V1__SERVICE_STATUS__SERVICE_STATUS_READY);
    EXPECT_EQ(hb->sequence, 2u);
    EXPECT_EQ(hb->pid, p.pid);
    ASSERT_EQ(hb->n_details, 2u);
    EXPECT_STREQ(hb->details[0]->key, "nats");
    EXPECT_STREQ(hb->details[0]->value, "connected");
    EXPECT_STREQ(hb->details[1]->key, "jetstream");
    EXPECT_STREQ(hb->details[1]->value, "ok");
  }

  // Streams from the config exist.
  auto js = oms::nats::JetStream::create(*conn);
  ASSERT_TRUE(js);
  for (const char* s : {"ORDERS", "TRADES", "POSITIONS", "COMMANDS", "DECISIONS", "ALERTS", "MARKETDATA"}) {
    EXPECT_TRUE(js->stream_state(s)) << s;
  }

  // SIGTERM → exit 0 well under 2 s.
  const auto t_kill = std::chrono::steady_clock::now();
  ::kill(p.pid, SIGTERM);
  const int rc = wait_exit(p.pid, 2s);
  const auto took = std::chrono::steady_clock::now() - t_kill;
  read_until(p.err_fd, log, "msg=\"stopped\"", 500ms);
  ::close(p.err_fd);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_LT(took, 1500ms);
}

TEST(OmsCoreRun, NotReadyWithoutNatsAndStopsOnSigint) {
  const int http_port = oms::testing::free_tcp_port();
  const int dead_port = oms::testing::free_tcp_port();
  Proc p = spawn({"--config", kRepoConfig},
                 {"OMS_NATS_URL=nats://127.0.0.1:" + std::to_string(dead_port),
                  "OMS_HTTP_PORT_OMS_CORE=" + std::to_string(http_port)});
  std::string log;
  ASSERT_TRUE(read_until(p.err_fd, log, "nats connect failed", 10s)) << log;
  EXPECT_EQ(http_get(http_port, "/healthz"), 200);
  EXPECT_EQ(http_get(http_port, "/readyz"), 503);
  ::kill(p.pid, SIGINT);
  EXPECT_EQ(wait_exit(p.pid, 2s), 0);
  ::close(p.err_fd);
}

}  // namespace
