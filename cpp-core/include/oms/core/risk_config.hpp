// The `risk:` and `instruments:` sections of configs/config.yaml, read into
// the engine's own types. Kept out of oms_config (which must not depend on
// the engine) and read again, whole, on every limits reload.
//
//   risk:
//     reference_max_age_ms: 5000        # older TopOfBook mid = no reference
//     allow_missing_reference: false    # true: skip the collar without one
//     defaults: { max_order_qty: "10", price_collar_bps: 500, ... }
//     accounts: { acct-1: { max_open_orders: 50 } }
//     symbols:  { binance.spot.BTCUSDT: { max_order_qty: "2" }, ETHUSDT: {...} }
//   instruments:
//     - { exchange: binance, market: spot, symbol: BTCUSDT, base: BTC, quote: USDT,
//         price_scale: 2, qty_scale: 5, tick_size: "0.01", lot_size: "0.00001",
//         min_qty: "0.00001", max_qty: "9000", min_notional: "5" }
//
// Decimal values are strings (exact); tick/lot/min/max quantities are
// converted to the instrument's price/qty scale and must be representable.
#pragma once

#include "oms/config.hpp"
#include "oms/engine/instrument_registry.hpp"
#include "oms/engine/risk_limits.hpp"

#include <string>
#include <vector>

namespace oms::core {

struct RiskSettings {
  engine::RiskConfig risk;
  std::vector<engine::InstrumentSpec> instruments;
  std::vector<config::ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Parses YAML text / a file. Never throws. Compiles the limits once
// (engine::compile_limits) so a bad value is reported here, not at apply time.
RiskSettings parse_risk_settings(const std::string& yaml_text);
RiskSettings load_risk_settings(const std::string& path);

}  // namespace oms::core
