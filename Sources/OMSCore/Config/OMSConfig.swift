import Foundation
import Logging
import Yams

/// Typed, validated settings from `configs/config.yaml` (plus environment
/// overrides). Every service loads the same file and reads its own parts.
public struct OMSConfig: Sendable {
    public struct RateLimits: Sendable, Equatable {
        public var weightPerMinute: Int = 6000
        public var ordersPerSecond: Int = 10
        public var ordersPer10s: Int = 100
        public var ordersPerDay: Int = 200_000
    }

    /// One exchange market (e.g. binance.spot).
    public struct VenueMarket: Sendable, Equatable {
        public var exchange: String
        public var market: String
        public var enabled: Bool = false
        public var testNet: Bool = false
        public var rateLimits = RateLimits()
        /// Overrides the venue's REST / WebSocket base URLs (venue-sim in `make run`).
        public var restURL: String?
        public var wsURL: String?
        public var recvWindow: Duration = .seconds(5)
        /// Name of the secret holding API credentials (never the credentials themselves).
        public var credentials: String?
        public var venue: String { "\(exchange).\(market)" }
    }

    public struct NATSSettings: Sendable, Equatable {
        public var url = "nats://localhost:4222"
        public var clusterID = "oms-cluster"
        public var connectTimeout: Duration = .seconds(2)
        public var reconnectWait: Duration = .milliseconds(250)
        public var reconnectWaitMax: Duration = .seconds(5)
        public var maxReconnect = -1
        public var sendAsap = true
    }

    public struct StorageSettings: Sendable, Equatable {
        public var dataDir = "./data"
        public var snapshotInterval: Duration = .seconds(3600)
        public var retentionDays = 30
    }

    public struct CacheSettings: Sendable, Equatable {
        public var defaultTTL: Duration = .seconds(300)
        public var maxSize = 10_000
    }

    public struct JetStreamSettings: Sendable, Equatable {
        public var replicas = 1
        public var storage: StreamSpec.Storage = .file
        public var duplicateWindow: Duration = .seconds(120)
        public var streams: [StreamSpec] = []
    }

    public struct ServiceSettings: Sendable, Equatable {
        public var httpPort: Int
        public var httpHost = "127.0.0.1"
    }

    public struct CoreSettings: Sendable, Equatable {
        public var engineCPU = -1
    }

    public var venues: [VenueMarket] = []
    public var nats = NATSSettings()
    public var storage = StorageSettings()
    public var cache = CacheSettings()
    public var jetstream = JetStreamSettings()
    public var heartbeatInterval: Duration = .seconds(1)
    public var logLevel: Logger.Level = .info
    public var services: [String: ServiceSettings] = OMSConfig.defaultServicePorts
    public var core = CoreSettings()
    /// `oms_server:`, `router:` and the static `instruments:` (OMSConfig+API.swift).
    public var omsServer = OMSServerSettings()
    public var router = RouterSettings()
    public var staticInstruments: [Oms_V1_Instrument] = []
    /// Problems that do not stop a service (unknown keys) for `--check-config`.
    public var warnings: [String] = []
    /// Where it was loaded from.
    public var sourcePath: String = "<defaults>"

    public init() {
        jetstream.streams = OMSConfig.defaultStreams(retentionDays: storage.retentionDays, replicas: 1, storage: .file,
                                                     duplicateWindow: jetstream.duplicateWindow)
    }

    public static let serviceNames = ["oms-server", "oms-core", "router", "binance-spot", "binance-futures", "archiver"]
    static let defaultServicePorts: [String: ServiceSettings] = [
        "oms-server": .init(httpPort: 9101), "oms-core": .init(httpPort: 9102), "router": .init(httpPort: 9103),
        "binance-spot": .init(httpPort: 9104), "binance-futures": .init(httpPort: 9105), "archiver": .init(httpPort: 9106),
    ]

    /// The streams every deployment needs; config may override any of them.
    public static func defaultStreams(retentionDays: Int, replicas: Int, storage: StreamSpec.Storage, duplicateWindow: Duration) -> [StreamSpec] {
        let base: [(String, [String])] = [
            ("ORDERS", ["orders.>"]), ("TRADES", ["trades.>"]), ("POSITIONS", ["positions.>"]),
            ("COMMANDS", ["cmd.>"]), ("DECISIONS", ["risk.>", "routing.>"]), ("ALERTS", ["alerts.>"]),
            ("MARKETDATA", ["md.>"]),
        ]
        return base.map { name, subjects in
            var s = StreamSpec(name: name, subjects: subjects)
            s.replicas = replicas
            s.storage = storage
            s.maxAge = .seconds(Int64(retentionDays) * 86_400)
            s.duplicateWindow = duplicateWindow
            if name == "MARKETDATA" {
                // Market data is re-sent by venues; keeping it in memory for minutes is enough.
                s.storage = .memory
                s.maxAge = .seconds(600)
            }
            return s
        }
    }

    public func venue(_ exchange: String, _ market: String) -> VenueMarket? {
        venues.first { $0.exchange == exchange && $0.market == market }
    }

    public func service(_ name: String) -> ServiceSettings {
        services[name] ?? ServiceSettings(httpPort: 0)
    }

    public var natsConnectionOptions: NATSConnectionOptions {
        var o = NATSConnectionOptions(url: nats.url, name: "oms")
        o.connectTimeout = nats.connectTimeout
        o.reconnectWait = nats.reconnectWait
        o.reconnectWaitMax = nats.reconnectWaitMax
        o.maxReconnect = nats.maxReconnect
        o.sendAsap = nats.sendAsap
        return o
    }

    // MARK: loading

    /// Loads and validates a file; throws `ConfigError` listing every problem.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> OMSConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(path: "<file>", value: nil, expected: "a readable file (\(error.localizedDescription))")])
        }
        var config = try parse(yaml: text, file: path, environment: environment)
        config.sourcePath = path
        return config
    }

    public static func parse(yaml text: String, file: String = "<string>", environment: [String: String] = [:]) throws -> OMSConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(file: file, problems: [ConfigProblem(path: "<yaml>", value: nil, expected: "valid YAML (\(error))")])
        }
        let diagnostics = ConfigReader.Diagnostics()
        let r = ConfigReader(node: root, path: "", diagnostics: diagnostics)
        if let root, root.mapping == nil {
            throw ConfigError(file: file, problems: [ConfigProblem(path: "<root>", value: nil, expected: "a mapping of sections")])
        }
        var c = OMSConfig()
        r.expectKeys(["exchanges", "nats", "nats_options", "storage", "cache", "jetstream", "heartbeat_interval",
                      "log_level", "services", "core", "risk", "instruments", "venue_sim", "secrets", "router", "oms_server", "archiver", "api"])
        c.readExchanges(r.child("exchanges"))
        c.readNATS(r.child("nats"), r.child("nats_options"))
        c.readStorage(r.child("storage"))
        c.readCache(r.child("cache"))
        c.heartbeatInterval = r.duration("heartbeat_interval", default: c.heartbeatInterval, min: .milliseconds(10))
        let level = r.oneOf("log_level", Logger.Level.allCases.map(\.rawValue), default: "info")
        c.logLevel = Logger.Level(rawValue: level) ?? .info
        c.readServices(r.child("services"))
        let core = r.child("core")
        c.core.engineCPU = core.int("engine_cpu", default: -1, range: -1...4095)
        c.readAPISections(r)
        c.applyEnvironment(environment, diagnostics)
        // Streams come last: their retention follows storage.retention_days and the env overrides.
        c.readJetStream(r.child("jetstream"))
        c.warnings = diagnostics.warnings
        if !diagnostics.problems.isEmpty { throw ConfigError(file: file, problems: diagnostics.problems) }
        return c
    }

    private mutating func readExchanges(_ r: ConfigReader) {
        for (exchange, er) in r.entries() {
            guard SubjectToken.isValid(exchange) else {
                r.problem(exchange, exchange, "an exchange name of letters, digits, '-' or '_'")
                continue
            }
            for (market, mr) in er.entries() {
                guard SubjectToken.isValid(market) else {
                    er.problem(market, market, "a market name of letters, digits, '-' or '_'")
                    continue
                }
                mr.expectKeys(["enabled", "test_net", "rate_limits", "rest_url", "ws_url", "recv_window", "credentials", "symbols",
                               "api_mode", "leverage", "margin_type", "position_mode", "accounts", "key_type", "account"])
                var v = VenueMarket(exchange: exchange, market: market)
                v.enabled = mr.bool("enabled", default: false)
                v.testNet = mr.bool("test_net", default: false)
                let rl = mr.child("rate_limits")
                rl.expectKeys(["weight_per_minute", "orders_per_second", "orders_per_10s", "orders_per_day"])
                v.rateLimits.weightPerMinute = rl.int("weight_per_minute", default: v.rateLimits.weightPerMinute, range: 1...1_000_000)
                v.rateLimits.ordersPerSecond = rl.int("orders_per_second", default: v.rateLimits.ordersPerSecond, range: 1...100_000)
                v.rateLimits.ordersPer10s = rl.int("orders_per_10s", default: v.rateLimits.ordersPerSecond * 10, range: 1...1_000_000)
                v.rateLimits.ordersPerDay = rl.int("orders_per_day", default: v.rateLimits.ordersPerDay, range: 1...100_000_000)
                if let u = mr.scalar("rest_url") {
                    if ["http", "https"].contains(URL(string: u)?.scheme ?? "") { v.restURL = u } else { mr.problem("rest_url", u, "an http:// or https:// URL") }
                }
                if let u = mr.scalar("ws_url") {
                    if ["ws", "wss"].contains(URL(string: u)?.scheme ?? "") { v.wsURL = u } else { mr.problem("ws_url", u, "a ws:// or wss:// URL") }
                }
                v.recvWindow = mr.duration("recv_window", default: v.recvWindow, min: .milliseconds(1))
                if v.recvWindow > .seconds(60) { mr.problem("recv_window", DurationParser.format(v.recvWindow), "at most 60s (Binance's maximum)") }
                v.credentials = mr.scalar("credentials")
                venues.append(v)
            }
        }
        venues.sort { $0.venue < $1.venue }
    }

    private mutating func readNATS(_ r: ConfigReader, _ o: ConfigReader) {
        r.expectKeys(["url", "cluster_id"])
        nats.url = r.string("url", default: nats.url)
        if !Self.isNATSURL(nats.url) { r.problem("url", nats.url, "a nats:// or tls:// URL (comma-separate several)") }
        nats.clusterID = r.string("cluster_id", default: nats.clusterID)
        o.expectKeys(["connect_timeout", "reconnect_wait", "reconnect_wait_max", "max_reconnect", "send_asap"])
        nats.connectTimeout = o.duration("connect_timeout", default: nats.connectTimeout, min: .milliseconds(1))
        nats.reconnectWait = o.duration("reconnect_wait", default: nats.reconnectWait, min: .milliseconds(1))
        nats.reconnectWaitMax = o.duration("reconnect_wait_max", default: nats.reconnectWaitMax, min: .milliseconds(1))
        if nats.reconnectWaitMax < nats.reconnectWait {
            o.problem("reconnect_wait_max", DurationParser.format(nats.reconnectWaitMax), "at least reconnect_wait (\(DurationParser.format(nats.reconnectWait)))")
        }
        nats.maxReconnect = o.int("max_reconnect", default: -1, range: -1...Int(Int32.max))
        nats.sendAsap = o.bool("send_asap", default: true)
    }

    static func isNATSURL(_ s: String) -> Bool {
        s.split(separator: ",").allSatisfy { part in
            guard let u = URL(string: String(part).trimmingCharacters(in: .whitespaces)), let scheme = u.scheme,
                  ["nats", "tls", "ws", "wss"].contains(scheme), let host = u.host, !host.isEmpty else { return false }
            return true
        }
    }

    private mutating func readStorage(_ r: ConfigReader) {
        r.expectKeys(["data_dir", "snapshot_interval", "retention_days"])
        storage.dataDir = r.string("data_dir", default: storage.dataDir)
        storage.snapshotInterval = r.duration("snapshot_interval", default: storage.snapshotInterval, min: .seconds(1))
        storage.retentionDays = r.int("retention_days", default: storage.retentionDays, range: 1...36_500)
    }

    private mutating func readCache(_ r: ConfigReader) {
        r.expectKeys(["default_ttl", "max_size"])
        cache.defaultTTL = r.duration("default_ttl", default: cache.defaultTTL, min: .milliseconds(1))
        cache.maxSize = r.int("max_size", default: cache.maxSize, range: 1...100_000_000)
    }

    private mutating func readJetStream(_ r: ConfigReader) {
        r.expectKeys(["replicas", "storage", "duplicate_window", "streams"])
        if r.has("replicas") { jetstream.replicas = r.int("replicas", default: jetstream.replicas, range: 1...5) }
        jetstream.storage = StreamSpec.Storage(rawValue: r.oneOf("storage", ["file", "memory"], default: jetstream.storage.rawValue)) ?? .file
        jetstream.duplicateWindow = r.duration("duplicate_window", default: jetstream.duplicateWindow, min: .milliseconds(100))
        var streams = Self.defaultStreams(retentionDays: storage.retentionDays, replicas: jetstream.replicas,
                                          storage: jetstream.storage, duplicateWindow: jetstream.duplicateWindow)
        for entry in r.sequence("streams") ?? [] {
            entry.expectKeys(["name", "subjects", "storage", "max_age", "replicas", "max_msgs_per_subject"])
            let name = entry.string("name", default: "")
            guard !name.isEmpty else { continue }
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                entry.problem("name", name, "a stream name of letters, digits, '-' or '_'")
                continue
            }
            var spec = streams.first { $0.name == name } ?? {
                var s = StreamSpec(name: name, subjects: [])
                s.replicas = jetstream.replicas
                s.storage = jetstream.storage
                s.maxAge = .seconds(Int64(storage.retentionDays) * 86_400)
                s.duplicateWindow = jetstream.duplicateWindow
                return s
            }()
            if let subjects = entry.stringList("subjects") {
                if subjects.isEmpty || !subjects.allSatisfy({ SubjectToken.isValidFilter($0) }) {
                    entry.problem("subjects", subjects.joined(separator: ","), "a non-empty list of subjects (tokens, '*' or a final '>')")
                } else {
                    spec.subjects = subjects
                }
            }
            if entry.has("storage") {
                spec.storage = StreamSpec.Storage(rawValue: entry.oneOf("storage", ["file", "memory"], default: "file")) ?? .file
            }
            if entry.has("max_age") { spec.maxAge = entry.duration("max_age", default: spec.maxAge, min: .seconds(1)) }
            if entry.has("replicas") { spec.replicas = entry.int("replicas", default: spec.replicas, range: 1...5) }
            if entry.has("max_msgs_per_subject") {
                spec.maxMsgsPerSubject = Int64(entry.int("max_msgs_per_subject", default: -1, range: -1...Int(Int32.max)))
            }
            if spec.subjects.isEmpty { entry.problem("subjects", nil, "subjects are required for a new stream") }
            if let i = streams.firstIndex(where: { $0.name == name }) { streams[i] = spec } else { streams.append(spec) }
        }
        jetstream.streams = streams
    }

    private mutating func readServices(_ r: ConfigReader) {
        for (name, sr) in r.entries() {
            sr.expectKeys(["http_port", "http_host"])
            var s = services[name] ?? ServiceSettings(httpPort: 0)
            s.httpPort = sr.int("http_port", default: s.httpPort, range: 0...65_535)
            s.httpHost = sr.string("http_host", default: s.httpHost)
            services[name] = s
        }
    }

    /// OMS_NATS_URL, OMS_DATA_DIR, OMS_LOG_LEVEL, OMS_JS_REPLICAS, OMS_HEARTBEAT_INTERVAL,
    /// OMS_HTTP_PORT_<SERVICE> (service name upper-cased, '-' -> '_').
    private mutating func applyEnvironment(_ env: [String: String], _ d: ConfigReader.Diagnostics) {
        func bad(_ key: String, _ value: String, _ expected: String) {
            d.problems.append(ConfigProblem(path: "env \(key)", value: value, expected: expected))
        }
        if let v = env["OMS_NATS_URL"] {
            if Self.isNATSURL(v) { nats.url = v } else { bad("OMS_NATS_URL", v, "a nats:// or tls:// URL") }
        }
        if let v = env["OMS_DATA_DIR"] {
            if v.isEmpty { bad("OMS_DATA_DIR", v, "a directory path") } else { storage.dataDir = v }
        }
        if let v = env["OMS_LOG_LEVEL"] {
            if let l = Logger.Level(rawValue: v.lowercased()) { logLevel = l } else {
                bad("OMS_LOG_LEVEL", v, "one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let v = env["OMS_JS_REPLICAS"] {
            if let n = Int(v), (1...5).contains(n) { jetstream.replicas = n } else { bad("OMS_JS_REPLICAS", v, "an integer in 1...5") }
        }
        if let v = env["OMS_HEARTBEAT_INTERVAL"] {
            if let dur = DurationParser.parse(v), dur >= .milliseconds(10) { heartbeatInterval = dur } else {
                bad("OMS_HEARTBEAT_INTERVAL", v, "a duration of at least 10ms")
            }
        }
        for name in Set(services.keys).union(Self.serviceNames) {
            let key = "OMS_HTTP_PORT_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            if let v = env[key] {
                if let p = Int(v), (0...65_535).contains(p) { services[name, default: ServiceSettings(httpPort: 0)].httpPort = p } else {
                    bad(key, v, "a port number 0...65535")
                }
            }
        }
    }
}
