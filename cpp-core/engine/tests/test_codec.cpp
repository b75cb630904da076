#include <gtest/gtest.h>
#include <fstream>
#include <iterator>
#include <vector>
#include "helpers.hpp"
#include "oms/engine/codec.hpp"
#include "oms/v1/orders.pb-c.h"
#include "oms/v1/positions.pb-c.h"
#include "oms/v1/risk.pb-c.h"

using namespace oms::engine;
using namespace oms::engine::test;

namespace {
std::vector<std::uint8_t> golden(const char* name) {
    std::ifstream f(std::string(OMS_TESTDATA_DIR) + "/" + name + ".bin", std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST(Codec, DecodesGoldenNewOrder) {
    auto b = golden("command_new_limit");
    ASSERT_FALSE(b.empty());
    Codec c;
    OrderCommandMsg m;
    ASSERT_TRUE(c.decode_command(b.data(), b.size(), 77, m));
    EXPECT_EQ(m.command_id.view(), "cmd-0001");
    EXPECT_EQ(m.sequence, 77u);
    ASSERT_EQ(m.kind, CommandKind::NewOrder);
    EXPECT_EQ(m.new_order.order_id.view(), "O-20261125-000001");
    EXPECT_EQ(m.new_order.account.view(), "acct-main");
    EXPECT_EQ(m.new_order.instrument.symbol.view(), "BTCUSDT");
    EXPECT_EQ(m.new_order.side, Side::Buy);
    EXPECT_EQ(m.new_order.type, OrderType::Limit);
    EXPECT_EQ(m.new_order.quantity.mantissa, 150000);
    EXPECT_EQ(m.new_order.price.mantissa, 6543210);
    EXPECT_TRUE(m.new_order.has_price);
    EXPECT_EQ(m.new_order.routing_strategy, 1);
    EXPECT_EQ(m.new_order.ts_ns, 1764110305123456789LL);
}

TEST(Codec, DecodesGoldenOtherCommandsAndMessages) {
    Codec c;
    for (const char* n : {"command_cancel", "command_amend", "command_cancel_all", "command_new_routed_edge"}) {
        auto b = golden(n);
        OrderCommandMsg m;
        EXPECT_TRUE(c.decode_command(b.data(), b.size(), 0, m)) << n;
        EXPECT_NE(m.kind, CommandKind::None) << n;
    }
    auto fb = golden("fill_taker");
    FillMsg f;
    ASSERT_TRUE(c.decode_fill(fb.data(), fb.size(), f));
    EXPECT_EQ(f.trade_id.view(), "28457");
    EXPECT_EQ(f.side, Side::Sell);
    EXPECT_EQ(f.commission.mantissa, 1625);
    EXPECT_EQ(f.commission_asset.view(), "USDT");
    auto kb = golden("risk_control_kill");
    RiskControlMsg rc;
    ASSERT_TRUE(c.decode_risk_control(kb.data(), kb.size(), rc));
    EXPECT_EQ(rc.kind, RiskControlKind::KillSwitch);
    EXPECT_EQ(rc.kill.scope, KillScope::Venue);
    EXPECT_TRUE(rc.kill.engaged);
    auto sb = golden("risk_control_state");
    ASSERT_TRUE(c.decode_risk_control(sb.data(), sb.size(), rc));
    EXPECT_EQ(rc.kind, RiskControlKind::SetTradingState);
    auto tb = golden("top_of_book");
    TopOfBookMsg t;
    ASSERT_TRUE(c.decode_top_of_book(tb.data(), tb.size(), t));
    EXPECT_EQ(t.price_scale, 1);
    EXPECT_EQ(t.bid_price, 650000);
    for (const char* n : {"order_event_partial_fill", "order_event_rejected", "order_event_lifecycle_min"}) {
        auto eb = golden(n);
        OrderEventMsg e;
        EXPECT_TRUE(c.decode_order_event(eb.data(), eb.size(), e)) << n;
    }
    auto ib = golden("instrument_btcusdt");
    InstrumentSpec spec;
    ASSERT_TRUE(c.decode_instrument(ib.data(), ib.size(), spec));
    EXPECT_EQ(spec.id.symbol.view(), "BTCUSDT");
    auto lb = golden("instrument_list");
    int n = 0;
    EXPECT_TRUE(c.decode_instrument_list(lb.data(), lb.size(), [&](const InstrumentSpec&) { ++n; }));
    EXPECT_GT(n, 0);
}

TEST(Codec, RejectsGarbageAndOversizedFields) {
    Codec c(4096);
    OrderCommandMsg m;
    std::uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f};
    EXPECT_FALSE(c.decode_command(junk, sizeof junk, 0, m));
    // command_id longer than the fixed field: refused, not truncated silently.
    OrderCommandMsg big = new_order("o1", Side::Buy, 100000, 6500000);
    std::uint8_t buf[2048];
    std::size_t n = c.encode_command(big, buf, sizeof buf);
    ASSERT_GT(n, 0u);
    Oms__V1__OrderCommand* pm = oms__v1__order_command__unpack(nullptr, n, buf);
    std::string longid(200, 'x');
    char* own_id = pm->command_id;  // protobuf-c's copy: put back before free_unpacked frees it
    pm->command_id = longid.data();
    std::uint8_t buf2[2048];
    std::size_t n2 = oms__v1__order_command__pack(pm, buf2);
    pm->command_id = own_id;
    oms__v1__order_command__free_unpacked(pm, nullptr);
    EXPECT_FALSE(c.decode_command(buf2, n2, 0, m));
    // Too-small output buffer: 0, no overrun.
    EXPECT_EQ(c.encode_command(big, buf, 10), 0u);
}

TEST(Codec, CommandRoundTrip) {
    Codec c;
    OrderCommandMsg in = new_order("o1", Side::Sell, 123450, 6543210);
    in.new_order.reduce_only = true;
    in.new_order.routing_strategy = 2;
    in.new_order.n_allowed_venues = 2;
    in.new_order.allowed_venues[0].assign("binance.spot");
    in.new_order.allowed_venues[1].assign("okx.spot");
    in.new_order.has_expire_time = true;
    in.new_order.expire_time_ns = 42;
    std::uint8_t buf[2048];
    std::size_t n = c.encode_command(in, buf, sizeof buf);
    OrderCommandMsg out;
    ASSERT_TRUE(c.decode_command(buf, n, 5, out));
    EXPECT_EQ(out.new_order.order_id, in.new_order.order_id);
    EXPECT_EQ(out.new_order.side, Side::Sell);
    EXPECT_EQ(out.new_order.quantity.mantissa, 123450);
    EXPECT_TRUE(out.new_order.reduce_only);
    EXPECT_EQ(out.new_order.n_allowed_venues, 2);
    EXPECT_EQ(out.new_order.allowed_venues[1].view(), "okx.spot");
    EXPECT_EQ(out.new_order.expire_time_ns, 42);
    for (auto kind : {CommandKind::CancelOrder, CommandKind::AmendOrder, CommandKind::CancelAll}) {
        OrderCommandMsg x = cancel("o1", "c1");
        x.kind = kind;
        x.amend.order_id.assign("o1");
        x.amend.has_new_price = true;
        x.amend.new_price = Decimal{100, 2};
        x.cancel_all.symbol.assign("BTCUSDT");
        n = c.encode_command(x, buf, sizeof buf);
        ASSERT_TRUE(c.decode_command(buf, n, 0, out));
        EXPECT_EQ(out.kind, kind);
    }
    EXPECT_EQ(out.cancel_all.symbol.view(), "BTCUSDT");
}

TEST(Codec, EncodesDecisionAndRejectedEvent) {
    RiskConfig cfg;
    cfg.defaults.max_order_qty = "2";
    auto e = make_engine(&cfg);
    OutputBuffer out;
    auto cmd = new_order("o1", Side::Buy, 500000, 6500000);
    cmd.sequence = 9;
    e->handle(cmd, out);
    ASSERT_EQ(out.count, 2u);
    Codec c;
    std::uint8_t buf[2048];
    std::size_t n = c.encode(out.items[0], 1234, 0, buf, sizeof buf);
    ASSERT_GT(n, 0u);
    Oms__V1__RiskDecision* d = oms__v1__risk_decision__unpack(nullptr, n, buf);
    ASSERT_NE(d, nullptr);
    EXPECT_STREQ(d->command_id, "cmd-o1");
    EXPECT_STREQ(d->decision_id, "cmd-o1:decision");
    EXPECT_EQ(d->result, OMS__V1__RISK_DECISION_RESULT__RISK_DECISION_RESULT_REJECTED);
    EXPECT_EQ(d->reason_code, OMS__V1__REJECT_REASON__REJECT_REASON_MAX_ORDER_QTY);
    EXPECT_STREQ(d->reason_text, "qty 5.00000 > max 2.00000");
    EXPECT_EQ(d->command_sequence, 9u);
    EXPECT_EQ(d->check_latency_ns, 1234);
    oms__v1__risk_decision__free_unpacked(d, nullptr);
    n = c.encode(out.items[1], 0, 555, buf, sizeof buf);
    Oms__V1__OrderEvent* ev = oms__v1__order_event__unpack(nullptr, n, buf);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->event_type, OMS__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_REJECTED);
    EXPECT_EQ(ev->order->status, OMS__V1__ORDER_STATUS__ORDER_STATUS_REJECTED);
    EXPECT_EQ(ev->reason_code, OMS__V1__REJECT_REASON__REJECT_REASON_MAX_ORDER_QTY);
    EXPECT_STREQ(ev->order->order_id, "o1");
    EXPECT_STREQ(ev->source, "oms-core");
    EXPECT_EQ(ev->ts_init_ns, 555);
    oms__v1__order_event__free_unpacked(ev, nullptr);
}

TEST(Codec, DecodesAccountUpdatePositions) {
    Oms__V1__InstrumentId id = OMS__V1__INSTRUMENT_ID__INIT;
    id.exchange = const_cast<char*>("binance");
    id.market = const_cast<char*>("futures");
    id.symbol = const_cast<char*>("BTCUSDT");
    Oms__V1__InstrumentId bare = OMS__V1__INSTRUMENT_ID__INIT;  // exchange/market from the update
    bare.symbol = const_cast<char*>("ETHUSDT");
    Oms__V1__Decimal q1 = OMS__V1__DECIMAL__INIT, px1 = OMS__V1__DECIMAL__INIT, q2 = OMS__V1__DECIMAL__INIT;
    q1.mantissa = -1500; q1.scale = 3;
    px1.mantissa = 6500000; px1.scale = 2;
    q2.mantissa = 2; q2.scale = 0;
    Oms__V1__Position p1 = OMS__V1__POSITION__INIT, p2 = OMS__V1__POSITION__INIT;
    p1.instrument = &id; p1.quantity = &q1; p1.average_entry_price = &px1; p1.ts_ns = 42;
    p2.instrument = &bare; p2.quantity = &q2;
    Oms__V1__Position* ps[] = {&p1, &p2};
    Oms__V1__AccountUpdate u = OMS__V1__ACCOUNT_UPDATE__INIT;
    u.update_id = const_cast<char*>("upd-1");
    u.account = const_cast<char*>("acct-main");
    u.exchange = const_cast<char*>("binance");
    u.market = const_cast<char*>("futures");
    u.reason = OMS__V1__ACCOUNT_UPDATE_REASON__ACCOUNT_UPDATE_REASON_SNAPSHOT;
    u.n_positions = 2; u.positions = ps;
    u.ts_event_ns = 77;
    std::vector<std::uint8_t> buf(oms__v1__account_update__get_packed_size(&u));
    oms__v1__account_update__pack(&u, buf.data());
    Codec c;
    AccountUpdateMsg m;
    ASSERT_TRUE(c.decode_account_update(buf.data(), buf.size(), m));
    EXPECT_EQ(m.update_id.view(), "upd-1");
    EXPECT_EQ(m.account.view(), "acct-main");
    EXPECT_EQ(m.reason, 1);
    EXPECT_EQ(m.ts_event_ns, 77);
    ASSERT_EQ(m.n_positions, 2);
    EXPECT_EQ(m.positions[0].instrument.symbol.view(), "BTCUSDT");
    EXPECT_EQ(m.positions[0].quantity.mantissa, -1500);
    EXPECT_EQ(m.positions[0].quantity.scale, 3);
    EXPECT_TRUE(m.positions[0].has_entry_price);
    EXPECT_EQ(m.positions[0].entry_price.mantissa, 6500000);
    EXPECT_FALSE(m.positions[0].has_mark_price);
    EXPECT_EQ(m.positions[0].ts_ns, 42);
    EXPECT_EQ(m.positions[1].instrument.exchange.view(), "binance");
    EXPECT_EQ(m.positions[1].instrument.market.view(), "futures");
    EXPECT_EQ(m.positions[1].quantity.mantissa, 2);
    EXPECT_FALSE(m.positions[1].has_entry_price);
    EXPECT_FALSE(c.decode_account_update(reinterpret_cast<const std::uint8_t*>("\xff\xff\xff"), 3, m));
}

TEST(Codec, DecodesGoldenAccountUpdate) {
    auto b = golden("account_update");
    ASSERT_FALSE(b.empty());
    Codec c;
    AccountUpdateMsg m;
    ASSERT_TRUE(c.decode_account_update(b.data(), b.size(), m));
    EXPECT_EQ(m.account.view(), "acct-main");
    EXPECT_EQ(m.reason, 5);  // FUNDING
    EXPECT_EQ(m.ts_event_ns, 1764110305000000000LL);
    ASSERT_EQ(m.n_positions, 2);
    EXPECT_EQ(m.positions[0].instrument.symbol.view(), "BTCUSDT");
    EXPECT_EQ(m.positions[0].quantity.mantissa, -2500);
    EXPECT_EQ(m.positions[0].mark_price.mantissa, 6490000);
    EXPECT_EQ(m.positions[0].ts_ns, 5);
    EXPECT_TRUE(m.positions[1].instrument.symbol.empty());  // empty entry: ignored by the engine (unknown instrument)
}
