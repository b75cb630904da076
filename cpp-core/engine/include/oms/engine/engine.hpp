#pragma once
// The single-threaded risk/order engine. It owns all state, consumes plain
// messages (see messages.hpp; the codec turns protobuf bytes into them) and
// writes outputs into a caller-provided fixed buffer.
//
// Threading: exactly one thread calls handle()/load_limits()/snapshot().
// Time: the engine never reads a clock. Every timestamp comes from the
// message (NewOrder.ts_ns, Fill.ts_event_ns, TopOfBook.ts_event_ns, ...), so
// replaying the streams from a snapshot reproduces the same decisions.
// Memory: all tables are fixed-capacity members; construct the engine once
// (std::make_unique<Engine>(), it is tens of MB) and nothing is allocated
// afterwards except in load_limits() (config parsing).
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include "oms/engine/dedup.hpp"
#include "oms/engine/flat_map.hpp"
#include "oms/engine/futures_risk.hpp"
#include "oms/engine/instrument_registry.hpp"
#include "oms/engine/messages.hpp"
#include "oms/engine/order_state.hpp"
#include "oms/engine/pool.hpp"
#include "oms/engine/position.hpp"
#include "oms/engine/risk_checks.hpp"
#include "oms/engine/risk_limits.hpp"

namespace oms::engine {

inline constexpr std::size_t kMaxOrders = 32768;        // live orders
inline constexpr std::size_t kMaxAccounts = 256;
inline constexpr std::size_t kMaxSlots = 16384;         // (account, instrument) pairs
inline constexpr std::size_t kCommandDedup = 16384;     // remembered command ids
inline constexpr std::size_t kFillDedup = 16384;        // remembered trade ids
inline constexpr std::size_t kEventDedup = 16384;       // remembered event ids
inline constexpr std::size_t kMaxScopeRules = 64;       // venue/symbol kill + state rules

struct OrderRecord {
    OrderId order_id;
    OrderId client_order_id;
    std::uint16_t account = 0;
    std::uint32_t instrument = 0;
    std::uint32_t slot = 0;
    Side side = Side::Unspecified;
    OrderType type = OrderType::Unspecified;
    OrderStatus status = OrderStatus::Unspecified;
    OrderStatus before_pending = OrderStatus::Unspecified;  // for cancel/amend rejected
    bool reduce_only = false;
    bool margin_cancel_sent = false;     // the margin monitor already asked to cancel it
    // Futures initial margin this order holds in its account's `pending`
    // (engine/src/futures.cpp): its quote asset's index in the account's
    // FuturesAccount, the leverage the margin is computed at (0: holds none -
    // spot, reduce-only, reducing, no balance reported; above 255, which no
    // venue offers, 255: more margin, never less) and the balance epoch it
    // was held in. The amount is always initial_margin(reserved_notional,
    // margin_lev), i.e. of the unfilled part. (In the padding before qty:
    // the record stays 216 bytes.)
    std::uint8_t margin_asset = 0;
    std::uint8_t margin_lev = 0;
    std::uint32_t margin_epoch = 0;
    std::int64_t qty = 0;       // qty_scale
    std::int64_t price = 0;     // price_scale (0: market)
    std::int64_t filled = 0;
    std::int64_t reserved_qty = 0;       // leaves currently reserved in the slot
    std::int64_t reserved_notional = 0;  // kQuoteScale
    std::int64_t prev_qty = 0, prev_price = 0;  // restored on AMEND_REJECTED
    std::int64_t notional_px = 0;        // price used for the reservation notional
    std::int64_t created_ns = 0, updated_ns = 0;
    // Its keys in order_idx / clord_idx (0: no client order id), kept so
    // retiring the order does not hash its ids again.
    std::uint64_t order_key = 0, clord_key = 0;
};

struct AccountState {
    AccountName name;
    AccountLimits limits;
    std::int64_t open_orders = 0;
    std::int64_t lng = 0, shrt = 0, gross = 0;  // sums of slot contributions
    std::int64_t day = 0;                       // UTC day index of daily_net
    std::int64_t daily_net = 0;                 // realised - fees, today, kQuoteScale
    TokenBucket bucket;
    TradingState state = TradingState::Active;
    bool killed = false;
    FuturesAccount fut;                         // futures margin account (venue-reported)
};

struct SlotState {
    std::uint16_t account = 0;
    std::uint32_t instrument = 0;
    Exposure e;
    ExposureContrib c;
    std::int64_t last_fill_ns = 0;   // newest fill applied (venue time)
    std::int64_t venue_pos_ns = 0;   // newest venue position report applied
    FuturesSlot fut;                 // futures instruments only
};

struct InstrumentState {
    Reference ref;
    SymbolLimits limits;
    TradingState state = TradingState::Active;
    bool killed = false;
    bool futures = false;            // market is a futures market: the futures checks apply
};

// Markets whose instruments get the futures checks and margin monitoring.
inline bool is_futures_market(std::string_view market) { return market == "futures"; }

// Wildcard rule (empty field = any) for kill switches and trading states that
// are not a single account or instrument: venues, bare symbols, account+instrument.
struct ScopeRule {
    bool used = false;
    bool kill = false;               // true: kill switch rule, false: trading state
    TradingState state = TradingState::Active;
    AccountName account;
    Str16 exchange, market;
    Str32 symbol;
};

struct StoredDecision {
    DecisionResult result = DecisionResult::Unspecified;
    RejectReason reason = RejectReason::None;
    CommandKind kind = CommandKind::None;
    RejectText text;
};

struct FillKey {
    std::uint32_t instrument = 0;
    Str64 trade_id;
    bool operator==(const FillKey& o) const { return instrument == o.instrument && trade_id == o.trade_id; }
};
struct FillKeyHash {
    std::uint64_t operator()(const FillKey& k) const { return hash_bytes(k.trade_id.data, k.trade_id.len, k.instrument); }
};
// 128-bit fingerprints for the dedup tables (two seeds).
struct StrFingerprint {
    Fp128 operator()(const Str64& s) const {
        Fp128 f;
        hash_fs128(s, 0, f.a, f.b);
        return f;
    }
};
struct FillFingerprint {
    Fp128 operator()(const FillKey& k) const {
        Fp128 f;
        hash_fs128(k.trade_id, 0x5851F42D4C957F2Dull * (k.instrument + 1), f.a, f.b);
        return f;
    }
};
// 64-bit fingerprints for the order-id / client-order-id indexes. The index
// maps fingerprint -> pool index and every hit is verified against the ids
// stored in the OrderRecord, so a fingerprint collision can never return the
// wrong order (a new order colliding with a live one is rejected instead,
// probability ~n^2/2^65 for n live orders).
inline std::uint64_t order_fp(const OrderId& id) { return hash_fs(id, 0x0D0E0A0B0C0D0E0Full); }
// Keyed by account *name* (not index) so it can be computed, and its slot
// prefetched, before the account is interned.
inline std::uint64_t clord_fp(const AccountName& account, const OrderId& id) {
    return hash_fs(id, hash_fs(account, 0xC10DC10DC10DC10Dull));
}
struct ClordKey {
    std::uint16_t account = 0;
    OrderId id;
    bool operator==(const ClordKey& o) const { return account == o.account && id == o.id; }
};
struct ClordKeyHash {
    std::uint64_t operator()(const ClordKey& k) const { return hash_bytes(k.id.data, k.id.len, k.account); }
};

struct EngineStats {
    std::uint64_t commands = 0, accepted = 0, rejected = 0, duplicates = 0, stale = 0;
    std::uint64_t fills = 0, fill_duplicates = 0, events = 0, event_duplicates = 0;
    std::uint64_t illegal_transitions = 0, unknown_orders = 0, table_full = 0, md_updates = 0;
    std::uint64_t instrument_scale_conflicts = 0;  // instrument lists ignored: not representable at the fixed scales
    std::uint64_t positions_applied = 0, positions_stale = 0, positions_unknown = 0;
};

class Engine {
public:
    static constexpr std::uint16_t kNoAccount = 0xFFFF;

    Engine();
    // The state is ~20 MB of tables probed at random: allocate it 2 MB-aligned
    // and ask for transparent huge pages (madvise), so a lookup costs a cache
    // miss but not also a TLB miss + page walk. Plain memory when THP is off.
    static void* operator new(std::size_t n);
    static void operator delete(void* p) noexcept;

    // ---- configuration (engine thread, between messages; may allocate) ----
    // Replace all limits at runtime; accounts/instruments pick up the new
    // values immediately. On error the old limits stay in force.
    bool load_limits(const RiskConfig& cfg, std::string* err = nullptr);
    void set_limits(const RiskLimitsTable& table);
    const RiskLimitsTable& limits() const { return s_.limits; }
    // Register/update an instrument (from the connectors' InstrumentList).
    std::uint32_t upsert_instrument(const InstrumentSpec& spec);

    // ---- hot path -----------------------------------------------------------
    // NewOrder/Amend: emits Decision + (ForwardCommand | OrderRejected).
    // Cancel: Decision + ForwardCommand (or rejected UNKNOWN_ORDER).
    // CancelAll: Decision + ForwardCommand. Redelivery (same command_id, or
    // sequence at/below the last processed one) never changes state.
    HandleStatus handle(const OrderCommandMsg& cmd, OutputBuffer& out);
    HandleStatus handle(const FillMsg& fill, OutputBuffer& out);
    HandleStatus handle(const OrderEventMsg& ev, OutputBuffer& out);
    HandleStatus handle(const TopOfBookMsg& tob);
    HandleStatus handle(const TopOfBookMsg& tob, OutputBuffer&) { return handle(tob); }  // uniform dispatch
    // Venue-reported positions (AccountUpdate on positions.>): each listed
    // position replaces the engine's position quantity for (account,
    // instrument) - the venue is the truth, e.g. after a reconcile, a
    // liquidation or trading outside the OMS - unless it is older than a fill
    // or report already applied there (venue timestamps). Cost basis: the
    // reported average entry price, else the old average when the side is
    // unchanged, else mark/reference price. Open-order reservations and the
    // realised P&L are untouched; account exposure follows. Balances are not
    // used for spot. Futures markets (is_futures_market): also the leverage
    // in effect per position, hedge-mode legs, the available balance per
    // asset and the account's margin ratio (the highest a position reports:
    // cross positions carry the account's MM / margin balance); a crossed
    // margin threshold emits an Alert and, at critical with
    // cancel_on_margin_critical, cancels of exposure-increasing orders.
    HandleStatus handle(const AccountUpdateMsg& u, OutputBuffer& out);
    // Kill switch engage emits KillCancelAll for the affected scope.
    HandleStatus handle(const RiskControlMsg& rc, OutputBuffer& out);

    // ---- queries (tests, metrics, HTTP status) -----------------------------
    const Position* position(std::string_view account, const InstrumentId& id) const;
    const OrderRecord* order(std::string_view order_id) const;
    std::int64_t open_orders(std::string_view account) const;
    const AccountState* account(std::string_view account) const;
    const InstrumentRegistry& instruments() const { return s_.instruments; }
    const EngineStats& stats() const { return s_.stats; }
    std::size_t live_orders() const { return s_.orders.size(); }
    TradingState effective_state(std::string_view account, const InstrumentId& id) const;

    // ---- snapshot / restore -----------------------------------------------
    // Plain serialisation: a header (magic, version, size) + the state bytes.
    // The state is trivially copyable by construction (fixed tables, no
    // pointers), so this is a memcpy and restore reproduces it bit for bit.
    static std::size_t snapshot_size();
    bool snapshot(void* buf, std::size_t cap) const;
    bool restore(const void* buf, std::size_t len);

    // Replay of commands that were decided before a restart: their decisions
    // are already published, so a new order is restored without re-running the
    // state-dependent checks (reference price, limits, throttle), which would
    // see a different state than the original decision did. An order that was
    // rejected then is retired again by our own REJECTED event on orders.>.
    void set_replay(bool on) noexcept { replay_ = on; }
    // A command decided before a crash whose decision is on the DECISIONS
    // stream but whose input was not acked: it gets the recorded verdict
    // again (outputs identical, so Nats-Msg-Id dedup collapses them), never
    // a second, possibly different, decision. nullptr: decide normally.
    void force_verdict(const StoredDecision* v) noexcept { forced_ = v; }
    bool replaying() const noexcept { return replay_; }
    // After a startup replay: re-derive the futures initial margin held
    // between balance updates from the orders' timestamps. The replay applies
    // a tail's decided commands before its AccountUpdates, so each account's
    // last update reset the margin of orders accepted after it; here a live
    // order changed after its account's last balance report holds its margin
    // again, one changed before counts as in that report (futures.cpp).
    void settle_margin_after_replay();

private:
    bool replay_ = false;
    const StoredDecision* forced_ = nullptr;
    struct State {
        RiskLimitsTable limits;
        InstrumentRegistry instruments;
        InstrumentState inst_state[kMaxInstruments];
        std::uint32_t n_accounts = 0;
        AccountState accounts[kMaxAccounts];
        FlatMap<AccountName, std::uint16_t, kMaxAccounts * 2, FixedStringHash<32>> account_idx;
        std::uint32_t n_slots = 0;
        SlotState slots[kMaxSlots];
        FlatMap<std::uint64_t, std::uint32_t, kMaxSlots * 2, U64Hash> slot_idx;
        Pool<OrderRecord, kMaxOrders> orders;
        FlatMap<std::uint64_t, std::uint32_t, kMaxOrders * 2, IdentityHash> order_idx;  // order_fp -> pool idx
        FlatMap<std::uint64_t, std::uint32_t, kMaxOrders * 2, IdentityHash> clord_idx;  // clord_fp -> pool idx
        DedupTable<Str64, StoredDecision, kCommandDedup, StrFingerprint> cmd_dedup;
        DedupTable<FillKey, std::uint8_t, kFillDedup, FillFingerprint> fill_dedup;
        DedupTable<Str64, std::uint8_t, kEventDedup, StrFingerprint> event_dedup;
        ScopeRule rules[kMaxScopeRules];
        std::uint32_t n_rules = 0;
        bool global_kill = false;
        std::uint64_t last_sequence = 0;
        EngineStats stats;
    };
    static_assert(std::is_trivially_copyable_v<State>, "snapshot relies on memcpy");

    // helpers
    std::uint16_t intern_account(const AccountName& name);
    std::uint16_t find_account(std::string_view name) const;
    std::uint32_t slot_for(std::uint16_t acct, std::uint32_t instr);
    void recontrib(SlotState& s);
    void reserve(OrderRecord& o);
    void release(OrderRecord& o);
    void retire(std::uint32_t idx);
    bool killed_for(std::uint16_t acct, std::uint32_t instr) const;
    TradingState state_for(std::uint16_t acct, std::uint32_t instr) const;
    void roll_day(AccountState& a, std::int64_t ts_ns);
    // Verified fingerprint lookups (kNoIndex when absent).
    std::uint32_t find_order(const OrderId& id, std::uint64_t fp) const;
    std::uint32_t find_clord(std::uint16_t acct, const OrderId& id, std::uint64_t fp) const;

    // Futures (engine/src/futures.cpp).
    RejectReason check_futures(std::uint16_t acct, std::uint32_t instr, SlotState& sl, const OrderView& o,
                               bool reducing, RejectText& t);
    void apply_futures_update(std::uint16_t acct, const AccountUpdateMsg& u, OutputBuffer& out);
    void track_reduce_only(const OrderRecord& o, std::int64_t dq);
    void futures_fill(SlotState& s, const OrderRecord* rec, Side side, std::int64_t qty);
    void futures_position(SlotState& s, const PositionEntry& p, const InstrumentSpec& spec);
    void reserve_futures(OrderRecord& rec, const OrderView& o);
    void hold_margin(OrderRecord& o);
    bool drop_margin(const OrderRecord& o);
    RejectReason check_order(std::uint16_t acct, std::uint32_t instr, std::uint32_t slot, const OrderView& o,
                             bool is_amend, RejectText& t);
    HandleStatus on_new(const OrderCommandMsg& cmd, OutputBuffer& out, StoredDecision& sd, std::uint64_t ofp, std::uint64_t cfp,
                        std::uint32_t instr);
    HandleStatus on_cancel(const OrderCommandMsg& cmd, OutputBuffer& out, StoredDecision& sd);
    HandleStatus on_amend(const OrderCommandMsg& cmd, OutputBuffer& out, StoredDecision& sd);
    HandleStatus on_cancel_all(const OrderCommandMsg& cmd, OutputBuffer& out, StoredDecision& sd);
    void emit(const OrderCommandMsg& cmd, const StoredDecision& sd, OutputBuffer& out);
    void refresh_limits();

    State s_;
};

}  // namespace oms::engine
