// oms-engine-bench: per-order risk check latency (p50/p99/p99.9) and
// single-core throughput through decode -> checks -> state -> encode.
// Targets: p99 < 1 us per risk check, >= 1M orders/s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <sched.h>
#include <x86intrin.h>

#include "oms/engine/codec.hpp"
#include "oms/engine/engine.hpp"

#if __has_include("oms/metrics/hdr_histogram.hpp")
#include "oms/metrics/hdr_histogram.hpp"
#define OMS_HAVE_HDR 1
#endif

using namespace oms::engine;

namespace {

constexpr std::int64_t T0 = 1'700'000'000'000'000'000LL;

// Percentile recorder: the shared HDR histogram when present, else a sorted vector.
struct Recorder {
#ifdef OMS_HAVE_HDR
    oms::metrics::HdrHistogram h{10'000'000'000ull};
    void record(std::uint64_t ns) { h.record(ns); }
    std::uint64_t pct(double p) { return h.value_at_percentile(p); }
#else
    std::vector<std::uint64_t> v;
    void record(std::uint64_t ns) { v.push_back(ns); }
    std::uint64_t pct(double p) {
        if (v.empty()) return 0;
        std::sort(v.begin(), v.end());
        return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())))];
    }
#endif
};

// rdtsc -> ns, calibrated once against steady_clock.
double ns_per_tick() {
    static double v = [] {
        auto t0 = std::chrono::steady_clock::now();
        std::uint64_t c0 = __rdtsc();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(50)) {}
        std::uint64_t c1 = __rdtsc();
        auto t1 = std::chrono::steady_clock::now();
        return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()) /
               static_cast<double>(c1 - c0);
    }();
    return v;
}

// Timed region: lfence keeps rdtsc from being reordered with the work it
// brackets (plain rdtsc can start before earlier loads retire).
inline std::uint64_t tsc_begin() { _mm_lfence(); const std::uint64_t t = __rdtsc(); _mm_lfence(); return t; }
inline std::uint64_t tsc_end() { _mm_lfence(); return __rdtsc(); }

// Cost of an empty timed region (ticks): the minimum of many back-to-back
// pairs, subtracted from every sample so a percentile is the work's own time.
std::uint64_t timer_overhead_ticks() {
    static std::uint64_t v = [] {
        std::uint64_t best = ~0ull;
        for (int i = 0; i < 100000; ++i) {
            const std::uint64_t a = tsc_begin();
            const std::uint64_t b = tsc_end();
            best = std::min(best, b - a);
        }
        return best;
    }();
    return v;
}

// Figures for the summary printed after the run (one line per target).
struct Summary {
    std::uint64_t p50 = 0, p99 = 0, p999 = 0, n = 0;
    double overhead_ns = 0;
    double orders_per_s = 0;
    bool set = false;
};
Summary g_latency, g_throughput;

InstrumentSpec btc() {
    InstrumentSpec s;
    s.id.exchange.assign("binance"); s.id.market.assign("spot"); s.id.symbol.assign("BTCUSDT");
    s.base_asset.assign("BTC"); s.quote_asset.assign("USDT");
    s.price_scale = 2; s.qty_scale = 5; s.tick_size = 1; s.lot_size = 1; s.min_qty = 1;
    s.min_notional = 5 * kPow10[kQuoteScale];
    return s;
}

std::unique_ptr<Engine> make_engine() {
    auto e = std::make_unique<Engine>();
    e->upsert_instrument(btc());
    RiskConfig c;  // every check enabled
    c.defaults.max_order_qty = "10";
    c.defaults.max_order_notional = "1000000";
    c.defaults.price_collar_bps = 500;
    c.defaults.max_open_orders = 1000;
    c.defaults.max_open_orders_per_symbol = 500;
    c.defaults.max_position_long = "1000";
    c.defaults.max_position_short = "1000";
    c.defaults.max_long_notional = "100000000";
    c.defaults.max_short_notional = "100000000";
    c.defaults.max_gross_exposure = "100000000";
    c.defaults.daily_loss_limit = "100000";
    c.defaults.orders_per_second = "100000000";
    e->load_limits(c);
    TopOfBookMsg t;
    t.instrument = btc().id; t.price_scale = 2; t.bid_price = 6499990; t.ask_price = 6500010; t.ts_event_ns = T0;
    e->handle(t);
    return e;
}

OrderCommandMsg order(std::uint64_t i, const char* acct) {
    OrderCommandMsg c;
    char buf[48];
    std::snprintf(buf, sizeof buf, "cmd-%llu", static_cast<unsigned long long>(i));
    c.command_id.assign(buf);
    c.sequence = i + 1;
    c.kind = CommandKind::NewOrder;
    NewOrderMsg& n = c.new_order;
    std::snprintf(buf, sizeof buf, "O-%llu", static_cast<unsigned long long>(i));
    n.order_id.assign(buf);
    std::snprintf(buf, sizeof buf, "cl-%llu", static_cast<unsigned long long>(i));
    n.client_order_id.assign(buf);
    n.account.assign(acct);
    n.instrument = btc().id;
    n.side = i % 2 ? Side::Buy : Side::Sell;
    n.type = OrderType::Limit;
    n.time_in_force = 1;
    n.quantity = Decimal{static_cast<std::int64_t>(1000 + i % 50), 5};
    n.price = Decimal{6500000 + static_cast<std::int64_t>(i % 100) - 50, 2};
    n.has_price = true;
    n.ts_ns = T0 + static_cast<std::int64_t>(i) * 1000;
    return c;
}

// The connector's CANCELED event that retires order `id`, written into one
// reused struct as oms-core's codec does (a fresh ~200-byte struct per call
// would be the benchmark's cost, not the engine's).
const OrderEventMsg& done(const OrderId& id, std::uint64_t i) {
    static OrderEventMsg e;
    char buf[32];
    int n = 0;
    buf[n++] = 'e'; buf[n++] = 'v';
    char d[24]; int k = 0;
    do { d[k++] = static_cast<char>('0' + i % 10); i /= 10; } while (i);
    while (k) buf[n++] = d[--k];
    e.event_id.assign(std::string_view(buf, static_cast<std::size_t>(n)));
    e.order_id = id;
    e.type = OrderEventType::Canceled;
    return e;
}

constexpr std::size_t kPre = 1 << 16;

// OMS_BENCH_ITERS overrides the iteration count (e.g. small runs under
// valgrind --tool=callgrind, whose instruction counts are stable under load).
std::int64_t iters() {
    const char* e = std::getenv("OMS_BENCH_ITERS");
    return e && *e ? std::atoll(e) : 2'000'000;
}  // pre-built messages, reused cyclically with fresh ids

// Per-order risk check latency: Engine::handle(NewOrder) = dedup + all checks
// + order state + reservation + decision output. Each call timed with rdtsc.
template <bool kHotCommand>
void risk_check_latency(benchmark::State& st) {
    auto e = make_engine();
    const char* accts[] = {"a1", "a2", "a3", "a4"};
    Recorder rec;
    OutputBuffer out;
    std::uint64_t i = 0;
    const double k = ns_per_tick();
    static OrderCommandMsg hot;
    std::vector<OrderCommandMsg> cmds;
    cmds.reserve(kPre);
    for (std::size_t j = 0; j < kPre; ++j) cmds.push_back(order(j, accts[j % 4]));
    const std::uint64_t overhead = timer_overhead_ticks();
    // Warm-up, untimed: past the command-dedup FIFO's capacity (from then on
    // every order also evicts its oldest entry), caches and branch
    // predictors in steady state.
    const std::uint64_t warm = 3 * kCommandDedup;
    for (; i < warm; ++i) {
        out.clear();
        e->handle(cmds[i % kPre], out);
        e->handle(done(cmds[i % kPre].new_order.order_id, i), out);
    }
    for (auto _ : st) {
        OrderCommandMsg& c = cmds[i % kPre];
        if (i >= kPre) {  // refresh ids cheaply so every order is new
            c = order(i, accts[i % 4]);
        }
        out.clear();
        // Hot: the command sits in one reused struct, as in oms-core where
        // the codec decodes every message into the same OrderCommandMsg just
        // before handle(). Cold: handle() reads it from a 65536-entry array
        // (~80 MB), i.e. every call starts with cache misses on the input.
        const OrderCommandMsg* in = &c;
        if constexpr (kHotCommand) { hot = c; in = &hot; }
        const std::uint64_t t0 = tsc_begin();
        e->handle(*in, out);
        const std::uint64_t t1 = tsc_end();
        const std::uint64_t ticks = t1 - t0 > overhead ? t1 - t0 - overhead : 0;
        rec.record(static_cast<std::uint64_t>(static_cast<double>(ticks) * k));
        // Retire the order (not timed) so open-order tables stay at steady state.
        e->handle(done(c.new_order.order_id, i), out);
        ++i;
    }
    st.counters["p50_ns"] = static_cast<double>(rec.pct(50));
    st.counters["p99_ns"] = static_cast<double>(rec.pct(99));
    st.counters["p99.9_ns"] = static_cast<double>(rec.pct(99.9));
    st.counters["accepted"] = static_cast<double>(e->stats().accepted);
    st.counters["rejected"] = static_cast<double>(e->stats().rejected);
    const std::uint64_t n = i - warm;
    std::printf("risk-check latency (%s command): p50=%llu ns p99=%llu ns p99.9=%llu ns (n=%llu after %llu warm-up; "
                "timer overhead %.1f ns subtracted)\n",
                kHotCommand ? "hot" : "cold", static_cast<unsigned long long>(rec.pct(50)), static_cast<unsigned long long>(rec.pct(99)),
                static_cast<unsigned long long>(rec.pct(99.9)), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(warm), static_cast<double>(overhead) * k);
    if constexpr (kHotCommand) {
        g_latency = Summary{rec.pct(50), rec.pct(99), rec.pct(99.9), n, static_cast<double>(overhead) * k, 0, true};
    }
}
void BM_RiskCheckLatency(benchmark::State& st) { risk_check_latency<true>(st); }
void BM_RiskCheckLatencyColdCommand(benchmark::State& st) { risk_check_latency<false>(st); }
BENCHMARK(BM_RiskCheckLatency)->Iterations(iters())->Unit(benchmark::kNanosecond);
BENCHMARK(BM_RiskCheckLatencyColdCommand)->Iterations(iters())->Unit(benchmark::kNanosecond);

// Throughput on one core: bytes in -> decode -> checks/state -> encode every
// output -> connector cancel (plain struct) retires the order.
void BM_EngineThroughput(benchmark::State& st) {
    auto e = make_engine();
    Codec codec;
    const char* accts[] = {"a1", "a2", "a3", "a4"};
    std::vector<std::vector<std::uint8_t>> wire(kPre);
    std::uint8_t buf[1024];
    for (std::size_t j = 0; j < kPre; ++j) {
        std::size_t n = codec.encode_command(order(j, accts[j % 4]), buf, sizeof buf);
        wire[j].assign(buf, buf + n);
    }
    OutputBuffer out;
    OrderCommandMsg m;
    std::uint8_t obuf[2048];
    std::uint64_t i = 0, bytes = 0;
    // One pass of the loop body (below); the warm-up runs it untimed until
    // the command-dedup FIFO evicts on every order, as in steady state.
    auto one = [&](std::uint64_t& bytes_out) {
        // Command ids repeat after kPre; bump the engine's view with a new
        // sequence + id suffix so they are not treated as redeliveries.
        const auto& w = wire[i % kPre];
        codec.decode_command(w.data(), w.size(), i + 1, m);
        if (i >= kPre) {
            m.command_id.data[m.command_id.len - 1] ^= static_cast<char>(1 + (i / kPre) % 60);
            m.new_order.order_id.data[m.new_order.order_id.len - 1] ^= static_cast<char>(1 + (i / kPre) % 60);
            m.new_order.client_order_id.data[m.new_order.client_order_id.len - 1] ^= static_cast<char>(1 + (i / kPre) % 60);
        }
        out.clear();
        e->handle(m, out);
        // As oms-core does: a forwarded order reuses the input's bytes when
        // the decode was lossless (Codec::encode_forward). (After the first
        // kPre orders the ids bumped above make the struct differ from `w`;
        // the forwarded bytes are then stale, the cost is the same.)
        for (std::size_t k = 0; k < out.count; ++k)
            bytes_out += out.items[k].kind == OutputKind::ForwardCommand
                         ? codec.encode_forward(out.items[k].cmd, w.data(), w.size(), obuf, sizeof obuf)
                         : codec.encode(out.items[k], 0, 0, obuf, sizeof obuf);
        e->handle(done(m.new_order.order_id, i), out);
        ++i;
    };
    std::uint64_t warm_bytes = 0;
    while (i < 3 * kCommandDedup) one(warm_bytes);
    const std::uint64_t warm = i;
    const auto c0 = std::clock();
    for (auto _ : st) one(bytes);
    const double cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const std::uint64_t timed = i - warm;
    g_throughput.orders_per_s = cpu_s > 0 ? static_cast<double>(timed) / cpu_s : 0;
    g_throughput.n = timed;
    g_throughput.set = true;
    st.SetItemsProcessed(static_cast<std::int64_t>(timed));
    st.counters["out_bytes_per_order"] = static_cast<double>(bytes) / static_cast<double>(timed ? timed : 1);
    st.counters["accepted"] = static_cast<double>(e->stats().accepted);
    st.counters["rejected"] = static_cast<double>(e->stats().rejected);
}
BENCHMARK(BM_EngineThroughput)->Iterations(iters())->Unit(benchmark::kNanosecond);

// Decode alone, for attribution.
void BM_DecodeNewOrder(benchmark::State& st) {
    Codec codec;
    std::uint8_t buf[1024];
    std::size_t n = codec.encode_command(order(1, "a1"), buf, sizeof buf);
    OrderCommandMsg m;
    for (auto _ : st) benchmark::DoNotOptimize(codec.decode_command(buf, n, 1, m));
}
BENCHMARK(BM_DecodeNewOrder);

// Pins the process to one CPU (OMS_BENCH_CPU, default the last one) so the
// engine's tables are not left behind in another core's caches by a
// migration mid-run; a no-op where affinity is not allowed.
int pin_cpu() {
    const char* e = std::getenv("OMS_BENCH_CPU");
    int cpu = e && *e ? std::atoi(e) : static_cast<int>(std::thread::hardware_concurrency()) - 1;
    if (cpu < 0) return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

std::string loadavg() {
    char buf[64] = {0};
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
        std::fclose(f);
    }
    std::string s(buf);
    int spaces = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i] == ' ' && ++spaces == 3) return s.substr(0, i);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const int cpu = pin_cpu();
    const std::string load_before = loadavg();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
#ifdef OMS_ENGINE_PGO
    const char* build = "engine built profile-guided, trained by oms-engine-train (a mixed flow, not this benchmark)";
#else
    const char* build = "engine built without profile guidance";
#endif
    std::printf("\n## oms-engine-bench summary (%s; load %s before, %s after; %s)\n",
                cpu >= 0 ? ("pinned to CPU " + std::to_string(cpu)).c_str() : "not pinned", load_before.c_str(),
                loadavg().c_str(), build);
    if (g_latency.set)
        std::printf("risk check, Engine::handle(NewOrder), HdrHistogram of %llu orders: p50 %llu ns  p99 %llu ns  p99.9 %llu ns "
                    "(target p99 < 1000 ns: %s)\n",
                    static_cast<unsigned long long>(g_latency.n), static_cast<unsigned long long>(g_latency.p50),
                    static_cast<unsigned long long>(g_latency.p99), static_cast<unsigned long long>(g_latency.p999),
                    g_latency.p99 < 1000 ? "MET" : "NOT MET");
    if (g_throughput.set)
        std::printf("throughput, decode -> checks -> state -> encode (+ the cancel event retiring each order), one core, "
                    "per CPU second: %.0f orders/s over %llu orders (target >= 1M/s: %s)\n",
                    g_throughput.orders_per_s, static_cast<unsigned long long>(g_throughput.n),
                    g_throughput.orders_per_s >= 1e6 ? "MET" : "NOT MET");
    return 0;
}
