#include <gtest/gtest.h>
#include "oms/engine/fixed_point.hpp"

using namespace oms::engine;

TEST(FixedPoint, RescaleUpDownExact) {
    std::int64_t v;
    EXPECT_TRUE(rescale(123, 2, 5, v)); EXPECT_EQ(v, 123000);
    EXPECT_TRUE(rescale(123000, 5, 2, v)); EXPECT_EQ(v, 123);
    EXPECT_FALSE(rescale(123001, 5, 2, v));  // precision loss rejected
    EXPECT_TRUE(rescale(123001, 5, 2, v, Rounding::TowardZero)); EXPECT_EQ(v, 123);
    EXPECT_TRUE(rescale(-123001, 5, 2, v, Rounding::TowardZero)); EXPECT_EQ(v, -123);
}

TEST(FixedPoint, RescaleOverflowAndBadScale) {
    std::int64_t v;
    EXPECT_FALSE(rescale(INT64_MAX / 5, 0, 1, v));
    EXPECT_FALSE(rescale(1, -1, 2, v));
    EXPECT_FALSE(rescale(1, 0, 19, v));
}

TEST(FixedPoint, NotionalUsesInt128) {
    std::int64_t n;
    // 65000.00 * 1.50000 = 97500.00000000
    EXPECT_TRUE(notional(6500000, 2, 150000, 5, n));
    EXPECT_EQ(n, 97500LL * kPow10[8]);
    // px*qty overflows int64 before rescaling but the result fits.
    EXPECT_TRUE(notional(900000000000000000LL, 8, 900000000LL, 8, n));  // 9e9 * 9 = 8.1e10
    EXPECT_EQ(n, 81000000000LL * kPow10[8]);
    // Result itself does not fit: reported, not wrapped.
    EXPECT_FALSE(notional(INT64_MAX, 0, INT64_MAX, 0, n));
    EXPECT_EQ(notional_sat(INT64_MAX, 0, INT64_MAX, 0), INT64_MAX);
    EXPECT_EQ(notional_sat(INT64_MAX, 0, -INT64_MAX, 0), INT64_MIN + 1);
}

TEST(FixedPoint, NotionalLowScalesMultiplyUp) {
    std::int64_t n;
    EXPECT_TRUE(notional(100, 0, 3, 0, n));  // 100 KRW * 3
    EXPECT_EQ(n, 300 * kPow10[8]);
}

TEST(FixedPoint, DecimalConversion) {
    std::int64_t v;
    EXPECT_TRUE(from_decimal(Decimal{15, 1}, 5, v)); EXPECT_EQ(v, 150000);
    EXPECT_FALSE(from_decimal(Decimal{123456, 6}, 5, v));
    Decimal d = to_decimal(150000, 5);
    EXPECT_EQ(d.mantissa, 150000); EXPECT_EQ(d.scale, 5);
}

TEST(FixedPoint, ParseDecimal) {
    std::int64_t v;
    EXPECT_TRUE(parse_decimal("2.5", 8, v)); EXPECT_EQ(v, 250000000);
    EXPECT_TRUE(parse_decimal("1_000_000", 0, v)); EXPECT_EQ(v, 1000000);
    EXPECT_TRUE(parse_decimal("-0.001", 3, v)); EXPECT_EQ(v, -1);
    EXPECT_TRUE(parse_decimal("1.2300", 2, v)); EXPECT_EQ(v, 123);  // trailing zeros ok
    EXPECT_FALSE(parse_decimal("1.234", 2, v));
    EXPECT_FALSE(parse_decimal("abc", 2, v));
    EXPECT_FALSE(parse_decimal("", 2, v));
    EXPECT_FALSE(parse_decimal("1.2.3", 2, v));
    EXPECT_FALSE(parse_decimal("99999999999999999999", 0, v));
}

TEST(FixedPoint, FormatFixed) {
    char b[48];
    format_fixed(b, sizeof b, 500000, 5, 5); EXPECT_STREQ(b, "5.00000");
    format_fixed(b, sizeof b, 500000, 5, 0); EXPECT_STREQ(b, "5");
    format_fixed(b, sizeof b, 12345, 2, 0); EXPECT_STREQ(b, "123.45");
    format_fixed(b, sizeof b, -5, 3, 0); EXPECT_STREQ(b, "-0.005");
    format_fixed(b, sizeof b, 0, 2, 2); EXPECT_STREQ(b, "0.00");
    format_fixed(b, sizeof b, 7, 0, 0); EXPECT_STREQ(b, "7");
    format_fixed(b, sizeof b, INT64_MIN, 0, 0); EXPECT_STREQ(b, "-9223372036854775808");
}
