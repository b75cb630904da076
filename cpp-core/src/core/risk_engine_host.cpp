// The oms-core engine pipeline: JetStream in -> engine -> JetStream out.
//
//   I/O threads (one per durable pull consumer, nats.c fetch)
//        | SpscRing<InItem> per source (natsMsg* + stream seq + trace id)
//        v
//   engine thread (owns Engine + Codec; decode -> checks -> state -> encode)
//        | SpscRing<OutRec> (encoded payload + subject + headers + input msg)
//        v
//   publisher thread (JetStream async publish, wait for the acks, THEN ack
//   the inputs) ---- snapshot writer thread (temp + fsync + rename)
//
// Exactly-once decisions from at-least-once delivery:
//  * every output has a deterministic Nats-Msg-Id derived from the input
//    (command_id + ":decision" / ":rej" / ":route"), so a republish inside the
//    stream's duplicate window is dropped by the server;
//  * an input is acked only after its outputs were acked by JetStream, so the
//    durable consumer's ack floor means "outputs published up to here";
//  * a snapshot reflects the inputs applied up to per-source stream
//    sequences, and is renamed into place only after the publisher has
//    published every output of those inputs;
//  * on start: restore the snapshot, recreate each durable consumer to
//    deliver from snapshot_seq + 1, and replay. Inputs at or below the old
//    ack floor rebuild state silently (their outputs exist already); later
//    ones publish (dedup covers the ones caught between publish and ack).
#include "oms/core/engine_host.hpp"
#include "oms/core/ack_subject.hpp"
#include "oms/core/replay_order.hpp"
#include "oms/core/risk_config.hpp"
#include "oms/core/snapshot_file.hpp"
#include "oms/engine/codec.hpp"
#include "oms/engine/engine.hpp"
#include "oms/engine/spsc_ring.hpp"
#include "oms/v1/risk.pb-c.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace oms::core {

namespace {

using namespace oms::engine;
using Clock = std::chrono::steady_clock;

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- sources ----------------------------------------------------------------

enum Source : std::uint8_t { kCommands, kControl, kOrders, kTrades, kPositions, kTob, kInstruments, kNumSources };
struct SourceDef {
  const char* name;
  const char* stream;
  const char* filter;
  const char* durable;
};
constexpr SourceDef kSources[kNumSources] = {
    {"commands", "COMMANDS", "cmd.risk.>", "oms-core-commands"},
    {"control", "COMMANDS", "cmd.control.>", "oms-core-control"},
    {"orders", "ORDERS", "orders.>", "oms-core-orders"},
    {"trades", "TRADES", "trades.>", "oms-core-trades"},
    {"positions", "POSITIONS", "positions.>", "oms-core-positions"},
    {"tob", "MARKETDATA", "md.tob.>", "oms-core-tob"},
    {"instruments", "MARKETDATA", "md.instruments.>", "oms-core-instruments"},
};
constexpr const char* kReloadSubject = "cmd.control.reload";

static_assert(kNumSources == kSrcCount && kCommands == kSrcCommands && kControl == kSrcControl &&
              kOrders == kSrcOrders && kTrades == kSrcTrades && kPositions == kSrcPositions && kTob == kSrcTob &&
              kInstruments == kSrcInstruments, "replay_order.hpp numbering");

// ---- ring items -------------------------------------------------------------

struct InItem {
  natsMsg* msg = nullptr;  // owned; handed on to the publisher for the ack
  std::uint64_t seq = 0;   // JetStream stream sequence
  std::int64_t ts = 0;     // JetStream store time (replay merge order)
  std::int64_t rx_wall = 0, rx_mono = 0;  // when the I/O thread had it (hop metrics)
  bool skip = false;       // our own REJECTED event echoed back on orders.>
  std::uint8_t trace_len = 0;
  char trace[64] = {};
};

// Deterministic replay merge order: include/oms/core/replay_order.hpp.
inline bool replay_before(const InItem& a, int sa, const InItem& b, int sb) {
  return oms::core::replay_before(ReplayKey{sa, a.seq, a.ts}, ReplayKey{sb, b.seq, b.ts});
}

enum class OutType : std::uint8_t { None, RiskDecision, OrderEvent, OrderCommand, Alert };
constexpr const char* kTypeNames[] = {"", "oms.v1.RiskDecision", "oms.v1.OrderEvent", "oms.v1.OrderCommand",
                                      "oms.v1.Alert"};

struct OutRec {
  natsMsg* input = nullptr;  // ack + destroy after this record (nullptr: more records for the same input)
  std::uint64_t index = 0;   // running record number (snapshot/publish watermark)
  std::int64_t built_mono = 0;  // engine thread: record built (hop metrics)
  std::uint16_t len = 0;     // payload bytes; 0: ack-only record
  OutType type = OutType::None;
  std::uint8_t src = 0;      // source of `input` (AckAll: ack only the newest per source)
  bool direct = false;       // already published by the engine thread (on direct_js_), before commit
  bool direct_failed = false;
  char subject[128] = {};
  char id[104] = {};      // Oms-Id
  char msg_id[104] = {};  // Nats-Msg-Id
  char trace[65] = {};
  std::uint8_t data[1024];
};

constexpr std::size_t kInRing = 4096;
constexpr std::size_t kOutRing = 4096;
using InRing = SpscRing<InItem, kInRing>;
using OutRing = SpscRing<OutRec, kOutRing>;

// Sleep/wake for an otherwise spinning consumer: the producer bumps `seq`
// and only pays for a futex wake when the consumer announced it sleeps.
struct Doorbell {
  std::atomic<std::uint32_t> seq{0};
  std::atomic<bool> sleeping{false};
  void ring() noexcept {
    seq.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping.load(std::memory_order_seq_cst))
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&seq), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  std::uint32_t snapshot() const noexcept { return seq.load(std::memory_order_acquire); }
  // Waits until seq != seen or `timeout_ms` passed.
  void wait(std::uint32_t seen, long timeout_ms) noexcept {
    sleeping.store(true, std::memory_order_seq_cst);
    if (seq.load(std::memory_order_seq_cst) == seen) {
      timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000};
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&seq), FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
    }
    sleeping.store(false, std::memory_order_relaxed);
  }
};

inline void cpu_relax() { __builtin_ia32_pause(); }

// Adaptive idle policy of a polling thread: keep polling for `spin_ns` after
// the last item (a burst, or the next command of a request/response flow,
// then costs no futex wake), then park on the Doorbell. The clock is read
// every 64 polls only (vDSO clock_gettime ~20 ns). At least 256 polls, as
// before the budget existed, so spin 0 still absorbs back-to-back rings.
class IdleSpin {
 public:
  explicit IdleSpin(std::int64_t spin_ns) : spin_ns_(spin_ns) {}
  void busy() noexcept { polls_ = 0; }
  // true: poll again now; false: park.
  bool keep_polling() noexcept {
    ++polls_;
    if (polls_ == 1) since_ = 0;
    if (polls_ < 256) { cpu_relax(); return true; }
    if ((polls_ & 63) != 0) { cpu_relax(); return true; }
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
        Clock::now().time_since_epoch()).count();
    if (since_ == 0) since_ = now;
    if (now - since_ < spin_ns_) { cpu_relax(); return true; }
    polls_ = 0;
    return false;
  }

 private:
  std::int64_t spin_ns_;
  std::int64_t since_ = 0;
  std::uint32_t polls_ = 0;
};

// Runs fn(0..n-1) on n threads and joins: the startup JetStream API calls
// (stream info, consumer info, delete/add/subscribe) are independent request/
// reply round trips per source, ~30 of them; in parallel a restart waits for
// the slowest chain instead of their sum.
template <typename F>
void parallel_for(int n, F&& fn) {
  std::vector<std::thread> ts;
  ts.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ts.emplace_back([&fn, i] { fn(i); });
  for (auto& t : ts) t.join();
}

// ---- snapshot file ------------------------------------------------------------

constexpr std::uint64_t kSnapMagic = 0x50414e5345524f43ull;  // "COREsNAP"
constexpr std::uint32_t kSnapVersion = 1;
struct SnapHeader {
  std::uint64_t magic = kSnapMagic;
  std::uint32_t version = kSnapVersion;
  std::uint32_t n_sources = kNumSources;
  std::uint64_t applied[kNumSources] = {};  // stream seq of the last input reflected
  std::int64_t created[kNumSources] = {};   // stream creation time: a recreated stream voids the snapshot
  std::uint64_t last_index = 0;             // last OutRec index produced before the snapshot
  std::int64_t taken_wall_ns = 0;
  std::uint64_t engine_bytes = 0;
};

// ---- metrics ------------------------------------------------------------------

constexpr std::size_t kReasons = 128;  // RejectReason values are < 128
constexpr std::int64_t kLatencyBounds[] = {250, 500, 1000, 2000, 5000, 10000, 50000, 100000, 1000000};
constexpr std::size_t kLatencyBuckets = sizeof kLatencyBounds / sizeof kLatencyBounds[0] + 1;

// Single writer (the engine thread) per counter: relaxed load+store, no RMW.
struct Counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

struct EngineMetrics {
  Counter accepted;
  Counter rejected[kReasons];
  Counter latency_bucket[kLatencyBuckets];
  Counter latency_sum_ns;
  Counter latency_count;
  Counter events[kNumSources];
  Counter decode_errors[kNumSources];
  Counter suppressed_outputs;
  Counter duplicates;
  Counter reloads;
  Counter reload_errors;
  Counter snapshots;
  Counter snapshot_errors;
  std::atomic<std::int64_t> snapshot_write_ns{0};
  std::atomic<std::int64_t> replay_ns{-1};
  std::atomic<std::uint64_t> replayed_events{0};
  Counter published;       // publisher thread
  Counter publish_retries; // publisher thread
  Counter acked_inputs;    // publisher thread
  // Where a command's time goes inside oms-core (sums, ns; commands only).
  Counter hop_store_to_rx_ns, hop_rx_to_engine_ns, hop_engine_to_publish_ns, hop_count, hop_pub_count, hop_direct_count;
  // Futures margin per account (engine thread writes, HTTP thread reads): a
  // slot's name is written once, before `used` is released; an asset's name
  // before `n_assets` counts it (the engine only appends assets).
  struct MarginGauge {
    std::atomic<bool> used{false};
    char account[33] = {};
    char venue[34] = {};  // exchange.market
    std::atomic<std::int64_t> ratio{0};  // kRatioScale
    std::atomic<int> level{0};
    std::atomic<int> n_assets{0};
    char asset[kMaxFuturesAssets][17] = {};
    std::atomic<std::int64_t> available[kMaxFuturesAssets] = {};  // kQuoteScale, venue-reported
    std::atomic<std::int64_t> pending[kMaxFuturesAssets] = {};    // kQuoteScale, held since that report
  };
  static constexpr int kMarginGauges = 64;
  MarginGauge margin[kMarginGauges];
};

void metric_head(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}
void metric_line(std::string& out, const char* name, const char* labels, double v) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s%s %.17g\n", name, labels, v);
  out += buf;
}

const char* reason_name(std::uint16_t r) {
  switch (static_cast<RejectReason>(r)) {
    case RejectReason::None: return "NONE";
    case RejectReason::InvalidRequest: return "INVALID_REQUEST";
    case RejectReason::UnknownInstrument: return "UNKNOWN_INSTRUMENT";
    case RejectReason::DuplicateClientOrderId: return "DUPLICATE_CLIENT_ORDER_ID";
    case RejectReason::UnknownOrder: return "UNKNOWN_ORDER";
    case RejectReason::MaxOrderQty: return "MAX_ORDER_QTY";
    case RejectReason::MaxOrderNotional: return "MAX_ORDER_NOTIONAL";
    case RejectReason::PriceCollar: return "PRICE_COLLAR";
    case RejectReason::NoReferencePrice: return "NO_REFERENCE_PRICE";
    case RejectReason::MaxOpenOrders: return "MAX_OPEN_ORDERS";
    case RejectReason::MaxPosition: return "MAX_POSITION";
    case RejectReason::MaxGrossExposure: return "MAX_GROSS_EXPOSURE";
    case RejectReason::DailyLossLimit: return "DAILY_LOSS_LIMIT";
    case RejectReason::OrderRate: return "ORDER_RATE";
    case RejectReason::TickSize: return "TICK_SIZE";
    case RejectReason::LotSize: return "LOT_SIZE";
    case RejectReason::MinNotional: return "MIN_NOTIONAL";
    case RejectReason::KillSwitch: return "KILL_SWITCH";
    case RejectReason::TradingHalted: return "TRADING_HALTED";
    case RejectReason::ReduceOnly: return "REDUCE_ONLY";
    case RejectReason::MaxLeverage: return "MAX_LEVERAGE";
    case RejectReason::InsufficientMargin: return "INSUFFICIENT_MARGIN";
    case RejectReason::MinQty: return "MIN_QTY";
  }
  return nullptr;
}

// ---- subject building (no allocation) -----------------------------------------

// Appends a subject token: empty -> "all" (cancel-all scopes), anything
// outside [A-Za-z0-9_-] -> '_' so a token can never add a level or wildcard.
std::size_t put_token(char* out, std::size_t n, std::size_t cap, std::string_view tok) {
  if (tok.empty()) tok = "all";
  if (n + 1 < cap) out[n++] = '.';
  for (char c : tok) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (n + 1 < cap) out[n++] = ok ? c : '_';
  }
  out[n] = '\0';
  return n;
}
void make_subject(char (&out)[128], const char* prefix, std::string_view ex, std::string_view mkt,
                  std::string_view sym) {
  std::size_t n = 0;
  for (const char* p = prefix; *p && n + 1 < sizeof out; ++p) out[n++] = *p;
  out[n] = '\0';
  n = put_token(out, n, sizeof out, ex);
  n = put_token(out, n, sizeof out, mkt);
  put_token(out, n, sizeof out, sym);
}
void join_id(char (&out)[104], std::string_view a, std::string_view b) {
  std::size_t n = 0;
  for (char c : a) if (n + 1 < sizeof out) out[n++] = c;
  for (char c : b) if (n + 1 < sizeof out) out[n++] = c;
  out[n] = '\0';
}

// ---- the host -----------------------------------------------------------------

class RiskEngineHost final : public EngineHost {
 public:
  explicit RiskEngineHost(const config::Config& cfg) : cfg_(cfg) {}
  ~RiskEngineHost() override { stop(); }

  const char* name() const noexcept override { return "oms_engine"; }
  nats::Status start(EngineContext& ctx) override;
  void stop() noexcept override;
  bool healthy() const noexcept override {
    return ready_.load(std::memory_order_acquire) && !fatal_.load(std::memory_order_acquire);
  }
  void reload() noexcept override;
  void render_metrics(std::string& out) const override;

 private:
  struct Consumer {
    nats::PullConsumer pc;
    bool present = false;
  };

  nats::Status setup_consumers();
  void io_loop(int src);
  void engine_loop();
  void publisher_loop();
  void writer_loop();

  void process(int src, InItem& it);
  void flush_acks();
  static constexpr bool has_outputs(int src) { return src == kCommands || src == kControl; }
  std::array<natsMsg*, kNumSources> ack_later_{};  // engine thread: newest unacked input per output-less source
  static natsMsg* make_msg(const OutRec& r);
  bool replay_step();
  void apply_settings(const RiskSettings& s);
  void push_out(OutRec* rec);
  OutRec* claim_out();
  void build_output(const Output& o, const InItem& it, std::int64_t latency_ns, OutRec& rec);
  void note_margin(std::string_view account);
  void copy_margin(const AccountState& a, EngineMetrics::MarginGauge& g);
  void refresh_margin_gauges(std::int64_t now);
  static constexpr std::int64_t kMarginRefreshNs = 200'000'000;
  std::int64_t last_margin_refresh_ns_ = 0;          // engine thread
  void maybe_snapshot(bool force);
  bool decided_commands_replayed();
  void load_recorded_decisions();
  // Decisions published for commands above the ack floor (crash between the
  // publish and the ack): command sequence → verdict. Startup only.
  std::unordered_map<std::uint64_t, StoredDecision> recorded_;
  std::uint64_t decided_floor_ = 0;  // every command at or below was decided
  bool events_replayed();
  bool write_snapshot_sync();
  std::string path(const char* file) const { return cfg_.data_dir + "/core/" + file; }

  const config::Config& cfg_;
  // EngineContext itself is a temporary of CoreService::start_runtime; keep
  // what it points to (those outlive the engine).
  nats::JetStream* js_ = nullptr;
  // Second JetStream context for the engine thread's own publishes (its own
  // pending-ack set, so the publisher can wait for exactly those).
  std::unique_ptr<nats::JetStream> direct_js_;
  std::uint64_t direct_errors_seen_ = 0;  // publisher thread
  const Logger* log_ = nullptr;

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<OutputBuffer> outbuf_;
  std::unique_ptr<OrderCommandMsg> cmd_;
  std::unique_ptr<FillMsg> fill_;
  std::unique_ptr<OrderEventMsg> event_;
  std::unique_ptr<TopOfBookMsg> tob_;
  std::unique_ptr<RiskControlMsg> control_;
  std::unique_ptr<AccountUpdateMsg> account_update_;

  std::array<Consumer, kNumSources> consumers_;
  std::array<std::unique_ptr<InRing>, kNumSources> in_;
  std::unique_ptr<OutRing> out_;
  Doorbell engine_bell_, pub_bell_, writer_bell_;

  std::array<std::uint64_t, kNumSources> applied_{};   // engine thread
  std::array<std::int64_t, kNumSources> created_{};    // stream creation times at start
  std::array<std::uint64_t, kNumSources> last_seq_{};  // stream last seq at start
  bool fresh_streams_ = false;                         // snapshot belonged to other streams
  std::array<std::uint64_t, kNumSources> suppress_{};  // outputs of seq <= this exist already
  std::array<std::atomic<bool>, kNumSources> caught_up_{};
  std::uint64_t out_index_ = 0;                      // engine thread: last OutRec index pushed
  std::atomic<std::uint64_t> published_index_{0};    // publisher: all records <= this are done
  std::uint64_t events_since_snap_ = 0;
  std::int64_t last_snap_ns_ = 0;
  std::int64_t last_input_ns_ = 0;                   // engine thread: last time an input was applied
  std::int64_t blocked_since_ = 0;                   // engine thread: replay merge waiting on a source since
  bool replay_unblocked_logged_ = false;
  std::uint64_t snap_every_events_ = 0;              // test knob OMS_CORE_SNAPSHOT_EVERY_EVENTS (0: off)
  int publish_delay_ms_ = 0;                         // test knob OMS_CORE_TEST_PUBLISH_DELAY_MS: slow publisher
  std::int64_t start_ns_ = 0;

  // Snapshot hand-off (engine thread fills snap_buf_, writer thread persists).
  std::vector<std::uint8_t> snap_buf_;
  std::atomic<int> snap_state_{0};  // 0 idle, 1 pending (writer owns snap_buf_)

  std::atomic<RiskSettings*> pending_reload_{nullptr};

  std::vector<std::thread> io_threads_;
  std::thread engine_thread_, pub_thread_, writer_thread_;
  std::atomic<bool> stop_io_{false}, io_done_{false}, engine_done_{false}, pub_done_{false}, stop_writer_{false};
  std::atomic<bool> ready_{false}, fatal_{false}, started_{false};
  bool stopped_ = false;

  mutable EngineMetrics m_;
};

// ---- start ------------------------------------------------------------------------

nats::Status RiskEngineHost::start(EngineContext& ctx) {
  js_ = &ctx.js;
  log_ = &ctx.log;
  if (auto d = nats::JetStream::create(ctx.nats); d) {
    direct_js_ = std::make_unique<nats::JetStream>(std::move(*d));
  } else {
    log_->warn("no direct JetStream context; every output goes through the publisher thread");
  }
  start_ns_ = mono_ns();
  if (const char* e = std::getenv("OMS_CORE_SNAPSHOT_EVERY_EVENTS")) snap_every_events_ = std::strtoull(e, nullptr, 10);
  if (const char* e = std::getenv("OMS_CORE_TEST_PUBLISH_DELAY_MS")) publish_delay_ms_ = std::atoi(e);

  RiskSettings settings;
  if (!cfg_.source_path.empty()) settings = load_risk_settings(cfg_.source_path);
  for (const auto& e : settings.errors) log_->error("invalid risk configuration", {{"key", e.key}, {"problem", e.message}});
  if (!settings.ok()) return nats::Status::failure(NATS_INVALID_ARG, "risk configuration");

  engine_ = std::make_unique<Engine>();
  codec_ = std::make_unique<Codec>();
  outbuf_ = std::make_unique<OutputBuffer>();
  cmd_ = std::make_unique<OrderCommandMsg>();
  fill_ = std::make_unique<FillMsg>();
  event_ = std::make_unique<OrderEventMsg>();
  tob_ = std::make_unique<TopOfBookMsg>();
  control_ = std::make_unique<RiskControlMsg>();
  account_update_ = std::make_unique<AccountUpdateMsg>();
  for (auto& r : in_) r = std::make_unique<InRing>();
  out_ = std::make_unique<OutRing>();
  snap_buf_.resize(sizeof(SnapHeader) + Engine::snapshot_size());

  std::string err;
  if (!make_dirs(cfg_.data_dir + "/core", &err)) {
    log_->error("cannot create data dir", {{"err", err}});
    return nats::Status::failure(NATS_ERR, "data dir");
  }

  // 1. stream incarnations (creation time), then the snapshot if it belongs
  //    to these very streams (a fresh nats-server store voids it).
  parallel_for(kNumSources, [&](int i) {
    for (int j = 0; j < i; ++j)
      if (std::strcmp(kSources[j].stream, kSources[i].stream) == 0) return;  // asked by source j
    jsStreamInfo* si = nullptr;
    jsErrCode jerr{};
    if (js_GetStreamInfo(&si, ctx.js.raw(), kSources[i].stream, nullptr, &jerr) == NATS_OK && si) {
      created_[i] = si->Created;
      last_seq_[i] = si->State.LastSeq;
      jsStreamInfo_Destroy(si);
    }
  });
  for (int i = 0; i < kNumSources; ++i)
    for (int j = 0; j < i; ++j)
      if (std::strcmp(kSources[j].stream, kSources[i].stream) == 0) {
        created_[i] = created_[j];
        last_seq_[i] = last_seq_[j];
        break;
      }
  const std::int64_t t_streams = mono_ns();
  {
    std::vector<std::uint8_t> snap;
    const auto t0 = mono_ns();
    if (read_file(path("engine.snap"), snap)) {
      SnapHeader h;
      bool ok = snap.size() >= sizeof h;
      if (ok) std::memcpy(&h, snap.data(), sizeof h);
      ok = ok && h.magic == kSnapMagic && h.version == kSnapVersion && h.n_sources == kNumSources &&
           h.engine_bytes == snap.size() - sizeof h;
      bool same_streams = ok;
      for (int i = 0; ok && i < kNumSources; ++i)
        same_streams = same_streams && h.created[i] == created_[i] && h.applied[i] <= last_seq_[i];
      ok = ok && same_streams && engine_->restore(snap.data() + sizeof h, snap.size() - sizeof h);
      if (ok) {
        for (int i = 0; i < kNumSources; ++i) applied_[i] = h.applied[i];
        log_->info("snapshot restored", {{"file", path("engine.snap")},
                                         {"commands_seq", std::to_string(h.applied[kCommands])},
                                         {"orders_seq", std::to_string(h.applied[kOrders])},
                                         {"trades_seq", std::to_string(h.applied[kTrades])},
                                         {"ms", std::to_string(static_cast<double>(mono_ns() - t0) / 1e6)}});
      } else {
        // Incompatible, corrupt or from other streams: replay from the start.
        log_->warn("snapshot unusable; replaying streams from the start",
                   {{"file", path("engine.snap")}, {"reason", same_streams ? "format" : "streams recreated"}});
        engine_ = std::make_unique<Engine>();
        fresh_streams_ = !same_streams;
      }
    }
  }
  // 2. limits + static instruments (config is the truth, also over a snapshot)
  apply_settings(settings);
  const std::int64_t t_snap = mono_ns();
  // 3. consumers
  if (auto st = setup_consumers(); !st) return st;
  const std::int64_t t_cons = mono_ns();
  auto ms = [](std::int64_t a, std::int64_t b) { return std::to_string(static_cast<double>(b - a) / 1e6); };
  log_->info("startup timing", {{"stream_info_ms", ms(start_ns_, t_streams)},
                                {"snapshot_ms", ms(t_streams, t_snap)},
                                {"consumers_ms", ms(t_snap, t_cons)}});

  // 4. threads
  started_ = true;
  writer_thread_ = std::thread([this] { writer_loop(); });
  pub_thread_ = std::thread([this] { publisher_loop(); });
  engine_thread_ = std::thread([this] { engine_loop(); });
  for (int i = 0; i < kNumSources; ++i) {
    if (consumers_[i].present) io_threads_.emplace_back([this, i] { io_loop(i); });
  }
  log_->info("engine pipeline started", {{"sources", std::to_string(io_threads_.size())},
                                         {"engine_cpu", std::to_string(cfg_.engine_cpu)},
                                         {"idle_spin_us", std::to_string(cfg_.idle_spin_us)}});
  return nats::Status::success();
}

void RiskEngineHost::apply_settings(const RiskSettings& s) {
  std::string err;
  if (!engine_->load_limits(s.risk, &err)) {
    m_.reload_errors.add();
    log_->error("risk limits rejected; previous limits stay", {{"err", err}});
    return;
  }
  for (const auto& spec : s.instruments) {
    if (engine_->upsert_instrument(spec) == InstrumentRegistry::kNotFound)
      log_->error("instrument not registered", {{"symbol", spec.id.symbol.view()}});
  }
}

nats::Status RiskEngineHost::setup_consumers() {
  // Previous ack floors (outputs already published) survive a crash during
  // this very step through the marker file, written before any consumer is
  // deleted.
  // File: created[kNumSources] + floor[kNumSources]; a floor only counts for
  // the same stream incarnation.
  std::array<std::uint64_t, kNumSources> marker{};
  std::array<std::int64_t, kNumSources> marker_created{};
  {
    std::vector<std::uint8_t> f;
    if (read_file(path("ackfloor"), f) && f.size() == sizeof marker + sizeof marker_created) {
      std::memcpy(marker_created.data(), f.data(), sizeof marker_created);
      std::memcpy(marker.data(), f.data() + sizeof marker_created, sizeof marker);
    }
    for (int i = 0; i < kNumSources; ++i)
      if (marker_created[i] != created_[i]) marker[i] = 0;
  }
  jsCtx* js = js_->raw();
  parallel_for(kNumSources, [&](int i) {
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr{};
    std::uint64_t floor = 0;
    if (js_GetConsumerInfo(&ci, js, kSources[i].stream, kSources[i].durable, nullptr, &jerr) == NATS_OK && ci) {
      floor = ci->AckFloor.Stream;
      jsConsumerInfo_Destroy(ci);
    }
    suppress_[i] = std::max(floor, marker[i]);
  });
  load_recorded_decisions();
  {
    const std::span<const std::uint8_t> parts[] = {
        {reinterpret_cast<const std::uint8_t*>(created_.data()), sizeof created_},
        {reinterpret_cast<const std::uint8_t*>(suppress_.data()), sizeof suppress_}};
    std::string err;
    if (!write_file_atomic(path("ackfloor"), parts, &err))
      return log_->error("cannot write ackfloor marker", {{"err", err}}), nats::Status::failure(NATS_ERR, "ackfloor");
  }
  std::array<nats::Status, kNumSources> result;
  parallel_for(kNumSources, [&](int i) {
    const SourceDef& d = kSources[i];
    jsErrCode jerr{};
    js_DeleteConsumer(js, d.stream, d.durable, nullptr, &jerr);  // not-found is fine
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = d.durable;
    // AckAll: acking seq N acks everything before it on this consumer. The
    // publisher releases inputs strictly in order, so one ack per source per
    // batch is exact and saves a publish per message (replay speed).
    cc.AckPolicy = js_AckAll;
    cc.AckWait = std::chrono::nanoseconds(std::chrono::seconds(30)).count();
    cc.MaxAckPending = 65536;
    cc.FilterSubject = d.filter;
    // Sources with outputs (commands, control) restart at the ack floor when
    // it is below the snapshot: inputs in (floor, snapshot] are in the state
    // already; the engine re-emits their stored decisions (dedup hit, no
    // state change) and the publisher republishes them (Nats-Msg-Id dedup on
    // the server). Other sources emit nothing: they restart after the snapshot.
    const bool outputs = has_outputs(i);
    const std::uint64_t start_after = outputs ? std::min(applied_[i], suppress_[i]) : applied_[i];
    if (applied_[i] > 0 && (start_after > 0 || !outputs)) {
      cc.DeliverPolicy = js_DeliverByStartSequence;
      cc.OptStartSeq = start_after + 1;
    } else {
      cc.DeliverPolicy = js_DeliverAll;
    }
    jsConsumerInfo* ci = nullptr;
    natsStatus s = js_AddConsumer(&ci, js, d.stream, &cc, nullptr, &jerr);
    // A busy server can take seconds to create a consumer over a large
    // stream (NumPending): retry timeouts instead of running without the source.
    for (int attempt = 1; s == NATS_TIMEOUT && attempt < 6; ++attempt) {
      log_->warn("consumer create timed out; retrying", {{"source", d.name}, {"attempt", std::to_string(attempt)}});
      js_DeleteConsumer(js, d.stream, d.durable, nullptr, &jerr);  // it may have been created after all
      s = js_AddConsumer(&ci, js, d.stream, &cc, nullptr, &jerr);
    }
    if (s != NATS_OK && s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
      result[i] = nats::Status::failure(s, "js_AddConsumer", jerr);
      return;
    }
    if (s != NATS_OK) {
      // Stream missing from this deployment's config: run without the source.
      log_->warn("consumer not created; source disabled",
                 {{"source", d.name}, {"stream", d.stream}, {"err", natsStatus_GetText(s)}});
      caught_up_[i] = true;
      return;
    }
    const std::uint64_t pending = ci->NumPending;
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = d.stream;
    so.Consumer = d.durable;
    natsSubscription* sub = nullptr;
    s = js_PullSubscribe(&sub, js, d.filter, d.durable, nullptr, &so, &jerr);
    if (s != NATS_OK) {
      result[i] = nats::Status::failure(s, "js_PullSubscribe", jerr);
      return;
    }
    consumers_[i].pc = nats::PullConsumer::adopt(sub);
    consumers_[i].present = true;
    caught_up_[i] = pending == 0;
    log_->info("consumer ready", {{"source", d.name},
                                  {"start_seq", std::to_string(cc.DeliverPolicy == js_DeliverAll ? 1 : cc.OptStartSeq)},
                                  {"replay", std::to_string(pending)},
                                  {"silent_upto", std::to_string(suppress_[i])}});
  });
  for (auto& r : result)
    if (!r) return r;
  return nats::Status::success();
}

// ---- I/O threads ---------------------------------------------------------------


void RiskEngineHost::io_loop(int src) {
  InRing& ring = *in_[src];
  std::vector<nats::Msg> batch;
  batch.reserve(256);
  while (!stop_io_.load(std::memory_order_acquire)) {
    batch.clear();
    auto st = consumers_[src].pc.fetch(batch, 256, std::chrono::milliseconds(200));
    if (!st && !st.timed_out()) {
      if (st.code != NATS_TIMEOUT) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (batch.empty()) {
      if (st.timed_out()) caught_up_[src].store(true, std::memory_order_release);
      continue;
    }
    std::uint64_t last_pending = 1;
    for (auto& m : batch) {
      InItem it;
      if (!parse_ack_subject(natsMsg_GetReply(m.raw()), it.seq, it.ts, last_pending)) {
        if (auto info = m.delivery_info()) {
          it.seq = info->stream_seq;
          it.ts = info->timestamp_ns;
          last_pending = info->num_pending;
        }
      }
      if (src == kCommands) {
        it.rx_wall = wall_ns();
        it.rx_mono = mono_ns();
      }
      if (const char* t = m.header("Oms-Trace-Id")) {
        std::size_t n = std::strlen(t);
        if (n > sizeof it.trace - 1) n = sizeof it.trace - 1;
        std::memcpy(it.trace, t, n);
        it.trace_len = static_cast<std::uint8_t>(n);
      }
      if (src == kOrders) {
        const char* p = m.header("Oms-Producer");
        it.skip = p && std::strcmp(p, "oms-core") == 0;
      }
      it.msg = m.release();
      while (!ring.try_push(it)) {
        if (stop_io_.load(std::memory_order_acquire)) {
          natsMsg_Destroy(it.msg);  // not processed: redelivered/replayed later
          it.msg = nullptr;
          break;
        }
        engine_bell_.ring();
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
    if (last_pending == 0) caught_up_[src].store(true, std::memory_order_release);
    engine_bell_.ring();
  }
  nats_ReleaseThreadMemory();
}

// ---- engine thread ---------------------------------------------------------------

OutRec* RiskEngineHost::claim_out() {
  for (;;) {
    if (OutRec* r = out_->try_claim()) return r;
    pub_bell_.ring();
    std::this_thread::sleep_for(std::chrono::microseconds(20));  // publisher behind: backpressure
  }
}

void RiskEngineHost::push_out(OutRec* rec) {
  rec->index = ++out_index_;
  out_->commit();
}

// The account's margin ratio, level and balances as the engine now holds
// them, for /metrics (a futures AccountUpdate registers the account).
void RiskEngineHost::note_margin(std::string_view account) {
  const AccountState* a = engine_->account(account);
  if (!a) return;
  for (auto& g : m_.margin) {
    if (g.used.load(std::memory_order_acquire)) {
      if (std::string_view(g.account) != account) continue;
    } else {
      std::snprintf(g.account, sizeof g.account, "%.*s", static_cast<int>(account.size()), account.data());
      std::snprintf(g.venue, sizeof g.venue, "%s.%s", a->fut.exchange.c_str(), a->fut.market.c_str());
      g.used.store(true, std::memory_order_release);
    }
    copy_margin(*a, g);
    return;
  }
}

void RiskEngineHost::copy_margin(const AccountState& a, EngineMetrics::MarginGauge& g) {
  g.ratio.store(a.fut.margin_ratio, std::memory_order_relaxed);
  g.level.store(static_cast<int>(a.fut.level), std::memory_order_relaxed);
  int n = g.n_assets.load(std::memory_order_relaxed);
  for (; n < a.fut.n_assets; ++n) {
    std::snprintf(g.asset[n], sizeof g.asset[n], "%s", a.fut.assets[n].asset.c_str());
    g.n_assets.store(n + 1, std::memory_order_release);
  }
  for (int i = 0; i < n; ++i) {
    g.available[i].store(a.fut.assets[i].available, std::memory_order_relaxed);
    g.pending[i].store(a.fut.assets[i].pending, std::memory_order_relaxed);
  }
}

// The margin held by orders changes with every futures order, not only with
// AccountUpdates: the engine thread refreshes the registered accounts' gauges
// at most every kMarginRefreshNs while inputs flow (off the per-order path).
void RiskEngineHost::refresh_margin_gauges(std::int64_t now) {
  if (now - last_margin_refresh_ns_ < kMarginRefreshNs) return;
  last_margin_refresh_ns_ = now;
  for (auto& g : m_.margin) {
    if (!g.used.load(std::memory_order_acquire)) break;
    if (const AccountState* a = engine_->account(g.account)) copy_margin(*a, g);
  }
}

void RiskEngineHost::build_output(const Output& o, const InItem& it, std::int64_t latency_ns, OutRec& r) {
  std::size_t n = 0;
  switch (o.kind) {
    case OutputKind::Decision: {
      const Decision& d = o.decision;
      make_subject(r.subject, "risk.decisions", d.instrument.exchange.view(), d.instrument.market.view(),
                   d.instrument.symbol.view());
      join_id(r.id, d.command_id.view(), ":decision");
      std::memcpy(r.msg_id, r.id, sizeof r.id);
      r.type = OutType::RiskDecision;
      n = codec_->encode_decision(d, latency_ns, r.data, sizeof r.data);
      if (d.result == DecisionResult::Accepted) m_.accepted.add();
      else m_.rejected[static_cast<std::uint16_t>(d.reason) % kReasons].add();
      break;
    }
    case OutputKind::OrderRejected: {
      const InstrumentId& id = o.cmd.new_order.instrument;
      make_subject(r.subject, "orders", id.exchange.view(), id.market.view(), id.symbol.view());
      join_id(r.id, o.cmd.command_id.view(), ":rej");
      std::memcpy(r.msg_id, r.id, sizeof r.id);
      r.type = OutType::OrderEvent;
      n = codec_->encode_rejected_event(o, wall_ns(), r.data, sizeof r.data);
      break;
    }
    case OutputKind::ForwardCommand:
    case OutputKind::KillCancelAll: {
      const OrderCommandMsg& c = o.cmd;
      switch (c.kind) {
        case CommandKind::NewOrder: {
          const auto& id = c.new_order.instrument;
          make_subject(r.subject, "cmd.route", id.exchange.view(), id.market.view(), id.symbol.view());
          break;
        }
        case CommandKind::CancelOrder: {
          const auto& id = c.cancel.instrument;
          make_subject(r.subject, "cmd.route", id.exchange.view(), id.market.view(), id.symbol.view());
          break;
        }
        case CommandKind::AmendOrder: {
          const auto& id = c.amend.instrument;
          make_subject(r.subject, "cmd.route", id.exchange.view(), id.market.view(), id.symbol.view());
          break;
        }
        default:
          make_subject(r.subject, "cmd.route", c.cancel_all.exchange.view(), c.cancel_all.market.view(),
                       c.cancel_all.symbol.view());
          break;
      }
      // Oms-Id is the command id; the dedup id needs a suffix because the
      // client's command sits in the same COMMANDS stream under command_id.
      join_id(r.id, c.command_id.view(), "");
      join_id(r.msg_id, c.command_id.view(), o.kind == OutputKind::KillCancelAll ? ":cancel-all" : ":route");
      r.type = OutType::OrderCommand;
      if (o.kind == OutputKind::ForwardCommand && it.msg)  // the input's bytes when they say the same
        n = codec_->encode_forward(c, reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(it.msg)),
                                   static_cast<std::size_t>(natsMsg_GetDataLength(it.msg)), r.data, sizeof r.data);
      else
        n = codec_->encode_command(c, r.data, sizeof r.data);
      break;
    }
    case OutputKind::Alert: {
      // alerts.{exchange}.{market}.{account} (stream ALERTS), one per crossing.
      const AlertMsg& a = o.alert;
      make_subject(r.subject, "alerts", a.exchange.view(), a.market.view(), a.account.view());
      join_id(r.id, a.update_id.view(), ":alert");
      std::memcpy(r.msg_id, r.id, sizeof r.id);
      r.type = OutType::Alert;
      n = codec_->encode_alert(a, r.data, sizeof r.data);
      break;
    }
    default: break;
  }
  r.len = static_cast<std::uint16_t>(n);
  std::memcpy(r.trace, it.trace, it.trace_len);
  r.trace[it.trace_len] = '\0';
}

void RiskEngineHost::process(int src, InItem& it) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(it.msg));
  const auto len = static_cast<std::size_t>(natsMsg_GetDataLength(it.msg));
  OutputBuffer& out = *outbuf_;
  out.clear();
  std::int64_t latency = 0;
  bool ok = true;
  m_.events[src].add();
  switch (src) {
    case kCommands: {
      if (it.rx_mono && ready_.load(std::memory_order_relaxed)) {  // live commands only
        m_.hop_store_to_rx_ns.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, it.rx_wall - it.ts)));
        m_.hop_rx_to_engine_ns.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, mono_ns() - it.rx_mono)));
        m_.hop_count.add();
      }
      ok = codec_->decode_command(data, len, it.seq, *cmd_);
      engine_->set_replay(it.seq != 0 && it.seq <= suppress_[kCommands]);
      const StoredDecision* forced = nullptr;
      if (!recorded_.empty()) {
        if (auto f = recorded_.find(it.seq); f != recorded_.end()) forced = &f->second;
      }
      engine_->force_verdict(forced);
      if (ok) {
        const std::int64_t t0 = mono_ns();
        const HandleStatus st = engine_->handle(*cmd_, out);
        latency = mono_ns() - t0;
        if (st == HandleStatus::Duplicate) m_.duplicates.add();
        std::size_t b = 0;
        while (b < kLatencyBuckets - 1 && latency > kLatencyBounds[b]) ++b;
        m_.latency_bucket[b].add();
        m_.latency_sum_ns.add(static_cast<std::uint64_t>(latency));
        m_.latency_count.add();
      }
      engine_->force_verdict(nullptr);
      engine_->set_replay(false);
      if (forced) recorded_.erase(it.seq);
      break;
    }
    case kControl: {
      const char* subj = natsMsg_GetSubject(it.msg);
      if (std::strcmp(subj, kReloadSubject) == 0) {
        RiskSettings s = load_risk_settings(cfg_.source_path);
        if (s.ok()) {
          apply_settings(s);
          m_.reloads.add();
          log_->info("risk limits reloaded", {{"trigger", kReloadSubject}});
        } else {
          m_.reload_errors.add();
          for (const auto& e : s.errors) log_->error("reload rejected", {{"key", e.key}, {"problem", e.message}});
        }
      } else {
        ok = codec_->decode_risk_control(data, len, *control_);
        if (ok) engine_->handle(*control_, out);
      }
      break;
    }
    case kOrders:
      // Our own REJECTED echo is a no-op live (the order never entered the
      // book); during replay it retires an order restored by a silent command.
      if (!it.skip || !ready_.load(std::memory_order_relaxed)) {
        ok = codec_->decode_order_event(data, len, *event_);
        if (ok) engine_->handle(*event_, out);
      }
      break;
    case kTrades:
      ok = codec_->decode_fill(data, len, *fill_);
      if (ok) engine_->handle(*fill_, out);
      break;
    case kPositions:
      ok = codec_->decode_account_update(data, len, *account_update_);
      if (ok) {
        engine_->handle(*account_update_, out);
        if (is_futures_market(account_update_->market.view())) note_margin(account_update_->account.view());
      }
      break;
    case kTob:
      ok = codec_->decode_top_of_book(data, len, *tob_);
      if (ok) engine_->handle(*tob_);
      break;
    case kInstruments:
      ok = codec_->decode_instrument_list(data, len, [this](const InstrumentSpec& s) { engine_->upsert_instrument(s); });
      break;
    default: break;
  }
  if (!ok) m_.decode_errors[src].add();
  if (it.seq > applied_[src]) applied_[src] = it.seq;
  ++events_since_snap_;

  // Sources whose handlers never emit (orders, trades, positions, market
  // data): nothing to wait for before acking, so no out-ring record and no
  // publisher round: the engine thread keeps the newest message per source
  // and acks it (AckAll) once per loop pass. ~95% of a replay is md.tob.
  if (!has_outputs(src) && out.count == 0) {
    if (ack_later_[src]) natsMsg_Destroy(ack_later_[src]);  // covered by the newer one's AckAll
    ack_later_[src] = it.msg;
    it.msg = nullptr;
    return;
  }
  const bool silent = it.seq != 0 && it.seq <= suppress_[src];
  // Publisher idle (nothing queued, so every earlier output is acked):
  // publish on this thread right away instead of waking the publisher - one
  // thread hop less on the decision's path. Under load the publisher thread
  // publishes (batches), keeping the engine thread on decisions.
  const bool direct = direct_js_ && out.count > 0 && !silent && out_->size_approx() == 0;
  OutRec* last = nullptr;
  if (silent) {
    m_.suppressed_outputs.add(out.count);
  } else {
    for (std::size_t k = 0; k < out.count; ++k) {
      if (last) push_out(last);
      last = claim_out();
      last->input = nullptr;
      last->direct = false;
      last->direct_failed = false;
      build_output(out.items[k], it, latency, *last);
      last->built_mono = src == kCommands ? mono_ns() : 0;
      if (direct && last->len) {
        // Published before the record is committed: when the publisher sees
        // it, it is pending on direct_js_ (or marked failed).
        last->direct = true;
        natsMsg* m = make_msg(*last);
        if (!m || js_PublishMsgAsync(direct_js_->raw(), &m, nullptr) != NATS_OK) {
          if (m) natsMsg_Destroy(m);
          last->direct_failed = true;
        }
      }
    }
  }
  if (!last) {
    last = claim_out();
    last->len = 0;
    last->type = OutType::None;
    last->direct = false;
    last->direct_failed = false;
  }
  last->input = it.msg;  // the publisher acks the input after this record
  last->src = static_cast<std::uint8_t>(src);
  it.msg = nullptr;
  push_out(last);
}

void RiskEngineHost::load_recorded_decisions() {
  recorded_.clear();
  decided_floor_ = suppress_[kCommands];
  jsCtx* js = js_->raw();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  if (js_GetStreamInfo(&si, js, "DECISIONS", nullptr, &jerr) != NATS_OK || !si) return;
  const std::uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  // Newest first, down to the first decision at or below the ack floor:
  // decisions are published in command order, so that bounds the scan to the
  // in-flight window at the crash.
  constexpr std::size_t kMaxScan = 200000;
  std::size_t scanned = 0;
  for (std::uint64_t seq = last; seq >= first && seq > 0 && scanned < kMaxScan; --seq, ++scanned) {
    natsMsg* m = nullptr;
    if (js_GetMsg(&m, js, "DECISIONS", seq, nullptr, &jerr) != NATS_OK || !m) continue;
    bool stop = false;
    if (std::strncmp(natsMsg_GetSubject(m), "risk.decisions.", 15) == 0) {
      Oms__V1__RiskDecision* d = oms__v1__risk_decision__unpack(
          nullptr, static_cast<std::size_t>(natsMsg_GetDataLength(m)),
          reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(m)));
      if (d) {
        if (d->command_sequence <= suppress_[kCommands]) {
          stop = true;
        } else {
          StoredDecision v;
          v.result = static_cast<DecisionResult>(d->result);
          v.reason = static_cast<RejectReason>(d->reason_code);
          if (d->reason_text) v.text.put(d->reason_text);
          recorded_.emplace(d->command_sequence, v);
          if (d->command_sequence > decided_floor_) decided_floor_ = d->command_sequence;
        }
        oms__v1__risk_decision__free_unpacked(d, nullptr);
      }
    }
    natsMsg_Destroy(m);
    if (stop) break;
  }
  log_->info("recorded decisions above the ack floor", {{"count", std::to_string(recorded_.size())},
                                                         {"ack_floor", std::to_string(suppress_[kCommands])},
                                                         {"decided_upto", std::to_string(decided_floor_)}});
}

bool RiskEngineHost::decided_commands_replayed() {
  if (applied_[kCommands] >= decided_floor_) return true;
  if (const InItem* f = in_[kCommands]->front(); f && f->seq > decided_floor_) return true;
  // Commands at or below the floor may have been removed from the stream.
  return caught_up_[kCommands].load(std::memory_order_acquire) && in_[kCommands]->size_approx() == 0;
}

bool RiskEngineHost::events_replayed() {
  for (int src : {kOrders, kTrades}) {
    if (!consumers_[src].present) continue;
    if (!caught_up_[src].load(std::memory_order_acquire) || in_[src]->size_approx() != 0) return false;
  }
  return true;
}

void RiskEngineHost::flush_acks() {
  for (int src = 0; src < kNumSources; ++src) {
    if (natsMsg* m = ack_later_[src]) {
      natsMsg_Ack(m, nullptr);
      natsMsg_Destroy(m);
      ack_later_[src] = nullptr;
      m_.acked_inputs.add();
    }
  }
}

void RiskEngineHost::engine_loop() {
  if (cfg_.engine_cpu >= 0) {
    if (int e = pin_current_thread(cfg_.engine_cpu); e != 0)
      log_->warn("engine thread not pinned", {{"cpu", std::to_string(cfg_.engine_cpu)}, {"err", std::strerror(e)}});
  }
  std::uint32_t seen = engine_bell_.snapshot();
  IdleSpin idle(static_cast<std::int64_t>(cfg_.idle_spin_us) * 1000);
  last_snap_ns_ = mono_ns();
  for (;;) {
    if (RiskSettings* s = pending_reload_.exchange(nullptr, std::memory_order_acq_rel)) {
      apply_settings(*s);
      m_.reloads.add();
      log_->info("risk limits reloaded", {{"trigger", "SIGHUP"}});
      delete s;
    }
    bool any = false;
    if (!ready_.load(std::memory_order_relaxed)) {
      // Startup replay: causal phases (decided commands, then order events
      // and fills, then undecided commands) and, among the sources a phase
      // allows, a deterministic merge by store time (replay_step).
      any = replay_step();
    } else {
      for (int src = 0; src < kNumSources; ++src) {
        InRing& r = *in_[src];
        for (int k = 0; k < 64; ++k) {
          InItem* it = const_cast<InItem*>(r.front());
          if (!it) break;
          process(src, *it);
          r.pop();
          any = true;
        }
      }
    }
    if (any) {
      flush_acks();
      pub_bell_.ring();
      idle.busy();
      last_input_ns_ = mono_ns();
      refresh_margin_gauges(last_input_ns_);
      maybe_snapshot(false);
      continue;
    }
    if (!ready_.load(std::memory_order_relaxed)) {
      bool all = true;
      for (int i = 0; i < kNumSources; ++i) all = all && caught_up_[i].load(std::memory_order_acquire);
      if (all) {
        bool empty = true;  // re-check: an I/O thread may have pushed after the scan
        for (auto& r : in_) empty = empty && r->size_approx() == 0;
        if (empty) {
          const std::int64_t dt = mono_ns() - start_ns_;
          std::uint64_t n = 0;
          for (auto& e : m_.events) n += e.get();
          m_.replay_ns.store(dt, std::memory_order_relaxed);
          m_.replayed_events.store(n, std::memory_order_relaxed);
          engine_->settle_margin_after_replay();  // the replay's phases reordered orders and balance reports
          ready_.store(true, std::memory_order_release);
          log_->info("engine ready", {{"replayed_events", std::to_string(n)},
                                      {"replay_ms", std::to_string(static_cast<double>(dt) / 1e6)}});
        }
      }
    }
    if (io_done_.load(std::memory_order_acquire)) {
      bool empty = true;
      for (auto& r : in_) empty = empty && r->size_approx() == 0;
      if (empty) break;
    }
    maybe_snapshot(false);
    refresh_margin_gauges(mono_ns());  // the last batch's margin, once the flow stops
    if (idle.keep_polling()) continue;
    engine_bell_.wait(seen, 100);
    seen = engine_bell_.snapshot();
  }
  flush_acks();
  engine_done_.store(true, std::memory_order_release);
  pub_bell_.ring();
}

// Replay (before ready): always apply the input that comes first in the
// replay order (replay_before) among the heads of every source; a source that
// has not caught up yet and has nothing queued may still deliver an earlier
// one, so wait for it. Messages stored after the restart are newer than every
// replayed one, so they cannot change the order of the replayed ones.
bool RiskEngineHost::replay_step() {
  bool any = false;
  for (int n = 0; n < 512; ++n) {
    // Causal phases first (see engine_loop): which sources may go now.
    const bool decided_done = decided_commands_replayed();
    const bool events_done = decided_done && events_replayed();
    int best = -1;
    InItem* bi = nullptr;
    for (int src = 0; src < kNumSources; ++src) {
      if ((src == kOrders || src == kTrades || src == kPositions) && !decided_done) continue;
      const bool done = caught_up_[src].load(std::memory_order_acquire);  // before front(): see above
      InItem* f = const_cast<InItem*>(in_[src]->front());
      if (src == kCommands && decided_done && !events_done) continue;  // undecided commands: after the events
      if (!f) {
        if (!done) {
          // Liveness over order: a source that delivers nothing for 2 s
          // (its consumer failing) must not stall the others.
          const std::int64_t now = mono_ns();
          if (blocked_since_ == 0) blocked_since_ = now;
          if (now - blocked_since_ < 2'000'000'000) return any;
          if (!replay_unblocked_logged_) {
            replay_unblocked_logged_ = true;
            log_->warn("replay: a source delivers nothing; merging without it", {{"source", kSources[src].name}});
          }
        }
        continue;
      }
      if (!bi || replay_before(*f, src, *bi, best)) {
        best = src;
        bi = f;
      }
    }
    if (best < 0) return any;
    blocked_since_ = 0;
    process(best, *bi);
    in_[best]->pop();
    any = true;
  }
  return any;
}

void RiskEngineHost::maybe_snapshot(bool force) {
  if (events_since_snap_ == 0) return;
  const std::int64_t now = mono_ns();
  const std::int64_t since = now - last_snap_ns_;
  const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.snapshot_interval).count();
  // Bound the replay tail (startup time) by events, not only by time: at
  // most ~100k events after the last snapshot, and not more than 1 per second.
  // Also as soon as the inputs pause (100 ms without one), so a restart after
  // a burst replays (almost) nothing. The copy is ~20 MB (a few ms); the
  // writer thread persists it, and a snapshot is skipped while it is busy.
  const bool due = force || (snap_every_events_ > 0 && events_since_snap_ >= snap_every_events_) ||
                   (events_since_snap_ >= 20'000 && since >= 200'000'000) ||
                   (now - last_input_ns_ >= 100'000'000 && since >= 200'000'000) ||
                   (since >= std::min<std::int64_t>(interval, 10'000'000'000) && since >= 1'000'000'000);
  if (!due || snap_state_.load(std::memory_order_acquire) != 0) return;
  SnapHeader h;
  for (int i = 0; i < kNumSources; ++i) {
    h.applied[i] = applied_[i];
    h.created[i] = created_[i];
  }
  h.last_index = out_index_;
  h.taken_wall_ns = wall_ns();
  h.engine_bytes = Engine::snapshot_size();
  std::memcpy(snap_buf_.data(), &h, sizeof h);
  if (!engine_->snapshot(snap_buf_.data() + sizeof h, snap_buf_.size() - sizeof h)) return;
  events_since_snap_ = 0;
  last_snap_ns_ = now;
  snap_state_.store(1, std::memory_order_release);
  writer_bell_.ring();
}

// ---- snapshot writer ---------------------------------------------------------------

void RiskEngineHost::writer_loop() {
  std::uint32_t seen = writer_bell_.snapshot();
  while (!stop_writer_.load(std::memory_order_acquire)) {
    if (snap_state_.load(std::memory_order_acquire) != 1) {
      writer_bell_.wait(seen, 200);
      seen = writer_bell_.snapshot();
      continue;
    }
    write_snapshot_sync();
    snap_state_.store(0, std::memory_order_release);
  }
}

bool RiskEngineHost::write_snapshot_sync() {
  const std::int64_t t0 = mono_ns();
  const std::span<const std::uint8_t> part(snap_buf_.data(), snap_buf_.size());
  std::string err;
  // No wait for the publisher: outputs of inputs in the snapshot that were
  // not published yet are re-emitted after a restart, because the command and
  // control consumers restart from their ack floor (<= the snapshot), and
  // the engine answers those already-applied commands from its dedup table
  // with the stored decision (the server drops the ones that were published,
  // by Nats-Msg-Id). So snapshots follow the input rate, not publisher lag.
  const bool ok = write_file_atomic(path("engine.snap"), std::span(&part, 1), &err);
  if (ok) {
    m_.snapshots.add();
    m_.snapshot_write_ns.store(mono_ns() - t0, std::memory_order_relaxed);
  } else {
    m_.snapshot_errors.add();
    log_->warn("snapshot not written", {{"err", err}});
  }
  return ok;
}

// ---- publisher -------------------------------------------------------------------

natsMsg* RiskEngineHost::make_msg(const OutRec& r) {
  natsMsg* m = nullptr;
  if (natsMsg_Create(&m, r.subject, nullptr, reinterpret_cast<const char*>(r.data), r.len) != NATS_OK) return nullptr;
  natsMsgHeader_Set(m, "Nats-Msg-Id", r.msg_id);
  natsMsgHeader_Set(m, "Oms-Type", kTypeNames[static_cast<int>(r.type)]);
  natsMsgHeader_Set(m, "Oms-Id", r.id);
  natsMsgHeader_Set(m, "Oms-Producer", "oms-core");
  natsMsgHeader_Set(m, "Content-Type", "application/protobuf");
  if (r.trace[0]) natsMsgHeader_Set(m, "Oms-Trace-Id", r.trace);
  return m;
}

void RiskEngineHost::publisher_loop() {
  jsCtx* js = js_->raw();
  std::uint32_t seen = pub_bell_.snapshot();
  IdleSpin idle(static_cast<std::int64_t>(cfg_.idle_spin_us) * 1000);
  for (;;) {
    const std::size_t n = std::min<std::size_t>(out_->available(), 512);
    if (n == 0) {
      if (engine_done_.load(std::memory_order_acquire) && out_->available() == 0) break;
      if (idle.keep_polling()) continue;
      pub_bell_.wait(seen, 100);
      seen = pub_bell_.snapshot();
      continue;
    }
    idle.busy();
    if (publish_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(publish_delay_ms_));
    // 1. publish every output of the batch asynchronously...
    const std::uint64_t errors_before = js_->async_errors();
    bool any = false, failed = false, any_direct = false;
    for (std::size_t i = 0; i < n; ++i) {
      const OutRec& r = out_->at(i);
      if (r.len == 0) continue;
      if (r.built_mono && r.type == OutType::RiskDecision) {
        m_.hop_engine_to_publish_ns.add(
            r.direct ? 0 : static_cast<std::uint64_t>(std::max<std::int64_t>(0, mono_ns() - r.built_mono)));
        m_.hop_pub_count.add();
        if (r.direct) m_.hop_direct_count.add();
      }
      if (r.direct) {  // published by the engine thread
        any_direct = true;
        failed = failed || r.direct_failed;
        continue;
      }
      natsMsg* m = make_msg(r);
      if (!m || js_PublishMsgAsync(js, &m, nullptr) != NATS_OK) {
        if (m) natsMsg_Destroy(m);
        failed = true;
        break;
      }
      any = true;
    }
    // 2. ...wait for the stream's acks...
    if (any && !failed) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 5000;
      failed = js_PublishAsyncComplete(js, &po) != NATS_OK;
    }
    if (any_direct && !failed) {
      // Every direct record of the batch was published before it was
      // committed, so it is pending (or done) on direct_js_ now.
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 5000;
      failed = js_PublishAsyncComplete(direct_js_->raw(), &po) != NATS_OK;
    }
    if (direct_js_) {
      // Any direct-publish error since the last batch: republish this batch
      // (conservative; same Nats-Msg-Id, so no duplicates).
      const std::uint64_t e = direct_js_->async_errors();
      failed = failed || e != direct_errors_seen_;
      direct_errors_seen_ = e;
    }
    failed = failed || js_->async_errors() != errors_before;
    // ...or republish one by one until acked (same Nats-Msg-Id: no duplicates).
    for (std::size_t i = 0; failed && i < n; ++i) {
      const OutRec& r = out_->at(i);
      if (r.len == 0) continue;
      for (int attempt = 0;; ++attempt) {
        natsMsg* m = make_msg(r);
        jsPubAck* pa = nullptr;
        jsErrCode jerr{};
        const natsStatus s = m ? js_PublishMsg(&pa, js, m, nullptr, &jerr) : NATS_NO_MEMORY;
        if (pa) jsPubAck_Destroy(pa);
        if (m) natsMsg_Destroy(m);
        if (s == NATS_OK) break;
        m_.publish_retries.add();
        if (attempt == 0) log_->warn("publish failed; retrying", {{"subject", r.subject}, {"err", natsStatus_GetText(s)}});
        if (stop_io_.load(std::memory_order_acquire) && attempt >= 3) {
          // Shutting down with NATS unreachable: leave the inputs unacked;
          // they are replayed after restart.
          fatal_.store(true);
          for (std::size_t k = 0; k < out_->available(); ++k) {
            OutRec& x = out_->at(k);
            if (x.input) natsMsg_Destroy(x.input), x.input = nullptr;
          }
          out_->pop_n(out_->available());
          pub_done_.store(true, std::memory_order_release);
          nats_ReleaseThreadMemory();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    // 3. ...and only then ack the inputs (newest per source; AckAll).
    std::uint64_t last = 0;
    std::size_t newest[kNumSources];
    for (auto& x : newest) x = SIZE_MAX;
    for (std::size_t i = 0; i < n; ++i) {
      const OutRec& r = out_->at(i);
      if (r.input) newest[r.src] = i;
    }
    for (std::size_t i = 0; i < n; ++i) {
      OutRec& r = out_->at(i);
      if (r.len) m_.published.add();
      if (r.input) {
        if (newest[r.src] == i) natsMsg_Ack(r.input, nullptr);
        natsMsg_Destroy(r.input);
        r.input = nullptr;
        m_.acked_inputs.add();
      }
      last = r.index;
    }
    out_->pop_n(n);
    published_index_.store(last, std::memory_order_release);
  }
  pub_done_.store(true, std::memory_order_release);
  nats_ReleaseThreadMemory();
}

// ---- stop / reload / metrics --------------------------------------------------------

void RiskEngineHost::stop() noexcept {
  if (stopped_ || !started_) return;
  stopped_ = true;
  stop_io_.store(true, std::memory_order_release);
  for (auto& t : io_threads_) t.join();
  io_done_.store(true, std::memory_order_release);
  engine_bell_.ring();
  if (engine_thread_.joinable()) engine_thread_.join();
  pub_bell_.ring();
  if (pub_thread_.joinable()) pub_thread_.join();
  // Wait for an in-flight snapshot, then take a final one if everything
  // was published: the next start replays nothing.
  while (snap_state_.load(std::memory_order_acquire) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop_writer_.store(true, std::memory_order_release);
  writer_bell_.ring();
  if (writer_thread_.joinable()) writer_thread_.join();
  if (published_index_.load() == out_index_ && !fatal_.load()) {
    events_since_snap_ = events_since_snap_ ? events_since_snap_ : 1;
    maybe_snapshot(true);
    if (snap_state_.load() == 1) {
      write_snapshot_sync();
      snap_state_.store(0);
    }
  }
  for (auto& c : consumers_) c.pc.close(false);
  ready_.store(false);
  if (RiskSettings* s = pending_reload_.exchange(nullptr)) delete s;
}

void RiskEngineHost::reload() noexcept {
  try {
    auto s = std::make_unique<RiskSettings>(load_risk_settings(cfg_.source_path));
    if (!s->ok()) {
      m_.reload_errors.add();
      for (const auto& e : s->errors) log_->error("reload rejected", {{"key", e.key}, {"problem", e.message}});
      return;
    }
    if (RiskSettings* old = pending_reload_.exchange(s.release(), std::memory_order_acq_rel)) delete old;
    engine_bell_.ring();
  } catch (...) {
    m_.reload_errors.add();
  }
}

void RiskEngineHost::render_metrics(std::string& out) const {
  char labels[160];
  metric_head(out, "oms_core_decisions_total", "counter", "Risk decisions published, by result and reason.");
  metric_line(out, "oms_core_decisions_total", "{result=\"accepted\",reason=\"NONE\"}", static_cast<double>(m_.accepted.get()));
  for (std::size_t r = 0; r < kReasons; ++r) {
    const std::uint64_t v = m_.rejected[r].get();
    const char* name = reason_name(static_cast<std::uint16_t>(r));
    if (!name || (v == 0 && r != static_cast<std::size_t>(RejectReason::KillSwitch))) continue;
    std::snprintf(labels, sizeof labels, "{result=\"rejected\",reason=\"%s\"}", name);
    metric_line(out, "oms_core_decisions_total", labels, static_cast<double>(v));
  }
  metric_head(out, "oms_core_check_latency_seconds", "histogram",
              "Engine time per order command (dedup + checks + state + outputs).");
  std::uint64_t cum = 0;
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
    cum += m_.latency_bucket[b].get();
    if (b + 1 < kLatencyBuckets)
      std::snprintf(labels, sizeof labels, "{le=\"%.9g\"}", static_cast<double>(kLatencyBounds[b]) / 1e9);
    else
      std::snprintf(labels, sizeof labels, "{le=\"+Inf\"}");
    metric_line(out, "oms_core_check_latency_seconds_bucket", labels, static_cast<double>(cum));
  }
  metric_line(out, "oms_core_check_latency_seconds_sum", "", static_cast<double>(m_.latency_sum_ns.get()) / 1e9);
  metric_line(out, "oms_core_check_latency_seconds_count", "", static_cast<double>(m_.latency_count.get()));

  metric_head(out, "oms_core_ring_depth", "gauge", "Items waiting in the SPSC rings.");
  if (started_) {
    for (int i = 0; i < kNumSources; ++i) {
      std::snprintf(labels, sizeof labels, "{ring=\"in\",source=\"%s\"}", kSources[i].name);
      metric_line(out, "oms_core_ring_depth", labels, static_cast<double>(in_[i]->size_approx()));
    }
    metric_line(out, "oms_core_ring_depth", "{ring=\"out\",source=\"publisher\"}", static_cast<double>(out_->size_approx()));
  }
  // One family per metric, its samples together (the exposition format
  // requires it): per account, then per account and margin asset.
  using Gauge = EngineMetrics::MarginGauge;
  auto per_account = [&](const char* name, const char* help, auto value) {
    metric_head(out, name, "gauge", help);
    for (const Gauge& g : m_.margin) {
      if (!g.used.load(std::memory_order_acquire)) break;
      std::snprintf(labels, sizeof labels, "{account=\"%s\",venue=\"%s\"}", g.account, g.venue);
      metric_line(out, name, labels, value(g));
    }
  };
  auto per_asset = [&](const char* name, const char* help, auto value) {
    metric_head(out, name, "gauge", help);
    for (const Gauge& g : m_.margin) {
      if (!g.used.load(std::memory_order_acquire)) break;
      const int n = g.n_assets.load(std::memory_order_acquire);
      for (int i = 0; i < n; ++i) {
        std::snprintf(labels, sizeof labels, "{account=\"%s\",venue=\"%s\",asset=\"%s\"}", g.account, g.venue, g.asset[i]);
        metric_line(out, name, labels, value(g, i));
      }
    }
  };
  per_account("oms_core_margin_ratio",
              "Futures account margin ratio (maintenance margin / margin balance) from the venue's last update.",
              [](const Gauge& g) { return static_cast<double>(g.ratio.load(std::memory_order_relaxed)) / 1e8; });
  per_account("oms_core_margin_level", "Futures account margin alert level: 0 ok, 1 warning, 2 critical.",
              [](const Gauge& g) { return static_cast<double>(g.level.load(std::memory_order_relaxed)); });
  per_asset("oms_core_margin_available", "Futures available balance per margin asset, as the venue last reported it.",
            [](const Gauge& g, int i) { return static_cast<double>(g.available[i].load(std::memory_order_relaxed)) / 1e8; });
  per_asset("oms_core_margin_pending",
            "Futures initial margin held by orders oms-core accepted since that report (checked against available).",
            [](const Gauge& g, int i) { return static_cast<double>(g.pending[i].load(std::memory_order_relaxed)) / 1e8; });
  metric_head(out, "oms_core_events_total", "counter", "Input messages applied by the engine, by source.");
  for (int i = 0; i < kNumSources; ++i) {
    std::snprintf(labels, sizeof labels, "{source=\"%s\"}", kSources[i].name);
    metric_line(out, "oms_core_events_total", labels, static_cast<double>(m_.events[i].get()));
  }
  metric_head(out, "oms_core_decode_errors_total", "counter", "Input messages that failed to decode, by source.");
  for (int i = 0; i < kNumSources; ++i) {
    std::snprintf(labels, sizeof labels, "{source=\"%s\"}", kSources[i].name);
    metric_line(out, "oms_core_decode_errors_total", labels, static_cast<double>(m_.decode_errors[i].get()));
  }
  const double replay = static_cast<double>(m_.replay_ns.load(std::memory_order_relaxed));
  metric_head(out, "oms_core_replay_seconds", "gauge", "Startup to ready: snapshot restore + stream tail replay (-1 before ready).");
  metric_line(out, "oms_core_replay_seconds", "", replay < 0 ? -1 : replay / 1e9);
  metric_head(out, "oms_core_replay_events", "gauge", "Input messages applied before ready.");
  metric_line(out, "oms_core_replay_events", "", static_cast<double>(m_.replayed_events.load(std::memory_order_relaxed)));
  struct C { const char* name; const char* help; const Counter& c; };
  const C counters[] = {
      {"oms_core_replay_suppressed_outputs_total", "Outputs not republished during replay (already published before the restart).", m_.suppressed_outputs},
      {"oms_core_duplicate_commands_total", "Redelivered commands answered with the stored decision.", m_.duplicates},
      {"oms_core_published_total", "Outputs published to JetStream and acked.", m_.published},
      {"oms_core_publish_retries_total", "Synchronous republish attempts after a failed batch.", m_.publish_retries},
      {"oms_core_acked_inputs_total", "Input messages acked after their outputs were stored.", m_.acked_inputs},
      {"oms_core_limit_reloads_total", "Risk limit reloads applied (SIGHUP or cmd.control.reload).", m_.reloads},
      {"oms_core_limit_reload_errors_total", "Risk limit reloads rejected (old limits kept).", m_.reload_errors},
      {"oms_core_snapshots_total", "Engine snapshots written.", m_.snapshots},
      {"oms_core_hop_store_to_fetch_ns_total", "Live commands: JetStream store time to the I/O thread having it (ns, sum).", m_.hop_store_to_rx_ns},
      {"oms_core_hop_fetch_to_engine_ns_total", "Live commands: I/O thread to engine thread (ns, sum).", m_.hop_rx_to_engine_ns},
      {"oms_core_hop_commands_total", "Live commands counted in the hop sums above.", m_.hop_count},
      {"oms_core_hop_engine_to_publish_ns_total", "Decisions: built on the engine thread to published (0 when the engine thread published it; ns, sum).", m_.hop_engine_to_publish_ns},
      {"oms_core_hop_decisions_total", "Decisions counted in oms_core_hop_engine_to_publish_ns_total.", m_.hop_pub_count},
      {"oms_core_hop_direct_decisions_total", "Decisions published by the engine thread itself (publisher idle).", m_.hop_direct_count},
      {"oms_core_snapshot_errors_total", "Engine snapshots that failed or were abandoned.", m_.snapshot_errors},
  };
  for (const auto& c : counters) {
    metric_head(out, c.name, "counter", c.help);
    metric_line(out, c.name, "", static_cast<double>(c.c.get()));
  }
  metric_head(out, "oms_core_snapshot_write_seconds", "gauge", "Duration of the last snapshot write (incl. fsync).");
  metric_line(out, "oms_core_snapshot_write_seconds", "", static_cast<double>(m_.snapshot_write_ns.load()) / 1e9);
}

}  // namespace

std::unique_ptr<EngineHost> make_risk_engine_host(const config::Config& config) {
  return std::make_unique<RiskEngineHost>(config);
}

}  // namespace oms::core
