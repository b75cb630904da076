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
    return check_initial_margin(o.notional, lev, a.fut.available(spec.quote_asset), spec.quote_asset, t);
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
    if (u.ts_event_ns < f.ts_ns) return;  // older than the account state we hold
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
