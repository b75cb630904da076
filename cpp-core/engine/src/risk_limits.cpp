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

bool ratio(const std::optional<std::string>& v, std::int64_t& out, const char* key, const std::string& where,
           std::string* err) {
    return dec(v, kRatioScale, out, key, where, err);
}

bool apply_account(const LimitValues& v, AccountLimits& a, const std::string& where, std::string* err) {
    if (v.cancel_on_margin_critical) a.cancel_on_margin_critical = *v.cancel_on_margin_critical;
    return integer(v.max_leverage, a.max_leverage, "max_leverage", where, err) &&
           ratio(v.margin_ratio_warning, a.margin_ratio_warning, "margin_ratio_warning", where, err) &&
           ratio(v.margin_ratio_critical, a.margin_ratio_critical, "margin_ratio_critical", where, err) &&
           ratio(v.margin_ratio_hysteresis, a.margin_ratio_hysteresis, "margin_ratio_hysteresis", where, err) &&
           integer(v.max_open_orders, a.max_open_orders, "max_open_orders", where, err) &&
           dec(v.max_long_notional, kQuoteScale, a.max_long_notional, "max_long_notional", where, err) &&
           dec(v.max_short_notional, kQuoteScale, a.max_short_notional, "max_short_notional", where, err) &&
           dec(v.max_gross_exposure, kQuoteScale, a.max_gross_exposure, "max_gross_exposure", where, err) &&
           dec(v.daily_loss_limit, kQuoteScale, a.daily_loss_limit, "daily_loss_limit", where, err) &&
           dec(v.orders_per_second, kRateScale, a.orders_per_second, "orders_per_second", where, err) &&
           dec(v.order_burst, kRateScale, a.order_burst, "order_burst", where, err);
}
bool apply_symbol(const LimitValues& v, SymbolLimits& s, const std::string& where, std::string* err) {
    return integer(v.max_leverage, s.max_leverage, "max_leverage", where, err) &&
           integer(v.leverage, s.leverage, "leverage", where, err) &&
           dec(v.max_order_qty, kLimitQtyScale, s.max_order_qty, "max_order_qty", where, err) &&
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
    if (cfg.brackets.size() > kMaxBracketSets) { if (err) *err = "risk.brackets: too many symbols"; return false; }
    for (const auto& [key, rows] : cfg.brackets) {
        const std::string where = "risk.brackets." + key;
        const std::uint32_t i = t->n_bracket_sets++;
        if (!t->bracket_keys[i].assign(key)) { if (err) *err = where + ": key too long"; return false; }
        if (rows.empty() || rows.size() > kMaxBrackets) {
            if (err) *err = where + ": expected 1.." + std::to_string(kMaxBrackets) + " brackets";
            return false;
        }
        BracketSet& b = t->bracket_sets[i];
        for (const auto& row : rows) {
            Bracket& k = b.brackets[b.n];
            const std::string at = where + "[" + std::to_string(b.n) + "]";
            if (!parse_decimal(row.cap, kQuoteScale, k.cap) || k.cap <= 0) {
                if (err) *err = at + ".cap: invalid positive decimal '" + row.cap + "'";
                return false;
            }
            if (row.max_leverage < 1 || row.max_leverage > 1000) {
                if (err) *err = at + ".max_leverage: must be 1..1000";
                return false;
            }
            k.max_leverage = static_cast<std::int32_t>(row.max_leverage);
            // Binance's brackets: notional caps rise while leverage falls.
            if (b.n > 0 && (k.cap <= b.brackets[b.n - 1].cap || k.max_leverage > b.brackets[b.n - 1].max_leverage)) {
                if (err) *err = at + ": caps must rise and max_leverage must not rise from one bracket to the next";
                return false;
            }
            ++b.n;
        }
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
    const SymbolOverride* exact = nullptr;
    for (std::uint32_t i = 0; i < n_symbols && !exact; ++i) {
        if (symbols[i].key == fq) exact = &symbols[i];
        else if (symbols[i].key == id.symbol.view()) bare = &symbols[i];
    }
    SymbolLimits out = exact ? exact->limits : bare ? bare->limits : default_symbol;
    std::int32_t bare_set = -1;
    out.bracket_set = -1;
    for (std::uint32_t i = 0; i < n_bracket_sets; ++i) {
        if (bracket_keys[i] == fq) { out.bracket_set = static_cast<std::int32_t>(i); break; }
        if (bracket_keys[i] == id.symbol.view()) bare_set = static_cast<std::int32_t>(i);
    }
    if (out.bracket_set < 0) out.bracket_set = bare_set;
    return out;
}

}  // namespace oms::engine
