/// Validation of subject tokens: a symbol or venue name must never be able to
/// produce a wildcard ("*", ">") or an extra level (".") in a subject.
public enum SubjectToken {
    public static func isValid(_ token: some StringProtocol) -> Bool {
        !token.isEmpty && token.utf8.count <= 64 && token.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
    }

    /// A subscription/stream filter: valid tokens, `*` anywhere, `>` last.
    public static func isValidFilter(_ subject: String) -> Bool {
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (i, t) in tokens.enumerated() {
            if t == "*" { continue }
            if t == ">" { if i == tokens.count - 1 { continue } else { return false } }
            if !isValid(t) { return false }
        }
        return !tokens.isEmpty
    }
}

public struct InvalidSubjectToken: Error, CustomStringConvertible, Sendable {
    public var field: String
    public var value: String
    public var description: String {
        "\(field) \"\(value)\" is not a valid subject token (letters, digits, '-' and '_' only, at most 64)"
    }
}

/// Instrument symbols in one normal form across venues: upper-case base+quote
/// with separators removed ("btc/usdt", "BTC-USDT" and "btc_usdt" are all
/// "BTCUSDT"). Venue-specific orderings (Upbit's "KRW-BTC") are mapped by
/// each connector, which knows its base and quote assets.
public enum Symbol {
    public static func normalized(_ raw: String) throws(InvalidSubjectToken) -> String {
        let s = String(raw.uppercased().unicodeScalars.filter { !"/-_: ".unicodeScalars.contains($0) })
        guard SubjectToken.isValid(s) else { throw InvalidSubjectToken(field: "symbol", value: raw) }
        return s
    }
}

/// Every subject the suite uses, in one place (see docs/subjects.md).
public enum Subjects {
    static func build(_ parts: [(String, String)]) throws(InvalidSubjectToken) -> String {
        for (field, value) in parts.dropFirst() where !SubjectToken.isValid(value) {
            throw InvalidSubjectToken(field: field, value: value)
        }
        return parts.map(\.1).joined(separator: ".")
    }

    // Events (JetStream streams ORDERS, TRADES, POSITIONS)
    public static func orders(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "orders"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    public static func trades(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "trades"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    public static func positions(exchange: String, market: String) throws(InvalidSubjectToken) -> String {
        try build([("", "positions"), ("exchange", exchange), ("market", market)])
    }

    // Commands (stream COMMANDS). Exchange "auto" marks an order that asks for routing.
    /// oms-server -> oms-core: client commands accepted durably, awaiting risk.
    public static func riskCommand(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "cmd.risk"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    /// oms-core -> router: risk-accepted commands.
    public static func routeCommand(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "cmd.route"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    /// router -> connector: commands for one venue market.
    public static func venueCommand(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "cmd.venue"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    /// Kill switches and trading states (RiskControl).
    public static let riskControl = "cmd.control.risk"

    // Decisions (stream DECISIONS)
    public static func riskDecision(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "risk.decisions"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    public static func routingDecision(market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "routing.decisions"), ("market", market), ("symbol", symbol)])
    }
    /// The router's refusal of one direct order, stored before the order's REJECTED event: a router restarted
    /// before its ack looks it up, so a redelivered order gets the same answer (not routed after a rejection).
    public static func routingRejection(orderID: String) throws(InvalidSubjectToken) -> String {
        try build([("", "routing.rejected"), ("order_id", orderID)])
    }

    // Market data (stream MARKETDATA, in memory)
    public static func book(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "md.book"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    public static func topOfBook(exchange: String, market: String, symbol: String) throws(InvalidSubjectToken) -> String {
        try build([("", "md.tob"), ("exchange", exchange), ("market", market), ("symbol", symbol)])
    }
    public static func instruments(exchange: String, market: String) throws(InvalidSubjectToken) -> String {
        try build([("", "md.instruments"), ("exchange", exchange), ("market", market)])
    }

    // Alerts (stream ALERTS)
    public static func alert(service: String, kind: String) throws(InvalidSubjectToken) -> String {
        try build([("", "alerts"), ("service", service), ("kind", kind)])
    }

    // Heartbeats: core NATS, not stored.
    public static func heartbeat(service: String, instance: String) throws(InvalidSubjectToken) -> String {
        try build([("", "hb"), ("service", service), ("instance", instance)])
    }
    public static let allHeartbeats = "hb.>"
}
