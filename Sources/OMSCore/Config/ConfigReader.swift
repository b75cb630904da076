import Yams

/// One thing wrong with a config file: which key, what value, what was expected.
public struct ConfigProblem: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var value: String?
    public var expected: String

    public init(path: String, value: String?, expected: String) {
        self.path = path
        self.value = value
        self.expected = expected
    }

    public var description: String {
        if let value { return "\(path): \"\(value)\" is invalid: expected \(expected)" }
        return "\(path): \(expected)"
    }
}

/// All problems found in one pass, so `--check-config` can list every one.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var problems: [ConfigProblem]
    public var description: String {
        (["\(file): \(problems.count) problem\(problems.count == 1 ? "" : "s")"] + problems.map { "  - \($0)" })
            .joined(separator: "\n")
    }
}

/// Walks a YAML mapping with a key path, recording problems instead of
/// stopping at the first, and warning about keys nobody reads (typos).
final class ConfigReader {
    let node: Node?
    let path: String
    let diagnostics: Diagnostics

    final class Diagnostics {
        var problems: [ConfigProblem] = []
        var warnings: [String] = []
    }

    init(node: Node?, path: String, diagnostics: Diagnostics) {
        self.node = node
        self.path = path
        self.diagnostics = diagnostics
    }

    static func describe(_ n: Node) -> String {
        if n.mapping != nil { return "<mapping>" }
        if n.sequence != nil { return "<list>" }
        return n.scalar?.string ?? "<?>"
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var mapping: Node.Mapping? { node?.mapping }

    func problem(_ key: String, _ value: String?, _ expected: String) {
        diagnostics.problems.append(ConfigProblem(path: keyPath(key), value: value, expected: expected))
    }

    /// Warns about keys outside `known`.
    func expectKeys(_ known: Set<String>) {
        guard let mapping else { return }
        for (k, _) in mapping {
            if let key = k.string, !known.contains(key) {
                diagnostics.warnings.append("\(keyPath(key)): unknown key (ignored)")
            }
        }
    }

    func child(_ key: String) -> ConfigReader {
        let n = mapping?[key]
        if let n, n.mapping == nil, !(n.scalar.map { $0.string.isEmpty || $0.string == "~" || $0.string == "null" } ?? false) {
            problem(key, n.scalar?.string ?? Self.describe(n), "a mapping")
            return ConfigReader(node: nil, path: keyPath(key), diagnostics: diagnostics)
        }
        return ConfigReader(node: n, path: keyPath(key), diagnostics: diagnostics)
    }

    func has(_ key: String) -> Bool { mapping?[key] != nil }

    func scalar(_ key: String) -> String? {
        guard let n = mapping?[key] else { return nil }
        guard let s = n.scalar else {
            problem(key, Self.describe(n), "a single value")
            return nil
        }
        return s.string
    }

    func string(_ key: String, default value: String, allowEmpty: Bool = false) -> String {
        guard let s = scalar(key) else { return value }
        if s.isEmpty && !allowEmpty {
            problem(key, s, "a non-empty string")
            return value
        }
        return s
    }

    func bool(_ key: String, default value: Bool) -> Bool {
        guard let s = scalar(key) else { return value }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(key, s, "true or false")
            return value
        }
    }

    func int(_ key: String, default value: Int, range: ClosedRange<Int>) -> Int {
        guard let s = scalar(key) else { return value }
        guard let v = Int(s), range.contains(v) else {
            problem(key, s, "an integer in \(range.lowerBound)...\(range.upperBound)")
            return value
        }
        return v
    }

    func duration(_ key: String, default value: Duration, min: Duration = .zero) -> Duration {
        guard let s = scalar(key) else { return value }
        guard let d = DurationParser.parse(s) else {
            problem(key, s, "a duration such as 250ms, 5s, 5m, 1h or 7d")
            return value
        }
        guard d >= min else {
            problem(key, s, "a duration of at least \(DurationParser.format(min))")
            return value
        }
        return d
    }

    func oneOf(_ key: String, _ choices: [String], default value: String) -> String {
        guard let s = scalar(key) else { return value }
        guard choices.contains(s) else {
            problem(key, s, "one of \(choices.joined(separator: ", "))")
            return value
        }
        return s
    }

    func stringList(_ key: String) -> [String]? {
        guard let n = mapping?[key] else { return nil }
        guard let seq = n.sequence else {
            problem(key, n.scalar?.string, "a list of strings")
            return nil
        }
        return seq.compactMap { $0.scalar?.string }
    }

    /// Entries of a sequence of mappings, each with its own reader (`path[i]`).
    func sequence(_ key: String) -> [ConfigReader]? {
        guard let n = mapping?[key] else { return nil }
        guard let seq = n.sequence else {
            problem(key, n.scalar?.string, "a list")
            return nil
        }
        return seq.enumerated().map { ConfigReader(node: $1, path: "\(keyPath(key))[\($0)]", diagnostics: diagnostics) }
    }

    /// (key, reader) for each entry of a mapping.
    func entries() -> [(String, ConfigReader)] {
        guard let mapping else { return [] }
        return mapping.compactMap { k, v in
            guard let key = k.string else { return nil }
            return (key, ConfigReader(node: v, path: keyPath(key), diagnostics: diagnostics))
        }
    }
}
