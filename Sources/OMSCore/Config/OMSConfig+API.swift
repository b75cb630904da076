import Foundation

/// `oms_server:` — the client API listener, TLS and API tokens.
///
///     oms_server:
///       grpc_host: 127.0.0.1
///       grpc_port: 50051
///       tls: { cert: certs/server.pem, key: certs/server.key }   # optional
///       submit_timeout: 5s                                       # JetStream ack wait for a command
///       snapshot_interval: 5s                                    # projection snapshot (restart = snapshot + tail); 0s: off
///       tokens:                                                  # SHA-256 (hex) of each client's token
///         - { name: demo, sha256: "…64 hex…", accounts: [acct-1, acct-2], admin: false }
public struct OMSServerSettings: Sendable, Equatable {
    public struct APIToken: Sendable, Equatable {
        public var name: String
        /// Lower-case hex SHA-256 of the bearer token; the token itself is never stored.
        public var sha256: String
        public var accounts: [String]
        /// May use the kill switch and risk limit updates.
        public var admin: Bool
        public init(name: String, sha256: String, accounts: [String], admin: Bool = false) {
            self.name = name; self.sha256 = sha256.lowercased(); self.accounts = accounts; self.admin = admin
        }
    }

    public var grpcHost = "127.0.0.1"
    public var grpcPort = 50051
    public var tlsCertPath: String?
    public var tlsKeyPath: String?
    public var submitTimeout: Duration = .seconds(5)
    /// How often the order projection is written to `<data_dir>/oms-server/projection.snap` (when it changed); zero: never.
    public var snapshotInterval: Duration = .seconds(5)
    public var tokens: [APIToken] = []
    /// oms-core's limits from config `risk:` (scope "defaults" / "account:<a>" / "symbol:<s>", name, value), for GetRiskLimits.
    public var riskLimits: [(scope: String, name: String, value: String)] = []
    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.grpcHost == b.grpcHost && a.grpcPort == b.grpcPort && a.tlsCertPath == b.tlsCertPath && a.tlsKeyPath == b.tlsKeyPath
            && a.submitTimeout == b.submitTimeout && a.snapshotInterval == b.snapshotInterval && a.tokens == b.tokens && a.riskLimits.map { "\($0)" } == b.riskLimits.map { "\($0)" }
    }
}

/// `router:` — smart order routing thresholds.
///
///     router:
///       default_strategy: depth_split   # depth_split | best_price
///       heartbeat_timeout: 5s           # venue skipped without a connector heartbeat this recent
///       max_book_age: 5s                # venue skipped when its book is older
///       min_rate_limit_headroom: 0.1    # venue skipped below this fraction of its request budget
///       require_heartbeat: true
///       venues: [binance.spot]          # venues "auto" may use (default: every enabled exchange market)
public struct RouterSettings: Sendable, Equatable {
    public enum Strategy: String, Sendable { case depthSplit = "depth_split", bestPrice = "best_price" }
    public var defaultStrategy: Strategy = .depthSplit
    public var heartbeatTimeout: Duration = .seconds(5)
    public var maxBookAge: Duration = .seconds(5)
    public var minRateLimitHeadroom = 0.1
    public var requireHeartbeat = true
    public var venues: [String] = []
    public init() {}
}

/// A static instrument rule from the `instruments:` section (decimals as strings).
public struct StaticInstrument: Sendable, Equatable {
    public var instrument: Oms_V1_Instrument
}

extension OMSConfig {
    mutating func readAPISections(_ r: ConfigReader) {
        readOMSServer(r.child("oms_server"))
        readRouter(r.child("router"))
        readStaticInstruments(r)
        readRiskLimits(r.child("risk"))
    }

    /// Flattens `risk:` (owned by oms-core) for display; values stay as written.
    private mutating func readRiskLimits(_ r: ConfigReader) {
        for (key, v) in r.entries() where key != "defaults" && key != "accounts" && key != "symbols" {
            if let s = v.node?.scalar?.string { omsServer.riskLimits.append(("global", key, s)) }
        }
        for (name, v) in r.child("defaults").entries() {
            if let s = v.node?.scalar?.string { omsServer.riskLimits.append(("defaults", name, s)) }
        }
        for (group, prefix) in [("accounts", "account:"), ("symbols", "symbol:")] {
            for (who, m) in r.child(group).entries() {
                for (name, v) in m.entries() {
                    if let s = v.node?.scalar?.string { omsServer.riskLimits.append((prefix + who, name, s)) }
                }
            }
        }
    }

    private mutating func readOMSServer(_ r: ConfigReader) {
        r.expectKeys(["grpc_host", "grpc_port", "tls", "submit_timeout", "snapshot_interval", "tokens"])
        omsServer.grpcHost = r.string("grpc_host", default: omsServer.grpcHost)
        omsServer.grpcPort = r.int("grpc_port", default: omsServer.grpcPort, range: 0...65_535)
        omsServer.submitTimeout = r.duration("submit_timeout", default: omsServer.submitTimeout, min: .milliseconds(10))
        omsServer.snapshotInterval = r.duration("snapshot_interval", default: omsServer.snapshotInterval, min: .zero)
        let tls = r.child("tls")
        tls.expectKeys(["cert", "key"])
        omsServer.tlsCertPath = tls.scalar("cert")
        omsServer.tlsKeyPath = tls.scalar("key")
        if (omsServer.tlsCertPath == nil) != (omsServer.tlsKeyPath == nil) {
            tls.problem("cert", omsServer.tlsCertPath, "both cert and key (PEM files), or neither")
        }
        var names = Set<String>()
        for t in r.sequence("tokens") ?? [] {
            t.expectKeys(["name", "sha256", "accounts", "admin"])
            let name = t.string("name", default: "")
            let hash = t.string("sha256", default: "").lowercased()
            if hash.count != 64 || !hash.allSatisfy(\.isHexDigit) {
                t.problem("sha256", hash, "the hex SHA-256 of the token (64 hex digits; `printf %s TOKEN | sha256sum`)")
                continue
            }
            if !names.insert(name).inserted { t.problem("name", name, "a unique token name") }
            let accounts = t.stringList("accounts") ?? []
            if accounts.isEmpty || !accounts.allSatisfy({ SubjectToken.isValid($0) }) {
                t.problem("accounts", accounts.joined(separator: ","), "a non-empty list of account names")
            }
            omsServer.tokens.append(.init(name: name, sha256: hash, accounts: accounts, admin: t.bool("admin", default: false)))
        }
    }

    private mutating func readRouter(_ r: ConfigReader) {
        r.expectKeys(["default_strategy", "heartbeat_timeout", "max_book_age", "min_rate_limit_headroom", "require_heartbeat", "venues"])
        router.defaultStrategy = RouterSettings.Strategy(rawValue: r.oneOf("default_strategy", ["depth_split", "best_price"], default: "depth_split")) ?? .depthSplit
        router.heartbeatTimeout = r.duration("heartbeat_timeout", default: router.heartbeatTimeout, min: .milliseconds(10))
        router.maxBookAge = r.duration("max_book_age", default: router.maxBookAge, min: .milliseconds(10))
        if let s = r.scalar("min_rate_limit_headroom") {
            if let v = Double(s), (0...1).contains(v) { router.minRateLimitHeadroom = v } else {
                r.problem("min_rate_limit_headroom", s, "a fraction in 0...1")
            }
        }
        router.requireHeartbeat = r.bool("require_heartbeat", default: true)
        if let vs = r.stringList("venues") {
            for v in vs {
                let parts = v.split(separator: ".", omittingEmptySubsequences: false)
                if parts.count != 2 || !parts.allSatisfy({ SubjectToken.isValid($0) }) {
                    r.problem("venues", v, "venues as exchange.market (e.g. binance.spot)")
                }
            }
            router.venues = vs
        } else {
            router.venues = venues.filter(\.enabled).map(\.venue)
        }
    }

    /// `instruments:` (also read by oms-core): static rules so orders are checked before a connector publishes md.instruments.
    private mutating func readStaticInstruments(_ r: ConfigReader) {
        for e in r.sequence("instruments") ?? [] {
            var i = Oms_V1_Instrument()
            i.id.exchange = e.string("exchange", default: "")
            i.id.market = e.string("market", default: "")
            i.id.symbol = e.string("symbol", default: "")
            i.baseAsset = e.string("base", default: "")
            i.quoteAsset = e.string("quote", default: "")
            i.priceScale = Int32(e.int("price_scale", default: 8, range: 0...18))
            i.qtyScale = Int32(e.int("qty_scale", default: 8, range: 0...18))
            func units(_ key: String, _ scale: Int32) -> Int64 {
                guard let s = e.scalar(key), let d = DecimalText.parse(s) else { return 0 }
                return DecimalText.rescale(d, to: scale) ?? 0
            }
            i.tickSize = units("tick_size", i.priceScale)
            i.lotSize = units("lot_size", i.qtyScale)
            i.minQty = units("min_qty", i.qtyScale)
            i.maxQty = units("max_qty", i.qtyScale)
            if let s = e.scalar("min_notional"), let d = DecimalText.parse(s) { i.minNotional = d }
            if let s = e.scalar("taker_fee"), let d = DecimalText.parse(s) { i.takerFeeRate = d }
            if let s = e.scalar("maker_fee"), let d = DecimalText.parse(s) { i.makerFeeRate = d }
            i.status = .trading
            guard SubjectToken.isValid(i.id.exchange), SubjectToken.isValid(i.id.market), SubjectToken.isValid(i.id.symbol) else { continue }
            staticInstruments.append(i)
        }
    }
}

/// Exact decimal text ("0.00001", "-12.5") to and from `oms.v1.Decimal`.
public enum DecimalText {
    public static func parse(_ text: String) -> Oms_V1_Decimal? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var neg = false
        if s.hasPrefix("-") { neg = true; s = s.dropFirst() } else if s.hasPrefix("+") { s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard !s.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              !(parts.count == 2 && parts[0].isEmpty && parts[1].isEmpty) else { return nil }
        var frac = parts.count == 2 ? String(parts[1]) : ""
        while frac.hasSuffix("0") { frac.removeLast() }
        guard frac.count <= 18, let m = Int64((parts[0].isEmpty ? "0" : String(parts[0])) + frac) else { return nil }
        var d = Oms_V1_Decimal()
        d.mantissa = neg ? -m : m
        d.scale = Int32(frac.count)
        return d
    }

    public static func format(_ d: Oms_V1_Decimal) -> String {
        if d.scale <= 0 {
            return String(d.mantissa) + String(repeating: "0", count: Int(-d.scale))
        }
        let neg = d.mantissa < 0
        var digits = String(d.mantissa.magnitude)
        if digits.count <= Int(d.scale) { digits = String(repeating: "0", count: Int(d.scale) - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -Int(d.scale))
        var frac = String(digits[cut...])
        while frac.hasSuffix("0") { frac.removeLast() }
        return (neg ? "-" : "") + digits[..<cut] + (frac.isEmpty ? "" : "." + frac)
    }

    /// The mantissa at `scale`, or nil when that would lose digits or overflow.
    public static func rescale(_ d: Oms_V1_Decimal, to scale: Int32) -> Int64? {
        if d.scale == scale { return d.mantissa }
        if d.scale < scale {
            var m = d.mantissa
            for _ in 0..<(scale - d.scale) {
                let (r, o) = m.multipliedReportingOverflow(by: 10)
                if o { return nil }
                m = r
            }
            return m
        }
        var m = d.mantissa
        for _ in 0..<(d.scale - scale) {
            if m % 10 != 0 { return nil }
            m /= 10
        }
        return m
    }
}
