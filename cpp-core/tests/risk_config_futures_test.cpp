// The futures keys of the `risk:` section (risk_config.cpp): brackets,
// leverage limits, margin-ratio thresholds, and the connector's configured
// leverage (exchanges.<ex>.futures.leverage) as the leverage in effect.
#include "oms/core/risk_config.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

using oms::core::parse_risk_settings;
namespace eng = oms::engine;

namespace {

std::string errors_of(const oms::core::RiskSettings& s) {
  std::string out;
  for (const auto& e : s.errors) out += e.key + ": " + e.message + "\n";
  return out;
}

eng::InstrumentId id(const char* ex, const char* mkt, const char* sym) {
  eng::InstrumentId i;
  i.exchange.assign(ex);
  i.market.assign(mkt);
  i.symbol.assign(sym);
  return i;
}

}  // namespace

TEST(RiskConfigFutures, ParsesBracketsLeverageAndMarginThresholds) {
  const auto s = parse_risk_settings(R"(
exchanges:
  binance:
    futures:
      symbols: [BTCUSDT, ETHUSDT]
      leverage: { BTCUSDT: 10, ETHUSDT: 5 }
risk:
  defaults: { max_leverage: 50, max_order_qty: "100" }
  accounts:
    acct-1: { max_leverage: 20, margin_ratio_warning: "0.5", margin_ratio_critical: "0.8",
              margin_ratio_hysteresis: "0.1", cancel_on_margin_critical: true }
  symbols:
    ETHUSDT: { max_order_qty: "7" }
    binance.futures.BTCUSDT: { max_leverage: 25, leverage: 12 }
  brackets:
    BTCUSDT:
      - { cap: "50000", max_leverage: 125 }
      - { cap: "250000", max_leverage: 100 }
)");
  ASSERT_TRUE(s.ok()) << errors_of(s);
  auto t = std::make_unique<eng::RiskLimitsTable>();
  std::string err;
  ASSERT_TRUE(eng::compile_limits(s.risk, *t, &err)) << err;
  const eng::AccountLimits a = t->for_account("acct-1");
  EXPECT_EQ(a.max_leverage, 20);
  EXPECT_EQ(a.margin_ratio_warning, 50'000'000);
  EXPECT_EQ(a.margin_ratio_critical, 80'000'000);
  EXPECT_EQ(a.margin_ratio_hysteresis, 10'000'000);
  EXPECT_TRUE(a.cancel_on_margin_critical);
  const eng::AccountLimits d = t->for_account("other");
  EXPECT_EQ(d.max_leverage, 50);
  EXPECT_EQ(d.margin_ratio_critical, eng::kUnlimited);
  EXPECT_EQ(d.margin_ratio_hysteresis, 5'000'000) << "default band 0.05";
  EXPECT_FALSE(d.cancel_on_margin_critical);

  const eng::SymbolLimits btc = t->for_instrument(id("binance", "futures", "BTCUSDT"));
  EXPECT_EQ(btc.max_leverage, 25);
  EXPECT_EQ(btc.leverage, 12) << "risk.symbols wins over the connector's leverage";
  ASSERT_GE(btc.bracket_set, 0);
  const eng::BracketSet& b = t->bracket_sets[btc.bracket_set];
  ASSERT_EQ(b.n, 2);
  EXPECT_EQ(b.brackets[1].cap, 250'000 * eng::kPow10[eng::kQuoteScale]);
  EXPECT_EQ(b.brackets[1].max_leverage, 100);
  const eng::SymbolLimits eth = t->for_instrument(id("binance", "futures", "ETHUSDT"));
  EXPECT_EQ(eth.leverage, 5) << "from exchanges.binance.futures.leverage";
  EXPECT_EQ(eth.max_order_qty, 7 * eng::kPow10[eng::kLimitQtyScale]) << "the bare ETHUSDT override still applies";
  EXPECT_EQ(eth.bracket_set, -1);
  EXPECT_EQ(t->for_instrument(id("binance", "spot", "ETHUSDT")).leverage, 0) << "spot: no leverage";
}

TEST(RiskConfigFutures, ConnectorLeverageAsOneNumber) {
  const auto s = parse_risk_settings(R"(
exchanges: { binance: { futures: { symbols: [BTCUSDT], leverage: 8 } } }
risk: { defaults: {} }
)");
  ASSERT_TRUE(s.ok()) << errors_of(s);
  auto t = std::make_unique<eng::RiskLimitsTable>();
  ASSERT_TRUE(eng::compile_limits(s.risk, *t, nullptr));
  EXPECT_EQ(t->for_instrument(id("binance", "futures", "BTCUSDT")).leverage, 8);
}

TEST(RiskConfigFutures, NamesEveryBadFuturesValue) {
  const auto s = parse_risk_settings(R"(
risk:
  defaults: { max_leverage: 0, leverage: many }
  accounts:
    a: { margin_ratio_warning: "0.9", margin_ratio_critical: "0.8", cancel_on_margin_critical: sometimes,
         margin_ratio_hysteresis: "-0.1" }
  brackets:
    BTCUSDT:
      - { cap: "abc", max_leverage: 125 }
      - { cap: "250000" }
      - { cap: "1000000", max_leverage: 50, mmr: "0.01" }
    ETHUSDT: []
)");
  const std::string e = errors_of(s);
  for (const char* want : {
           "risk.defaults.max_leverage: 0 is invalid: expected a leverage (x) (1..1000)",
           "risk.defaults.leverage: \"many\" is invalid: expected an integer",
           "risk.accounts.a.margin_ratio_warning: must not be above margin_ratio_critical",
           "risk.accounts.a.cancel_on_margin_critical: \"sometimes\" is invalid: expected true or false",
           "risk.accounts.a.margin_ratio_hysteresis: \"-0.1\" is invalid",
           "risk.brackets.BTCUSDT[0].cap: \"abc\" is invalid",
           "risk.brackets.BTCUSDT[1].max_leverage: required",
           "risk.brackets.BTCUSDT[2].mmr: unknown key",
           "risk.brackets.ETHUSDT: expected a non-empty list",
       })
    EXPECT_NE(e.find(want), std::string::npos) << "missing: " << want << "\n---\n" << e;
}

TEST(RiskConfigFutures, BracketsMustRiseInCapAndFallInLeverage) {
  const auto s = parse_risk_settings(R"(
risk:
  brackets:
    BTCUSDT:
      - { cap: "250000", max_leverage: 100 }
      - { cap: "50000", max_leverage: 125 }
)");
  EXPECT_NE(errors_of(s).find("risk.brackets.BTCUSDT[1]: caps must rise and max_leverage must not rise"),
            std::string::npos)
      << errors_of(s);
}
