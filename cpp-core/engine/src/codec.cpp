#include "oms/engine/codec.hpp"

#include <protobuf-c/protobuf-c.h>

#include <cstring>

#include "oms/v1/common.pb-c.h"
#include "oms/v1/marketdata.pb-c.h"
#include "oms/v1/orders.pb-c.h"
#include "oms/v1/positions.pb-c.h"
#include "oms/v1/risk.pb-c.h"
#include "oms/v1/trades.pb-c.h"

namespace oms::engine {

struct Codec::Arena {
    static void* alloc(void* ctx, size_t size) {
        auto* c = static_cast<Codec*>(ctx);
        std::size_t off = (c->arena_used_ + 15) & ~static_cast<std::size_t>(15);
        if (size > c->arena_size_ || off > c->arena_size_ - size) return nullptr;  // unpack fails cleanly
        c->arena_used_ = off + size;
        if (c->arena_used_ > c->high_water_) c->high_water_ = c->arena_used_;
        return c->arena_.get() + off;
    }
    static void free(void*, void*) {}  // whole arena is reset per message
};

namespace {

ProtobufCAllocator* alloc_of(void* p) { return static_cast<ProtobufCAllocator*>(p); }

// Copy a protobuf-c string into a fixed string; false if it does not fit.
template <std::size_t N>
bool copy(FixedString<N>& dst, const char* s) {
    return dst.assign(s ? std::string_view(s) : std::string_view());
}

bool copy_id(InstrumentId& dst, const Oms__V1__InstrumentId* id) {
    if (!id) { dst = InstrumentId{}; return true; }
    return copy(dst.exchange, id->exchange) && copy(dst.market, id->market) && copy(dst.symbol, id->symbol);
}

bool copy_dec(Decimal& d, const Oms__V1__Decimal* p) {
    if (!p) { d = Decimal{}; return false; }
    d.mantissa = p->mantissa;
    d.scale = p->scale;
    return true;
}

// -1 / 0 / 1; scales outside 0..kMaxScale compare equal (never chosen).
int compare_dec(const Decimal& a, const Decimal& b) {
    if (a.scale < 0 || a.scale > kMaxScale || b.scale < 0 || b.scale > kMaxScale) return 0;
    const int sc = a.scale > b.scale ? a.scale : b.scale;
    const __int128 x = rescale128(a.mantissa, a.scale, sc), y = rescale128(b.mantissa, b.scale, sc);
    return x < y ? -1 : x > y ? 1 : 0;
}

// Enum field as its declared underlying type (uint32). Loading a protobuf-c
// enum member that holds a value outside the enumerators (any varint on the
// wire, e.g. a negative number) as the enum type is undefined behaviour, and
// compilers really do fold the range checks below differently; read the bits.
template <typename E>
std::uint32_t en(const E& e) {
    static_assert(sizeof(E) == 4);
    std::uint32_t v;
    std::memcpy(&v, &e, 4);
    return v;
}

// Encode-side helpers: protobuf-c wants char*, it only reads them.
char* cs(const char* s) { return const_cast<char*>(s); }

Oms__V1__InstrumentId make_id(const InstrumentId& id) {
    Oms__V1__InstrumentId m = OMS__V1__INSTRUMENT_ID__INIT;
    m.exchange = cs(id.exchange.c_str());
    m.market = cs(id.market.c_str());
    m.symbol = cs(id.symbol.c_str());
    return m;
}

Oms__V1__Decimal make_dec(const Decimal& d) {
    Oms__V1__Decimal m = OMS__V1__DECIMAL__INIT;
    m.mantissa = d.mantissa;
    m.scale = d.scale;
    return m;
}

std::size_t pack(const ProtobufCMessage* m, std::uint8_t* buf, std::size_t cap) {
    std::size_t n = protobuf_c_message_get_packed_size(m);
    if (n > cap) return 0;
    return protobuf_c_message_pack(m, buf);
}

// "<id><suffix>" into a fixed char buffer.
void join(char* out, std::size_t cap, std::string_view a, std::string_view b) {
    std::size_t n = 0;
    for (char c : a) if (n + 1 < cap) out[n++] = c;
    for (char c : b) if (n + 1 < cap) out[n++] = c;
    out[n] = '\0';
}

}  // namespace

Codec::Codec(std::size_t arena_bytes)
    : arena_(new std::uint8_t[arena_bytes]), arena_size_(arena_bytes) {
    auto* a = new ProtobufCAllocator;
    a->alloc = &Arena::alloc;
    a->free = &Arena::free;
    a->allocator_data = this;
    allocator_ = a;
}

Codec::~Codec() { delete alloc_of(allocator_); }

void Codec::reset_arena() { arena_used_ = 0; }

// ------------------------------------------------------------------ decode ----

// decode_command when the fast decoder declines: counted, then protobuf-c.
bool Codec::decode_command_fallback(const std::uint8_t* data, std::size_t len, std::uint64_t sequence,
                                    OrderCommandMsg& out) {
    ++command_fallbacks_;
    return decode_command_reference(data, len, sequence, out);
}

bool Codec::decode_command_reference(const std::uint8_t* data, std::size_t len, std::uint64_t sequence,
                                     OrderCommandMsg& out) {
    reset_arena();
    out.wire_lossless = false;  // unusual input: forwarded copies are re-encoded
    Oms__V1__OrderCommand* m = oms__v1__order_command__unpack(alloc_of(allocator_), len, data);
    if (!m) return false;
    bool ok = copy(out.command_id, m->command_id);
    out.sequence = sequence;
    switch (m->command_case) {
        case OMS__V1__ORDER_COMMAND__COMMAND_NEW_ORDER: {
            const Oms__V1__NewOrder* n = m->new_order;
            NewOrderMsg& o = out.new_order;
            out.kind = CommandKind::NewOrder;
            ok = ok && copy(o.order_id, n->order_id) && copy(o.client_order_id, n->client_order_id) &&
                 copy(o.parent_order_id, n->parent_order_id) && copy(o.account, n->account) &&
                 copy_id(o.instrument, n->instrument);
            o.side = static_cast<Side>(en(n->side) <= 2 ? en(n->side) : 0);
            o.type = static_cast<OrderType>(en(n->order_type) <= 7 ? en(n->order_type) : 0);
            o.time_in_force = static_cast<std::uint8_t>(en(n->time_in_force));
            copy_dec(o.quantity, n->quantity);
            o.has_price = copy_dec(o.price, n->price);
            o.has_stop_price = copy_dec(o.stop_price, n->stop_price);
            o.has_quote_quantity = copy_dec(o.quote_quantity, n->quote_quantity);
            o.reduce_only = n->reduce_only;
            o.post_only = n->post_only;
            o.has_expire_time = n->expire_at_case == OMS__V1__NEW_ORDER__EXPIRE_AT_EXPIRE_TIME_NS;
            o.expire_time_ns = o.has_expire_time ? n->expire_time_ns : 0;
            o.ts_ns = n->ts_ns;
            o.routing_strategy = 0;
            o.n_allowed_venues = 0;
            if (n->routing) {
                o.routing_strategy = static_cast<std::uint8_t>(en(n->routing->strategy));
                if (n->routing->n_allowed_venues > kMaxRoutingVenues) ok = false;
                for (std::size_t i = 0; ok && i < n->routing->n_allowed_venues; ++i)
                    ok = copy(o.allowed_venues[o.n_allowed_venues++], n->routing->allowed_venues[i]);
            }
            break;
        }
        case OMS__V1__ORDER_COMMAND__COMMAND_CANCEL_ORDER: {
            const Oms__V1__CancelOrder* c = m->cancel_order;
            CancelOrderMsg& o = out.cancel;
            out.kind = CommandKind::CancelOrder;
            ok = ok && copy(o.order_id, c->order_id) && copy(o.client_order_id, c->client_order_id) &&
                 copy(o.account, c->account) && copy_id(o.instrument, c->instrument);
            copy(o.reason, c->reason);  // free text: truncation is fine
            o.ts_ns = c->ts_ns;
            break;
        }
        case OMS__V1__ORDER_COMMAND__COMMAND_AMEND_ORDER: {
            const Oms__V1__AmendOrder* a = m->amend_order;
            AmendOrderMsg& o = out.amend;
            out.kind = CommandKind::AmendOrder;
            ok = ok && copy(o.order_id, a->order_id) && copy(o.account, a->account) && copy_id(o.instrument, a->instrument);
            o.has_new_quantity = copy_dec(o.new_quantity, a->new_quantity);
            o.has_new_price = copy_dec(o.new_price, a->new_price);
            o.ts_ns = a->ts_ns;
            break;
        }
        case OMS__V1__ORDER_COMMAND__COMMAND_CANCEL_ALL: {
            const Oms__V1__CancelAll* c = m->cancel_all;
            CancelAllMsg& o = out.cancel_all;
            out.kind = CommandKind::CancelAll;
            ok = ok && copy(o.account, c->account) && copy(o.exchange, c->exchange) && copy(o.market, c->market) &&
                 copy(o.symbol, c->symbol);
            copy(o.reason, c->reason);
            o.ts_ns = c->ts_ns;
            break;
        }
        default: out.kind = CommandKind::None; break;
    }
    return ok;  // no free: the arena is reset by the next decode
}

bool Codec::decode_fill(const std::uint8_t* data, std::size_t len, FillMsg& out) {
    reset_arena();
    Oms__V1__Fill* f = oms__v1__fill__unpack(alloc_of(allocator_), len, data);
    if (!f) return false;
    bool ok = copy(out.trade_id, f->trade_id) && copy(out.order_id, f->order_id) &&
              copy(out.client_order_id, f->client_order_id) && copy(out.account, f->account) &&
              copy_id(out.instrument, f->instrument) && copy(out.commission_asset, f->commission_asset);
    out.side = static_cast<Side>(en(f->side) <= 2 ? en(f->side) : 0);
    copy_dec(out.price, f->price);
    copy_dec(out.quantity, f->quantity);
    copy_dec(out.commission, f->commission);
    out.ts_event_ns = f->ts_event_ns;
    out.ts_init_ns = f->ts_init_ns;
    return ok;
}

bool Codec::decode_order_event(const std::uint8_t* data, std::size_t len, OrderEventMsg& out) {
    reset_arena();
    Oms__V1__OrderEvent* e = oms__v1__order_event__unpack(alloc_of(allocator_), len, data);
    if (!e) return false;
    bool ok = copy(out.event_id, e->event_id);
    out.type = static_cast<OrderEventType>(en(e->event_type) <= 11 ? en(e->event_type) : 0);
    out.ts_event_ns = e->ts_event_ns;
    if (e->order) {
        ok = ok && copy(out.order_id, e->order->order_id);
        out.status = static_cast<OrderStatus>(en(e->order->status) <= 9 ? en(e->order->status) : 0);
        out.has_quantity = copy_dec(out.quantity, e->order->quantity);
        out.has_price = copy_dec(out.price, e->order->price);
    } else {
        out.order_id.clear();
        out.status = OrderStatus::Unspecified;
        out.has_quantity = out.has_price = false;
    }
    return ok;
}

bool Codec::decode_top_of_book(const std::uint8_t* data, std::size_t len, TopOfBookMsg& out) {
    reset_arena();
    Oms__V1__TopOfBook* t = oms__v1__top_of_book__unpack(alloc_of(allocator_), len, data);
    if (!t) return false;
    bool ok = copy_id(out.instrument, t->instrument);
    out.price_scale = t->price_scale;
    out.bid_price = t->bid_price;
    out.ask_price = t->ask_price;
    out.ts_event_ns = t->ts_event_ns ? t->ts_event_ns : t->ts_init_ns;
    return ok;
}

bool Codec::decode_account_update(const std::uint8_t* data, std::size_t len, AccountUpdateMsg& out) {
    reset_arena();
    Oms__V1__AccountUpdate* u = oms__v1__account_update__unpack(alloc_of(allocator_), len, data);
    if (!u) return false;
    bool ok = copy(out.update_id, u->update_id) && copy(out.account, u->account) && copy(out.exchange, u->exchange) &&
              copy(out.market, u->market);
    out.reason = static_cast<std::uint8_t>(en(u->reason) <= 7 ? en(u->reason) : 0);
    out.ts_event_ns = u->ts_event_ns ? u->ts_event_ns : u->ts_init_ns;
    out.truncated = u->n_positions > static_cast<std::size_t>(kMaxPositionsPerUpdate);
    std::uint16_t n = 0;
    for (std::size_t k = 0; k < u->n_positions && n < kMaxPositionsPerUpdate; ++k) {
        const Oms__V1__Position* p = u->positions[k];
        if (!p) continue;
        PositionEntry& e = out.positions[n];
        // A position names its account only when it differs from the update's.
        if (p->account && p->account[0] && !(out.account == std::string_view(p->account))) { ok = false; continue; }
        if (!copy_id(e.instrument, p->instrument)) { ok = false; continue; }
        if (e.instrument.exchange.empty()) e.instrument.exchange = out.exchange;
        if (e.instrument.market.empty()) e.instrument.market = out.market;
        Decimal qty;
        copy_dec(qty, p->quantity);
        const auto side = en(p->position_side);
        const bool leg = side == OMS__V1__POSITION_SIDE__POSITION_SIDE_LONG ||
                         side == OMS__V1__POSITION_SIDE__POSITION_SIDE_SHORT;
        if (leg) {
            // Hedge mode: one entry per instrument, net quantity + both legs.
            Decimal size = qty;
            if (size.mantissa < 0) size.mantissa = -size.mantissa;
            PositionEntry* merged = nullptr;
            for (std::uint16_t j = 0; j < n; ++j) {
                const InstrumentId& o = out.positions[j].instrument;
                if (out.positions[j].hedge && o.symbol == e.instrument.symbol && o.market == e.instrument.market &&
                    o.exchange == e.instrument.exchange) { merged = &out.positions[j]; break; }
            }
            PositionEntry& m = merged ? *merged : e;
            if (!merged) {
                m.hedge = true;
                m.long_leg = Decimal{0, size.scale};
                m.short_leg = Decimal{0, size.scale};
                m.quantity = Decimal{0, size.scale};
                m.has_entry_price = m.has_mark_price = m.has_margin_ratio = false;
                m.leverage = 0;
                m.ts_ns = 0;
            }
            (side == OMS__V1__POSITION_SIDE__POSITION_SIDE_LONG ? m.long_leg : m.short_leg) = size;
            // Net = long - short, at the finer of the two scales.
            const Decimal& l = m.long_leg;
            const Decimal& sh = m.short_leg;
            const std::int32_t sc = l.scale > sh.scale ? l.scale : sh.scale;
            std::int64_t lv = 0, sv = 0;
            if (!rescale(l.mantissa, l.scale, sc, lv) || !rescale(sh.mantissa, sh.scale, sc, sv)) { ok = false; continue; }
            m.quantity = Decimal{lv - sv, sc};
            // A net of two legs has no single entry price (the engine keeps its cost basis).
            Decimal entry;
            const bool has_entry = copy_dec(entry, p->average_entry_price) && entry.mantissa > 0;
            const bool other_open = (side == OMS__V1__POSITION_SIDE__POSITION_SIDE_LONG ? sh : l).mantissa != 0;
            if (size.mantissa != 0 && !other_open && has_entry) { m.entry_price = entry; m.has_entry_price = true; }
            else if (size.mantissa != 0 && other_open) m.has_entry_price = false;
            Decimal mark;
            if (copy_dec(mark, p->mark_price) && mark.mantissa > 0) { m.mark_price = mark; m.has_mark_price = true; }
            if (p->leverage > 0) m.leverage = p->leverage;
            Decimal mr;
            if (copy_dec(mr, p->margin_ratio) && size.mantissa != 0 &&
                (!m.has_margin_ratio || compare_dec(mr, m.margin_ratio) > 0)) { m.margin_ratio = mr; m.has_margin_ratio = true; }
            if (p->ts_ns > m.ts_ns) m.ts_ns = p->ts_ns;
            if (merged) continue;
            ++n;
            continue;
        }
        e.hedge = false;
        e.quantity = qty;
        e.has_entry_price = copy_dec(e.entry_price, p->average_entry_price) && e.entry_price.mantissa > 0;
        e.has_mark_price = copy_dec(e.mark_price, p->mark_price) && e.mark_price.mantissa > 0;
        e.leverage = p->leverage > 0 ? p->leverage : 0;
        e.has_margin_ratio = copy_dec(e.margin_ratio, p->margin_ratio) && qty.mantissa != 0;
        e.ts_ns = p->ts_ns;
        ++n;
    }
    out.n_positions = n;
    std::uint8_t nb = 0;
    for (std::size_t k = 0; k < u->n_balances && nb < kMaxBalancesPerUpdate; ++k) {
        const Oms__V1__Balance* b = u->balances[k];
        if (!b || !b->asset || !b->asset[0]) continue;
        BalanceEntry& be = out.balances[nb];
        if (!copy(be.asset, b->asset)) { ok = false; continue; }
        if (!copy_dec(be.free, b->free)) continue;  // no free amount: nothing usable
        ++nb;
    }
    out.n_balances = nb;
    return ok;
}

bool Codec::decode_risk_control(const std::uint8_t* data, std::size_t len, RiskControlMsg& out) {
    reset_arena();
    Oms__V1__RiskControl* r = oms__v1__risk_control__unpack(alloc_of(allocator_), len, data);
    if (!r) return false;
    bool ok = true;
    if (r->control_case == OMS__V1__RISK_CONTROL__CONTROL_KILL_SWITCH) {
        const Oms__V1__KillSwitch* k = r->kill_switch;
        out.kind = RiskControlKind::KillSwitch;
        KillSwitchMsg& o = out.kill;
        ok = copy(o.command_id, k->command_id) && copy(o.account, k->account) && copy(o.exchange, k->exchange) &&
             copy(o.market, k->market) && copy(o.symbol, k->symbol);
        copy(o.reason, k->reason);
        o.scope = static_cast<KillScope>(en(k->scope) <= 4 ? en(k->scope) : 0);
        o.engaged = k->engaged;
        o.ts_ns = k->ts_ns;
    } else if (r->control_case == OMS__V1__RISK_CONTROL__CONTROL_SET_TRADING_STATE) {
        const Oms__V1__SetTradingState* s = r->set_trading_state;
        out.kind = RiskControlKind::SetTradingState;
        SetTradingStateMsg& o = out.state;
        ok = copy(o.command_id, s->command_id) && copy(o.account, s->account) && copy_id(o.instrument, s->instrument);
        copy(o.reason, s->reason);
        o.state = static_cast<TradingState>(en(s->state) <= 3 ? en(s->state) : 0);
        o.ts_ns = s->ts_ns;
    } else {
        out.kind = RiskControlKind::None;
    }
    return ok;
}

namespace {
bool to_spec(const Oms__V1__Instrument* i, InstrumentSpec& s) {
    bool ok = copy_id(s.id, i->id) && copy(s.base_asset, i->base_asset) && copy(s.quote_asset, i->quote_asset);
    s.price_scale = i->price_scale;
    s.qty_scale = i->qty_scale;
    s.tick_size = i->tick_size;
    s.lot_size = i->lot_size;
    s.min_qty = i->min_qty;
    s.max_qty = i->max_qty;
    s.min_notional = 0;
    if (i->min_notional && !rescale(i->min_notional->mantissa, i->min_notional->scale, kQuoteScale, s.min_notional,
                                    Rounding::TowardZero))
        ok = false;
    s.status = static_cast<InstrumentStatus>(en(i->status) <= 4 ? en(i->status) : 0);
    if (s.status == InstrumentStatus::Unspecified) s.status = InstrumentStatus::Trading;
    return ok;
}
}  // namespace

bool Codec::decode_instrument(const std::uint8_t* data, std::size_t len, InstrumentSpec& out) {
    reset_arena();
    Oms__V1__Instrument* i = oms__v1__instrument__unpack(alloc_of(allocator_), len, data);
    return i && to_spec(i, out);
}

bool Codec::decode_instrument_list_impl(const std::uint8_t* data, std::size_t len,
                                        void (*fn)(void*, const InstrumentSpec&), void* ctx) {
    // Instrument lists can be large: use a heap allocation here (startup
    // path, not the order path).
    Oms__V1__InstrumentList* l = oms__v1__instrument_list__unpack(nullptr, len, data);
    if (!l) return false;
    bool ok = true;
    for (std::size_t k = 0; k < l->n_instruments; ++k) {
        InstrumentSpec s;
        if (to_spec(l->instruments[k], s)) fn(ctx, s); else ok = false;
    }
    oms__v1__instrument_list__free_unpacked(l, nullptr);
    return ok;
}

// ------------------------------------------------------------------ encode ----

std::size_t Codec::encode_decision(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf, std::size_t cap) {
    return encode_decision_direct(d, check_latency_ns, buf, cap);
}

std::size_t Codec::encode_command(const OrderCommandMsg& c, std::uint8_t* buf, std::size_t cap) {
    return encode_command_direct(c, buf, cap);
}

std::size_t Codec::encode_forward(const OrderCommandMsg& c, const std::uint8_t* in, std::size_t in_len, std::uint8_t* buf,
                                  std::size_t cap) {
    if (c.wire_lossless && c.kind == CommandKind::NewOrder && in && in_len > 0 && in_len <= cap) {
        std::memcpy(buf, in, in_len);
        return in_len;
    }
    return encode_command_direct(c, buf, cap);
}

std::size_t Codec::encode_decision_reference(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf,
                                             std::size_t cap) {
    char decision_id[96];
    join(decision_id, sizeof decision_id, d.command_id.view(), ":decision");
    Oms__V1__InstrumentId id = make_id(d.instrument);
    Oms__V1__RiskDecision m = OMS__V1__RISK_DECISION__INIT;
    m.decision_id = decision_id;
    m.command_id = cs(d.command_id.c_str());
    m.order_id = cs(d.order_id.c_str());
    m.account = cs(d.account.c_str());
    m.instrument = &id;
    m.result = static_cast<Oms__V1__RiskDecisionResult>(d.result);
    m.reason_code = static_cast<Oms__V1__RejectReason>(d.reason);
    m.reason_text = cs(d.text.buf);
    m.command_sequence = d.command_sequence;
    m.check_latency_ns = check_latency_ns;
    m.ts_ns = d.ts_ns;
    return pack(&m.base, buf, cap);
}

std::size_t Codec::encode_rejected_event(const Output& o, std::int64_t ts_init_ns, std::uint8_t* buf, std::size_t cap) {
    const NewOrderMsg& n = o.cmd.new_order;
    char event_id[96];
    join(event_id, sizeof event_id, o.cmd.command_id.view(), ":rej");
    Oms__V1__InstrumentId id = make_id(n.instrument);
    Oms__V1__Decimal qty = make_dec(n.quantity), px = make_dec(n.price), stop = make_dec(n.stop_price);
    Oms__V1__Decimal zero = make_dec(Decimal{0, n.quantity.scale});
    Oms__V1__Order ord = OMS__V1__ORDER__INIT;
    ord.order_id = cs(n.order_id.c_str());
    ord.client_order_id = cs(n.client_order_id.c_str());
    ord.account = cs(n.account.c_str());
    ord.instrument = &id;
    ord.side = static_cast<Oms__V1__Side>(n.side);
    ord.order_type = static_cast<Oms__V1__OrderType>(n.type);
    ord.time_in_force = static_cast<Oms__V1__TimeInForce>(n.time_in_force);
    ord.status = OMS__V1__ORDER_STATUS__ORDER_STATUS_REJECTED;
    ord.quantity = &qty;
    ord.price = n.has_price ? &px : nullptr;
    ord.stop_price = n.has_stop_price ? &stop : nullptr;
    ord.filled_quantity = &zero;
    ord.leaves_quantity = &zero;
    ord.reduce_only = n.reduce_only;
    ord.post_only = n.post_only;
    ord.parent_order_id = cs(n.parent_order_id.c_str());
    ord.created_ns = n.ts_ns;
    ord.updated_ns = n.ts_ns;
    ord.reject_reason = static_cast<Oms__V1__RejectReason>(o.decision.reason);
    ord.reject_text = cs(o.decision.text.buf);
    Oms__V1__OrderEvent e = OMS__V1__ORDER_EVENT__INIT;
    e.event_id = event_id;
    e.event_type = OMS__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_REJECTED;
    e.order = &ord;
    e.reason_code = ord.reject_reason;
    e.reason_text = ord.reject_text;
    e.source = cs("oms-core");
    e.ts_event_ns = n.ts_ns;
    e.ts_init_ns = ts_init_ns;
    return pack(&e.base, buf, cap);
}

std::size_t Codec::encode_command_reference(const OrderCommandMsg& c, std::uint8_t* buf, std::size_t cap) {
    Oms__V1__OrderCommand m = OMS__V1__ORDER_COMMAND__INIT;
    m.command_id = cs(c.command_id.c_str());
    switch (c.kind) {
        case CommandKind::NewOrder: {
            const NewOrderMsg& n = c.new_order;
            Oms__V1__InstrumentId id = make_id(n.instrument);
            Oms__V1__Decimal qty = make_dec(n.quantity), px = make_dec(n.price), stop = make_dec(n.stop_price),
                             qq = make_dec(n.quote_quantity);
            char* venues[kMaxRoutingVenues];
            Oms__V1__RoutingInstruction ri = OMS__V1__ROUTING_INSTRUCTION__INIT;
            ri.strategy = static_cast<Oms__V1__RoutingStrategy>(n.routing_strategy);
            ri.n_allowed_venues = n.n_allowed_venues;
            for (std::size_t i = 0; i < n.n_allowed_venues && i < kMaxRoutingVenues; ++i)
                venues[i] = cs(n.allowed_venues[i].c_str());
            ri.allowed_venues = venues;
            Oms__V1__NewOrder o = OMS__V1__NEW_ORDER__INIT;
            o.order_id = cs(n.order_id.c_str());
            o.client_order_id = cs(n.client_order_id.c_str());
            o.account = cs(n.account.c_str());
            o.instrument = &id;
            o.side = static_cast<Oms__V1__Side>(n.side);
            o.order_type = static_cast<Oms__V1__OrderType>(n.type);
            o.time_in_force = static_cast<Oms__V1__TimeInForce>(n.time_in_force);
            o.quantity = &qty;
            o.price = n.has_price ? &px : nullptr;
            o.stop_price = n.has_stop_price ? &stop : nullptr;
            o.quote_quantity = n.has_quote_quantity ? &qq : nullptr;
            o.reduce_only = n.reduce_only;
            o.post_only = n.post_only;
            o.routing = (n.routing_strategy || n.n_allowed_venues) ? &ri : nullptr;
            o.parent_order_id = cs(n.parent_order_id.c_str());
            o.ts_ns = n.ts_ns;
            if (n.has_expire_time) {
                o.expire_at_case = OMS__V1__NEW_ORDER__EXPIRE_AT_EXPIRE_TIME_NS;
                o.expire_time_ns = n.expire_time_ns;
            }
            m.command_case = OMS__V1__ORDER_COMMAND__COMMAND_NEW_ORDER;
            m.new_order = &o;
            return pack(&m.base, buf, cap);
        }
        case CommandKind::CancelOrder: {
            const CancelOrderMsg& n = c.cancel;
            Oms__V1__InstrumentId id = make_id(n.instrument);
            Oms__V1__CancelOrder o = OMS__V1__CANCEL_ORDER__INIT;
            o.order_id = cs(n.order_id.c_str());
            o.client_order_id = cs(n.client_order_id.c_str());
            o.account = cs(n.account.c_str());
            o.instrument = &id;
            o.reason = cs(n.reason.c_str());
            o.ts_ns = n.ts_ns;
            m.command_case = OMS__V1__ORDER_COMMAND__COMMAND_CANCEL_ORDER;
            m.cancel_order = &o;
            return pack(&m.base, buf, cap);
        }
        case CommandKind::AmendOrder: {
            const AmendOrderMsg& n = c.amend;
            Oms__V1__InstrumentId id = make_id(n.instrument);
            Oms__V1__Decimal q = make_dec(n.new_quantity), p = make_dec(n.new_price);
            Oms__V1__AmendOrder o = OMS__V1__AMEND_ORDER__INIT;
            o.order_id = cs(n.order_id.c_str());
            o.account = cs(n.account.c_str());
            o.instrument = &id;
            o.new_quantity = n.has_new_quantity ? &q : nullptr;
            o.new_price = n.has_new_price ? &p : nullptr;
            o.ts_ns = n.ts_ns;
            m.command_case = OMS__V1__ORDER_COMMAND__COMMAND_AMEND_ORDER;
            m.amend_order = &o;
            return pack(&m.base, buf, cap);
        }
        case CommandKind::CancelAll: {
            const CancelAllMsg& n = c.cancel_all;
            Oms__V1__CancelAll o = OMS__V1__CANCEL_ALL__INIT;
            o.account = cs(n.account.c_str());
            o.exchange = cs(n.exchange.c_str());
            o.market = cs(n.market.c_str());
            o.symbol = cs(n.symbol.c_str());
            o.reason = cs(n.reason.c_str());
            o.ts_ns = n.ts_ns;
            m.command_case = OMS__V1__ORDER_COMMAND__COMMAND_CANCEL_ALL;
            m.cancel_all = &o;
            return pack(&m.base, buf, cap);
        }
        default: return pack(&m.base, buf, cap);
    }
}

std::size_t Codec::encode(const Output& o, std::int64_t check_latency_ns, std::int64_t ts_init_ns, std::uint8_t* buf,
                          std::size_t cap) {
    switch (o.kind) {
        case OutputKind::Decision: return encode_decision(o.decision, check_latency_ns, buf, cap);
        case OutputKind::OrderRejected: return encode_rejected_event(o, ts_init_ns, buf, cap);
        case OutputKind::ForwardCommand:
        case OutputKind::KillCancelAll: return encode_command(o.cmd, buf, cap);
        case OutputKind::Alert: return encode_alert(o.alert, buf, cap);
        default: return 0;
    }
}

std::size_t Codec::encode_alert(const AlertMsg& a, std::uint8_t* buf, std::size_t cap) {
    char alert_id[96];
    join(alert_id, sizeof alert_id, a.update_id.view(), ":alert");
    Oms__V1__Decimal value = make_dec(Decimal{a.ratio, kRatioScale});
    Oms__V1__Decimal threshold = make_dec(Decimal{a.threshold, kRatioScale});
    Oms__V1__Alert m = OMS__V1__ALERT__INIT;
    m.alert_id = alert_id;
    m.source = cs("oms-core");
    m.kind = cs("margin_ratio");
    m.severity = static_cast<Oms__V1__AlertSeverity>(a.severity);
    m.previous_severity = static_cast<Oms__V1__AlertSeverity>(a.previous);
    m.account = cs(a.account.c_str());
    m.exchange = cs(a.exchange.c_str());
    m.market = cs(a.market.c_str());
    m.value = &value;
    m.threshold = &threshold;
    m.text = cs(a.text.buf);
    m.orders_canceled = a.orders_canceled;
    m.ts_ns = a.ts_ns;
    return pack(&m.base, buf, cap);
}

}  // namespace oms::engine
