import Foundation
import Logging
import OMSCore
import Testing
@testable import BinanceConnector

/// Orders a previous incarnation placed and then died before publishing anything about (a fault-suite run lost
/// 16 fills this way, after a kill -9 of binance-spot): a successor that learns their state, from a query or from
/// reconciliation, publishes their fills too, once each, with the order's side and account.
@Suite(.serialized) struct OrphanFillTests {
    @Test(.timeLimit(.minutes(2))) func filledOrdersLearntByQueryOrReconcileBringTheirFills() async throws {
        try await Self.withVenue("orphan-fills", futures: false) { env, config, rest, logger in
            try await Self.scenario(rest: rest, config: config, env: env, logger: logger)
        }
    }

    /// venue-sim and nats-server for `body`, with a REST client of the spot or the futures API.
    static func withVenue(_ label: String, futures: Bool,
                          _ body: (EndToEndTests.Env, BinanceVenueConfig, BinanceRESTClient, Logger) async throws -> Void) async throws {
        let env = try await EndToEndTests.startEnv()
        defer { env.serverTask.cancel() }
        var logger = Logger(label: label)
        logger.logLevel = .error
        let config = futures ? FuturesEndToEndTests.venueConfig(port: env.port) : EndToEndTests.venueConfig(port: env.port, path: .rest)
        let credentials = futures ? FuturesEndToEndTests.creds : try EndToEndTests.ed25519Credentials()
        try await withREST(config, credentials, logger: logger) { rest in try await body(env, config, rest, logger) }
    }

    /// A REST client for `body`, shut down whatever happens (its HTTP client traps in deinit otherwise).
    static func withREST(_ config: BinanceVenueConfig, _ credentials: BinanceCredentials, logger: Logger,
                         _ body: (BinanceRESTClient) async throws -> Void) async throws {
        let rest = BinanceRESTClient(config: config, credentials: credentials, limiter: BinanceRateLimiter(limits: config.rateLimits),
                                     clock: ServerClock(), logger: logger)
        let outcome: Result<Void, Error>
        do {
            try await body(rest)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await rest.shutdown()
        try outcome.get()
    }

    static func scenario(rest: BinanceRESTClient, config: BinanceVenueConfig, env: EndToEndTests.Env, logger: Logger) async throws {
        // The previous incarnation: market orders filled at the venue, nothing published about them.
        let ids = ["orphan-q", "orphan-r1", "orphan-r2"]
        for id in ids {
            let r = try await rest.newOrder([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.001"),
                                             ("newClientOrderId", id)])
            try #require(r.status == "FILLED")
        }
        let venueTrades = try await rest.myTrades(symbol: "BTCUSDT", startTime: 0)
        #expect(venueTrades.count >= ids.count)
        // Paging: the same trades read one per page (fromId after the first).
        #expect(try await rest.myTrades(symbol: "BTCUSDT", startTime: 0, pageSize: 1).map(\.id) == venueTrades.map(\.id))

        let exec = BinanceExecutionClient(config: config, rest: rest, ws: nil, jetStream: env.js, logger: logger, health: nil,
                                          producer: "binance-spot")
        // A redelivered command's query settles the first: the answer has no fills, the order's trades are read.
        let q = try await rest.queryOrder(symbol: "BTCUSDT", origClientOrderId: "orphan-q")
        #expect(q.status == "FILLED" && (q.fills ?? []).isEmpty)
        await exec.apply(response: q, venueID: "orphan-q")
        // The others are found by reconciliation, from the account's trades.
        try await exec.reconcile(reason: "test")
        try await exec.reconcile(reason: "test again")  // nothing twice

        try await expectEveryTradeOnce(env.js, market: "spot", venueTradeIDs: venueTrades.map(\.id), orders: ids)
    }

    /// The same in binance-futures: one order settled by a redelivered command's query, two found by reconciliation
    /// from the account's trades (before, futures reconciliation skipped the trades of orders it did not hold).
    @Test(.timeLimit(.minutes(2))) func futuresFilledOrdersLearntByQueryOrReconcileBringTheirFills() async throws {
        try await Self.withVenue("orphan-fills-futures", futures: true) { env, config, rest, logger in
            try await Self.futuresScenario(rest: rest, config: config, env: env, logger: logger)
        }
    }

    static func futuresScenario(rest: BinanceRESTClient, config: BinanceVenueConfig, env: EndToEndTests.Env, logger: Logger) async throws {
        let ids = ["forphan-q", "forphan-r1", "forphan-r2"]
        let startMs = rest.clock.nowMs() - 60_000
        for id in ids {
            let r = try rest.decode(FuturesOrderResponse.self, try await rest.send(.POST, "/fapi/v1/order", [
                ("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.010"), ("newClientOrderId", id),
                ("newOrderRespType", "RESULT")], security: .signed, weight: 1))
            try #require(r.status == "FILLED")
        }
        let venueTrades = try await BinanceFuturesExecutionClient.userTrades(rest, symbol: "BTCUSDT", since: startMs)
        #expect(venueTrades.count >= ids.count)
        // Paging: the same trades read one per page (fromId after the first page; Binance refuses it with startTime).
        #expect(try await BinanceFuturesExecutionClient.userTrades(rest, symbol: "BTCUSDT", since: startMs, pageSize: 1).map(\.id) == venueTrades.map(\.id))

        let exec = BinanceFuturesExecutionClient(config: config, settings: FuturesSettings(hedgeMode: false, defaultMarginType: "CROSSED"), rest: rest,
                                                 jetStream: env.js, logger: logger, health: nil, producer: "binance-futures")
        let q = try rest.decode(FuturesOrderResponse.self, try await rest.send(.GET, "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "forphan-q")],
                                                                             security: .signed, weight: 1))
        #expect(q.status == "FILLED")
        await exec.apply(q, venueID: "forphan-q")
        try await exec.reconcile(reason: "test")
        try await exec.reconcile(reason: "test again")  // nothing twice

        try await expectEveryTradeOnce(env.js, market: "futures", venueTradeIDs: venueTrades.map(\.id), orders: ids)
    }

    /// An answer whose fills should come on the user data stream (every futures answer): only the acknowledgement is
    /// published from it, never FILLED before the trades; if the stream does not bring them, REST does, in order.
    @Test(.timeLimit(.minutes(2))) func answerFillsLeftToTheStreamAreReadWhenTheStreamDoesNotBringThem() async throws {
        try await Self.withVenue("fills-on-stream", futures: false) { env, config, rest, logger in
            var answer = try await rest.newOrder([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.001"),
                                                  ("newClientOrderId", "on-stream")])
            try #require(answer.status == "FILLED")
            answer.fills = nil   // as a futures answer: no fills in it
            let exec = BinanceExecutionClient(config: config, rest: rest, ws: nil, jetStream: env.js, logger: logger, health: nil,
                                              producer: "binance-spot")
            await exec.apply(response: answer, venueID: "on-stream", fillsOnStream: true)
            func states() async throws -> [Oms_V1_OrderStatus] {
                try await EndToEndTests.readAll(env.js, stream: "ORDERS", filter: "orders.binance.spot.>")
                    .compactMap { try? Oms_V1_OrderEvent(serializedBytes: $0.payload) }.filter { $0.order.orderID == "on-stream" }.map(\.order.status)
            }
            #expect(try await states() == [.accepted])
            #expect(try await EndToEndTests.readAll(env.js, stream: "TRADES", filter: "trades.binance.spot.>").isEmpty)
            // No stream here: after the grace period the trades are read, then the order is FILLED.
            try await Task.sleep(for: BinanceExecutionClient.fillsOnStreamGrace)
            try await FuturesEndToEndTests.waitFor("on-stream FILLED after the grace period") { try await states().last == .filled }
            let venueTrades = try await rest.myTrades(symbol: "BTCUSDT", orderId: answer.orderId)
            try await Self.expectEveryTradeOnce(env.js, market: "spot", venueTradeIDs: venueTrades.map(\.id), orders: ["on-stream"])
            #expect(try await states() == [.accepted, .filled])
        }
    }

    /// Every venue trade exactly once on trades.binance.<market>.>, as a BUY of account demo, and each order FILLED.
    static func expectEveryTradeOnce(_ js: JetStream, market: String, venueTradeIDs: [Int64], orders ids: [String]) async throws {
        let fills = try await EndToEndTests.readAll(js, stream: "TRADES", filter: "trades.binance.\(market).>")
            .compactMap { try? Oms_V1_Fill(serializedBytes: $0.payload) }
        #expect(fills.count == venueTradeIDs.count, "fills \(fills.map(\.tradeID)) vs venue trades \(venueTradeIDs)")
        #expect(Set(fills.map(\.tradeID)) == Set(venueTradeIDs.map(String.init)))
        #expect(Set(fills.map(\.orderID)) == Set(ids))
        #expect(fills.allSatisfy { $0.side == .buy && $0.account == "demo" }, "\(fills.map { ($0.orderID, $0.side, $0.account) })")
        let events = try await EndToEndTests.readAll(js, stream: "ORDERS", filter: "orders.binance.\(market).>")
            .compactMap { try? Oms_V1_OrderEvent(serializedBytes: $0.payload) }
        for id in ids {
            #expect(events.contains { $0.order.orderID == id && $0.order.status == .filled && $0.order.side == .buy }, "\(id) FILLED")
        }
    }
}
