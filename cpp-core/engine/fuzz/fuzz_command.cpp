// libFuzzer target: arbitrary bytes -> OrderCommand decode -> Engine::handle
// -> encode of every output. Also feeds the same bytes as Fill / OrderEvent /
// RiskControl / TopOfBook so every decoder and handler sees hostile input.
// Build: cmake -DOMS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "oms/engine/codec.hpp"
#include "oms/engine/engine.hpp"

using namespace oms::engine;

namespace {
struct Ctx {
    std::unique_ptr<Engine> engine = std::make_unique<Engine>();
    Codec codec{64 * 1024};
    Ctx() {
        InstrumentSpec s;
        s.id.exchange.assign("binance"); s.id.market.assign("spot"); s.id.symbol.assign("BTCUSDT");
        s.base_asset.assign("BTC"); s.quote_asset.assign("USDT");
        s.price_scale = 2; s.qty_scale = 5; s.tick_size = 1; s.lot_size = 1; s.min_qty = 1;
        engine->upsert_instrument(s);
        RiskConfig c;
        c.defaults.max_order_qty = "10";
        c.defaults.price_collar_bps = 500;
        c.defaults.max_open_orders = 10000;
        c.defaults.orders_per_second = "1000";
        c.allow_missing_reference = true;
        engine->load_limits(c);
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Ctx ctx;
    static std::uint64_t seq = 0;
    static OrderCommandMsg cmd;
    static FillMsg fill;
    static OrderEventMsg ev;
    static RiskControlMsg rc;
    static TopOfBookMsg tob;
    static std::uint8_t out_buf[4096];
    OutputBuffer out;
    // Differential: the hand-written decoder must agree with protobuf-c.
    {
        static Codec ref{64 * 1024};
        static OrderCommandMsg a, b;
        bool ra = ctx.codec.decode_command(data, size, 1, a);
        bool rb = ref.decode_command_reference(data, size, 1, b);
        bool same = ra == rb;
        if (same && ra) {
            same = a.command_id == b.command_id && a.kind == b.kind;
            if (same && a.kind == CommandKind::NewOrder) {
                const NewOrderMsg &x = a.new_order, &y = b.new_order;
                same = x.order_id == y.order_id && x.client_order_id == y.client_order_id &&
                       x.parent_order_id == y.parent_order_id && x.account == y.account &&
                       x.instrument.exchange == y.instrument.exchange && x.instrument.market == y.instrument.market &&
                       x.instrument.symbol == y.instrument.symbol && x.side == y.side && x.type == y.type &&
                       x.time_in_force == y.time_in_force && x.quantity.mantissa == y.quantity.mantissa &&
                       x.quantity.scale == y.quantity.scale && x.price.mantissa == y.price.mantissa &&
                       x.price.scale == y.price.scale && x.has_price == y.has_price &&
                       x.stop_price.mantissa == y.stop_price.mantissa && x.stop_price.scale == y.stop_price.scale &&
                       x.has_stop_price == y.has_stop_price && x.quote_quantity.mantissa == y.quote_quantity.mantissa &&
                       x.quote_quantity.scale == y.quote_quantity.scale && x.has_quote_quantity == y.has_quote_quantity &&
                       x.reduce_only == y.reduce_only && x.post_only == y.post_only &&
                       x.has_expire_time == y.has_expire_time && x.expire_time_ns == y.expire_time_ns &&
                       x.ts_ns == y.ts_ns && x.routing_strategy == y.routing_strategy &&
                       x.n_allowed_venues == y.n_allowed_venues;
                for (int i = 0; same && i < x.n_allowed_venues; ++i) same = x.allowed_venues[i] == y.allowed_venues[i];
            } else if (same && a.kind == CommandKind::CancelOrder) {
                const CancelOrderMsg &x = a.cancel, &y = b.cancel;
                same = x.order_id == y.order_id && x.client_order_id == y.client_order_id && x.account == y.account &&
                       x.instrument.exchange == y.instrument.exchange && x.instrument.market == y.instrument.market &&
                       x.instrument.symbol == y.instrument.symbol && x.reason == y.reason && x.ts_ns == y.ts_ns;
            } else if (same && a.kind == CommandKind::AmendOrder) {
                const AmendOrderMsg &x = a.amend, &y = b.amend;
                same = x.order_id == y.order_id && x.account == y.account &&
                       x.instrument.exchange == y.instrument.exchange && x.instrument.market == y.instrument.market &&
                       x.instrument.symbol == y.instrument.symbol && x.has_new_quantity == y.has_new_quantity &&
                       x.has_new_price == y.has_new_price && x.new_quantity.mantissa == y.new_quantity.mantissa &&
                       x.new_quantity.scale == y.new_quantity.scale && x.new_price.mantissa == y.new_price.mantissa &&
                       x.new_price.scale == y.new_price.scale && x.ts_ns == y.ts_ns;
            } else if (same && a.kind == CommandKind::CancelAll) {
                const CancelAllMsg &x = a.cancel_all, &y = b.cancel_all;
                same = x.account == y.account && x.exchange == y.exchange && x.market == y.market &&
                       x.symbol == y.symbol && x.reason == y.reason && x.ts_ns == y.ts_ns;
            }
        }
        if (!same) {
            std::fprintf(stderr, "decode_command differs from protobuf-c (fast=%d ref=%d)\n", ra, rb);
            std::abort();
        }
    }
    if (ctx.codec.decode_command(data, size, ++seq, cmd)) {
        ctx.engine->handle(cmd, out);
        for (std::size_t i = 0; i < out.count; ++i) {
            std::size_t n = ctx.codec.encode(out.items[i], 0, 0, out_buf, sizeof out_buf);
            // Direct encoders must be byte-identical to protobuf-c.
            static std::uint8_t ref_buf[4096];
            std::size_t m = 0;
            if (out.items[i].kind == OutputKind::Decision)
                m = ctx.codec.encode_decision_reference(out.items[i].decision, 0, ref_buf, sizeof ref_buf);
            else if (out.items[i].kind == OutputKind::ForwardCommand)
                m = ctx.codec.encode_command_reference(out.items[i].cmd, ref_buf, sizeof ref_buf);
            else
                continue;
            if (n != m || std::memcmp(out_buf, ref_buf, n) != 0) {
                std::fprintf(stderr, "direct encoder differs from protobuf-c (%zu vs %zu bytes)\n", n, m);
                std::abort();
            }
        }
    }
    out.clear();
    if (ctx.codec.decode_fill(data, size, fill)) ctx.engine->handle(fill, out);
    if (ctx.codec.decode_order_event(data, size, ev)) ctx.engine->handle(ev, out);
    if (ctx.codec.decode_top_of_book(data, size, tob)) ctx.engine->handle(tob);
    if (ctx.codec.decode_risk_control(data, size, rc)) {
        out.clear();
        ctx.engine->handle(rc, out);
        for (std::size_t i = 0; i < out.count; ++i) ctx.codec.encode(out.items[i], 0, 0, out_buf, sizeof out_buf);
    }
    return 0;
}
