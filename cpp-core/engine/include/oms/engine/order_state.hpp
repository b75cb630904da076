#pragma once
// Order lifecycle state machine with an explicit legal-transition table.
// Why: connector events arrive late, duplicated or out of order; the engine
// must decide deterministically whether an event applies. Illegal
// transitions return an error code (logged/counted by the caller) and leave
// the order untouched; nothing here can crash or throw.
#include <cstdint>

namespace oms::engine {

// Numbers equal proto oms.v1.OrderStatus.
enum class OrderStatus : std::uint8_t {
    Unspecified = 0,
    PendingNew = 1,
    Accepted = 2,
    PartiallyFilled = 3,
    Filled = 4,
    Canceled = 5,
    Rejected = 6,
    Expired = 7,
    PendingCancel = 8,
    PendingReplace = 9,
};
inline constexpr int kOrderStatusCount = 10;

enum class TransitionError : std::uint8_t { Ok = 0, Illegal, FromTerminal, BadStatus };

constexpr bool is_terminal(OrderStatus s) {
    return s == OrderStatus::Filled || s == OrderStatus::Canceled ||
           s == OrderStatus::Rejected || s == OrderStatus::Expired;
}
// Live = still reserves risk capacity (counts as an open order).
constexpr bool is_live(OrderStatus s) { return s != OrderStatus::Unspecified && !is_terminal(s); }

namespace detail {
// kLegal[from][to]. Rows: Unspecified is "no order yet" (creation).
// PartiallyFilled->PartiallyFilled is legal (successive partial fills).
// PendingCancel may fall back to Accepted/PartiallyFilled (cancel rejected)
// and may still fill (race with the venue). PendingReplace falls back to
// Accepted/PartiallyFilled when the amend is acknowledged or rejected.
// Terminal rows are all false.
inline constexpr bool kLegal[kOrderStatusCount][kOrderStatusCount] = {
    //            Un  PN  Acc PF  Fil Can Rej Exp PC  PR
    /* Un  */    {0,  1,  0,  0,  0,  0,  1,  0,  0,  0},
    /* PN  */    {0,  0,  1,  1,  1,  1,  1,  1,  1,  0},
    /* Acc */    {0,  0,  0,  1,  1,  1,  0,  1,  1,  1},
    /* PF  */    {0,  0,  0,  1,  1,  1,  0,  1,  1,  1},
    /* Fil */    {0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* Can */    {0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* Rej */    {0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* Exp */    {0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* PC  */    {0,  0,  1,  1,  1,  1,  0,  1,  0,  0},
    /* PR  */    {0,  0,  1,  1,  1,  1,  0,  1,  1,  0},
};
}  // namespace detail

constexpr bool is_legal_transition(OrderStatus from, OrderStatus to) {
    auto f = static_cast<unsigned>(from), t = static_cast<unsigned>(to);
    if (f >= kOrderStatusCount || t >= kOrderStatusCount) return false;
    return detail::kLegal[f][t];
}

// Apply a transition in place. On error the status is unchanged.
constexpr TransitionError transition(OrderStatus& s, OrderStatus to) {
    auto f = static_cast<unsigned>(s), t = static_cast<unsigned>(to);
    if (f >= kOrderStatusCount || t >= kOrderStatusCount) return TransitionError::BadStatus;
    if (is_terminal(s)) return TransitionError::FromTerminal;
    if (!detail::kLegal[f][t]) return TransitionError::Illegal;
    s = to;
    return TransitionError::Ok;
}

constexpr const char* to_string(OrderStatus s) {
    switch (s) {
        case OrderStatus::Unspecified: return "UNSPECIFIED";
        case OrderStatus::PendingNew: return "PENDING_NEW";
        case OrderStatus::Accepted: return "ACCEPTED";
        case OrderStatus::PartiallyFilled: return "PARTIALLY_FILLED";
        case OrderStatus::Filled: return "FILLED";
        case OrderStatus::Canceled: return "CANCELED";
        case OrderStatus::Rejected: return "REJECTED";
        case OrderStatus::Expired: return "EXPIRED";
        case OrderStatus::PendingCancel: return "PENDING_CANCEL";
        case OrderStatus::PendingReplace: return "PENDING_REPLACE";
    }
    return "?";
}

}  // namespace oms::engine
