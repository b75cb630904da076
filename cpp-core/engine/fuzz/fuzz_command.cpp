// libFuzzer target: arbitrary bytes -> OrderCommand decode -> Engine::handle
// -> encode of every output. Also feeds the same bytes as Fill / OrderEvent /
// RiskControl / TopOfBook so every decoder and handler sees hostile input.
// Build: cmake -DOMS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
#include <cstddef>
#include <cstdint>
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
    if (ctx.codec.decode_command(data, size, ++seq, cmd)) {
        ctx.engine->handle(cmd, out);
        for (std::size_t i = 0; i < out.count; ++i) ctx.codec.encode(out.items[i], 0, 0, out_buf, sizeof out_buf);
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
