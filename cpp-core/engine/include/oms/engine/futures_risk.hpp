#pragma once
// USDⓈ-M futures pre-trade checks and margin-ratio levels, as small pure
// functions over plain data (same shape as risk_checks.hpp).
//
// Only instruments of a futures market reach these (the engine branches on
// InstrumentState::futures), so spot orders pay nothing for them.
//
// Leverage: the venue's leverage for (account, symbol) as the connector last
// reported it on positions.{exchange}.futures, else the symbol's configured
// `leverage` (what the connector sets at start), else Binance's default 20x.
// Brackets: Binance's notional brackets ("leverage brackets"): bracket k
// allows leverage up to initialLeverage_k for a position notional up to
// cap_k. At leverage L the largest position is the cap of the highest
// bracket whose initialLeverage >= L (Binance -2027 "Exceeded the maximum
// allowable position at current leverage").
#include <cstdint>
#include "oms/engine/fixed_point.hpp"
#include "oms/engine/position.hpp"
#include "oms/engine/risk_checks.hpp"
#include "oms/engine/risk_limits.hpp"

namespace oms::engine {

// Binance USDⓈ-M: "If the trader makes no selection on leverage, it will be
// set at 20x by default" (FAQ "Leverage and Margin of USDⓈ-M Futures").
inline constexpr std::int32_t kDefaultFuturesLeverage = 20;

// Futures state of one (account, instrument) slot.
struct FuturesSlot {
    std::int32_t leverage = 0;          // venue-reported; 0: none reported yet
    bool hedge = false;                 // venue reported LONG/SHORT legs (hedge mode)
    std::int64_t long_leg = 0;          // hedge mode: LONG leg size (>= 0), qty_scale
    std::int64_t short_leg = 0;         // hedge mode: SHORT leg size (>= 0), qty_scale
    std::int64_t ro_buy_qty = 0;        // leaves of live reduce-only buys, qty_scale
    std::int64_t ro_sell_qty = 0;       // leaves of live reduce-only sells
};

// Margin-ratio alert level of an account (numbers = proto AlertSeverity - 1).
enum class MarginLevel : std::uint8_t { Ok = 0, Warning = 1, Critical = 2 };

inline constexpr int kMaxFuturesAssets = 4;
// Futures margin account of one OMS account (one futures venue per account).
struct FuturesAccount {
    Str16 exchange, market;             // where the last futures update came from
    // One margin asset's balance. The venue's available balance already
    // excludes the initial margin of the orders open at the venue when it
    // was read (Binance's availableBalance; venue-sim's /fapi account does
    // the same), but not that of orders the engine accepted since: those are
    // `pending` until the next update carrying this asset resets it and
    // starts a new `epoch` (engine/src/futures.cpp).
    struct Asset {
        Str16 asset;
        std::int64_t available = 0;     // venue-reported, kQuoteScale
        std::int64_t pending = 0;       // initial margin held since that report, kQuoteScale
        std::uint32_t epoch = 0;        // bumped by each report of this asset (wraps after 2^32 reports)
    };
    std::uint8_t n_assets = 0;          // slots are only appended: an order keeps its asset's index
    Asset assets[kMaxFuturesAssets];
    std::int64_t margin_ratio = 0;      // kRatioScale; 0: no position at risk
    bool has_ratio = false;
    MarginLevel level = MarginLevel::Ok;
    std::int64_t ts_ns = 0;             // venue time of the last update applied

    // Balance of `asset`, or nullptr when the venue never reported it.
    const Asset* find(const Str16& asset) const {
        for (std::uint8_t i = 0; i < n_assets; ++i)
            if (assets[i].asset == asset) return &assets[i];
        return nullptr;
    }
    const std::int64_t* available(const Str16& asset) const {
        const Asset* a = find(asset);
        return a ? &a->available : nullptr;
    }
};

inline std::int32_t effective_leverage(const FuturesSlot& f, const SymbolLimits& l) {
    if (f.leverage > 0) return f.leverage;
    if (l.leverage > 0) return static_cast<std::int32_t>(l.leverage);
    return kDefaultFuturesLeverage;
}

// Reduce-only must reduce: the side opposite to the position it closes and a
// quantity within what the other live reduce-only orders on that side leave.
// One-way mode: the net position. Hedge mode: SELL reduce-only closes the
// LONG leg, BUY reduce-only the SHORT leg (how the connector maps them).
inline RejectReason check_futures_reduce_only(const FuturesSlot& f, const Position& pos, const InstrumentSpec& s,
                                              const OrderView& o, RejectText& t) {
    if (!o.reduce_only) return RejectReason::None;
    const int qs = s.qty_scale;
    std::int64_t closable = 0;  // position this order's side can close
    if (f.hedge) closable = o.side == Side::Sell ? f.long_leg : f.short_leg;
    else if (o.side == Side::Sell) closable = pos.qty > 0 ? pos.qty : 0;
    else closable = pos.qty < 0 ? -pos.qty : 0;
    if (closable == 0) {
        t.put("reduce-only ").put(o.side == Side::Buy ? "BUY" : "SELL").put(" with no ")
            .put(o.side == Side::Buy ? "short" : "long").put(" position to reduce (position ")
            .num(f.hedge ? (o.side == Side::Buy ? -f.short_leg : f.long_leg) : pos.qty, qs, qs).put(")");
        return RejectReason::ReduceOnly;
    }
    const std::int64_t others = o.side == Side::Sell ? f.ro_sell_qty : f.ro_buy_qty;
    const std::int64_t room = closable - others;
    if (o.qty <= 0 || o.qty > room) {
        t.put("reduce-only qty ").num(o.qty, qs, qs).put(" > position ").num(closable, qs, qs)
            .put(" - open reduce-only ").num(others, qs, qs);
        return RejectReason::ReduceOnly;
    }
    return RejectReason::None;
}

// Max leverage: the leverage in effect for (account, symbol) against the
// tighter of the account's and the symbol's `max_leverage`.
inline RejectReason check_max_leverage(std::int32_t lev, const AccountLimits& al, const SymbolLimits& sl,
                                       RejectText& t) {
    const std::int64_t cap = al.max_leverage < sl.max_leverage ? al.max_leverage : sl.max_leverage;
    if (cap != kUnlimited && lev > cap) {
        t.put("leverage ").integer(lev).put("x > max ").integer(cap).put("x");
        return RejectReason::MaxLeverage;
    }
    return RejectReason::None;
}

// Largest position notional (kQuoteScale) the brackets allow at leverage
// `lev`; -1 when no bracket allows it (above bracket 1's leverage).
inline std::int64_t bracket_cap(const BracketSet& b, std::int32_t lev) {
    std::int64_t cap = -1;
    for (std::uint8_t i = 0; i < b.n; ++i)
        if (b.brackets[i].max_leverage >= lev && b.brackets[i].cap > cap) cap = b.brackets[i].cap;
    return cap;
}

// Position notional per bracket, worst case: the position (at the reference
// price when there is one, else its entry cost) plus every live order on the
// order's side filling, plus this order. Checked on the side the order adds to.
inline RejectReason check_bracket_notional(const BracketSet& b, std::int32_t lev, const Exposure& e,
                                           std::int64_t pos_notional, const OrderView& o, RejectText& t) {
    if (b.n == 0) return RejectReason::None;
    const std::int64_t cap = bracket_cap(b, lev);
    if (cap < 0) {
        t.put("leverage ").integer(lev).put("x above every notional bracket (max ")
            .integer(b.brackets[0].max_leverage).put("x)");
        return RejectReason::MaxLeverage;
    }
    const std::int64_t n = o.notional > 0 ? o.notional : 0;
    const std::int64_t worst = o.side == Side::Buy ? sat_add(sat_add(pos_notional, e.open_buy_notional), n)
                                                   : sat_add(sat_add(-pos_notional, e.open_sell_notional), n);
    if (worst > cap) {
        t.put("worst-case position notional ").num(worst, kQuoteScale, 2).put(" > bracket cap ")
            .num(cap, kQuoteScale, 2).put(" at ").integer(lev).put("x");
        return RejectReason::MaxPosition;
    }
    return RejectReason::None;
}

// Initial margin = notional / leverage (order price, or the reference price
// for market orders), rounded up, against the available balance the venue
// reports for the margin asset less the margin of the orders accepted since
// that report (`pending`, see FuturesAccount::Asset). Unknown notional
// (market order without a reference) or unknown balance: not checked here
// (the reference rule and the venue decide).
inline std::int64_t initial_margin(std::int64_t notional, std::int32_t lev) {
    if (notional <= 0 || lev <= 0) return 0;
    return notional / lev + (notional % lev != 0 ? 1 : 0);
}

inline RejectReason check_initial_margin(std::int64_t notional, std::int32_t lev, const FuturesAccount::Asset* bal,
                                         RejectText& t) {
    if (!bal || notional < 0) return RejectReason::None;
    const std::int64_t im = initial_margin(notional, lev);
    if (im > sat_add(bal->available, -bal->pending)) {
        t.put("initial margin ").num(im, kQuoteScale, 2).put(" (notional ").num(notional, kQuoteScale, 2)
            .put(" / ").integer(lev).put("x) > available ").num(bal->available, kQuoteScale, 2);
        if (bal->pending == 0) {
            t.put(" ").put(bal->asset.view());
        } else {
            t.put(" - pending ").num(bal->pending, kQuoteScale, 2).put(" ").put(bal->asset.view())
                .put(" (orders since the last balance update)");
        }
        return RejectReason::InsufficientMargin;
    }
    return RejectReason::None;
}

// Threshold levels with hysteresis: a level is raised when the ratio reaches
// its threshold and lowered only once the ratio is `hysteresis` below it, so
// a ratio hovering at a threshold raises one alert, not one per update.
// Thresholds equal to kUnlimited are off.
inline MarginLevel next_margin_level(MarginLevel cur, std::int64_t ratio, const AccountLimits& l) {
    const std::int64_t w = l.margin_ratio_warning, c = l.margin_ratio_critical, h = l.margin_ratio_hysteresis;
    auto at = [&](std::int64_t r) {
        if (c != kUnlimited && r >= c) return MarginLevel::Critical;
        if (w != kUnlimited && r >= w) return MarginLevel::Warning;
        return MarginLevel::Ok;
    };
    const MarginLevel raise = at(ratio);
    const MarginLevel hold = at(sat_add(ratio, h));  // ratio >= threshold - h
    if (raise > cur) return raise;
    if (hold < cur) return hold;
    return cur;
}

// An open order increases exposure unless it is reduce-only or, alone, only
// shrinks the position (opposite side, leaves within the position).
inline bool increases_exposure(bool reduce_only, Side side, std::int64_t leaves, std::int64_t pos_qty) {
    if (reduce_only) return false;
    if (side == Side::Sell) return !(pos_qty > 0 && leaves <= pos_qty);
    return !(pos_qty < 0 && leaves <= -pos_qty);
}

}  // namespace oms::engine
