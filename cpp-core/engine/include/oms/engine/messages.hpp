#pragma once
// Plain engine-side mirrors of the proto messages the engine consumes and
// produces. Why: the engine never touches protobuf-c structs (which point
// into a decode arena); the codec copies the fields the engine needs into
// these fixed-size, trivially copyable structs, which can also travel
// through an SpscRing between threads.
#include <cstdint>
#include "oms/engine/fixed_point.hpp"
#include "oms/engine/fixed_string.hpp"
#include "oms/engine/instrument_registry.hpp"
#include "oms/engine/order_state.hpp"
#include "oms/engine/risk_checks.hpp"

namespace oms::engine {

using OrderId = Str48;
using AccountName = Str32;

inline constexpr int kMaxRoutingVenues = 4;

struct NewOrderMsg {
    OrderId order_id;
    OrderId client_order_id;
    OrderId parent_order_id;
    AccountName account;
    InstrumentId instrument;
    Side side = Side::Unspecified;
    OrderType type = OrderType::Unspecified;
    std::uint8_t time_in_force = 0;   // proto TimeInForce number
    Decimal quantity;
    Decimal price;                    // valid when has_price
    Decimal stop_price;               // valid when has_stop_price
    Decimal quote_quantity;           // valid when has_quote_quantity
    bool has_price = false;
    bool has_stop_price = false;
    bool has_quote_quantity = false;
    bool reduce_only = false;
    bool post_only = false;
    bool has_expire_time = false;
    std::uint8_t routing_strategy = 0;  // proto RoutingStrategy number
    std::uint8_t n_allowed_venues = 0;
    Str32 allowed_venues[kMaxRoutingVenues];
    std::int64_t expire_time_ns = 0;
    std::int64_t ts_ns = 0;
};

struct CancelOrderMsg {
    OrderId order_id;
    OrderId client_order_id;
    AccountName account;
    InstrumentId instrument;
    Str64 reason;
    std::int64_t ts_ns = 0;
};

struct AmendOrderMsg {
    OrderId order_id;
    AccountName account;
    InstrumentId instrument;
    Decimal new_quantity;
    Decimal new_price;
    bool has_new_quantity = false;
    bool has_new_price = false;
    std::int64_t ts_ns = 0;
};

struct CancelAllMsg {
    AccountName account;   // empty fields match all
    Str16 exchange;
    Str16 market;
    Str32 symbol;
    Str64 reason;
    std::int64_t ts_ns = 0;
};

enum class CommandKind : std::uint8_t { None = 0, NewOrder = 2, CancelOrder = 3, AmendOrder = 4, CancelAll = 5 };

struct OrderCommandMsg {
    Str64 command_id;
    std::uint64_t sequence = 0;  // JetStream stream sequence (0: unknown)
    CommandKind kind = CommandKind::None;
    // Set by the fast decoder when nothing was lost in decoding (no string cut
    // at a NUL, no enum/number narrowed): the input's bytes then say exactly
    // what this struct says, so a forwarded copy may reuse them verbatim
    // instead of being re-encoded.
    bool wire_lossless = false;
    NewOrderMsg new_order;
    CancelOrderMsg cancel;
    AmendOrderMsg amend;
    CancelAllMsg cancel_all;
};

struct FillMsg {
    Str64 trade_id;
    OrderId order_id;
    OrderId client_order_id;
    AccountName account;
    InstrumentId instrument;
    Side side = Side::Unspecified;
    Decimal price;
    Decimal quantity;
    Decimal commission;
    Str16 commission_asset;
    std::int64_t ts_event_ns = 0;
    std::int64_t ts_init_ns = 0;
};

// Numbers equal proto oms.v1.OrderEventType.
enum class OrderEventType : std::uint8_t {
    Unspecified = 0, PendingNew = 1, Accepted = 2, Rejected = 3, PartiallyFilled = 4, Filled = 5,
    Canceled = 6, Expired = 7, PendingCancel = 8, CancelRejected = 9, Amended = 10, AmendRejected = 11
};

struct OrderEventMsg {
    Str64 event_id;
    OrderEventType type = OrderEventType::Unspecified;
    OrderId order_id;
    OrderStatus status = OrderStatus::Unspecified;  // Order.status after the event
    Decimal quantity;          // Order.quantity (used by AMENDED)
    Decimal price;             // Order.price (used by AMENDED)
    bool has_quantity = false;
    bool has_price = false;
    std::int64_t ts_event_ns = 0;
};

struct TopOfBookMsg {
    InstrumentId instrument;
    std::int32_t price_scale = 0;
    std::int64_t bid_price = 0;  // 0: no bid
    std::int64_t ask_price = 0;  // 0: no ask
    std::int64_t ts_event_ns = 0;
};

// Venue-reported positions (oms.v1.AccountUpdate on positions.{ex}.{mkt}).
// Quantities are absolute (signed: > 0 long, < 0 short), not deltas.
inline constexpr int kMaxPositionsPerUpdate = 64;
struct PositionEntry {
    InstrumentId instrument;
    Decimal quantity;          // signed
    Decimal entry_price;       // valid when has_entry_price (average entry)
    Decimal mark_price;        // valid when has_mark_price
    bool has_entry_price = false;
    bool has_mark_price = false;
    std::int64_t ts_ns = 0;    // 0: the update's ts_event_ns
    // Futures (0 / false when the venue has none).
    std::int32_t leverage = 0;
    Decimal margin_ratio;      // valid when has_margin_ratio
    bool has_margin_ratio = false;
    // Hedge mode: the decoder merges an instrument's LONG and SHORT legs into
    // one entry (quantity = their net) and keeps the legs' sizes here.
    bool hedge = false;
    Decimal long_leg;          // >= 0
    Decimal short_leg;         // >= 0 (absolute size)
};
inline constexpr int kMaxBalancesPerUpdate = 8;
struct BalanceEntry {
    Str16 asset;
    Decimal free;              // futures: the available balance
};
struct AccountUpdateMsg {
    Str64 update_id;
    AccountName account;
    Str16 exchange;
    Str16 market;
    std::uint8_t reason = 0;        // proto AccountUpdateReason number
    std::uint16_t n_positions = 0;
    bool truncated = false;         // more than kMaxPositionsPerUpdate positions: the rest were dropped
    PositionEntry positions[kMaxPositionsPerUpdate];
    std::uint8_t n_balances = 0;
    BalanceEntry balances[kMaxBalancesPerUpdate];
    std::int64_t ts_event_ns = 0;
};

// Numbers equal proto oms.v1.KillSwitchScope.
enum class KillScope : std::uint8_t { Unspecified = 0, Global = 1, Account = 2, Venue = 3, Symbol = 4 };

struct KillSwitchMsg {
    Str64 command_id;
    KillScope scope = KillScope::Unspecified;
    AccountName account;
    Str16 exchange;
    Str16 market;
    Str32 symbol;
    bool engaged = false;
    Str64 reason;
    std::int64_t ts_ns = 0;
};

// account set, instrument empty: per account. account empty, instrument set:
// per instrument. account empty, exchange+market set, symbol empty: per venue
// (e.g. REDUCING while a connector reconciles). Both set: that pair.
struct SetTradingStateMsg {
    Str64 command_id;
    AccountName account;
    InstrumentId instrument;
    TradingState state = TradingState::Unspecified;
    Str64 reason;
    std::int64_t ts_ns = 0;
};

enum class RiskControlKind : std::uint8_t { None = 0, KillSwitch = 1, SetTradingState = 2 };
struct RiskControlMsg {
    RiskControlKind kind = RiskControlKind::None;
    KillSwitchMsg kill;
    SetTradingStateMsg state;
};

// ---- outputs ---------------------------------------------------------------

enum class DecisionResult : std::uint8_t { Unspecified = 0, Accepted = 1, Rejected = 2 };

struct Decision {
    Str64 command_id;
    OrderId order_id;
    AccountName account;
    InstrumentId instrument;
    DecisionResult result = DecisionResult::Unspecified;
    RejectReason reason = RejectReason::None;
    RejectText text;
    std::uint64_t command_sequence = 0;
    std::int64_t ts_ns = 0;
};

enum class OutputKind : std::uint8_t {
    None = 0,
    Decision,        // RiskDecision (every new/amend/cancel command)
    OrderRejected,   // OrderEvent REJECTED for a rejected NewOrder (cmd.new_order + decision)
    ForwardCommand,  // accepted command to route (cmd: NewOrder/Cancel/Amend/CancelAll)
    KillCancelAll,   // cancel-all generated by an engaged kill switch (cmd.cancel_all), or a
                     // cancel of one order by the margin monitor at critical level (cmd.cancel)
    Alert,           // margin-ratio threshold crossed (alert)
};

// Numbers equal proto oms.v1.AlertSeverity.
enum class AlertSeverity : std::uint8_t { Unspecified = 0, Ok = 1, Warning = 2, Critical = 3 };

struct AlertMsg {
    Str64 update_id;           // the AccountUpdate that caused it (alert id = update_id + ":alert")
    AccountName account;
    Str16 exchange, market;
    AlertSeverity severity = AlertSeverity::Unspecified;
    AlertSeverity previous = AlertSeverity::Unspecified;
    std::int64_t ratio = 0;      // kRatioScale (margin ratio)
    std::int64_t threshold = 0;  // kRatioScale
    std::int32_t orders_canceled = 0;
    RejectText text;
    std::int64_t ts_ns = 0;
};

struct Output {
    OutputKind kind = OutputKind::None;
    Decision decision;
    OrderCommandMsg cmd;
    AlertMsg alert;
};

// Caller-provided fixed-capacity output sink. One handle() call emits at most
// a handful of outputs; if the buffer is full the engine counts the overflow
// (and the shell must treat that as fatal: capacity is a configuration bug).
template <std::size_t N>
struct OutputBufferN {
    Output items[N];
    std::size_t count = 0;
    std::size_t dropped = 0;
    Output* next() {
        if (count >= N) { ++dropped; return nullptr; }
        return &items[count++];
    }
    void clear() { count = 0; dropped = 0; }
};
using OutputBuffer = OutputBufferN<16>;

// Result of a handle() call for the shell's metrics/logging.
enum class HandleStatus : std::uint8_t {
    Ok = 0,
    Duplicate,        // redelivery: the stored decision was re-emitted, state untouched
    Stale,            // sequence at/below the restore watermark and unknown: skipped
    UnknownOrder,     // event/fill for an order the engine does not know
    IllegalTransition,
    Invalid,
    Full,             // a fixed-capacity table is full (alarm!)
};

}  // namespace oms::engine
