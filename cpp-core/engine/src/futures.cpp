// Futures part of the engine: pre-trade checks for instruments of a futures
// market and the margin-ratio monitor fed by the venue's AccountUpdates.
// Kept out of engine.cpp: spot orders never reach this file (the engine
// branches on InstrumentState::futures), and the order path there stays small.
#include <iterator>

#include "oms/engine/engine.hpp"

namespace oms::engine {
namespace {

AlertSeverity severity_of(MarginLevel l) {
    switch (l) {
        case MarginLevel::Critical: return AlertSeverity::Critical;
        case MarginLevel::Warning: return AlertSeverity::Warning;
        default: return AlertSeverity::Ok;
    }
}

const char* name_of(MarginLevel l) {
    switch (l) {
        case MarginLevel::Critical: return "critical";
        case MarginLevel::Warning: return "warning";
        default: return "ok";
    }
}

template <std::size_t N>
bool full(const OutputBufferN<N>& out) { return out.count >= N; }

}  // namespace

RejectReason Engine::check_futures(std::uint16_t acct, std::uint32_t instr, SlotState& sl, const OrderView& o,
                                   bool reducing, RejectText& t) {
    const InstrumentState& is = s_.inst_state[instr];
    const InstrumentSpec& spec = s_.instruments[instr];
    const AccountState& a = s_.accounts[acct];
    RejectReason r;
    if ((r = check_futures_reduce_only(sl.fut, sl.e.pos, spec, o, t)) != RejectReason::None) return r;
    // Orders that only reduce need no leverage room, bracket room or margin.
    if (o.reduce_only || reducing) return RejectReason::None;
    if (a.fut.level == MarginLevel::Critical && a.limits.cancel_on_margin_critical) {
        t.put("margin ratio ").num(a.fut.margin_ratio, kRatioScale, 2).put(" at critical level: only reducing orders");
        return RejectReason::InsufficientMargin;
    }
    const std::int32_t lev = effective_leverage(sl.fut, is.limits);
    if ((r = check_max_leverage(lev, a.limits, is.limits, t)) != RejectReason::None) return r;
    if (is.limits.bracket_set >= 0) {
        // Brackets are on the position's notional at the mark; the reference
        // mid stands in for it, the entry cost when there is none.
        const std::int64_t pos_notional =
            is.ref.price > 0 ? notional_sat(is.ref.price, spec.price_scale, sl.e.pos.qty, spec.qty_scale) : sl.e.pos.cost;
        const BracketSet& b = s_.limits.bracket_sets[static_cast<std::uint32_t>(is.limits.bracket_set)];
        if ((r = check_bracket_notional(b, lev, sl.e, pos_notional, o, t)) != RejectReason::None) return r;
    }
    return check_initial_margin(o.notional, lev, a.fut.find(spec.quote_asset), t);
}

// ---- initial margin held between balance updates ----------------------------
//
// The venue's available balance (AccountUpdate, Balance.free) already
// excludes the initial margin of the orders open at the venue when the
// connector read it; the orders accepted here since are not in it. Without
// holding their margin locally, a burst of orders could each pass against the
// same figure and together exceed it (the venue then rejects them, Binance
// -2019 "Margin is insufficient"). So each accepted non-reducing futures
// order adds the initial margin of its unfilled part to its quote asset's
// `pending`, which check_initial_margin subtracts; the next AccountUpdate
// carrying that asset's balance - whose figure now includes those orders -
// resets it to 0 and starts a new epoch (apply_futures_update). An order
// that ends unfilled (canceled, rejected, expired) in the epoch it was held
// in gives back its unfilled part's margin; one from an older epoch gives
// back nothing (the venue's next figure shows it). A filled part stays in
// `pending` until the next balance update: it is position margin now, which
// the held figure does not include either.
//
// Limits (docs/futures.md): an update the venue produced before recent
// orders reached it (the connector reads /fapi/v3/account on ACCOUNT_UPDATE -
// fills, funding -, MARGIN_CALL, liquidations and every 30 s, while orders
// are still on their way through the router) resets their margin too early:
// until the next update the check under-reserves by the orders in flight at
// that read. (After a restart the replay applies the tail's already decided
// commands before its AccountUpdates, causal phases: settle_margin_after_replay
// puts right what that order of arrival reset.) The sum is per order, as the check is: the venue
// margins only the larger of a symbol's buy and sell sides (one-way mode), so
// orders quoted on both sides are over-reserved here.

// reserve() for a futures order whose terms were just accepted (new order,
// amend, also in replay): it holds initial margin when it does not reduce
// and the venue has reported its quote asset's balance. Whether it reduces
// is decided, as by the checks, on the slot without the order (so before
// reserve()); the amount after it (reserve() sets reserved_notional).
void Engine::reserve_futures(OrderRecord& rec, const OrderView& o) {
    rec.margin_lev = 0;
    if (!o.reduce_only && !is_reducing(s_.slots[rec.slot].e, o)) {
        const FuturesAccount& f = s_.accounts[rec.account].fut;
        const Str16& quote = s_.instruments[rec.instrument].quote_asset;
        for (std::uint8_t i = 0; i < f.n_assets; ++i) {
            if (!(f.assets[i].asset == quote)) continue;
            const std::int32_t lev = effective_leverage(s_.slots[rec.slot].fut, s_.inst_state[rec.instrument].limits);
            rec.margin_asset = i;
            rec.margin_lev = static_cast<std::uint8_t>(lev > 0 && lev < 255 ? lev : 255);
            break;
        }
    }
    reserve(rec);
    if (rec.margin_lev) hold_margin(rec);
}

// Hold the margin of the order's unfilled part (after reserve(), which sets
// reserved_notional) in the current epoch.
void Engine::hold_margin(OrderRecord& o) {
    FuturesAccount::Asset& b = s_.accounts[o.account].fut.assets[o.margin_asset];
    b.pending = sat_add(b.pending, initial_margin(o.reserved_notional, o.margin_lev));
    o.margin_epoch = b.epoch;
}

// Give back the unfilled part's margin when it is still held (same epoch);
// false when there was nothing to give back. Call before release(), which
// clears reserved_notional. reserved_notional only shrinks by fills, and
// initial_margin rounds up, so this never gives back more than was held.
bool Engine::drop_margin(const OrderRecord& o) {
    FuturesAccount::Asset& b = s_.accounts[o.account].fut.assets[o.margin_asset];
    if (b.epoch != o.margin_epoch) return false;
    b.pending -= initial_margin(o.reserved_notional, o.margin_lev);
    return true;
}

// The same rule as live, from timestamps instead of arrival order: a
// report includes an order whose last change (accepted, amended, acked or
// filled at the venue: updated_ns) came before the account was read (the
// report's ts); an order changed after it holds its margin in the current
// epoch, one before is moved to the previous epoch so that its cancel gives
// nothing back. Once per start, so a scan of the order table is fine.
void Engine::settle_margin_after_replay() {
    for (AccountState& a : s_.accounts)
        for (auto& b : a.fut.assets) b.pending = 0;
    s_.orders.for_each_live([&](std::uint32_t, OrderRecord& o) {
        if (!o.margin_lev || is_terminal(o.status)) return;
        FuturesAccount& f = s_.accounts[o.account].fut;
        if (o.updated_ns > f.ts_ns) {
            hold_margin(o);
        } else {
            o.margin_epoch = f.assets[o.margin_asset].epoch - 1;
        }
    });
}

void Engine::track_reduce_only(const OrderRecord& o, std::int64_t dq) {
    FuturesSlot& f = s_.slots[o.slot].fut;
    (o.side == Side::Buy ? f.ro_buy_qty : f.ro_sell_qty) += dq;
}

void Engine::futures_fill(SlotState& s, const OrderRecord* rec, Side side, std::int64_t qty) {
    FuturesSlot& f = s.fut;
    if (!f.hedge) return;
    // Hedge mode as the connector maps it: reduce-only SELL closes LONG,
    // reduce-only BUY closes SHORT; otherwise BUY opens LONG, SELL opens SHORT.
    if (rec && rec->reduce_only) {
        std::int64_t& leg = side == Side::Sell ? f.long_leg : f.short_leg;
        leg = qty < leg ? leg - qty : 0;
    } else {
        std::int64_t& leg = side == Side::Buy ? f.long_leg : f.short_leg;
        leg = sat_add(leg, qty);
    }
}

void Engine::futures_position(SlotState& s, const PositionEntry& p, const InstrumentSpec& spec) {
    FuturesSlot& f = s.fut;  // (leverage: set by the caller, also for stale position reports)
    f.hedge = p.hedge;
    std::int64_t l = 0, sh = 0;
    if (p.hedge && rescale(p.long_leg.mantissa, p.long_leg.scale, spec.qty_scale, l, Rounding::TowardZero) &&
        rescale(p.short_leg.mantissa, p.short_leg.scale, spec.qty_scale, sh, Rounding::TowardZero)) {
        f.long_leg = l;
        f.short_leg = sh;
    } else {
        f.long_leg = f.short_leg = 0;
    }
}

void Engine::apply_futures_update(std::uint16_t acct, const AccountUpdateMsg& u, OutputBuffer& out) {
    AccountState& a = s_.accounts[acct];
    FuturesAccount& f = a.fut;
    // Older than the account state we hold, or the same report again (a
    // redelivery, a replay over a snapshot that has it): nothing to apply.
    // Again would even be wrong: its balances do not include the margin held
    // since it was applied. (ts 0: unknown, applied as before.)
    if (u.ts_event_ns < f.ts_ns || (u.ts_event_ns == f.ts_ns && u.ts_event_ns != 0)) return;
    // A report with neither balances nor positions (the connector's funding
    // payments, one per symbol, all stamped with the settlement time) says
    // nothing about margin: it must not read as "no position at risk" nor
    // move the clock that orders the snapshots that do.
    if (u.n_balances == 0 && u.n_positions == 0) return;
    f.ts_ns = u.ts_event_ns;
    f.exchange = u.exchange;
    f.market = u.market;
    for (std::uint8_t k = 0; k < u.n_balances; ++k) {
        const BalanceEntry& b = u.balances[k];
        std::int64_t v;
        if (!rescale(b.free.mantissa, b.free.scale, kQuoteScale, v, Rounding::TowardZero)) continue;
        std::uint8_t i = 0;
        while (i < f.n_assets && !(f.assets[i].asset == b.asset)) ++i;
        if (i == f.n_assets) {
            if (f.n_assets >= kMaxFuturesAssets) continue;
            f.assets[f.n_assets++].asset = b.asset;
        }
        f.assets[i].available = v;
        f.assets[i].pending = 0;  // the venue's figure includes the open orders now (see hold_margin)
        ++f.assets[i].epoch;
    }
    // The account's margin ratio: the highest any open position reports
    // (cross positions all carry the account's MM / margin balance, an
    // isolated one its own). No open position: nothing at risk, 0.
    std::int64_t ratio = 0;
    bool has = false;
    for (std::uint16_t k = 0; k < u.n_positions; ++k) {
        const PositionEntry& p = u.positions[k];
        std::int64_t v;
        if (!p.has_margin_ratio ||
            !rescale(p.margin_ratio.mantissa, p.margin_ratio.scale, kRatioScale, v, Rounding::TowardZero))
            continue;
        if (!has || v > ratio) ratio = v;
        has = true;
    }
    f.margin_ratio = ratio;
    f.has_ratio = has;

    const MarginLevel prev = f.level;
    const MarginLevel next = next_margin_level(prev, ratio, a.limits);
    f.level = next;
    const bool cancel = next == MarginLevel::Critical && a.limits.cancel_on_margin_critical;
    if (next == prev && !cancel) return;

    Output* alert = nullptr;
    if (next != prev && !full(out)) alert = out.next();
    std::int32_t canceled = 0;
    if (cancel) {
        // Cancel the account's live orders on this venue's futures
        // instruments that would add exposure; each once (the flag), the
        // rest on the next update when the output buffer fills up.
        s_.orders.for_each_live([&](std::uint32_t, OrderRecord& rec) {
            if (rec.account != acct || rec.margin_cancel_sent || full(out)) return;
            if (rec.status == OrderStatus::PendingCancel || is_terminal(rec.status)) return;
            if (!s_.inst_state[rec.instrument].futures) return;
            const InstrumentSpec& spec = s_.instruments[rec.instrument];
            if (!(spec.id.exchange == u.exchange) || !(spec.id.market == u.market)) return;
            const SlotState& sl = s_.slots[rec.slot];
            const std::int64_t leaves = rec.qty - rec.filled;
            const bool adds = sl.fut.hedge ? !rec.reduce_only
                                           : increases_exposure(rec.reduce_only, rec.side, leaves, sl.e.pos.qty);
            if (!adds) return;
            Output* o = out.next();
            o->kind = OutputKind::KillCancelAll;
            o->cmd.sequence = 0;
            o->cmd.kind = CommandKind::CancelOrder;
            o->cmd.wire_lossless = false;  // built here, no input bytes
            RejectText id;
            id.put("margin-cancel:").put(rec.order_id.view());
            o->cmd.command_id.assign(id.view());
            CancelOrderMsg& c = o->cmd.cancel;
            c.order_id = rec.order_id;
            c.client_order_id = rec.client_order_id;
            c.account = a.name;
            c.instrument = spec.id;
            c.reason.assign("margin ratio critical");
            c.ts_ns = u.ts_event_ns;
            rec.margin_cancel_sent = true;
            ++canceled;
        });
    }
    if (!alert) return;
    AlertMsg& m = alert->alert;
    alert->kind = OutputKind::Alert;
    m.update_id = u.update_id;
    m.account = a.name;
    m.exchange = u.exchange;
    m.market = u.market;
    m.severity = severity_of(next);
    m.previous = severity_of(prev);
    m.ratio = ratio;
    m.orders_canceled = canceled;
    m.ts_ns = u.ts_event_ns;
    m.text.clear();
    m.text.put("margin ratio ").num(ratio, kRatioScale, 2);
    if (next > prev) {
        m.threshold = next == MarginLevel::Critical ? a.limits.margin_ratio_critical : a.limits.margin_ratio_warning;
        m.text.put(" >= ").put(name_of(next)).put(" ").num(m.threshold, kRatioScale, 2);
    } else {
        const std::int64_t left =
            prev == MarginLevel::Critical ? a.limits.margin_ratio_critical : a.limits.margin_ratio_warning;
        m.threshold = sat_add(left, -a.limits.margin_ratio_hysteresis);
        m.text.put(" < ").put(name_of(prev)).put(" - hysteresis ").num(m.threshold, kRatioScale, 2)
            .put(": ").put(name_of(next));
    }
    if (canceled > 0) m.text.put("; canceled ").integer(canceled).put(" exposure-increasing orders");
}

}  // namespace oms::engine
