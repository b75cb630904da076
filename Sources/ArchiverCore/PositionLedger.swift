/// Position and P&L arithmetic — the same definition as oms-core's
/// `apply_fill` (cpp-core/engine/include/oms/engine/position.hpp): signed
/// quantity, signed open cost at the quote scale (so an average that does not
/// fit the price scale still realises exactly), realised P&L on reduction,
/// flips realise the closed part and open the rest at the fill price.
public struct PositionLedger: Sendable, Equatable, Codable {
    public var qty: Int64 = 0        // signed, at qtyScale
    public var cost: Int64 = 0       // signed open cost, quote scale 8
    public var realised: Int64 = 0   // gross realised P&L, quote scale 8
    public var fees: Int64 = 0       // quote fees paid, quote scale 8
    public var volume: Int64 = 0     // traded notional, quote scale 8
    public var trades: Int = 0

    public init() {}

    public var netRealised: Int64 { FixedPoint.satAdd(realised, -fees) }

    /// Applies a fill (signedQty > 0 buy); returns the P&L it realised.
    @discardableResult
    public mutating func apply(signedQty: Int64, price px: Int64, priceScale: Int, qtyScale: Int, feeQuote: Int64 = 0) -> Int64 {
        guard signedQty != 0 else { return 0 }
        trades += 1
        let absQ = signedQty.magnitude
        volume = FixedPoint.satAdd(volume, FixedPoint.notional(px, priceScale, Int64(absQ), qtyScale))
        fees = FixedPoint.satAdd(fees, feeQuote)
        if qty == 0 || (qty > 0) == (signedQty > 0) {
            qty += signedQty
            cost = FixedPoint.satAdd(cost, FixedPoint.notional(px, priceScale, signedQty, qtyScale))
            return 0
        }
        let absPos = Int64(qty.magnitude)
        let closed = min(Int64(absQ), absPos)
        let costClosed = Int64(Int128(cost) * Int128(closed) / Int128(absPos))
        let exitValue = FixedPoint.notional(px, priceScale, closed, qtyScale)
        let pnl = qty > 0 ? exitValue - costClosed : -exitValue - costClosed
        realised = FixedPoint.satAdd(realised, pnl)
        let sign: Int64 = qty > 0 ? 1 : -1
        qty -= sign * closed
        cost -= costClosed
        if qty == 0 { cost = 0 }  // drop rounding dust once flat
        let remainder = Int64(absQ) - closed
        if remainder > 0 {
            qty = (signedQty > 0 ? 1 : -1) * remainder
            cost = FixedPoint.notional(px, priceScale, qty, qtyScale)
        }
        return pnl
    }

    /// Average entry price at priceScale (truncated); 0 when flat.
    public func averagePrice(priceScale: Int, qtyScale: Int) -> Int64 {
        guard qty != 0 else { return 0 }
        var num = Int128(cost)
        let s = priceScale + qtyScale - FixedPoint.quoteScale
        if s >= 0 { num *= FixedPoint.pow10(s) } else { num /= FixedPoint.pow10(-s) }
        let r = num / Int128(qty)
        return (r <= Int128(Int64.max) && r >= Int128(Int64.min)) ? Int64(r) : 0
    }

    /// Unrealised P&L against a mark at priceScale, quote scale 8.
    public func unrealised(mark: Int64, priceScale: Int, qtyScale: Int) -> Int64 {
        guard qty != 0 else { return 0 }
        return FixedPoint.satAdd(FixedPoint.notional(mark, priceScale, qty, qtyScale), -cost)
    }
}

/// The fee of a fill in quote currency at scale 8, as oms-core counts it:
/// quote-asset fees as is, base-asset fees at the fill price, other assets
/// (e.g. BNB) not converted (they need an FX rate) and so left out.
public func feeInQuote(commission: Int64, commissionScale: Int, commissionAsset: String,
                       baseAsset: String, quoteAsset: String, price: Int64, priceScale: Int) -> Int64 {
    guard commission != 0, !commissionAsset.isEmpty else { return 0 }
    if commissionAsset == quoteAsset {
        return FixedPoint.rescale(commission, from: commissionScale, to: FixedPoint.quoteScale) ?? 0
    }
    if commissionAsset == baseAsset, (0...18).contains(commissionScale) {
        return FixedPoint.notional(price, priceScale, commission, commissionScale)
    }
    return 0
}
