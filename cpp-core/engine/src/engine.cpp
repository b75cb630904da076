#include "oms/engine/engine.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace oms::engine {
namespace {

constexpr std::int64_t kNsPerDay = 86'400'000'000'000LL;
constexpr std::uint32_t kSnapshotMagic = 0x4F4D5345;  // "OMSE"
constexpr std::uint32_t kSnapshotVersion = 7;  // 2: fingerprint-keyed order indexes; 3: venue positions in slots, fingerprint instrument index; 4: futures state or bucketed dedup index (two branches); 5: both; 6: index keys in OrderRecord, instrument lookup cache; 7: futures margin held per order and pending per balance

struct SnapshotHeader {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint64_t state_size;
};

TradingState max_state(TradingState a, TradingState b) {
    return static_cast<std::uint8_t>(a) >= static_cast<std::uint8_t>(b) ? a : b;
}

bool rule_matches(const ScopeRule& r, std::string_view account, const InstrumentId& id) {
    return (r.account.empty() || r.account == account) && (r.exchange.empty() || r.exchange == id.exchange) &&
           (r.market.empty() || r.market == id.market) && (r.symbol.empty() || r.symbol == id.symbol);
}

// Copy a command into an output: header + only the active sub-message
// (OrderCommandMsg carries all four, ~1.2 KB; the encoders read only the
// active one), so the forwarded/rejected output costs ~1/3 of a full copy.
void copy_command(OrderCommandMsg& dst, const OrderCommandMsg& src) {
    dst.command_id = src.command_id;
    dst.sequence = src.sequence;
    dst.kind = src.kind;
    dst.wire_lossless = src.wire_lossless;
    switch (src.kind) {
        case CommandKind::NewOrder: dst.new_order = src.new_order; break;
        case CommandKind::CancelOrder: dst.cancel = src.cancel; break;
        case CommandKind::AmendOrder: dst.amend = src.amend; break;
        case CommandKind::CancelAll: dst.cancel_all = src.cancel_all; break;
        default: break;
    }
}

// Used bytes only (the text is NUL-terminated at len; most decisions have none).
void copy_text(RejectText& dst, const RejectText& src) {
    std::memcpy(dst.buf, src.buf, src.len + 1u);
    dst.len = src.len;
}

void set_reject(StoredDecision& sd, RejectReason r) {
    sd.result = DecisionResult::Rejected;
    sd.reason = r;
}

}  // namespace

Engine::Engine() = default;

void* Engine::operator new(std::size_t n) {
    constexpr std::size_t kHuge = 2u << 20;
    const std::size_t len = (n + kHuge - 1) & ~(kHuge - 1);
    void* p = std::aligned_alloc(kHuge, len);
    if (!p) throw std::bad_alloc();
    ::madvise(p, len, MADV_HUGEPAGE);  // before the first touch below
    // Zero everything once (also faults the pages in now, not on the order
    // path): members without initializers (RejectText's buffer) start as
    // zeros, so snapshots never carry stale heap bytes.
    std::memset(p, 0, len);
    return p;
}

void Engine::operator delete(void* p) noexcept { std::free(p); }

// ---------------------------------------------------------------- config ----

bool Engine::load_limits(const RiskConfig& cfg, std::string* err) {
    if (!compile_limits(cfg, s_.limits, err)) return false;
    refresh_limits();
    return true;
}

void Engine::set_limits(const RiskLimitsTable& table) {
    s_.limits = table;
    refresh_limits();
}

void Engine::refresh_limits() {
    for (std::uint32_t i = 0; i < s_.n_accounts; ++i)
        s_.accounts[i].limits = s_.limits.for_account(s_.accounts[i].name.view());
    for (std::uint32_t i = 0; i < s_.instruments.size(); ++i)
        s_.inst_state[i].limits = s_.limits.for_instrument(s_.instruments[i].id);
}

std::uint32_t Engine::upsert_instrument(const InstrumentSpec& in) {
    // The first registration fixes an instrument's scales: the reference
    // price, open orders and positions are stored at them. A later list at
    // other scales (a connector quoting 8 decimals) is converted, exactly, or
    // ignored when it cannot be represented (a tick finer than the scale).
    InstrumentSpec spec = in;
    if (const std::uint32_t cur = s_.instruments.find(in.id); cur != InstrumentRegistry::kNotFound) {
        const InstrumentSpec& c = s_.instruments[cur];
        if (c.price_scale != in.price_scale || c.qty_scale != in.qty_scale) {
            spec.price_scale = c.price_scale;
            spec.qty_scale = c.qty_scale;
            if (!rescale(in.tick_size, in.price_scale, c.price_scale, spec.tick_size) ||
                !rescale(in.lot_size, in.qty_scale, c.qty_scale, spec.lot_size) ||
                !rescale(in.min_qty, in.qty_scale, c.qty_scale, spec.min_qty) ||
                !rescale(in.max_qty, in.qty_scale, c.qty_scale, spec.max_qty)) {
                ++s_.stats.instrument_scale_conflicts;
                return cur;
            }
        }
    }
    std::uint32_t idx = s_.instruments.upsert(spec);
    if (idx != InstrumentRegistry::kNotFound) {
        s_.inst_state[idx].limits = s_.limits.for_instrument(spec.id);
        s_.inst_state[idx].futures = is_futures_market(spec.id.market.view());
    }
    return idx;
}

// --------------------------------------------------------------- helpers ----

std::uint16_t Engine::find_account(std::string_view name) const {
    AccountName n;
    if (!n.assign(name)) return kNoAccount;
    const std::uint16_t* i = s_.account_idx.find(n);
    return i ? *i : kNoAccount;
}

std::uint16_t Engine::intern_account(const AccountName& name) {
    if (const std::uint16_t* i = s_.account_idx.find(name)) return *i;
    if (s_.n_accounts >= kMaxAccounts) return kNoAccount;
    auto idx = static_cast<std::uint16_t>(s_.n_accounts);
    if (!s_.account_idx.insert(name, idx)) return kNoAccount;
    ++s_.n_accounts;
    AccountState& a = s_.accounts[idx];
    a.name = name;
    a.limits = s_.limits.for_account(name.view());
    return idx;
}

std::uint32_t Engine::slot_for(std::uint16_t acct, std::uint32_t instr) {
    std::uint64_t key = (static_cast<std::uint64_t>(acct) << 32) | instr;
    if (const std::uint32_t* i = s_.slot_idx.find(key)) return *i;
    if (s_.n_slots >= kMaxSlots) return kNoIndex;
    std::uint32_t idx = s_.n_slots;
    if (!s_.slot_idx.insert(key, idx)) return kNoIndex;
    ++s_.n_slots;
    s_.slots[idx].account = acct;
    s_.slots[idx].instrument = instr;
    return idx;
}

// Keep the account totals equal to the sum of slot contributions in O(1).
void Engine::recontrib(SlotState& s) {
    ExposureContrib n = contrib(s.e);
    AccountState& a = s_.accounts[s.account];
    a.lng = sat_add(a.lng, n.lng - s.c.lng);
    a.shrt = sat_add(a.shrt, n.shrt - s.c.shrt);
    a.gross = sat_add(a.gross, n.gross - s.c.gross);
    s.c = n;
}

void Engine::reserve(OrderRecord& o) {
    const InstrumentSpec& spec = s_.instruments[o.instrument];
    SlotState& s = s_.slots[o.slot];
    std::int64_t leaves = o.qty - o.filled;
    if (leaves < 0) leaves = 0;
    o.reserved_qty = leaves;
    o.reserved_notional = o.notional_px > 0 ? notional_sat(o.notional_px, spec.price_scale, leaves, spec.qty_scale) : 0;
    if (o.side == Side::Buy) {
        s.e.open_buy_qty += o.reserved_qty;
        s.e.open_buy_notional = sat_add(s.e.open_buy_notional, o.reserved_notional);
    } else {
        s.e.open_sell_qty += o.reserved_qty;
        s.e.open_sell_notional = sat_add(s.e.open_sell_notional, o.reserved_notional);
    }
    s.e.open_orders += 1;
    s_.accounts[o.account].open_orders += 1;
    if (o.reduce_only) track_reduce_only(o, o.reserved_qty);
    recontrib(s);
}

void Engine::release(OrderRecord& o) {
    SlotState& s = s_.slots[o.slot];
    if (o.reduce_only) track_reduce_only(o, -o.reserved_qty);
    if (o.side == Side::Buy) {
        s.e.open_buy_qty -= o.reserved_qty;
        s.e.open_buy_notional -= o.reserved_notional;
    } else {
        s.e.open_sell_qty -= o.reserved_qty;
        s.e.open_sell_notional -= o.reserved_notional;
    }
    o.reserved_qty = 0;
    o.reserved_notional = 0;
    s.e.open_orders -= 1;
    s_.accounts[o.account].open_orders -= 1;
    recontrib(s);
}

void Engine::retire(std::uint32_t idx) {
    OrderRecord& o = s_.orders[idx];
    if (o.margin_lev) drop_margin(o);  // before release(): it reads reserved_notional
    release(o);
    s_.order_idx.erase(o.order_key);
    if (!o.client_order_id.empty()) s_.clord_idx.erase(o.clord_key);
    s_.orders.release(idx);
}

std::uint32_t Engine::find_order(const OrderId& id, std::uint64_t fp) const {
    const std::uint32_t* i = s_.order_idx.find(fp);
    return i && s_.orders[*i].order_id == id ? *i : kNoIndex;
}

std::uint32_t Engine::find_clord(std::uint16_t acct, const OrderId& id, std::uint64_t fp) const {
    const std::uint32_t* i = s_.clord_idx.find(fp);
    if (!i) return kNoIndex;
    const OrderRecord& r = s_.orders[*i];
    return r.account == acct && r.client_order_id == id ? *i : kNoIndex;
}

bool Engine::killed_for(std::uint16_t acct, std::uint32_t instr) const {
    if (s_.global_kill || s_.accounts[acct].killed || s_.inst_state[instr].killed) return true;
    for (std::uint32_t i = 0; i < s_.n_rules; ++i) {
        const ScopeRule& r = s_.rules[i];
        if (r.used && r.kill && rule_matches(r, s_.accounts[acct].name.view(), s_.instruments[instr].id)) return true;
    }
    return false;
}

TradingState Engine::state_for(std::uint16_t acct, std::uint32_t instr) const {
    TradingState st = max_state(s_.accounts[acct].state, s_.inst_state[instr].state);
    switch (s_.instruments[instr].status) {
        case InstrumentStatus::ReduceOnly: st = max_state(st, TradingState::Reducing); break;
        case InstrumentStatus::Halted:
        case InstrumentStatus::Delisted: st = TradingState::Halted; break;
        default: break;
    }
    for (std::uint32_t i = 0; i < s_.n_rules; ++i) {
        const ScopeRule& r = s_.rules[i];
        if (r.used && !r.kill && rule_matches(r, s_.accounts[acct].name.view(), s_.instruments[instr].id))
            st = max_state(st, r.state);
    }
    return st;
}

TradingState Engine::effective_state(std::string_view account, const InstrumentId& id) const {
    std::uint16_t a = find_account(account);
    std::uint32_t i = s_.instruments.find(id);
    if (a == kNoAccount || i == InstrumentRegistry::kNotFound) return TradingState::Unspecified;
    return state_for(a, i);
}

void Engine::roll_day(AccountState& a, std::int64_t ts_ns) {
    std::int64_t day = ts_ns / kNsPerDay;
    if (day > a.day) { a.day = day; a.daily_net = 0; }
}

// ---------------------------------------------------------------- checks ----

RejectReason Engine::check_order(std::uint16_t acct, std::uint32_t instr, std::uint32_t slot, const OrderView& o,
                                 bool is_amend, RejectText& t) {
    AccountState& a = s_.accounts[acct];
    const InstrumentState& is = s_.inst_state[instr];
    const InstrumentSpec& spec = s_.instruments[instr];
    SlotState& sl = s_.slots[slot];
    RejectReason r;

    if (killed_for(acct, instr)) {
        t.put("kill switch engaged");
        return RejectReason::KillSwitch;
    }
    const TradingState st = state_for(acct, instr);
    const bool reducing = is_reducing(sl.e, o);
    if (st == TradingState::Halted) {
        t.put("trading halted");
        return RejectReason::TradingHalted;
    }
    // Futures reduce-only has its own rule (check_futures): against the
    // position minus the other reduce-only orders, hedge legs included.
    if ((st == TradingState::Reducing || (o.reduce_only && !is.futures)) && !reducing) {
        t.put(o.reduce_only ? "reduce-only order would increase exposure" : "trading state REDUCING: order would increase exposure");
        t.put(" (position ").num(sl.e.pos.qty, spec.qty_scale, spec.qty_scale).put(")");
        return RejectReason::ReduceOnly;
    }
    if ((r = check_instrument_rules(spec, o, t)) != RejectReason::None) return r;
    bool fresh = reference_fresh(is.ref, o.ts_ns, s_.limits.reference_max_age_ns);
    if ((r = check_price_collar(is.limits, spec, is.ref, fresh, s_.limits.allow_missing_reference, o, t)) != RejectReason::None)
        return r;
    if ((r = check_max_order_qty(is.limits, spec, o, t)) != RejectReason::None) return r;
    if ((r = check_max_order_notional(is.limits, o, t)) != RejectReason::None) return r;
    roll_day(a, o.ts_ns);
    if (!reducing && (r = check_daily_loss(a.limits, a.daily_net, t)) != RejectReason::None) return r;
    if (!is_amend && (r = check_open_orders(a.open_orders, a.limits, sl.e.open_orders, is.limits, t)) != RejectReason::None)
        return r;
    if ((r = check_symbol_position(is.limits, spec, sl.e, o, t)) != RejectReason::None) return r;
    if (!reducing) {
        // Hypothetical slot after adding the order, then account totals.
        Exposure e2 = sl.e;
        std::int64_t n = o.notional > 0 ? o.notional : 0;
        if (o.side == Side::Buy) { e2.open_buy_qty += o.qty; e2.open_buy_notional = sat_add(e2.open_buy_notional, n); }
        else { e2.open_sell_qty += o.qty; e2.open_sell_notional = sat_add(e2.open_sell_notional, n); }
        ExposureContrib c2 = contrib(e2);
        AccountExposure after{sat_add(a.lng, c2.lng - sl.c.lng), sat_add(a.shrt, c2.shrt - sl.c.shrt),
                              sat_add(a.gross, c2.gross - sl.c.gross)};
        if ((r = check_account_exposure(a.limits, after, t)) != RejectReason::None) return r;
    }
    if (is.futures && (r = check_futures(acct, instr, sl, o, reducing, t)) != RejectReason::None) return r;
    // Last: only orders that pass everything else consume a rate token.
    if ((r = check_rate(a.limits, a.bucket, o.ts_ns, t)) != RejectReason::None) return r;
    return RejectReason::None;
}

// -------------------------------------------------------------- commands ----

HandleStatus Engine::handle(const OrderCommandMsg& cmd, OutputBuffer& out) {
    ++s_.stats.commands;
    // Hash every key this command will look up first and prefetch their home
    // slots, so the dedup / order-id / client-order-id misses overlap instead
    // of being paid one after the other.
    const Fp128 cfp = s_.cmd_dedup.fingerprint(cmd.command_id);
    s_.cmd_dedup.prefetch(cfp);
    s_.cmd_dedup.prefetch_eviction();
    std::uint64_t ofp = 0, clfp = 0;
    std::uint32_t instr = InstrumentRegistry::kNotFound;
    if (cmd.kind == CommandKind::NewOrder) {
        ofp = order_fp(cmd.new_order.order_id);
        s_.order_idx.prefetch(ofp);
        if (!cmd.new_order.client_order_id.empty()) {
            clfp = clord_fp(cmd.new_order.account, cmd.new_order.client_order_id);
            s_.clord_idx.prefetch(clfp);
        }
        // Pure lookup done while the prefetches above are in flight (the
        // dedup probe below would otherwise stall on them right away).
        instr = s_.instruments.find(cmd.new_order.instrument);
    } else if (cmd.kind == CommandKind::AmendOrder) {
        s_.order_idx.prefetch(order_fp(cmd.amend.order_id));
    } else if (cmd.kind == CommandKind::CancelOrder) {
        s_.order_idx.prefetch(order_fp(cmd.cancel.order_id));
    }
    if (!cmd.command_id.empty()) {
        if (const StoredDecision* sd = s_.cmd_dedup.find_fp(cfp)) {
            ++s_.stats.duplicates;
            emit(cmd, *sd, out);  // same decision again, no state change
            return HandleStatus::Duplicate;
        }
    }
    if (cmd.sequence != 0 && cmd.sequence <= s_.last_sequence) {
        ++s_.stats.stale;
        return HandleStatus::Stale;
    }
    StoredDecision sd;
    sd.kind = cmd.kind;
    sd.result = DecisionResult::Accepted;
    HandleStatus st;
    if (forced_ && cmd.kind != CommandKind::None) {
        if (cmd.kind == CommandKind::NewOrder && forced_->result == DecisionResult::Accepted) {
            const bool was = replay_;
            replay_ = true;  // restore the order without re-running the checks
            st = on_new(cmd, out, sd, ofp, clfp, instr);
            replay_ = was;
        } else {
            st = HandleStatus::Ok;
        }
        sd.result = forced_->result;
        sd.reason = forced_->reason;
        copy_text(sd.text, forced_->text);
    } else switch (cmd.kind) {
        case CommandKind::NewOrder: st = on_new(cmd, out, sd, ofp, clfp, instr); break;
        case CommandKind::CancelOrder: st = on_cancel(cmd, out, sd); break;
        case CommandKind::AmendOrder: st = on_amend(cmd, out, sd); break;
        case CommandKind::CancelAll: st = on_cancel_all(cmd, out, sd); break;
        default:
            set_reject(sd, RejectReason::InvalidRequest);
            sd.text.put("empty command");
            st = HandleStatus::Invalid;
            break;
    }
    if (sd.result == DecisionResult::Accepted) ++s_.stats.accepted; else ++s_.stats.rejected;
    if (cmd.sequence != 0) s_.last_sequence = cmd.sequence;
    if (!cmd.command_id.empty()) {
        StoredDecision* slot = s_.cmd_dedup.put_slot(cfp);  // used bytes only: see RejectText
        slot->result = sd.result;
        slot->reason = sd.reason;
        slot->kind = sd.kind;
        copy_text(slot->text, sd.text);
    }
    emit(cmd, sd, out);
    return st;
}

void Engine::emit(const OrderCommandMsg& cmd, const StoredDecision& sd, OutputBuffer& out) {
    Output* o = out.next();
    if (!o) return;
    o->kind = OutputKind::Decision;
    Decision& d = o->decision;
    d.command_id = cmd.command_id;
    d.result = sd.result;
    d.reason = sd.reason;
    copy_text(d.text, sd.text);
    d.command_sequence = cmd.sequence;
    switch (cmd.kind) {
        case CommandKind::NewOrder:
            d.order_id = cmd.new_order.order_id; d.account = cmd.new_order.account;
            d.instrument = cmd.new_order.instrument; d.ts_ns = cmd.new_order.ts_ns; break;
        case CommandKind::CancelOrder:
            d.order_id = cmd.cancel.order_id; d.account = cmd.cancel.account;
            d.instrument = cmd.cancel.instrument; d.ts_ns = cmd.cancel.ts_ns; break;
        case CommandKind::AmendOrder:
            d.order_id = cmd.amend.order_id; d.account = cmd.amend.account;
            d.instrument = cmd.amend.instrument; d.ts_ns = cmd.amend.ts_ns; break;
        case CommandKind::CancelAll:
            d.order_id.clear(); d.account = cmd.cancel_all.account;
            d.instrument.exchange = cmd.cancel_all.exchange; d.instrument.market = cmd.cancel_all.market;
            d.instrument.symbol = cmd.cancel_all.symbol; d.ts_ns = cmd.cancel_all.ts_ns; break;
        default:
            d.order_id.clear(); d.account.clear(); d.instrument = InstrumentId{}; d.ts_ns = 0; break;
    }
    if (cmd.kind == CommandKind::None) return;
    if (sd.result == DecisionResult::Accepted) {
        if (Output* f = out.next()) { f->kind = OutputKind::ForwardCommand; copy_command(f->cmd, cmd); }
    } else if (cmd.kind == CommandKind::NewOrder) {
        if (Output* f = out.next()) { f->kind = OutputKind::OrderRejected; f->decision = d; copy_command(f->cmd, cmd); }
    }
}

HandleStatus Engine::on_new(const OrderCommandMsg& cmd, OutputBuffer&, StoredDecision& sd, std::uint64_t ofp,
                            std::uint64_t cfp, std::uint32_t instr) {
    const NewOrderMsg& m = cmd.new_order;
    RejectText& t = sd.text;
    auto reject = [&](RejectReason r) { set_reject(sd, r); return HandleStatus::Ok; };

    if (m.order_id.empty() || m.account.empty()) { t.put("missing order_id or account"); return reject(RejectReason::InvalidRequest); }
    if (m.side != Side::Buy && m.side != Side::Sell) { t.put("invalid side"); return reject(RejectReason::InvalidRequest); }
    if (m.type == OrderType::Unspecified || static_cast<std::uint8_t>(m.type) > 7) { t.put("invalid order type"); return reject(RejectReason::InvalidRequest); }
    const bool limit_px = has_limit_price(m.type);
    if (limit_px && (!m.has_price || m.price.mantissa <= 0)) { t.put("limit order without a positive price"); return reject(RejectReason::InvalidRequest); }
    const bool by_quote = !limit_px && m.has_quote_quantity && m.quantity.mantissa == 0;
    if (!by_quote && m.quantity.mantissa <= 0) { t.put("quantity must be > 0"); return reject(RejectReason::InvalidRequest); }
    if (by_quote && m.quote_quantity.mantissa <= 0) { t.put("quote quantity must be > 0"); return reject(RejectReason::InvalidRequest); }

    if (instr == InstrumentRegistry::kNotFound) {
        t.put("unknown instrument ").put(m.instrument.exchange.view()).put(".").put(m.instrument.market.view())
            .put(".").put(m.instrument.symbol.view());
        return reject(RejectReason::UnknownInstrument);
    }
    const std::uint16_t acct = intern_account(m.account);
    if (acct == kNoAccount) { ++s_.stats.table_full; t.put("account table full"); return reject(RejectReason::InvalidRequest); }
    // A fingerprint already in an index is a duplicate when the stored ids
    // match and a (~2^-64) fingerprint collision otherwise; both reject, so an
    // index never holds two orders under one fingerprint.
    if (s_.order_idx.find(ofp)) {
        if (find_order(m.order_id, ofp) != kNoIndex) t.put("duplicate order_id ").put(m.order_id.view());
        else t.put("order_id fingerprint collision ").put(m.order_id.view());
        return reject(RejectReason::InvalidRequest);
    }
    if (!m.client_order_id.empty() && s_.clord_idx.find(cfp)) {
        if (find_clord(acct, m.client_order_id, cfp) != kNoIndex) {
            t.put("duplicate client_order_id ").put(m.client_order_id.view());
            return reject(RejectReason::DuplicateClientOrderId);
        }
        t.put("client_order_id fingerprint collision ").put(m.client_order_id.view());
        return reject(RejectReason::InvalidRequest);
    }
    const InstrumentSpec& spec = s_.instruments[instr];
    const InstrumentState& is = s_.inst_state[instr];

    OrderView o;
    o.side = m.side;
    o.type = m.type;
    o.reduce_only = m.reduce_only;
    o.ts_ns = m.ts_ns;
    if (!by_quote && !from_decimal(m.quantity, spec.qty_scale, o.qty)) {
        t.put("qty ").num(m.quantity.mantissa, m.quantity.scale, 0).put(" finer than lot precision ").integer(spec.qty_scale).put(" dp");
        return reject(RejectReason::LotSize);
    }
    if (limit_px) {
        if (!from_decimal(m.price, spec.price_scale, o.price)) {
            t.put("price ").num(m.price.mantissa, m.price.scale, 0).put(" finer than tick precision ").integer(spec.price_scale).put(" dp");
            return reject(RejectReason::TickSize);
        }
        o.has_price = true;
    }
    const bool fresh = reference_fresh(is.ref, m.ts_ns, s_.limits.reference_max_age_ns);
    std::int64_t notional_px = 0;
    if (limit_px) {
        notional_px = o.price;
        if (!notional(o.price, spec.price_scale, o.qty, spec.qty_scale, o.notional)) {
            t.put("notional overflow");
            return reject(RejectReason::MaxOrderNotional);
        }
    } else {
        // Market-type orders are valued at the reference price.
        if (!fresh && !s_.limits.allow_missing_reference && !replay_) {
            t.put("no fresh reference price for market order");
            return reject(RejectReason::NoReferencePrice);
        }
        if (fresh) notional_px = is.ref.price;
        if (by_quote) {
            if (!rescale(m.quote_quantity.mantissa, m.quote_quantity.scale, kQuoteScale, o.notional, Rounding::TowardZero)) {
                t.put("quote quantity out of range");
                return reject(RejectReason::InvalidRequest);
            }
            o.qty_estimated = true;
            if (fresh) {
                // qty = notional / ref, at qty_scale.
                __int128 num = static_cast<__int128>(o.notional) * kPow10[spec.qty_scale] * kPow10[spec.price_scale];
                __int128 q = num / (static_cast<__int128>(is.ref.price) * kPow10[kQuoteScale]);
                o.qty = fits_int64(q) ? static_cast<std::int64_t>(q) : INT64_MAX;
            }
        } else if (fresh) {
            o.notional = notional_sat(is.ref.price, spec.price_scale, o.qty, spec.qty_scale);
        }
    }

    const std::uint32_t slot = slot_for(acct, instr);
    if (slot == kNoIndex) { ++s_.stats.table_full; t.put("position table full"); return reject(RejectReason::InvalidRequest); }

    RejectReason r = replay_ ? RejectReason::None : check_order(acct, instr, slot, o, false, t);
    if (r != RejectReason::None) return reject(r);

    const std::uint32_t idx = s_.orders.acquire();
    if (idx == kNoIndex) { ++s_.stats.table_full; t.put("engine order table full"); return reject(RejectReason::MaxOpenOrders); }
    OrderRecord& rec = s_.orders[idx];
    rec.order_id = m.order_id;
    rec.client_order_id = m.client_order_id;
    rec.account = acct;
    rec.instrument = instr;
    rec.slot = slot;
    rec.side = m.side;
    rec.type = m.type;
    rec.reduce_only = m.reduce_only;
    rec.qty = o.qty;
    rec.price = o.price;
    rec.notional_px = notional_px;
    rec.created_ns = rec.updated_ns = m.ts_ns;
    rec.order_key = ofp;
    rec.clord_key = cfp;
    transition(rec.status, OrderStatus::PendingNew);
    s_.order_idx.insert(ofp, idx);
    if (!rec.client_order_id.empty()) s_.clord_idx.insert(cfp, idx);
    if (is.futures) reserve_futures(rec, o);  // + its initial margin (also in replay: held then, held again)
    else reserve(rec);
    return HandleStatus::Ok;
}

HandleStatus Engine::on_cancel(const OrderCommandMsg& cmd, OutputBuffer&, StoredDecision& sd) {
    const CancelOrderMsg& m = cmd.cancel;
    std::uint32_t idx = m.order_id.empty() ? kNoIndex : find_order(m.order_id, order_fp(m.order_id));
    if (idx == kNoIndex && !m.client_order_id.empty()) {
        std::uint16_t acct = find_account(m.account.view());
        if (acct != kNoAccount) idx = find_clord(acct, m.client_order_id, clord_fp(m.account, m.client_order_id));
    }
    if (idx == kNoIndex) {
        set_reject(sd, RejectReason::UnknownOrder);
        sd.text.put("unknown order ").put(m.order_id.empty() ? m.client_order_id.view() : m.order_id.view());
        return HandleStatus::UnknownOrder;
    }
    // Cancels always pass: kill switches and HALTED must never block them.
    return HandleStatus::Ok;
}

HandleStatus Engine::on_amend(const OrderCommandMsg& cmd, OutputBuffer&, StoredDecision& sd) {
    const AmendOrderMsg& m = cmd.amend;
    RejectText& t = sd.text;
    const std::uint32_t pidx = find_order(m.order_id, order_fp(m.order_id));
    if (pidx == kNoIndex) {
        set_reject(sd, RejectReason::UnknownOrder);
        t.put("unknown order ").put(m.order_id.view());
        return HandleStatus::UnknownOrder;
    }
    OrderRecord& rec = s_.orders[pidx];
    if (rec.status != OrderStatus::Accepted && rec.status != OrderStatus::PartiallyFilled) {
        set_reject(sd, RejectReason::InvalidRequest);
        t.put("order in status ").put(to_string(rec.status)).put(" cannot be amended");
        return HandleStatus::Ok;
    }
    const InstrumentSpec& spec = s_.instruments[rec.instrument];
    std::int64_t new_qty = rec.qty, new_px = rec.price;
    if (m.has_new_quantity && !from_decimal(m.new_quantity, spec.qty_scale, new_qty)) {
        set_reject(sd, RejectReason::LotSize);
        t.put("qty finer than lot precision");
        return HandleStatus::Ok;
    }
    if (m.has_new_price) {
        if (!has_limit_price(rec.type) || !from_decimal(m.new_price, spec.price_scale, new_px) || new_px <= 0) {
            set_reject(sd, RejectReason::TickSize);
            t.put("invalid new price");
            return HandleStatus::Ok;
        }
    }
    if (new_qty <= rec.filled) {
        set_reject(sd, RejectReason::InvalidRequest);
        t.put("new qty ").num(new_qty, spec.qty_scale, spec.qty_scale).put(" <= filled ").num(rec.filled, spec.qty_scale, spec.qty_scale);
        return HandleStatus::Ok;
    }
    OrderView o;
    o.side = rec.side;
    o.type = rec.type;
    o.reduce_only = rec.reduce_only;
    o.ts_ns = m.ts_ns;
    o.qty = new_qty - rec.filled;
    o.price = new_px;
    o.has_price = has_limit_price(rec.type);
    std::int64_t npx = o.has_price ? new_px : rec.notional_px;
    o.notional = npx > 0 ? notional_sat(npx, spec.price_scale, o.qty, spec.qty_scale) : -1;

    // Evaluate as if the old reservation (and the margin it holds) were
    // gone, then put back whichever wins.
    const bool held = rec.margin_lev && drop_margin(rec);
    release(rec);
    RejectReason r = check_order(rec.account, rec.instrument, rec.slot, o, true, t);
    if (r != RejectReason::None) {
        reserve(rec);
        if (held) hold_margin(rec);
        set_reject(sd, r);
        return HandleStatus::Ok;
    }
    rec.prev_qty = rec.qty;
    rec.prev_price = rec.price;
    rec.before_pending = rec.status;
    transition(rec.status, OrderStatus::PendingReplace);
    rec.qty = new_qty;
    rec.price = new_px;
    rec.notional_px = npx;
    rec.updated_ns = m.ts_ns;
    // The new terms hold their margin in the current epoch. For an order from
    // an older epoch the venue's figure still has its old margin: counted
    // twice until the next balance update (conservative).
    if (s_.inst_state[rec.instrument].futures) reserve_futures(rec, o);
    else reserve(rec);
    return HandleStatus::Ok;
}

HandleStatus Engine::on_cancel_all(const OrderCommandMsg&, OutputBuffer&, StoredDecision&) {
    return HandleStatus::Ok;  // always forwarded
}

// ----------------------------------------------------------------- fills ----

HandleStatus Engine::handle(const FillMsg& f, OutputBuffer&) {
    const std::uint32_t oidx = f.order_id.empty() ? kNoIndex : find_order(f.order_id, order_fp(f.order_id));
    OrderRecord* rec = oidx != kNoIndex ? &s_.orders[oidx] : nullptr;
    std::uint32_t instr = rec ? rec->instrument : s_.instruments.find(f.instrument);
    if (instr == InstrumentRegistry::kNotFound) { ++s_.stats.unknown_orders; return HandleStatus::UnknownOrder; }
    FillKey key{instr, f.trade_id};
    if (!f.trade_id.empty() && s_.fill_dedup.find(key)) { ++s_.stats.fill_duplicates; return HandleStatus::Duplicate; }
    const InstrumentSpec& spec = s_.instruments[instr];
    std::int64_t qty, px;
    if (!rescale(f.quantity.mantissa, f.quantity.scale, spec.qty_scale, qty, Rounding::TowardZero) ||
        !rescale(f.price.mantissa, f.price.scale, spec.price_scale, px, Rounding::TowardZero) || qty <= 0 || px < 0)
        return HandleStatus::Invalid;
    std::uint16_t acct = rec ? rec->account : intern_account(f.account);
    if (acct == kNoAccount) { ++s_.stats.table_full; return HandleStatus::Full; }
    std::uint32_t slot = rec ? rec->slot : slot_for(acct, instr);
    if (slot == kNoIndex) { ++s_.stats.table_full; return HandleStatus::Full; }
    SlotState& s = s_.slots[slot];
    Side side = f.side != Side::Unspecified ? f.side : (rec ? rec->side : Side::Unspecified);
    if (side == Side::Unspecified) return HandleStatus::Invalid;
    ++s_.stats.fills;

    if (rec) {
        // Consume the order's reservation (pro-rata notional) so the
        // worst-case exposure never counts a quantity twice.
        std::int64_t dq = qty < rec->reserved_qty ? qty : rec->reserved_qty;
        if (dq > 0) {
            std::int64_t dn = static_cast<std::int64_t>(static_cast<__int128>(rec->reserved_notional) * dq / rec->reserved_qty);
            if (rec->side == Side::Buy) { s.e.open_buy_qty -= dq; s.e.open_buy_notional -= dn; }
            else { s.e.open_sell_qty -= dq; s.e.open_sell_notional -= dn; }
            rec->reserved_qty -= dq;
            rec->reserved_notional -= dn;
            if (rec->reduce_only) track_reduce_only(*rec, -dq);
        }
        rec->filled += qty;
        rec->updated_ns = f.ts_event_ns;
    }
    std::int64_t fee = 0;
    if (f.commission.mantissa != 0) {
        if (!f.commission_asset.empty() && f.commission_asset == spec.quote_asset)
            rescale(f.commission.mantissa, f.commission.scale, kQuoteScale, fee, Rounding::TowardZero);
        else if (!f.commission_asset.empty() && f.commission_asset == spec.base_asset && f.commission.scale >= 0 &&
                 f.commission.scale <= kMaxScale)
            fee = notional_sat(px, spec.price_scale, f.commission.mantissa, f.commission.scale);
        // Other assets (e.g. BNB) need FX: not converted, P&L excludes them.
    }
    const std::int64_t fill_ts = f.ts_event_ns ? f.ts_event_ns : f.ts_init_ns;
    if (fill_ts > s.last_fill_ns) s.last_fill_ns = fill_ts;
    const std::int64_t signed_qty = side == Side::Buy ? qty : -qty;
    const std::int64_t pnl = apply_fill(s.e.pos, signed_qty, px, spec.price_scale, spec.qty_scale, fee);
    if (s_.inst_state[instr].futures) futures_fill(s, rec, side, qty);
    AccountState& a = s_.accounts[acct];
    roll_day(a, f.ts_event_ns ? f.ts_event_ns : f.ts_init_ns);
    a.daily_net = sat_add(a.daily_net, pnl - fee);
    recontrib(s);
    if (!f.trade_id.empty()) s_.fill_dedup.put(key, 1);
    return HandleStatus::Ok;
}

// ---------------------------------------------------------------- events ----

HandleStatus Engine::handle(const OrderEventMsg& ev, OutputBuffer&) {
    const Fp128 efp = s_.event_dedup.fingerprint(ev.event_id);
    const std::uint64_t ofp = order_fp(ev.order_id);
    s_.event_dedup.prefetch(efp);
    s_.event_dedup.prefetch_eviction();
    s_.order_idx.prefetch(ofp);
    if (!ev.event_id.empty() && s_.event_dedup.find_fp(efp)) { ++s_.stats.event_duplicates; return HandleStatus::Duplicate; }
    ++s_.stats.events;
    const std::uint32_t idx = find_order(ev.order_id, ofp);
    if (idx == kNoIndex) {
        ++s_.stats.unknown_orders;
        if (!ev.event_id.empty()) s_.event_dedup.put_fp(efp, 1);
        return HandleStatus::UnknownOrder;
    }
    OrderRecord& rec = s_.orders[idx];
    auto fallback = [&]() {
        if (ev.status != OrderStatus::Unspecified && ev.status != OrderStatus::PendingCancel &&
            ev.status != OrderStatus::PendingReplace)
            return ev.status;
        return rec.before_pending != OrderStatus::Unspecified ? rec.before_pending : OrderStatus::Accepted;
    };
    OrderStatus target;
    switch (ev.type) {
        case OrderEventType::PendingNew: target = OrderStatus::PendingNew; break;
        case OrderEventType::Accepted: target = OrderStatus::Accepted; break;
        case OrderEventType::Rejected: target = OrderStatus::Rejected; break;
        case OrderEventType::PartiallyFilled: target = OrderStatus::PartiallyFilled; break;
        case OrderEventType::Filled: target = OrderStatus::Filled; break;
        case OrderEventType::Canceled: target = OrderStatus::Canceled; break;
        case OrderEventType::Expired: target = OrderStatus::Expired; break;
        case OrderEventType::PendingCancel: target = OrderStatus::PendingCancel; break;
        case OrderEventType::CancelRejected:
        case OrderEventType::Amended:
        case OrderEventType::AmendRejected: target = fallback(); break;
        default: return HandleStatus::Invalid;
    }
    const OrderStatus from = rec.status;
    if (target != from || target == OrderStatus::PartiallyFilled) {
        if (transition(rec.status, target) != TransitionError::Ok) {
            ++s_.stats.illegal_transitions;
            return HandleStatus::IllegalTransition;  // state untouched; event not remembered
        }
    }
    if (target == OrderStatus::PendingCancel && from != OrderStatus::PendingCancel) rec.before_pending = from;
    rec.updated_ns = ev.ts_event_ns;
    if (!ev.event_id.empty()) s_.event_dedup.put_fp(efp, 1);

    if (is_terminal(rec.status)) { retire(idx); return HandleStatus::Ok; }

    // The venue's answer to an amend: back to the previous terms, or the terms
    // it reports. Margin held in this epoch follows the terms; margin of an
    // older epoch is in the venue's figure (which already saw the answer or
    // will show it).
    const bool amend_rejected = ev.type == OrderEventType::AmendRejected && from == OrderStatus::PendingReplace;
    if (amend_rejected || (ev.type == OrderEventType::Amended && (ev.has_quantity || ev.has_price))) {
        std::int64_t q = rec.prev_qty, p = rec.prev_price;
        if (!amend_rejected) {
            const InstrumentSpec& spec = s_.instruments[rec.instrument];
            q = rec.qty;
            p = rec.price;
            if (ev.has_quantity) rescale(ev.quantity.mantissa, ev.quantity.scale, spec.qty_scale, q, Rounding::TowardZero);
            if (ev.has_price) rescale(ev.price.mantissa, ev.price.scale, spec.price_scale, p, Rounding::TowardZero);
        }
        const bool held = rec.margin_lev && drop_margin(rec);
        release(rec);
        rec.qty = q;
        rec.price = p;
        if (has_limit_price(rec.type)) rec.notional_px = p;
        reserve(rec);
        if (held) hold_margin(rec);
    }
    return HandleStatus::Ok;
}

// ----------------------------------------------------------- market data ----

HandleStatus Engine::handle(const TopOfBookMsg& tob) {
    const std::uint32_t instr = s_.instruments.find(tob.instrument);
    if (instr == InstrumentRegistry::kNotFound) return HandleStatus::Invalid;
    Reference& ref = s_.inst_state[instr].ref;
    if (tob.ts_event_ns < ref.ts_ns) return HandleStatus::Stale;  // out of order: keep the newer
    std::int64_t mid;
    if (tob.bid_price > 0 && tob.ask_price > 0) mid = tob.bid_price + (tob.ask_price - tob.bid_price) / 2;
    else if (tob.bid_price > 0) mid = tob.bid_price;
    else if (tob.ask_price > 0) mid = tob.ask_price;
    else return HandleStatus::Invalid;
    std::int64_t px;
    if (!rescale(mid, tob.price_scale, s_.instruments[instr].price_scale, px, Rounding::TowardZero) || px <= 0)
        return HandleStatus::Invalid;
    ref.price = px;
    ref.ts_ns = tob.ts_event_ns;
    ++s_.stats.md_updates;
    return HandleStatus::Ok;
}

// ------------------------------------------------------ venue positions ----

HandleStatus Engine::handle(const AccountUpdateMsg& u, OutputBuffer& out) {
    if (u.account.empty()) return HandleStatus::Invalid;
    const std::uint16_t acct = intern_account(u.account);
    if (acct == kNoAccount) { ++s_.stats.table_full; return HandleStatus::Full; }
    HandleStatus st = HandleStatus::Ok;
    for (std::uint16_t k = 0; k < u.n_positions; ++k) {
        const PositionEntry& p = u.positions[k];
        const std::uint32_t instr = s_.instruments.find(p.instrument);
        if (instr == InstrumentRegistry::kNotFound) { ++s_.stats.positions_unknown; continue; }
        const InstrumentSpec& spec = s_.instruments[instr];
        std::int64_t q;
        if (!rescale(p.quantity.mantissa, p.quantity.scale, spec.qty_scale, q, Rounding::TowardZero)) {
            st = HandleStatus::Invalid;
            continue;
        }
        const std::uint32_t slot = slot_for(acct, instr);
        if (slot == kNoIndex) { ++s_.stats.table_full; st = HandleStatus::Full; continue; }
        SlotState& s = s_.slots[slot];
        const std::int64_t ts = p.ts_ns ? p.ts_ns : u.ts_event_ns;
        // Leverage is a setting, not a quantity: the latest report holds even
        // when the position part is older than a fill applied since.
        if (p.leverage > 0 && s_.inst_state[instr].futures) s.fut.leverage = p.leverage;
        // Older than a fill or report already applied: the engine knows better.
        if (ts < s.last_fill_ns || ts < s.venue_pos_ns) { ++s_.stats.positions_stale; continue; }
        s.venue_pos_ns = ts;
        ++s_.stats.positions_applied;
        if (s_.inst_state[instr].futures) futures_position(s, p, spec);
        Position& pos = s.e.pos;
        if (q == pos.qty) continue;
        std::int64_t cost = 0;
        std::int64_t px = 0;
        if (p.has_entry_price &&
            rescale(p.entry_price.mantissa, p.entry_price.scale, spec.price_scale, px, Rounding::TowardZero) && px > 0) {
            cost = notional_sat(px, spec.price_scale, q, spec.qty_scale);
        } else if (pos.qty != 0 && q != 0 && (pos.qty > 0) == (q > 0)) {
            const __int128 c = static_cast<__int128>(pos.cost) * q / pos.qty;  // same average entry
            cost = fits_int64(c) ? static_cast<std::int64_t>(c) : (q > 0 ? INT64_MAX : INT64_MIN);
        } else {
            px = 0;
            if (!(p.has_mark_price &&
                  rescale(p.mark_price.mantissa, p.mark_price.scale, spec.price_scale, px, Rounding::TowardZero)))
                px = 0;
            if (px <= 0) px = s_.inst_state[instr].ref.price;
            cost = px > 0 ? notional_sat(px, spec.price_scale, q, spec.qty_scale) : 0;
        }
        pos.qty = q;
        pos.cost = q == 0 ? 0 : cost;
        recontrib(s);
    }
    if (is_futures_market(u.market.view())) apply_futures_update(acct, u, out);
    return st;
}

// ---------------------------------------------------------- risk control ----

HandleStatus Engine::handle(const RiskControlMsg& rc, OutputBuffer& out) {
    auto upsert_rule = [&](bool kill, const AccountName& acct, const Str16& ex, const Str16& mkt, const Str32& sym,
                           bool on, TradingState st) -> bool {
        ScopeRule* free_slot = nullptr;
        for (std::uint32_t i = 0; i < kMaxScopeRules; ++i) {
            ScopeRule& r = s_.rules[i];
            if (!r.used) { if (!free_slot) free_slot = &r; continue; }
            if (r.kill == kill && r.account == acct && r.exchange == ex && r.market == mkt && r.symbol == sym) {
                if (on) r.state = st; else r = ScopeRule{};
                return true;
            }
        }
        if (!on) return true;
        if (!free_slot) return false;
        *free_slot = ScopeRule{true, kill, st, acct, ex, mkt, sym};
        // Scan bound for the per-order matching loop: highest used slot + 1.
        auto pos = static_cast<std::uint32_t>(free_slot - s_.rules) + 1;
        if (pos > s_.n_rules) s_.n_rules = pos;
        return true;
    };

    if (rc.kind == RiskControlKind::KillSwitch) {
        const KillSwitchMsg& k = rc.kill;
        AccountName no_acct;
        switch (k.scope) {
            case KillScope::Global: s_.global_kill = k.engaged; break;
            case KillScope::Account: {
                if (k.account.empty()) return HandleStatus::Invalid;
                std::uint16_t a = intern_account(k.account);
                if (a == kNoAccount) return HandleStatus::Full;
                s_.accounts[a].killed = k.engaged;
                break;
            }
            case KillScope::Venue:
                if (k.exchange.empty()) return HandleStatus::Invalid;
                if (!upsert_rule(true, k.account, k.exchange, k.market, Str32{}, k.engaged, TradingState::Halted))
                    return HandleStatus::Full;
                break;
            case KillScope::Symbol: {
                if (k.symbol.empty()) return HandleStatus::Invalid;
                std::uint32_t i = k.account.empty() && !k.exchange.empty() && !k.market.empty()
                                      ? s_.instruments.find(k.exchange.view(), k.market.view(), k.symbol.view())
                                      : InstrumentRegistry::kNotFound;
                if (i != InstrumentRegistry::kNotFound) s_.inst_state[i].killed = k.engaged;
                else if (!upsert_rule(true, k.account, k.exchange, k.market, k.symbol, k.engaged, TradingState::Halted))
                    return HandleStatus::Full;
                break;
            }
            default: return HandleStatus::Invalid;
        }
        if (k.engaged) {
            // Engaging a kill switch also pulls every live order in scope.
            if (Output* o = out.next()) {
                o->kind = OutputKind::KillCancelAll;
                o->cmd.command_id = k.command_id;
                o->cmd.sequence = 0;
                o->cmd.kind = CommandKind::CancelAll;
                o->cmd.wire_lossless = false;  // built here, no input bytes
                CancelAllMsg& c = o->cmd.cancel_all;
                c.account = k.scope == KillScope::Global ? AccountName{} : k.account;
                c.exchange = (k.scope == KillScope::Venue || k.scope == KillScope::Symbol) ? k.exchange : Str16{};
                c.market = (k.scope == KillScope::Venue || k.scope == KillScope::Symbol) ? k.market : Str16{};
                c.symbol = k.scope == KillScope::Symbol ? k.symbol : Str32{};
                RejectText tmp; tmp.put("kill switch: ").put(k.reason.view());
                c.reason.assign(tmp.view());
                c.ts_ns = k.ts_ns;
            }
        }
        return HandleStatus::Ok;
    }
    if (rc.kind == RiskControlKind::SetTradingState) {
        const SetTradingStateMsg& m = rc.state;
        if (m.state == TradingState::Unspecified || static_cast<std::uint8_t>(m.state) > 3) return HandleStatus::Invalid;
        const InstrumentId& id = m.instrument;
        const bool no_instr = id.exchange.empty() && id.market.empty() && id.symbol.empty();
        if (!m.account.empty() && no_instr) {
            std::uint16_t a = intern_account(m.account);
            if (a == kNoAccount) return HandleStatus::Full;
            s_.accounts[a].state = m.state;
            return HandleStatus::Ok;
        }
        if (m.account.empty() && !id.exchange.empty() && !id.market.empty() && !id.symbol.empty()) {
            std::uint32_t i = s_.instruments.find(id);
            if (i != InstrumentRegistry::kNotFound) { s_.inst_state[i].state = m.state; return HandleStatus::Ok; }
        }
        if (no_instr) return HandleStatus::Invalid;
        // Venue (exchange[+market]), bare symbol, or account+instrument: a rule.
        const bool on = m.state != TradingState::Active;
        if (!upsert_rule(false, m.account, id.exchange, id.market, id.symbol, on, m.state)) return HandleStatus::Full;
        return HandleStatus::Ok;
    }
    return HandleStatus::Invalid;
}

// --------------------------------------------------------------- queries ----

const Position* Engine::position(std::string_view account, const InstrumentId& id) const {
    std::uint16_t a = find_account(account);
    std::uint32_t i = s_.instruments.find(id);
    if (a == kNoAccount || i == InstrumentRegistry::kNotFound) return nullptr;
    const std::uint32_t* slot = s_.slot_idx.find((static_cast<std::uint64_t>(a) << 32) | i);
    return slot ? &s_.slots[*slot].e.pos : nullptr;
}

const OrderRecord* Engine::order(std::string_view order_id) const {
    OrderId k;
    if (!k.assign(order_id)) return nullptr;
    const std::uint32_t i = find_order(k, order_fp(k));
    return i != kNoIndex ? &s_.orders[i] : nullptr;
}

std::int64_t Engine::open_orders(std::string_view account) const {
    std::uint16_t a = find_account(account);
    return a == kNoAccount ? 0 : s_.accounts[a].open_orders;
}

const AccountState* Engine::account(std::string_view account) const {
    std::uint16_t a = find_account(account);
    return a == kNoAccount ? nullptr : &s_.accounts[a];
}

// -------------------------------------------------------------- snapshot ----

std::size_t Engine::snapshot_size() { return sizeof(SnapshotHeader) + sizeof(State); }

bool Engine::snapshot(void* buf, std::size_t cap) const {
    if (cap < snapshot_size()) return false;
    SnapshotHeader h{kSnapshotMagic, kSnapshotVersion, sizeof(State)};
    std::memcpy(buf, &h, sizeof h);
    std::memcpy(static_cast<char*>(buf) + sizeof h, &s_, sizeof(State));
    return true;
}

bool Engine::restore(const void* buf, std::size_t len) {
    if (len != snapshot_size()) return false;
    SnapshotHeader h;
    std::memcpy(&h, buf, sizeof h);
    if (h.magic != kSnapshotMagic || h.version != kSnapshotVersion || h.state_size != sizeof(State)) return false;
    std::memcpy(static_cast<void*>(&s_), static_cast<const char*>(buf) + sizeof h, sizeof(State));
    return true;
}

}  // namespace oms::engine
