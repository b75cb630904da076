// Against a real nats-server started per test on a free port with
// JetStream on a temp dir. Skipped only if nats-server is not installed.
#include "oms/nats/connection.hpp"
#include "oms/nats/headers.hpp"
#include "oms/nats/jetstream.hpp"
#include "testing/nats_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using oms::nats::Connection;
using oms::nats::JetStream;
using oms::nats::Msg;
using oms::nats::OmsHeaders;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class NatsIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!oms::testing::NatsServer::available(OMS_NATS_SERVER)) GTEST_SKIP() << OMS_NATS_SERVER << " not installed";
    server_ = std::make_unique<oms::testing::NatsServer>(OMS_NATS_SERVER);
    ASSERT_TRUE(server_->ready()) << "nats-server did not start";
    oms::nats::ConnectionOptions o;
    o.name = "oms-test";
    o.url = server_->url();
    o.reconnect_wait = 50ms;
    o.reconnect_wait_max = 200ms;
    auto c = Connection::connect(o);
    ASSERT_TRUE(c) << c.status().message();
    conn_.emplace(std::move(c.value()));
    auto js = JetStream::create(*conn_);
    ASSERT_TRUE(js) << js.status().message();
    js_.emplace(std::move(js.value()));
    oms::nats::StreamSpec spec;
    spec.name = "ORDERS";
    spec.subjects = {"orders.>"};
    spec.max_age = 1h;
    auto r = js_->ensure_stream(spec);
    ASSERT_TRUE(r) << r.status().message();
    EXPECT_EQ(*r, oms::nats::EnsureOutcome::created);
  }
  void TearDown() override {
    js_.reset();
    conn_.reset();
    server_.reset();
  }

  oms::nats::PullConsumer consumer(const char* durable, std::chrono::milliseconds ack_wait = 30s) {
    oms::nats::PullConsumerSpec spec;
    spec.stream = "ORDERS";
    spec.durable = durable;
    spec.filter_subject = "orders.>";
    spec.ack_wait = ack_wait;
    spec.max_deliver = 5;
    auto pc = js_->pull_subscribe(spec);
    EXPECT_TRUE(pc) << pc.status().message();
    return pc ? std::move(pc.value()) : oms::nats::PullConsumer{};
  }

  std::unique_ptr<oms::testing::NatsServer> server_;
  std::optional<Connection> conn_;
  std::optional<JetStream> js_;
};

TEST_F(NatsIntegration, EnsureStreamIsIdempotentAndUpdates) {
  oms::nats::StreamSpec spec;
  spec.name = "ORDERS";
  spec.subjects = {"orders.>"};
  spec.max_age = 1h;
  auto again = js_->ensure_stream(spec);
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_EQ(*again, oms::nats::EnsureOutcome::unchanged);
  spec.subjects = {"orders.>", "fills.>"};
  auto upd = js_->ensure_stream(spec);
  ASSERT_TRUE(upd) << upd.status().message();
  EXPECT_EQ(*upd, oms::nats::EnsureOutcome::updated);
}

TEST_F(NatsIntegration, PublishPullAck) {
  OmsHeaders h;
  h.msg_id = "ord-1";
  h.type = "oms.v1.OrderEvent";
  auto m = Msg::create("orders.binance.spot", bytes("payload-1"), h);
  ASSERT_TRUE(m);
  auto ack = js_->publish(*m);
  ASSERT_TRUE(ack) << ack.status().message();
  EXPECT_EQ(ack->stream_seq, 1u);
  EXPECT_FALSE(ack->duplicate);

  auto pc = consumer("oms_core_test");
  std::vector<Msg> got;
  auto st = pc.fetch(got, 10, 2s);
  ASSERT_TRUE(st) << st.message();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text(), "payload-1");
  auto info = got[0].delivery_info();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->stream_seq, 1u);
  EXPECT_EQ(info->num_delivered, 1u);
  ASSERT_TRUE(got[0].ack_sync(2s));

  // Acked: nothing more to fetch.
  got.clear();
  auto empty = pc.fetch(got, 10, 300ms);
  EXPECT_TRUE(empty.timed_out()) << empty.message();
  EXPECT_TRUE(got.empty());
}

TEST_F(NatsIntegration, RedeliveryWhenNotAcked) {
  auto m = Msg::create("orders.x", bytes("redeliver-me"));
  ASSERT_TRUE(m);
  ASSERT_TRUE(js_->publish(*m));
  auto pc = consumer("redeliver", 300ms);
  std::vector<Msg> got;
  ASSERT_TRUE(pc.fetch(got, 1, 2s));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivery_info()->num_delivered, 1u);
  got.clear();  // dropped without ack

  // After AckWait the server redelivers the same stream message.
  std::vector<Msg> again;
  ASSERT_TRUE(pc.fetch(again, 1, 3s));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].text(), "redeliver-me");
  auto info = again[0].delivery_info();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->stream_seq, 1u);
  EXPECT_EQ(info->num_delivered, 2u);
  ASSERT_TRUE(again[0].ack_sync(2s));
}

TEST_F(NatsIntegration, NakRedeliversImmediatelyAndTermStops) {
  auto m = Msg::create("orders.x", bytes("nak"));
  ASSERT_TRUE(js_->publish(*m));
  auto pc = consumer("naker", 30s);
  std::vector<Msg> got;
  ASSERT_TRUE(pc.fetch(got, 1, 2s));
  ASSERT_TRUE(got[0].nak());
  got.clear();
  ASSERT_TRUE(pc.fetch(got, 1, 2s));  // well before the 30 s AckWait
  EXPECT_EQ(got[0].delivery_info()->num_delivered, 2u);
  ASSERT_TRUE(got[0].term());
  got.clear();
  EXPECT_TRUE(pc.fetch(got, 1, 300ms).timed_out());
}

TEST_F(NatsIntegration, DuplicateMsgIdIsDeduplicated) {
  OmsHeaders h;
  h.msg_id = "cmd-42";
  auto m1 = Msg::create("orders.dedup", bytes("first"), h);
  auto m2 = Msg::create("orders.dedup", bytes("second"), h);
  auto a1 = js_->publish(*m1);
  auto a2 = js_->publish(*m2);
  ASSERT_TRUE(a1) << a1.status().message();
  ASSERT_TRUE(a2) << a2.status().message();
  EXPECT_FALSE(a1->duplicate);
  EXPECT_TRUE(a2->duplicate);
  EXPECT_EQ(a2->stream_seq, a1->stream_seq);
  auto st = js_->stream_state("ORDERS");
  ASSERT_TRUE(st) << st.status().message();
  EXPECT_EQ(st->msgs, 1u);
}

TEST_F(NatsIntegration, HeadersRoundTrip) {
  OmsHeaders h;
  h.msg_id = "id-7";
  h.type = "oms.v1.OrderCommand";
  h.id = "cmd-7";
  h.trace_id = "trace-abc";
  h.producer = "oms-server";
  auto m = Msg::create("orders.hdr", bytes("x"), h);
  ASSERT_TRUE(js_->publish(*m));
  auto pc = consumer("hdr");
  std::vector<Msg> got;
  ASSERT_TRUE(pc.fetch(got, 1, 2s));
  ASSERT_EQ(got.size(), 1u);
  using namespace oms::nats::hdr;
  EXPECT_STREQ(got[0].header(kMsgId), "id-7");
  EXPECT_STREQ(got[0].header(kType), "oms.v1.OrderCommand");
  EXPECT_STREQ(got[0].header(kId), "cmd-7");
  EXPECT_STREQ(got[0].header(kTraceId), "trace-abc");
  EXPECT_STREQ(got[0].header(kProducer), "oms-server");
  EXPECT_EQ(got[0].header("Missing"), nullptr);
  ASSERT_TRUE(got[0].ack());
}

TEST_F(NatsIntegration, DurableResumesAfterResubscribe) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(js_->publish(*Msg::create("orders.d", bytes(std::to_string(i)))));
  {
    auto pc = consumer("resume");
    std::vector<Msg> got;
    ASSERT_TRUE(pc.fetch(got, 1, 2s));
    ASSERT_TRUE(got[0].ack_sync(2s));
  }  // local interest dropped, durable kept on the server
  auto pc = consumer("resume");
  std::vector<Msg> got;
  ASSERT_TRUE(pc.fetch(got, 10, 2s));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].text(), "1");
}

TEST_F(NatsIntegration, AsyncPublish) {
  for (int i = 0; i < 500; ++i) {
    auto m = Msg::create("orders.async", bytes("a"));
    ASSERT_TRUE(js_->publish_async(std::move(*m)));
  }
  ASSERT_TRUE(js_->publish_async_complete(5s));
  EXPECT_EQ(js_->async_errors(), 0u);
  EXPECT_EQ(js_->stream_state("ORDERS")->msgs, 500u);
}

TEST_F(NatsIntegration, CoreRequestReplyAndNoResponders) {
  auto sub = conn_->subscribe("svc.echo", [this](Msg&& req) {
    auto reply = Msg::create(req.reply(), req.data());
    if (reply) (void)conn_->publish(*reply);
  });
  ASSERT_TRUE(sub) << sub.status().message();
  ASSERT_TRUE(conn_->flush(1s));
  auto req = Msg::create("svc.echo", bytes("ping"));
  auto rep = conn_->request(*req, 2s);
  ASSERT_TRUE(rep) << rep.status().message();
  EXPECT_EQ(rep->text(), "ping");

  auto nobody = conn_->request(*Msg::create("svc.nobody", bytes("?")), 1s);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.status().code, NATS_NO_RESPONDERS);
}

TEST_F(NatsIntegration, ReconnectsAfterServerRestart) {
  // Bounce the server on the same port and store: the connection must come
  // back on its own and count one disconnect and one reconnect.
  server_->stop();
  const auto t0 = std::chrono::steady_clock::now();
  while (conn_->connected() && std::chrono::steady_clock::now() - t0 < 3s) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(conn_->connected());
  ASSERT_TRUE(server_->start());
  const auto t1 = std::chrono::steady_clock::now();
  while (!conn_->connected() && std::chrono::steady_clock::now() - t1 < 8s) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(conn_->connected());
  EXPECT_GE(conn_->counters().disconnects, 1u);
  // The reconnected callback runs on a nats.c thread right after the state
  // flips; give it a moment.
  const auto t2 = std::chrono::steady_clock::now();
  while (conn_->counters().reconnects == 0 && std::chrono::steady_clock::now() - t2 < 2s) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(conn_->counters().reconnects, 1u);
  // JetStream state survived (file store) and publishing works again.
  auto ack = js_->publish(*Msg::create("orders.after", bytes("back")));
  ASSERT_TRUE(ack) << ack.status().message();
}

TEST(NatsConnect, FailsFastWhenNoServer) {
  oms::nats::ConnectionOptions o;
  o.url = "nats://127.0.0.1:" + std::to_string(oms::testing::free_tcp_port());
  o.connect_timeout = 500ms;
  auto c = Connection::connect(o);
  EXPECT_FALSE(c);
  EXPECT_EQ(c.status().code, NATS_NO_SERVER);
}

}  // namespace
