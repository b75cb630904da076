#pragma once
// Pre-trade risk checks as small pure functions over plain data.
// Why pure functions: each check is testable at pass / fail / exact boundary
// in isolation, and the engine composes them in a fixed order. All limits
// are inclusive maxima: a value exactly at the limit passes.
// A failing check returns a stable RejectReason (proto enum numbers) and
// writes a human-readable text with the numbers into a fixed buffer
// (no allocation, no snprintf locale machinery).
#include <cstdint>
#include <cstring>
#include <string_view>
#include "oms/engine/fixed_point.hpp"
#include "oms/engine/instrument_registry.hpp"
#include "oms/engine/position.hpp"
#include "oms/engine/risk_limits.hpp"

namespace oms::engine {

// Numbers equal proto oms.v1.RejectReason.
enum class RejectReason : std::uint16_t {
    None = 0,
    InvalidRequest = 1,
    UnknownInstrument = 2,
    DuplicateClientOrderId = 3,
    UnknownOrder = 4,
    MaxOrderQty = 100,
    MaxOrderNotional = 101,
    PriceCollar = 102,
    NoReferencePrice = 103,
    MaxOpenOrders = 104,
    MaxPosition = 105,
    MaxGrossExposure = 106,
    DailyLossLimit = 107,
    OrderRate = 108,
    TickSize = 109,
    LotSize = 110,
    MinNotional = 111,
    KillSwitch = 112,
    TradingHalted = 113,
    ReduceOnly = 114,
    MaxLeverage = 115,
    InsufficientMargin = 116,
    MinQty = 117,
};

// Numbers equal proto oms.v1.Side / OrderType / TradingState.
enum class Side : std::uint8_t { Unspecified = 0, Buy = 1, Sell = 2 };
enum class OrderType : std::uint8_t {
    Unspecified = 0, Limit = 1, Market = 2, LimitMaker = 3, StopLimit = 4,
    StopMarket = 5, TakeProfitLimit = 6, TakeProfitMarket = 7
};
enum class TradingState : std::uint8_t { Unspecified = 0, Active = 1, Reducing = 2, Halted = 3 };

constexpr bool has_limit_price(OrderType t) {
    return t == OrderType::Limit || t == OrderType::LimitMaker || t == OrderType::StopLimit ||
           t == OrderType::TakeProfitLimit;
}

// Fixed buffer for reject texts.
struct RejectText {
    // Only buf[0..len] is meaningful. Not zero-filled on construction: this
    // sits in every decision on the order path (160 bytes of memset each);
    // copies that land in engine state copy len + 1 bytes (copy_text).
    char buf[160];
    std::uint8_t len = 0;
    RejectText() { buf[0] = '\0'; }

    void clear() { len = 0; buf[0] = '\0'; }
    RejectText& put(std::string_view s) {
        for (char c : s) { if (len + 1u >= sizeof buf) break; buf[len++] = c; }
        buf[len] = '\0';
        return *this;
    }
    RejectText& num(std::int64_t v, int scale, int min_frac) {
        char tmp[48];
        std::size_t n = format_fixed(tmp, sizeof tmp, v, scale, min_frac);
        return put(std::string_view(tmp, n));
    }
    RejectText& integer(std::int64_t v) { return num(v, 0, 0); }
    std::string_view view() const { return {buf, len}; }
};

// The order as the checks see it: everything in instrument units.
struct OrderView {
    Side side = Side::Unspecified;
    OrderType type = OrderType::Unspecified;
    bool reduce_only = false;
    std::int64_t qty = 0;        // qty_scale
    std::int64_t price = 0;      // price_scale; 0 when no limit price
    bool has_price = false;
    bool qty_estimated = false;  // market-by-quote: qty derived from the reference
    std::int64_t notional = -1;  // kQuoteScale; -1 unknown (market order without reference)
    std::int64_t ts_ns = 0;
};

// Per (account, instrument) worst-case exposure bookkeeping.
struct Exposure {
    Position pos;
    std::int64_t open_buy_qty = 0;        // qty_scale, leaves of live buy orders
    std::int64_t open_sell_qty = 0;
    std::int64_t open_buy_notional = 0;   // kQuoteScale
    std::int64_t open_sell_notional = 0;
    std::int64_t open_orders = 0;
};

// Worst-case contributions of one slot to its account's totals.
// long = cost of a long position plus every live buy filling; short likewise;
// gross = |position cost| + all live order notional.
struct ExposureContrib { std::int64_t lng = 0, shrt = 0, gross = 0; };
inline ExposureContrib contrib(const Exposure& e) {
    ExposureContrib c;
    std::int64_t l = sat_add(e.pos.cost, e.open_buy_notional);
    std::int64_t s = sat_add(-e.pos.cost, e.open_sell_notional);
    c.lng = l > 0 ? l : 0;
    c.shrt = s > 0 ? s : 0;
    std::int64_t ac = e.pos.cost < 0 ? -e.pos.cost : e.pos.cost;
    c.gross = sat_add(sat_add(ac, e.open_buy_notional), e.open_sell_notional);
    return c;
}

// An order reduces exposure when, even if it and every live order on the same
// side fill, the position only shrinks toward zero (never flips).
inline bool is_reducing(const Exposure& e, const OrderView& o) {
    if (o.qty <= 0) return false;  // unknown quantity cannot be proven reducing
    if (o.side == Side::Sell) return e.pos.qty > 0 && sat_add(o.qty, e.open_sell_qty) <= e.pos.qty;
    if (o.side == Side::Buy) return e.pos.qty < 0 && sat_add(o.qty, e.open_buy_qty) <= -e.pos.qty;
    return false;
}

// ---- individual checks: return None on pass --------------------------------

inline RejectReason check_instrument_rules(const InstrumentSpec& s, const OrderView& o, RejectText& t) {
    const int ps = s.price_scale, qs = s.qty_scale;
    // (> 1: a tick/lot of one unit of the scale - the usual case - needs no
    // 64-bit division, ~40 cycles each.)
    if (o.has_price && s.tick_size > 1 && o.price % s.tick_size != 0) {
        t.put("price ").num(o.price, ps, ps).put(" not a multiple of tick ").num(s.tick_size, ps, ps);
        return RejectReason::TickSize;
    }
    if (!o.qty_estimated && s.lot_size > 1 && o.qty % s.lot_size != 0) {
        t.put("qty ").num(o.qty, qs, qs).put(" not a multiple of lot ").num(s.lot_size, qs, qs);
        return RejectReason::LotSize;
    }
    if (!o.qty_estimated && o.qty < s.min_qty) {
        t.put("qty ").num(o.qty, qs, qs).put(" < min ").num(s.min_qty, qs, qs);
        return RejectReason::MinQty;
    }
    if (s.max_qty > 0 && o.qty > s.max_qty) {
        t.put("qty ").num(o.qty, qs, qs).put(" > venue max ").num(s.max_qty, qs, qs);
        return RejectReason::MaxOrderQty;
    }
    if (o.notional >= 0 && o.notional < s.min_notional) {
        t.put("notional ").num(o.notional, kQuoteScale, 2).put(" < min ").num(s.min_notional, kQuoteScale, 2);
        return RejectReason::MinNotional;
    }
    return RejectReason::None;
}

inline RejectReason check_max_order_qty(const SymbolLimits& l, const InstrumentSpec& s, const OrderView& o,
                                        RejectText& t) {
    if (l.max_order_qty == kUnlimited) return RejectReason::None;
    __int128 q = rescale128(o.qty, s.qty_scale, kLimitQtyScale);
    __int128 m = rescale128(l.max_order_qty, kLimitQtyScale, kLimitQtyScale);
    if (q > m) {
        t.put("qty ").num(o.qty, s.qty_scale, s.qty_scale).put(" > max ").num(l.max_order_qty, kLimitQtyScale, s.qty_scale);
        return RejectReason::MaxOrderQty;
    }
    return RejectReason::None;
}

inline RejectReason check_max_order_notional(const SymbolLimits& l, const OrderView& o, RejectText& t) {
    if (l.max_order_notional == kUnlimited || o.notional < 0) return RejectReason::None;
    if (o.notional > l.max_order_notional) {
        t.put("notional ").num(o.notional, kQuoteScale, 2).put(" > max ").num(l.max_order_notional, kQuoteScale, 2);
        return RejectReason::MaxOrderNotional;
    }
    return RejectReason::None;
}

// Reference price state for one instrument (from TopOfBook).
struct Reference {
    std::int64_t price = 0;  // mid, instrument price_scale; 0: none
    std::int64_t ts_ns = 0;
};

inline bool reference_fresh(const Reference& r, std::int64_t now_ns, std::int64_t max_age_ns) {
    return r.price > 0 && now_ns - r.ts_ns <= max_age_ns && r.ts_ns - now_ns <= max_age_ns;
}

// |price - ref| * 10000 <= bps * ref  (both sides: fat-finger in either direction).
inline RejectReason check_price_collar(const SymbolLimits& l, const InstrumentSpec& s, const Reference& r,
                                       bool fresh, bool allow_missing, const OrderView& o, RejectText& t) {
    if (l.price_collar_bps <= 0 || !o.has_price) return RejectReason::None;
    if (!fresh) {
        if (allow_missing) return RejectReason::None;
        t.put("no fresh reference price for collar");
        if (r.price > 0) t.put(" (last ").num(r.price, s.price_scale, s.price_scale).put(")");
        return RejectReason::NoReferencePrice;
    }
    __int128 diff = static_cast<__int128>(o.price) - r.price;
    if (diff < 0) diff = -diff;
    if (diff * 10000 > static_cast<__int128>(l.price_collar_bps) * r.price) {
        t.put("price ").num(o.price, s.price_scale, s.price_scale).put(" outside ")
            .integer(l.price_collar_bps).put(" bps of reference ").num(r.price, s.price_scale, s.price_scale);
        return RejectReason::PriceCollar;
    }
    return RejectReason::None;
}

inline RejectReason check_open_orders(std::int64_t acct_open, const AccountLimits& al, std::int64_t sym_open,
                                      const SymbolLimits& sl, RejectText& t) {
    if (al.max_open_orders != kUnlimited && acct_open + 1 > al.max_open_orders) {
        t.put("open orders ").integer(acct_open + 1).put(" > max ").integer(al.max_open_orders).put(" (account)");
        return RejectReason::MaxOpenOrders;
    }
    if (sl.max_open_orders != kUnlimited && sym_open + 1 > sl.max_open_orders) {
        t.put("open orders ").integer(sym_open + 1).put(" > max ").integer(sl.max_open_orders).put(" (symbol)");
        return RejectReason::MaxOpenOrders;
    }
    return RejectReason::None;
}

// Per-symbol position in quantity, counting every live order on the order's
// side as filled (worst case).
inline RejectReason check_symbol_position(const SymbolLimits& l, const InstrumentSpec& s, const Exposure& e,
                                          const OrderView& o, RejectText& t) {
    const int qs = s.qty_scale;
    if (o.side == Side::Buy && l.max_position_long != kUnlimited) {
        std::int64_t worst = sat_add(sat_add(e.pos.qty, e.open_buy_qty), o.qty);
        if (rescale128(worst, qs, kLimitQtyScale) > l.max_position_long) {
            t.put("worst-case long ").num(worst, qs, qs).put(" > max ").num(l.max_position_long, kLimitQtyScale, qs);
            return RejectReason::MaxPosition;
        }
    }
    if (o.side == Side::Sell && l.max_position_short != kUnlimited) {
        std::int64_t worst = sat_add(sat_add(-e.pos.qty, e.open_sell_qty), o.qty);
        if (rescale128(worst, qs, kLimitQtyScale) > l.max_position_short) {
            t.put("worst-case short ").num(worst, qs, qs).put(" > max ").num(l.max_position_short, kLimitQtyScale, qs);
            return RejectReason::MaxPosition;
        }
    }
    return RejectReason::None;
}

// Account totals (sum of slot contributions) after the order would be added.
struct AccountExposure { std::int64_t lng = 0, shrt = 0, gross = 0; };

inline RejectReason check_account_exposure(const AccountLimits& l, const AccountExposure& after, RejectText& t) {
    if (l.max_long_notional != kUnlimited && after.lng > l.max_long_notional) {
        t.put("account worst-case long ").num(after.lng, kQuoteScale, 2).put(" > max ").num(l.max_long_notional, kQuoteScale, 2);
        return RejectReason::MaxPosition;
    }
    if (l.max_short_notional != kUnlimited && after.shrt > l.max_short_notional) {
        t.put("account worst-case short ").num(after.shrt, kQuoteScale, 2).put(" > max ").num(l.max_short_notional, kQuoteScale, 2);
        return RejectReason::MaxPosition;
    }
    if (l.max_gross_exposure != kUnlimited && after.gross > l.max_gross_exposure) {
        t.put("gross exposure ").num(after.gross, kQuoteScale, 2).put(" > max ").num(l.max_gross_exposure, kQuoteScale, 2);
        return RejectReason::MaxGrossExposure;
    }
    return RejectReason::None;
}

// Daily realised loss (net of fees). The day's loss may reach the limit
// exactly; beyond it only exposure-reducing orders pass (the caller skips
// this check for reducing orders).
inline RejectReason check_daily_loss(const AccountLimits& l, std::int64_t daily_net_realised, RejectText& t) {
    if (l.daily_loss_limit == kUnlimited) return RejectReason::None;
    std::int64_t loss = -daily_net_realised;
    if (loss > l.daily_loss_limit) {
        t.put("daily loss ").num(loss, kQuoteScale, 2).put(" > limit ").num(l.daily_loss_limit, kQuoteScale, 2);
        return RejectReason::DailyLossLimit;
    }
    return RejectReason::None;
}

// Token bucket with injected time. tokens/rate/burst in milli-orders.
struct TokenBucket {
    std::int64_t tokens = 0;
    std::int64_t last_ns = 0;
    bool primed = false;

    // Refill from elapsed time (never from the clock); time going backwards
    // refills nothing. Returns false if no whole order is available; takes one.
    bool try_take(std::int64_t now_ns, std::int64_t rate, std::int64_t burst) {
        if (!primed) { tokens = burst; last_ns = now_ns; primed = true; }
        if (now_ns > last_ns) {
            // 64-bit arithmetic when it cannot overflow (the common case:
            // elapsed < ~9e18 / rate), 128-bit (a __divti3 call) otherwise.
            const std::int64_t dt = now_ns - last_ns;
            if (rate > 0 && dt < INT64_MAX / rate) {
                const std::int64_t add64 = dt * rate / 1'000'000'000;
                if (add64 >= burst - tokens) {
                    tokens = burst;
                    last_ns = now_ns;
                } else if (add64 > 0) {
                    tokens += add64;
                    last_ns += add64 < INT64_MAX / 1'000'000'000
                                   ? add64 * 1'000'000'000 / rate
                                   : static_cast<std::int64_t>(static_cast<__int128>(add64) * 1'000'000'000 / rate);
                }
                if (tokens < 1000) return false;
                tokens -= 1000;
                return true;
            }
            __int128 add = static_cast<__int128>(dt) * rate / 1'000'000'000;
            __int128 nt = add + tokens;
            if (nt >= burst) {
                tokens = burst;
                last_ns = now_ns;
            } else if (add > 0) {
                tokens = static_cast<std::int64_t>(nt);
                // Advance time only by what was converted, keeping the remainder.
                last_ns += static_cast<std::int64_t>(add * 1'000'000'000 / rate);
            }
        }
        if (tokens < 1000) return false;
        tokens -= 1000;
        return true;
    }
};

inline RejectReason check_rate(const AccountLimits& l, TokenBucket& b, std::int64_t now_ns, RejectText& t) {
    if (l.orders_per_second <= 0) return RejectReason::None;
    std::int64_t burst = l.order_burst > 0 ? l.order_burst : (l.orders_per_second > 1000 ? l.orders_per_second : 1000);
    if (!b.try_take(now_ns, l.orders_per_second, burst)) {
        t.put("order rate > ").num(l.orders_per_second, kRateScale, 0).put("/s (burst ").num(burst, kRateScale, 0).put(")");
        return RejectReason::OrderRate;
    }
    return RejectReason::None;
}

}  // namespace oms::engine
