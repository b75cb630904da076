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
