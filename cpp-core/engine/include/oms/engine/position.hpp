#pragma once
// Position and P&L arithmetic for one (account, instrument).
// Why cost basis instead of a stored average price: the average entry price
// of a position built from several fills is generally not representable at
// the instrument's price scale. We keep the signed open cost (sum of signed
// entry notionals of the open quantity, at kQuoteScale) and derive the
// average from it, so realised P&L on a partial close is exact to 1e-8 quote.
//
// Conventions: qty > 0 long, < 0 short (at the instrument's qty_scale);
// cost has the same sign as qty; realised P&L and fees are quote amounts
// at kQuoteScale. Fees are tracked separately: net = realised - fees.
#include <cstdint>
#include "oms/engine/fixed_point.hpp"

namespace oms::engine {

struct Position {
    std::int64_t qty = 0;        // signed, qty_scale
    std::int64_t cost = 0;       // signed open cost, kQuoteScale
    std::int64_t realised = 0;   // gross realised P&L, kQuoteScale
    std::int64_t fees = 0;       // fees paid (positive = cost), kQuoteScale
    std::int64_t volume = 0;     // traded notional, kQuoteScale

    std::int64_t net_realised() const { return sat_add(realised, -fees); }
};

// Apply a fill. signed_qty > 0 buy, < 0 sell. Returns the realised P&L
// produced by this fill (0 when it only opens/increases).
// Long->short flips realise the closed part at the fill price and open the
// remainder at the fill price (new average = fill price).
inline std::int64_t apply_fill(Position& p, std::int64_t signed_qty, std::int64_t px,
                               int price_scale, int qty_scale, std::int64_t fee_quote = 0) {
    if (signed_qty == 0) return 0;
    std::int64_t abs_q = signed_qty < 0 ? -signed_qty : signed_qty;
    p.volume = sat_add(p.volume, notional_sat(px, price_scale, abs_q, qty_scale));
    p.fees = sat_add(p.fees, fee_quote);
    if (p.qty == 0 || (p.qty > 0) == (signed_qty > 0)) {
        p.qty += signed_qty;
        p.cost = sat_add(p.cost, notional_sat(px, price_scale, signed_qty, qty_scale));
        return 0;
    }
    // Reducing (and maybe flipping).
    std::int64_t abs_pos = p.qty < 0 ? -p.qty : p.qty;
    std::int64_t closed = abs_q < abs_pos ? abs_q : abs_pos;
    // Cost of the closed slice, pro rata (i128: cost*closed can exceed int64).
    std::int64_t cost_closed =
        static_cast<std::int64_t>(static_cast<__int128>(p.cost) * closed / abs_pos);
    std::int64_t exit_val = notional_sat(px, price_scale, closed, qty_scale);
    std::int64_t pnl = p.qty > 0 ? exit_val - cost_closed : -exit_val - cost_closed;
    p.realised = sat_add(p.realised, pnl);
    std::int64_t sign = p.qty > 0 ? 1 : -1;
    p.qty -= sign * closed;
    p.cost -= cost_closed;
    if (p.qty == 0) p.cost = 0;  // drop rounding dust once flat
    std::int64_t rem = abs_q - closed;
    if (rem > 0) {  // flip: remainder opens a new position at the fill price
        std::int64_t s = signed_qty > 0 ? 1 : -1;
        p.qty = s * rem;
        p.cost = notional_sat(px, price_scale, p.qty, qty_scale);
    }
    return pnl;
}

// Average entry price at price_scale (truncated). 0 when flat.
inline std::int64_t average_price(const Position& p, int price_scale, int qty_scale) {
    if (p.qty == 0) return 0;
    // cost[kQuoteScale] / qty[qs] -> price at scale (kQuoteScale - qs); rescale to ps.
    __int128 num = static_cast<__int128>(p.cost);
    int s = price_scale + qty_scale - kQuoteScale;
    if (s >= 0) num *= kPow10[s]; else num /= kPow10[-s];
    __int128 r = num / p.qty;
    return fits_int64(r) ? static_cast<std::int64_t>(r) : 0;
}

// Unrealised P&L against a mark price (at price_scale), kQuoteScale.
inline std::int64_t unrealised(const Position& p, std::int64_t mark, int price_scale,
                               int qty_scale) {
    if (p.qty == 0) return 0;
    return sat_add(notional_sat(mark, price_scale, p.qty, qty_scale), -p.cost);
}

}  // namespace oms::engine
