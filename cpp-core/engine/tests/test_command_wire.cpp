// Differential test: the hand-written OrderCommand decoder (decode_command)
// against protobuf-c (decode_command_reference) on every golden vector and
// on a deterministic mutation run (bit flips, byte edits, truncation,
// splicing, duplicated fields) seeded from the golden vectors and from
// randomly generated commands. Same return value, same message when true.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "oms/engine/codec.hpp"

using namespace oms::engine;

namespace {

std::vector<std::uint8_t> golden(const std::string& name) {
    std::ifstream f(std::string(OMS_TESTDATA_DIR) + "/" + name + ".bin", std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

#define SAME(field) if (!(a.field == b.field)) return "field " #field
bool dec_eq(const Decimal& x, const Decimal& y) { return x.mantissa == y.mantissa && x.scale == y.scale; }
bool id_eq(const InstrumentId& x, const InstrumentId& y) {
    return x.exchange == y.exchange && x.market == y.market && x.symbol == y.symbol;
}

// "" when equal, else the first differing field.
const char* diff(const OrderCommandMsg& a, const OrderCommandMsg& b) {
    SAME(command_id); SAME(sequence); SAME(kind);
    switch (a.kind) {
        case CommandKind::NewOrder: {
            SAME(new_order.order_id); SAME(new_order.client_order_id); SAME(new_order.parent_order_id);
            SAME(new_order.account); SAME(new_order.side); SAME(new_order.type); SAME(new_order.time_in_force);
            if (!id_eq(a.new_order.instrument, b.new_order.instrument)) return "instrument";
            if (!dec_eq(a.new_order.quantity, b.new_order.quantity)) return "quantity";
            if (!dec_eq(a.new_order.price, b.new_order.price)) return "price";
            if (!dec_eq(a.new_order.stop_price, b.new_order.stop_price)) return "stop_price";
            if (!dec_eq(a.new_order.quote_quantity, b.new_order.quote_quantity)) return "quote_quantity";
            SAME(new_order.has_price); SAME(new_order.has_stop_price); SAME(new_order.has_quote_quantity);
            SAME(new_order.reduce_only); SAME(new_order.post_only); SAME(new_order.has_expire_time);
            SAME(new_order.routing_strategy); SAME(new_order.n_allowed_venues);
            for (int i = 0; i < a.new_order.n_allowed_venues; ++i)
                if (!(a.new_order.allowed_venues[i] == b.new_order.allowed_venues[i])) return "allowed_venues";
            SAME(new_order.expire_time_ns); SAME(new_order.ts_ns);
            break;
        }
        case CommandKind::CancelOrder:
            SAME(cancel.order_id); SAME(cancel.client_order_id); SAME(cancel.account); SAME(cancel.reason);
            SAME(cancel.ts_ns);
            if (!id_eq(a.cancel.instrument, b.cancel.instrument)) return "instrument";
            break;
        case CommandKind::AmendOrder:
            SAME(amend.order_id); SAME(amend.account); SAME(amend.has_new_quantity); SAME(amend.has_new_price);
            SAME(amend.ts_ns);
            if (!id_eq(a.amend.instrument, b.amend.instrument)) return "instrument";
            if (!dec_eq(a.amend.new_quantity, b.amend.new_quantity)) return "new_quantity";
            if (!dec_eq(a.amend.new_price, b.amend.new_price)) return "new_price";
            break;
        case CommandKind::CancelAll:
            SAME(cancel_all.account); SAME(cancel_all.exchange); SAME(cancel_all.market); SAME(cancel_all.symbol);
            SAME(cancel_all.reason); SAME(cancel_all.ts_ns);
            break;
        default: break;
    }
    return "";
}
#undef SAME

struct Checker {
    Codec fast, ref;
    OrderCommandMsg a, b;
    std::uint64_t n = 0, ok_both = 0;
    void check(const std::vector<std::uint8_t>& in) {
        ++n;
        bool ra = fast.decode_command(in.data(), in.size(), n, a);
        bool rb = ref.decode_command_reference(in.data(), in.size(), n, b);
        ASSERT_EQ(ra, rb) << "input #" << n << " len " << in.size();
        if (ra) {
            ++ok_both;
            const char* d = diff(a, b);
            ASSERT_STREQ(d, "") << "input #" << n;
        }
    }
};

const char* kCommandVectors[] = {"command_new_limit", "command_new_routed_edge", "command_cancel",
                                 "command_amend", "command_cancel_all"};

std::string rnd_str(std::mt19937_64& g, std::size_t max) {
    std::string s(g() % (max + 1), 'x');
    for (auto& c : s) c = static_cast<char>(g() % 4 == 0 ? g() % 256 : 'a' + g() % 26);
    return s;
}

OrderCommandMsg random_command(std::mt19937_64& g) {
    OrderCommandMsg c;
    c.command_id.assign(rnd_str(g, 70));
    c.kind = static_cast<CommandKind>(2 + g() % 4);
    auto dec = [&] { return Decimal{static_cast<std::int64_t>(g()) >> (g() % 64), static_cast<std::int32_t>(g() % 40) - 20}; };
    switch (c.kind) {
        case CommandKind::NewOrder: {
            NewOrderMsg& n = c.new_order;
            n.order_id.assign(rnd_str(g, 50)); n.client_order_id.assign(rnd_str(g, 50));
            n.parent_order_id.assign(rnd_str(g, 10)); n.account.assign(rnd_str(g, 34));
            n.instrument.exchange.assign(rnd_str(g, 17)); n.instrument.market.assign(rnd_str(g, 6));
            n.instrument.symbol.assign(rnd_str(g, 33));
            n.side = static_cast<Side>(g() % 3); n.type = static_cast<OrderType>(g() % 8);
            n.time_in_force = static_cast<std::uint8_t>(g() % 5);
            n.quantity = dec(); n.price = dec(); n.stop_price = dec(); n.quote_quantity = dec();
            n.has_price = g() % 2; n.has_stop_price = g() % 2; n.has_quote_quantity = g() % 2;
            n.reduce_only = g() % 2; n.post_only = g() % 2;
            n.routing_strategy = static_cast<std::uint8_t>(g() % 4);
            n.n_allowed_venues = static_cast<std::uint8_t>(g() % 5);
            for (int i = 0; i < n.n_allowed_venues; ++i) n.allowed_venues[i].assign(rnd_str(g, 33));
            n.has_expire_time = g() % 2; n.expire_time_ns = static_cast<std::int64_t>(g());
            n.ts_ns = static_cast<std::int64_t>(g());
            break;
        }
        case CommandKind::CancelOrder:
            c.cancel.order_id.assign(rnd_str(g, 50)); c.cancel.client_order_id.assign(rnd_str(g, 50));
            c.cancel.account.assign(rnd_str(g, 34)); c.cancel.reason.assign(rnd_str(g, 70));
            c.cancel.instrument.symbol.assign(rnd_str(g, 8)); c.cancel.ts_ns = static_cast<std::int64_t>(g());
            break;
        case CommandKind::AmendOrder:
            c.amend.order_id.assign(rnd_str(g, 50)); c.amend.account.assign(rnd_str(g, 34));
            c.amend.new_quantity = dec(); c.amend.new_price = dec();
            c.amend.has_new_quantity = g() % 2; c.amend.has_new_price = g() % 2;
            c.amend.ts_ns = static_cast<std::int64_t>(g());
            break;
        default:
            c.cancel_all.account.assign(rnd_str(g, 34)); c.cancel_all.exchange.assign(rnd_str(g, 17));
            c.cancel_all.market.assign(rnd_str(g, 17)); c.cancel_all.symbol.assign(rnd_str(g, 33));
            c.cancel_all.reason.assign(rnd_str(g, 70)); c.cancel_all.ts_ns = static_cast<std::int64_t>(g());
            break;
    }
    return c;
}

void mutate(std::mt19937_64& g, std::vector<std::uint8_t>& v, const std::vector<std::vector<std::uint8_t>>& pool) {
    int edits = 1 + static_cast<int>(g() % 4);
    for (int e = 0; e < edits; ++e) {
        switch (g() % 8) {
            case 0: if (!v.empty()) v[g() % v.size()] ^= static_cast<std::uint8_t>(1u << (g() % 8)); break;
            case 1: if (!v.empty()) v[g() % v.size()] = static_cast<std::uint8_t>(g()); break;
            case 2: if (!v.empty()) v.resize(g() % v.size()); break;
            case 3: v.insert(v.begin() + static_cast<long>(v.empty() ? 0 : g() % v.size()), static_cast<std::uint8_t>(g())); break;
            case 4: if (!v.empty()) v.erase(v.begin() + static_cast<long>(g() % v.size())); break;
            case 5: {  // append (duplicate fields / merges) a slice of another input
                const auto& o = pool[g() % pool.size()];
                if (o.empty()) break;
                std::size_t a = g() % o.size(), b = a + g() % (o.size() - a + 1);
                v.insert(v.end(), o.begin() + static_cast<long>(a), o.begin() + static_cast<long>(b));
                break;
            }
            case 6: {  // interesting bytes: NUL, continuation, wire types
                static const std::uint8_t k[] = {0, 0x80, 0xff, 0x7f, 0x01, 0x0a, 0x12, 0x08, 0x10, 0x88, 0x01};
                if (!v.empty()) v[g() % v.size()] = k[g() % sizeof k];
                break;
            }
            default: {  // splice the whole of another input at a random point
                const auto& o = pool[g() % pool.size()];
                v.insert(v.begin() + static_cast<long>(v.empty() ? 0 : g() % v.size()), o.begin(), o.end());
                break;
            }
        }
    }
}

}  // namespace

TEST(CommandWire, GoldenVectorsDecodeIdenticallyWithoutFallback) {
    Checker c;
    for (const char* name : kCommandVectors) {
        auto b = golden(name);
        ASSERT_FALSE(b.empty()) << name;
        c.check(b);
        OrderCommandMsg m;
        EXPECT_TRUE(c.fast.decode_command(b.data(), b.size(), 1, m)) << name;
    }
    EXPECT_EQ(c.fast.command_fallbacks(), 0u) << "golden vectors must take the fast path";
    EXPECT_EQ(c.ok_both, 5u);
}

TEST(CommandWire, RandomCommandsRoundTripOnFastPath) {
    std::mt19937_64 g(42);
    Checker c;
    std::uint8_t buf[4096];
    for (int i = 0; i < 20000; ++i) {
        std::size_t n = c.ref.encode_command(random_command(g), buf, sizeof buf);
        c.check(std::vector<std::uint8_t>(buf, buf + n));
        if (HasFatalFailure()) return;
    }
    EXPECT_EQ(c.fast.command_fallbacks(), 0u);
}

TEST(CommandWire, DifferentialMutationRun) {
    std::mt19937_64 g(7);
    std::vector<std::vector<std::uint8_t>> pool;
    for (const char* name : kCommandVectors) pool.push_back(golden(name));
    for (const char* name : {"new_order_market_quote", "cancel_order_empty", "decimal_zero", "fill_taker",
                             "risk_control_kill"})
        pool.push_back(golden(name));
    Codec enc;
    std::uint8_t buf[4096];
    for (int i = 0; i < 200; ++i) {
        std::size_t n = enc.encode_command(random_command(g), buf, sizeof buf);
        pool.emplace_back(buf, buf + n);
    }
    Checker c;
    const int iters = std::getenv("OMS_DIFF_ITERS") ? std::atoi(std::getenv("OMS_DIFF_ITERS")) : 300000;
    for (int i = 0; i < iters; ++i) {
        std::vector<std::uint8_t> v = pool[g() % pool.size()];
        mutate(g, v, pool);
        c.check(v);
        if (HasFatalFailure()) return;
        if (i % 64 == 0 && pool.size() < 4000) pool.push_back(v);  // mutations of mutations
    }
    std::printf("differential: %llu inputs, %llu decoded by both, %llu protobuf-c fallbacks\n",
                static_cast<unsigned long long>(c.n), static_cast<unsigned long long>(c.ok_both),
                static_cast<unsigned long long>(c.fast.command_fallbacks()));
    // The run must exercise both outcomes and the fast path.
    EXPECT_GT(c.ok_both, static_cast<std::uint64_t>(iters / 50));
    EXPECT_LT(c.fast.command_fallbacks(), c.n);
}

TEST(CommandWire, DirectEncodersAreByteIdenticalToProtobufC) {
    std::mt19937_64 g(99);
    Codec c;
    std::uint8_t a[4096], b[4096];
    for (int i = 0; i < 50000; ++i) {
        OrderCommandMsg m = random_command(g);
        std::size_t na = c.encode_command(m, a, sizeof a);
        std::size_t nb = c.encode_command_reference(m, b, sizeof b);
        ASSERT_EQ(na, nb) << "command #" << i;
        ASSERT_EQ(0, std::memcmp(a, b, na)) << "command #" << i;
        // Too small a buffer: both report 0.
        std::size_t cap = na ? g() % na : 0;
        ASSERT_EQ(c.encode_command(m, a, cap), 0u) << "cap " << cap << " of " << na;

        Decision d;
        d.command_id = m.command_id;
        d.order_id = m.new_order.order_id;
        d.account = m.new_order.account;
        d.instrument = m.new_order.instrument;
        d.result = static_cast<DecisionResult>(g() % 3);
        d.reason = static_cast<RejectReason>(g() % 20);
        d.text.put(rnd_str(g, 170));
        d.command_sequence = g() >> (g() % 64);
        d.ts_ns = static_cast<std::int64_t>(g());
        std::int64_t lat = static_cast<std::int64_t>(g() >> (g() % 64)) * (g() % 2 ? -1 : 1);
        na = c.encode_decision(d, lat, a, sizeof a);
        nb = c.encode_decision_reference(d, lat, b, sizeof b);
        ASSERT_EQ(na, nb) << "decision #" << i;
        ASSERT_EQ(0, std::memcmp(a, b, na)) << "decision #" << i;
        cap = na ? g() % na : 0;
        ASSERT_EQ(c.encode_decision(d, lat, a, cap), 0u);
        // Just enough room (below the size that skips the capacity checks):
        // the checked writer produces the same bytes.
        std::uint8_t exact[4096];
        ASSERT_EQ(c.encode_decision(d, lat, exact, na), na) << "decision #" << i;
        ASSERT_EQ(0, std::memcmp(exact, b, na)) << "decision #" << i;
    }
}

// A forwarded order reuses the input's bytes only when the fast decode lost
// nothing: then those bytes decode to exactly what re-encoding the decoded
// command would (so the router sees the same order either way). Strings cut
// at a NUL, narrowed numbers and the protobuf-c path are never lossless.
TEST(CommandWire, LosslessDecodeForwardsInputBytesWithSameMeaning) {
    std::mt19937_64 g(7);
    Codec codec;
    std::uint8_t in[4096], re[4096], fwd[4096];
    std::size_t lossless = 0, lossy = 0;
    for (int i = 0; i < 20000; ++i) {
        OrderCommandMsg c = random_command(g);
        if (c.kind != CommandKind::NewOrder) continue;
        const std::size_t n = codec.encode_command_reference(c, in, sizeof in);
        if (n == 0) continue;
        OrderCommandMsg a;
        if (!codec.decode_command(in, n, 1, a)) continue;
        const std::size_t f = codec.encode_forward(a, in, n, fwd, sizeof fwd);
        const std::size_t r = codec.encode_command(a, re, sizeof re);
        ASSERT_GT(r, 0u);
        if (a.wire_lossless) {
            ++lossless;
            ASSERT_EQ(f, n);
            ASSERT_EQ(std::memcmp(fwd, in, n), 0);
            OrderCommandMsg x, y;
            ASSERT_TRUE(codec.decode_command(fwd, f, 1, x));
            ASSERT_TRUE(codec.decode_command(re, r, 1, y));
            ASSERT_STREQ(diff(x, y), "") << "case " << i;
        } else {
            ++lossy;
            ASSERT_EQ(f, r);
            ASSERT_EQ(std::memcmp(fwd, re, r), 0);
        }
    }
    EXPECT_GT(lossless, 100u);
    EXPECT_EQ(lossy, 0u);  // protobuf-c never writes a NUL into a string
    // A NUL inside the order id on the wire: decoded cut at the NUL, so the
    // forward is re-encoded (the input's bytes would say something else).
    auto b = golden("command_new_limit");
    std::vector<std::uint8_t> nul = b;
    const std::string id = "O-20261125-000001";
    auto at = std::search(nul.begin(), nul.end(), id.begin(), id.end());
    ASSERT_NE(at, nul.end());
    at[5] = 0;
    OrderCommandMsg m;
    ASSERT_TRUE(codec.decode_command(nul.data(), nul.size(), 1, m));
    EXPECT_EQ(m.new_order.order_id.view(), "O-202");
    EXPECT_FALSE(m.wire_lossless);
    const std::size_t f = codec.encode_forward(m, nul.data(), nul.size(), fwd, sizeof fwd);
    const std::size_t r = codec.encode_command(m, re, sizeof re);
    ASSERT_EQ(f, r);
    EXPECT_EQ(std::memcmp(fwd, re, r), 0);
    // protobuf-c path: never lossless.
    ASSERT_TRUE(codec.decode_command(b.data(), b.size(), 1, m));
    EXPECT_TRUE(m.wire_lossless);
    ASSERT_TRUE(codec.decode_command_reference(b.data(), b.size(), 1, m));
    EXPECT_FALSE(m.wire_lossless);
}

// The fast decoder copies strings word by word into a reused OrderCommandMsg
// (oms-core decodes every command into the same one): whatever was there
// before - a longer id, an id cut at a NUL - the result must be byte-for-byte
// what a fresh decode gives (bytes after the string zero: snapshots and
// dedup keys hash whole words), and strings that end exactly at the end of
// the input (no room for a whole-word read) must decode the same.
TEST(CommandWire, ReusedTargetHoldsNoStaleBytes) {
    std::mt19937_64 g(2026);
    Codec codec;
    std::uint8_t buf[4096];
    OrderCommandMsg reused;
    for (int i = 0; i < 20000; ++i) {
        OrderCommandMsg c = random_command(g);
        const std::size_t n = codec.encode_command(c, buf, sizeof buf);
        ASSERT_GT(n, 0u);
        // Exact-size heap copy: a read past the input is a read past the allocation.
        std::vector<std::uint8_t> in(buf, buf + n);
        if (i % 7 == 0 && n > 4) in[2 + g() % (n - 2)] = 0;  // maybe a NUL inside some string
        OrderCommandMsg fresh;
        const bool ok_fresh = codec.decode_command(in.data(), in.size(), 1, fresh);
        const bool ok_reused = codec.decode_command(in.data(), in.size(), 1, reused);
        ASSERT_EQ(ok_fresh, ok_reused) << "case " << i;
        if (!ok_fresh) continue;
        ASSERT_STREQ(diff(fresh, reused), "") << "case " << i;
        ASSERT_EQ(std::memcmp(&fresh.command_id, &reused.command_id, sizeof fresh.command_id), 0) << "case " << i;
        if (fresh.kind == CommandKind::NewOrder) {
            const NewOrderMsg& a = fresh.new_order;
            const NewOrderMsg& b = reused.new_order;
            ASSERT_EQ(std::memcmp(&a.order_id, &b.order_id, sizeof a.order_id), 0) << "case " << i;
            ASSERT_EQ(std::memcmp(&a.client_order_id, &b.client_order_id, sizeof a.client_order_id), 0) << "case " << i;
            ASSERT_EQ(std::memcmp(&a.account, &b.account, sizeof a.account), 0) << "case " << i;
            ASSERT_EQ(std::memcmp(&a.instrument, &b.instrument, sizeof a.instrument), 0) << "case " << i;
        }
    }
    // A one-field command whose id ends the input: the copy cannot read a
    // whole word past the id and must still decode it exactly.
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 63u}) {
        std::vector<std::uint8_t> in = {0x0a, static_cast<std::uint8_t>(len)};
        for (std::size_t k = 0; k < len; ++k) in.push_back(static_cast<std::uint8_t>('a' + k % 26));
        OrderCommandMsg m;
        codec.decode_command(in.data(), in.size(), 1, reused);
        codec.decode_command(in.data(), in.size(), 1, m);
        EXPECT_EQ(reused.command_id.view(), std::string_view(reinterpret_cast<const char*>(in.data()) + 2, len));
        EXPECT_EQ(std::memcmp(&m.command_id, &reused.command_id, sizeof m.command_id), 0) << len;
    }
}
