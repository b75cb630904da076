// Request parameters: parsed from query string + form body (REST) or a JSON "params" object (WS API).
import Foundation

public struct Params: Sendable {
    public var items: [(String, String)] = []
    public init(_ items: [(String, String)] = []) { self.items = items }

    public func value(_ k: String) -> String? { items.first { $0.0 == k }?.1 }
    public func has(_ k: String) -> Bool { items.contains { $0.0 == k } }
    public subscript(_ k: String) -> String? { value(k) }

    /// Parses `a=1&b=2` (percent-decoding, '+' as space). Duplicated names → -1101.
    public static func parseForm(_ s: String, into p: inout Params) throws(APIError) {
        if s.isEmpty { return }
        for pair in s.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = decode(kv[0])
            let v = kv.count > 1 ? decode(kv[1]) : ""
            guard let k, let v else { throw APIError.illegal(String(kv[0]), "0-9a-zA-Z") }
            if k.isEmpty { continue }
            if p.has(k) { throw APIError.duplicateParams }
            p.items.append((k, v))
        }
    }

    static func decode(_ s: Substring) -> String? {
        s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    public func required(_ k: String) throws(APIError) -> String {
        guard let v = value(k), !v.isEmpty else { throw APIError.mandatory(k) }
        return v
    }

    public func fixed(_ k: String) throws(APIError) -> Fixed? {
        guard let v = value(k) else { return nil }
        if v.isEmpty { throw APIError.empty(k) }
        switch Fixed.parse(Substring(v)) {
        case .success(let f):
            if f.raw < 0 { throw APIError.illegal(k, "^([0-9]{1,20})(\\.[0-9]{1,20})?$") }
            return f
        case .failure(.tooPrecise): throw APIError.precision(k)
        case .failure: throw APIError.illegal(k, "^([0-9]{1,20})(\\.[0-9]{1,20})?$")
        }
    }

    public func int(_ k: String) throws(APIError) -> Int64? {
        guard let v = value(k) else { return nil }
        if v.isEmpty { throw APIError.empty(k) }
        guard let i = Int64(v) else { throw APIError.illegal(k, "^[0-9]{1,20}$") }
        return i
    }
}
