// oms-engine-train: the training run of the engine's profile-guided build
// (cmake option OMS_PGO, see engine/CMakeLists.txt).
//
// Why a separate workload: the profile decides which code GCC lays out as
// hot, so it should look like oms-core's traffic, not like the benchmark
// that later measures the result. This is a seeded, mixed flow over several
// instruments (spot and futures) and accounts, in a market maker's
// proportions, every command going through bytes -> Codec -> Engine ->
// encoded outputs as in oms-core's engine thread: limit/market/IOC/post-only
// orders, ~1 in 9 rejected (collar, size, lot/tick, duplicate client id,
// unknown instrument, kill switch), order events (ack, partial fill, fill,
// cancel, amend), fills with fees, redelivered commands and events,
// top-of-book moves and venue account updates. It prints what it did; the
// numbers are not a benchmark.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "oms/engine/codec.hpp"
#include "oms/engine/engine.hpp"

using namespace oms::engine;

namespace {

constexpr std::int64_t kT0 = 1'760'000'000'000'000'000LL;

struct Rng {  // xorshift64*: deterministic across platforms
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
};

struct Market {
    InstrumentSpec spec;
    std::int64_t mid;  // price_scale units
};

InstrumentSpec spec_of(const char* ex, const char* mkt, const char* sym, const char* base, const char* quote,
                       int price_scale, int qty_scale, std::int64_t tick, std::int64_t lot) {
    InstrumentSpec s;
    s.id.exchange.assign(ex); s.id.market.assign(mkt); s.id.symbol.assign(sym);
    s.base_asset.assign(base); s.quote_asset.assign(quote);
    s.price_scale = price_scale; s.qty_scale = qty_scale; s.tick_size = tick; s.lot_size = lot; s.min_qty = lot;
    s.min_notional = 5 * kPow10[kQuoteScale];
    return s;
}

// Ids as a connector or oms-server writes them (variable length, decimal).
template <std::size_t N>
void put_id(FixedString<N>& dst, const char* prefix, std::uint64_t n) {
    char buf[N];
    std::snprintf(buf, sizeof buf, "%s%llu", prefix, static_cast<unsigned long long>(n));
    dst.assign(buf);
}

struct LiveOrder {
    OrderId id;
    std::uint32_t market = 0;
    std::int64_t qty = 0, filled = 0, price = 0;  // instrument scales
    bool acked = false;
};

class Trainer {
public:
    explicit Trainer(std::uint64_t seed) : rng_{seed | 1}, engine_(std::make_unique<Engine>()) {
        markets_ = {
            Market{spec_of("binance", "spot", "BTCUSDT", "BTC", "USDT", 2, 5, 1, 1), 6'500'000},
            Market{spec_of("binance", "spot", "ETHUSDT", "ETH", "USDT", 2, 4, 1, 1), 320'000},
            Market{spec_of("binance", "futures", "BTCUSDT", "BTC", "USDT", 1, 3, 1, 1), 650'000},
            Market{spec_of("bybit", "spot", "SOLUSDT", "SOL", "USDT", 3, 3, 10, 10), 150'000},
        };
        for (const Market& m : markets_) engine_->upsert_instrument(m.spec);
        // Every check on, limits a busy desk would hit now and then; one
        // account tighter. (Designated initializers: LimitValues' field order.)
        RiskConfig c;
        c.defaults = LimitValues{.max_order_qty = "50", .max_position_long = "500", .max_position_short = "500",
                                 .max_order_notional = "250000", .max_long_notional = "20000000",
                                 .max_short_notional = "20000000", .max_gross_exposure = "30000000",
                                 .daily_loss_limit = "5000000", .orders_per_second = "5000", .order_burst = {},
                                 .max_open_orders = 400, .max_open_orders_per_symbol = 150, .price_collar_bps = 300,
                                 .max_leverage = 50, .leverage = {}, .margin_ratio_warning = "0.6",
                                 .margin_ratio_critical = "0.8"};
        c.accounts.emplace_back("acct-7", LimitValues{.max_order_qty = "2", .orders_per_second = "200"});
        engine_->load_limits(c);
        live_.reserve(4096);
    }

    void run(std::uint64_t steps) {
        for (std::uint64_t i = 0; i < steps; ++i) {
            now_ += 20'000 + rng_.below(200'000);  // 5-50k messages per second of simulated time
            const std::uint32_t r = rng_.below(1000);
            // A market maker's mix: book updates and new orders dominate,
            // most orders end cancelled, a few fill.
            if (r < 250) new_order();
            else if (r < 400) ack();
            else if (r < 460) fill();
            else if (r < 650) cancel();
            else if (r < 680) amend();
            else if (r < 970) book();
            else if (r < 990) redeliver();
            else if (r < 998) account_update();
            else kill_switch_flip();
        }
    }

    void report() const {
        const auto& st = engine_->stats();
        std::printf("oms-engine-train: %llu commands (%llu accepted, %llu rejected, %llu duplicates), %llu events, "
                    "%llu fills, %llu book updates; %zu orders live; %llu output bytes\n",
                    static_cast<unsigned long long>(st.commands), static_cast<unsigned long long>(st.accepted),
                    static_cast<unsigned long long>(st.rejected), static_cast<unsigned long long>(st.duplicates),
                    static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.fills),
                    static_cast<unsigned long long>(st.md_updates), live_.size(),
                    static_cast<unsigned long long>(out_bytes_));
    }

private:
    // bytes -> decode -> handle -> encode every output, as oms-core's engine thread.
    void command(const OrderCommandMsg& c) {
        const std::size_t n = codec_.encode_command(c, wire_.data(), wire_.size());
        if (!n) return;
        last_len_ = n;
        last_wire_ = wire_;
        dispatch(wire_.data(), n);
    }
    void dispatch(const std::uint8_t* data, std::size_t n) {
        if (!codec_.decode_command(data, n, ++seq_, cmd_)) return;
        out_.clear();
        engine_->handle(cmd_, out_);
        encode_outputs(data, n);
    }
    void encode_outputs(const std::uint8_t* in, std::size_t in_len) {
        for (std::size_t k = 0; k < out_.count; ++k) {
            const Output& o = out_.items[k];
            out_bytes_ += o.kind == OutputKind::ForwardCommand
                              ? codec_.encode_forward(o.cmd, in, in_len, obuf_.data(), obuf_.size())
                              : codec_.encode(o, 350, now_, obuf_.data(), obuf_.size());
        }
    }
    bool accepted() const {
        for (std::size_t k = 0; k < out_.count; ++k)
            if (out_.items[k].kind == OutputKind::ForwardCommand) return true;
        return false;
    }

    void new_order() {
        const std::uint32_t mi = rng_.below(100) < 3 ? 99 : rng_.below(static_cast<std::uint32_t>(markets_.size()));
        const Market& m = markets_[mi == 99 ? 0 : mi];
        OrderCommandMsg c;
        put_id(c.command_id, "cmd-", ++ids_);
        c.kind = CommandKind::NewOrder;
        NewOrderMsg& o = c.new_order;
        put_id(o.order_id, "ord-", ids_);
        // 1 in 50 reuses a recent client order id (duplicate: rejected).
        put_id(o.client_order_id, "cl-", rng_.below(50) == 0 && ids_ > 10 ? ids_ - 1 - rng_.below(8) : ids_);
        put_id(o.account, "acct-", rng_.below(12));
        o.instrument = m.spec.id;
        if (mi == 99) o.instrument.symbol.assign("NOPEUSDT");
        o.side = rng_.below(2) ? Side::Buy : Side::Sell;
        const std::uint32_t kind = rng_.below(100);
        o.type = kind < 80 ? OrderType::Limit : kind < 92 ? OrderType::Market : OrderType::LimitMaker;
        o.time_in_force = kind < 70 ? 1 : kind < 80 ? 3 : 0;  // GTC, IOC
        o.post_only = o.type == OrderType::LimitMaker;
        // Mostly sensible sizes; a few over the limits or finer than the lot.
        std::int64_t lots = 1 + rng_.below(400);
        if (rng_.below(40) == 0) lots *= 1000;
        o.quantity = Decimal{lots * m.spec.lot_size, m.spec.qty_scale};
        if (rng_.below(100) == 0) o.quantity = Decimal{o.quantity.mantissa * 10 + 3, m.spec.qty_scale + 1};
        if (o.type != OrderType::Market) {
            // Within ~2% of the mid, sometimes outside the 3% collar.
            const std::int64_t spread = m.mid / 50;
            std::int64_t px = m.mid + (o.side == Side::Buy ? -1 : 1) * static_cast<std::int64_t>(rng_.below(static_cast<std::uint32_t>(spread)));
            if (rng_.below(30) == 0) px = o.side == Side::Buy ? m.mid * 105 / 100 : m.mid * 95 / 100;
            px -= px % m.spec.tick_size;
            o.price = Decimal{px, m.spec.price_scale};
            o.has_price = true;
        }
        o.reduce_only = m.spec.id.market == "futures" && rng_.below(10) == 0;
        o.ts_ns = now_;
        command(c);
        if (accepted() && live_.size() < live_.capacity()) {
            LiveOrder l;
            l.id = o.order_id;
            l.market = mi;
            l.qty = o.quantity.mantissa;
            l.price = o.has_price ? o.price.mantissa : m.mid;
            live_.push_back(l);
        }
    }

    LiveOrder* pick() {
        if (live_.empty()) return nullptr;
        return &live_[rng_.below(static_cast<std::uint32_t>(live_.size()))];
    }
    void forget(LiveOrder* l) {
        *l = live_.back();
        live_.pop_back();
    }
    void event(const LiveOrder& l, OrderEventType type, OrderStatus status) {
        OrderEventMsg e;
        put_id(e.event_id, "ev-", ++ids_);
        e.type = type;
        e.order_id = l.id;
        e.status = status;
        e.ts_event_ns = now_;
        if (type == OrderEventType::Amended) {
            e.quantity = Decimal{l.qty, markets_[l.market].spec.qty_scale};
            e.price = Decimal{l.price, markets_[l.market].spec.price_scale};
            e.has_quantity = e.has_price = true;
        }
        last_event_ = e;
        out_.clear();
        engine_->handle(e, out_);
    }

    void ack() {
        if (LiveOrder* l = pick(); l && !l->acked) {
            l->acked = true;
            event(*l, OrderEventType::Accepted, OrderStatus::Accepted);
        }
    }
    void fill() {
        LiveOrder* l = pick();
        if (!l) return;
        const Market& m = markets_[l->market];
        const std::int64_t leaves = l->qty - l->filled;
        const std::int64_t q = rng_.below(3) == 0 ? leaves : std::max<std::int64_t>(m.spec.lot_size, leaves / 2);
        FillMsg f;
        put_id(f.trade_id, "t", ++ids_);
        f.order_id = l->id;
        f.instrument = m.spec.id;
        f.price = Decimal{l->price, m.spec.price_scale};
        f.quantity = Decimal{q, m.spec.qty_scale};
        f.commission = Decimal{q * l->price / 1000 + 1, m.spec.price_scale + m.spec.qty_scale};
        f.commission_asset = m.spec.quote_asset;
        f.ts_event_ns = now_;
        out_.clear();
        engine_->handle(f, out_);
        l->filled += q;
        event(*l, l->filled >= l->qty ? OrderEventType::Filled : OrderEventType::PartiallyFilled,
              l->filled >= l->qty ? OrderStatus::Filled : OrderStatus::PartiallyFilled);
        if (l->filled >= l->qty) forget(l);
    }
    void cancel() {
        LiveOrder* l = pick();
        if (!l) return;
        OrderCommandMsg c;
        put_id(c.command_id, "cmd-", ++ids_);
        c.kind = CommandKind::CancelOrder;
        c.cancel.order_id = l->id;
        put_id(c.cancel.account, "acct-", 0);
        c.cancel.instrument = markets_[l->market].spec.id;
        c.cancel.ts_ns = now_;
        command(c);
        event(*l, OrderEventType::PendingCancel, OrderStatus::PendingCancel);
        event(*l, OrderEventType::Canceled, OrderStatus::Canceled);
        forget(l);
    }
    void amend() {
        LiveOrder* l = pick();
        if (!l || markets_[l->market].spec.id.market == "futures") return;
        const Market& m = markets_[l->market];
        OrderCommandMsg c;
        put_id(c.command_id, "cmd-", ++ids_);
        c.kind = CommandKind::AmendOrder;
        c.amend.order_id = l->id;
        put_id(c.amend.account, "acct-", 0);
        c.amend.instrument = m.spec.id;
        l->price += (rng_.below(2) ? 1 : -1) * m.spec.tick_size * (1 + rng_.below(5));
        c.amend.new_price = Decimal{l->price, m.spec.price_scale};
        c.amend.has_new_price = true;
        c.amend.ts_ns = now_;
        command(c);
        event(*l, accepted() ? OrderEventType::Amended : OrderEventType::AmendRejected, OrderStatus::Accepted);
    }
    void book() {
        Market& m = markets_[rng_.below(static_cast<std::uint32_t>(markets_.size()))];
        m.mid += (static_cast<std::int64_t>(rng_.below(21)) - 10) * m.spec.tick_size;
        TopOfBookMsg t;
        t.instrument = m.spec.id;
        t.price_scale = m.spec.price_scale;
        t.bid_price = m.mid - m.spec.tick_size;
        t.ask_price = m.mid + m.spec.tick_size;
        t.ts_event_ns = now_;
        engine_->handle(t);
    }
    // JetStream redelivery after a missed ack: the same bytes, or the same event.
    void redeliver() {
        if (rng_.below(2) && last_len_) {
            dispatch(last_wire_.data(), last_len_);
        } else if (!last_event_.event_id.empty()) {
            out_.clear();
            engine_->handle(last_event_, out_);
        }
    }
    void account_update() {
        const Market& fut = markets_[2];
        AccountUpdateMsg u;
        put_id(u.update_id, "au-", ++ids_);
        put_id(u.account, "acct-", rng_.below(12));
        u.exchange = fut.spec.id.exchange;
        u.market = fut.spec.id.market;
        u.n_balances = 1;
        u.balances[0].asset.assign("USDT");
        u.balances[0].free = Decimal{static_cast<std::int64_t>(50'000 + rng_.below(1'000'000)), 0};
        u.n_positions = 1;
        PositionEntry& p = u.positions[0];
        p.instrument = fut.spec.id;
        p.quantity = Decimal{static_cast<std::int64_t>(rng_.below(2000)) - 1000, fut.spec.qty_scale};
        p.entry_price = Decimal{fut.mid, fut.spec.price_scale};
        p.mark_price = Decimal{fut.mid, fut.spec.price_scale};
        p.has_entry_price = p.has_mark_price = true;
        p.leverage = 10;
        p.margin_ratio = Decimal{static_cast<std::int64_t>(rng_.below(900)), 3};
        p.has_margin_ratio = true;
        u.ts_event_ns = now_;
        out_.clear();
        engine_->handle(u, out_);
        encode_outputs(nullptr, 0);
    }
    void kill_switch_flip() {
        RiskControlMsg rc;
        rc.kind = RiskControlKind::KillSwitch;
        put_id(rc.kill.command_id, "ks-", ++ids_);
        rc.kill.scope = KillScope::Account;
        put_id(rc.kill.account, "acct-", 11);  // one account, engaged and released in turn
        rc.kill.engaged = !kill_on_;
        kill_on_ = !kill_on_;
        rc.kill.ts_ns = now_;
        out_.clear();
        engine_->handle(rc, out_);
        encode_outputs(nullptr, 0);
    }

    Rng rng_;
    std::unique_ptr<Engine> engine_;
    Codec codec_;
    std::vector<Market> markets_;
    std::vector<LiveOrder> live_;
    OrderCommandMsg cmd_;
    OutputBuffer out_;
    OrderEventMsg last_event_;
    std::array<std::uint8_t, 2048> wire_{}, last_wire_{}, obuf_{};
    std::size_t last_len_ = 0;
    std::uint64_t ids_ = 0, seq_ = 0, out_bytes_ = 0;
    std::int64_t now_ = kT0;
    bool kill_on_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t steps = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400'000;
    auto t = std::make_unique<Trainer>(2026);
    t->run(steps);
    t->report();
    return 0;
}
