import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import OMSCore
import Synchronization

/// The order side of the Binance USDⓈ-M futures adapter: applies leverage / margin type / position mode from config
/// and verifies them by reading them back; consumes `cmd.venue.binance.futures.>`; places orders over REST /fapi;
/// follows the futures user data stream (listenKey, `/private/ws/<key>`, kept alive, renewed on expiry); publishes
/// OrderEvent / Fill on `orders|trades.binance.futures.{sym}` and positions + margin (entry, size, side, leverage,
/// margin type, isolated margin, unrealised P&L, liquidation price, margin ratio) on `positions.binance.futures`.
/// Order bookkeeping, event ids and the OMS view are shared with the spot client (`core`).
public final class BinanceFuturesExecutionClient: @unchecked Sendable {
    public let config: BinanceVenueConfig
    public let settings: FuturesSettings
    public let rest: BinanceRESTClient
    let core: BinanceExecutionClient
    let logger: Logger
    let health: HealthState?
    let jetStream: JetStream
    let producer: String

    struct State {
        var hedgeMode = false
        var realized: [String: String] = [:]        // "SYMBOL|SIDE" -> accumulated realised PnL (ACCOUNT_UPDATE cr)
        var streamUp = false
        var listenKey: String?
        var byVenueOrderID: [Int64: String] = [:]   // venue orderId -> venue client id
        var snapshots = 0
    }
    let state = Mutex(State())
    private let snapshotRequests: AsyncStream<(String, Oms_V1_AccountUpdateReason)>
    private let snapshotContinuation: AsyncStream<(String, Oms_V1_AccountUpdateReason)>.Continuation
    private let reconcileRequests: AsyncStream<String>
    private let reconcileContinuation: AsyncStream<String>.Continuation
    private let writerBox = Mutex<WebSocketOutboundWriter?>(nil)

    public init(config: BinanceVenueConfig, settings: FuturesSettings, rest: BinanceRESTClient, jetStream: JetStream, logger: Logger,
                health: HealthState?, producer: String) {
        self.config = config
        self.settings = settings
        self.rest = rest
        self.jetStream = jetStream
        self.logger = logger
        self.health = health
        self.producer = producer
        core = BinanceExecutionClient(config: config, rest: rest, ws: nil, jetStream: jetStream, logger: logger, health: nil, producer: producer)
        core.orderTrades = { [rest] symbol, venueOrderID in
            try await Self.userTrades(rest, [("symbol", symbol), ("orderId", String(venueOrderID))]).map(BinanceExecutionClient.FillFacts.init)
        }
        (snapshotRequests, snapshotContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (reconcileRequests, reconcileContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var exchange: String { config.exchange }
    var market: String { config.market }
    var p: String { config.restPrefix }   // /fapi/v1
    public var hedgeMode: Bool { state.withLock { $0.hedgeMode } }
    public var streamConnected: Bool { state.withLock { $0.streamUp } }
    public var positionSnapshots: Int { state.withLock { $0.snapshots } }
    public var trackedOrders: [TrackedOrder] { core.trackedOrders }

    /// `/private` base of the user data stream, from the market-stream base (`…/public`).
    public var privateStreamBase: String {
        var b = config.streamBaseURL
        if b.hasSuffix("/public") { b.removeLast("/public".count) }
        return b + "/private"
    }

    // MARK: run

    public func run() async throws {
        await core.syncTimeWithRetry()
        // Settings: retried while the venue is unreachable; a refusal or a read-back mismatch stops the connector.
        var delay: Duration = .milliseconds(200)
        while true {
            do { try await applySettings(); break } catch let e as BinanceError {
                if case .rejected = e { throw e }
                logger.warning("applying futures settings failed, retrying", metadata: ["error": "\(e)"])
                health?.set("venue_settings", ok: false, detail: "\(e)")
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
        try await core.loadOMSView()
        health?.set("venue_session", ok: false, detail: "user data stream connecting")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in await userDataLoop() }
            group.addTask { [self] in
                for await reason in reconcileRequests {
                    do { try await reconcile(reason: reason) } catch { logger.warning("reconcile failed", metadata: ["error": "\(error)"]) }
                }
            }
            group.addTask { [self] in
                for await (id, reason) in snapshotRequests {
                    let started = ContinuousClock.now
                    do { try await publishPositions(trigger: id, reason: reason) } catch {
                        logger.warning("position snapshot failed", metadata: ["error": "\(error)"])
                    }
                    // Paced: an account update comes with every fill and a snapshot costs 10 request weight
                    // (positionRisk + account); requests meanwhile collapse into the newest one.
                    try? await Task.sleep(until: started + Self.snapshotMinInterval)
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(30))
                    requestSnapshot("periodic.\(rest.clock.nowMs() / 30_000)", .snapshot)
                    await core.syncTimeWithRetry()
                }
            }
            group.addTask { [self] in try await consumeCommands() }
            try await group.next()
            group.cancelAll()
        }
    }

    func requestSnapshot(_ id: String, _ reason: Oms_V1_AccountUpdateReason) { snapshotContinuation.yield((id, reason)) }
    /// At most one positions-and-margin snapshot per second: 600 of the 2400 request weight per minute at the most.
    static let snapshotMinInterval: Duration = .seconds(1)
    public func requestReconcile(_ reason: String) { reconcileContinuation.yield(reason) }

    // MARK: settings

    public struct SettingsMismatch: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { "futures settings not in effect at the venue: " + problems.joined(separator: "; ") }
    }

    /// Position mode, margin type and leverage from config, then read back (GET positionSide/dual, v2 positionRisk).
    public func applySettings() async throws {
        func tolerate(_ codes: Set<Int>, _ f: () async throws -> Void) async throws {
            do { try await f() } catch {
                if let e = error as? BinanceError, case .rejected(_, let code, let m) = e, codes.contains(code) {
                    logger.debug("setting already in effect", metadata: ["code": "\(code)", "msg": "\(m)"])
                    return
                }
                throw error
            }
        }
        if let hedge = settings.hedgeMode {
            try await tolerate([-4059]) {
                _ = try await rest.send(.POST, p + "/positionSide/dual", [("dualSidePosition", hedge ? "true" : "false")], security: .signed, weight: 1)
            }
        }
        for s in config.symbols {
            if let mt = settings.marginType(s) {
                try await tolerate([-4046]) { _ = try await rest.send(.POST, p + "/marginType", [("symbol", s), ("marginType", mt)], security: .signed, weight: 1) }
            }
            if let l = settings.leverage(s) {
                _ = try await rest.send(.POST, p + "/leverage", [("symbol", s), ("leverage", String(l))], security: .signed, weight: 1)
            }
        }
        // read back
        struct Dual: Decodable { var dualSidePosition: Bool }
        let dual = try rest.decode(Dual.self, try await rest.send(.GET, p + "/positionSide/dual", security: .signed, weight: 30)).dualSidePosition
        let risks = try rest.decode([FuturesPositionRisk].self, try await rest.send(.GET, "/fapi/v2/positionRisk", security: .signed, weight: 5))
        var problems: [String] = []
        if let hedge = settings.hedgeMode, hedge != dual { problems.append("position mode is \(dual ? "hedge" : "one_way"), config says \(hedge ? "hedge" : "one_way")") }
        for s in config.symbols {
            guard let r = risks.first(where: { $0.symbol == s }) else { problems.append("\(s): not in positionRisk"); continue }
            if let l = settings.leverage(s), Int(r.leverage) != l { problems.append("\(s): leverage \(r.leverage), config says \(l)") }
            if let mt = settings.marginType(s), (mt == "ISOLATED") != (r.marginType.lowercased() == "isolated") {
                problems.append("\(s): margin type \(r.marginType), config says \(mt)")
            }
        }
        state.withLock { $0.hedgeMode = dual }
        if !problems.isEmpty {
            health?.set("venue_settings", ok: false, detail: problems.joined(separator: "; "))
            throw SettingsMismatch(problems: problems)
        }
        health?.set("venue_settings", ok: true, detail: "mode \(dual ? "hedge" : "one_way")")
        logger.info("futures settings verified", metadata: [
            "position_mode": "\(dual ? "hedge" : "one_way")",
            "symbols": "\(config.symbols.map { s in "\(s):\(risks.first { $0.symbol == s }.map { "\($0.leverage)x/\($0.marginType)" } ?? "?")" })"])
    }

    // MARK: commands

    func consumeCommands() async throws {
        var spec = ConsumerSpec(durable: core.durableName, filterSubject: core.commandFilter)
        spec.ackWait = .seconds(60)
        spec.deliverFrom = .all
        // The shared execution core (same venue config and REST client) keeps it: see PriorIncarnation.
        let prior = PriorIncarnation(startedVenueMs: rest.clock.nowMs())
        core.store.withLock { $0.prior = prior }
        let consumer = try await jetStream.pullConsumerWhenAvailable(stream: "COMMANDS", spec)
        logger.info("consuming commands", metadata: ["filter": "\(core.commandFilter)"])
        for try await msg in consumer.messages(batch: 64, pollTimeout: .milliseconds(200)) {
            switch await handleCommand(msg) {
            case .ack: try? msg.ack()
            case .nak(let d): try? msg.nak(delay: d)
            case .term: try? msg.term()
            }
        }
    }

    func handleCommand(_ msg: JetStreamMessage) async -> BinanceExecutionClient.Disposition {
        guard let cmd = try? Oms_V1_OrderCommand(serializedBytes: msg.payload) else { return .term }
        if core.store.withLock({ $0.doneCommands.contains(cmd.commandID) }) { return .ack }
        let symbol = String(msg.subject.split(separator: ".").last ?? "")
        let d: BinanceExecutionClient.Disposition
        switch cmd.command {
        case .newOrder(let n):
            d = await placeOrder(n, symbol: n.instrument.symbol.isEmpty ? symbol : n.instrument.symbol,
                                 redelivered: core.maySendAgain(msg), msg: msg)
        case .cancelOrder(let c): d = await cancelOrder(c, symbol: c.instrument.symbol.isEmpty ? symbol : c.instrument.symbol)
        case .cancelAll(let c):
            let targets = core.store.withLock { s in
                s.orders.values.filter { !$0.isTerminal && (c.symbol.isEmpty || c.symbol == $0.symbol) && (c.account.isEmpty || c.account == $0.account) }
            }
            for t in targets { _ = await cancelOrder(Oms_V1_CancelOrder.with { $0.orderID = t.orderID; $0.account = t.account }, symbol: t.symbol) }
            d = .ack
        case .amendOrder(let a): d = await amendOrder(a, symbol: a.instrument.symbol.isEmpty ? symbol : a.instrument.symbol)
        case nil: d = .term
        }
        if case .ack = d { core.store.withLock { _ = $0.doneCommands.insert(cmd.commandID) } }
        return d
    }

    /// REST parameters of POST /fapi/v1/order for an OMS order. Hedge mode: BUY opens / SELL closes LONG, SELL
    /// opens / BUY closes SHORT, with `reduce_only` choosing closing (Binance accepts no reduceOnly in hedge mode).
    public static func orderParams(_ n: Oms_V1_NewOrder, symbol: String, venueClientID: String, hedgeMode: Bool) -> Result<[(String, String)], ParseError> {
        guard let side = BinanceMapping.side(n.side) else { return .failure(ParseError("side is required")) }
        var p: [(String, String)] = [("symbol", symbol), ("side", side)]
        if hedgeMode {
            let ps = n.reduceOnly ? (n.side == .sell ? "LONG" : "SHORT") : (n.side == .buy ? "LONG" : "SHORT")
            p.append(("positionSide", ps))
        }
        guard n.hasQuantity, !FixedPoint.isZero(n.quantity) else { return .failure(ParseError("futures orders need a quantity")) }
        switch n.orderType {
        case .limit, .limitMaker:
            guard n.hasPrice else { return .failure(ParseError("LIMIT needs a price")) }
            let tif: String
            if n.postOnly || n.orderType == .limitMaker || n.timeInForce == .gtx { tif = "GTX" } else {
                switch n.timeInForce {
                case .gtc, .unspecified: tif = (n.expireAt != nil) ? "GTD" : "GTC"
                case .ioc: tif = "IOC"
                case .fok: tif = "FOK"
                default: return .failure(ParseError("time in force \(n.timeInForce) is not supported on Binance futures"))
                }
            }
            p += [("type", "LIMIT"), ("timeInForce", tif), ("quantity", FixedPoint.string(n.quantity)), ("price", FixedPoint.string(n.price))]
            if tif == "GTD" {
                guard (n.expireAt != nil) else { return .failure(ParseError("GTD needs an expiry time")) }
                p.append(("goodTillDate", String(n.expireTimeNs / 1_000_000)))
            }
        case .market:
            p += [("type", "MARKET"), ("quantity", FixedPoint.string(n.quantity))]
        case .stopMarket, .takeProfitMarket, .stopLimit, .takeProfitLimit:
            // Conditional orders: POST /fapi/v1/algoOrder (since 2025-12-09 /fapi/v1/order answers -4120).
            guard n.hasStopPrice, !FixedPoint.isZero(n.stopPrice) else { return .failure(ParseError("\(n.orderType) needs a stop price")) }
            let type = [.stopMarket: "STOP_MARKET", .takeProfitMarket: "TAKE_PROFIT_MARKET", .stopLimit: "STOP", .takeProfitLimit: "TAKE_PROFIT"][n.orderType]!
            p += [("algoType", "CONDITIONAL"), ("type", type), ("quantity", FixedPoint.string(n.quantity)), ("triggerPrice", FixedPoint.string(n.stopPrice))]
            if n.orderType == .stopLimit || n.orderType == .takeProfitLimit {
                guard n.hasPrice else { return .failure(ParseError("\(n.orderType) needs a price")) }
                let tif = n.timeInForce == .ioc ? "IOC" : n.timeInForce == .fok ? "FOK" : "GTC"
                p += [("price", FixedPoint.string(n.price)), ("timeInForce", tif)]
            }
            if n.reduceOnly && !hedgeMode { p.append(("reduceOnly", "true")) }
            p.append(("clientAlgoId", venueClientID))
            return .success(p)
        default:
            return .failure(ParseError("order type \(n.orderType) is not supported by the binance futures connector"))
        }
        if n.reduceOnly && !hedgeMode { p.append(("reduceOnly", "true")) }
        p.append(("newClientOrderId", venueClientID))
        p.append(("newOrderRespType", "RESULT"))
        return .success(p)
    }

    public static func isConditional(_ t: Oms_V1_OrderType) -> Bool { [.stopMarket, .takeProfitMarket, .stopLimit, .takeProfitLimit].contains(t) }

    static func algoStatus(_ s: String) -> Oms_V1_OrderStatus? {
        switch s {
        case "NEW": .accepted
        case "CANCELED": .canceled
        case "EXPIRED": .expired
        case "REJECTED": .rejected
        default: nil          // TRIGGERING / TRIGGERED / FINISHED: the triggered order's own events carry the state
        }
    }

    /// An algo order's state; its order id is published as the negated algoId until it triggers.
    func applyAlgo(_ r: FuturesAlgoResponse, symbol: String, venueID: String) async {
        if let ai = r.actualOrderId.flatMap({ Int64($0) }), ai > 0 { state.withLock { $0.byVenueOrderID[ai] = venueID } }
        guard let status = r.algoStatus.flatMap(Self.algoStatus) else { return }
        let current = core.store.withLock { $0.orders[venueID]?.venueOrderID ?? 0 }
        await core.publishOrderUpdate(venueID: venueID, symbol: symbol, venueOrderID: current > 0 ? current : -r.algoId, status: status,
                                      filled: nil, cumQuote: nil, timeMs: r.updateTime ?? rest.clock.nowMs(), last: nil)
    }

    func placeAlgo(_ params: [(String, String)], symbol: String, venueID: String, redelivered: Bool, msg: JetStreamMessage) async -> BinanceExecutionClient.Disposition {
        var queryFirst = redelivered
        for _ in 0..<5 {
            if queryFirst {
                do {
                    let r = try rest.decode(FuturesAlgoResponse.self, try await rest.send(.GET, p + "/algoOrder", [("clientAlgoId", venueID)], security: .signed, weight: 1))
                    await applyAlgo(r, symbol: symbol, venueID: venueID)
                    return .ack
                } catch {
                    if case .rejected(_, let code, _) = error, code == -2013 {} else { return .nak(.seconds(2)) }
                    if redelivered, await core.waitOutPriorIncarnation(msg: msg) { continue }
                }
            }
            let ts = rest.clock.nowMs()
            do {
                let r = try rest.decode(FuturesAlgoResponse.self, try await rest.send(.POST, p + "/algoOrder", params, security: .signed, weight: 0, orders: 1,
                                                                                 maxWait: .milliseconds(500), timestamp: ts))
                await applyAlgo(r, symbol: symbol, venueID: venueID)
                return .ack
            } catch {
                switch error {
                case .rejected(_, let code, _) where code == -4116: queryFirst = true
                case .rejected(_, let code, let m):
                    await core.applyReject(venueID: venueID, reason: Self.rejectReason(code: code, msg: m), text: "\(code): \(m)")
                    return .ack
                case .rateLimited, .notSent:
                    await core.applyReject(venueID: venueID, reason: .rateLimited, text: error.description)
                    return .ack
                case .unknown:
                    let waitMs = ts + config.recvWindowMs + 250 - rest.clock.nowMs()
                    if waitMs > 0 { try? await Task.sleep(for: .milliseconds(waitMs)) }
                    try? msg.inProgress()
                    queryFirst = true
                }
            }
        }
        return .nak(.seconds(2))
    }

    func placeOrder(_ n: Oms_V1_NewOrder, symbol: String, redelivered: Bool, msg: JetStreamMessage) async -> BinanceExecutionClient.Disposition {
        let tracked = TrackedOrder(new: n, symbol: symbol)
        let venueID = tracked.venueClientID
        let known = core.store.withLock { s -> TrackedOrder? in
            if let t = s.orders[venueID] { return t }
            s.orders[venueID] = tracked
            return nil
        }
        if let known, known.venueOrderID != 0 || known.isTerminal { return .ack }
        let params: [(String, String)]
        switch Self.orderParams(n, symbol: symbol, venueClientID: venueID, hedgeMode: hedgeMode) {
        case .success(let p): params = p
        case .failure(let e):
            await core.applyReject(venueID: venueID, reason: .invalidRequest, text: e.description)
            return .ack
        }
        if Self.isConditional(n.orderType) {
            return await placeAlgo(params, symbol: symbol, venueID: venueID, redelivered: redelivered || known != nil, msg: msg)
        }
        var mustQueryFirst = redelivered || known != nil
        for _ in 0..<5 {
            if mustQueryFirst {
                switch await queryUntilKnown(symbol: symbol, venueID: venueID, msg: msg) {
                case .found(let r): await apply(r, venueID: venueID); return .ack
                case .notFound:
                    // Unknown to the venue, but a request of the previous incarnation may still be on its way.
                    if redelivered, await core.waitOutPriorIncarnation(msg: msg) { continue }
                case .unavailable: return .nak(.seconds(2))
                }
            }
            let ts = rest.clock.nowMs()
            do {
                let r = try rest.decode(FuturesOrderResponse.self, try await rest.send(.POST, p + "/order", params, security: .signed, weight: 0, orders: 1,
                                                                                  maxWait: .milliseconds(500), timestamp: ts))
                await apply(r, venueID: venueID, queried: false)
                return .ack
            } catch {
                switch error {
                case .rejected(_, let code, let m) where code == -4116:   // duplicate client id: it is there already
                    _ = m
                    mustQueryFirst = true
                case .rejected(_, let code, let m):
                    await core.applyReject(venueID: venueID, reason: Self.rejectReason(code: code, msg: m), text: "\(code): \(m)")
                    return .ack
                case .rateLimited(_, _, let code, let m):
                    await core.applyReject(venueID: venueID, reason: .rateLimited, text: "\(code.map(String.init) ?? "429"): \(m ?? "rate limited")")
                    return .ack
                case .notSent(let why):
                    await core.applyReject(venueID: venueID, reason: why.contains("rate limit") ? .rateLimited : .venueUnavailable, text: why)
                    return .ack
                case .unknown(let why):
                    logger.warning("order status unknown; querying before any resend", metadata: ["order_id": "\(n.orderID)", "why": "\(why)"])
                    let waitMs = ts + config.recvWindowMs + 250 - rest.clock.nowMs()
                    if waitMs > 0 { try? await Task.sleep(for: .milliseconds(waitMs)) }
                    try? msg.inProgress()
                    mustQueryFirst = true
                }
            }
        }
        return .nak(.seconds(2))
    }

    static func rejectReason(code: Int, msg: String) -> Oms_V1_RejectReason {
        switch code {
        case -2019, -2018: return .insufficientBalance
        case -4014, -4013, -4002: return .tickSize
        case -4023, -4004, -4005, -4003: return .lotSize
        case -4164: return .minNotional
        case -5022: return .wouldCross
        default: return BinanceMapping.rejectReason(code: code, msg: msg)
        }
    }

    enum QueryOutcome { case found(FuturesOrderResponse), notFound, unavailable }

    func queryUntilKnown(symbol: String, venueID: String, msg: JetStreamMessage?) async -> QueryOutcome {
        var delay: Duration = .milliseconds(100)
        for _ in 0..<12 {
            do {
                return .found(try rest.decode(FuturesOrderResponse.self, try await rest.send(.GET, p + "/order", [("symbol", symbol), ("origClientOrderId", venueID)],
                                                                                            security: .signed, weight: 1)))
            } catch {
                if case .rejected(_, let code, _) = error, code == -2013 { return .notFound }
                try? msg?.inProgress()
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(3))
            }
        }
        return .unavailable
    }

    /// `queried: false` for the answer to this process's own place, cancel or amend: its fills come on the user data
    /// stream (ORDER_TRADE_UPDATE) while that is connected, so they are not read by REST (futures answers carry no
    /// fills; reading them for every filled order cost 5 request weight each, the whole budget at 8 orders a second).
    /// A query's fills may have gone to a dead process's stream: they are read.
    func apply(_ r: FuturesOrderResponse, venueID: String, queried: Bool = true) async {
        state.withLock { $0.byVenueOrderID[r.orderId] = venueID }
        await core.apply(response: r.asOrderResponse, venueID: venueID, fillsOnStream: !queried && streamConnected)
        // Fills arrive on the user data stream; without it, reconciliation fetches them.
        if let e = r.executedQty, let d = FixedPoint.decimal(e), !FixedPoint.isZero(d), !streamConnected { requestReconcile("fill while the stream is down") }
    }

    func cancelOrder(_ c: Oms_V1_CancelOrder, symbol: String) async -> BinanceExecutionClient.Disposition {
        await core.cancelWaitingForBudget(c) { lastTry in await self.cancelOnce(c, symbol: symbol, lastTry: lastTry) }
    }

    /// One cancel attempt (see `BinanceExecutionClient.cancelOnce`, the spot twin): the venue's answer, or its
    /// query when it does not know the order, is published; a cancel that overtook its order cancels it here.
    func cancelOnce(_ c: Oms_V1_CancelOrder, symbol: String, lastTry: Bool) async -> (BinanceExecutionClient.Disposition, String?) {
        let venueID = ClientOrderID.venueID(forOrderID: c.orderID)
        let t = core.store.withLock { $0.orders[venueID] }
        if let t, t.isTerminal {
            await core.publishReject(orderID: c.orderID, symbol: symbol, type: .cancelRejected, reason: .unknownOrder, text: "order already \(t.status)")
            return (.ack, nil)
        }
        do {
            if let t, Self.isConditional(t.orderType), t.venueOrderID <= 0 {
                _ = try await rest.send(.DELETE, p + "/algoOrder", [("clientAlgoId", venueID)], security: .signed, weight: 1)
                let r = try rest.decode(FuturesAlgoResponse.self, try await rest.send(.GET, p + "/algoOrder", [("clientAlgoId", venueID)], security: .signed, weight: 1))
                await applyAlgo(r, symbol: symbol, venueID: venueID)
                return (.ack, nil)
            }
            let r = try rest.decode(FuturesOrderResponse.self, try await rest.send(.DELETE, p + "/order", [("symbol", symbol), ("origClientOrderId", venueID)],
                                                                                  security: .signed, weight: 1))
            await apply(r, venueID: venueID, queried: false)
            return (.ack, nil)
        } catch {
            switch error {
            case .rejected(_, let code, let m):
                switch await queryUntilKnown(symbol: symbol, venueID: venueID, msg: nil) {
                case .found(let r): await apply(r, venueID: venueID)
                case .notFound: if await core.cancelBeforePlacement(c, symbol: symbol, venueID: venueID) { return (.ack, nil) }
                case .unavailable: break
                }
                await core.publishReject(orderID: c.orderID, symbol: symbol, type: .cancelRejected, reason: .unknownOrder, text: "\(code): \(m)")
                return (.ack, nil)
            case .unknown: return (.nak(.seconds(1)), nil)
            case .rateLimited, .notSent:
                if !lastTry { return (.ack, error.description) }
                await core.publishReject(orderID: c.orderID, symbol: symbol, type: .cancelRejected, reason: .rateLimited, text: error.description)
                return (.ack, nil)
            }
        }
    }

    /// PUT /fapi/v1/order (LIMIT orders: new price and/or quantity, queue priority lost). Success publishes an
    /// AMENDED event with the new terms; the venue may cancel instead (quantity ≤ executed, GTX that would take).
    func amendOrder(_ a: Oms_V1_AmendOrder, symbol: String) async -> BinanceExecutionClient.Disposition {
        let venueID = ClientOrderID.venueID(forOrderID: a.orderID)
        guard let t = core.store.withLock({ $0.orders[venueID] }), !t.isTerminal,
              t.orderType == .limit || t.orderType == .limitMaker, let side = BinanceMapping.side(t.side) else {
            await core.publishReject(orderID: a.orderID, symbol: symbol, type: .amendRejected, reason: .unknownOrder,
                                     text: "only open LIMIT orders can be amended on Binance futures")
            return .ack
        }
        let qty = a.hasNewQuantity ? a.newQuantity : t.quantity
        let price = a.hasNewPrice ? a.newPrice : t.price
        do {
            let r = try rest.decode(FuturesOrderResponse.self, try await rest.send(.PUT, p + "/order", [
                ("symbol", symbol), ("origClientOrderId", venueID), ("side", side),
                ("quantity", FixedPoint.string(qty)), ("price", FixedPoint.string(price)),
            ], security: .signed, weight: 1, orders: 1))
            if r.status == "NEW" || r.status == "PARTIALLY_FILLED" {
                let updated: TrackedOrder? = core.store.withLock { s in
                    guard var t = s.orders[venueID] else { return nil }
                    t.quantity = qty; t.price = price
                    t.updatedNs = (r.updateTime ?? 0) * 1_000_000
                    s.orders[venueID] = t
                    return t
                }
                if let t = updated {
                    let event = Oms_V1_OrderEvent.with { e in
                        e.eventType = .amended
                        e.order = t.order(exchange: exchange, market: market)
                        e.source = producer
                        e.tsEventNs = t.updatedNs
                        e.tsInitNs = Int64(Date().timeIntervalSince1970 * 1e9)
                        e.eventID = "\(exchange).\(market).\(symbol).o\(r.orderId).amended.\(FixedPoint.string(qty)).\(FixedPoint.string(price))"
                    }
                    await core.publish(event, subject: try? Subjects.orders(exchange: exchange, market: market, symbol: symbol), id: event.eventID)
                }
            }
            await apply(r, venueID: venueID, queried: false)
            return .ack
        } catch {
            switch error {
            case .unknown: return .nak(.seconds(1))
            case .rejected(_, let code, let m):
                await core.publishReject(orderID: a.orderID, symbol: symbol, type: .amendRejected, reason: Self.rejectReason(code: code, msg: m), text: "\(code): \(m)")
            default:
                await core.publishReject(orderID: a.orderID, symbol: symbol, type: .amendRejected, reason: .rateLimited, text: error.description)
            }
            return .ack
        }
    }

    // MARK: user data stream

    func userDataLoop() async {
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let key = try rest.decode(ListenKeyResponse.self, try await rest.send(.POST, p + "/listenKey", security: .apiKey, weight: 1)).listenKey
                state.withLock { $0.listenKey = key }
                try await streamOnce(key: key)
            } catch {
                logger.warning("user data stream down", metadata: ["error": "\(error)"])
            }
            state.withLock { $0.streamUp = false }
            writerBox.withLock { $0 = nil }
            health?.set("venue_session", ok: false, detail: "user data stream reconnecting")
            if Task.isCancelled { break }
            if ContinuousClock.now - started > .seconds(30) { backoff = .milliseconds(200) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }

    func streamOnce(key: String) async throws {
        let url = privateStreamBase + "/ws/" + key
        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: logger) { inbound, outbound, _ in
            self.writerBox.withLock { $0 = outbound }
            self.state.withLock { $0.streamUp = true }
            self.health?.set("venue_session", ok: true, detail: "user data stream up")
            self.logger.info("user data stream connected", metadata: ["url": "\(self.privateStreamBase)/ws/<listenKey>"])
            self.requestReconcile("user data stream (re)connected")
            self.requestSnapshot("connect.\(self.rest.clock.nowMs())", .snapshot)
            let keepAlive = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(30 * 60))     // keys live 60 min; extend every 30
                    do { _ = try await self.rest.send(.PUT, self.p + "/listenKey", security: .apiKey, weight: 1) } catch {
                        self.logger.warning("listenKey keep-alive failed; reconnecting", metadata: ["error": "\(error)"])
                        try? await outbound.close(.goingAway, reason: "listenKey lost")
                        return
                    }
                }
            }
            let rotation = Task { try await Task.sleep(for: self.config.connectionMaxAge); try? await outbound.close(.normalClosure, reason: "rotation") }
            defer { keepAlive.cancel(); rotation.cancel() }
            for try await frame in inbound.messages(maxSize: 1 << 22) {
                let bytes: [UInt8]
                switch frame {
                case .text(let s): bytes = Array(s.utf8)
                case .binary(let b): bytes = Array(b.readableBytesView)
                }
                if await self.handleUserData(bytes) == false {
                    try? await outbound.close(.normalClosure, reason: "listenKey expired")
                    break
                }
            }
        }
    }

    public func dropStream() async {
        let w = writerBox.withLock { $0 }
        try? await w?.close(.goingAway, reason: "client reconnect")
    }

    /// Returns false when the stream must be reopened with a new listenKey.
    @discardableResult
    func handleUserData(_ bytes: [UInt8]) async -> Bool {
        let event: FuturesUserEvent
        do { event = try FuturesUserEvent.parse(bytes) } catch {
            logger.warning("undecodable futures user data event", metadata: ["error": "\(error)"])
            return true
        }
        switch event {
        case .orderUpdate(let E, let o):
            let venueID = state.withLock { $0.byVenueOrderID[o.orderId] } ?? o.clientOrderId
            if o.executionType == "TRADE" && o.tradeId > 0 {
                await core.publishFill(.init(symbol: o.symbol, tradeID: o.tradeId, venueOrderID: o.orderId, price: o.lastPrice, qty: o.lastQty,
                                             commission: o.commission ?? "0", commissionAsset: o.commissionAsset ?? "", isMaker: o.isMaker ?? false,
                                             timeMs: o.tradeTime), venueID: venueID)
            }
            let filled = FixedPoint.decimal(o.cumQty).map { FixedPoint.rescale($0, to: 8) }
            var quote: Int64?
            if let ap = o.avgPrice.flatMap(FixedPoint.decimal), let f = filled {
                quote = Int64((Int128(FixedPoint.rescale(ap, to: 8)) * Int128(f)) / 100_000_000)
            }
            let last = o.executionType == "TRADE" ? (o.lastQty, o.lastPrice, o.tradeId) : nil
            await core.publishOrderUpdate(venueID: venueID, symbol: o.symbol, venueOrderID: o.orderId, status: BinanceMapping.status(o.status),
                                          filled: filled, cumQuote: quote, timeMs: o.tradeTime, last: last)
            if o.orderType == "LIQUIDATION" || o.clientOrderId.hasPrefix("autoclose-") {
                logger.warning("position liquidated by the venue", metadata: ["symbol": "\(o.symbol)", "order": "\(o.clientOrderId)"])
                requestSnapshot("liq.\(E)", .liquidation)
            }
        case .algoUpdate(let E, let g):
            await applyAlgo(FuturesAlgoResponse(algoId: g.algoId, clientAlgoId: g.clientAlgoId, symbol: g.symbol, algoStatus: g.status,
                                                actualOrderId: g.actualOrderId, updateTime: E), symbol: g.symbol, venueID: g.clientAlgoId)
        case .accountUpdate(let E, let a):
            state.withLock { s in
                for p in a.positions { if let cr = p.accumulatedRealized { s.realized["\(p.symbol)|\(p.positionSide)"] = cr } }
            }
            let reason: Oms_V1_AccountUpdateReason = switch a.reason {
            case "ORDER": .trade
            case "FUNDING_FEE": .funding
            case "DEPOSIT": .deposit
            case "WITHDRAW": .withdraw
            default: .snapshot
            }
            // The event says funding was settled (cross: only B; isolated: B + that position) but not per symbol
            // nor with a transaction id; /fapi/v1/income has both.
            if a.reason == "FUNDING_FEE" { await publishFunding(eventTimeMs: E) }
            requestSnapshot("au.\(E)", reason)
        case .marginCall(let E):
            logger.warning("MARGIN_CALL from the venue")
            requestSnapshot("mc.\(E)", .snapshot)
        case .listenKeyExpired:
            logger.warning("listenKey expired; opening a new user data stream")
            return false
        case .other:
            break
        }
        return true
    }

    // MARK: positions and margin

    /// positions.binance.futures: every non-flat position plus the configured symbols (flat ones too), with
    /// leverage, margin type, liquidation price and margin ratio (isolated: MM / (isolated wallet + uPnL);
    /// cross: account MM / margin balance), and balances (free = available, locked = initial margin).
    public func publishPositions(trigger: String, reason: Oms_V1_AccountUpdateReason) async throws {
        let risks = try rest.decode([FuturesPositionRisk].self, try await rest.send(.GET, "/fapi/v2/positionRisk", security: .signed, weight: 5))
        let acct = try rest.decode(FuturesAccount.self, try await rest.send(.GET, "/fapi/v3/account", security: .signed, weight: 5))
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let realized = state.withLock { $0.realized }
        let crossRatio = FixedPoint.decimal(acct.totalMaintMargin).flatMap { mm in
            FixedPoint.decimal(acct.totalMarginBalance).flatMap { mb in FixedPoint.isZero(mb) ? nil : FixedPoint.divide(mm, mb, scale: 8) }
        }
        let configured = Set(config.symbols)
        let positions: [Oms_V1_Position] = risks.compactMap { r in
            guard let amt = FixedPoint.decimal(r.positionAmt) else { return nil }
            if FixedPoint.isZero(amt) && !configured.contains(r.symbol) { return nil }
            let isolated = r.marginType.lowercased() == "isolated"
            return Oms_V1_Position.with { p in
                p.account = config.account
                p.instrument = .with { $0.exchange = exchange; $0.market = market; $0.symbol = r.symbol }
                p.positionSide = r.positionSide == "LONG" ? .long : r.positionSide == "SHORT" ? .short : .both
                p.quantity = amt
                if let v = FixedPoint.decimal(r.entryPrice) { p.averageEntryPrice = v }
                if let v = realized["\(r.symbol)|\(r.positionSide)"].flatMap(FixedPoint.decimal) { p.realizedPnl = v }
                if let v = FixedPoint.decimal(r.unRealizedProfit) { p.unrealizedPnl = v }
                if let v = FixedPoint.decimal(r.markPrice) { p.markPrice = v }
                p.leverage = Int32(r.leverage) ?? 0
                p.marginType = isolated ? .isolated : .crossed
                if let v = FixedPoint.decimal(r.isolatedMargin) { p.isolatedMargin = v }
                if let v = FixedPoint.decimal(r.liquidationPrice) { p.liquidationPrice = v }
                if isolated {
                    if let a = acct.positions.first(where: { $0.symbol == r.symbol && $0.positionSide == r.positionSide }),
                       let mm = FixedPoint.decimal(a.maintMargin), let im = FixedPoint.decimal(r.isolatedMargin), !FixedPoint.isZero(im),
                       let ratio = FixedPoint.divide(mm, im, scale: 8) { p.marginRatio = ratio }
                } else if let crossRatio, !FixedPoint.isZero(amt) {
                    p.marginRatio = crossRatio
                }
                p.tsNs = (r.updateTime ?? 0) * 1_000_000
            }
        }
        let update = Oms_V1_AccountUpdate.with { u in
            u.updateID = "\(exchange).\(market).pos.\(trigger)"
            u.account = config.account
            u.exchange = exchange
            u.market = market
            u.reason = reason
            u.positions = positions
            u.balances = acct.assets.map { a in
                Oms_V1_Balance.with { b in
                    b.account = config.account; b.exchange = exchange; b.market = market; b.asset = a.asset
                    if let v = FixedPoint.decimal(a.availableBalance) { b.free = v }
                    if let v = FixedPoint.decimal(a.initialMargin) { b.locked = v }
                    b.tsNs = (a.updateTime ?? 0) * 1_000_000
                }
            }
            u.tsEventNs = now
            u.tsInitNs = now
        }
        await core.publish(update, subject: try? Subjects.positions(exchange: exchange, market: market), id: update.updateID)
        state.withLock { $0.snapshots += 1 }
    }

    /// How far around a FUNDING_FEE event the income history is read: settlement and event times differ by
    /// moments, funding intervals by hours, so the window holds this settlement's payments only.
    static let fundingWindowMs: Int64 = 60_000

    /// One AccountUpdate (reason FUNDING) per payment found in /fapi/v1/income around `eventTimeMs`,
    /// Nats-Msg-Id from the venue's tranId: the same payment seen again (a second event for the same
    /// settlement, a reconnect) collapses in JetStream's duplicate window.
    func publishFunding(eventTimeMs: Int64) async {
        await publishFunding(fromMs: eventTimeMs - Self.fundingWindowMs, toMs: eventTimeMs + Self.fundingWindowMs)
    }

    /// Every FUNDING_FEE payment settled in [fromMs, toMs] (both inclusive, as Binance documents).
    func publishFunding(fromMs: Int64, toMs: Int64) async {
        let params = [("incomeType", "FUNDING_FEE"), ("startTime", String(fromMs)), ("endTime", String(toMs)), ("limit", "1000")]
        let incomes: [FuturesIncome]
        do {
            do {
                incomes = try rest.decode([FuturesIncome].self, try await rest.send(.GET, "/fapi/v1/income", params, security: .signed, weight: 30))
            } catch let e as BinanceError {
                // -1021: our clock is off the venue's (e.g. the venue's time jumped); measure it again, retry once.
                guard case .rejected(_, -1021, _) = e else { throw e }
                try await rest.syncTime()
                incomes = try rest.decode([FuturesIncome].self, try await rest.send(.GET, "/fapi/v1/income", params, security: .signed, weight: 30))
            }
        } catch {
            logger.error("funding payments not read from /fapi/v1/income", metadata: ["from": "\(fromMs)", "to": "\(toMs)", "error": "\(error)"])
            return
        }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        for update in Self.fundingUpdates(incomes, account: config.account, exchange: exchange, market: market, nowNs: now) {
            await core.publish(update, subject: try? Subjects.positions(exchange: exchange, market: market), id: update.updateID)
        }
    }

    /// Income entries → one update per FUNDING_FEE payment (other income types and unparsable amounts skipped).
    static func fundingUpdates(_ incomes: [FuturesIncome], account: String, exchange: String, market: String, nowNs: Int64) -> [Oms_V1_AccountUpdate] {
        incomes.compactMap { i in
            guard i.incomeType == "FUNDING_FEE", !i.tranId.isEmpty, let amount = FixedPoint.decimal(i.income) else { return nil }
            return Oms_V1_AccountUpdate.with { u in
                u.updateID = "\(exchange).\(market).funding.\(i.tranId)"
                u.account = account
                u.exchange = exchange
                u.market = market
                u.reason = .funding
                u.funding = [.with { f in
                    f.account = account
                    f.instrument = .with { $0.exchange = exchange; $0.market = market; $0.symbol = i.symbol }
                    f.asset = i.asset
                    f.amount = amount
                    f.venueTransactionID = i.tranId
                    f.tsNs = i.time * 1_000_000
                }]
                u.tsEventNs = i.time * 1_000_000
                u.tsInitNs = nowNs
            }
        }
    }

    // MARK: reconciliation

    /// Open orders and recent trades from the venue against the OMS view; publishes what is missing.
    /// `GET /fapi/v1/userTrades` (weight 5).
    static func userTrades(_ rest: BinanceRESTClient, _ params: [(String, String)]) async throws(BinanceError) -> [FuturesUserTrade] {
        try rest.decode([FuturesUserTrade].self, try await rest.send(.GET, rest.config.restPrefix + "/userTrades", params, security: .signed, weight: 5))
    }

    /// Every trade since `startTime`, page by page: `startTime` for the first page, then `fromId` (Binance refuses the two
    /// together). One page alone would miss the newest trades of a busy account.
    static func userTrades(_ rest: BinanceRESTClient, symbol: String, since startTime: Int64, pageSize: Int = 1000) async throws(BinanceError) -> [FuturesUserTrade] {
        var all: [FuturesUserTrade] = []
        var params = [("symbol", symbol), ("startTime", String(startTime)), ("limit", String(pageSize))]
        while true {
            let page = try await userTrades(rest, params)
            all += page
            guard page.count >= pageSize, let last = page.last else { return all }
            params = [("symbol", symbol), ("fromId", String(last.id + 1)), ("limit", String(pageSize))]
        }
    }

    public func reconcile(reason: String) async throws {
        let (open, inPlay) = core.store.withLock { s in (s.orders.values.filter { !$0.isTerminal }, Set(s.orders.values.map(\.symbol))) }
        let symbols = Set(config.symbols).union(inPlay).sorted()
        for symbol in symbols {
            let venueOpen = try rest.decode([FuturesOrderResponse].self, try await rest.send(.GET, p + "/openOrders", [("symbol", symbol)], security: .signed, weight: 1))
            // apply() learns an order it does not hold and reads its trades when it filled beyond what was published.
            for r in venueOpen { if let cid = r.clientOrderId { await apply(r, venueID: cid) } }
            let since = rest.clock.nowMs() - config.reconcileLookback.milliseconds
            let trades = try await Self.userTrades(rest, symbol: symbol, since: since)
            let openIDs = Set(venueOpen.compactMap(\.clientOrderId))
            for t in open where t.symbol == symbol && !openIDs.contains(t.venueClientID) {
                if case .found(let r) = await queryUntilKnown(symbol: symbol, venueID: t.venueClientID, msg: nil) { await apply(r, venueID: t.venueClientID) }
            }
            _ = await core.publishTrades(trades.map(BinanceExecutionClient.FillFacts.init), symbol: symbol) { [self] venueOrderID in
                guard let r = try? rest.decode(FuturesOrderResponse.self, try await rest.send(.GET, p + "/order", [("symbol", symbol), ("orderId", String(venueOrderID))],
                                                                                              security: .signed, weight: 1)) else { return nil }
                if let cid = r.clientOrderId { state.withLock { $0.byVenueOrderID[r.orderId] = cid } }
                return r.asOrderResponse
            }
        }
        // Funding settled while the user stream was down has no FUNDING_FEE event to trigger the read. Payments
        // published before carry the same tranId: JetStream collapses them within its duplicate window and the
        // archiver skips a venue transaction id it already holds.
        let now = rest.clock.nowMs()
        await publishFunding(fromMs: now - config.reconcileLookback.milliseconds, toMs: now + Self.fundingWindowMs)
        requestSnapshot("reconcile.\(rest.clock.nowMs())", .reconcile)
        logger.info("reconciled", metadata: ["reason": "\(reason)", "symbols": "\(symbols.count)"])
    }
}

extension BinanceExecutionClient.FillFacts {
    init(_ t: FuturesUserTrade) {
        self.init(symbol: t.symbol, tradeID: t.id, venueOrderID: t.orderId, price: t.price, qty: t.qty, commission: t.commission,
                  commissionAsset: t.commissionAsset, isMaker: t.maker, timeMs: t.time)
    }
}
