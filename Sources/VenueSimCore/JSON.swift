// Minimal ordered JSON writer (Binance field order preserved) and a tolerant reader for the WS API.
import Foundation

public indirect enum J: Sendable {
    case obj([(String, J)])
    case arr([J])
    case str(String)
    case int(Int64)
    case bool(Bool)
    case null
    case raw(String)  // pre-serialized JSON

    public static func s(_ f: Fixed) -> J { .str(f.description) }
    public static func i(_ v: Int) -> J { .int(Int64(v)) }

    public var text: String {
        var out = ""
        out.reserveCapacity(256)
        write(&out)
        return out
    }

    public func write(_ out: inout String) {
        switch self {
        case .obj(let kv):
            out += "{"
            var first = true
            for (k, v) in kv {
                if !first { out += "," }
                first = false
                J.quote(k, &out)
                out += ":"
                v.write(&out)
            }
            out += "}"
        case .arr(let a):
            out += "["
            for (n, v) in a.enumerated() {
                if n > 0 { out += "," }
                v.write(&out)
            }
            out += "]"
        case .str(let s): J.quote(s, &out)
        case .int(let v): out += String(v)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .raw(let r): out += r
        }
    }

    static func quote(_ s: String, _ out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    public subscript(key: String) -> J? {
        if case .obj(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }
}

public enum JSONReader {
    /// Parses a JSON object; returns nil for anything that is not an object.
    public static func object(_ text: String) -> [String: Any]? {
        guard let data = text.data(using: .utf8),
              let v = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        return v as? [String: Any]
    }

    /// Renders a scalar parameter value as the string Binance would sign/parse.
    public static func scalarString(_ v: Any) -> String? {
        if let s = v as? String { return s }
        if let n = v as? NSNumber { return n.stringValue }
        if let a = v as? [Any] {
            // arrays (e.g. symbols) are passed through as JSON text
            if let d = try? JSONSerialization.data(withJSONObject: a), let s = String(data: d, encoding: .utf8) { return s }
        }
        return nil
    }
}
