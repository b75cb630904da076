// oms-nats-bench: latency/throughput of the NATS paths oms-core relies on.
//
//   oms-nats-bench [--url nats://host:port] [--n 20000] [--async-n 200000]
//                  [--payload 128] [--warmup 1000]
//
// Without --url it starts its own nats-server (JetStream, file store in a
// temp dir) on a free loopback port. Latencies are recorded in an
// HDR-style histogram (3 significant digits).
#include "oms/metrics/hdr_histogram.hpp"
#include "oms/nats/connection.hpp"
#include "oms/nats/jetstream.hpp"
#include "testing/nats_server.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono;
using oms::metrics::HdrHistogram;
using oms::nats::Connection;
using oms::nats::Msg;

struct Args {
  std::string url;
  int n = 20000;
  int async_n = 200000;
  int payload = 128;
  int warmup = 1000;
};

int64_t now_ns() { return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count(); }

void print_latency(const char* name, const HdrHistogram& h, double seconds) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf("%-34s n=%-7llu p50=%8.1fus p99=%8.1fus p99.9=%8.1fus max=%8.1fus  %9.0f msgs/s\n", name,
              static_cast<unsigned long long>(h.count()), us(h.value_at_percentile(50)),
              us(h.value_at_percentile(99)), us(h.value_at_percentile(99.9)), us(h.max()),
              static_cast<double>(h.count()) / seconds);
}

Connection connect_or_die(const std::string& url, const char* name, bool send_asap) {
  oms::nats::ConnectionOptions o;
  o.url = url;
  o.name = name;
  o.send_asap = send_asap;
  auto c = Connection::connect(o);
  if (!c) {
    std::fprintf(stderr, "connect %s: %s\n", url.c_str(), c.status().message().c_str());
    std::exit(1);
  }
  return std::move(c.value());
}

void bench_request_reply(const Args& a, bool send_asap) {
  Connection responder = connect_or_die(a.url, "bench-responder", send_asap);
  Connection requester = connect_or_die(a.url, "bench-requester", send_asap);
  Connection* rp = &responder;
  auto sub = responder.subscribe("bench.rr", [rp](Msg&& req) {
    // Echo via the raw API: no natsMsg allocation on the responder side.
    (void)rp->publish(req.reply(), req.data());
  });
  if (!sub) { std::fprintf(stderr, "subscribe: %s\n", sub.status().message().c_str()); std::exit(1); }
  (void)responder.flush(seconds(2));

  std::vector<uint8_t> payload(static_cast<size_t>(a.payload), 0x5a);
  auto req = Msg::create("bench.rr", payload);
  HdrHistogram h;
  for (int i = 0; i < a.warmup + a.n; ++i) {
    const int64_t t0 = now_ns();
    auto rep = requester.request(*req, seconds(2));
    const int64_t t1 = now_ns();
    if (!rep) { std::fprintf(stderr, "request: %s\n", rep.status().message().c_str()); return; }
    if (i >= a.warmup) h.record(static_cast<uint64_t>(t1 - t0));
  }
  const double secs = static_cast<double>(h.count()) * h.mean() / 1e9;
  print_latency(send_asap ? "core request/reply (SendAsap)" : "core request/reply (flusher)", h, secs);
}

void bench_jetstream(const Args& a) {
  Connection conn = connect_or_die(a.url, "bench-js", true);
  oms::nats::JetStream::Options jo;
  jo.max_pending_async = 4000;
  auto js = oms::nats::JetStream::create(conn, jo);
  if (!js) { std::fprintf(stderr, "jetstream: %s\n", js.status().message().c_str()); std::exit(1); }
  oms::nats::StreamSpec spec;
  spec.name = "BENCH";
  spec.subjects = {"bench.js.>"};
  spec.max_age = hours(1);
  (void)js->delete_stream("BENCH");
  if (auto r = js->ensure_stream(spec); !r) {
    std::fprintf(stderr, "ensure stream: %s\n", r.status().message().c_str());
    std::exit(1);
  }
  std::vector<uint8_t> payload(static_cast<size_t>(a.payload), 0x5a);

  {  // sync publish, one ack per message, with a dedup id like real commands
    HdrHistogram h;
    char id[32];
    for (int i = 0; i < a.warmup + a.n; ++i) {
      std::snprintf(id, sizeof id, "b-%d", i);
      oms::nats::OmsHeaders hd;
      hd.msg_id = id;
      hd.type = "oms.v1.OrderCommand";
      auto m = Msg::create("bench.js.sync", payload, hd);
      const int64_t t0 = now_ns();
      auto ack = js->publish(*m);
      const int64_t t1 = now_ns();
      if (!ack) { std::fprintf(stderr, "js publish: %s\n", ack.status().message().c_str()); return; }
      if (i >= a.warmup) h.record(static_cast<uint64_t>(t1 - t0));
    }
    const double secs = static_cast<double>(h.count()) * h.mean() / 1e9;
    print_latency("jetstream sync publish+ack (file)", h, secs);
  }

  {  // async publish throughput
    const int64_t t0 = now_ns();
    for (int i = 0; i < a.async_n; ++i) {
      auto m = Msg::create("bench.js.async", payload);
      if (auto st = js->publish_async(std::move(*m)); !st) {
        std::fprintf(stderr, "js async publish: %s\n", st.message().c_str());
        return;
      }
    }
    if (auto st = js->publish_async_complete(seconds(30)); !st) {
      std::fprintf(stderr, "js async complete: %s\n", st.message().c_str());
    }
    const double secs = static_cast<double>(now_ns() - t0) / 1e9;
    std::printf("%-34s n=%-7d total=%.3fs errors=%llu  %9.0f msgs/s\n", "jetstream async publish (file)",
                a.async_n, secs, static_cast<unsigned long long>(js->async_errors()),
                static_cast<double>(a.async_n) / secs);
  }
  (void)js->delete_stream("BENCH");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", argv[i]); std::exit(2); }
      return argv[++i];
    };
    if (k == "--url") a.url = next();
    else if (k == "--n") a.n = std::atoi(next());
    else if (k == "--async-n") a.async_n = std::atoi(next());
    else if (k == "--payload") a.payload = std::atoi(next());
    else if (k == "--warmup") a.warmup = std::atoi(next());
    else if (k == "--help" || k == "-h") {
      std::puts("usage: oms-nats-bench [--url URL] [--n N] [--async-n N] [--payload BYTES] [--warmup N]");
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  std::unique_ptr<oms::testing::NatsServer> server;
  if (a.url.empty()) {
    if (!oms::testing::NatsServer::available()) {
      std::fprintf(stderr, "no --url and %s not found\n", oms::testing::NatsServer::kDefaultBinary);
      return 1;
    }
    server = std::make_unique<oms::testing::NatsServer>();
    if (!server->ready()) { std::fprintf(stderr, "nats-server did not start\n"); return 1; }
    a.url = server->url();
  }
  std::printf("oms-nats-bench: url=%s payload=%dB n=%d async-n=%d warmup=%d\n", a.url.c_str(), a.payload, a.n,
              a.async_n, a.warmup);
  bench_request_reply(a, true);
  bench_request_reply(a, false);
  bench_jetstream(a);
  nats_CloseAndWait(1000);
  return 0;
}
