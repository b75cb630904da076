// Futures pre-trade checks (pure functions: pass / fail / exact boundary) and
// the same checks and the margin-ratio monitor through Engine::handle.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "oms/engine/codec.hpp"
#include "oms/engine/futures_risk.hpp"
#include "oms/v1/positions.pb-c.h"

using namespace oms::engine;
using namespace oms::engine::test;

namespace {

constexpr std::int64_t Q = kPow10[kQuoteScale];  // one quote unit
constexpr std::int64_t R = kPow10[kRatioScale];  // ratio 1.0

OrderView view(Side side, std::int64_t qty, std::int64_t notional, bool ro = false) {
    OrderView o;
    o.side = side;
    o.type = OrderType::Limit;
    o.qty = qty;
    o.notional = notional;
    o.reduce_only = ro;
    return o;
}

// Binance's BTCUSDT brackets (FuturesSymbolConfig.defaultBrackets in venue-sim):
// caps 50k/250k/1M/10M... at 125/100/50/20x...
BracketSet btc_brackets() {
    BracketSet b;
    const std::pair<std::int64_t, std::int32_t> rows[] = {
        {50'000, 125}, {250'000, 100}, {1'000'000, 50}, {10'000'000, 20}, {20'000'000, 10}};
    for (auto [cap, lev] : rows) b.brackets[b.n++] = Bracket{cap * Q, lev};
    return b;
}

}  // namespace

// ---- reduce-only -----------------------------------------------------------

TEST(FuturesReduceOnly, OneWayPassFailBoundary) {
    FuturesSlot f;
    Position pos;
    pos.qty = 2'000;  // long 2 BTC
    f.ro_sell_qty = 500;  // 0.5 already in other reduce-only sells
    RejectText t;
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Sell, 1'000, 0, true), t), RejectReason::None);
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Sell, 1'500, 0, true), t), RejectReason::None)
        << "exactly position - other reduce-only passes";
    t.clear();
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Sell, 1'501, 0, true), t), RejectReason::ReduceOnly);
    EXPECT_EQ(t.view(), "reduce-only qty 1.501 > position 2.000 - open reduce-only 0.500");
    t.clear();
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Buy, 1, 0, true), t), RejectReason::ReduceOnly)
        << "same side as the position never reduces";
    EXPECT_EQ(t.view(), "reduce-only BUY with no short position to reduce (position 2.000)");
    // Not reduce-only: not this check's business.
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Buy, 9'999, 0), t), RejectReason::None);
}

TEST(FuturesReduceOnly, HedgeModeLegs) {
    FuturesSlot f;
    f.hedge = true;
    f.long_leg = 1'000;
    f.short_leg = 3'000;
    Position pos;
    pos.qty = -2'000;  // net short; the legs decide in hedge mode
    RejectText t;
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Sell, 1'000, 0, true), t), RejectReason::None)
        << "SELL reduce-only closes the LONG leg even though the net is short";
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Sell, 1'001, 0, true), t), RejectReason::ReduceOnly);
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Buy, 3'000, 0, true), t), RejectReason::None);
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Buy, 3'001, 0, true), t), RejectReason::ReduceOnly);
    f.long_leg = 0;
    EXPECT_EQ(check_futures_reduce_only(f, pos, fut_spec(), view(Side::Sell, 1, 0, true), t), RejectReason::ReduceOnly);
}

// ---- leverage --------------------------------------------------------------

TEST(FuturesLeverage, EffectiveLeverageSources) {
    FuturesSlot f;
    SymbolLimits l;
    EXPECT_EQ(effective_leverage(f, l), 20) << "Binance's default before anything is configured";
    l.leverage = 10;
    EXPECT_EQ(effective_leverage(f, l), 10) << "configured leverage before the venue reports one";
    f.leverage = 25;
    EXPECT_EQ(effective_leverage(f, l), 25) << "venue-reported leverage wins";
}

TEST(FuturesLeverage, TighterOfAccountAndSymbolPassFailBoundary) {
    AccountLimits a;
    SymbolLimits s;
    RejectText t;
    EXPECT_EQ(check_max_leverage(125, a, s, t), RejectReason::None) << "unset: unlimited";
    a.max_leverage = 20;
    s.max_leverage = 10;
    EXPECT_EQ(check_max_leverage(10, a, s, t), RejectReason::None) << "at the limit passes";
    EXPECT_EQ(check_max_leverage(11, a, s, t), RejectReason::MaxLeverage);
    EXPECT_EQ(t.view(), "leverage 11x > max 10x");
    s.max_leverage = kUnlimited;
    EXPECT_EQ(check_max_leverage(20, a, s, t), RejectReason::None);
    EXPECT_EQ(check_max_leverage(21, a, s, t), RejectReason::MaxLeverage);
}

// ---- brackets --------------------------------------------------------------

TEST(FuturesBrackets, CapOfTheHighestBracketAllowingTheLeverage) {
    const BracketSet b = btc_brackets();
    EXPECT_EQ(bracket_cap(b, 125), 50'000 * Q);
    EXPECT_EQ(bracket_cap(b, 101), 50'000 * Q);
    EXPECT_EQ(bracket_cap(b, 100), 250'000 * Q);
    EXPECT_EQ(bracket_cap(b, 20), 10'000'000 * Q);
    EXPECT_EQ(bracket_cap(b, 1), 20'000'000 * Q);
    EXPECT_EQ(bracket_cap(b, 126), -1);
}

TEST(FuturesBrackets, WorstCasePositionNotionalPassFailBoundary) {
    const BracketSet b = btc_brackets();
    Exposure e;
    e.open_buy_notional = 10'000 * Q;  // live buys
    e.open_sell_notional = 70'000 * Q;
    const std::int64_t pos_notional = 30'000 * Q;  // long, at the reference
    RejectText t;
    // 100x: cap 250,000. Long side: 30,000 + 10,000 + order.
    EXPECT_EQ(check_bracket_notional(b, 100, e, pos_notional, view(Side::Buy, 1, 210'000 * Q), t), RejectReason::None);
    EXPECT_EQ(check_bracket_notional(b, 100, e, pos_notional, view(Side::Buy, 1, 210'000 * Q + 1), t),
              RejectReason::MaxPosition);
    EXPECT_EQ(t.view(), "worst-case position notional 250000.00000001 > bracket cap 250000.00 at 100x");
    // 125x: cap 50,000. Short side: -30,000 + 70,000 + order 10,000 = 50,000: at the cap.
    EXPECT_EQ(check_bracket_notional(b, 125, e, pos_notional, view(Side::Sell, 1, 10'000 * Q), t), RejectReason::None);
    EXPECT_EQ(check_bracket_notional(b, 125, e, pos_notional, view(Side::Sell, 1, 10'000 * Q + 1), t),
              RejectReason::MaxPosition);
    t.clear();
    EXPECT_EQ(check_bracket_notional(b, 126, e, pos_notional, view(Side::Buy, 1, Q), t), RejectReason::MaxLeverage);
    EXPECT_EQ(t.view(), "leverage 126x above every notional bracket (max 125x)");
    BracketSet none;
    EXPECT_EQ(check_bracket_notional(none, 125, e, pos_notional, view(Side::Buy, 1, 1'000'000'000 * Q), t),
              RejectReason::None) << "no brackets configured: no cap";
}

// ---- initial margin --------------------------------------------------------

// Binance FAQ "How to Avoid Liquidation on Binance Futures"
// (https://www.binance.com/en/support/faq/25edcd7fe0e544839d0847b8cbb2e400): "Assume you have a wallet balance
// of 500 USDT. You entered a long BTCUSDT position worth 1,000 USDT with 20x leverage at $50,000."
// Initial margin = notional / leverage = 1,000 / 20 = 50 USDT.
TEST(FuturesInitialMargin, FaqPositionAt20xPassFailBoundary) {
    FuturesAccount::Asset usdt;
    usdt.asset.assign("USDT");
    EXPECT_EQ(initial_margin(1'000 * Q, 20), 50 * Q);
    EXPECT_EQ(initial_margin(1, 3), 1) << "rounded up: never under-reserve";
    RejectText t;
    usdt.available = 500 * Q;
    EXPECT_EQ(check_initial_margin(1'000 * Q, 20, &usdt, t), RejectReason::None);
    usdt.available = 50 * Q;
    EXPECT_EQ(check_initial_margin(1'000 * Q, 20, &usdt, t), RejectReason::None) << "exactly enough";
    usdt.available = 50 * Q - 1;
    EXPECT_EQ(check_initial_margin(1'000 * Q, 20, &usdt, t), RejectReason::InsufficientMargin);
    EXPECT_EQ(t.view(), "initial margin 50.00 (notional 1000.00 / 20x) > available 49.99999999 USDT");
    EXPECT_EQ(check_initial_margin(1'000 * Q, 20, nullptr, t), RejectReason::None) << "no balance reported yet";
    EXPECT_EQ(check_initial_margin(-1, 20, &usdt, t), RejectReason::None) << "unknown notional";
}

// The margin of orders accepted since the venue's balance report is pending:
// what is left is available - pending.
TEST(FuturesInitialMargin, PendingMarginPassFailBoundary) {
    FuturesAccount::Asset usdt;
    usdt.asset.assign("USDT");
    usdt.available = 500 * Q;
    usdt.pending = 450 * Q;
    RejectText t;
    EXPECT_EQ(check_initial_margin(1'000 * Q, 20, &usdt, t), RejectReason::None) << "50 left: exactly enough";
    usdt.pending = 450 * Q + 1;
    EXPECT_EQ(check_initial_margin(1'000 * Q, 20, &usdt, t), RejectReason::InsufficientMargin);
    EXPECT_EQ(t.view(), "initial margin 50.00 (notional 1000.00 / 20x) > available 500.00 - pending 450.00000001 USDT "
                        "(orders since the last balance update)");
}

// ---- margin levels ---------------------------------------------------------

TEST(FuturesMarginLevel, RaiseOnCrossingLowerPastHysteresis) {
    AccountLimits l;
    l.margin_ratio_warning = R / 2;          // 0.50
    l.margin_ratio_critical = R * 8 / 10;    // 0.80
    l.margin_ratio_hysteresis = R / 20;      // 0.05
    using L = MarginLevel;
    EXPECT_EQ(next_margin_level(L::Ok, R / 2 - 1, l), L::Ok);
    EXPECT_EQ(next_margin_level(L::Ok, R / 2, l), L::Warning) << "at the threshold raises";
    EXPECT_EQ(next_margin_level(L::Warning, R * 46 / 100, l), L::Warning) << "inside the band: held";
    EXPECT_EQ(next_margin_level(L::Warning, R * 45 / 100, l), L::Warning) << "exactly threshold - hysteresis: held";
    EXPECT_EQ(next_margin_level(L::Warning, R * 45 / 100 - 1, l), L::Ok);
    EXPECT_EQ(next_margin_level(L::Ok, R * 8 / 10, l), L::Critical) << "straight to critical";
    EXPECT_EQ(next_margin_level(L::Critical, R * 76 / 100, l), L::Critical);
    EXPECT_EQ(next_margin_level(L::Critical, R * 74 / 100, l), L::Warning);
    EXPECT_EQ(next_margin_level(L::Critical, R / 10, l), L::Ok);
    AccountLimits off;
    EXPECT_EQ(next_margin_level(L::Ok, 50 * R, off), L::Ok) << "no thresholds configured";
}

// ---- through the engine ----------------------------------------------------

namespace {

struct FuturesEngine : ::testing::Test {
    std::unique_ptr<Engine> e;
    RiskConfig cfg;
    void SetUp() override {
        cfg.allow_missing_reference = true;
        e = std::make_unique<Engine>();
        e->upsert_instrument(btc_spec());
        e->upsert_instrument(fut_spec());
    }
    void load() {
        std::string err;
        ASSERT_TRUE(e->load_limits(cfg, &err)) << err;
    }
    static OrderCommandMsg order(const std::string& id, Side side, std::int64_t qty, std::int64_t px, bool ro = false,
                                 const std::string& acct = "acc1") {
        return fut_order(id, side, qty, px, ro, acct);
    }
    static AccountUpdateMsg update(const std::string& id, std::int64_t qty, std::int32_t lev, std::int64_t ratio_8dp,
                                   std::int64_t avail_2dp, std::int64_t ts, const std::string& acct = "acc1") {
        return fut_update(id, qty, lev, ratio_8dp, avail_2dp, ts, acct);
    }
    HandleStatus apply(const AccountUpdateMsg& u, OutputBuffer* keep = nullptr) {
        OutputBuffer out;
        HandleStatus s = e->handle(u, out);
        if (keep) *keep = out;
        return s;
    }
    void accept(const std::string& id, const std::string& ev) { on(id, ev, OrderEventType::Accepted); }
    HandleStatus on(const std::string& id, const std::string& ev, OrderEventType type) {
        OutputBuffer out;
        return e->handle(event(ev, id, type), out);
    }
    // USDT margin held by orders accepted since the last balance update.
    std::int64_t pending(const std::string& acct = "acc1") const {
        Str16 usdt;
        usdt.assign("USDT");
        const AccountState* a = e->account(acct);
        const FuturesAccount::Asset* b = a ? a->fut.find(usdt) : nullptr;
        return b ? b->pending : -1;  // -1: no USDT balance reported
    }
};

}  // namespace

TEST_F(FuturesEngine, LeverageFromPositionUpdatesOverConfigured) {
    LimitValues sym;
    sym.max_leverage = 20;
    sym.leverage = 10;
    cfg.symbols.emplace_back("binance.futures.BTCUSDT", sym);
    load();
    EXPECT_EQ(decide(*e, order("o1", Side::Buy, 1, 600'000)).result, DecisionResult::Accepted)
        << "configured 10x before any update";
    ASSERT_EQ(apply(update("u1", 0, 25, 0, 1'000'000, T0 + 1)), HandleStatus::Ok);  // leverage changed to 25x
    Decision d = decide(*e, order("o2", Side::Buy, 1, 600'000));
    EXPECT_EQ(d.result, DecisionResult::Rejected);
    EXPECT_EQ(d.reason, RejectReason::MaxLeverage);
    EXPECT_EQ(d.text.view(), "leverage 25x > max 20x");
    // Leverage lowered while the position is open: orders pass again.
    ASSERT_EQ(apply(update("u2", 1, 20, 1'000'000, 1'000'000, T0 + 2)), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, order("o3", Side::Buy, 1, 600'000)).result, DecisionResult::Accepted);
    // Spot BTCUSDT is untouched by the futures limits.
    EXPECT_EQ(decide(*e, new_order("s1", Side::Buy, 100, 6'000'000)).result, DecisionResult::Accepted);
    // A fill newer than the next report: the report's quantity is stale, its leverage still applies.
    accept("o3", "ev-o3");
    OutputBuffer out;
    ASSERT_EQ(e->handle(fut_fill("t1", "o3", Side::Buy, 1, 600'000, T0 + 10), out), HandleStatus::Ok);
    ASSERT_EQ(apply(update("u3", 5, 30, 1'000'000, 1'000'000, T0 + 5)), HandleStatus::Ok);
    EXPECT_EQ(e->position("acc1", fut())->qty, 2) << "stale quantity not applied";
    d = decide(*e, order("o4", Side::Buy, 1, 600'000));
    EXPECT_EQ(d.reason, RejectReason::MaxLeverage);
    EXPECT_EQ(d.text.view(), "leverage 30x > max 20x");
}

TEST_F(FuturesEngine, BracketCapFromConfigAtTheLeverageInEffect) {
    cfg.brackets.push_back({"BTCUSDT", {{"50000", 125}, {"250000", 100}, {"1000000", 50}}});
    load();
    ASSERT_EQ(apply(update("u1", 0, 100, 0, 100'000'000, T0)), HandleStatus::Ok);
    // 100x: cap 250,000 = 4.166 BTC at 60,000 = 249,960; 4.167 = 250,020.
    EXPECT_EQ(decide(*e, order("o1", Side::Buy, 4'166, 600'000)).result, DecisionResult::Accepted);
    Decision d = decide(*e, order("o2", Side::Buy, 1, 600'000));  // + 60 on top of the open 249,960
    EXPECT_EQ(d.reason, RejectReason::MaxPosition);
    EXPECT_EQ(d.text.view(), "worst-case position notional 250020.00 > bracket cap 250000.00 at 100x");
    ASSERT_EQ(apply(update("u2", 0, 50, 0, 100'000'000, T0 + 1)), HandleStatus::Ok);  // 50x: cap 1,000,000
    EXPECT_EQ(decide(*e, order("o3", Side::Buy, 1, 600'000)).result, DecisionResult::Accepted);
}

TEST_F(FuturesEngine, ReduceOnlyCountsOtherReduceOnlyOrders) {
    load();
    ASSERT_EQ(apply(update("u1", 2'000, 20, 1'000'000, 100'000'000, T0)), HandleStatus::Ok);  // long 2
    EXPECT_EQ(decide(*e, order("r1", Side::Sell, 1'500, 610'000, true)).result, DecisionResult::Accepted);
    Decision d = decide(*e, order("r2", Side::Sell, 501, 610'000, true));
    EXPECT_EQ(d.reason, RejectReason::ReduceOnly);
    EXPECT_EQ(d.text.view(), "reduce-only qty 0.501 > position 2.000 - open reduce-only 1.500");
    EXPECT_EQ(decide(*e, order("r3", Side::Sell, 500, 610'000, true)).result, DecisionResult::Accepted) << "boundary";
    d = decide(*e, order("r4", Side::Buy, 1, 590'000, true));
    EXPECT_EQ(d.reason, RejectReason::ReduceOnly) << "same side as the long";
    // r1 canceled: its quantity is free again.
    OutputBuffer out;
    e->handle(event("ev-r1", "r1", OrderEventType::Canceled), out);
    EXPECT_EQ(decide(*e, order("r5", Side::Sell, 1'500, 610'000, true)).result, DecisionResult::Accepted);
}

TEST_F(FuturesEngine, HedgeModeReduceOnlyUsesTheLegs) {
    load();
    AccountUpdateMsg u = update("u1", 0, 20, 0, 100'000'000, T0);
    PositionEntry& p = u.positions[0];
    p.hedge = true;
    p.long_leg = Decimal{1'000, 3};
    p.short_leg = Decimal{3'000, 3};
    p.quantity = Decimal{-2'000, 3};
    p.has_entry_price = false;
    ASSERT_EQ(apply(u), HandleStatus::Ok);
    EXPECT_EQ(e->position("acc1", fut())->qty, -2'000);
    EXPECT_EQ(decide(*e, order("h1", Side::Sell, 1'000, 610'000, true)).result, DecisionResult::Accepted)
        << "closes the LONG leg although the net is short";
    EXPECT_EQ(decide(*e, order("h2", Side::Sell, 1, 610'000, true)).reason, RejectReason::ReduceOnly);
    EXPECT_EQ(decide(*e, order("h3", Side::Buy, 3'000, 590'000, true)).result, DecisionResult::Accepted);
    // A fill of the reduce-only SELL closes the LONG leg: nothing left for another one.
    accept("h1", "ev-h1");
    const FillMsg f = fut_fill("t1", "h1", Side::Sell, 1'000, 610'000, T0 + 1);
    OutputBuffer out;
    ASSERT_EQ(e->handle(f, out), HandleStatus::Ok);
    EXPECT_EQ(e->position("acc1", fut())->qty, -3'000) << "net = long 0 - short 3";
    EXPECT_EQ(decide(*e, order("h4", Side::Sell, 1, 610'000, true)).reason, RejectReason::ReduceOnly);
    // A plain BUY opens (adds to) the LONG leg again.
    FillMsg g = f;
    g.trade_id.assign("t2");
    g.order_id.clear();
    g.side = Side::Buy;
    g.quantity = Decimal{500, 3};
    g.ts_event_ns = T0 + 2;
    ASSERT_EQ(e->handle(g, out), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, order("h5", Side::Sell, 500, 610'000, true)).result, DecisionResult::Accepted);
}

TEST_F(FuturesEngine, InitialMarginAgainstReportedAvailableBalance) {
    load();
    // No balance reported yet: not checked here.
    EXPECT_EQ(decide(*e, order("m0", Side::Buy, 100, 600'000)).result, DecisionResult::Accepted);
    ASSERT_EQ(apply(update("u1", 0, 20, 0, 30'000, T0)), HandleStatus::Ok);  // 300.00 USDT available, 20x
    Decision d = decide(*e, order("m2", Side::Buy, 100, 600'010));
    EXPECT_EQ(d.reason, RejectReason::InsufficientMargin);
    EXPECT_EQ(d.text.view(), "initial margin 300.005 (notional 6000.10 / 20x) > available 300.00 USDT");
    // 0.1 BTC @ 60,000 = 6,000 / 20 = 300: exactly available.
    EXPECT_EQ(decide(*e, order("m1", Side::Buy, 100, 600'000)).result, DecisionResult::Accepted);
    // The reject travels as an OrderRejected output with the same code and text.
    OutputBuffer out;
    decide(*e, order("m3", Side::Buy, 200, 600'000), &out);
    bool seen = false;
    for (std::size_t i = 0; i < out.count; ++i)
        if (out.items[i].kind == OutputKind::OrderRejected) {
            seen = true;
            EXPECT_EQ(out.items[i].decision.reason, RejectReason::InsufficientMargin);
            EXPECT_NE(out.items[i].decision.text.view().find("initial margin 600.00"), std::string_view::npos);
        }
    EXPECT_TRUE(seen);
    // Reduce-only orders need no margin.
    ASSERT_EQ(apply(update("u2", 1'000, 20, 1'000'000, 0, T0 + 1)), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, order("m4", Side::Sell, 1'000, 600'000, true)).result, DecisionResult::Accepted);
}

TEST_F(FuturesEngine, MarginAlertsOnCrossingNotOnEveryUpdate) {
    LimitValues acct;
    acct.margin_ratio_warning = "0.5";
    acct.margin_ratio_critical = "0.8";
    acct.margin_ratio_hysteresis = "0.05";
    cfg.accounts.emplace_back("acc1", acct);
    load();
    auto alerts = [&](const AccountUpdateMsg& u) {
        OutputBuffer out;
        EXPECT_EQ(apply(u, &out), HandleStatus::Ok);
        std::vector<AlertMsg> v;
        for (std::size_t i = 0; i < out.count; ++i)
            if (out.items[i].kind == OutputKind::Alert) v.push_back(out.items[i].alert);
        return v;
    };
    EXPECT_TRUE(alerts(update("u1", 1'000, 20, 40'000'000, 0, T0 + 1)).empty());
    auto a = alerts(update("u2", 1'000, 20, 50'000'000, 0, T0 + 2));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].severity, AlertSeverity::Warning);
    EXPECT_EQ(a[0].previous, AlertSeverity::Ok);
    EXPECT_EQ(a[0].ratio, 50'000'000);
    EXPECT_EQ(a[0].threshold, 50'000'000);
    EXPECT_EQ(a[0].update_id.view(), "u2");
    EXPECT_EQ(a[0].text.view(), "margin ratio 0.50 >= warning 0.50");
    EXPECT_TRUE(alerts(update("u3", 1'000, 20, 52'000'000, 0, T0 + 3)).empty()) << "still warning: no repeat";
    EXPECT_TRUE(alerts(update("u4", 1'000, 20, 46'000'000, 0, T0 + 4)).empty()) << "inside the hysteresis band";
    a = alerts(update("u5", 1'000, 20, 44'000'000, 0, T0 + 5));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].severity, AlertSeverity::Ok);
    EXPECT_EQ(a[0].threshold, 45'000'000);
    EXPECT_EQ(a[0].text.view(), "margin ratio 0.44 < warning - hysteresis 0.45: ok");
    a = alerts(update("u6", 1'000, 20, 90'000'000, 0, T0 + 6));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].severity, AlertSeverity::Critical);
    EXPECT_EQ(a[0].orders_canceled, 0) << "cancel_on_margin_critical not configured";
    EXPECT_EQ(e->account("acc1")->fut.level, MarginLevel::Critical);
    EXPECT_TRUE(alerts(update("u0", 1'000, 20, 10'000'000, 0, T0)).empty()) << "an older update changes nothing";
    // Spot updates never feed the monitor.
    AccountUpdateMsg spot = update("s1", 0, 0, 0, 0, T0 + 7);
    spot.market.assign("spot");
    spot.n_positions = 0;
    EXPECT_TRUE(alerts(spot).empty());
    EXPECT_EQ(e->account("acc1")->fut.margin_ratio, 90'000'000);
}

TEST_F(FuturesEngine, FundingOnlyReportsLeaveTheMarginStateAlone) {
    LimitValues acct;
    acct.margin_ratio_warning = "0.5";
    acct.margin_ratio_critical = "0.8";
    cfg.accounts.emplace_back("acc1", acct);
    load();
    ASSERT_EQ(apply(update("u1", 1'000, 20, 60'000'000, 500'00, T0 + 10)), HandleStatus::Ok);
    ASSERT_EQ(e->account("acc1")->fut.level, MarginLevel::Warning);
    // Two funding payments (two symbols) at one settlement time, later than the snapshot: no
    // balances, no positions. Before, the first one reset the ratio to 0 (level Ok, an alert).
    for (const char* id : {"funding-1", "funding-2"}) {
        AccountUpdateMsg f;
        f.update_id.assign(id);
        f.account.assign("acc1");
        f.exchange.assign("binance");
        f.market.assign("futures");
        f.ts_event_ns = T0 + 20;
        OutputBuffer out;
        EXPECT_EQ(apply(f, &out), HandleStatus::Ok);
        EXPECT_EQ(out.count, 0u) << id << ": no alert";
    }
    const FuturesAccount& fa = e->account("acc1")->fut;
    EXPECT_EQ(fa.margin_ratio, 60'000'000);
    EXPECT_EQ(fa.level, MarginLevel::Warning);
    EXPECT_EQ(fa.ts_ns, T0 + 10) << "the clock is the last margin report's";
    // The next real report still applies (ts between the snapshot and the funding time).
    ASSERT_EQ(apply(update("u2", 1'000, 20, 30'000'000, 500'00, T0 + 15)), HandleStatus::Ok);
    EXPECT_EQ(e->account("acc1")->fut.margin_ratio, 30'000'000);
}

TEST_F(FuturesEngine, CriticalCancelsExposureIncreasingOrdersOnce) {
    LimitValues acct;
    acct.margin_ratio_warning = "0.5";
    acct.margin_ratio_critical = "0.8";
    acct.cancel_on_margin_critical = true;
    cfg.accounts.emplace_back("acc1", acct);
    load();
    ASSERT_EQ(apply(update("u1", 2'000, 20, 10'000'000, 100'000'000, T0)), HandleStatus::Ok);  // long 2
    ASSERT_EQ(decide(*e, order("buy1", Side::Buy, 100, 590'000)).result, DecisionResult::Accepted);    // adds
    ASSERT_EQ(decide(*e, order("tp1", Side::Sell, 1'000, 620'000, true)).result, DecisionResult::Accepted);  // reduce-only
    ASSERT_EQ(decide(*e, order("sell1", Side::Sell, 500, 630'000)).result, DecisionResult::Accepted);  // shrinks: kept
    ASSERT_EQ(decide(*e, order("flip1", Side::Sell, 3'000, 640'000)).result, DecisionResult::Accepted);  // flips: adds
    ASSERT_EQ(decide(*e, order("other", Side::Buy, 100, 590'000, false, "acc2")).result, DecisionResult::Accepted);
    for (const char* id : {"buy1", "tp1", "sell1", "flip1"}) accept(id, std::string("ev-") + id);

    OutputBuffer out;
    ASSERT_EQ(apply(update("u2", 2'000, 20, 85'000'000, 100'000'000, T0 + 1), &out), HandleStatus::Ok);
    std::vector<std::string> canceled;
    const AlertMsg* alert = nullptr;
    for (std::size_t i = 0; i < out.count; ++i) {
        const Output& o = out.items[i];
        if (o.kind == OutputKind::Alert) alert = &o.alert;
        if (o.kind == OutputKind::KillCancelAll) {
            ASSERT_EQ(o.cmd.kind, CommandKind::CancelOrder);
            EXPECT_EQ(o.cmd.cancel.account.view(), "acc1");
            EXPECT_EQ(o.cmd.cancel.instrument.market.view(), "futures");
            EXPECT_EQ(o.cmd.command_id.view(), "margin-cancel:" + std::string(o.cmd.cancel.order_id.view()));
            canceled.emplace_back(o.cmd.cancel.order_id.view());
        }
    }
    ASSERT_NE(alert, nullptr);
    EXPECT_EQ(alert->severity, AlertSeverity::Critical);
    EXPECT_EQ(alert->orders_canceled, 2);
    std::sort(canceled.begin(), canceled.end());
    EXPECT_EQ(canceled, (std::vector<std::string>{"buy1", "flip1"}));
    // While critical: new exposure is refused, reducing orders pass.
    Decision d = decide(*e, order("buy2", Side::Buy, 1, 590'000));
    EXPECT_EQ(d.reason, RejectReason::InsufficientMargin);
    EXPECT_EQ(d.text.view(), "margin ratio 0.85 at critical level: only reducing orders");
    EXPECT_EQ(decide(*e, order("tp2", Side::Sell, 500, 620'000, true)).result, DecisionResult::Accepted);
    // The next update at critical re-sends nothing already asked for.
    OutputBuffer again;
    ASSERT_EQ(apply(update("u3", 2'000, 20, 86'000'000, 100'000'000, T0 + 2), &again), HandleStatus::Ok);
    EXPECT_EQ(again.count, 0u);
}

// ---- initial margin held between balance updates ---------------------------
// At 20x and 60,000: 0.050 BTC = 3,000 notional = 150 initial margin.

TEST_F(FuturesEngine, MarginOfAcceptedOrdersIsHeldUntilTheNextBalanceUpdate) {
    load();
    ASSERT_EQ(apply(update("u1", 0, 20, 0, 40'000, T0)), HandleStatus::Ok);  // 400.00 USDT available
    EXPECT_EQ(pending(), 0);
    EXPECT_EQ(decide(*e, order("a1", Side::Buy, 50, 600'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 150 * Q);
    EXPECT_EQ(decide(*e, order("a2", Side::Sell, 50, 600'000)).result, DecisionResult::Accepted)
        << "the other side holds margin too (no position to reduce)";
    EXPECT_EQ(pending(), 300 * Q);
    // Each fits the venue's 400 alone; together with the two before they do not.
    Decision d = decide(*e, order("a3", Side::Buy, 50, 600'000));
    EXPECT_EQ(d.reason, RejectReason::InsufficientMargin);
    EXPECT_EQ(d.text.view(), "initial margin 150.00 (notional 3000.00 / 20x) > available 400.00 - pending 300.00 USDT "
                             "(orders since the last balance update)");
    EXPECT_EQ(pending(), 300 * Q) << "a rejected order holds nothing";
    // Boundary: 0.040 at 50,000 = 2,000 / 20 = 100 = 400 - 300.
    EXPECT_EQ(decide(*e, order("a4", Side::Buy, 40, 500'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 400 * Q);
    EXPECT_EQ(decide(*e, order("a5", Side::Buy, 1, 600'000)).reason, RejectReason::InsufficientMargin);
    // The venue cancels a1: its margin is given back, and what a3 asked for fits exactly.
    accept("a1", "ev-a1");
    ASSERT_EQ(on("a1", "ev-a1-c", OrderEventType::Canceled), HandleStatus::Ok);
    EXPECT_EQ(pending(), 250 * Q);
    EXPECT_EQ(decide(*e, order("a6", Side::Buy, 50, 600'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 400 * Q);
    // The venue's next figure (100.00) has the open orders' margin taken off: nothing is pending any more.
    ASSERT_EQ(apply(update("u2", 0, 20, 0, 10'000, T0 + 1)), HandleStatus::Ok);
    EXPECT_EQ(pending(), 0);
    d = decide(*e, order("a7", Side::Buy, 50, 600'000));
    EXPECT_EQ(d.reason, RejectReason::InsufficientMargin);
    EXPECT_EQ(d.text.view(), "initial margin 150.00 (notional 3000.00 / 20x) > available 100.00 USDT");
    EXPECT_EQ(decide(*e, order("a8", Side::Buy, 40, 500'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 100 * Q);
    // a2 was held before u2: the venue's figure has its margin, canceling it gives back nothing here.
    ASSERT_EQ(on("a2", "ev-a2-c", OrderEventType::Canceled), HandleStatus::Ok);
    EXPECT_EQ(pending(), 100 * Q);
    // u2 again (a redelivery) or an older report: no reset.
    ASSERT_EQ(apply(update("u2", 0, 20, 0, 10'000, T0 + 1)), HandleStatus::Ok);
    ASSERT_EQ(apply(update("u0", 0, 20, 0, 90'000, T0)), HandleStatus::Ok);
    EXPECT_EQ(pending(), 100 * Q);
    EXPECT_EQ(*e->account("acc1")->fut.available(fut_spec().quote_asset), 100 * Q);
    EXPECT_EQ(pending("acc2"), -1) << "per account: acc2 has no balance";
}

// After a restart the replay applies the tail's decided commands before its
// AccountUpdates: the last report resets the margin of orders that came after
// it. settle_margin_after_replay re-derives it from the timestamps.
TEST_F(FuturesEngine, MarginHeldAfterAReplayFollowsTheTimestamps) {
    load();
    ASSERT_EQ(apply(update("u1", 0, 20, 0, 40'000, T0)), HandleStatus::Ok);  // 400.00 available
    e->set_replay(true);
    decide(*e, fut_order("before", Side::Buy, 50, 600'000, false, "acc1", T0 + 10));
    decide(*e, fut_order("after", Side::Buy, 50, 600'000, false, "acc1", T0 + 30));
    e->set_replay(false);
    // Read at T0 + 20: 250.00 = 400 - the 150 "before" holds at the venue; "after" was not there yet.
    ASSERT_EQ(apply(update("u2", 0, 20, 0, 25'000, T0 + 20)), HandleStatus::Ok);
    EXPECT_EQ(pending(), 0) << "in replay order the report reset both";
    e->settle_margin_after_replay();
    EXPECT_EQ(pending(), 150 * Q) << "\"after\" is not in the report";
    Decision d = decide(*e, order("next", Side::Buy, 50, 600'000, false, "acc1"));
    EXPECT_EQ(d.reason, RejectReason::InsufficientMargin) << "150 > 250 - 150";
    // Its end gives the margin back; the end of "before" gives nothing (the venue's next figure shows it).
    ASSERT_EQ(on("before", "ev-before-c", OrderEventType::Canceled), HandleStatus::Ok);
    EXPECT_EQ(pending(), 150 * Q);
    ASSERT_EQ(on("after", "ev-after-c", OrderEventType::Canceled), HandleStatus::Ok);
    EXPECT_EQ(pending(), 0);
    e->settle_margin_after_replay();
    EXPECT_EQ(pending(), 0) << "settling again changes nothing";
}

TEST_F(FuturesEngine, PartialFillThenCancelGivesBackOnlyTheUnfilledPart) {
    load();
    ASSERT_EQ(apply(update("u1", 0, 20, 0, 100'000, T0)), HandleStatus::Ok);  // 1,000.00
    ASSERT_EQ(decide(*e, order("p1", Side::Buy, 100, 600'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 300 * Q);
    accept("p1", "ev-p1");
    OutputBuffer out;
    ASSERT_EQ(e->handle(fut_fill("t1", "p1", Side::Buy, 40, 600'000, T0 + 1), out), HandleStatus::Ok);
    EXPECT_EQ(pending(), 300 * Q) << "the filled part is position margin, not in the held figure either";
    ASSERT_EQ(on("p1", "ev-p1-c", OrderEventType::Canceled), HandleStatus::Ok);
    EXPECT_EQ(pending(), 120 * Q) << "0.060 unfilled = 3,600 / 20 = 180 given back";
    // Filled completely: nothing to give back.
    ASSERT_EQ(decide(*e, order("p2", Side::Buy, 50, 600'000)).result, DecisionResult::Accepted);
    accept("p2", "ev-p2");
    ASSERT_EQ(e->handle(fut_fill("t2", "p2", Side::Buy, 50, 600'000, T0 + 2), out), HandleStatus::Ok);
    ASSERT_EQ(on("p2", "ev-p2-f", OrderEventType::Filled), HandleStatus::Ok);
    EXPECT_EQ(e->order("p2"), nullptr);
    EXPECT_EQ(pending(), 270 * Q);
    // Rejected by the venue (e.g. -2019): all of it back.
    ASSERT_EQ(decide(*e, order("p3", Side::Buy, 50, 600'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 420 * Q);
    ASSERT_EQ(on("p3", "ev-p3-r", OrderEventType::Rejected), HandleStatus::Ok);
    EXPECT_EQ(pending(), 270 * Q);
}

TEST_F(FuturesEngine, ReduceOnlyAndReducingOrdersHoldNoMargin) {
    load();
    ASSERT_EQ(apply(update("u1", 1'000, 20, 1'000'000, 10'000, T0)), HandleStatus::Ok);  // long 1, 100.00 available
    EXPECT_EQ(decide(*e, order("r1", Side::Sell, 500, 610'000, true)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, order("r2", Side::Sell, 400, 610'000)).result, DecisionResult::Accepted)
        << "not flagged reduce-only, but it and the open sells only shrink the long";
    EXPECT_EQ(pending(), 0);
    EXPECT_EQ(decide(*e, order("b1", Side::Buy, 10, 600'000)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 30 * Q);
    // Their ends give back nothing either.
    ASSERT_EQ(on("r1", "ev-r1-c", OrderEventType::Canceled), HandleStatus::Ok);
    ASSERT_EQ(on("r2", "ev-r2-c", OrderEventType::Canceled), HandleStatus::Ok);
    EXPECT_EQ(pending(), 30 * Q);
}

TEST_F(FuturesEngine, RedeliveredCommandHoldsMarginOnce) {
    load();
    ASSERT_EQ(apply(update("u1", 0, 20, 0, 40'000, T0)), HandleStatus::Ok);
    const OrderCommandMsg c = order("d1", Side::Buy, 100, 600'000);
    OutputBuffer out;
    EXPECT_EQ(e->handle(c, out), HandleStatus::Ok);
    EXPECT_EQ(e->handle(c, out), HandleStatus::Duplicate);
    EXPECT_EQ(decide(*e, c).result, DecisionResult::Accepted) << "the stored decision again";
    EXPECT_EQ(pending(), 300 * Q);
    EXPECT_EQ(decide(*e, order("d2", Side::Buy, 34, 600'000)).reason, RejectReason::InsufficientMargin)
        << "102 > 400 - 300";
}

TEST_F(FuturesEngine, AmendMovesTheMarginHeldInThisEpoch) {
    load();
    ASSERT_EQ(apply(update("u1", 0, 20, 0, 50'000, T0)), HandleStatus::Ok);  // 500.00
    ASSERT_EQ(decide(*e, order("m1", Side::Buy, 50, 600'000)).result, DecisionResult::Accepted);
    accept("m1", "ev-m1");
    EXPECT_EQ(pending(), 150 * Q);
    // Checked as if its own 150 were free: 300 <= 500.
    ASSERT_EQ(decide(*e, fut_amend("m1", "am1", 100)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 300 * Q);
    OrderEventMsg amended = event("ev-m1-a", "m1", OrderEventType::Amended);
    amended.quantity = Decimal{100, 3};
    amended.has_quantity = true;
    OutputBuffer out;
    ASSERT_EQ(e->handle(amended, out), HandleStatus::Ok);
    EXPECT_EQ(pending(), 300 * Q);
    Decision d = decide(*e, fut_amend("m1", "am2", 200));  // 600
    EXPECT_EQ(d.reason, RejectReason::InsufficientMargin);
    EXPECT_EQ(d.text.view(), "initial margin 600.00 (notional 12000.00 / 20x) > available 500.00 USDT");
    EXPECT_EQ(pending(), 300 * Q) << "a refused amend keeps what the order held";
    ASSERT_EQ(decide(*e, fut_amend("m1", "am3", 150)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 450 * Q);
    ASSERT_EQ(on("m1", "ev-m1-ar", OrderEventType::AmendRejected), HandleStatus::Ok);
    EXPECT_EQ(e->order("m1")->qty, 100);
    EXPECT_EQ(pending(), 300 * Q) << "the venue kept 0.100";
    // Held before the next balance update: its margin is in the venue's figure (200 left).
    ASSERT_EQ(apply(update("u2", 0, 20, 0, 20'000, T0 + 1)), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, fut_amend("m1", "am4", 70)).reason, RejectReason::InsufficientMargin)
        << "210 > 200: the new size is checked whole";
    EXPECT_EQ(pending(), 0);
    ASSERT_EQ(decide(*e, fut_amend("m1", "am5", 60)).result, DecisionResult::Accepted);
    EXPECT_EQ(pending(), 180 * Q) << "held whole in this epoch (the old 300 in the venue's figure too, until the next update)";
}

// ---- codec: hedge legs and balances ----------------------------------------


TEST(FuturesCodec, HedgeLegsMergeIntoOneEntryAndBalancesAreRead) {
    Oms__V1__InstrumentId id = OMS__V1__INSTRUMENT_ID__INIT;
    id.symbol = const_cast<char*>("BTCUSDT");
    Oms__V1__Decimal lq = OMS__V1__DECIMAL__INIT, sq = OMS__V1__DECIMAL__INIT, le = OMS__V1__DECIMAL__INIT,
                     lr = OMS__V1__DECIMAL__INIT, sr = OMS__V1__DECIMAL__INIT, free = OMS__V1__DECIMAL__INIT;
    lq.mantissa = 1000; lq.scale = 3;          // LONG 1.000
    sq.mantissa = -3000; sq.scale = 3;         // SHORT -3.000 (Binance's positionAmt is signed)
    le.mantissa = 600000; le.scale = 1;
    lr.mantissa = 1200000; lr.scale = 8;       // 0.012
    sr.mantissa = 1500000; sr.scale = 8;       // 0.015
    free.mantissa = 123456; free.scale = 2;    // 1234.56
    Oms__V1__Position l = OMS__V1__POSITION__INIT, s = OMS__V1__POSITION__INIT;
    l.instrument = &id; l.position_side = OMS__V1__POSITION_SIDE__POSITION_SIDE_LONG; l.quantity = &lq;
    l.average_entry_price = &le; l.leverage = 15; l.margin_ratio = &lr;
    s.instrument = &id; s.position_side = OMS__V1__POSITION_SIDE__POSITION_SIDE_SHORT; s.quantity = &sq;
    s.average_entry_price = &le; s.leverage = 15; s.margin_ratio = &sr;
    Oms__V1__Balance b = OMS__V1__BALANCE__INIT;
    b.asset = const_cast<char*>("USDT");
    b.free = &free;
    Oms__V1__Position* ps[] = {&l, &s};
    Oms__V1__Balance* bs[] = {&b};
    Oms__V1__AccountUpdate u = OMS__V1__ACCOUNT_UPDATE__INIT;
    u.update_id = const_cast<char*>("u1");
    u.account = const_cast<char*>("acc1");
    u.exchange = const_cast<char*>("binance");
    u.market = const_cast<char*>("futures");
    u.n_positions = 2; u.positions = ps;
    u.n_balances = 1; u.balances = bs;
    u.ts_event_ns = T0;
    std::uint8_t buf[1024];
    const std::size_t n = oms__v1__account_update__pack(&u, buf);
    Codec codec;
    auto msg = std::make_unique<AccountUpdateMsg>();
    ASSERT_TRUE(codec.decode_account_update(buf, n, *msg));
    ASSERT_EQ(msg->n_positions, 1);
    const PositionEntry& p = msg->positions[0];
    EXPECT_TRUE(p.hedge);
    EXPECT_EQ(p.quantity.mantissa, -2000);
    EXPECT_EQ(p.quantity.scale, 3);
    EXPECT_EQ(p.long_leg.mantissa, 1000);
    EXPECT_EQ(p.short_leg.mantissa, 3000);
    EXPECT_FALSE(p.has_entry_price) << "two open legs have no single entry price";
    EXPECT_EQ(p.leverage, 15);
    EXPECT_TRUE(p.has_margin_ratio);
    EXPECT_EQ(p.margin_ratio.mantissa, 1500000) << "the higher of the legs' ratios";
    ASSERT_EQ(msg->n_balances, 1);
    EXPECT_EQ(msg->balances[0].asset.view(), "USDT");
    EXPECT_EQ(msg->balances[0].free.mantissa, 123456);
    // Applied: net position and both legs.
    auto e = std::make_unique<Engine>();
    e->upsert_instrument(fut_spec());
    OutputBuffer out;
    ASSERT_EQ(e->handle(*msg, out), HandleStatus::Ok);
    EXPECT_EQ(e->position("acc1", fut())->qty, -2000);
    EXPECT_EQ(*e->account("acc1")->fut.available(msg->balances[0].asset), 123456 * kPow10[kQuoteScale - 2]);
    EXPECT_EQ(e->account("acc1")->fut.margin_ratio, 1500000);
}
