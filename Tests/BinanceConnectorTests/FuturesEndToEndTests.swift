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

/// Command on NATS -> binance-futures connector -> venue-sim /fapi -> fills and positions back on
/// trades.binance.futures.* / positions.binance.futures, with a stream drop in the middle.
@Suite(.serialized) struct FuturesEndToEndTests {
    static func venueConfig(port: Int, symbols: [String] = ["BTCUSDT"]) -> BinanceVenueConfig {
        let yaml = """
        exchanges:
          binance:
            futures:
              enabled: true
              rest_url: "http://127.0.0.1:\(port)"
              ws_url: "ws://127.0.0.1:\(port)"
              recv_window: "1s"
              rate_limits: { weight_per_minute: 6000, orders_per_second: 100, orders_per_10s: 100, orders_per_day: 200000 }
        """
        let v = try! OMSConfig.parse(yaml: yaml).venue("binance", "futures")!
        var c = BinanceVenueConfig(product: .futures, venue: v, extra: .init(symbols: symbols, apiMode: .rest, account: "demo"))
        c.requestTimeout = .seconds(2)
        return c
    }

    static let creds = BinanceCredentials(apiKey: "demo-api-key-0000000000000000000000000000000000000000000000000002",
                                          signer: .hmac(secret: "demo-secret-0000000000000000000000000000000000000000000000000002"))

    static func command(_ id: String, side: Oms_V1_Side, qty: String, type: Oms_V1_OrderType = .market, price: String? = nil,
                        reduceOnly: Bool = false) -> Oms_V1_OrderCommand {
        Oms_V1_OrderCommand.with { c in
            c.commandID = "cmd-\(id)"
            c.newOrder = .with { n in
                n.orderID = id
                n.clientOrderID = "client-\(id)"
                n.account = "demo"
                n.instrument = .with { $0.exchange = "binance"; $0.market = "futures"; $0.symbol = "BTCUSDT" }
                n.side = side
                n.orderType = type
                n.timeInForce = .gtc
                n.quantity = FixedPoint.decimal(qty)!
                if let price { n.price = FixedPoint.decimal(price)! }
                n.reduceOnly = reduceOnly
            }
        }
    }

    static func events(_ js: JetStream) async throws -> [Oms_V1_OrderEvent] {
        try await EndToEndTests.readAll(js, stream: "ORDERS", filter: "orders.binance.futures.BTCUSDT").compactMap { try? Oms_V1_OrderEvent(serializedBytes: $0.payload) }
    }

    static func waitFor(_ what: String, seconds: Int = 20, _ cond: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await cond() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test(.timeLimit(.minutes(3))) func perpetualsTradeEndToEnd() async throws {
        let env = try await EndToEndTests.startEnv()
        defer { env.serverTask.cancel() }
        var logger = Logger(label: "binance-futures-test")
        logger.logLevel = ProcessInfo.processInfo.environment["BN_TEST_LOG"] == nil ? .error : .info
        let config = Self.venueConfig(port: env.port)
        var settings = FuturesSettings(hedgeMode: false, defaultMarginType: "CROSSED")
        settings.leverage["BTCUSDT"] = 7
        let limiter = BinanceRateLimiter(limits: config.rateLimits)
        let rest = BinanceRESTClient(config: config, credentials: Self.creds, limiter: limiter, clock: ServerClock(), logger: logger)
        let exec = BinanceFuturesExecutionClient(config: config, settings: settings, rest: rest, jetStream: env.js, logger: logger,
                                                 health: nil, producer: "binance-futures")
        let md = BinanceMarketDataClient(config: config, symbols: ["BTCUSDT"], rest: rest, nats: env.conn, logger: logger, producer: "binance-futures")
        let run = Task { try await exec.run() }
        let mdRun = Task { await md.run() }
        defer { run.cancel(); mdRun.cancel() }
        try await Self.waitFor("user data stream") { exec.streamConnected }

        // Settings are in effect at the venue (read back independently here).
        let risk = try rest.decode([FuturesPositionRisk].self, try await rest.send(.GET, "/fapi/v2/positionRisk", [("symbol", "BTCUSDT")], security: .signed, weight: 5))
        #expect(risk.first?.leverage == "7" && risk.first?.marginType == "cross")

        func publish(_ c: Oms_V1_OrderCommand) async throws {
            _ = try await env.js.publish(c, subject: "cmd.venue.binance.futures.BTCUSDT", id: c.commandID, producer: "test")
        }
        func status(_ id: String) async throws -> Oms_V1_OrderStatus? {
            try await Self.events(env.js).filter { $0.order.orderID == id }.map(\.order.status).max { BinanceMapping.rank($0) < BinanceMapping.rank($1) }
        }
        func positions() async throws -> [Oms_V1_AccountUpdate] {
            try await EndToEndTests.readAll(env.js, stream: "POSITIONS", filter: "positions.binance.futures").compactMap { try? Oms_V1_AccountUpdate(serializedBytes: $0.payload) }
        }

        // 1. open a long with a market order
        try await publish(Self.command("fut-open", side: .buy, qty: "0.050"))
        try await Self.waitFor("fut-open FILLED") { try await status("fut-open") == .filled }
        try await Self.waitFor("position 0.05 on positions.binance.futures") {
            try await positions().last?.positions.contains { $0.instrument.symbol == "BTCUSDT" && FixedPoint.string($0.quantity) == "0.05" } == true
        }
        let pos = try #require(try await positions().last?.positions.first { $0.instrument.symbol == "BTCUSDT" })
        #expect(pos.leverage == 7 && pos.marginType == .crossed && pos.positionSide == .both && pos.account == "demo")
        #expect(pos.averageEntryPrice.mantissa > 0 && pos.markPrice.mantissa > 0)
        #expect(pos.hasMarginRatio && pos.marginRatio.mantissa > 0)

        // 2. the stream drops; an order placed meanwhile still gets its fill (reconciliation on reconnect)
        try await EndToEndTests.faults(env.port, #"{"dropWebSockets":"all"}"#)
        try await publish(Self.command("fut-add", side: .buy, qty: "0.010"))
        try await Self.waitFor("fut-add FILLED") { try await status("fut-add") == .filled }
        try await Self.waitFor("stream back") { exec.streamConnected }

        // 3. reduce-only close, a resting limit canceled, a reduce-only with nothing to reduce rejected (-2022)
        try await publish(Self.command("fut-close", side: .sell, qty: "0.060", reduceOnly: true))
        try await Self.waitFor("fut-close FILLED") { try await status("fut-close") == .filled }
        try await publish(Self.command("fut-rest", side: .buy, qty: "0.010", type: .limit, price: "40000"))
        try await Self.waitFor("fut-rest ACCEPTED") { try await status("fut-rest") == .accepted }
        let amend = Oms_V1_OrderCommand.with { c in
            c.commandID = "cmd-amend-rest"
            c.amendOrder = .with { $0.orderID = "fut-rest"; $0.account = "demo"; $0.newPrice = FixedPoint.decimal("41000")!
                                   $0.instrument = .with { $0.exchange = "binance"; $0.market = "futures"; $0.symbol = "BTCUSDT" } }
        }
        try await publish(amend)
        try await Self.waitFor("fut-rest AMENDED to 41000") {
            try await Self.events(env.js).contains { $0.order.orderID == "fut-rest" && $0.eventType == .amended && FixedPoint.string($0.order.price) == "41000" }
        }
        let venueOrder = try rest.decode(FuturesOrderResponse.self, try await rest.send(.GET, "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "fut-rest")],
                                                                                         security: .signed, weight: 1))
        #expect(venueOrder.price.flatMap(FixedPoint.decimal).map(FixedPoint.string) == "41000" && venueOrder.status == "NEW")
        let cancel = Oms_V1_OrderCommand.with { c in
            c.commandID = "cmd-cancel-rest"
            c.cancelOrder = .with { $0.orderID = "fut-rest"; $0.account = "demo"; $0.instrument = .with { $0.exchange = "binance"; $0.market = "futures"; $0.symbol = "BTCUSDT" } }
        }
        try await publish(cancel)
        try await Self.waitFor("fut-rest CANCELED") { try await status("fut-rest") == .canceled }
        try await publish(Self.command("fut-bad", side: .sell, qty: "0.010", reduceOnly: true))
        try await Self.waitFor("fut-bad REJECTED") { try await status("fut-bad") == .rejected }
        let bad = try await Self.events(env.js).last { $0.order.orderID == "fut-bad" }
        #expect(bad?.reasonText.contains("-2022") == true)

        // A cancel that overtakes its order (the new-order command delayed, e.g. redelivered after a kill -9): the order
        // is canceled here, and the late new-order is never sent (a fault-suite run left such an order live at the venue).
        var ghostCancel = cancel
        ghostCancel.commandID = "cmd-cancel-ghost"
        ghostCancel.cancelOrder.orderID = "fut-ghost"
        try await publish(ghostCancel)
        try await Self.waitFor("fut-ghost CANCELED before it reached the venue") { try await status("fut-ghost") == .canceled }
        try await publish(Self.command("fut-ghost", side: .buy, qty: "0.010", type: .limit, price: "40000"))
        try await publish(Self.command("fut-after-ghost", side: .buy, qty: "0.010", type: .limit, price: "40000"))
        try await Self.waitFor("the next order handled") { try await status("fut-after-ghost") == .accepted }
        #expect(try await Self.events(env.js).filter { $0.order.orderID == "fut-ghost" }.map(\.order.status) == [.canceled])
        await #expect(throws: BinanceError.self) {
            try await rest.send(.GET, "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "fut-ghost")], security: .signed, weight: 1)
        }
        var cancelAfter = cancel
        cancelAfter.commandID = "cmd-cancel-after-ghost"
        cancelAfter.cancelOrder.orderID = "fut-after-ghost"
        try await publish(cancelAfter)
        try await Self.waitFor("fut-after-ghost CANCELED") { try await status("fut-after-ghost") == .canceled }

        // Fills on TRADES match the venue's trades one to one; the position is flat again.
        struct T: Decodable { var id: Int64; var orderId: Int64 }
        let venueTrades = try rest.decode([FuturesUserTrade].self, try await rest.send(.GET, "/fapi/v1/userTrades", [("symbol", "BTCUSDT")], security: .signed, weight: 5))
        try await Self.waitFor("every venue trade on TRADES") {
            let fills = try await EndToEndTests.readAll(env.js, stream: "TRADES", filter: "trades.binance.futures.>").compactMap { try? Oms_V1_Fill(serializedBytes: $0.payload) }
            return Set(fills.map(\.tradeID)) == Set(venueTrades.map { String($0.id) }) && fills.count == venueTrades.count
        }
        let fills = try await EndToEndTests.readAll(env.js, stream: "TRADES", filter: "trades.binance.futures.>").compactMap { try? Oms_V1_Fill(serializedBytes: $0.payload) }
        #expect(Set(fills.map(\.orderID)) == ["fut-open", "fut-add", "fut-close"])
        #expect(fills.allSatisfy { $0.account == "demo" && $0.instrument.market == "futures" })
        try await Self.waitFor("flat position published") {
            try await positions().last?.positions.contains { $0.instrument.symbol == "BTCUSDT" && FixedPoint.isZero($0.quantity) } == true
        }
        // Books: synced from /public with the pu procedure.
        try await Self.waitFor("book synced") { md.book("BTCUSDT") != nil }

        // 4. conditional orders through /fapi/v1/algoOrder: one canceled before it triggers, one triggered by a trade.
        let f = env.server.api.futures
        let sym = try #require(f.symbol("BTCUSDT"))
        let mark = f.markPrice(sym)
        func px(_ d: Int64) -> String { Fixed(raw: (mark.raw / 10_000_000 + d * 10) * 10_000_000).format(decimals: 1) }
        var far = Self.command("fut-stop-far", side: .buy, qty: "0.010", type: .stopMarket)
        far.newOrder.stopPrice = FixedPoint.decimal(px(5000))!
        try await publish(far)
        try await Self.waitFor("fut-stop-far ACCEPTED") { try await status("fut-stop-far") == .accepted }
        var cancelFar = cancel
        cancelFar.commandID = "cmd-cancel-far"
        cancelFar.cancelOrder.orderID = "fut-stop-far"
        try await publish(cancelFar)
        try await Self.waitFor("fut-stop-far CANCELED") { try await status("fut-stop-far") == .canceled }
        var stop = Self.command("fut-stop", side: .buy, qty: "0.010", type: .stopMarket)
        stop.newOrder.stopPrice = FixedPoint.decimal(px(30))!
        try await publish(stop)
        try await Self.waitFor("fut-stop ACCEPTED") { try await status("fut-stop") == .accepted }
        f.setMid(sym, Fixed.parse(px(60))!)
        _ = try f.place(account: 0, NewFuturesOrder(symbol: "BTCUSDT", side: .BUY, type: "MARKET", quantity: Fixed.parse("0.01")!))  // a trade above the trigger
        try await Self.waitFor("fut-stop FILLED") { try await status("fut-stop") == .filled }
        try await Self.waitFor("fut-stop fill on TRADES") {
            try await EndToEndTests.readAll(env.js, stream: "TRADES", filter: "trades.binance.futures.>").compactMap { try? Oms_V1_Fill(serializedBytes: $0.payload) }
                .contains { $0.orderID == "fut-stop" }
        }
        try await Self.waitFor("long 0.01 after the stop") {
            try await positions().last?.positions.contains { $0.instrument.symbol == "BTCUSDT" && FixedPoint.string($0.quantity) == "0.01" } == true
        }
        // 5. funding: simulated time crosses a funding boundary with the long open (F = I > 0: the long pays); the
        //    payment reaches positions.binance.futures with the venue's tranId and amount, once.
        f.advance(ms: f.fundingIntervalMs)
        try await rest.syncTime()   // the venue's clock (serverTime and the recvWindow check) jumped with it
        let venueIncome = try rest.decode([FuturesIncome].self, try await rest.send(.GET, "/fapi/v1/income", [("incomeType", "FUNDING_FEE")],
                                                                                   security: .signed, weight: 30))
        let paid = try #require(venueIncome.last)
        #expect(paid.symbol == "BTCUSDT" && paid.asset == "USDT" && paid.income.hasPrefix("-"))
        func payments() async throws -> [Oms_V1_FundingPayment] {
            try await positions().filter { $0.reason == .funding }.flatMap(\.funding).filter { $0.venueTransactionID == paid.tranId }
        }
        try await Self.waitFor("funding payment on positions.binance.futures") { try await !payments().isEmpty }
        let payment = try #require(try await payments().first)
        #expect(payment.amount.mantissa < 0 && FixedPoint.string(payment.amount) == FixedPoint.decimal(paid.income).map(FixedPoint.string))
        #expect(payment.instrument.symbol == "BTCUSDT" && payment.instrument.market == "futures" && payment.account == "demo" && payment.asset == "USDT")
        #expect(payment.tsNs == paid.time * 1_000_000)
        // The same settlement read again (a second FUNDING_FEE event, a reconnect) collapses on the tranId.
        await exec.publishFunding(eventTimeMs: paid.time)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await payments().count == 1)
        print("binance-futures e2e: funding \(paid.income) \(paid.asset) tranId \(paid.tranId)")
        print("binance-futures e2e: \(fills.count) fills = venue trades, \(exec.positionSnapshots) position snapshots, md snapshots \(md.stats.snapshots), deltas \(md.stats.deltas), gaps \(md.stats.gaps)")
        run.cancel(); mdRun.cancel()
        try await Task.sleep(for: .milliseconds(200))
        await rest.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func settingsAreAppliedAndVerified() async throws {
        let env = try await EndToEndTests.startEnv()
        defer { env.serverTask.cancel() }
        var logger = Logger(label: "binance-futures-settings")
        logger.logLevel = .error
        let config = Self.venueConfig(port: env.port, symbols: ["BTCUSDT", "ETHUSDT"])
        var settings = FuturesSettings(hedgeMode: true)
        settings.leverage = ["BTCUSDT": 12, "ETHUSDT": 3]
        settings.marginType = ["ETHUSDT": "ISOLATED"]
        let rest = BinanceRESTClient(config: config, credentials: Self.creds, limiter: BinanceRateLimiter(limits: config.rateLimits),
                                     clock: ServerClock(), logger: logger)
        let exec = BinanceFuturesExecutionClient(config: config, settings: settings, rest: rest, jetStream: env.js, logger: logger, health: nil, producer: "t")
        try await exec.applySettings()
        #expect(exec.hedgeMode)
        let risk = try rest.decode([FuturesPositionRisk].self, try await rest.send(.GET, "/fapi/v2/positionRisk", security: .signed, weight: 5))
        #expect(risk.filter { $0.symbol == "ETHUSDT" }.allSatisfy { $0.leverage == "3" && $0.marginType == "isolated" })
        #expect(risk.filter { $0.symbol == "BTCUSDT" }.allSatisfy { $0.leverage == "12" && $0.marginType == "cross" })
        #expect(Set(risk.map(\.positionSide)) == ["LONG", "SHORT"])
        try await exec.applySettings()   // idempotent: "no need to change" answers are accepted
        // hedge mode: a reduce-only sell closes the LONG leg
        let n = Self.command("h", side: .sell, qty: "0.01", reduceOnly: true).newOrder
        let params = try BinanceFuturesExecutionClient.orderParams(n, symbol: "BTCUSDT", venueClientID: "h", hedgeMode: true).get()
        #expect(params.contains { $0 == ("positionSide", "LONG") } && !params.contains { $0.0 == "reduceOnly" })
        // a leverage the venue refuses surfaces as an error at start
        var bad = settings
        bad.leverage["BTCUSDT"] = 200
        let badExec = BinanceFuturesExecutionClient(config: config, settings: bad, rest: rest, jetStream: env.js, logger: logger, health: nil, producer: "t")
        await #expect(throws: BinanceError.self) { try await badExec.applySettings() }
        await rest.shutdown()
    }
}
