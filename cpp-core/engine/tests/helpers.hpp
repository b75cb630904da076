#pragma once
#include <memory>
#include <string>
#include "oms/engine/engine.hpp"

namespace oms::engine::test {

// BTCUSDT: price 2dp tick 0.10, qty 5dp lot 0.0001, min qty 0.0001, min notional 5 USDT.
inline InstrumentSpec btc_spec() {
    InstrumentSpec s;
    s.id.exchange.assign("binance"); s.id.market.assign("spot"); s.id.symbol.assign("BTCUSDT");
    s.base_asset.assign("BTC"); s.quote_asset.assign("USDT");
    s.price_scale = 2; s.qty_scale = 5;
    s.tick_size = 10; s.lot_size = 10; s.min_qty = 10; s.max_qty = 0;
    s.min_notional = 5 * kPow10[kQuoteScale];
    return s;
}
inline InstrumentSpec eth_spec() {
    InstrumentSpec s = btc_spec();
    s.id.symbol.assign("ETHUSDT"); s.base_asset.assign("ETH");
    return s;
}
inline InstrumentId btc() { return btc_spec().id; }
// binance.futures.BTCUSDT as in configs/config.yaml: price 1 dp, qty 3 dp.
inline InstrumentSpec fut_spec() {
    InstrumentSpec s = btc_spec();
    s.id.market.assign("futures");
    s.price_scale = 1; s.qty_scale = 3;
    s.tick_size = 1; s.lot_size = 1; s.min_qty = 1;
    return s;
}
inline InstrumentId fut() { return fut_spec().id; }

inline std::unique_ptr<Engine> make_engine(const RiskConfig* cfg = nullptr) {
    auto e = std::make_unique<Engine>();
    e->upsert_instrument(btc_spec());
    e->upsert_instrument(eth_spec());
    if (cfg) { std::string err; if (!e->load_limits(*cfg, &err)) throw std::runtime_error(err); }
    return e;
}

inline std::int64_t T0 = 1'700'000'000'000'000'000LL;  // ns

inline OrderCommandMsg new_order(const std::string& id, Side side, std::int64_t qty_5dp, std::int64_t px_2dp,
                                 std::int64_t ts = T0, const std::string& acct = "acc1",
                                 const InstrumentId& ins = btc()) {
    OrderCommandMsg c;
    c.command_id.assign("cmd-" + id);
    c.kind = CommandKind::NewOrder;
    NewOrderMsg& n = c.new_order;
    n.order_id.assign(id);
    n.client_order_id.assign("cl-" + id);
    n.account.assign(acct);
    n.instrument = ins;
    n.side = side;
    n.type = px_2dp > 0 ? OrderType::Limit : OrderType::Market;
    n.time_in_force = 1;
    n.quantity = Decimal{qty_5dp, 5};
    if (px_2dp > 0) { n.price = Decimal{px_2dp, 2}; n.has_price = true; }
    n.ts_ns = ts;
    return c;
}

inline OrderCommandMsg cancel(const std::string& id, const std::string& cmd_id, std::int64_t ts = T0) {
    OrderCommandMsg c;
    c.command_id.assign(cmd_id);
    c.kind = CommandKind::CancelOrder;
    c.cancel.order_id.assign(id);
    c.cancel.account.assign("acc1");
    c.cancel.instrument = btc();
    c.cancel.ts_ns = ts;
    return c;
}

inline FillMsg fill(const std::string& trade, const std::string& order, Side side, std::int64_t qty_5dp,
                    std::int64_t px_2dp, std::int64_t ts = T0, const std::string& acct = "acc1") {
    FillMsg f;
    f.trade_id.assign(trade);
    f.order_id.assign(order);
    f.account.assign(acct);
    f.instrument = btc();
    f.side = side;
    f.quantity = Decimal{qty_5dp, 5};
    f.price = Decimal{px_2dp, 2};
    f.ts_event_ns = ts;
    return f;
}

inline OrderEventMsg event(const std::string& ev_id, const std::string& order, OrderEventType t) {
    OrderEventMsg e;
    e.event_id.assign(ev_id);
    e.order_id.assign(order);
    e.type = t;
    return e;
}

inline TopOfBookMsg tob(std::int64_t bid_2dp, std::int64_t ask_2dp, std::int64_t ts = T0) {
    TopOfBookMsg t;
    t.instrument = btc();
    t.price_scale = 2;
    t.bid_price = bid_2dp;
    t.ask_price = ask_2dp;
    t.ts_event_ns = ts;
    return t;
}

// Futures, at fut_spec's scales: qty 3 dp, price 1 dp.
inline OrderCommandMsg fut_order(const std::string& id, Side side, std::int64_t qty_3dp, std::int64_t px_1dp,
                                 bool reduce_only = false, const std::string& acct = "acc1", std::int64_t ts = T0) {
    OrderCommandMsg c = new_order(id, side, 0, 0, ts, acct, fut());
    NewOrderMsg& n = c.new_order;
    n.quantity = Decimal{qty_3dp, 3};
    n.type = OrderType::Limit;
    n.price = Decimal{px_1dp, 1};
    n.has_price = true;
    n.reduce_only = reduce_only;
    return c;
}

inline FillMsg fut_fill(const std::string& trade, const std::string& order, Side side, std::int64_t qty_3dp,
                        std::int64_t px_1dp, std::int64_t ts = T0, const std::string& acct = "acc1") {
    FillMsg f = fill(trade, order, side, 0, 0, ts, acct);
    f.instrument = fut();
    f.quantity = Decimal{qty_3dp, 3};
    f.price = Decimal{px_1dp, 1};
    return f;
}

// New quantity (3 dp) for a live futures order.
inline OrderCommandMsg fut_amend(const std::string& order, const std::string& cmd_id, std::int64_t qty_3dp,
                                 std::int64_t ts = T0, const std::string& acct = "acc1") {
    OrderCommandMsg c;
    c.command_id.assign(cmd_id);
    c.kind = CommandKind::AmendOrder;
    c.amend.order_id.assign(order);
    c.amend.account.assign(acct);
    c.amend.instrument = fut();
    c.amend.new_quantity = Decimal{qty_3dp, 3};
    c.amend.has_new_quantity = true;
    c.amend.ts_ns = ts;
    return c;
}

// positions.binance.futures: a one-way position (signed qty, 3 dp) with its
// leverage and margin ratio (8 dp), and the USDT available balance (2 dp).
inline AccountUpdateMsg fut_update(const std::string& id, std::int64_t qty_3dp, std::int32_t lev,
                                   std::int64_t ratio_8dp, std::int64_t avail_2dp, std::int64_t ts,
                                   const std::string& acct = "acc1") {
    AccountUpdateMsg u;
    u.update_id.assign(id);
    u.account.assign(acct);
    u.exchange.assign("binance");
    u.market.assign("futures");
    u.ts_event_ns = ts;
    PositionEntry& p = u.positions[u.n_positions++];
    p.instrument = fut();
    p.quantity = Decimal{qty_3dp, 3};
    p.entry_price = Decimal{600'000, 1};
    p.has_entry_price = qty_3dp != 0;
    p.leverage = lev;
    p.margin_ratio = Decimal{ratio_8dp, 8};
    p.has_margin_ratio = qty_3dp != 0;
    p.ts_ns = ts;
    BalanceEntry& b = u.balances[u.n_balances++];
    b.asset.assign("USDT");
    b.free = Decimal{avail_2dp, 2};
    return u;
}

// Run one command; return the decision output.
inline Decision decide(Engine& e, const OrderCommandMsg& c, OutputBuffer* keep = nullptr) {
    OutputBuffer out;
    e.handle(c, out);
    if (keep) *keep = out;
    for (std::size_t i = 0; i < out.count; ++i)
        if (out.items[i].kind == OutputKind::Decision) return out.items[i].decision;
    return Decision{};
}

}  // namespace oms::engine::test
