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

// "" when the strings of two equal commands are also byte-identical past
// their ends (zero tails: snapshots and dedup keys hash whole words), else
// the first that is not.
const char* byte_diff(const OrderCommandMsg& a, const OrderCommandMsg& b) {
#define SAME_BYTES(field) if (std::memcmp(&a.field, &b.field, sizeof a.field) != 0) return #field
    SAME_BYTES(command_id);
    if (a.kind == CommandKind::NewOrder) {
        SAME_BYTES(new_order.order_id); SAME_BYTES(new_order.client_order_id); SAME_BYTES(new_order.parent_order_id);
        SAME_BYTES(new_order.account); SAME_BYTES(new_order.instrument);
        for (int i = 0; i < a.new_order.n_allowed_venues; ++i) SAME_BYTES(new_order.allowed_venues[i]);
    }
#undef SAME_BYTES
    return "";
}

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
        ASSERT_STREQ(byte_diff(fresh, reused), "") << "case " << i;
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

// ---- the straight-line decoder's edges: non-canonical layouts fall back,
// NULs, truncation, values at the very end of the input ---------------------

namespace {

// Hand-built protobuf bytes.
struct Pb {
    std::vector<std::uint8_t> b;
    Pb& varint(std::uint64_t v) {
        do {
            b.push_back(static_cast<std::uint8_t>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
            v >>= 7;
        } while (v);
        return *this;
    }
    Pb& raw(std::initializer_list<std::uint8_t> bytes) { b.insert(b.end(), bytes); return *this; }
    Pb& num(std::uint32_t field, std::uint64_t v) { return varint(field << 3).varint(v); }
    Pb& bytes(std::uint32_t field, const std::vector<std::uint8_t>& v) {
        varint(field << 3 | 2).varint(v.size());
        b.insert(b.end(), v.begin(), v.end());
        return *this;
    }
    Pb& str(std::uint32_t field, std::string_view s) { return bytes(field, {s.begin(), s.end()}); }
    Pb& msg(std::uint32_t field, const Pb& m) { return bytes(field, m.b); }
};

// A message's top-level fields as raw byte ranges (tag included).
std::vector<std::vector<std::uint8_t>> fields(const std::vector<std::uint8_t>& m) {
    std::vector<std::vector<std::uint8_t>> out;
    std::size_t i = 0;
    auto varint = [&] {
        std::uint64_t v = 0;
        for (int s = 0; i < m.size(); s += 7) {
            const std::uint8_t c = m[i++];
            v |= static_cast<std::uint64_t>(c & 0x7f) << s;
            if (!(c & 0x80)) break;
        }
        return v;
    };
    while (i < m.size()) {
        const std::size_t start = i;
        const std::uint64_t t = varint();
        if ((t & 7) == 2) i += static_cast<std::size_t>(varint());
        else varint();
        out.emplace_back(m.begin() + static_cast<long>(start), m.begin() + static_cast<long>(i));
    }
    return out;
}

// The payload of a length-delimited field from fields() (1-byte tag).
std::vector<std::uint8_t> payload(const std::vector<std::uint8_t>& f) {
    std::size_t i = 1;
    while (f[i] & 0x80) ++i;
    return {f.begin() + static_cast<long>(i) + 1, f.end()};
}

std::vector<std::uint8_t> join(const std::vector<std::vector<std::uint8_t>>& fs) {
    std::vector<std::uint8_t> out;
    for (const auto& f : fs) out.insert(out.end(), f.begin(), f.end());
    return out;
}

// A NewOrder with every field set (strings of 16+ bytes included).
OrderCommandMsg full_new_order() {
    OrderCommandMsg c;
    c.kind = CommandKind::NewOrder;
    c.command_id.assign("cmd-7f3c2a10-0b5e-4c1e-9d1a-3f2b6c8e4d01");
    NewOrderMsg& n = c.new_order;
    n.order_id.assign("O-20261125-000001");
    n.client_order_id.assign("cl-1");
    n.parent_order_id.assign("P-20261125-000001-parent");
    n.account.assign("acct-main");
    n.instrument.exchange.assign("binance");
    n.instrument.market.assign("futures");
    n.instrument.symbol.assign("BTCUSDT");
    n.side = Side::Sell; n.type = OrderType::Limit; n.time_in_force = 3;
    n.quantity = Decimal{150000, 5}; n.price = Decimal{6543210, 2}; n.stop_price = Decimal{-7, 1};
    n.quote_quantity = Decimal{1234567890123, 8};
    n.has_price = n.has_stop_price = n.has_quote_quantity = true;
    n.reduce_only = n.post_only = true;
    n.routing_strategy = 2; n.n_allowed_venues = 3;
    n.allowed_venues[0].assign("binance.spot"); n.allowed_venues[1].assign("okx.spot");
    n.allowed_venues[2].assign("bybit.spot-with-a-long-name");
    n.has_expire_time = true; n.expire_time_ns = 1764110305123456789LL;
    n.ts_ns = 1764110305123456789LL;
    return c;
}

std::vector<std::uint8_t> encoded(const OrderCommandMsg& c) {
    Codec enc;
    std::uint8_t buf[4096];
    const std::size_t n = enc.encode_command(c, buf, sizeof buf);
    return {buf, buf + n};
}

// command_id + the oneof member `field` around `body`.
std::vector<std::uint8_t> command(std::uint32_t field, const std::vector<std::uint8_t>& body) {
    return Pb{}.str(1, "cmd-1").bytes(field, body).b;
}

}  // namespace

// Legal protobuf that no producer writes - fields out of field-number order,
// fields repeated (protobuf-c: last scalar wins, sub-messages merge) - is
// left to protobuf-c and decodes exactly as it does.
TEST(CommandWire, OutOfOrderAndRepeatedFieldsFallBackToTheReference) {
    Checker c;
    const auto canonical = encoded(full_new_order());
    c.check(canonical);
    ASSERT_EQ(c.fast.command_fallbacks(), 0u);
    const auto outer = fields(canonical);
    ASSERT_EQ(outer.size(), 2u);
    const auto body = payload(outer[1]);
    ASSERT_EQ(fields(body).size(), 17u);
    std::uint64_t expect_fallbacks = 0;
    auto fallback = [&](const std::vector<std::uint8_t>& in) {
        c.check(in);
        EXPECT_EQ(c.fast.command_fallbacks(), ++expect_fallbacks);
    };
    // Outer: body before command_id.
    fallback(join({outer[1], outer[0]}));
    const auto fs = fields(body);
    for (std::size_t i = 0; i + 1 < fs.size(); ++i) {
        auto swapped = fs;
        std::swap(swapped[i], swapped[i + 1]);
        fallback(command(2, join(swapped)));
        auto twice = fs;  // the field again right after itself, and at the end
        twice.insert(twice.begin() + static_cast<long>(i) + 1, fs[i]);
        fallback(command(2, join(twice)));
        twice = fs;
        twice.push_back(fs[i]);
        fallback(command(2, join(twice)));
    }
    // Inside sub-messages: InstrumentId symbol before exchange, Decimal
    // scale before mantissa, a venue before the strategy.
    fallback(command(2, Pb{}.str(1, "o1").msg(4, Pb{}.str(3, "BTCUSDT").str(1, "binance")).b));
    fallback(command(2, Pb{}.str(1, "o1").msg(9, Pb{}.num(2, 2).num(1, 650000)).b));
    fallback(command(2, Pb{}.str(1, "o1").msg(13, Pb{}.str(2, "okx.spot").num(1, 1)).b));
    // The same in canonical order: fast path.
    const std::uint64_t before = c.fast.command_fallbacks();
    c.check(command(2, Pb{}.str(1, "o1").msg(4, Pb{}.str(1, "binance").str(3, "BTCUSDT")).b));
    c.check(command(2, Pb{}.str(1, "o1").msg(9, Pb{}.num(1, 650000).num(2, 2)).b));
    c.check(command(2, Pb{}.str(1, "o1").msg(13, Pb{}.num(1, 1).str(2, "okx.spot").str(2, "bybit.spot")).b));
    EXPECT_EQ(c.fast.command_fallbacks(), before);
    // Two oneof members, five venues, a non-shortest tag, an unknown field.
    fallback(join({outer[0], outer[1], Pb{}.msg(3, Pb{}.str(1, "o1")).b}));
    Pb five;
    for (int i = 0; i < 5; ++i) five.str(2, "v" + std::to_string(i));
    fallback(command(2, Pb{}.msg(13, five).b));
    fallback(command(2, Pb{}.raw({0x8a, 0x00, 0x02}).raw({'o', '1'}).b));  // field 1 as a 2-byte tag
    fallback(command(2, Pb{}.str(1, "o1").num(30, 5).b));
}

// NULs anywhere in any string: protobuf-c's C strings end there; the fast
// path cuts at the same byte (short and 16+ byte strings, every field) and
// the decode is not lossless, so a forward re-encodes.
TEST(CommandWire, NulInsideStringsCutsLikeTheReference) {
    Checker c;
    const auto canonical = encoded(full_new_order());
    for (const std::string_view s : {std::string_view("cmd-7f3c2a10-0b5e-4c1e-9d1a-3f2b6c8e4d01"),
                                     std::string_view("O-20261125-000001"), std::string_view("cl-1"),
                                     std::string_view("P-20261125-000001-parent"), std::string_view("acct-main"),
                                     std::string_view("binance"), std::string_view("futures"),
                                     std::string_view("BTCUSDT"), std::string_view("binance.spot"),
                                     std::string_view("bybit.spot-with-a-long-name")}) {
        const auto at = std::search(canonical.begin(), canonical.end(), s.begin(), s.end());
        ASSERT_NE(at, canonical.end()) << s;
        for (std::size_t k = 0; k < s.size(); ++k) {
            auto in = canonical;
            in[static_cast<std::size_t>(at - canonical.begin()) + k] = 0;
            c.check(in);
            if (HasFatalFailure()) return;
            ASSERT_FALSE(c.a.wire_lossless) << s << " NUL at " << k;
            // Byte for byte, the zero tail after the cut included (both
            // targets are reused across these decodes).
            ASSERT_STREQ(byte_diff(c.a, c.b), "") << s << " NUL at " << k;
        }
    }
    EXPECT_EQ(c.fast.command_fallbacks(), 0u);
    c.check(canonical);
    EXPECT_TRUE(c.a.wire_lossless);
}

// Every prefix of a command (and of its NewOrder body) decodes as protobuf-c
// decodes it - from exact-size heap copies, so a read past the input is a
// read past the allocation.
TEST(CommandWire, TruncatedInputDecodesLikeTheReference) {
    Checker c;
    std::vector<std::vector<std::uint8_t>> inputs = {encoded(full_new_order())};
    for (const char* name : kCommandVectors) inputs.push_back(golden(name));
    for (const auto& in : inputs) {
        for (std::size_t n = 0; n <= in.size(); ++n) {
            c.check(std::vector<std::uint8_t>(in.begin(), in.begin() + static_cast<long>(n)));
            if (HasFatalFailure()) return;
        }
        // The body cut short inside a well-formed command (its length prefix fixed up).
        const auto outer = fields(in);
        if (outer.size() != 2) continue;
        const auto b = payload(outer[1]);
        for (std::size_t n = 0; n < b.size(); ++n) {
            c.check(join({outer[0], Pb{}.bytes(outer[1][0] >> 3, {b.begin(), b.begin() + static_cast<long>(n)}).b}));
            if (HasFatalFailure()) return;
        }
    }
}

// Strings, varints and empty-but-present fields that end exactly at the end
// of the input take the bounded paths and still decode as protobuf-c does.
TEST(CommandWire, FieldsAtTheEndOfTheInputAndVarintEdges) {
    Checker c;
    auto check = [&](const std::vector<std::uint8_t>& in) {
        c.check(in);
        return !::testing::Test::HasFatalFailure();
    };
    for (std::size_t len = 0; len <= 70; ++len) {
        std::string s(len, 'x');
        for (std::size_t k = 0; k < len; ++k) s[k] = static_cast<char>('a' + k % 26);
        // parent_order_id (48 bytes) last in a NewOrder, reason (free text,
        // truncated past 63) last in a Cancel, a NUL in the middle of each.
        ASSERT_TRUE(check(command(2, Pb{}.str(1, "o1").str(14, s).b)));
        ASSERT_TRUE(check(command(3, Pb{}.str(1, "o1").str(5, s).b)));
        if (len > 2) {
            s[len / 2] = '\0';
            ASSERT_TRUE(check(command(2, Pb{}.str(1, "o1").str(14, s).b)));
            ASSERT_TRUE(check(command(3, Pb{}.str(1, "o1").str(5, s).b)));
        }
    }
    // Varints of every length up to 10 bytes, at the end of the input and
    // followed by more fields; ints narrowed to 32 bits, bools by any bit.
    for (int bits = 0; bits <= 64; ++bits) {
        const std::uint64_t v = bits == 64 ? ~0ull : (1ull << bits) - 1;
        for (const std::uint64_t x : {v, v + 1, v ^ std::uint64_t{0x5555555555555555ull}}) {
            ASSERT_TRUE(check(command(2, Pb{}.num(5, x).b)));                          // side
            ASSERT_TRUE(check(command(2, Pb{}.num(11, x).num(12, x).b)));              // reduce_only, post_only
            ASSERT_TRUE(check(command(2, Pb{}.num(15, x).raw({0x88, 0x01}).varint(x).b)));  // ts, expire
            ASSERT_TRUE(check(command(2, Pb{}.msg(9, Pb{}.num(1, x).num(2, x)).num(15, x).b)));  // price
            ASSERT_TRUE(check(command(4, Pb{}.msg(5, Pb{}.num(1, x).num(2, x)).b)));   // amend new_price last
        }
    }
    // A bool whose only set bit is shifted out of 64 bits (10th byte): true.
    const std::vector<std::uint8_t> shifted = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    Pb ro;
    ro.raw({0x58}).b.insert(ro.b.end(), shifted.begin(), shifted.end());
    ASSERT_TRUE(check(command(2, ro.b)));
    EXPECT_TRUE(c.a.new_order.reduce_only);
    // Over-long varints (11 bytes) and length prefixes (5 bytes): malformed / fallback.
    ASSERT_TRUE(check(command(2, Pb{}.raw({0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}).b)));
    ASSERT_TRUE(check(command(2, Pb{}.raw({0x0a, 0x82, 0x80, 0x80, 0x80, 0x00, 'o', '1'}).b)));
    ASSERT_TRUE(check(Pb{}.raw({0x0a, 0x81, 0x00, 'x'}).b));  // non-shortest length: legal
    // Present but empty: strings, instrument, decimals, routing, body.
    ASSERT_TRUE(check(Pb{}.str(1, "").b));
    ASSERT_TRUE(check(Pb{}.str(1, "").bytes(2, {}).b));
    ASSERT_TRUE(check(command(2, Pb{}.str(1, "").bytes(4, {}).bytes(8, {}).bytes(9, {}).bytes(13, {}).str(14, "").b)));
    EXPECT_TRUE(c.a.new_order.has_price);
    ASSERT_TRUE(check(command(3, Pb{}.bytes(4, {}).str(5, "").b)));
    ASSERT_TRUE(check(command(5, Pb{}.str(1, "").str(5, "").b)));
    ASSERT_TRUE(check({}));
    EXPECT_EQ(c.fast.command_fallbacks(), 2u);  // the 11-byte varint and the 5-byte length
}
