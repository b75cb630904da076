#include <gtest/gtest.h>
#include <cstring>
#include <vector>
#include "helpers.hpp"

using namespace oms::engine;
using namespace oms::engine::test;

namespace {
constexpr std::int64_t U(std::int64_t whole) { return whole * 100000000LL; }
constexpr std::int64_t SEC = 1'000'000'000LL;

RiskConfig base_cfg() {
    RiskConfig c;
    c.defaults.max_order_qty = "2";
    c.defaults.max_order_notional = "150000";
    c.defaults.max_open_orders = 5;
    c.defaults.price_collar_bps = 500;  // 5%
    return c;
}
}  // namespace

TEST(Engine, AcceptForwardsAndReserves) {
    auto cfg = base_cfg();
    auto e = make_engine(&cfg);
    OutputBuffer out;
    EXPECT_EQ(e->handle(tob(6499990, 6500010), out), HandleStatus::Ok);
    e->handle(new_order("o1", Side::Buy, 100000, 6500000), out);
    ASSERT_EQ(out.count, 2u);
    EXPECT_EQ(out.items[0].kind, OutputKind::Decision);
    EXPECT_EQ(out.items[0].decision.result, DecisionResult::Accepted);
    EXPECT_EQ(out.items[0].decision.order_id.view(), "o1");
    EXPECT_EQ(out.items[1].kind, OutputKind::ForwardCommand);
    EXPECT_EQ(out.items[1].cmd.new_order.order_id.view(), "o1");
    ASSERT_NE(e->order("o1"), nullptr);
    EXPECT_EQ(e->order("o1")->status, OrderStatus::PendingNew);
    EXPECT_EQ(e->open_orders("acc1"), 1);
    EXPECT_EQ(e->account("acc1")->lng, U(65000));
    EXPECT_EQ(e->account("acc1")->gross, U(65000));
}

TEST(Engine, RejectEmitsRejectedEventWithCodeAndText) {
    auto cfg = base_cfg();
    auto e = make_engine(&cfg);
    OutputBuffer out;
    e->handle(tob(6499990, 6500010), out);
    out.clear();
    e->handle(new_order("o1", Side::Buy, 500000, 6500000), out);
    ASSERT_EQ(out.count, 2u);
    EXPECT_EQ(out.items[0].decision.result, DecisionResult::Rejected);
    EXPECT_EQ(out.items[0].decision.reason, RejectReason::MaxOrderQty);
    EXPECT_EQ(out.items[0].decision.text.view(), "qty 5.00000 > max 2.00000");
    EXPECT_EQ(out.items[1].kind, OutputKind::OrderRejected);
    EXPECT_EQ(e->order("o1"), nullptr);
    EXPECT_EQ(e->open_orders("acc1"), 0);
}

TEST(Engine, ValidationRejects) {
    auto e = make_engine();
    auto c = new_order("o1", Side::Buy, 100000, 6500000);
    c.new_order.instrument.symbol.assign("DOGEUSDT");
    EXPECT_EQ(decide(*e, c).reason, RejectReason::UnknownInstrument);
    auto c2 = new_order("o2", Side::Unspecified, 100000, 6500000);
    EXPECT_EQ(decide(*e, c2).reason, RejectReason::InvalidRequest);
    auto c3 = new_order("o3", Side::Buy, 0, 6500000);
    EXPECT_EQ(decide(*e, c3).reason, RejectReason::InvalidRequest);
    auto c4 = new_order("o4", Side::Buy, 100000, 6500000);
    c4.new_order.quantity = Decimal{1000001, 6};  // finer than qty_scale 5
    EXPECT_EQ(decide(*e, c4).reason, RejectReason::LotSize);
    auto c5 = new_order("o5", Side::Buy, 100000, 6500000);
    c5.new_order.price = Decimal{65000001, 3};
    EXPECT_EQ(decide(*e, c5).reason, RejectReason::TickSize);
    auto c6 = new_order("o6", Side::Buy, 100000, 6500005);
    EXPECT_EQ(decide(*e, c6).reason, RejectReason::TickSize);
    auto c7 = new_order("o7", Side::Buy, 100005, 6500000);
    EXPECT_EQ(decide(*e, c7).reason, RejectReason::LotSize);
    auto c8 = new_order("o8", Side::Buy, 10, 10000);  // 0.0001 * 100 = 0.01 USDT < 5
    EXPECT_EQ(decide(*e, c8).reason, RejectReason::MinNotional);
}

TEST(Engine, DuplicateClientOrderId) {
    auto e = make_engine();
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 6500000)).result, DecisionResult::Accepted);
    auto c = new_order("o2", Side::Buy, 100000, 6500000);
    c.new_order.client_order_id.assign("cl-o1");
    auto d = decide(*e, c);
    EXPECT_EQ(d.reason, RejectReason::DuplicateClientOrderId);
    EXPECT_EQ(d.text.view(), "duplicate client_order_id cl-o1");
    // Same client id on another account is fine.
    auto c3 = new_order("o3", Side::Buy, 100000, 6500000, T0, "acc2");
    c3.new_order.client_order_id.assign("cl-o1");
    EXPECT_EQ(decide(*e, c3).result, DecisionResult::Accepted);
}

TEST(Engine, CollarAndReferencePrice) {
    auto cfg = base_cfg();
    auto e = make_engine(&cfg);
    // No reference yet: NO_REFERENCE_PRICE.
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 6500000)).reason, RejectReason::NoReferencePrice);
    OutputBuffer out;
    e->handle(tob(6500000, 6500000, T0), out);
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 100000, 6825000)).result, DecisionResult::Accepted);  // +5% exactly
    EXPECT_EQ(decide(*e, new_order("o3", Side::Buy, 100000, 6825010)).reason, RejectReason::PriceCollar);
    // Stale reference (older than 5 s).
    EXPECT_EQ(decide(*e, new_order("o4", Side::Buy, 100000, 6500000, T0 + 5 * SEC + 1)).reason,
              RejectReason::NoReferencePrice);
    // Market order needs a reference for its notional.
    EXPECT_EQ(decide(*e, new_order("o5", Side::Buy, 100000, 0, T0 + 6 * SEC)).reason, RejectReason::NoReferencePrice);
    EXPECT_EQ(decide(*e, new_order("o6", Side::Buy, 100000, 0, T0 + 1)).result, DecisionResult::Accepted);
    // Allowed by config: stale reference skips the collar.
    cfg.allow_missing_reference = true;
    ASSERT_TRUE(e->load_limits(cfg));
    EXPECT_EQ(decide(*e, new_order("o7", Side::Buy, 100000, 6500000, T0 + 60 * SEC)).result, DecisionResult::Accepted);
}

TEST(Engine, MaxOpenOrdersFreedByTerminalEvent) {
    RiskConfig cfg;
    cfg.defaults.max_open_orders = 2;
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 6500000)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 100000, 6500000)).result, DecisionResult::Accepted);
    auto d = decide(*e, new_order("o3", Side::Buy, 100000, 6500000));
    EXPECT_EQ(d.reason, RejectReason::MaxOpenOrders);
    EXPECT_EQ(d.text.view(), "open orders 3 > max 2 (account)");
    OutputBuffer out;
    EXPECT_EQ(e->handle(event("e1", "o1", OrderEventType::Accepted), out), HandleStatus::Ok);
    EXPECT_EQ(e->handle(event("e2", "o1", OrderEventType::Canceled), out), HandleStatus::Ok);
    EXPECT_EQ(e->open_orders("acc1"), 1);
    EXPECT_EQ(e->order("o1"), nullptr);
    EXPECT_EQ(decide(*e, new_order("o4", Side::Buy, 100000, 6500000)).result, DecisionResult::Accepted);
}

TEST(Engine, PerSymbolPositionCountsOpenOrdersAndFills) {
    RiskConfig cfg;
    cfg.symbols.push_back({"binance.spot.BTCUSDT", LimitValues{}});
    cfg.symbols.back().second.max_position_long = "1.5";
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 6500000)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 50000, 6500000)).result, DecisionResult::Accepted);  // 1.5 exactly
    EXPECT_EQ(decide(*e, new_order("o3", Side::Buy, 10, 6500000)).reason, RejectReason::MaxPosition);
    // ETH is not covered by the override.
    EXPECT_EQ(decide(*e, new_order("o4", Side::Buy, 500000, 300000, T0, "acc1", eth_spec().id)).result,
              DecisionResult::Accepted);
    // Fill moves reservation into position: worst case unchanged.
    OutputBuffer out;
    e->handle(fill("t1", "o1", Side::Buy, 100000, 6500000), out);
    const Position* p = e->position("acc1", btc());
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->qty, 100000);
    EXPECT_EQ(decide(*e, new_order("o5", Side::Buy, 10, 6500000)).reason, RejectReason::MaxPosition);
    // Selling is fine (reduces).
    EXPECT_EQ(decide(*e, new_order("o6", Side::Sell, 50000, 6500000)).result, DecisionResult::Accepted);
}

TEST(Engine, AccountGrossExposure) {
    RiskConfig cfg;
    cfg.defaults.max_gross_exposure = "100000";
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 5000000)).result, DecisionResult::Accepted);  // 50k
    EXPECT_EQ(decide(*e, new_order("o2", Side::Sell, 100000, 5000000, T0, "acc1", eth_spec().id)).result,
              DecisionResult::Accepted);  // 100k exactly
    auto d = decide(*e, new_order("o3", Side::Buy, 10, 5000000));
    EXPECT_EQ(d.reason, RejectReason::MaxGrossExposure);
}

TEST(Engine, AccountLongNotional) {
    RiskConfig cfg;
    cfg.accounts.push_back({"acc1", LimitValues{}});
    cfg.accounts.back().second.max_long_notional = "60000";
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 6000000)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 10, 6000000)).reason, RejectReason::MaxPosition);
    // acc2 uses the defaults (unlimited).
    EXPECT_EQ(decide(*e, new_order("o3", Side::Buy, 200000, 6000000, T0, "acc2")).result, DecisionResult::Accepted);
}

TEST(Engine, DailyLossBlocksNewExposureButNotReducing) {
    RiskConfig cfg;
    cfg.defaults.daily_loss_limit = "100";
    auto e = make_engine(&cfg);
    OutputBuffer out;
    // Buy 2 @ 1000, sell 1 @ 900 -> realised -100 (exactly at the limit: still allowed).
    e->handle(fill("t1", "", Side::Buy, 200000, 100000), out);
    e->handle(fill("t2", "", Side::Sell, 100000, 90000), out);
    EXPECT_EQ(e->account("acc1")->daily_net, -U(100));
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 1000, 90000)).result, DecisionResult::Accepted);
    OrderEventMsg ev = event("e1", "o1", OrderEventType::Canceled);
    e->handle(ev, out);
    // Another loss of 0.10 -> beyond the limit.
    e->handle(fill("t3", "", Side::Sell, 1000, 89000), out);
    auto d = decide(*e, new_order("o2", Side::Buy, 1000, 90000));
    EXPECT_EQ(d.reason, RejectReason::DailyLossLimit);
    EXPECT_EQ(d.text.view(), "daily loss 101.10 > limit 100.00");
    // Reducing the remaining long still passes.
    EXPECT_EQ(decide(*e, new_order("o3", Side::Sell, 1000, 90000)).result, DecisionResult::Accepted);
    // Next UTC day resets.
    EXPECT_EQ(decide(*e, new_order("o4", Side::Buy, 1000, 90000, T0 + 86400 * SEC)).result, DecisionResult::Accepted);
}

TEST(Engine, OrderRateThrottleUsesMessageTime) {
    RiskConfig cfg;
    cfg.defaults.orders_per_second = "2";
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 1000, 900000, T0)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 1000, 900000, T0)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("o3", Side::Buy, 1000, 900000, T0)).reason, RejectReason::OrderRate);
    EXPECT_EQ(decide(*e, new_order("o4", Side::Buy, 1000, 900000, T0 + SEC / 2)).result, DecisionResult::Accepted);
    // Other accounts have their own bucket.
    EXPECT_EQ(decide(*e, new_order("o5", Side::Buy, 1000, 900000, T0, "acc2")).result, DecisionResult::Accepted);
}

TEST(Engine, KillSwitchScopesEmitCancelAllAndCancelsStillPass) {
    auto e = make_engine();
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 100000, 6500000)).result, DecisionResult::Accepted);
    struct Case { KillScope scope; const char* acct; const char* ex; const char* mkt; const char* sym; };
    for (Case c : {Case{KillScope::Global, "", "", "", ""}, Case{KillScope::Account, "acc1", "", "", ""},
                   Case{KillScope::Venue, "", "binance", "spot", ""}, Case{KillScope::Symbol, "", "binance", "spot", "BTCUSDT"},
                   Case{KillScope::Symbol, "", "", "", "BTCUSDT"}}) {
        RiskControlMsg rc;
        rc.kind = RiskControlKind::KillSwitch;
        rc.kill.command_id.assign("k1");
        rc.kill.scope = c.scope;
        rc.kill.account.assign(c.acct);
        rc.kill.exchange.assign(c.ex);
        rc.kill.market.assign(c.mkt);
        rc.kill.symbol.assign(c.sym);
        rc.kill.engaged = true;
        OutputBuffer out;
        ASSERT_EQ(e->handle(rc, out), HandleStatus::Ok);
        ASSERT_EQ(out.count, 1u);
        EXPECT_EQ(out.items[0].kind, OutputKind::KillCancelAll);
        EXPECT_EQ(out.items[0].cmd.kind, CommandKind::CancelAll);
        EXPECT_EQ(out.items[0].cmd.cancel_all.account.view(), std::string_view(c.acct));
        EXPECT_EQ(out.items[0].cmd.cancel_all.symbol.view(), std::string_view(c.sym));
        static int n = 0;
        std::string id = "kx" + std::to_string(n++);
        auto d = decide(*e, new_order(id, Side::Buy, 100000, 6500000));
        EXPECT_EQ(d.reason, RejectReason::KillSwitch) << static_cast<int>(c.scope);
        // ETH unaffected by symbol-scoped kills.
        if (c.scope == KillScope::Symbol)
            EXPECT_EQ(decide(*e, new_order(id + "e", Side::Buy, 100000, 300000, T0, "acc1", eth_spec().id)).result,
                      DecisionResult::Accepted);
        // Cancels pass while killed.
        EXPECT_EQ(decide(*e, cancel("o1", "c-" + id)).result, DecisionResult::Accepted);
        rc.kill.engaged = false;
        out.clear();
        ASSERT_EQ(e->handle(rc, out), HandleStatus::Ok);
        EXPECT_EQ(out.count, 0u);
        EXPECT_EQ(decide(*e, new_order(id + "ok", Side::Buy, 1000, 6500000)).result, DecisionResult::Accepted)
            << static_cast<int>(c.scope);
    }
}

TEST(Engine, TradingStatesAccountInstrumentVenue) {
    auto e = make_engine();
    OutputBuffer out;
    e->handle(fill("t1", "", Side::Buy, 100000, 6500000), out);  // long 1 BTC
    auto set_state = [&](const char* acct, const char* ex, const char* mkt, const char* sym, TradingState st) {
        RiskControlMsg rc;
        rc.kind = RiskControlKind::SetTradingState;
        rc.state.account.assign(acct);
        rc.state.instrument.exchange.assign(ex);
        rc.state.instrument.market.assign(mkt);
        rc.state.instrument.symbol.assign(sym);
        rc.state.state = st;
        OutputBuffer o;
        return e->handle(rc, o);
    };
    // Account HALTED: only cancels.
    ASSERT_EQ(set_state("acc1", "", "", "", TradingState::Halted), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, new_order("h1", Side::Sell, 10000, 6500000)).reason, RejectReason::TradingHalted);
    ASSERT_EQ(set_state("acc1", "", "", "", TradingState::Active), HandleStatus::Ok);
    // Instrument REDUCING: buy rejected, reducing sell passes, oversized sell rejected.
    ASSERT_EQ(set_state("", "binance", "spot", "BTCUSDT", TradingState::Reducing), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, new_order("r1", Side::Buy, 10000, 6500000)).reason, RejectReason::ReduceOnly);
    EXPECT_EQ(decide(*e, new_order("r2", Side::Sell, 60000, 6500000)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("r3", Side::Sell, 50000, 6500000)).reason, RejectReason::ReduceOnly);  // 0.6+0.5 > 1
    ASSERT_EQ(set_state("", "binance", "spot", "BTCUSDT", TradingState::Active), HandleStatus::Ok);
    EXPECT_EQ(decide(*e, new_order("r4", Side::Buy, 10000, 6500000)).result, DecisionResult::Accepted);
    // Venue REDUCING while a connector reconciles (covers ETH too), then back.
    ASSERT_EQ(set_state("", "binance", "spot", "", TradingState::Reducing), HandleStatus::Ok);
    EXPECT_EQ(e->effective_state("acc1", eth_spec().id), TradingState::Reducing);
    EXPECT_EQ(decide(*e, new_order("v1", Side::Buy, 10000, 300000, T0, "acc1", eth_spec().id)).reason,
              RejectReason::ReduceOnly);
    ASSERT_EQ(set_state("", "binance", "spot", "", TradingState::Active), HandleStatus::Ok);
    EXPECT_EQ(e->effective_state("acc1", eth_spec().id), TradingState::Active);
    EXPECT_EQ(decide(*e, new_order("v2", Side::Buy, 10000, 300000, T0, "acc1", eth_spec().id)).result,
              DecisionResult::Accepted);
    // reduce_only flag on the order.
    auto ro = new_order("ro1", Side::Buy, 10000, 6500000);
    ro.new_order.reduce_only = true;
    EXPECT_EQ(decide(*e, ro).reason, RejectReason::ReduceOnly);
    // Instrument status from the venue.
    auto spec = btc_spec();
    spec.status = InstrumentStatus::Halted;
    e->upsert_instrument(spec);
    EXPECT_EQ(decide(*e, new_order("s1", Side::Sell, 1000, 6500000)).reason, RejectReason::TradingHalted);
    EXPECT_EQ(set_state("", "", "", "", TradingState::Halted), HandleStatus::Invalid);
}

TEST(Engine, CancelUnknownOrderRejected) {
    auto e = make_engine();
    auto d = decide(*e, cancel("nope", "c1"));
    EXPECT_EQ(d.result, DecisionResult::Rejected);
    EXPECT_EQ(d.reason, RejectReason::UnknownOrder);
}

TEST(Engine, AmendAcceptRejectAndRevert) {
    RiskConfig cfg;
    cfg.defaults.max_order_qty = "2";
    auto e = make_engine(&cfg);
    OutputBuffer out;
    decide(*e, new_order("o1", Side::Buy, 100000, 6500000));
    OrderCommandMsg a;
    a.command_id.assign("a1");
    a.kind = CommandKind::AmendOrder;
    a.amend.order_id.assign("o1");
    a.amend.new_quantity = Decimal{150000, 5};
    a.amend.has_new_quantity = true;
    a.amend.ts_ns = T0;
    // Not yet acknowledged by the venue: cannot amend.
    EXPECT_EQ(decide(*e, a).reason, RejectReason::InvalidRequest);
    e->handle(event("e1", "o1", OrderEventType::Accepted), out);
    a.command_id.assign("a2");
    EXPECT_EQ(decide(*e, a).result, DecisionResult::Accepted);
    EXPECT_EQ(e->order("o1")->status, OrderStatus::PendingReplace);
    EXPECT_EQ(e->account("acc1")->lng, U(97500));
    // Venue rejects the amend: reservation reverts.
    e->handle(event("e2", "o1", OrderEventType::AmendRejected), out);
    EXPECT_EQ(e->order("o1")->status, OrderStatus::Accepted);
    EXPECT_EQ(e->order("o1")->qty, 100000);
    EXPECT_EQ(e->account("acc1")->lng, U(65000));
    // Amend beyond the limit is rejected and leaves the reservation intact.
    a.command_id.assign("a3");
    a.amend.new_quantity = Decimal{300000, 5};
    EXPECT_EQ(decide(*e, a).reason, RejectReason::MaxOrderQty);
    EXPECT_EQ(e->account("acc1")->lng, U(65000));
    EXPECT_EQ(e->open_orders("acc1"), 1);
}

TEST(Engine, IllegalEventTransitionReportedNotApplied) {
    auto e = make_engine();
    OutputBuffer out;
    decide(*e, new_order("o1", Side::Buy, 100000, 6500000));
    e->handle(event("e1", "o1", OrderEventType::Accepted), out);
    EXPECT_EQ(e->handle(event("e2", "o1", OrderEventType::PendingNew), out), HandleStatus::IllegalTransition);
    EXPECT_EQ(e->order("o1")->status, OrderStatus::Accepted);
    EXPECT_EQ(e->stats().illegal_transitions, 1u);
    EXPECT_EQ(e->handle(event("e3", "ghost", OrderEventType::Accepted), out), HandleStatus::UnknownOrder);
}

TEST(Engine, FillsPartialThenFilledReleasesReservation) {
    auto e = make_engine();
    OutputBuffer out;
    decide(*e, new_order("o1", Side::Buy, 200000, 6500000));
    e->handle(event("e1", "o1", OrderEventType::Accepted), out);
    e->handle(fill("t1", "o1", Side::Buy, 50000, 6490000), out);
    e->handle(event("e2", "o1", OrderEventType::PartiallyFilled), out);
    EXPECT_EQ(e->order("o1")->reserved_qty, 150000);
    e->handle(fill("t2", "o1", Side::Buy, 150000, 6500000), out);
    e->handle(event("e3", "o1", OrderEventType::Filled), out);
    EXPECT_EQ(e->order("o1"), nullptr);
    EXPECT_EQ(e->open_orders("acc1"), 0);
    const Position* p = e->position("acc1", btc());
    EXPECT_EQ(p->qty, 200000);
    EXPECT_EQ(average_price(*p, 2, 5), 6497500);
    EXPECT_EQ(e->account("acc1")->lng, p->cost);  // only the position remains
}

TEST(Engine, FeesInQuoteAndBaseReduceDailyNet) {
    auto e = make_engine();
    OutputBuffer out;
    FillMsg f = fill("t1", "", Side::Buy, 100000, 1000000);
    f.commission = Decimal{1000, 2};  // 10.00 USDT
    f.commission_asset.assign("USDT");
    e->handle(f, out);
    FillMsg g = fill("t2", "", Side::Sell, 100000, 1000000);
    g.commission = Decimal{1, 3};  // 0.001 BTC at 10000 = 10 USDT
    g.commission_asset.assign("BTC");
    e->handle(g, out);
    EXPECT_EQ(e->position("acc1", btc())->fees, U(20));
    EXPECT_EQ(e->account("acc1")->daily_net, -U(20));
}

TEST(Engine, RedeliveredCommandReturnsSameDecisionWithoutDoubleCounting) {
    RiskConfig cfg;
    cfg.defaults.max_open_orders = 1;
    auto e = make_engine(&cfg);
    auto c = new_order("o1", Side::Buy, 100000, 6500000);
    c.sequence = 10;
    OutputBuffer out1, out2;
    EXPECT_EQ(e->handle(c, out1), HandleStatus::Ok);
    EXPECT_EQ(e->handle(c, out2), HandleStatus::Duplicate);
    ASSERT_EQ(out2.count, out1.count);
    EXPECT_EQ(out2.items[0].decision.result, DecisionResult::Accepted);
    EXPECT_EQ(e->open_orders("acc1"), 1);
    // A rejected one is re-emitted as the same rejection.
    auto r = new_order("o2", Side::Buy, 100000, 6500000);
    r.sequence = 11;
    auto d1 = decide(*e, r);
    auto d2 = decide(*e, r);
    EXPECT_EQ(d1.reason, RejectReason::MaxOpenOrders);
    EXPECT_EQ(d2.reason, RejectReason::MaxOpenOrders);
    EXPECT_EQ(d1.text.view(), d2.text.view());
    // Same sequence, unknown command id (e.g. evicted): skipped as stale.
    auto s = new_order("o3", Side::Buy, 1000, 6500000);
    s.command_id.assign("other");
    s.sequence = 11;
    OutputBuffer out3;
    EXPECT_EQ(e->handle(s, out3), HandleStatus::Stale);
    EXPECT_EQ(out3.count, 0u);
    EXPECT_EQ(e->stats().duplicates, 2u);
}

TEST(Engine, RedeliveredFillAndEventNotDoubleCounted) {
    auto e = make_engine();
    OutputBuffer out;
    decide(*e, new_order("o1", Side::Buy, 100000, 6500000));
    auto f = fill("t1", "o1", Side::Buy, 50000, 6500000);
    EXPECT_EQ(e->handle(f, out), HandleStatus::Ok);
    EXPECT_EQ(e->handle(f, out), HandleStatus::Duplicate);
    EXPECT_EQ(e->position("acc1", btc())->qty, 50000);
    auto ev = event("e1", "o1", OrderEventType::Accepted);
    EXPECT_EQ(e->handle(ev, out), HandleStatus::Ok);
    EXPECT_EQ(e->handle(ev, out), HandleStatus::Duplicate);
}

TEST(Engine, LimitsReloadAtRuntime) {
    RiskConfig cfg;
    cfg.defaults.max_order_qty = "1";
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 150000, 6500000)).reason, RejectReason::MaxOrderQty);
    cfg.defaults.max_order_qty = "2";
    std::string err;
    ASSERT_TRUE(e->load_limits(cfg, &err)) << err;
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 150000, 6500000)).result, DecisionResult::Accepted);
    // A bad reload keeps the old limits.
    cfg.defaults.max_order_qty = "not-a-number";
    EXPECT_FALSE(e->load_limits(cfg, &err));
    EXPECT_NE(err.find("risk.defaults.max_order_qty"), std::string::npos);
    EXPECT_EQ(decide(*e, new_order("o3", Side::Buy, 150000, 6500000)).result, DecisionResult::Accepted);
}

TEST(Engine, SymbolOverridePrecedence) {
    RiskConfig cfg;
    cfg.defaults.max_order_qty = "1";
    cfg.symbols.push_back({"BTCUSDT", {}});
    cfg.symbols.back().second.max_order_qty = "3";
    cfg.symbols.push_back({"binance.spot.BTCUSDT", {}});
    cfg.symbols.back().second.max_order_qty = "2";
    auto e = make_engine(&cfg);
    EXPECT_EQ(decide(*e, new_order("o1", Side::Buy, 200000, 6500000)).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("o2", Side::Buy, 200010, 6500000)).reason, RejectReason::MaxOrderQty);
}

namespace {
// A deterministic mixed stream used by the snapshot and replay tests: spot
// orders, and futures orders holding initial margin against USDT balance
// reports that reset it (margin held per order, pending per balance).
void feed(Engine& e, int from, int to) {
    OutputBuffer out;
    for (int i = from; i < to; ++i) {
        std::int64_t ts = T0 + i * 1'000'000LL;
        const std::string n = std::to_string(i), acct = i % 2 ? "acc1" : "acc2";
        out.clear();
        e.handle(tob(6500000 - i % 7 * 10, 6500010 + i % 5 * 10, ts));
        auto c = new_order("o" + n, i % 3 ? Side::Buy : Side::Sell, 1000 + (i % 4) * 10, 6500000, ts, acct);
        c.sequence = static_cast<std::uint64_t>(2 * i + 1);
        e.handle(c, out);
        if (i % 4 == 0) e.handle(event("ea" + n, "o" + n, OrderEventType::Accepted), out);
        if (i % 8 == 0) e.handle(fill("t" + n, "o" + n, i % 3 ? Side::Buy : Side::Sell, 1000, 6500000, ts, acct), out);
        if (i % 16 == 0) e.handle(event("ec" + n, "o" + n, OrderEventType::Canceled), out);

        // Futures, own accounts (the spot ones run into max_open_orders):
        // each order ends 6 steps later; 100-220 USDT available, 0.010-0.014
        // BTC at ~60,000 and 20x hold 30-42 each, amended ones 60.
        const std::string fa = i % 2 ? "fut1" : "fut2";
        TopOfBookMsg ft = tob(600'000, 600'010, ts);
        ft.instrument = fut();
        ft.price_scale = 1;
        e.handle(ft);
        if (i % 10 == 5 || i % 10 == 6) e.handle(fut_update("fu" + n, 0, 20, 0, 10'000 + i % 7 * 2'000, ts, fa), out);
        auto f = fut_order("f" + n, i % 3 ? Side::Buy : Side::Sell, 10 + i % 5, 600'000 - i % 9 * 10, false, fa, ts);
        f.sequence = static_cast<std::uint64_t>(2 * i + 2);
        e.handle(f, out);
        if (i % 4 == 1) e.handle(event("fa" + n, "f" + n, OrderEventType::Accepted), out);
        if (i % 8 == 1) e.handle(fut_fill("ft" + n, "f" + n, i % 3 ? Side::Buy : Side::Sell, 4, 600'000, ts, fa), out);
        if (i % 8 == 5) e.handle(fut_amend("f" + n, "fam" + n, 20, ts, fa), out);
        const std::string two_ago = "f" + std::to_string(i - 2), six_ago = "f" + std::to_string(i - 6);
        if (i % 16 == 7) e.handle(event("far" + n, two_ago, OrderEventType::AmendRejected), out);
        if (i % 16 == 15) {
            OrderEventMsg am = event("fad" + n, two_ago, OrderEventType::Amended);
            am.quantity = Decimal{20, 3};
            am.has_quantity = true;
            e.handle(am, out);
        }
        const OrderEventType end = i % 4 != 3 && i % 5 == 0 ? OrderEventType::Rejected  // never accepted: PENDING_NEW
                                   : i % 5 == 1                ? OrderEventType::Expired
                                                               : OrderEventType::Canceled;
        e.handle(event("fc" + n, six_ago, end), out);
    }
}
std::int64_t pending_usdt(const Engine& e, const char* acct) {
    const FuturesAccount::Asset* b = e.account(acct)->fut.find(fut_spec().quote_asset);
    return b ? b->pending : -1;
}
std::vector<unsigned char> snap(const Engine& e) {
    std::vector<unsigned char> b(Engine::snapshot_size());
    EXPECT_TRUE(e.snapshot(b.data(), b.size()));
    return b;
}
}  // namespace

TEST(Engine, SnapshotRestoreEquality) {
    RiskConfig cfg;
    cfg.defaults.max_open_orders = 50;
    auto a = make_engine(&cfg);
    a->upsert_instrument(fut_spec());
    feed(*a, 0, 300);
    auto s1 = snap(*a);
    auto b = std::make_unique<Engine>();
    ASSERT_TRUE(b->restore(s1.data(), s1.size()));
    auto s2 = snap(*b);
    EXPECT_TRUE(s1 == s2);
    EXPECT_EQ(b->open_orders("acc1"), a->open_orders("acc1"));
    EXPECT_EQ(b->position("acc1", btc())->qty, a->position("acc1", btc())->qty);
    EXPECT_EQ(pending_usdt(*b, "fut1"), pending_usdt(*a, "fut1"));
    // Both continue identically.
    feed(*a, 300, 400);
    feed(*b, 300, 400);
    EXPECT_TRUE(snap(*a) == snap(*b));
    // Corrupt/short snapshots are refused.
    EXPECT_FALSE(b->restore(s1.data(), s1.size() - 1));
    s1[0] ^= 0xFF;
    EXPECT_FALSE(b->restore(s1.data(), s1.size()));
}

TEST(Engine, ReplayFromSnapshotIsDeterministic) {
    RiskConfig cfg;
    cfg.defaults.max_open_orders = 50;
    auto live = make_engine(&cfg);
    live->upsert_instrument(fut_spec());
    // (Not a second engine set up the same way: upsert_instrument copies its
    // argument's padding bytes, which differ between two stack objects.)
    const auto empty = snap(*live);
    feed(*live, 0, 200);
    auto checkpoint = snap(*live);
    feed(*live, 200, 400);
    // Recovery: restore checkpoint, replay the stream from the start; everything
    // up to the checkpoint is skipped (dedup/sequence), the rest re-applied.
    auto rec = std::make_unique<Engine>();
    ASSERT_TRUE(rec->restore(checkpoint.data(), checkpoint.size()));
    std::uint64_t before = rec->stats().commands;
    feed(*rec, 150, 400);
    EXPECT_GT(rec->stats().commands, before);
    EXPECT_EQ(rec->open_orders("acc1"), live->open_orders("acc1"));
    EXPECT_EQ(rec->open_orders("acc2"), live->open_orders("acc2"));
    EXPECT_EQ(rec->position("acc1", btc())->qty, live->position("acc1", btc())->qty);
    EXPECT_EQ(rec->account("acc2")->gross, live->account("acc2")->gross);
    for (const char* acct : {"fut1", "fut2"}) {
        EXPECT_GT(pending_usdt(*live, acct), 0) << acct << ": margin held since the last balance update";
        EXPECT_EQ(pending_usdt(*rec, acct), pending_usdt(*live, acct)) << acct;
        EXPECT_EQ(rec->account(acct)->fut.find(fut_spec().quote_asset)->epoch,
                  live->account(acct)->fut.find(fut_spec().quote_asset)->epoch) << acct;
    }
    // Replay from the streams alone (from the state before any input): the
    // same state, byte for byte (after the same last instrument lookup: the
    // registry remembers it, and the queries above made one on `live`).
    auto fresh = std::make_unique<Engine>();
    ASSERT_TRUE(fresh->restore(empty.data(), empty.size()));
    feed(*fresh, 0, 400);
    fresh->position("acc1", btc());
    EXPECT_TRUE(snap(*fresh) == snap(*live));
}

// ---- venue-reported positions (positions.> AccountUpdate) -------------------

namespace {
AccountUpdateMsg venue_positions(const std::string& acct, std::int64_t qty_5dp, std::int64_t ts,
                                 std::int64_t entry_px_2dp = 0) {
    AccountUpdateMsg u;
    u.update_id.assign("u-" + std::to_string(ts));
    u.account.assign(acct);
    u.exchange.assign("binance");
    u.market.assign("spot");
    u.reason = 6;  // RECONCILE
    u.ts_event_ns = ts;
    u.n_positions = 1;
    PositionEntry& p = u.positions[0];
    p.instrument = btc();
    p.quantity = Decimal{qty_5dp, 5};
    if (entry_px_2dp > 0) { p.entry_price = Decimal{entry_px_2dp, 2}; p.has_entry_price = true; }
    return u;
}
}  // namespace

TEST(Engine, VenuePositionReplacesQuantityAndExposure) {
    auto e = make_engine();
    OutputBuffer out;
    // The venue reports 0.5 BTC long at 60000 (e.g. bought outside the OMS).
    EXPECT_EQ(e->handle(venue_positions("acc1", 50000, T0, 6000000), out), HandleStatus::Ok);
    EXPECT_EQ(out.count, 0u);
    const Position* p = e->position("acc1", btc());
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->qty, 50000);
    EXPECT_EQ(p->cost, U(30000));
    EXPECT_EQ(e->account("acc1")->lng, U(30000));
    EXPECT_EQ(e->account("acc1")->gross, U(30000));
    EXPECT_EQ(e->stats().positions_applied, 1u);
    // Flat report: position and exposure back to zero.
    e->handle(venue_positions("acc1", 0, T0 + 1), out);
    EXPECT_EQ(e->position("acc1", btc())->qty, 0);
    EXPECT_EQ(e->position("acc1", btc())->cost, 0);
    EXPECT_EQ(e->account("acc1")->gross, 0);
}

TEST(Engine, VenuePositionFeedsReduceOnlyAndPositionLimit) {
    RiskConfig cfg;
    cfg.defaults.max_position_long = "1";
    auto e = make_engine(&cfg);
    OutputBuffer out;
    // No position known: a reduce-only sell is rejected.
    auto ro = new_order("s1", Side::Sell, 20000, 6500000);
    ro.new_order.reduce_only = true;
    EXPECT_EQ(decide(*e, ro).reason, RejectReason::ReduceOnly);
    // Venue reports 0.9 long: the same sell now reduces, and a 0.2 buy breaches the 1 BTC limit.
    e->handle(venue_positions("acc1", 90000, T0, 6500000), out);
    ro.command_id.assign("cmd-s1-again");
    ro.new_order.order_id.assign("s1b");
    ro.new_order.client_order_id.assign("cl-s1b");
    EXPECT_EQ(decide(*e, ro).result, DecisionResult::Accepted);
    EXPECT_EQ(decide(*e, new_order("b1", Side::Buy, 20000, 6500000)).reason, RejectReason::MaxPosition);
    EXPECT_EQ(decide(*e, new_order("b2", Side::Buy, 10000, 6500000)).result, DecisionResult::Accepted);  // 1.0 exactly
}

TEST(Engine, VenuePositionOlderThanAppliedFillIsIgnored) {
    auto e = make_engine();
    OutputBuffer out;
    e->handle(fill("t1", "", Side::Buy, 100000, 6500000, T0 + 10 * SEC), out);
    ASSERT_EQ(e->position("acc1", btc())->qty, 100000);
    // Taken before the fill: stale, ignored.
    e->handle(venue_positions("acc1", 0, T0 + 5 * SEC), out);
    EXPECT_EQ(e->position("acc1", btc())->qty, 100000);
    EXPECT_EQ(e->stats().positions_stale, 1u);
    // After the fill: applied (venue says 0.8; same side keeps the average entry 65000).
    e->handle(venue_positions("acc1", 80000, T0 + 11 * SEC), out);
    EXPECT_EQ(e->position("acc1", btc())->qty, 80000);
    EXPECT_EQ(e->position("acc1", btc())->cost, U(52000));
    // An older report after a newer one: ignored too.
    e->handle(venue_positions("acc1", 10000, T0 + 10 * SEC + 1), out);
    EXPECT_EQ(e->position("acc1", btc())->qty, 80000);
    // Unknown instrument: counted, nothing else.
    auto u = venue_positions("acc1", 10000, T0 + 12 * SEC);
    u.positions[0].instrument.symbol.assign("NOPEUSDT");
    e->handle(u, out);
    EXPECT_EQ(e->stats().positions_unknown, 1u);
    EXPECT_EQ(e->position("acc1", btc())->qty, 80000);
}
