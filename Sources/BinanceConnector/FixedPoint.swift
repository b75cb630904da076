import OMSCore

/// Decimal strings as Binance prints them ("0.01000000", "52000.00") to and from
/// fixed point. Money is never a float: parsing goes straight from bytes to an
/// integer mantissa.
public enum FixedPoint {
    /// Parses an ASCII decimal ("-12.3400") into mantissa and scale as written
    /// (trailing zeros kept: "1.50" -> (150, 2)). Nil on anything else.
    @inlinable
    public static func parse<C: Collection>(_ bytes: C) -> (mantissa: Int64, scale: Int32)? where C.Element == UInt8 {
        var mantissa: Int64 = 0
        var scale: Int32 = 0
        var negative = false
        var seenDot = false
        var digits = 0
        var first = true
        for b in bytes {
            if first {
                first = false
                if b == UInt8(ascii: "-") { negative = true; continue }
                if b == UInt8(ascii: "+") { continue }
            }
            if b == UInt8(ascii: ".") {
                if seenDot { return nil }
                seenDot = true
                continue
            }
            let d = b &- 0x30
            guard d < 10 else { return nil }
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            mantissa = m2
            digits += 1
            if seenDot { scale += 1 }
        }
        guard digits > 0 else { return nil }
        return (negative ? -mantissa : mantissa, scale)
    }

    /// Parses into a fixed scale: "0.0024" at scale 8 -> 240000. Extra digits
    /// beyond `scale` are truncated (Binance never prints more than 8).
    @inlinable @inline(__always)
    public static func parse(_ p: UnsafeRawBufferPointer, start: Int, end: Int, scale: Int) -> Int64? {
        var i = start
        var negative = false
        if i < end && p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var m: Int64 = 0
        var frac = -1
        var digits = 0
        while i < end {
            let b = p[i]
            if b == UInt8(ascii: ".") {
                if frac >= 0 { return nil }
                frac = 0
            } else {
                let d = b &- 0x30
                guard d < 10 else { return nil }
                if frac >= 0 {
                    if frac < scale { m = m &* 10 &+ Int64(d); frac += 1 }
                } else {
                    m = m &* 10 &+ Int64(d)
                }
                digits += 1
            }
            i += 1
        }
        guard digits > 0, digits <= 19 + 8 else { return nil }
        var f = max(frac, 0)
        while f < scale { m = m &* 10; f += 1 }
        return negative ? -m : m
    }

    public static func decimal(_ s: String) -> Oms_V1_Decimal? {
        guard let (m, sc) = parse(Array(s.utf8)) else { return nil }
        return Oms_V1_Decimal.with { $0.mantissa = m; $0.scale = sc }
    }

    /// Canonical string for a request ("0.1", "52000"): trailing zeros trimmed, never exponent notation.
    public static func string(_ d: Oms_V1_Decimal) -> String {
        string(mantissa: d.mantissa, scale: Int(d.scale))
    }

    public static func string(mantissa: Int64, scale: Int) -> String {
        if scale <= 0 {
            var s = String(mantissa)
            if mantissa != 0 { s += String(repeating: "0", count: -scale) }
            return s
        }
        let negative = mantissa < 0
        var digits = String(mantissa.magnitude)
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -scale)
        var intPart = String(digits[..<cut])
        var frac = String(digits[cut...])
        while frac.last == "0" { frac.removeLast() }
        if intPart.isEmpty { intPart = "0" }
        return (negative ? "-" : "") + intPart + (frac.isEmpty ? "" : "." + frac)
    }

    /// Rescales to `scale` (exact when increasing; truncates when decreasing).
    public static func rescale(_ d: Oms_V1_Decimal, to scale: Int32) -> Int64 {
        var m = d.mantissa
        var s = d.scale
        while s < scale { m = m &* 10; s += 1 }
        while s > scale { m /= 10; s -= 1 }
        return m
    }

    public static func isZero(_ d: Oms_V1_Decimal) -> Bool { d.mantissa == 0 }

    /// a - b at the larger scale.
    public static func subtract(_ a: Oms_V1_Decimal, _ b: Oms_V1_Decimal) -> Oms_V1_Decimal {
        let s = max(a.scale, b.scale)
        return Oms_V1_Decimal.with { $0.mantissa = rescale(a, to: s) - rescale(b, to: s); $0.scale = s }
    }

    /// a / b to `scale` decimals, truncated (average price = Z/z); nil when b is zero or it overflows.
    public static func divide(_ a: Oms_V1_Decimal, _ b: Oms_V1_Decimal, scale: Int32 = 8) -> Oms_V1_Decimal? {
        guard b.mantissa != 0 else { return nil }
        // q = a.m * 10^(scale + b.s - a.s) / b.m, with a 128-bit numerator.
        let exp = Int(scale) + Int(b.scale) - Int(a.scale)
        var high: UInt64 = 0
        var low = a.mantissa.magnitude
        var divisor = b.mantissa.magnitude
        if exp >= 0 {
            for _ in 0..<exp {
                let r = low.multipliedFullWidth(by: 10)
                let (h, o) = high.multipliedReportingOverflow(by: 10)
                let (h2, o2) = h.addingReportingOverflow(r.high)
                if o || o2 { return nil }
                high = h2
                low = r.low
            }
        } else {
            for _ in 0..<(-exp) {
                let (d, o) = divisor.multipliedReportingOverflow(by: 10)
                if o { return Oms_V1_Decimal(mantissa: 0, scale: scale) }
                divisor = d
            }
        }
        guard high < divisor else { return nil }
        let q = divisor.dividingFullWidth((high: high, low: low)).quotient
        guard q <= UInt64(Int64.max) else { return nil }
        let negative = (a.mantissa < 0) != (b.mantissa < 0)
        return Oms_V1_Decimal(mantissa: negative ? -Int64(q) : Int64(q), scale: scale)
    }
}

extension Oms_V1_Decimal {
    public init(mantissa: Int64, scale: Int32) {
        self.init()
        self.mantissa = mantissa
        self.scale = scale
    }
}
