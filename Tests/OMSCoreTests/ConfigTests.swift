import Foundation
@testable import OMSCore
import Testing

@Suite struct ConfigTests {
    /// The seed README's example block, verbatim (including its trailing spaces).
    static let seedBlock = """
    exchanges:
      binance:
        spot:
          enabled: true
          test_net: true
          rate_limits:
            weight_per_minute: 1200
            orders_per_second: 10
            orders_per_day: 200000

    nats:
      url: "nats://localhost:4222"
      cluster_id: "oms-cluster"
      
    storage:
      data_dir: "./data"
      snapshot_interval: "1h"
      retention_days: 30
      
    cache:
      default_ttl: "5m"
      max_size: 10000
    """

    @Test func seedReadmeBlockLoadsAsIs() throws {
        let c = try OMSConfig.parse(yaml: Self.seedBlock)
        let spot = try #require(c.venue("binance", "spot"))
        #expect(spot.enabled && spot.testNet)
        #expect(spot.rateLimits.weightPerMinute == 1200)
        #expect(spot.rateLimits.ordersPerSecond == 10)
        #expect(spot.rateLimits.ordersPerDay == 200_000)
        #expect(c.nats.url == "nats://localhost:4222")
        #expect(c.nats.clusterID == "oms-cluster")
        #expect(c.storage.dataDir == "./data")
        #expect(c.storage.snapshotInterval == .seconds(3600))
        #expect(c.storage.retentionDays == 30)
        #expect(c.cache.defaultTTL == .seconds(300))
        #expect(c.cache.maxSize == 10_000)
        #expect(c.warnings.isEmpty)
        // Streams default from retention_days.
        let orders = try #require(c.jetstream.streams.first { $0.name == "ORDERS" })
        #expect(orders.maxAge == .seconds(30 * 86_400))
        #expect(orders.storage == .file)
    }

    @Test func repositoryConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../configs/config.yaml").standardized.path
        let c = try OMSConfig.load(path: path, environment: [:])
        #expect(Set(c.jetstream.streams.map(\.name)) == ["ORDERS", "TRADES", "POSITIONS", "COMMANDS", "DECISIONS", "ALERTS", "MARKETDATA"])
        #expect(c.service("oms-core").httpPort == 9102)
        #expect(c.jetstream.streams.first { $0.name == "MARKETDATA" }?.storage == .memory)
        #expect(c.warnings.isEmpty, "\(c.warnings)")
    }

    @Test func badValuesNameKeyValueAndExpectation() throws {
        let yaml = """
        nats:
          url: "http://localhost:4222"
        storage:
          snapshot_interval: "soon"
          retention_days: -3
        cache:
          max_size: lots
        exchanges:
          binance:
            spot:
              enabled: maybe
        """
        do {
            _ = try OMSConfig.parse(yaml: yaml, file: "bad.yaml")
            Issue.record("a bad config loaded")
        } catch let error as ConfigError {
            let text = error.description
            #expect(error.problems.count == 5)
            #expect(text.contains(#"nats.url: "http://localhost:4222" is invalid: expected a nats:// or tls:// URL"#))
            #expect(text.contains(#"storage.snapshot_interval: "soon" is invalid: expected a duration"#))
            #expect(text.contains(#"storage.retention_days: "-3" is invalid: expected an integer in 1...36500"#))
            #expect(text.contains(#"cache.max_size: "lots""#))
            #expect(text.contains(#"exchanges.binance.spot.enabled: "maybe" is invalid: expected true or false"#))
            #expect(text.hasPrefix("bad.yaml: 5 problems"))
        }
    }

    @Test func malformedYAMLIsAnError() {
        #expect(throws: ConfigError.self) { try OMSConfig.parse(yaml: "nats: [unclosed") }
        #expect(throws: ConfigError.self) { try OMSConfig.parse(yaml: "- just\n- a list") }
        #expect(throws: ConfigError.self) { try OMSConfig.load(path: "/nonexistent/config.yaml") }
    }

    @Test func unknownKeysAreWarningsNotErrors() throws {
        let c = try OMSConfig.parse(yaml: "nats:\n  url: nats://a:1\n  urll: nats://typo:2\n")
        #expect(c.warnings == ["nats.urll: unknown key (ignored)"])
    }

    @Test func environmentOverrides() throws {
        let c = try OMSConfig.parse(yaml: Self.seedBlock, environment: [
            "OMS_NATS_URL": "nats://10.0.0.5:4333", "OMS_DATA_DIR": "/var/lib/oms", "OMS_LOG_LEVEL": "debug",
            "OMS_HTTP_PORT_OMS_CORE": "19102", "OMS_JS_REPLICAS": "3",
        ])
        #expect(c.nats.url == "nats://10.0.0.5:4333")
        #expect(c.storage.dataDir == "/var/lib/oms")
        #expect(c.logLevel == .debug)
        #expect(c.service("oms-core").httpPort == 19102)
        #expect(c.jetstream.streams.allSatisfy { $0.replicas == 3 })
        #expect(throws: ConfigError.self) { try OMSConfig.parse(yaml: Self.seedBlock, environment: ["OMS_NATS_URL": "localhost"]) }
    }

    @Test func streamOverridesAndValidation() throws {
        let c = try OMSConfig.parse(yaml: """
        storage: { retention_days: 7 }
        jetstream:
          replicas: 3
          streams:
            - { name: ORDERS, subjects: ["orders.>"], max_age: "2d" }
            - { name: EXTRA, subjects: ["extra.*.x"] }
        """)
        #expect(c.jetstream.streams.first { $0.name == "ORDERS" }?.maxAge == .seconds(2 * 86_400))
        #expect(c.jetstream.streams.first { $0.name == "TRADES" }?.maxAge == .seconds(7 * 86_400))
        #expect(c.jetstream.streams.first { $0.name == "EXTRA" }?.replicas == 3)
        #expect(throws: ConfigError.self) {
            try OMSConfig.parse(yaml: "jetstream:\n  streams:\n    - { name: BAD, subjects: [\"a.>.b\"] }\n")
        }
    }

    @Test(arguments: [("250ms", Duration.milliseconds(250)), ("2s", .seconds(2)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
                      ("7d", .seconds(604_800)), ("1h30m", .seconds(5400)), ("1.5s", .milliseconds(1500)), ("100us", .microseconds(100))])
    func durationsParse(text: String, expected: Duration) {
        #expect(DurationParser.parse(text) == expected)
    }

    @Test(arguments: ["", "5", "abc", "5 parsecs", "-1s", "s"])
    func badDurationsAreRejected(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }
}

@Suite struct SubjectTests {
    @Test func seedSubjects() throws {
        #expect(try Subjects.orders(exchange: "binance", market: "spot", symbol: "BTCUSDT") == "orders.binance.spot.BTCUSDT")
        #expect(try Subjects.trades(exchange: "binance", market: "futures", symbol: "ETHUSDT") == "trades.binance.futures.ETHUSDT")
        #expect(try Subjects.positions(exchange: "okx", market: "spot") == "positions.okx.spot")
        #expect(try Subjects.riskCommand(exchange: "auto", market: "spot", symbol: "BTCUSDT") == "cmd.risk.auto.spot.BTCUSDT")
        #expect(try Subjects.heartbeat(service: "oms-core", instance: "host-1") == "hb.oms-core.host-1")
    }

    @Test(arguments: ["BTC.USDT", "*", ">", "BTC USDT", "", "BTC>", String(repeating: "A", count: 65), "ÜSDT"])
    func badTokensNeverMakeWildcards(symbol: String) {
        #expect(throws: InvalidSubjectToken.self) { try Subjects.orders(exchange: "binance", market: "spot", symbol: symbol) }
    }

    @Test func symbolsNormalise() throws {
        #expect(try Symbol.normalized("btc/usdt") == "BTCUSDT")
        #expect(try Symbol.normalized("BTC-USDT") == "BTCUSDT")
        #expect(try Symbol.normalized("eth_usdt") == "ETHUSDT")
        #expect(throws: InvalidSubjectToken.self) { try Symbol.normalized("BTC.USDT") }
        #expect(throws: InvalidSubjectToken.self) { try Symbol.normalized("BTC*") }
    }

    @Test func filters() {
        #expect(SubjectToken.isValidFilter("orders.>"))
        #expect(SubjectToken.isValidFilter("orders.*.spot.*"))
        #expect(!SubjectToken.isValidFilter("orders.>.x"))
        #expect(!SubjectToken.isValidFilter("orders..x"))
    }

    @Test func headersAreCaseInsensitiveAndOrdered() {
        var h: MessageHeaders = ["Oms-Type": "oms.v1.Fill"]
        h["oms-type"] = "oms.v1.OrderEvent"
        h[OMSHeader.id] = "x"
        #expect(h["OMS-TYPE"] == "oms.v1.OrderEvent")
        #expect(h.fields.map(\.0) == ["oms-type", "Oms-Id"])
    }

    @Test func urlCredentialsAreRedacted() {
        #expect(redactedURL("nats://user:secret@host:4222") == "nats://***@host:4222")
        #expect(redactedURL("nats://host:4222") == "nats://host:4222")
    }
}
