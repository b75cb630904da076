// End to end through the real oms-core binary and a real nats-server:
// commands in on cmd.risk.*, decisions out on risk.decisions.*, accepted
// commands on cmd.route.*, rejected orders as orders.* REJECTED with a reason
// code; kill -9 in the middle of the stream, restart, and the exact decision
// set is checked (one per command, none lost, none duplicated, and equal to
// what an in-process Engine with the same config decides). Also: limits
// reload on SIGHUP, and metrics.
#include "oms/core/risk_config.hpp"
#include "oms/engine/codec.hpp"
#include "oms/engine/engine.hpp"
#include "oms/nats/connection.hpp"
#include "oms/nats/headers.hpp"
#include "oms/nats/jetstream.hpp"
#include "oms/v1/orders.pb-c.h"
#include "oms/v1/positions.pb-c.h"
#include "oms/v1/risk.pb-c.h"
#include "testing/nats_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using oms::nats::Msg;
using oms::nats::OmsHeaders;
namespace eng = oms::engine;

const std::string kRepoConfig = std::string(OMS_REPO_ROOT) + "/configs/config.yaml";
constexpr std::int64_t T0 = 1'700'000'000'000'000'000LL;

struct Proc {
  pid_t pid = -1;
  int err_fd = -1;
};

Proc spawn_core(const std::string& config, const std::vector<std::string>& env_extra) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {OMS_CORE_BINARY, "--config", config};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).starts_with("OMS_")) continue;
    env_s.emplace_back(*e);
  }
  for (const auto& e : env_extra) env_s.push_back(e);
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

bool read_until(int fd, std::string& acc, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (acc.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
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
  return -1;
}

int http_get(int port, const char* path, std::string* body = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string req = std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
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

// Command i: even -> valid small order (accepted), every 4th odd -> over
// BTCUSDT max_order_qty 5 (MAX_ORDER_QTY), other odd -> off-tick price
// (TICK_SIZE). 40 accounts keep open-order/rate limits out of the way.
eng::OrderCommandMsg command(int i) {
  eng::OrderCommandMsg c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "cmd-%05d", i);
  c.command_id.assign(buf);
  c.kind = eng::CommandKind::NewOrder;
  auto& n = c.new_order;
  std::snprintf(buf, sizeof buf, "ord-%05d", i);
  n.order_id.assign(buf);
  std::snprintf(buf, sizeof buf, "cl-%05d", i);
  n.client_order_id.assign(buf);
  std::snprintf(buf, sizeof buf, "acct-%02d", i % 40);
  n.account.assign(buf);
  n.instrument.exchange.assign("binance");
  n.instrument.market.assign("spot");
  n.instrument.symbol.assign("BTCUSDT");
  n.side = i % 3 ? eng::Side::Buy : eng::Side::Sell;
  n.type = eng::OrderType::Limit;
  n.time_in_force = 1;
  n.quantity = eng::Decimal{i % 4 == 1 ? 1000000 : 100, 5};             // 10 or 0.001 BTC
  n.price = eng::Decimal{i % 4 == 3 ? 65000005 : 650000, i % 4 == 3 ? 3 : 1};  // 65000.005 (off tick) or 65000.0
  n.has_price = true;
  n.ts_ns = T0 + static_cast<std::int64_t>(i) * 50'000'000;  // 20/s over all accounts
  return c;
}

class EnginePipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!oms::testing::NatsServer::available(OMS_NATS_SERVER)) GTEST_SKIP() << "nats-server not installed";
    server_ = std::make_unique<oms::testing::NatsServer>(OMS_NATS_SERVER);
    ASSERT_TRUE(server_->ready());
    char dir[] = "/tmp/oms-core-pipeline-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    data_dir_ = dir;
    config_ = data_dir_ + "/config.yaml";
    std::filesystem::copy_file(kRepoConfig, config_);
    http_port_ = oms::testing::free_tcp_port();
    oms::nats::ConnectionOptions o;
    o.url = server_->url();
    auto c = oms::nats::Connection::connect(o);
    ASSERT_TRUE(c);
    conn_ = std::make_unique<oms::nats::Connection>(std::move(*c));
  }
  void TearDown() override {
    if (core_.pid > 0) {
      ::kill(core_.pid, SIGKILL);
      wait_exit(core_.pid, 2s);
    }
    if (core_.err_fd >= 0) ::close(core_.err_fd);
    js_.reset();
    conn_.reset();
    server_.reset();
    if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_);
  }

  void start_core(const char* wait_for = "msg=\"engine ready\"") {
    if (core_.err_fd >= 0) ::close(core_.err_fd);
    log_.clear();
    std::vector<std::string> env = {"OMS_NATS_URL=" + server_->url(),
                                    "OMS_HTTP_PORT_OMS_CORE=" + std::to_string(http_port_),
                                    "OMS_DATA_DIR=" + data_dir_ + "/data"};
    env.insert(env.end(), extra_env_.begin(), extra_env_.end());
    core_ = spawn_core(config_, env);
    ASSERT_GT(core_.pid, 0);
    ASSERT_TRUE(read_until(core_.err_fd, log_, wait_for, 20s)) << log_;
    ASSERT_TRUE(read_until(core_.err_fd, log_, "msg=\"ready\"", 20s)) << log_;  // service-level ready
    if (!js_) {
      auto js = oms::nats::JetStream::create(*conn_);
      ASSERT_TRUE(js);
      js_ = std::make_unique<oms::nats::JetStream>(std::move(*js));
    }
  }

  void publish_command(int i) {
    eng::Codec codec;
    std::uint8_t buf[1024];
    const auto c = command(i);
    const std::size_t n = codec.encode_command(c, buf, sizeof buf);
    OmsHeaders h;
    h.msg_id = c.command_id.c_str();
    h.id = c.command_id.c_str();
    h.type = "oms.v1.OrderCommand";
    h.producer = "oms-server";
    const std::string trace = "trace-" + std::to_string(i);
    h.trace_id = trace.c_str();
    auto m = Msg::create("cmd.risk.binance.spot.BTCUSDT", {buf, n}, h);
    ASSERT_TRUE(m);
    ASSERT_TRUE(js_->publish_async(std::move(*m)));
  }

  // `data` on `subject` with the OMS headers (the id doubles as Nats-Msg-Id), acked by JetStream.
  void publish_acked(const char* subject, const char* type, const char* producer, const std::string& id,
                     const std::uint8_t* data, std::size_t len) {
    OmsHeaders h;
    h.msg_id = id.c_str();
    h.id = id.c_str();
    h.type = type;
    h.producer = producer;
    auto m = Msg::create(subject, {data, len}, h);
    ASSERT_TRUE(m);
    ASSERT_TRUE(js_->publish_async(std::move(*m)));
    ASSERT_TRUE(js_->publish_async_complete(5s));
  }

  // All messages on `filter` in `stream` (ephemeral consumer from seq 1).
  std::vector<Msg> read_all(const char* stream, const char* filter) {
    std::vector<Msg> out;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription* sub = nullptr;
    jsErrCode jerr{};
    if (js_PullSubscribe(&sub, js_->raw(), filter, nullptr, nullptr, &so, &jerr) != NATS_OK) return out;
    auto pc = oms::nats::PullConsumer::adopt(sub);
    for (;;) {
      const std::size_t before = out.size();
      auto st = pc.fetch(out, 1024, 300ms);
      if (out.size() == before) break;
      (void)st;
    }
    pc.close(true);
    return out;
  }

  std::size_t count_subject(const char* stream, const char* filter) { return read_all(stream, filter).size(); }

  std::unique_ptr<oms::testing::NatsServer> server_;
  std::unique_ptr<oms::nats::Connection> conn_;
  std::unique_ptr<oms::nats::JetStream> js_;
  std::string data_dir_, config_, log_;
  std::vector<std::string> extra_env_;
  void kill_nine_mid_stream_exact_decision_set();
  int http_port_ = 0;
  Proc core_;
};

TEST_F(EnginePipeline, KillNineMidStreamRestartExactDecisionSet) { kill_nine_mid_stream_exact_decision_set(); }

// Snapshots every 50 events and a slow publisher: snapshots are taken while
// outputs of the inputs they reflect are still unpublished (they do not wait
// for the publisher).
// After kill -9 the command consumer restarts at its ack floor, below the
// snapshot, and the stored decisions are re-emitted: still exactly once.
TEST_F(EnginePipeline, KillNineWithSnapshotsAheadOfPublisherExactDecisionSet) {
  extra_env_ = {"OMS_CORE_SNAPSHOT_EVERY_EVENTS=50", "OMS_CORE_TEST_PUBLISH_DELAY_MS=20"};
  kill_nine_mid_stream_exact_decision_set();
}

void EnginePipeline::kill_nine_mid_stream_exact_decision_set() {
  constexpr int kN = 3000;
  start_core();
  EXPECT_EQ(http_get(http_port_, "/readyz"), 200);

  // Expected decisions: the same engine, same config, in-process.
  auto settings = oms::core::load_risk_settings(config_);
  ASSERT_TRUE(settings.ok());
  auto ref = std::make_unique<eng::Engine>();
  ASSERT_TRUE(ref->load_limits(settings.risk));
  for (const auto& s : settings.instruments) ref->upsert_instrument(s);
  std::map<std::string, std::pair<int, int>> expected;  // command_id -> (result, reason)
  auto out = std::make_unique<eng::OutputBuffer>();
  for (int i = 0; i < kN; ++i) {
    auto c = command(i);
    c.sequence = static_cast<std::uint64_t>(i + 1);
    out->clear();
    ref->handle(c, *out);
    ASSERT_GE(out->count, 1u);
    expected[c.command_id.c_str()] = {static_cast<int>(out->items[0].decision.result),
                                      static_cast<int>(out->items[0].decision.reason)};
  }
  std::size_t n_acc = 0;
  for (auto& [k, v] : expected) n_acc += v.first == 1;
  ASSERT_GT(n_acc, 0u);
  ASSERT_LT(n_acc, static_cast<std::size_t>(kN));

  // Phase 1: everything in a burst; kill -9 while oms-core is mid-stream.
  for (int i = 0; i < kN; ++i) publish_command(i);
  ASSERT_TRUE(js_->publish_async_complete(10s));
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    auto st = js_->stream_state("DECISIONS");
    if (st && st->msgs >= kN / 4) break;
    ASSERT_LT(std::chrono::steady_clock::now() - t0, 20s) << log_;
    std::this_thread::sleep_for(1ms);
  }
  // Snapshot variant: kill only once a snapshot is on disk (the writer may
  // still be persisting the first one).
  while (!extra_env_.empty() && !std::filesystem::exists(data_dir_ + "/data/core/engine.snap")) {
    ASSERT_LT(std::chrono::steady_clock::now() - t0, 20s) << log_;
    std::this_thread::sleep_for(1ms);
  }
  ::kill(core_.pid, SIGKILL);
  EXPECT_EQ(wait_exit(core_.pid, 5s), 128 + SIGKILL);
  core_.pid = -1;
  const auto at_kill = js_->stream_state("DECISIONS");
  ASSERT_TRUE(at_kill);
  std::printf("killed -9 with %llu/%d decisions published\n", static_cast<unsigned long long>(at_kill->msgs), kN);

  // Phase 2: restart; replay; everything decided exactly once.
  start_core();
  if (!extra_env_.empty()) EXPECT_NE(log_.find("snapshot restored"), std::string::npos) << log_;
  for (const char* what : {"snapshot restored", "source=commands"}) {
    const std::size_t p = log_.find(what);
    if (p != std::string::npos) {
      const std::size_t b = log_.rfind('\n', p), e = log_.find('\n', p);
      std::printf("restart: %s\n", log_.substr(b == std::string::npos ? 0 : b + 1, e - (b == std::string::npos ? 0 : b + 1)).c_str());
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  for (;;) {
    auto st = js_->stream_state("DECISIONS");
    if (st && st->msgs >= kN) break;
    ASSERT_LT(std::chrono::steady_clock::now() - t1, 30s) << "decisions: " << (st ? st->msgs : 0) << "\n" << log_;
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(500ms);  // anything extra (a duplicate) would show up now

  auto decisions = read_all("DECISIONS", "risk.decisions.>");
  ASSERT_EQ(decisions.size(), static_cast<std::size_t>(kN));
  std::map<std::string, int> seen;
  std::size_t traced = 0;
  for (auto& m : decisions) {
    EXPECT_STREQ(m.subject(), "risk.decisions.binance.spot.BTCUSDT");
    EXPECT_STREQ(m.header("Oms-Type"), "oms.v1.RiskDecision");
    EXPECT_STREQ(m.header("Oms-Producer"), "oms-core");
    ASSERT_NE(m.header("Nats-Msg-Id"), nullptr);
    if (m.header("Oms-Trace-Id")) ++traced;
    auto d = m.data();
    auto* rd = oms__v1__risk_decision__unpack(nullptr, d.size(), d.data());
    ASSERT_NE(rd, nullptr);
    ++seen[rd->command_id];
    auto it = expected.find(rd->command_id);
    ASSERT_NE(it, expected.end()) << rd->command_id;
    EXPECT_EQ(static_cast<int>(rd->result), it->second.first) << rd->command_id;
    EXPECT_EQ(static_cast<int>(rd->reason_code), it->second.second) << rd->command_id;
    EXPECT_EQ(std::string(m.header("Nats-Msg-Id")), std::string(rd->command_id) + ":decision");
    oms__v1__risk_decision__free_unpacked(rd, nullptr);
  }
  EXPECT_EQ(traced, static_cast<std::size_t>(kN));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kN));
  for (auto& [k, v] : seen) EXPECT_EQ(v, 1) << k;

  // Accepted -> exactly one cmd.route each; rejected -> one orders.* REJECTED with the reason.
  auto routes = read_all("COMMANDS", "cmd.route.>");
  EXPECT_EQ(routes.size(), n_acc);
  std::map<std::string, int> routed;
  for (auto& m : routes) {
    auto d = m.data();
    auto* oc = oms__v1__order_command__unpack(nullptr, d.size(), d.data());
    ASSERT_NE(oc, nullptr);
    ++routed[oc->command_id];
    EXPECT_EQ(expected[oc->command_id].first, 1) << oc->command_id;
    EXPECT_STREQ(m.subject(), "cmd.route.binance.spot.BTCUSDT");
    oms__v1__order_command__free_unpacked(oc, nullptr);
  }
  for (auto& [k, v] : routed) EXPECT_EQ(v, 1) << k;
  auto rejects = read_all("ORDERS", "orders.>");
  EXPECT_EQ(rejects.size(), kN - n_acc);
  for (auto& m : rejects) {
    auto d = m.data();
    auto* ev = oms__v1__order_event__unpack(nullptr, d.size(), d.data());
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->event_type, OMS__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_REJECTED);
    ASSERT_NE(ev->order, nullptr);
    const std::string cmd_id = std::string(ev->event_id).substr(0, std::string(ev->event_id).size() - 4);
    EXPECT_EQ(static_cast<int>(ev->reason_code), expected[cmd_id].second) << ev->event_id;
    EXPECT_NE(ev->reason_code, 0);
    EXPECT_STREQ(m.header("Oms-Producer"), "oms-core");
    oms__v1__order_event__free_unpacked(ev, nullptr);
  }

  // Metrics exist and the replay time is reported.
  std::string metrics;
  ASSERT_EQ(http_get(http_port_, "/metrics", &metrics), 200);
  EXPECT_NE(metrics.find("oms_core_decisions_total{result=\"accepted\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("oms_core_check_latency_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.find("oms_core_ring_depth{ring=\"out\""), std::string::npos);
  EXPECT_NE(metrics.find("oms_core_replay_seconds"), std::string::npos);

  // Graceful stop writes a final snapshot; the next start replays nothing.
  ::kill(core_.pid, SIGTERM);
  EXPECT_EQ(wait_exit(core_.pid, 5s), 0);
  core_.pid = -1;
  start_core();
  EXPECT_NE(log_.find("snapshot restored"), std::string::npos) << log_;
  EXPECT_NE(log_.find("replayed_events=0"), std::string::npos) << log_;
  auto again = js_->stream_state("DECISIONS");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->msgs, static_cast<std::uint64_t>(kN));
}

TEST_F(EnginePipeline, SighupReloadsLimits) {
  start_core();
  // Order 0 (0.001 BTC) is accepted under the repo limits...
  publish_command(0);
  ASSERT_TRUE(js_->publish_async_complete(5s));
  auto wait_decisions = [&](std::uint64_t n) {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      auto st = js_->stream_state("DECISIONS");
      if (st && st->msgs >= n) return true;
      if (std::chrono::steady_clock::now() - t0 > 10s) return false;
      std::this_thread::sleep_for(5ms);
    }
  };
  ASSERT_TRUE(wait_decisions(1)) << log_;
  // ...then BTCUSDT max_order_qty drops to 0.0001 and a reload is signalled.
  {
    std::ifstream in(config_);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const std::string from = "BTCUSDT: { max_order_qty: \"5\"";
    const auto pos = text.find(from);
    ASSERT_NE(pos, std::string::npos);
    text.replace(pos, from.size(), "BTCUSDT: { max_order_qty: \"0.0001\"");
    std::ofstream(config_) << text;
  }
  ::kill(core_.pid, SIGHUP);
  ASSERT_TRUE(read_until(core_.err_fd, log_, "risk limits reloaded", 5s)) << log_;
  publish_command(2);  // same size as order 0
  ASSERT_TRUE(js_->publish_async_complete(5s));
  ASSERT_TRUE(wait_decisions(2)) << log_;
  auto decisions = read_all("DECISIONS", "risk.decisions.>");
  ASSERT_EQ(decisions.size(), 2u);
  auto d = decisions[1].data();
  auto* rd = oms__v1__risk_decision__unpack(nullptr, d.size(), d.data());
  ASSERT_NE(rd, nullptr);
  EXPECT_STREQ(rd->command_id, "cmd-00002");
  EXPECT_EQ(rd->result, OMS__V1__RISK_DECISION_RESULT__RISK_DECISION_RESULT_REJECTED);
  EXPECT_EQ(static_cast<int>(rd->reason_code), static_cast<int>(eng::RejectReason::MaxOrderQty));
  oms__v1__risk_decision__free_unpacked(rd, nullptr);
}

// Futures end to end (docs/futures.md "Risk in oms-core"), with the repo
// config (binance.futures.BTCUSDT max_leverage 20; margin ratio warning 0.5,
// critical 0.8): a position update on positions.binance.futures raising the
// leverage to 25x makes the next order a MAX_LEVERAGE reject (decision and
// orders.* REJECTED carry code and text); a margin ratio of 0.85 raises one
// CRITICAL oms.v1.Alert on alerts.binance.futures.<account>, not one per update.
TEST_F(EnginePipeline, FuturesLeverageRejectAndMarginAlert) {
  start_core();
  int n_update = 0;
  auto publish_update = [&](std::int32_t leverage, std::int64_t ratio_8dp) {
    Oms__V1__InstrumentId id = OMS__V1__INSTRUMENT_ID__INIT;
    id.exchange = const_cast<char*>("binance");
    id.market = const_cast<char*>("futures");
    id.symbol = const_cast<char*>("BTCUSDT");
    Oms__V1__Decimal qty = OMS__V1__DECIMAL__INIT, entry = OMS__V1__DECIMAL__INIT, ratio = OMS__V1__DECIMAL__INIT,
                     free = OMS__V1__DECIMAL__INIT;
    qty.mantissa = 100; qty.scale = 3;            // long 0.1
    entry.mantissa = 600000; entry.scale = 1;     // @ 60,000
    ratio.mantissa = ratio_8dp; ratio.scale = 8;
    free.mantissa = 1000000; free.scale = 2;      // 10,000 USDT available
    Oms__V1__Position p = OMS__V1__POSITION__INIT;
    p.instrument = &id;
    p.position_side = OMS__V1__POSITION_SIDE__POSITION_SIDE_BOTH;
    p.quantity = &qty;
    p.average_entry_price = &entry;
    p.leverage = leverage;
    p.margin_type = OMS__V1__MARGIN_TYPE__MARGIN_TYPE_CROSSED;
    p.margin_ratio = &ratio;
    Oms__V1__Balance b = OMS__V1__BALANCE__INIT;
    b.asset = const_cast<char*>("USDT");
    b.free = &free;
    Oms__V1__Position* ps[] = {&p};
    Oms__V1__Balance* bs[] = {&b};
    Oms__V1__AccountUpdate u = OMS__V1__ACCOUNT_UPDATE__INIT;
    const std::string uid = "binance.futures.pos.test." + std::to_string(++n_update);
    u.update_id = const_cast<char*>(uid.c_str());
    u.account = const_cast<char*>("demo-1");
    u.exchange = const_cast<char*>("binance");
    u.market = const_cast<char*>("futures");
    u.reason = OMS__V1__ACCOUNT_UPDATE_REASON__ACCOUNT_UPDATE_REASON_SNAPSHOT;
    u.n_positions = 1;
    u.positions = ps;
    u.n_balances = 1;
    u.balances = bs;
    u.ts_event_ns = T0 + n_update * 1'000'000'000LL;
    std::uint8_t buf[1024];
    const std::size_t len = oms__v1__account_update__pack(&u, buf);
    publish_acked("positions.binance.futures", "oms.v1.AccountUpdate", "binance-futures", uid, buf, len);
  };
  auto wait_count = [&](const char* stream, std::uint64_t n) {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      auto st = js_->stream_state(stream);
      if (st && st->msgs >= n) return true;
      if (std::chrono::steady_clock::now() - t0 > 10s) return false;
      std::this_thread::sleep_for(5ms);
    }
  };

  publish_update(25, 10'000'000);  // 25x, ratio 0.10
  // Commands and positions are separate consumers: send the order once the
  // engine has applied the update (its per-source input counter says so).
  {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      std::string metrics;
      http_get(http_port_, "/metrics", &metrics);
      const std::string key = "oms_core_events_total{source=\"positions\"} ";
      const auto at = metrics.find(key);
      if (at != std::string::npos && std::atof(metrics.c_str() + at + key.size()) >= 1) break;
      ASSERT_LT(std::chrono::steady_clock::now() - t0, 10s) << metrics;
      std::this_thread::sleep_for(10ms);
    }
  }
  auto send_order = [&](int k) {
    const std::string id = std::to_string(k);
    eng::OrderCommandMsg c = command(0);
    c.command_id.assign("cmd-fut-" + id);
    auto& o = c.new_order;
    o.order_id.assign("ord-fut-" + id);
    o.client_order_id.assign("cl-fut-" + id);
    o.account.assign("demo-1");
    o.instrument.market.assign("futures");
    o.side = eng::Side::Buy;
    o.quantity = eng::Decimal{10, 3};     // 0.01 BTC
    o.price = eng::Decimal{600000, 1};    // 60,000.0: 600 USDT, 30 USDT of margin at 20x
    eng::Codec codec;
    std::uint8_t buf[1024];
    const std::size_t n = codec.encode_command(c, buf, sizeof buf);
    publish_acked("cmd.risk.binance.futures.BTCUSDT", "oms.v1.OrderCommand", "oms-server", "cmd-fut-" + id, buf, n);
  };
  // /metrics until `line` is on it (the margin gauges refresh every 200 ms).
  auto wait_metric = [&](const std::string& line) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string metrics;
    while (std::chrono::steady_clock::now() - t0 < 5s) {
      http_get(http_port_, "/metrics", &metrics);
      if (metrics.find(line) != std::string::npos) return;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "no " << line << " in\n" << metrics;
  };
  wait_metric("oms_core_margin_available{account=\"demo-1\",venue=\"binance.futures\",asset=\"USDT\"} 10000\n");
  send_order(1);
  ASSERT_TRUE(wait_count("DECISIONS", 1)) << log_;
  auto decisions = read_all("DECISIONS", "risk.decisions.binance.futures.>");
  ASSERT_EQ(decisions.size(), 1u);
  {
    auto d = decisions[0].data();
    auto* rd = oms__v1__risk_decision__unpack(nullptr, d.size(), d.data());
    ASSERT_NE(rd, nullptr);
    EXPECT_EQ(rd->result, OMS__V1__RISK_DECISION_RESULT__RISK_DECISION_RESULT_REJECTED);
    EXPECT_EQ(rd->reason_code, OMS__V1__REJECT_REASON__REJECT_REASON_MAX_LEVERAGE);
    EXPECT_STREQ(rd->reason_text, "leverage 25x > max 20x");
    oms__v1__risk_decision__free_unpacked(rd, nullptr);
  }
  auto rejected = read_all("ORDERS", "orders.binance.futures.BTCUSDT");
  ASSERT_EQ(rejected.size(), 1u);
  {
    auto d = rejected[0].data();
    auto* ev = oms__v1__order_event__unpack(nullptr, d.size(), d.data());
    ASSERT_NE(ev, nullptr);
    ASSERT_NE(ev->order, nullptr);
    EXPECT_EQ(ev->order->reject_reason, OMS__V1__REJECT_REASON__REJECT_REASON_MAX_LEVERAGE);
    EXPECT_STREQ(ev->order->reject_text, "leverage 25x > max 20x");
    oms__v1__order_event__free_unpacked(ev, nullptr);
  }

  // At 20x the same order passes and holds its initial margin (600 / 20) until the
  // next balance update, visible on /metrics.
  wait_metric("oms_core_margin_pending{account=\"demo-1\",venue=\"binance.futures\",asset=\"USDT\"} 0\n");
  publish_update(20, 10'000'000);
  send_order(2);
  ASSERT_TRUE(wait_count("DECISIONS", 2)) << log_;
  wait_metric("oms_core_margin_pending{account=\"demo-1\",venue=\"binance.futures\",asset=\"USDT\"} 30\n");

  publish_update(20, 85'000'000);  // ratio 0.85 >= critical 0.80
  ASSERT_TRUE(wait_count("ALERTS", 1)) << log_;
  publish_update(20, 86'000'000);  // still critical: no second alert
  std::this_thread::sleep_for(500ms);
  auto alerts = read_all("ALERTS", "alerts.>");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].subject(), std::string("alerts.binance.futures.demo-1"));
  ASSERT_NE(alerts[0].header(oms::nats::hdr::kType), nullptr);
  EXPECT_STREQ(alerts[0].header(oms::nats::hdr::kType), "oms.v1.Alert");
  auto d = alerts[0].data();
  auto* a = oms__v1__alert__unpack(nullptr, d.size(), d.data());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, OMS__V1__ALERT_SEVERITY__ALERT_SEVERITY_CRITICAL);
  EXPECT_EQ(a->previous_severity, OMS__V1__ALERT_SEVERITY__ALERT_SEVERITY_OK);
  EXPECT_STREQ(a->account, "demo-1");
  EXPECT_STREQ(a->alert_id, "binance.futures.pos.test.3:alert");
  ASSERT_NE(a->value, nullptr);
  EXPECT_EQ(a->value->mantissa, 85'000'000);
  // The repo config cancels exposure-increasing orders at critical: order 2 is live.
  EXPECT_STREQ(a->text, "margin ratio 0.85 >= critical 0.80; canceled 1 exposure-increasing orders");
  oms__v1__alert__free_unpacked(a, nullptr);
  // The account's ratio and level, as of the last update, on /metrics.
  std::string metrics;
  ASSERT_EQ(http_get(http_port_, "/metrics", &metrics), 200);
  EXPECT_NE(metrics.find("oms_core_margin_ratio{account=\"demo-1\",venue=\"binance.futures\"} 0.85999999999999999"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("oms_core_margin_level{account=\"demo-1\",venue=\"binance.futures\"} 2"), std::string::npos);
  // Each margin family is one group, its samples right after its HELP/TYPE
  // lines (the exposition format rejects a family split by another).
  for (const char* family : {"oms_core_margin_ratio", "oms_core_margin_level", "oms_core_margin_available",
                             "oms_core_margin_pending"}) {
    const std::string type = std::string("# TYPE ") + family + " gauge\n";
    const auto at = metrics.find(type);
    ASSERT_NE(at, std::string::npos) << family;
    const auto end = metrics.find("# HELP", at);
    std::string_view body(metrics.data() + at + type.size(), (end == std::string::npos ? metrics.size() : end) - at - type.size());
    EXPECT_FALSE(body.empty()) << family;
    for (std::size_t p = 0; p < body.size();) {
      const auto nl = body.find('\n', p);
      EXPECT_EQ(body.substr(p, std::strlen(family) + 1), std::string(family) + "{") << family << ": " << body;
      p = nl == std::string_view::npos ? body.size() : nl + 1;
    }
  }
  // The balance updates since include the order: nothing held any more.
  wait_metric("oms_core_margin_pending{account=\"demo-1\",venue=\"binance.futures\",asset=\"USDT\"} 0\n");
}

}  // namespace
