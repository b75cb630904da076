#include "oms/engine/risk_limits.hpp"

#include <memory>

namespace oms::engine {
namespace {

bool dec(const std::optional<std::string>& v, int scale, std::int64_t& out, const char* key,
         const std::string& where, std::string* err) {
    if (!v) return true;
    std::int64_t x;
    if (!parse_decimal(*v, scale, x) || x < 0) {
        if (err) *err = where + "." + key + ": invalid non-negative decimal '" + *v + "'";
        return false;
    }
    out = x;
    return true;
}
bool integer(const std::optional<std::int64_t>& v, std::int64_t& out, const char* key, const std::string& where,
             std::string* err) {
    if (!v) return true;
    if (*v < 0) { if (err) *err = where + "." + key + ": must be >= 0"; return false; }
    out = *v;
    return true;
}

bool apply_account(const LimitValues& v, AccountLimits& a, const std::string& where, std::string* err) {
    return integer(v.max_open_orders, a.max_open_orders, "max_open_orders", where, err) &&
           dec(v.max_long_notional, kQuoteScale, a.max_long_notional, "max_long_notional", where, err) &&
           dec(v.max_short_notional, kQuoteScale, a.max_short_notional, "max_short_notional", where, err) &&
           dec(v.max_gross_exposure, kQuoteScale, a.max_gross_exposure, "max_gross_exposure", where, err) &&
           dec(v.daily_loss_limit, kQuoteScale, a.daily_loss_limit, "daily_loss_limit", where, err) &&
           dec(v.orders_per_second, kRateScale, a.orders_per_second, "orders_per_second", where, err) &&
           dec(v.order_burst, kRateScale, a.order_burst, "order_burst", where, err);
}
bool apply_symbol(const LimitValues& v, SymbolLimits& s, const std::string& where, std::string* err) {
    return dec(v.max_order_qty, kLimitQtyScale, s.max_order_qty, "max_order_qty", where, err) &&
           dec(v.max_order_notional, kQuoteScale, s.max_order_notional, "max_order_notional", where, err) &&
           dec(v.max_position_long, kLimitQtyScale, s.max_position_long, "max_position_long", where, err) &&
           dec(v.max_position_short, kLimitQtyScale, s.max_position_short, "max_position_short", where, err) &&
           integer(v.max_open_orders_per_symbol, s.max_open_orders, "max_open_orders_per_symbol", where, err) &&
           integer(v.price_collar_bps, s.price_collar_bps, "price_collar_bps", where, err);
}

}  // namespace

bool compile_limits(const RiskConfig& cfg, RiskLimitsTable& out, std::string* err) {
    // Built into a heap temporary: RiskLimitsTable is large and `out` must
    // stay untouched on error.
    auto t = std::make_unique<RiskLimitsTable>();
    if (!apply_account(cfg.defaults, t->default_account, "risk.defaults", err)) return false;
    if (!apply_symbol(cfg.defaults, t->default_symbol, "risk.defaults", err)) return false;
    if (cfg.reference_max_age_ms < 0) { if (err) *err = "risk.reference_max_age_ms: must be >= 0"; return false; }
    t->reference_max_age_ns = cfg.reference_max_age_ms * 1'000'000;
    t->allow_missing_reference = cfg.allow_missing_reference;
    if (cfg.accounts.size() > kMaxAccountOverrides || cfg.symbols.size() > kMaxSymbolOverrides) {
        if (err) *err = "risk: too many account/symbol overrides";
        return false;
    }
    for (const auto& [name, v] : cfg.accounts) {
        auto& o = t->accounts[t->n_accounts++];
        if (!o.account.assign(name)) { if (err) *err = "risk.accounts: name too long: " + name; return false; }
        o.limits = t->default_account;
        if (!apply_account(v, o.limits, "risk.accounts." + name, err)) return false;
    }
    for (const auto& [key, v] : cfg.symbols) {
        auto& o = t->symbols[t->n_symbols++];
        if (!o.key.assign(key)) { if (err) *err = "risk.symbols: key too long: " + key; return false; }
        o.limits = t->default_symbol;
        if (!apply_symbol(v, o.limits, "risk.symbols." + key, err)) return false;
    }
    out = *t;
    return true;
}

AccountLimits RiskLimitsTable::for_account(std::string_view account) const {
    for (std::uint32_t i = 0; i < n_accounts; ++i)
        if (accounts[i].account == account) return accounts[i].limits;
    return default_account;
}

SymbolLimits RiskLimitsTable::for_instrument(const InstrumentId& id) const {
    // Most specific wins: "exchange.market.SYMBOL" over bare "SYMBOL".
    char full[80];
    std::size_t n = 0;
    for (auto sv : {id.exchange.view(), std::string_view("."), id.market.view(), std::string_view("."), id.symbol.view()})
        for (char c : sv) if (n < sizeof full) full[n++] = c;
    std::string_view fq(full, n);
    const SymbolOverride* bare = nullptr;
    for (std::uint32_t i = 0; i < n_symbols; ++i) {
        if (symbols[i].key == fq) return symbols[i].limits;
        if (symbols[i].key == id.symbol.view()) bare = &symbols[i];
    }
    return bare ? bare->limits : default_symbol;
}

}  // namespace oms::engine
