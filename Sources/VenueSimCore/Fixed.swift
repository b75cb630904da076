// Fixed-point decimal with 8 fractional digits (Binance's precision). Money never touches Double.
public struct Fixed: Comparable, Hashable, Sendable, CustomStringConvertible {
    public static let scale: Int64 = 100_000_000
    public static let decimals = 8
    public var raw: Int64

    public init(raw: Int64) { self.raw = raw }
    public init(_ units: Int64) { self.raw = units * Fixed.scale }
    public static let zero = Fixed(raw: 0)

    public enum ParseError: Error, Equatable { case malformed, tooPrecise, overflow }

    /// Parses `^[0-9]{1,20}(\.[0-9]{1,20})?$` (Binance's number regex). Digits beyond 8 decimals must be zero.
    public static func parse(_ s: Substring) -> Result<Fixed, ParseError> {
        var intPart: Int64 = 0
        var frac: Int64 = 0
        var fracDigits = 0
        var seenDot = false
        var intDigits = 0
        var negative = false
        var chars = s.utf8[...]
        if chars.first == UInt8(ascii: "-") { negative = true; chars = chars.dropFirst() }
        if chars.isEmpty { return .failure(.malformed) }
        for c in chars {
            if c == UInt8(ascii: ".") {
                if seenDot { return .failure(.malformed) }
                seenDot = true
                continue
            }
            guard c >= 48 && c <= 57 else { return .failure(.malformed) }
            let d = Int64(c - 48)
            if !seenDot {
                intDigits += 1
                if intDigits > 20 { return .failure(.malformed) }
                let (m, o1) = intPart.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return .failure(.overflow) }
                intPart = a
            } else {
                fracDigits += 1
                if fracDigits > 20 { return .failure(.malformed) }
                if fracDigits <= decimals { frac = frac * 10 + d } else if d != 0 { return .failure(.tooPrecise) }
            }
        }
        if intDigits == 0 || (seenDot && fracDigits == 0) { return .failure(.malformed) }
        for _ in 0..<max(0, decimals - fracDigits) { frac *= 10 }
        let (m, o) = intPart.multipliedReportingOverflow(by: scale)
        if o { return .failure(.overflow) }
        let (v, o2) = m.addingReportingOverflow(frac)
        if o2 { return .failure(.overflow) }
        return .success(Fixed(raw: negative ? -v : v))
    }

    public static func parse(_ s: String) -> Fixed? {
        if case .success(let f) = parse(Substring(s)) { return f }
        return nil
    }

    /// "%.8f" style rendering, exactly as Binance prints amounts.
    public var description: String { format(decimals: 8) }

    public func format(decimals d: Int) -> String {
        let neg = raw < 0
        let mag = raw.magnitude
        let ip = mag / UInt64(Fixed.scale)
        var fp = mag % UInt64(Fixed.scale)
        var s = neg ? "-" : ""
        s += String(ip)
        if d > 0 {
            for _ in 0..<(Fixed.decimals - d) { fp /= 10 }
            var f = String(fp)
            while f.count < d { f = "0" + f }
            s += "." + f
        }
        return s
    }

    public static func < (a: Fixed, b: Fixed) -> Bool { a.raw < b.raw }
    public static func + (a: Fixed, b: Fixed) -> Fixed { Fixed(raw: a.raw + b.raw) }
    public static func - (a: Fixed, b: Fixed) -> Fixed { Fixed(raw: a.raw - b.raw) }
    public static func += (a: inout Fixed, b: Fixed) { a.raw += b.raw }
    public static func -= (a: inout Fixed, b: Fixed) { a.raw -= b.raw }
    public static prefix func - (a: Fixed) -> Fixed { Fixed(raw: -a.raw) }

    /// a*b truncated toward zero (notional = price × qty).
    public func times(_ b: Fixed) -> Fixed {
        Fixed(raw: Int64(truncatingIfNeeded: (Int128(raw) * Int128(b.raw)) / Int128(Fixed.scale)))
    }
    /// a*b rounded up (used when locking funds so a lock always covers the fill).
    public func timesCeil(_ b: Fixed) -> Fixed {
        let p = Int128(raw) * Int128(b.raw)
        let s = Int128(Fixed.scale)
        var q = p / s
        if p % s != 0 && p > 0 { q += 1 }
        return Fixed(raw: Int64(truncatingIfNeeded: q))
    }
    /// a/b truncated.
    public func divided(by b: Fixed) -> Fixed {
        precondition(b.raw != 0)
        return Fixed(raw: Int64(truncatingIfNeeded: (Int128(raw) * Int128(Fixed.scale)) / Int128(b.raw)))
    }
    public func isMultiple(of step: Fixed) -> Bool { step.raw == 0 || raw % step.raw == 0 }
    public func floored(to step: Fixed) -> Fixed { step.raw == 0 ? self : Fixed(raw: raw - raw % step.raw) }
    public var isZero: Bool { raw == 0 }
    public var isPositive: Bool { raw > 0 }
    /// basis points → fraction (10 bps = 0.001)
    public static func bps(_ b: Int) -> Fixed { Fixed(raw: Int64(b) * Fixed.scale / 10_000) }
}
