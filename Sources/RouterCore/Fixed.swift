import OMSCore

/// Router arithmetic, integers only: every price, quantity, balance, min
/// notional and fee rate is an `Int64` at one internal scale (10^-8, the
/// finest any supported venue uses; a fee rate of 0.1% is 100_000), so books
/// from venues with different scales compare directly. Products are `Int128`:
/// a notional (price × quantity) is at scale 10^-16 and a fee-adjusted price
/// (price × (1 ± fee)) is at scale 10^-16 too, so ranking and bounds are exact
/// (no floating point anywhere on the routing path).
public enum Fixed {
    public static let scale: Int32 = 8
    public static let one: Int64 = 100_000_000
    @usableFromInline static let pow10: [Int64] = (0...18).map { p in (0..<p).reduce(Int64(1)) { a, _ in a * 10 } }

    /// A venue integer at `scale` (e.g. a BookLevel price) to the internal scale (truncating beyond 8 decimals).
    @inlinable public static func toInternal(_ v: Int64, scale s: Int32) -> Int64 {
        if s == scale { return v }
        if s < scale { return v &* pow10[Int(scale - s)] }
        return v / pow10[Int(min(s - scale, 18))]
    }

    /// Internal value to a venue integer at `scale` (truncating toward zero).
    @inlinable public static func fromInternal(_ v: Int64, scale s: Int32) -> Int64 {
        if s == scale { return v }
        if s < scale { return v / pow10[Int(scale - s)] }
        return v &* pow10[Int(min(s - scale, 18))]
    }

    public static func internalValue(_ d: Oms_V1_Decimal) -> Int64 { toInternal(d.mantissa, scale: d.scale) }

    /// Internal value as a Decimal at `scale` (trailing precision dropped).
    public static func decimal(_ v: Int64, scale s: Int32 = scale) -> Oms_V1_Decimal {
        var d = Oms_V1_Decimal()
        d.mantissa = fromInternal(v, scale: s)
        d.scale = s
        return d
    }

    /// 10^8 as Int128 (one at the internal scale; also 1 + 0 fee).
    public static let one128: Int128 = 100_000_000

    /// Price × (1 + fee) for a buy, × (1 − fee) for a sell: the price net of the
    /// taker fee at scale 10^-16 (internal price × internal rate), exact.
    @inlinable @inline(__always) public static func netPrice(_ price: Int64, fee: Int64, buy: Bool) -> Int128 {
        Int128(price) * (buy ? one128 + Int128(fee) : one128 - Int128(fee))
    }

    /// Price × quantity at scale 10^-16 (both internal), exact.
    @inlinable @inline(__always) public static func notional(_ price: Int64, _ quantity: Int64) -> Int128 {
        Int128(price) * Int128(quantity)
    }

    /// A 10^-16-scale value back to the internal 10^-8 scale, rounded half away from zero.
    @inlinable public static func fromWide(_ v: Int128) -> Int64 {
        let half = one128 / 2
        return Int64(clamping: v >= 0 ? (v + half) / one128 : (v - half) / one128)
    }

    public static func format(_ v: Int64) -> String {
        let neg = v < 0
        let a = v.magnitude
        var frac = String(a % UInt64(one))
        frac = String(repeating: "0", count: 8 - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        return (neg ? "-" : "") + String(a / UInt64(one)) + (frac.isEmpty ? "" : "." + frac)
    }
}
