#include "oms/core/risk_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

namespace oms::core {

namespace {

using engine::LimitValues;

struct Reader {
  RiskSettings& out;
  void error(const std::string& key, const std::string& msg) { out.errors.push_back({key, msg}); }

  static std::string shown(const YAML::Node& n) {
    if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
    return n.IsMap() ? "a mapping" : n.IsSequence() ? "a list" : "null";
  }
  // A limit given as a decimal string (quantities, notionals, rates): must be
  // a non-negative decimal exact at the engine's fixed-point scale.
  void str(const YAML::Node& n, const std::string& key, std::optional<std::string>& dst, int scale,
           const char* unit) {
    if (!n) return;
    std::int64_t v = 0;
    if (!n.IsScalar() || !engine::parse_decimal(n.Scalar(), scale, v) || v < 0)
      return error(key, shown(n) + " is invalid: expected a non-negative decimal " + unit + " with at most " +
                            std::to_string(scale) + " decimal places, e.g. \"2.5\"");
    dst = n.Scalar();
  }
  void integer(const YAML::Node& n, const std::string& key, std::optional<std::int64_t>& dst) {
    if (!n) return;
    try {
      dst = n.as<std::int64_t>();
    } catch (const YAML::Exception&) {
      error(key, shown(n) + " is invalid: expected an integer");
    }
  }
  // Integer limit within [lo, hi].
  void bounded(const YAML::Node& n, const std::string& key, std::optional<std::int64_t>& dst, std::int64_t lo,
               std::int64_t hi, const char* what) {
    if (!n) return;
    std::optional<std::int64_t> v;
    integer(n, key, v);
    if (!v) return;
    if (*v < lo || *v > hi)
      return error(key, std::to_string(*v) + " is invalid: expected " + what + " (" + std::to_string(lo) + ".." +
                            std::to_string(hi) + ")");
    dst = v;
  }
  void limits(const YAML::Node& n, const std::string& where, LimitValues& v) {
    if (!n) return;
    if (!n.IsMap()) return error(where, shown(n) + " is invalid: expected a mapping of limit: value");
    static const char* kKnown[] = {"max_order_qty", "max_position_long", "max_position_short",
                                   "max_order_notional", "max_long_notional", "max_short_notional",
                                   "max_gross_exposure", "daily_loss_limit", "orders_per_second", "order_burst",
                                   "max_open_orders", "max_open_orders_per_symbol", "price_collar_bps",
                                   "max_leverage", "leverage", "margin_ratio_warning", "margin_ratio_critical",
                                   "margin_ratio_hysteresis", "cancel_on_margin_critical"};
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      bool known = false;
      for (const char* x : kKnown) known = known || k == x;
      if (!known) error(where + "." + k, "unknown limit (expected one of max_order_qty, max_order_notional, "
                                         "price_collar_bps, max_open_orders, max_open_orders_per_symbol, "
                                         "max_position_long, max_position_short, max_long_notional, "
                                         "max_short_notional, max_gross_exposure, daily_loss_limit, "
                                         "orders_per_second, order_burst, max_leverage, leverage, "
                                         "margin_ratio_warning, margin_ratio_critical, margin_ratio_hysteresis, "
                                         "cancel_on_margin_critical)");
    }
    using engine::kLimitQtyScale;
    using engine::kQuoteScale;
    using engine::kRateScale;
    str(n["max_order_qty"], where + ".max_order_qty", v.max_order_qty, kLimitQtyScale, "base quantity");
    str(n["max_position_long"], where + ".max_position_long", v.max_position_long, kLimitQtyScale, "base quantity");
    str(n["max_position_short"], where + ".max_position_short", v.max_position_short, kLimitQtyScale, "base quantity");
    str(n["max_order_notional"], where + ".max_order_notional", v.max_order_notional, kQuoteScale, "quote amount");
    str(n["max_long_notional"], where + ".max_long_notional", v.max_long_notional, kQuoteScale, "quote amount");
    str(n["max_short_notional"], where + ".max_short_notional", v.max_short_notional, kQuoteScale, "quote amount");
    str(n["max_gross_exposure"], where + ".max_gross_exposure", v.max_gross_exposure, kQuoteScale, "quote amount");
    str(n["daily_loss_limit"], where + ".daily_loss_limit", v.daily_loss_limit, kQuoteScale, "quote amount");
    str(n["orders_per_second"], where + ".orders_per_second", v.orders_per_second, kRateScale, "rate (orders/s)");
    str(n["order_burst"], where + ".order_burst", v.order_burst, kRateScale, "order count");
    constexpr std::int64_t kMaxCount = 1'000'000'000;
    bounded(n["max_open_orders"], where + ".max_open_orders", v.max_open_orders, 0, kMaxCount, "an order count");
    bounded(n["max_open_orders_per_symbol"], where + ".max_open_orders_per_symbol", v.max_open_orders_per_symbol, 0,
            kMaxCount, "an order count");
    bounded(n["price_collar_bps"], where + ".price_collar_bps", v.price_collar_bps, 0, 10'000,
            "basis points, 0 = collar off");
    // Futures.
    bounded(n["max_leverage"], where + ".max_leverage", v.max_leverage, 1, 1000, "a leverage (x)");
    bounded(n["leverage"], where + ".leverage", v.leverage, 1, 1000, "a leverage (x)");
    using engine::kRatioScale;
    str(n["margin_ratio_warning"], where + ".margin_ratio_warning", v.margin_ratio_warning, kRatioScale, "ratio");
    str(n["margin_ratio_critical"], where + ".margin_ratio_critical", v.margin_ratio_critical, kRatioScale, "ratio");
    str(n["margin_ratio_hysteresis"], where + ".margin_ratio_hysteresis", v.margin_ratio_hysteresis, kRatioScale,
        "ratio");
    if (const auto c = n["cancel_on_margin_critical"]) {
      try {
        v.cancel_on_margin_critical = c.as<bool>();
      } catch (const YAML::Exception&) {
        error(where + ".cancel_on_margin_critical", shown(c) + " is invalid: expected true or false");
      }
    }
    if (v.margin_ratio_warning && v.margin_ratio_critical) {
      std::int64_t w = 0, c = 0;
      if (engine::parse_decimal(*v.margin_ratio_warning, kRatioScale, w) &&
          engine::parse_decimal(*v.margin_ratio_critical, kRatioScale, c) && w > c)
        error(where + ".margin_ratio_warning", "must not be above margin_ratio_critical");
    }
  }

  // risk.brackets: { "binance.futures.BTCUSDT": [ { cap: "50000", max_leverage: 125 }, ... ] }
  void brackets(const YAML::Node& m) {
    if (!m) return;
    if (!m.IsMap()) return error("risk.brackets", shown(m) + " is invalid: expected a mapping of symbol: [brackets]");
    for (const auto& kv : m) {
      const std::string key = kv.first.as<std::string>();
      const std::string where = "risk.brackets." + key;
      if (!kv.second.IsSequence() || kv.second.size() == 0) {
        error(where, "expected a non-empty list of { cap, max_leverage }");
        continue;
      }
      std::vector<engine::BracketValues> rows;
      for (std::size_t i = 0; i < kv.second.size(); ++i) {
        const YAML::Node b = kv.second[i];
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!b.IsMap()) { error(at, "expected { cap: \"50000\", max_leverage: 125 }"); continue; }
        for (const auto& f : b) {
          const std::string k = f.first.as<std::string>();
          if (k != "cap" && k != "max_leverage") error(at + "." + k, "unknown key (expected cap, max_leverage)");
        }
        engine::BracketValues row;
        std::optional<std::string> cap;
        str(b["cap"], at + ".cap", cap, engine::kQuoteScale, "quote notional");
        if (!cap) { if (b["cap"]) continue; error(at + ".cap", "required"); continue; }
        std::optional<std::int64_t> lev;
        bounded(b["max_leverage"], at + ".max_leverage", lev, 1, 1000, "a leverage (x)");
        if (!lev) { if (!b["max_leverage"]) error(at + ".max_leverage", "required"); continue; }
        row.cap = *cap;
        row.max_leverage = *lev;
        rows.push_back(std::move(row));
      }
      out.risk.brackets.emplace_back(key, std::move(rows));
    }
  }

  // The leverage the futures connectors set at start (exchanges.<ex>.futures.leverage,
  // a number or { SYMBOL: n }) is the leverage in effect until the venue reports one;
  // risk.symbols.<key>.leverage, when set, wins.
  void connector_leverage(const YAML::Node& exchanges) {
    if (!exchanges || !exchanges.IsMap()) return;
    for (const auto& ex : exchanges) {
      const YAML::Node f = ex.second.IsMap() ? ex.second["futures"] : YAML::Node();
      if (!f || !f.IsMap() || !f["leverage"]) continue;
      const std::string exchange = ex.first.as<std::string>();
      std::vector<std::pair<std::string, std::int64_t>> per_symbol;
      const YAML::Node lev = f["leverage"];
      try {
        if (lev.IsScalar()) {
          const auto x = lev.as<std::int64_t>();
          if (const auto syms = f["symbols"]; syms && syms.IsSequence())
            for (const auto& sym : syms) per_symbol.emplace_back(sym.as<std::string>(), x);
        } else if (lev.IsMap()) {
          for (const auto& kv : lev) per_symbol.emplace_back(kv.first.as<std::string>(), kv.second.as<std::int64_t>());
        }
      } catch (const YAML::Exception&) {
        continue;  // the connector's own config check reports it
      }
      for (const auto& [sym, x] : per_symbol) {
        if (x < 1 || x > 1000) continue;
        const std::string key = exchange + ".futures." + sym;
        auto& list = out.risk.symbols;
        auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == key; });
        if (it == list.end()) {
          // A new exact-key entry shadows a bare "SYMBOL" one: start from it.
          auto bare = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == sym; });
          list.emplace_back(key, bare != list.end() ? bare->second : LimitValues{});
          it = std::prev(list.end());
        }
        if (!it->second.leverage) it->second.leverage = x;
      }
    }
  }

  // Decimal string at `scale` (e.g. tick "0.01" at price_scale 2 -> 1).
  void scaled(const YAML::Node& n, const std::string& key, int scale, std::int64_t& dst) {
    if (!n) return;
    std::int64_t v = 0;
    if (!n.IsScalar() || !engine::parse_decimal(n.as<std::string>(), scale, v) || v < 0)
      return error(key, "expected a non-negative decimal representable at scale " + std::to_string(scale));
    dst = v;
  }
  template <std::size_t N>
  void fixed(const YAML::Node& n, const std::string& key, engine::FixedString<N>& dst, bool required) {
    if (!n) {
      if (required) error(key, "required");
      return;
    }
    if (!dst.assign(n.as<std::string>())) error(key, "too long");
  }

  void instrument(const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) return error(where, "expected a mapping");
    engine::InstrumentSpec s;
    fixed(n["exchange"], where + ".exchange", s.id.exchange, true);
    fixed(n["market"], where + ".market", s.id.market, true);
    fixed(n["symbol"], where + ".symbol", s.id.symbol, true);
    fixed(n["base"], where + ".base", s.base_asset, false);
    fixed(n["quote"], where + ".quote", s.quote_asset, false);
    std::optional<std::int64_t> ps, qs;
    integer(n["price_scale"], where + ".price_scale", ps);
    integer(n["qty_scale"], where + ".qty_scale", qs);
    if (!ps || *ps < 0 || *ps > 18) return error(where + ".price_scale", "required, 0..18");
    if (!qs || *qs < 0 || *qs > 18) return error(where + ".qty_scale", "required, 0..18");
    s.price_scale = static_cast<std::int32_t>(*ps);
    s.qty_scale = static_cast<std::int32_t>(*qs);
    scaled(n["tick_size"], where + ".tick_size", s.price_scale, s.tick_size);
    scaled(n["lot_size"], where + ".lot_size", s.qty_scale, s.lot_size);
    scaled(n["min_qty"], where + ".min_qty", s.qty_scale, s.min_qty);
    scaled(n["max_qty"], where + ".max_qty", s.qty_scale, s.max_qty);
    scaled(n["min_notional"], where + ".min_notional", engine::kQuoteScale, s.min_notional);
    if (const auto st = n["status"]) {
      const std::string v = st.as<std::string>();
      if (v == "trading") s.status = engine::InstrumentStatus::Trading;
      else if (v == "halted") s.status = engine::InstrumentStatus::Halted;
      else if (v == "reduce_only") s.status = engine::InstrumentStatus::ReduceOnly;
      else if (v == "delisted") s.status = engine::InstrumentStatus::Delisted;
      else error(where + ".status", "one of trading|halted|reduce_only|delisted");
    }
    out.instruments.push_back(s);
  }

  void tree(const YAML::Node& root) {
    if (!root || !root.IsMap()) return;
    if (const auto r = root["risk"]) {
      if (!r.IsMap()) {
        error("risk", shown(r) + " is invalid: expected a mapping");
      } else {
        static const char* kTop[] = {"reference_max_age_ms", "allow_missing_reference", "defaults", "accounts",
                                     "symbols", "brackets"};
        for (const auto& kv : r) {
          const std::string k = kv.first.as<std::string>();
          bool known = false;
          for (const char* x : kTop) known = known || k == x;
          if (!known)
            error("risk." + k, "unknown key (expected reference_max_age_ms, allow_missing_reference, defaults, "
                               "accounts, symbols or brackets)");
        }
        std::optional<std::int64_t> age;
        bounded(r["reference_max_age_ms"], "risk.reference_max_age_ms", age, 1, 86'400'000,
                "a positive age in milliseconds");
        if (age) out.risk.reference_max_age_ms = *age;
        if (const auto a = r["allow_missing_reference"]) {
          try {
            out.risk.allow_missing_reference = a.as<bool>();
          } catch (const YAML::Exception&) {
            error("risk.allow_missing_reference", shown(a) + " is invalid: expected true or false");
          }
        }
        limits(r["defaults"], "risk.defaults", out.risk.defaults);
        for (const char* section : {"accounts", "symbols"}) {
          const auto m = r[section];
          if (!m) continue;
          if (!m.IsMap()) {
            error(std::string("risk.") + section, shown(m) + " is invalid: expected a mapping of name: limits");
            continue;
          }
          auto& list = std::string(section) == "accounts" ? out.risk.accounts : out.risk.symbols;
          for (const auto& kv : m) {
            const std::string name = kv.first.as<std::string>();
            LimitValues v;
            limits(kv.second, std::string("risk.") + section + "." + name, v);
            list.emplace_back(name, std::move(v));
          }
        }
        brackets(r["brackets"]);
      }
    }
    connector_leverage(root["exchanges"]);
    if (const auto in = root["instruments"]) {
      if (!in.IsSequence()) {
        error("instruments", "expected a list");
      } else {
        for (std::size_t i = 0; i < in.size(); ++i) instrument(in[i], "instruments[" + std::to_string(i) + "]");
      }
    }
    if (out.errors.empty()) {
      // Compile once so value errors ("abc" as a quantity) surface at load.
      auto table = std::make_unique<engine::RiskLimitsTable>();
      std::string err;
      if (!engine::compile_limits(out.risk, *table, &err)) error("risk", err);
    }
  }
};

}  // namespace

RiskSettings parse_risk_settings(const std::string& yaml_text) {
  RiskSettings s;
  Reader r{s};
  try {
    r.tree(YAML::Load(yaml_text));
  } catch (const YAML::Exception& e) {
    s.errors.push_back({"(yaml)", e.what()});
  }
  return s;
}

RiskSettings load_risk_settings(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    RiskSettings s;
    s.errors.push_back({"(file)", "\"" + path + "\" cannot be read"});
    return s;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_risk_settings(ss.str());
}

}  // namespace oms::core
