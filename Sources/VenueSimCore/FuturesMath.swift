// USDⓈ-M futures margin arithmetic, as Binance documents it, in fixed point (never Double).
//
// Sources (Binance support FAQ, "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
// https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93, and "Leverage and Margin of
// USDⓈ-M Futures"):
//   Maintenance Margin = Position Notional × Maintenance Margin Rate − Maintenance Amount (of the notional's bracket)
//   Maintenance Amount(level n) = Floor(level n) × (MMR(n) − MMR(n−1)) + Maintenance Amount(level n−1)
//   Initial Margin = Position Notional / Leverage            (notional at mark price)
//   Unrealised PnL = positionAmt × (Mark Price − Entry Price)  (positionAmt signed: long > 0)
//   LP = (WB − TMM1 + UPNL1 + cumB + cumL + cumS − Side1BOTH×Position1BOTH×EP1BOTH − Position1LONG×EP1LONG
//         + Position1SHORT×EP1SHORT)
//        / (Position1BOTH×MMR_B + Position1LONG×MMR_L + Position1SHORT×MMR_S − Side1BOTH×Position1BOTH
//           − Position1LONG + Position1SHORT)
//   (cross: WB = crossWalletBalance; isolated: WB = isolatedWalletBalance, TMM1 = UPNL1 = 0).
//   If the notional at the liquidation price falls in another bracket, recompute with that bracket's MMR and cum.
//   Margin ratio = Maintenance Margin / Margin Balance; liquidation when Margin Balance < Maintenance Margin.
//   Funding: F = P + clamp(I − P, 0.05%, −0.05%); Funding Fee = Position Notional (mark) × Funding Rate,
//   paid by longs to shorts when F > 0.

public struct LeverageBracket: Sendable, Equatable {
    public var bracket: Int
    public var initialLeverage: Int
    public var notionalFloor: Fixed
    public var notionalCap: Fixed
    public var maintMarginRatio: Fixed
    public var cum: Fixed
    public init(bracket: Int, initialLeverage: Int, notionalFloor: Fixed, notionalCap: Fixed, maintMarginRatio: Fixed, cum: Fixed) {
        self.bracket = bracket; self.initialLeverage = initialLeverage; self.notionalFloor = notionalFloor
        self.notionalCap = notionalCap; self.maintMarginRatio = maintMarginRatio; self.cum = cum
    }
}

public enum FuturesMath {
    /// Builds brackets from (floor, cap, max leverage, MMR) rows, deriving each Maintenance Amount (cum) by
    /// Binance's formula: cum(n) = floor(n) × (MMR(n) − MMR(n−1)) + cum(n−1).
    public static func brackets(_ rows: [(floor: Fixed, cap: Fixed, leverage: Int, mmr: Fixed)]) -> [LeverageBracket] {
        var out: [LeverageBracket] = []
        var cum = Fixed.zero
        var prevMMR = Fixed.zero
        for (i, r) in rows.enumerated() {
            if i > 0 { cum = r.floor.times(r.mmr - prevMMR) + cum }
            out.append(LeverageBracket(bracket: i + 1, initialLeverage: r.leverage, notionalFloor: r.floor, notionalCap: r.cap,
                                       maintMarginRatio: r.mmr, cum: cum))
            prevMMR = r.mmr
        }
        return out
    }

    /// The bracket a notional (absolute) belongs to: floor ≤ notional < cap; beyond the last cap, the last bracket.
    public static func bracket(for notional: Fixed, in brackets: [LeverageBracket]) -> LeverageBracket {
        let n = notional.raw < 0 ? -notional : notional
        for b in brackets where n >= b.notionalFloor && n < b.notionalCap { return b }
        return brackets.last!
    }

    /// Highest leverage allowed for a notional; and the largest notional allowed at a leverage.
    public static func maxNotional(leverage: Int, in brackets: [LeverageBracket]) -> Fixed {
        var best = Fixed.zero
        for b in brackets where b.initialLeverage >= leverage { best = max(best, b.notionalCap) }
        return best
    }

    public static func abs(_ f: Fixed) -> Fixed { f.raw < 0 ? -f : f }

    /// Notional = |amt| × mark.
    public static func notional(amt: Fixed, mark: Fixed) -> Fixed { abs(amt).times(mark) }

    public static func maintenanceMargin(notional: Fixed, brackets: [LeverageBracket]) -> Fixed {
        let b = bracket(for: notional, in: brackets)
        let mm = abs(notional).times(b.maintMarginRatio) - b.cum
        return mm.raw < 0 ? .zero : mm
    }

    public static func initialMargin(notional: Fixed, leverage: Int) -> Fixed {
        abs(notional).divided(by: Fixed(Int64(leverage)))
    }

    public static func unrealizedPnl(amt: Fixed, entry: Fixed, mark: Fixed) -> Fixed { amt.times(mark - entry) }

    /// New average entry after adding `qty` (same direction) at `price`.
    public static func averageEntry(amt: Fixed, entry: Fixed, qty: Fixed, price: Fixed) -> Fixed {
        let a = abs(amt), q = abs(qty)
        let total = a + q
        if total.isZero { return .zero }
        // (a×entry + q×price) / (a+q) with 128-bit intermediates
        let num = Int128(a.raw) * Int128(entry.raw) + Int128(q.raw) * Int128(price.raw)
        return Fixed(raw: Int64(num / Int128(total.raw)))
    }

    /// One position leg for the liquidation-price formula.
    public struct Leg: Sendable {
        public var amt: Fixed      // signed for BOTH; absolute size for LONG/SHORT
        public var entry: Fixed
        public init(amt: Fixed, entry: Fixed) { self.amt = amt; self.entry = entry }
    }

    /// Binance's liquidation price for contract 1. `both` is the one-way position (signed), `long`/`short` the hedge
    /// legs (sizes ≥ 0). WB, TMM1, UPNL1 as in the FAQ (isolated: WB = isolated wallet, TMM1 = UPNL1 = 0).
    /// Each leg's MMR and cum come from the bracket of its notional *at the liquidation price*: the computation
    /// starts from the bracket at `mark` and repeats with the bracket of the result until it is consistent.
    /// Returns 0 when there is no position or the price would be ≤ 0 (Binance shows "--" / "0").
    public static func liquidationPrice(wb: Fixed, tmm: Fixed, upnl: Fixed, both: Leg?, long: Leg?, short: Leg?,
                                        mark: Fixed, brackets: [LeverageBracket]) -> Fixed {
        let posB = both.map { abs($0.amt) } ?? .zero
        let sideB: Int64 = (both?.amt.raw ?? 0) >= 0 ? 1 : -1
        let posL = long.map { abs($0.amt) } ?? .zero
        let posS = short.map { abs($0.amt) } ?? .zero
        if posB.isZero && posL.isZero && posS.isZero { return .zero }
        var bB = bracket(for: posB.times(mark), in: brackets)
        var bL = bracket(for: posL.times(mark), in: brackets)
        var bS = bracket(for: posS.times(mark), in: brackets)
        var lp = Fixed.zero
        for _ in 0..<(brackets.count + 1) {
            // numerator and denominator in raw units (scale 1e8), 128-bit
            let s = Int128(Fixed.scale)
            var num = Int128(wb.raw) - Int128(tmm.raw) + Int128(upnl.raw) + Int128(bB.cum.raw) + Int128(bL.cum.raw) + Int128(bS.cum.raw)
            num -= Int128(sideB) * Int128(posB.raw) * Int128(both?.entry.raw ?? 0) / s
            num -= Int128(posL.raw) * Int128(long?.entry.raw ?? 0) / s
            num += Int128(posS.raw) * Int128(short?.entry.raw ?? 0) / s
            var den = (Int128(posB.raw) * Int128(bB.maintMarginRatio.raw) + Int128(posL.raw) * Int128(bL.maintMarginRatio.raw)
                       + Int128(posS.raw) * Int128(bS.maintMarginRatio.raw)) / s
            den += -Int128(sideB) * Int128(posB.raw) - Int128(posL.raw) + Int128(posS.raw)
            if den == 0 { return .zero }
            let q = num * s / den
            lp = Fixed(raw: Int64(clamping: q))
            if lp.raw <= 0 { return .zero }
            let nB = bracket(for: posB.times(lp), in: brackets), nL = bracket(for: posL.times(lp), in: brackets)
            let nS = bracket(for: posS.times(lp), in: brackets)
            if nB == bB && nL == bL && nS == bS { break }
            bB = nB; bL = nL; bS = nS
        }
        return lp
    }

    /// Binance's funding-rate formula: F = P + clamp(I − P, +0.05%, −0.05%), all per funding interval.
    public static func fundingRate(premiumIndex p: Fixed, interestRate i: Fixed) -> Fixed {
        let cap = Fixed(raw: 50_000)  // 0.0005
        var d = i - p
        if d > cap { d = cap }
        if d < -cap { d = -cap }
        return p + d
    }

    /// Funding fee for a signed position at mark; positive = the holder pays.
    public static func fundingFee(amt: Fixed, mark: Fixed, rate: Fixed) -> Fixed { amt.times(mark).times(rate) }
}

extension Int64 {
    init(clamping v: Int128) {
        if v > Int128(Int64.max) { self = .max } else if v < Int128(Int64.min) { self = .min } else { self = Int64(v) }
    }
}
