import Foundation
import OMSCore

/// oms-core's risk limits live in the `risk:` section of the config file it
/// was started with; it re-reads that section on `cmd.control.reload`.
/// `UpdateRiskLimits` therefore (1) validates the changes, (2) merges them
/// into the current section, (3) rewrites only the `risk:` block of the file
/// (temp file + rename; the rest of the file is kept byte for byte), and
/// (4) publishes `cmd.control.reload` whose payload is the new `risk:` block
/// as YAML, so an oms-core that cannot see the file can apply it from the
/// message itself. `GetRiskLimits` reads the file again, so it returns what
/// oms-core applied on its last (re)load.
public enum RiskLimitsFile {
    public typealias Limit = (scope: String, name: String, value: String)

    /// Per-scope limits (cpp-core risk_config.cpp, kKnown) and their kinds.
    public static let decimalNames: Set<String> = ["max_order_qty", "max_position_long", "max_position_short", "max_order_notional",
                                                   "max_long_notional", "max_short_notional", "max_gross_exposure", "daily_loss_limit",
                                                   "orders_per_second", "order_burst",
                                                   "margin_ratio_warning", "margin_ratio_critical", "margin_ratio_hysteresis"]
    public static let integerNames: Set<String> = ["max_open_orders", "max_open_orders_per_symbol", "price_collar_bps",
                                                   "max_leverage", "leverage"]
    /// Sub-blocks of `risk:` that are not flat limits (futures notional brackets): kept verbatim on a rewrite.
    public static let nestedBlocks = ["brackets"]
    /// Top-level keys of `risk:` (scope "global").
    public static let globalNames: [String: String] = ["reference_max_age_ms": "integer", "allow_missing_reference": "bool"]

    /// Checks one requested change; the error names the field (`limits[2].value`).
    public static func validate(_ l: Limit, index i: Int) throws(FieldViolation) {
        let f = "limits[\(i)]"
        if l.scope == "global" {
            guard let kind = globalNames[l.name] else {
                throw FieldViolation("\(f).name", "\"\(l.name)\" is not a global risk setting (\(globalNames.keys.sorted().joined(separator: ", ")))")
            }
            if l.value.isEmpty { throw FieldViolation("\(f).value", "a global setting cannot be unset") }
            if kind == "bool" && l.value != "true" && l.value != "false" { throw FieldViolation("\(f).value", "expected true or false") }
            if kind == "integer" && (Int64(l.value).map { $0 < 0 } ?? true) { throw FieldViolation("\(f).value", "expected a non-negative integer") }
            return
        }
        if l.scope != "defaults" {
            let parts = l.scope.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "account" || parts[0] == "symbol", !parts[1].isEmpty,
                  parts[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw FieldViolation("\(f).scope", "\"\(l.scope)\" must be global, defaults, account:<account> or symbol:<SYMBOL | exchange.market.SYMBOL>")
            }
        }
        guard decimalNames.contains(l.name) || integerNames.contains(l.name) else {
            throw FieldViolation("\(f).name", "unknown limit \"\(l.name)\" (one of \((decimalNames.union(integerNames)).sorted().joined(separator: ", ")))")
        }
        if l.value.isEmpty { return }  // unset: unlimited (or the defaults' value for an account/symbol)
        if integerNames.contains(l.name) {
            guard let v = Int64(l.value), v >= 0 else { throw FieldViolation("\(f).value", "\(l.name) expects a non-negative integer, got \"\(l.value)\"") }
            _ = v
        } else {
            guard let d = DecimalText.parse(l.value), d.mantissa >= 0 else {
                throw FieldViolation("\(f).value", "\(l.name) expects a non-negative decimal, got \"\(l.value)\"")
            }
        }
    }

    /// Current limits with `changes` applied in order (an empty value removes the limit).
    public static func merge(_ current: [Limit], _ changes: [Limit]) -> [Limit] {
        var out = current
        for c in changes {
            if let i = out.firstIndex(where: { $0.scope == c.scope && $0.name == c.name }) {
                if c.value.isEmpty { out.remove(at: i) } else { out[i].value = c.value }
            } else if !c.value.isEmpty {
                out.append(c)
            }
        }
        return out
    }

    /// The `risk:` block as YAML (decimals quoted, integers and booleans bare).
    public static func render(_ limits: [Limit]) -> String {
        func value(_ l: Limit) -> String {
            if l.scope == "global" || integerNames.contains(l.name) { return l.value }
            return "\"\(l.value)\""
        }
        func key(_ k: String) -> String { k.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." } ? k : "\"\(k)\"" }
        var s = "risk:\n"
        for l in limits where l.scope == "global" { s += "  \(l.name): \(value(l))\n" }
        let defaults = limits.filter { $0.scope == "defaults" }
        s += defaults.isEmpty ? "  defaults: {}\n" : "  defaults:\n" + defaults.map { "    \($0.name): \(value($0))\n" }.joined()
        for (section, prefix) in [("accounts", "account:"), ("symbols", "symbol:")] {
            let scoped = limits.filter { $0.scope.hasPrefix(prefix) }
            if scoped.isEmpty { s += "  \(section): {}\n"; continue }
            s += "  \(section):\n"
            var seen: [String] = []
            for l in scoped where !seen.contains(l.scope) { seen.append(l.scope) }
            for scope in seen {
                s += "    \(key(String(scope.dropFirst(prefix.count)))):\n"
                for l in scoped where l.scope == scope { s += "      \(l.name): \(value(l))\n" }
            }
        }
        return s
    }

    /// `text` with its top-level `risk:` block (up to the next top-level key) replaced by `block`
    /// (appended when the file has none). Comments directly above the next key stay with that key.
    public static func replaceRiskBlock(in text: String, with block: String) -> String {
        var lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("risk:") }) else {
            return text + (text.hasSuffix("\n") || text.isEmpty ? "" : "\n") + block
        }
        var end = start + 1
        while end < lines.count {
            let l = lines[end]
            if let c = l.first, c != " ", c != "\t", c != "#" { break }
            end += 1
        }
        // Leave trailing comment/blank lines to whatever follows.
        while end - 1 > start, lines[end - 1].trimmingCharacters(in: .whitespaces).isEmpty || lines[end - 1].hasPrefix("#") { end -= 1 }
        var blockLines = block.components(separatedBy: "\n")
        if blockLines.last == "" { blockLines.removeLast() }
        lines.replaceSubrange(start..<end, with: blockLines)
        return lines.joined(separator: "\n")
    }

    /// The `risk:` sub-blocks named in `nestedBlocks` (e.g. `  brackets:` and its indented lines), verbatim.
    public static func keptBlocks(in text: String) -> String {
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("risk:") }) else { return "" }
        var out = ""
        var i = start + 1
        var keeping = false
        while i < lines.count {
            let l = lines[i]
            if let c = l.first, c != " ", c != "\t", c != "#" { break }  // next top-level key
            let isRiskKey = l.hasPrefix("  ") && !l.hasPrefix("   ") && l.dropFirst(2).first.map { $0 != "#" } == true
            if isRiskKey { keeping = nestedBlocks.contains { l.hasPrefix("  \($0):") } }
            if keeping && !l.trimmingCharacters(in: .whitespaces).isEmpty { out += l + "\n" }
            i += 1
        }
        return out
    }

    /// Reads the limits from the config file at `path` (the same flattening as `GetRiskLimits`).
    public static func read(path: String) throws -> [Limit] {
        try OMSConfig.load(path: path, environment: [:]).omsServer.riskLimits
    }

    /// Applies `changes` to the file at `path` atomically; returns the new `risk:` block.
    public static func update(path: String, changes: [Limit]) throws -> String {
        let current = try read(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let block = render(merge(current, changes)) + keptBlocks(in: text)
        let updated = replaceRiskBlock(in: text, with: block)
        let tmp = path + ".tmp-\(getpid())"
        try updated.write(toFile: tmp, atomically: false, encoding: .utf8)
        if rename(tmp, path) != 0 {
            let err = String(cString: strerror(errno))
            unlink(tmp)
            throw FieldViolation("limits", "cannot write \(path): \(err)")
        }
        // The new file must still load (same rules oms-core's parser applies to these keys).
        _ = try read(path: path)
        return block
    }
}
