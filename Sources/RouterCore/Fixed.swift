import OMSCore

/// Router arithmetic: every price and quantity is an `Int64` at one internal
/// scale (10^-8, the finest any supported venue uses), so books from venues
/// with different scales compare directly. Notionals and fee-adjusted prices
/// are `Double`: they rank and bound, they never go on the wire.
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

    /// A ranking estimate (fee-adjusted net price, expected average) as a Decimal for
    /// the audit record only; orders, fills and parent averages never pass through here.
    public static func decimal(double x: Double, scale s: Int32) -> Oms_V1_Decimal {
        var d = Oms_V1_Decimal()
        d.mantissa = Int64((x * Double(pow10[Int(max(0, min(s, 18)))])).rounded())
        d.scale = s
        return d
    }

    @inlinable public static func double(_ v: Int64) -> Double { Double(v) / 1e8 }
    public static func double(_ d: Oms_V1_Decimal) -> Double { Double(d.mantissa) / Double(pow10[Int(max(0, min(d.scale, 18)))]) }

    public static func format(_ v: Int64) -> String {
        let neg = v < 0
        let a = v.magnitude
        var frac = String(a % UInt64(one))
        frac = String(repeating: "0", count: 8 - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        return (neg ? "-" : "") + String(a / UInt64(one)) + (frac.isEmpty ? "" : "." + frac)
    }
}
