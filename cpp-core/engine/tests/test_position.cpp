#include <gtest/gtest.h>
#include "oms/engine/position.hpp"

using namespace oms::engine;

// price scale 2, qty scale 5; quote amounts at 8 dp.
constexpr int PS = 2, QS = 5;
constexpr std::int64_t Q(double v) { return static_cast<std::int64_t>(v * 100000 + (v >= 0 ? 0.5 : -0.5)); }
constexpr std::int64_t P(double v) { return static_cast<std::int64_t>(v * 100 + 0.5); }
constexpr std::int64_t U(double v) { return static_cast<std::int64_t>(v * 1e8 + (v >= 0 ? 0.5 : -0.5)); }

TEST(Position, OpenAndAverage) {
    Position p;
    EXPECT_EQ(apply_fill(p, Q(1), P(100), PS, QS), 0);
    EXPECT_EQ(apply_fill(p, Q(1), P(110), PS, QS), 0);
    EXPECT_EQ(p.qty, Q(2));
    EXPECT_EQ(p.cost, U(210));
    EXPECT_EQ(average_price(p, PS, QS), P(105));
}

TEST(Position, AverageNotRepresentableStaysExactInCost) {
    Position p;
    apply_fill(p, Q(3), P(100), PS, QS);
    apply_fill(p, Q(0.00001), P(100.01), PS, QS);  // avg 100.0000033..
    EXPECT_EQ(average_price(p, PS, QS), P(100));   // truncated for display
    // Closing everything at 101 realises exactly (101*3.00001 - cost).
    std::int64_t pnl = apply_fill(p, -Q(3.00001), P(101), PS, QS);
    EXPECT_EQ(pnl, U(101 * 3.00001) - (U(300) + U(0.0010001)));
    EXPECT_EQ(p.qty, 0);
    EXPECT_EQ(p.cost, 0);
}

TEST(Position, ReduceLongRealisesPnl) {
    Position p;
    apply_fill(p, Q(2), P(100), PS, QS);
    std::int64_t pnl = apply_fill(p, -Q(0.5), P(120), PS, QS);
    EXPECT_EQ(pnl, U(10));  // 0.5 * (120-100)
    EXPECT_EQ(p.qty, Q(1.5));
    EXPECT_EQ(average_price(p, PS, QS), P(100));  // avg unchanged on reduce
    EXPECT_EQ(p.realised, U(10));
}

TEST(Position, ReduceShortRealisesPnl) {
    Position p;
    apply_fill(p, -Q(2), P(100), PS, QS);
    EXPECT_EQ(p.cost, -U(200));
    EXPECT_EQ(average_price(p, PS, QS), P(100));
    std::int64_t pnl = apply_fill(p, Q(1), P(90), PS, QS);
    EXPECT_EQ(pnl, U(10));  // short gains when price falls
    pnl = apply_fill(p, Q(1), P(105), PS, QS);
    EXPECT_EQ(pnl, -U(5));
    EXPECT_EQ(p.qty, 0);
    EXPECT_EQ(p.realised, U(5));
}

TEST(Position, FlipLongToShort) {
    Position p;
    apply_fill(p, Q(1), P(100), PS, QS);
    std::int64_t pnl = apply_fill(p, -Q(3), P(110), PS, QS);
    EXPECT_EQ(pnl, U(10));  // closes 1 @ +10
    EXPECT_EQ(p.qty, -Q(2));
    EXPECT_EQ(average_price(p, PS, QS), P(110));  // remainder opened at the fill price
    EXPECT_EQ(p.cost, -U(220));
}

TEST(Position, FlipShortToLong) {
    Position p;
    apply_fill(p, -Q(1), P(100), PS, QS);
    std::int64_t pnl = apply_fill(p, Q(1.5), P(95), PS, QS);
    EXPECT_EQ(pnl, U(5));
    EXPECT_EQ(p.qty, Q(0.5));
    EXPECT_EQ(average_price(p, PS, QS), P(95));
}

TEST(Position, UnrealisedVsMark) {
    Position p;
    apply_fill(p, Q(2), P(100), PS, QS);
    EXPECT_EQ(unrealised(p, P(110), PS, QS), U(20));
    EXPECT_EQ(unrealised(p, P(90), PS, QS), -U(20));
    Position s;
    apply_fill(s, -Q(2), P(100), PS, QS);
    EXPECT_EQ(unrealised(s, P(90), PS, QS), U(20));
    EXPECT_EQ(unrealised(Position{}, P(90), PS, QS), 0);
}

TEST(Position, FeesInQuoteAreSeparateFromGross) {
    Position p;
    apply_fill(p, Q(1), P(100), PS, QS, U(0.1));
    apply_fill(p, -Q(1), P(101), PS, QS, U(0.101));
    EXPECT_EQ(p.realised, U(1));
    EXPECT_EQ(p.fees, U(0.201));
    EXPECT_EQ(p.net_realised(), U(0.799));
    EXPECT_EQ(p.volume, U(201));
}

TEST(Position, ZeroFillIsNoop) {
    Position p;
    EXPECT_EQ(apply_fill(p, 0, P(100), PS, QS), 0);
    EXPECT_EQ(p.qty, 0);
}
