import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import OMSCore
import Synchronization
import Testing
import VenueSimCore
@testable import BinanceConnector

/// Command on NATS -> connector -> venue-sim -> fills back on trades.binance.spot.*, with a
/// WebSocket drop and injected 5xx mid-run; nothing lost, nothing duplicated.
@Suite(.serialized) struct EndToEndTests {
    struct Env {
        let nats: NATSServer
        let conn: NATSConnection
        let js: JetStream
        let server: VenueServer
        let port: Int
        let serverTask: Task<Void, Error>
    }

    static func startEnv() async throws -> Env {
        let nats = try NATSServer()
        let conn = try nats.connect()
        let js = try conn.jetStream()
        for spec in OMSConfig.defaultStreams(retentionDays: 1, replicas: 1, storage: .file, duplicateWindow: .seconds(120)) {
            try js.ensureStream(spec)
        }
        var cfg = try SimConfig.load(path: repoRoot().appendingPathComponent("configs/venue-sim.yaml").path)
        cfg.port = 0
        var logger = Logger(label: "venue-sim")
        logger.logLevel = .error
        let server = VenueServer(config: cfg, logger: logger)
        let portBox = Mutex<Int>(0)
        let task = Task { try await server.run { p in portBox.withLock { $0 = p } } }
        let deadline = ContinuousClock.now + .seconds(10)
        while portBox.withLock({ $0 }) == 0 {
            guard ContinuousClock.now < deadline else { throw FixtureFailure("venue-sim did not start") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Env(nats: nats, conn: conn, js: js, server: server, port: portBox.withLock { $0 }, serverTask: task)
    }

    static func venueConfig(port: Int, path: BinanceVenueConfig.OrderPath) -> BinanceVenueConfig {
        let yaml = """
        exchanges:
          binance:
            spot:
              enabled: true
              rest_url: "http://127.0.0.1:\(port)"
              ws_url: "ws://127.0.0.1:\(port)"
              recv_window: "1s"
              rate_limits: { weight_per_minute: 6000, orders_per_second: 100, orders_per_10s: 100, orders_per_day: 200000 }
        """
        let v = try! OMSConfig.parse(yaml: yaml).venue("binance", "spot")!
        var c = BinanceVenueConfig(product: .spot, venue: v, extra: .init(symbols: ["BTCUSDT"], apiMode: path, account: "demo"))
        c.requestTimeout = .seconds(2)
        return c
    }

    static func ed25519Credentials() throws -> BinanceCredentials {
        let pem = try String(contentsOf: repoRoot().appendingPathComponent("configs/venue-sim-demo-ed25519.pem"), encoding: .utf8)
        return BinanceCredentials(apiKey: "demo-ed25519-api-key-00000000000000000000000000000000000000000003", signer: try .ed25519(privateKey: pem))
    }

    static func faults(_ port: Int, _ json: String) async throws {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/sim/faults")!)
        req.httpMethod = "POST"
        req.httpBody = Data(json.utf8)
        _ = try await URLSession.shared.data(for: req)
    }

    static func command(orderID: String, commandID: String, qty: String = "0.001") -> Oms_V1_OrderCommand {
        Oms_V1_OrderCommand.with { c in
            c.commandID = commandID
            c.newOrder = .with { n in
                n.orderID = orderID
                n.clientOrderID = "client-\(orderID)"
                n.account = "demo"
                n.instrument = .with { $0.exchange = "binance"; $0.market = "spot"; $0.symbol = "BTCUSDT" }
                n.side = .buy
                n.orderType = .market
                n.quantity = FixedPoint.decimal(qty)!
                n.tsNs = Int64(Date().timeIntervalSince1970 * 1e9)
            }
        }
    }

    /// Every message on a stream subject filter (ephemeral durable, deleted afterwards).
    static func readAll(_ js: JetStream, stream: String, filter: String) async throws -> [JetStreamMessage] {
        let name = "t-\(UInt32.random(in: 0...UInt32.max))"
        let c = try js.pullConsumer(stream: stream, ConsumerSpec(durable: name, filterSubject: filter))
        var out: [JetStreamMessage] = []
        while true {
            let b = try await c.fetch(batch: 500, timeout: .milliseconds(300))
            if b.isEmpty { break }
            for m in b { try? m.ack() }
            out += b
        }
        c.close()
        try? js.deleteConsumer(stream: stream, durable: name)
        return out
    }

    @Test(.timeLimit(.minutes(3))) func ordersTradeThroughFaultsWithoutLossOrDuplicates() async throws {
        let env = try await Self.startEnv()
        defer { env.serverTask.cancel() }
        var logger = Logger(label: "binance-spot-test")
        logger.logLevel = ProcessInfo.processInfo.environment["BN_TEST_LOG"] == nil ? .error : .info
        let config = Self.venueConfig(port: env.port, path: .websocket)
        let creds = try Self.ed25519Credentials()
        let limiter = BinanceRateLimiter(limits: config.rateLimits)
        let clock = ServerClock()
        let rest = BinanceRESTClient(config: config, credentials: creds, limiter: limiter, clock: clock, logger: logger)
        let ws = BinanceWSAPIClient(config: config, credentials: creds, clock: clock, limiter: limiter, logger: logger)
        let exec = BinanceExecutionClient(config: config, rest: rest, ws: ws, jetStream: env.js, logger: logger, health: nil, producer: "binance-spot")
        let md = BinanceMarketDataClient(config: config, symbols: ["BTCUSDT"], rest: rest, nats: env.conn, logger: logger, producer: "binance-spot")
        let run = Task { try await exec.run() }
        let mdRun = Task { await md.run() }
        defer { run.cancel(); mdRun.cancel() }

        // Session up (logon + user-data subscription).
        var deadline = ContinuousClock.now + .seconds(15)
        while !ws.isReady {
            guard ContinuousClock.now < deadline else { Issue.record("ws-api session never became ready"); return }
            try await Task.sleep(for: .milliseconds(50))
        }

        let total = 24
        func send(_ i: Int) async throws {
            let cmd = Self.command(orderID: "e2e-\(i)", commandID: "cmd-\(i)")
            _ = try await env.js.publish(cmd, subject: "cmd.venue.binance.spot.BTCUSDT", id: cmd.commandID, producer: "test")
        }
        for i in 0..<8 { try await send(i) }
        try await Task.sleep(for: .milliseconds(500))
        // Fault 1: drop every WebSocket (ws-api and market streams) and arm 5xx on the next REST calls,
        // so orders fall back to REST, meet 503s (status unknown), and are queried before any resend.
        try await Self.faults(env.port, #"{"dropWebSockets":"all","restErrors":{"count":3,"status":503}}"#)
        for i in 8..<16 { try await send(i) }
        try await Task.sleep(for: .milliseconds(300))
        // Fault 2: a replay of an already-placed order under a new command id must not trade twice,
        // and another 5xx burst.
        let replay = Self.command(orderID: "e2e-3", commandID: "cmd-3-replayed")
        _ = try await env.js.publish(replay, subject: "cmd.venue.binance.spot.BTCUSDT", id: replay.commandID, producer: "test")
        try await Self.faults(env.port, #"{"restErrors":{"count":2,"status":500}}"#)
        for i in 16..<total { try await send(i) }

        // Every order FILLED on ORDERS; fills on TRADES.
        deadline = ContinuousClock.now + .seconds(60)
        var filled: Set<String> = []
        while filled.count < total && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let events = try await Self.readAll(env.js, stream: "ORDERS", filter: "orders.binance.spot.BTCUSDT")
            filled = Set(events.compactMap { try? Oms_V1_OrderEvent(serializedBytes: $0.payload) }.filter { $0.order.status == .filled }.map(\.order.orderID))
        }
        #expect(filled.count == total, "filled \(filled.count)/\(total)")

        // The venue's view: exactly one venue order per OMS order, and the fills match one to one.
        let venueOrders = try rest.decode([OrderResponse].self, try await rest.send(.GET, "/api/v3/allOrders", [("symbol", "BTCUSDT")], security: .signed, weight: 20))
        let ours = venueOrders.filter { ($0.clientOrderId ?? "").hasPrefix("e2e-") }
        let perClient = Dictionary(grouping: ours, by: { $0.clientOrderId! })
        #expect(perClient.count == total)
        #expect(perClient.values.allSatisfy { $0.count == 1 }, "duplicate venue orders: \(perClient.filter { $0.value.count > 1 }.keys.sorted())")
        let ourOrderIDs = Set(ours.map(\.orderId))
        let venueTrades = try await rest.myTrades(symbol: "BTCUSDT", startTime: 0).filter { ourOrderIDs.contains($0.orderId) }
        let fills = try await Self.readAll(env.js, stream: "TRADES", filter: "trades.binance.spot.>").compactMap { try? Oms_V1_Fill(serializedBytes: $0.payload) }
        #expect(fills.count == venueTrades.count, "fills \(fills.count) vs venue trades \(venueTrades.count)")
        #expect(Set(fills.map(\.tradeID)) == Set(venueTrades.map { String($0.id) }))
        #expect(Set(fills.map(\.orderID)).count == total)
        #expect(fills.allSatisfy { $0.orderID.hasPrefix("e2e-") && $0.account == "demo" && $0.clientOrderID.hasPrefix("client-") })

        // Clean latency sample after the faults: command received -> order bytes written to the WebSocket.
        exec.latency.reset()
        let clean = 40
        for i in 0..<clean {
            let cmd = Self.command(orderID: "lat-\(i)", commandID: "lat-cmd-\(i)")
            _ = try await env.js.publish(cmd, subject: "cmd.venue.binance.spot.BTCUSDT", id: cmd.commandID, producer: "test")
            try await Task.sleep(for: .milliseconds(20))
        }
        deadline = ContinuousClock.now + .seconds(30)
        while exec.latency.count < clean && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }

        // Market data flowed and the book resynced after the drop.
        #expect(md.book("BTCUSDT") != nil || md.stats.snapshots > 0)
        let p50 = exec.latency.percentile(0.5).map { Double($0) / 1000 } ?? -1
        let p99 = exec.latency.percentile(0.99).map { Double($0) / 1000 } ?? -1
        run.cancel()
        mdRun.cancel()
        try await Task.sleep(for: .milliseconds(200))
        await rest.shutdown()
        print("binance-spot e2e: \(total) orders, \(fills.count) fills, ws connects \(ws.connects), md snapshots \(md.stats.snapshots), md deltas \(md.stats.deltas); command->request-written p50 \(String(format: "%.0f", p50)) us p99 \(String(format: "%.0f", p99)) us (debug build, \(exec.latency.count) clean samples, WS API path)")
    }
}

/// Commands for different orders run concurrently; one order's commands stay in sequence.
@Suite(.serialized) struct ConcurrentCommandTests {
    /// One order's answer is lost (-1007 over the WebSocket API) and the query that must settle it
    /// is slowed down at the venue: the orders sent after it are placed and filled meanwhile,
    /// instead of queueing behind it; in the end every order exists exactly once at the venue.
    @Test(.timeLimit(.minutes(2))) func unknownOutcomeDoesNotStallOtherOrders() async throws {
        let env = try await EndToEndTests.startEnv()
        defer { env.serverTask.cancel() }
        var logger = Logger(label: "binance-spot-test")
        logger.logLevel = ProcessInfo.processInfo.environment["BN_TEST_LOG"] == nil ? .error : .info
        let config = EndToEndTests.venueConfig(port: env.port, path: .websocket)
        let creds = try EndToEndTests.ed25519Credentials()
        let limiter = BinanceRateLimiter(limits: config.rateLimits)
        let clock = ServerClock()
        let rest = BinanceRESTClient(config: config, credentials: creds, limiter: limiter, clock: clock, logger: logger)
        let ws = BinanceWSAPIClient(config: config, credentials: creds, clock: clock, limiter: limiter, logger: logger)
        let exec = BinanceExecutionClient(config: config, rest: rest, ws: ws, jetStream: env.js, logger: logger, health: nil, producer: "binance-spot")
        let run = Task { try await exec.run() }
        defer { run.cancel() }
        var deadline = ContinuousClock.now + .seconds(15)
        while !ws.isReady {
            guard ContinuousClock.now < deadline else { Issue.record("ws-api session never became ready"); return }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))  // the session-start reconcile's REST calls are done

        // The next WS order executes but its answer is lost; the REST queries that must settle it are
        // held 4 s each at the venue (the client gives up after its 2 s timeout and asks again): ~6 s.
        try await EndToEndTests.faults(env.port, #"{"wsApiUnknown":{"count":1},"restDelays":{"count":3,"ms":4000}}"#)
        let slow = EndToEndTests.command(orderID: "lost-0", commandID: "lost-cmd-0")
        _ = try await env.js.publish(slow, subject: "cmd.venue.binance.spot.BTCUSDT", id: slow.commandID, producer: "test")
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        let others = 10
        for i in 0..<others {
            let cmd = EndToEndTests.command(orderID: "next-\(i)", commandID: "next-cmd-\(i)")
            _ = try await env.js.publish(cmd, subject: "cmd.venue.binance.spot.BTCUSDT", id: cmd.commandID, producer: "test")
        }
        func filledOrders() async throws -> Set<String> {
            let events = try await EndToEndTests.readAll(env.js, stream: "ORDERS", filter: "orders.binance.spot.BTCUSDT")
            return Set(events.compactMap { try? Oms_V1_OrderEvent(serializedBytes: $0.payload) }.filter { $0.order.status == .filled }.map(\.order.orderID))
        }
        var filled: Set<String> = []
        // The unknown order needs ~6 s to settle; 4.5 s still tells "not queued behind it" apart
        // while leaving a slow CI runner room.
        deadline = started + .seconds(4.5)
        while filled.filter({ $0.hasPrefix("next-") }).count < others && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            filled = try await filledOrders()
        }
        let elapsed = ContinuousClock.now - started
        #expect(filled.filter { $0.hasPrefix("next-") }.count == others, "only \(filled.count) filled after \(elapsed): the other orders waited behind the unknown one")
        // (The venue executed it, so its fill may already have come over the user data stream;
        // its command is what is still waiting for the query.)
        #expect(!exec.store.withLock { $0.doneCommands.contains("lost-cmd-0") }, "the lost answer was settled before the others: the fault did not bite")

        // The unknown one settles from the query (found, not resent).
        deadline = ContinuousClock.now + .seconds(20)
        while !(exec.store.withLock { $0.doneCommands.contains("lost-cmd-0") }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
        }
        filled = try await filledOrders()
        #expect(exec.store.withLock { $0.doneCommands.contains("lost-cmd-0") })
        #expect(filled.contains("lost-0"))
        let venueOrders = try rest.decode([OrderResponse].self, try await rest.send(.GET, "/api/v3/allOrders", [("symbol", "BTCUSDT")], security: .signed, weight: 20))
        let perClient = Dictionary(grouping: venueOrders.filter { ($0.clientOrderId ?? "").hasPrefix("lost-") || ($0.clientOrderId ?? "").hasPrefix("next-") }, by: { $0.clientOrderId! })
        #expect(perClient.count == others + 1)
        #expect(perClient.values.allSatisfy { $0.count == 1 }, "duplicate venue orders: \(perClient.filter { $0.value.count > 1 }.keys.sorted())")
        run.cancel()
        try await Task.sleep(for: .milliseconds(200))
        await rest.shutdown()
    }
}
