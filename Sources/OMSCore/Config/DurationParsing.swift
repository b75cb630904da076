import Foundation

/// Parses Go-style durations used in config files: "250ms", "2s", "5m", "1h",
/// "7d", "1h30m". Units: ns, us (µs), ms, s, m, h, d. A bare number is rejected
/// on purpose: "5" could mean seconds or minutes, so the file must say.
public enum DurationParser {
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        var total: Duration = .zero
        var index = s.startIndex
        var sawComponent = false
        while index < s.endIndex {
            let numberStart = index
            while index < s.endIndex, s[index].isNumber || s[index] == "." { index = s.index(after: index) }
            guard numberStart < index, let value = Double(s[numberStart..<index]), value >= 0 else { return nil }
            let unitStart = index
            while index < s.endIndex, !(s[index].isNumber || s[index] == ".") { index = s.index(after: index) }
            let unit = String(s[unitStart..<index])
            let nanosPerUnit: Double
            switch unit {
            case "ns": nanosPerUnit = 1
            case "us", "µs": nanosPerUnit = 1e3
            case "ms": nanosPerUnit = 1e6
            case "s": nanosPerUnit = 1e9
            case "m": nanosPerUnit = 60e9
            case "h": nanosPerUnit = 3600e9
            case "d": nanosPerUnit = 86_400e9
            default: return nil
            }
            let nanos = value * nanosPerUnit
            guard nanos < 9.2e18 else { return nil }
            total += .nanoseconds(Int64(nanos.rounded()))
            sawComponent = true
        }
        return sawComponent ? total : nil
    }

    /// Shortest exact rendering, e.g. 300s -> "5m".
    public static func format(_ d: Duration) -> String {
        let ns = d.nanoseconds
        for (unit, size) in [("d", Int64(86_400_000_000_000)), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
                             ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] where ns != 0 && ns % size == 0 {
            return "\(ns / size)\(unit)"
        }
        return "\(ns)ns"
    }
}

