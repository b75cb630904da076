import OMSCore

/// Fixed-point arithmetic shared with oms-core (cpp-core/engine/include/oms/engine/fixed_point.hpp):
/// quote amounts (notional, P&L, fees) at `quoteScale` = 8, products through a
/// 128-bit intermediate, truncation toward zero, saturation instead of overflow.
/// The same definitions in both languages are checked by shared vectors
/// (proto/testdata/pnl_vectors.json).
public enum FixedPoint {
    public static let quoteScale = 8
    static let maxScale = 18

    static func pow10(_ n: Int) -> Int128 {
        var r: Int128 = 1
        for _ in 0..<n { r *= 10 }
        return r
    }

    static func saturate(_ v: Int128) -> Int64 {
        if v > Int128(Int64.max) { return Int64.max }
        if v < Int128(Int64.min + 1) { return Int64.min + 1 }
        return Int64(v)
    }

    public static func satAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? (b > 0 ? Int64.max : Int64.min + 1) : r
    }

    /// px × qty at `quoteScale`, truncated toward zero, saturated.
    public static func notional(_ px: Int64, _ priceScale: Int, _ qty: Int64, _ qtyScale: Int) -> Int64 {
        var p = Int128(px) * Int128(qty)
        let s = priceScale + qtyScale
        if s > quoteScale {
            var d = s - quoteScale
            if d > 36 { return 0 }
            while d > 18 { p /= pow10(18); d -= 18 }
            p /= pow10(d)
        } else if s < quoteScale {
            p *= pow10(quoteScale - s)
        }
        return saturate(p)
    }

    /// Rescales mantissa@from to @to, truncating toward zero; nil on overflow.
    public static func rescale(_ mantissa: Int64, from: Int, to: Int) -> Int64? {
        guard (0...maxScale).contains(from), (0...maxScale).contains(to) else { return nil }
        var v = Int128(mantissa)
        if to > from { v *= pow10(to - from) } else if to < from { v /= pow10(from - to) }
        guard v <= Int128(Int64.max), v >= Int128(Int64.min) else { return nil }
        return Int64(v)
    }

    /// "12345" @2 -> "123.45"; "-5" @3 -> "-0.005". Exact, never through Double.
    public static func format(_ mantissa: Int64, scale: Int) -> String {
        guard scale > 0 else { return String(mantissa) }
        let negative = mantissa < 0
        var digits = String(mantissa.magnitude)
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + digits[..<cut] + "." + digits[cut...]
    }

    public static func format(_ d: Oms_V1_Decimal) -> String { format(d.mantissa, scale: Int(d.scale)) }

    /// Parses "123.45" / "-0.5" / "7" into mantissa at `scale` exactly; nil when it would lose digits.
    public static func parse(_ text: String, scale: Int) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let intPart = parts.first, !intPart.isEmpty || parts.count == 2,
              intPart.allSatisfy(\.isASCIIDigit) else { return nil }
        var frac = parts.count == 2 ? String(parts[1]) : ""
        guard frac.allSatisfy(\.isASCIIDigit) else { return nil }
        while frac.count > scale, frac.last == "0" { frac.removeLast() }
        guard frac.count <= scale else { return nil }
        frac += String(repeating: "0", count: scale - frac.count)
        guard let v = Int64((intPart.isEmpty ? "0" : String(intPart)) + frac) else { return nil }
        return negative ? -v : v
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
