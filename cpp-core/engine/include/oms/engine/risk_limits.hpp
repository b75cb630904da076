#pragma once
// Risk limits: the config-facing description (strings, optional values, built
// off the hot path) and the compiled, fixed-size table the checks read.
//
// Resolution: every value starts from `defaults`; account-level values
// (open orders, account notional, gross exposure, daily loss, rate) are
// overridden per account name; symbol-level values (order qty/notional,
// collar, per-symbol position, per-symbol open orders) are overridden per
// symbol key, where the key is either "EXCHANGE.MARKET.SYMBOL"
// (e.g. "binance.spot.BTCUSDT", most specific) or a bare "BTCUSDT" (all
// venues). An unset value means unlimited / disabled.
//
// Units: quantities are base-asset amounts, notionals/losses are quote-asset
// amounts (summed across instruments without FX: limits assume one quote
// currency family, e.g. USDT/USD), rates are orders per second.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include "oms/engine/fixed_point.hpp"
#include "oms/engine/fixed_string.hpp"
#include "oms/engine/instrument_registry.hpp"

namespace oms::engine {

inline constexpr std::int64_t kUnlimited = INT64_MAX;
inline constexpr int kRateScale = 3;  // token bucket counts milli-orders
inline constexpr int kRatioScale = 8;  // margin ratios (maintenance margin / margin balance)

// ---- config-facing (allocating; load/reload only) -------------------------
struct LimitValues {
    // Decimal strings, e.g. "2.5". Quantities: base units.
    std::optional<std::string> max_order_qty;
    std::optional<std::string> max_position_long;    // per account per symbol, base units
    std::optional<std::string> max_position_short;   // per account per symbol, base units (positive)
    // Quote units.
    std::optional<std::string> max_order_notional;
    std::optional<std::string> max_long_notional;    // per account, all symbols, worst case
    std::optional<std::string> max_short_notional;   // per account, all symbols, worst case
    std::optional<std::string> max_gross_exposure;   // per account
    std::optional<std::string> daily_loss_limit;     // per account, positive amount
    // Rate: orders (new + amend) per second per account, and bucket depth.
    std::optional<std::string> orders_per_second;
    std::optional<std::string> order_burst;          // default: max(1, orders_per_second)
    // Integers.
    std::optional<std::int64_t> max_open_orders;             // per account
    std::optional<std::int64_t> max_open_orders_per_symbol;  // per account per symbol
    std::optional<std::int64_t> price_collar_bps;            // 0/unset: collar off
    // Futures (instruments of a futures market only).
    std::optional<std::int64_t> max_leverage;       // account and/or symbol; the tighter wins
    std::optional<std::int64_t> leverage;           // symbol: leverage in effect before the venue reports one
    std::optional<std::string> margin_ratio_warning;     // account: alert at/above this ratio
    std::optional<std::string> margin_ratio_critical;    // account: critical alert at/above this ratio
    std::optional<std::string> margin_ratio_hysteresis;  // account: lowered/cleared this far below (default 0.05)
    std::optional<bool> cancel_on_margin_critical;       // account: cancel exposure-increasing orders at critical
};

// One Binance notional bracket: up to `cap` (quote) of position notional at
// leverage up to `max_leverage` (Binance's notionalCap / initialLeverage).
struct BracketValues {
    std::string cap;
    std::int64_t max_leverage = 0;
};

struct RiskConfig {
    LimitValues defaults;
    std::vector<std::pair<std::string, LimitValues>> accounts;  // name -> overrides
    std::vector<std::pair<std::string, LimitValues>> symbols;   // key -> overrides
    // Reference price (TopOfBook mid) older than this is stale.
    std::int64_t reference_max_age_ms = 5000;
    // true: a missing/stale reference skips the collar instead of rejecting
    // with NO_REFERENCE_PRICE.
    bool allow_missing_reference = false;
    // Futures notional brackets per symbol key ("ex.mkt.SYM" or "SYM").
    std::vector<std::pair<std::string, std::vector<BracketValues>>> brackets;
};

// ---- compiled (plain data, fixed size, trivially copyable) ---------------
struct SymbolLimits {
    std::int64_t max_order_qty = kUnlimited;       // kLimitQtyScale
    std::int64_t max_order_notional = kUnlimited;  // kQuoteScale
    std::int64_t max_position_long = kUnlimited;   // kLimitQtyScale
    std::int64_t max_position_short = kUnlimited;  // kLimitQtyScale
    std::int64_t max_open_orders = kUnlimited;
    std::int64_t price_collar_bps = 0;
    std::int64_t max_leverage = kUnlimited;
    std::int64_t leverage = 0;                     // 0: Binance's default (20x)
    std::int32_t bracket_set = -1;                 // RiskLimitsTable::bracket_sets index; -1: none
};

struct AccountLimits {
    std::int64_t max_open_orders = kUnlimited;
    std::int64_t max_long_notional = kUnlimited;   // kQuoteScale
    std::int64_t max_short_notional = kUnlimited;
    std::int64_t max_gross_exposure = kUnlimited;
    std::int64_t daily_loss_limit = kUnlimited;
    std::int64_t orders_per_second = 0;            // kRateScale; 0 = no throttle
    std::int64_t order_burst = 0;                  // kRateScale
    std::int64_t max_leverage = kUnlimited;
    std::int64_t margin_ratio_warning = kUnlimited;   // kRatioScale
    std::int64_t margin_ratio_critical = kUnlimited;  // kRatioScale
    std::int64_t margin_ratio_hysteresis = 5'000'000; // kRatioScale (0.05)
    bool cancel_on_margin_critical = false;
};

inline constexpr std::size_t kMaxBrackets = 16;
inline constexpr std::size_t kMaxBracketSets = 64;
struct Bracket { std::int64_t cap = 0; std::int32_t max_leverage = 0; };  // cap: kQuoteScale
struct BracketSet { std::uint8_t n = 0; Bracket brackets[kMaxBrackets]; };  // by cap, ascending

inline constexpr std::size_t kMaxAccountOverrides = 256;
inline constexpr std::size_t kMaxSymbolOverrides = 1024;

struct RiskLimitsTable {
    SymbolLimits default_symbol;
    AccountLimits default_account;
    std::int64_t reference_max_age_ns = 5'000'000'000;
    bool allow_missing_reference = false;

    struct AccountOverride { Str32 account; AccountLimits limits; };
    struct SymbolOverride { Str64 key; SymbolLimits limits; };  // key "ex.mkt.SYM" or "SYM"
    std::uint32_t n_accounts = 0;
    std::uint32_t n_symbols = 0;
    AccountOverride accounts[kMaxAccountOverrides];
    SymbolOverride symbols[kMaxSymbolOverrides];
    std::uint32_t n_bracket_sets = 0;
    Str64 bracket_keys[kMaxBracketSets];
    BracketSet bracket_sets[kMaxBracketSets];

    // Resolution (linear scans: only on account creation, instrument
    // registration and reload, never per order).
    AccountLimits for_account(std::string_view account) const;
    SymbolLimits for_instrument(const InstrumentId& id) const;
};

// Compile the config. Returns false with a message naming the offending key
// on a malformed value; `out` is then untouched.
bool compile_limits(const RiskConfig& cfg, RiskLimitsTable& out, std::string* err);

}  // namespace oms::engine
