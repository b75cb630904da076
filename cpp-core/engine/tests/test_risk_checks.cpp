// Every check: pass, fail, and exactly-at-the-limit (which passes).
#include <gtest/gtest.h>
#include "helpers.hpp"
#include "oms/engine/risk_checks.hpp"

using namespace oms::engine;
using namespace oms::engine::test;

namespace {
constexpr std::int64_t U(std::int64_t whole) { return whole * 100000000LL; }  // quote 8dp

OrderView ov(Side side, std::int64_t qty_5dp, std::int64_t px_2dp) {
    OrderView o;
    o.side = side; o.type = OrderType::Limit; o.qty = qty_5dp; o.price = px_2dp; o.has_price = px_2dp > 0;
    notional(px_2dp, 2, qty_5dp, 5, o.notional);
    o.ts_ns = T0;
    return o;
}
}  // namespace

// ---- instrument rules ----
TEST(InstrumentRules, TickSize) {
    auto s = btc_spec();
    RejectText t;
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 100000, 6500010), t), RejectReason::None);  // 65000.10 on tick
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 100000, 6500005), t), RejectReason::TickSize);
    EXPECT_EQ(t.view(), "price 65000.05 not a multiple of tick 0.10");
}
TEST(InstrumentRules, LotSize) {
    auto s = btc_spec();
    RejectText t;
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 100010, 6500000), t), RejectReason::None);
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 100011, 6500000), t), RejectReason::LotSize);
    EXPECT_EQ(t.view(), "qty 1.00011 not a multiple of lot 0.00010");
}
TEST(InstrumentRules, MinQtyBoundary) {
    auto s = btc_spec();
    s.min_qty = 100;  // 0.001
    s.min_notional = 0;
    RejectText t;
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 100, 6500000), t), RejectReason::None);  // exactly min
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 90, 6500000), t), RejectReason::MinQty);
    EXPECT_EQ(t.view(), "qty 0.00090 < min 0.00100");
}
TEST(InstrumentRules, VenueMaxQty) {
    auto s = btc_spec();
    s.max_qty = 1000000;  // 10
    RejectText t;
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 1000000, 6500000), t), RejectReason::None);
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 1000010, 6500000), t), RejectReason::MaxOrderQty);
}
TEST(InstrumentRules, MinNotionalBoundary) {
    auto s = btc_spec();  // min notional 5 USDT
    RejectText t;
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 1000, 50000), t), RejectReason::None);  // 0.01 * 500.00 = 5 exactly
    EXPECT_EQ(check_instrument_rules(s, ov(Side::Buy, 990, 50000), t), RejectReason::MinNotional);
    EXPECT_EQ(t.view(), "notional 4.95 < min 5.00");
}
TEST(InstrumentRules, EstimatedQtySkipsLotAndMin) {
    auto s = btc_spec();
    OrderView o = ov(Side::Buy, 7, 0);
    o.qty_estimated = true;
    o.notional = U(10);
    RejectText t;
    EXPECT_EQ(check_instrument_rules(s, o, t), RejectReason::None);
}

// ---- order size ----
TEST(MaxOrderQty, PassFailBoundary) {
    auto s = btc_spec();
    SymbolLimits l; l.max_order_qty = 2 * kPow10[kLimitQtyScale];
    RejectText t;
    EXPECT_EQ(check_max_order_qty(l, s, ov(Side::Buy, 100000, 100), t), RejectReason::None);
    EXPECT_EQ(check_max_order_qty(l, s, ov(Side::Buy, 200000, 100), t), RejectReason::None);  // exactly 2
    EXPECT_EQ(check_max_order_qty(l, s, ov(Side::Buy, 500000, 100), t), RejectReason::MaxOrderQty);
    EXPECT_EQ(t.view(), "qty 5.00000 > max 2.00000");
    SymbolLimits unl;
    EXPECT_EQ(check_max_order_qty(unl, s, ov(Side::Buy, INT64_MAX / 2, 100), t), RejectReason::None);
}
TEST(MaxOrderNotional, PassFailBoundary) {
    SymbolLimits l; l.max_order_notional = U(100000);
    RejectText t;
    EXPECT_EQ(check_max_order_notional(l, ov(Side::Buy, 100000, 5000000), t), RejectReason::None);  // 50k
    EXPECT_EQ(check_max_order_notional(l, ov(Side::Buy, 200000, 5000000), t), RejectReason::None);  // 100k exactly
    EXPECT_EQ(check_max_order_notional(l, ov(Side::Buy, 200010, 5000000), t), RejectReason::MaxOrderNotional);
    EXPECT_EQ(t.view(), "notional 100005.00 > max 100000.00");
    OrderView unknown = ov(Side::Buy, 200010, 0); unknown.notional = -1;
    EXPECT_EQ(check_max_order_notional(l, unknown, t), RejectReason::None);
}

// ---- price collar ----
TEST(PriceCollar, PassFailBoundaryBothSides) {
    auto s = btc_spec();
    SymbolLimits l; l.price_collar_bps = 100;  // 1%
    Reference r{1000000, T0};                   // 10000.00
    RejectText t;
    EXPECT_EQ(check_price_collar(l, s, r, true, false, ov(Side::Buy, 1000, 1005000), t), RejectReason::None);
    EXPECT_EQ(check_price_collar(l, s, r, true, false, ov(Side::Buy, 1000, 1010000), t), RejectReason::None);  // +1% exactly
    EXPECT_EQ(check_price_collar(l, s, r, true, false, ov(Side::Buy, 1000, 990000), t), RejectReason::None);   // -1% exactly
    EXPECT_EQ(check_price_collar(l, s, r, true, false, ov(Side::Buy, 1000, 1010001), t), RejectReason::PriceCollar);
    EXPECT_EQ(t.view(), "price 10100.01 outside 100 bps of reference 10000.00");
    t.clear();
    EXPECT_EQ(check_price_collar(l, s, r, true, false, ov(Side::Sell, 1000, 989999), t), RejectReason::PriceCollar);
}
TEST(PriceCollar, NoReferenceRejectsUnlessAllowed) {
    auto s = btc_spec();
    SymbolLimits l; l.price_collar_bps = 100;
    RejectText t;
    EXPECT_EQ(check_price_collar(l, s, Reference{}, false, false, ov(Side::Buy, 1000, 1000000), t), RejectReason::NoReferencePrice);
    EXPECT_EQ(check_price_collar(l, s, Reference{}, false, true, ov(Side::Buy, 1000, 1000000), t), RejectReason::None);
    SymbolLimits off;  // collar disabled: no reference needed
    EXPECT_EQ(check_price_collar(off, s, Reference{}, false, false, ov(Side::Buy, 1000, 1000000), t), RejectReason::None);
}
TEST(PriceCollar, FreshnessBoundary) {
    Reference r{1000000, T0};
    EXPECT_TRUE(reference_fresh(r, T0 + 5'000'000'000, 5'000'000'000));   // exactly max age
    EXPECT_FALSE(reference_fresh(r, T0 + 5'000'000'001, 5'000'000'000));
    EXPECT_FALSE(reference_fresh(Reference{}, T0, 5'000'000'000));
}

// ---- open orders ----
TEST(OpenOrders, AccountAndSymbolBoundary) {
    AccountLimits al; al.max_open_orders = 3;
    SymbolLimits sl; sl.max_open_orders = 2;
    RejectText t;
    EXPECT_EQ(check_open_orders(1, al, 0, sl, t), RejectReason::None);
    EXPECT_EQ(check_open_orders(2, al, 1, sl, t), RejectReason::None);  // reaches both maxima exactly
    EXPECT_EQ(check_open_orders(3, al, 0, sl, t), RejectReason::MaxOpenOrders);
    EXPECT_EQ(t.view(), "open orders 4 > max 3 (account)");
    t.clear();
    EXPECT_EQ(check_open_orders(0, al, 2, sl, t), RejectReason::MaxOpenOrders);
    EXPECT_EQ(t.view(), "open orders 3 > max 2 (symbol)");
}

// ---- positions, worst case with open orders ----
TEST(SymbolPosition, LongCountsOpenBuys) {
    auto s = btc_spec();
    SymbolLimits l; l.max_position_long = 3 * kPow10[8]; l.max_position_short = 1 * kPow10[8];
    Exposure e; e.pos.qty = 100000; e.open_buy_qty = 100000;  // 1 long + 1 open buy
    RejectText t;
    EXPECT_EQ(check_symbol_position(l, s, e, ov(Side::Buy, 100000, 100), t), RejectReason::None);  // 3 exactly
    EXPECT_EQ(check_symbol_position(l, s, e, ov(Side::Buy, 100010, 100), t), RejectReason::MaxPosition);
    EXPECT_EQ(t.view(), "worst-case long 3.00010 > max 3.00000");
}
TEST(SymbolPosition, ShortCountsOpenSells) {
    auto s = btc_spec();
    SymbolLimits l; l.max_position_short = 1 * kPow10[8];
    Exposure e; e.pos.qty = 100000; e.open_sell_qty = 100000;  // long 1, selling 1 already
    RejectText t;
    EXPECT_EQ(check_symbol_position(l, s, e, ov(Side::Sell, 100000, 100), t), RejectReason::None);  // worst short = 1
    EXPECT_EQ(check_symbol_position(l, s, e, ov(Side::Sell, 100010, 100), t), RejectReason::MaxPosition);
}
TEST(AccountExposureCheck, LongShortGrossBoundaries) {
    AccountLimits l; l.max_long_notional = U(100); l.max_short_notional = U(50); l.max_gross_exposure = U(120);
    RejectText t;
    EXPECT_EQ(check_account_exposure(l, {U(100), U(20), U(120)}, t), RejectReason::None);
    EXPECT_EQ(check_account_exposure(l, {U(100) + 1, 0, 0}, t), RejectReason::MaxPosition);
    t.clear();
    EXPECT_EQ(check_account_exposure(l, {0, U(50) + 1, 0}, t), RejectReason::MaxPosition);
    t.clear();
    EXPECT_EQ(check_account_exposure(l, {0, 0, U(120) + 1}, t), RejectReason::MaxGrossExposure);
    EXPECT_EQ(t.view(), "gross exposure 120.00000001 > max 120.00");
}
TEST(Exposure, ContribAndReducing) {
    Exposure e;
    e.pos.qty = 200000; e.pos.cost = U(200);
    e.open_sell_qty = 100000; e.open_sell_notional = U(100);
    e.open_buy_notional = U(10);
    ExposureContrib c = contrib(e);
    EXPECT_EQ(c.lng, U(210));
    EXPECT_EQ(c.shrt, 0);
    EXPECT_EQ(c.gross, U(310));
    EXPECT_TRUE(is_reducing(e, ov(Side::Sell, 100000, 100)));    // 1 + 1 open <= 2
    EXPECT_FALSE(is_reducing(e, ov(Side::Sell, 100010, 100)));   // would flip
    EXPECT_FALSE(is_reducing(e, ov(Side::Buy, 100, 100)));
    Exposure sh; sh.pos.qty = -100000;
    EXPECT_TRUE(is_reducing(sh, ov(Side::Buy, 100000, 100)));
    EXPECT_FALSE(is_reducing(sh, ov(Side::Buy, 100010, 100)));
}

// ---- daily loss ----
TEST(DailyLoss, PassFailBoundary) {
    AccountLimits l; l.daily_loss_limit = U(1000);
    RejectText t;
    EXPECT_EQ(check_daily_loss(l, U(500), t), RejectReason::None);     // profit
    EXPECT_EQ(check_daily_loss(l, -U(1000), t), RejectReason::None);   // exactly at limit
    EXPECT_EQ(check_daily_loss(l, -U(1000) - 1, t), RejectReason::DailyLossLimit);
    EXPECT_EQ(t.view(), "daily loss 1000.00000001 > limit 1000.00");
}

// ---- rate ----
TEST(OrderRate, TokenBucketBoundaryAndRefill) {
    AccountLimits l; l.orders_per_second = 2000; l.order_burst = 2000;  // 2/s, burst 2
    TokenBucket b;
    RejectText t;
    EXPECT_EQ(check_rate(l, b, T0, t), RejectReason::None);
    EXPECT_EQ(check_rate(l, b, T0, t), RejectReason::None);  // exactly the burst
    EXPECT_EQ(check_rate(l, b, T0, t), RejectReason::OrderRate);
    EXPECT_EQ(t.view(), "order rate > 2/s (burst 2)");
    EXPECT_EQ(check_rate(l, b, T0 + 499'999'999, t), RejectReason::OrderRate);  // not yet one token
    EXPECT_EQ(check_rate(l, b, T0 + 500'000'000, t), RejectReason::None);      // one token after 0.5 s
    EXPECT_EQ(check_rate(l, b, T0 + 400'000'000, t), RejectReason::OrderRate);  // time backwards: no refill
    EXPECT_EQ(check_rate(l, b, T0 + 10'000'000'000, t), RejectReason::None);   // capped at burst
    EXPECT_EQ(check_rate(l, b, T0 + 10'000'000'000, t), RejectReason::None);
    EXPECT_EQ(check_rate(l, b, T0 + 10'000'000'000, t), RejectReason::OrderRate);
}
TEST(OrderRate, DisabledWhenZero) {
    AccountLimits l;
    TokenBucket b;
    RejectText t;
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(check_rate(l, b, T0, t), RejectReason::None);
}
