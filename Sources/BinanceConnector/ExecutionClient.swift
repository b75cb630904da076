import Foundation
import Logging
import OMSCore
import Synchronization

/// Latency samples (ns) of "command received -> request bytes written".
public final class LatencyRecorder: Sendable {
    private let samples = Mutex<[Int64]>([])
    public init() {}
    public func record(_ ns: Int64) { samples.withLock { if $0.count < 1_000_000 { $0.append(ns) } } }
    public var count: Int { samples.withLock { $0.count } }
    public func percentile(_ p: Double) -> Int64? {
        let s = samples.withLock { $0 }.sorted()
        guard !s.isEmpty else { return nil }
        return s[min(s.count - 1, Int((Double(s.count) * p).rounded(.down)))]
    }
    public func reset() { samples.withLock { $0.removeAll() } }
}

/// The order side of the adapter: consumes `cmd.venue.<exchange>.<market>.>`,
/// sends orders over the WebSocket API (REST when the session is down or by
/// config), follows the user data stream, reconciles, and publishes OrderEvent /
/// Fill / AccountUpdate with `Nats-Msg-Id`s derived from venue ids.
public final class BinanceExecutionClient: @unchecked Sendable {
    public let config: BinanceVenueConfig
    public let rest: BinanceRESTClient
    public let ws: BinanceWSAPIClient?
    let jetStream: JetStream
    let logger: Logger
    let health: HealthState?
    let producer: String
    public let latency = LatencyRecorder()
    /// Commands in flight at once (different orders overlap; one order's commands stay in sequence).
    public let sequencer: CommandSequencer

    struct Store {
        var orders: [String: TrackedOrder] = [:]     // by venue client id
        var seenTrades: Set<String> = []             // "SYMBOL:tradeId"
        var doneCommands: Set<String> = []
        var viewLoaded = false
        /// Set when command consumption starts (after the clock sync): see PriorIncarnation.
        var prior: PriorIncarnation?
    }
    let store = Mutex(Store())
    /// One order's fills at the venue, for a response that says the order filled but carries no fills (a query
    /// after a restart or an unknown outcome): spot's myTrades by orderId; a futures market sets userTrades.
    var orderTrades: @Sendable (_ symbol: String, _ venueOrderID: Int64) async throws -> [FillFacts]
    private let reconcileRequests: AsyncStream<String>
    private let reconcileContinuation: AsyncStream<String>.Continuation

    public init(config: BinanceVenueConfig, rest: BinanceRESTClient, ws: BinanceWSAPIClient?, jetStream: JetStream,
                logger: Logger, health: HealthState?, producer: String, maxInFlightCommands: Int = 64) {
        self.config = config
        sequencer = CommandSequencer(maxInFlight: maxInFlightCommands)
        self.rest = rest
        self.ws = ws
        self.jetStream = jetStream
        self.logger = logger
        self.health = health
        self.producer = producer
        orderTrades = { [rest] symbol, venueOrderID in try await rest.myTrades(symbol: symbol, orderId: venueOrderID).map(FillFacts.init) }
        (reconcileRequests, reconcileContinuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
    }

    var exchange: String { config.exchange }
    var market: String { config.market }
    public var commandFilter: String { "cmd.venue.\(exchange).\(market).>" }
    public var durableName: String { "\(exchange)-\(market)-connector" }

    // MARK: run

    /// Runs until cancelled: OMS view, time sync, WebSocket session, reconciliation, commands.
    public func run() async throws {
        await syncTimeWithRetry()
        try await loadOMSView()
        if let ws {
            ws.onSessionStart = { [weak self] client in
                guard let self else { return }
                if client.credentialsAllowLogon { try await client.logon() }
                try await client.subscribeUserData()
                self.reconcileContinuation.yield("user data (re)subscribed")
            }
            ws.onEvent = { [weak self] bytes in await self?.handleUserData(bytes) }
            ws.onReadyChange = { [weak self] ready in
                self?.health?.set("venue_session", ok: ready, detail: ready ? "ws-api session up" : "ws-api down (REST fallback)")
            }
        } else {
            reconcileContinuation.yield("start")
        }
        health?.set("venue_session", ok: ws == nil, detail: ws == nil ? "REST only" : "connecting")
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let ws { group.addTask { await ws.run() } }
            group.addTask { [self] in
                for await reason in reconcileRequests {
                    do { try await reconcile(reason: reason) } catch {
                        logger.warning("reconcile failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(60))
                    await syncTimeWithRetry()
                }
            }
            group.addTask { [self] in try await consumeCommands() }
            try await group.next()
            group.cancelAll()
        }
    }

    public func requestReconcile(_ reason: String) { reconcileContinuation.yield(reason) }

    func syncTimeWithRetry() async {
        for attempt in 0..<5 {
            do {
                try await rest.syncTime()
                logger.debug("server time synced", metadata: ["offset_ms": "\(rest.clock.offsetMs)"])
                return
            } catch {
                logger.warning("server time sync failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: .milliseconds(200 * (1 << attempt)))
            }
        }
    }

    func consumeCommands() async throws {
        var spec = ConsumerSpec(durable: durableName, filterSubject: commandFilter)
        spec.ackWait = .seconds(60)
        spec.deliverFrom = .all
        spec.resumeInOrder = true  // a cancel must never overtake its order after a restart
        // (Recreating the durable resets delivery counts: numDelivered alone cannot tell that the
        // previous process may have sent a command; PriorIncarnation can.)
        let prior = PriorIncarnation(startedVenueMs: rest.clock.nowMs())
        store.withLock { $0.prior = prior }
        let consumer = try await jetStream.pullConsumerWhenAvailable(stream: "COMMANDS", spec)
        logger.info("consuming commands", metadata: ["filter": "\(commandFilter)", "durable": "\(durableName)",
                                                     "max_in_flight": "\(sequencer.maxInFlight)"])
        // Different orders proceed concurrently (one unknown outcome must not stall the rest);
        // one order's commands keep their order; each message is acked once its effects are published.
        try await withThrowingDiscardingTaskGroup { group in
            for try await msg in consumer.messages(batch: 64, pollTimeout: .milliseconds(200)) {
                let received = ContinuousClock.now
                guard let cmd = try? Oms_V1_OrderCommand(serializedBytes: msg.payload) else {
                    logger.error("undecodable command", metadata: ["subject": "\(msg.subject)"])
                    try? msg.term()
                    continue
                }
                let ticket = await sequencer.admit(key: Self.orderingKey(cmd))
                group.addTask { [self] in
                    await sequencer.waitTurn(ticket)
                    let disposition = await handleCommand(msg, cmd, received: received)
                    switch disposition {
                    case .ack: try? msg.ack()
                    case .nak(let d): try? msg.nak(delay: d)
                    case .term: try? msg.term()
                    }
                    sequencer.finish(ticket)
                }
            }
        }
    }

    /// The order a command belongs to (its commands run in sequence); nil for a cancel-all,
    /// which runs after everything before it and before everything after it.
    static func orderingKey(_ cmd: Oms_V1_OrderCommand) -> String? {
        switch cmd.command {
        case .newOrder(let n): n.orderID
        case .cancelOrder(let c): c.orderID
        case .amendOrder(let a): a.orderID
        case .cancelAll, nil: nil
        }
    }

    enum Disposition { case ack, nak(Duration), term }

    // MARK: commands

    func handleCommand(_ msg: JetStreamMessage, _ cmd: Oms_V1_OrderCommand, received: ContinuousClock.Instant) async -> Disposition {
        if store.withLock({ $0.doneCommands.contains(cmd.commandID) }) { return .ack }
        let symbol = String(msg.subject.split(separator: ".").last ?? "")
        let redelivered = maySendAgain(msg)
        let d: Disposition
        switch cmd.command {
        case .newOrder(let n): d = await placeOrder(n, symbol: n.instrument.symbol.isEmpty ? symbol : n.instrument.symbol, redelivered: redelivered, received: received, msg: msg)
        case .cancelOrder(let c): d = await cancelOrder(c, symbol: c.instrument.symbol.isEmpty ? symbol : c.instrument.symbol)
        case .cancelAll(let c): d = await cancelAll(c, symbol: symbol)
        case .amendOrder(let a):
            await publishReject(orderID: a.orderID, symbol: symbol, type: .amendRejected, reason: .venueRejected, text: "amend is not supported by the binance spot connector")
            d = .ack
        case nil: d = .term
        }
        if case .ack = d { store.withLock { _ = $0.doneCommands.insert(cmd.commandID) } }
        return d
    }

    /// The command may already be at the venue (this process or the previous one sent it): see PriorIncarnation.
    func maySendAgain(_ msg: JetStreamMessage) -> Bool {
        let prior = store.withLock { $0.prior } ?? PriorIncarnation(startedNs: 0, startedVenueMs: 0)
        return prior.maySendAgain(numDelivered: msg.delivery.numDelivered, storedNs: msg.delivery.timestampNs)
    }

    /// Sleeps until every request the previous incarnation could have sent has expired at the venue;
    /// true when it had to wait (the caller then asks the venue again).
    func waitOutPriorIncarnation(msg: JetStreamMessage) async -> Bool {
        guard let prior = store.withLock({ $0.prior }) else { return false }
        let waitMs = prior.resendSafeAtMs(recvWindowMs: config.recvWindowMs) - rest.clock.nowMs()
        guard waitMs > 0 else { return false }
        logger.info("command may have been sent before the restart; waiting out recvWindow before sending", metadata: ["wait_ms": "\(waitMs)"])
        try? msg.inProgress()
        try? await Task.sleep(for: .milliseconds(waitMs))
        try? msg.inProgress()
        return true
    }

    func placeOrder(_ n: Oms_V1_NewOrder, symbol: String, redelivered: Bool, received: ContinuousClock.Instant, msg: JetStreamMessage) async -> Disposition {
        var tracked = TrackedOrder(new: n, symbol: symbol)
        let venueID = tracked.venueClientID
        let known = store.withLock { s -> TrackedOrder? in
            if let t = s.orders[venueID] { return t }
            s.orders[venueID] = tracked
            return nil
        }
        if let known, known.venueOrderID != 0 || known.isTerminal {
            return .ack  // already placed (replay): never a second order
        }
        if let known { tracked = known }
        let params: [(String, String)]
        switch BinanceMapping.orderParams(n, symbol: symbol, venueClientID: venueID) {
        case .success(let p): params = p
        case .failure(let e):
            await applyReject(venueID: venueID, reason: .invalidRequest, text: e.description)
            return .ack
        }
        // A redelivered command (or one we tracked without an answer) may already be at the venue: ask first.
        var mustQueryFirst = redelivered || known != nil
        var attempt = 0
        while attempt < 5 {
            attempt += 1
            if mustQueryFirst {
                switch await queryUntilKnown(symbol: symbol, venueID: venueID, msg: msg) {
                case .found(let r):
                    await apply(response: r, venueID: venueID)
                    return .ack
                case .notFound:
                    // Unknown to the venue, but a request of the previous incarnation may still be on its way.
                    if redelivered, await waitOutPriorIncarnation(msg: msg) { continue }
                case .unavailable: return .nak(.seconds(2))
                }
            }
            let ts = rest.clock.nowMs()
            let result: Result<OrderResponse, BinanceError>
            let onWritten: @Sendable () -> Void = { [latency] in
                latency.record((ContinuousClock.now - received).nanoseconds)
            }
            if config.orderPath == .websocket, let ws, ws.isReady {
                do {
                    let env = try await ws.request("order.place", params.map { ($0.0, .string($0.1)) }, auth: ws.isLoggedOn ? .session : .signed,
                                                   weight: 1, orders: 1, timestamp: ts, written: onWritten)
                    result = .success(try BinanceWSAPIClient.result(OrderResponse.self, env))
                } catch {
                    if case .notSent(let why) = error, why.contains("not ready") {
                        result = await restPlace(params, ts: ts, onWritten: onWritten)  // session dropped: REST fallback
                    } else {
                        result = .failure(error)
                    }
                }
            } else {
                result = await restPlace(params, ts: ts, onWritten: onWritten)
            }
            switch result {
            case .success(let r):
                await apply(response: r, venueID: venueID)
                return .ack
            case .failure(let e):
                switch e {
                case .rejected(_, let code, let m) where code == -2010 && m.lowercased().contains("duplicate"):
                    mustQueryFirst = true
                    continue
                case .rejected(_, let code, let m):
                    await applyReject(venueID: venueID, reason: BinanceMapping.rejectReason(code: code, msg: m), text: "\(code): \(m)")
                    return .ack
                case .rateLimited(_, _, let code, let m):
                    await applyReject(venueID: venueID, reason: .rateLimited, text: "\(code.map(String.init) ?? "429"): \(m ?? "rate limited")")
                    return .ack
                case .notSent(let why):
                    await applyReject(venueID: venueID, reason: why.contains("rate limit") ? .rateLimited : .venueUnavailable, text: why)
                    return .ack
                case .unknown(let why):
                    logger.warning("order status unknown; querying before any resend", metadata: ["order_id": "\(n.orderID)", "why": "\(why)"])
                    // Most often the order did execute and only the answer was lost: one query at once
                    // finds it without holding every later command for a recvWindow.
                    if case .found(let r) = await queryUntilKnown(symbol: symbol, venueID: venueID, msg: msg) {
                        await apply(response: r, venueID: venueID)
                        return .ack
                    }
                    // Not there (yet): the original can only still execute until timestamp + recvWindow:
                    // wait that out, then ask again before any resend.
                    let until = ts + config.recvWindowMs + 250
                    let waitMs = until - rest.clock.nowMs()
                    if waitMs > 0 { try? await Task.sleep(for: .milliseconds(waitMs)) }
                    try? msg.inProgress()
                    mustQueryFirst = true
                }
            }
        }
        return .nak(.seconds(2))
    }

    func restPlace(_ params: [(String, String)], ts: Int64, onWritten: @escaping @Sendable () -> Void) async -> Result<OrderResponse, BinanceError> {
        do { return .success(try await rest.newOrder(params, timestamp: ts, onSend: onWritten)) } catch { return .failure(error) }
    }

    enum QueryOutcome { case found(OrderResponse), notFound, unavailable }

    /// GET the order by origClientOrderId, retrying transient failures for a while.
    func queryUntilKnown(symbol: String, venueID: String, msg: JetStreamMessage?) async -> QueryOutcome {
        var delay: Duration = .milliseconds(100)
        for _ in 0..<12 {
            do {
                return .found(try await rest.queryOrder(symbol: symbol, origClientOrderId: venueID))
            } catch {
                if case .rejected(_, let code, _) = error, code == -2013 { return .notFound }
                logger.info("order query failed, retrying", metadata: ["client_order_id": "\(venueID)", "error": "\(error)"])
                try? msg?.inProgress()
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(3))
            }
        }
        return .unavailable
    }

    func cancelOrder(_ c: Oms_V1_CancelOrder, symbol: String) async -> Disposition {
        await cancelWaitingForBudget(c) { lastTry in await self.cancelOnce(c, symbol: symbol, lastTry: lastTry) }
    }

    /// A cancel reduces risk: when the request budget is spent (429/418 or our own limiter), it waits for the
    /// budget rather than being dropped, for up to about a minute. `once` makes one attempt and names the rate
    /// limit that refused it (publishing nothing then), or publishes the outcome and returns nil.
    func cancelWaitingForBudget(_ c: Oms_V1_CancelOrder, _ once: (_ lastTry: Bool) async -> (Disposition, String?)) async -> Disposition {
        var waited: Duration = .zero
        while true {
            let (d, limited) = await once(waited >= .seconds(60))
            guard let limited else { return d }
            logger.info("cancel waits for the rate limit", metadata: ["order_id": "\(c.orderID)", "why": "\(limited)"])
            try? await Task.sleep(for: .seconds(1))
            waited += .seconds(1)
        }
    }

    /// The venue has never seen the order a cancel names (a redelivered or delayed new-order command is still to
    /// come): it is canceled here and, being terminal in the store (rebuilt from ORDERS after a restart too), the
    /// late new-order is never sent. False when the order did reach the venue (or ended) after all.
    func cancelBeforePlacement(_ c: Oms_V1_CancelOrder, symbol: String, venueID: String) async -> Bool {
        let placed = store.withLock { s -> Bool in
            if let t = s.orders[venueID], t.venueOrderID != 0 || t.isTerminal { return true }
            var t = s.orders[venueID] ?? TrackedOrder(orderID: c.orderID, venueClientID: venueID, symbol: symbol)
            t.account = t.account.isEmpty ? c.account : t.account
            t.status = .canceled
            t.updatedNs = Int64(Date().timeIntervalSince1970 * 1e9)
            s.orders[venueID] = t
            return false
        }
        guard !placed else { return false }
        logger.warning("cancel before the order reached the venue; it will not be sent", metadata: ["order_id": "\(c.orderID)"])
        await publishReject(orderID: c.orderID, symbol: symbol, type: .canceled, reason: .unspecified, text: "canceled before it reached the venue")
        return true
    }

    /// One cancel attempt; `limited` is set (and nothing published) when it was refused for rate limits.
    func cancelOnce(_ c: Oms_V1_CancelOrder, symbol: String, lastTry: Bool) async -> (Disposition, String?) {
        let venueID = ClientOrderID.venueID(forOrderID: c.orderID)
        if let t = store.withLock({ $0.orders[venueID] }), t.isTerminal {
            await publishReject(orderID: c.orderID, symbol: symbol, type: .cancelRejected, reason: .unknownOrder, text: "order already \(t.status)")
            return (.ack, nil)
        }
        var result: Result<OrderResponse, BinanceError>
        if config.orderPath == .websocket, let ws, ws.isReady {
            do {
                let env = try await ws.request("order.cancel", [("symbol", .string(symbol)), ("origClientOrderId", .string(venueID))],
                                               auth: ws.isLoggedOn ? .session : .signed, weight: 1)
                result = .success(try BinanceWSAPIClient.result(OrderResponse.self, env))
            } catch { result = .failure(error) }
        } else {
            do { result = .success(try await rest.cancelOrder(symbol: symbol, origClientOrderId: venueID)) } catch { result = .failure(error) }
        }
        if case .failure(let e) = result, case .notSent(let why) = e, why.contains("not ready") {
            do { result = .success(try await rest.cancelOrder(symbol: symbol, origClientOrderId: venueID)) } catch { result = .failure(error) }
        }
        switch result {
        case .success(let r):
            // The cancel response's clientOrderId names the cancel; the order is origClientOrderId.
            var fixed = r
            fixed.clientOrderId = venueID
            await apply(response: fixed, venueID: venueID)
            return (.ack, nil)
        case .failure(let e):
            switch e {
            case .rejected(_, let code, let m):
                // Unknown order (-2011/-2013): it may have just filled or been canceled: publish its true state.
                let outcome = await queryUntilKnown(symbol: symbol, venueID: venueID, msg: nil)
                if case .found(let r) = outcome {
                    await apply(response: r, venueID: venueID)
                } else if case .notFound = outcome, await cancelBeforePlacement(c, symbol: symbol, venueID: venueID) {
                    return (.ack, nil)
                }
                await publishReject(orderID: c.orderID, symbol: symbol, type: .cancelRejected, reason: .unknownOrder, text: "\(code): \(m)")
                return (.ack, nil)
            case .unknown:
                // Cancels are idempotent: try again later; the query on redelivery shows the outcome anyway.
                return (.nak(.seconds(1)), nil)
            case .rateLimited, .notSent:
                if !lastTry { return (.ack, e.description) }
                await publishReject(orderID: c.orderID, symbol: symbol, type: .cancelRejected, reason: .rateLimited, text: e.description)
                return (.ack, nil)
            }
        }
    }

    func cancelAll(_ c: Oms_V1_CancelAll, symbol: String) async -> Disposition {
        let targets = store.withLock { s in
            s.orders.values.filter { !$0.isTerminal && (c.symbol.isEmpty || c.symbol == $0.symbol) && (c.account.isEmpty || c.account == $0.account) }
        }
        for t in targets {
            _ = await cancelOrder(Oms_V1_CancelOrder.with { $0.orderID = t.orderID; $0.account = t.account }, symbol: t.symbol)
        }
        return .ack
    }

    // MARK: applying venue state

    /// A REST / WebSocket API order response (place, query, cancel): fills first, then the order event.
    /// `tradesKnown`: the caller publishes the order's fills itself (reconciliation read them already).
    /// `fillsOnStream`: the answer to this process's own request, whose fills (absent from the answer, as in every
    /// futures answer) come on the connected user data stream: only the acknowledgement is published here, so that
    /// nobody sees the order filled before its trades (oms-core would drop its reservation before the position
    /// grew); should the trades not arrive within `fillsOnStreamGrace`, they are read by REST.
    func apply(response r: OrderResponse, venueID: String, tradesKnown: Bool = false, fillsOnStream: Bool = false) async {
        let symbol = r.symbol
        learn(r, venueID: venueID)
        let filledBefore = store.withLock { $0.orders[venueID]?.filled ?? 0 }
        let filled = r.executedQty.flatMap { FixedPoint.decimal($0) }.map { FixedPoint.rescale($0, to: 8) }
        if fillsOnStream, (r.fills ?? []).isEmpty, let executed = filled, executed > filledBefore {
            await publishOrderUpdate(venueID: venueID, symbol: symbol, venueOrderID: r.orderId, status: .accepted, filled: nil, cumQuote: nil,
                                     timeMs: r.updateTime ?? r.transactTime ?? r.time ?? 0, last: nil)
            Task { [self] in
                try? await Task.sleep(for: Self.fillsOnStreamGrace)
                guard store.withLock({ ($0.orders[venueID]?.filled ?? 0) < executed }) else { return }
                logger.warning("fills of an answered order not on the user data stream; reading them", metadata: [
                    "symbol": "\(symbol)", "venue_order_id": "\(r.orderId)"])
                await apply(response: r, venueID: venueID)
            }
            return
        }
        for f in r.fills ?? [] {
            guard let tradeID = f.tradeId else { continue }
            let fill = FillFacts(symbol: symbol, tradeID: tradeID, venueOrderID: r.orderId, price: f.price, qty: f.qty,
                                 commission: f.commission ?? "0", commissionAsset: f.commissionAsset ?? "", isMaker: false,
                                 timeMs: r.transactTime ?? r.updateTime ?? 0)
            await publishFill(fill, venueID: venueID)
        }
        let status = BinanceMapping.status(r.status ?? "NEW")
        let quote = r.cummulativeQuoteQty.flatMap { FixedPoint.decimal($0) }.map { FixedPoint.rescale($0, to: 8) }
        // Filled beyond what this process has published, and no fills in the answer (a query): read them, before
        // the order's new state, so that no consumer sees FILLED without its trades. (A fault-suite run lost 16
        // fills this way: orders placed just before a kill -9, settled by the successor's query.)
        if !tradesKnown, (r.fills ?? []).isEmpty, let filled, filled > filledBefore {
            await publishOrderTrades(symbol: symbol, venueOrderID: r.orderId, venueID: venueID)
        }
        await publishOrderUpdate(venueID: venueID, symbol: symbol, venueOrderID: r.orderId, status: status, filled: filled, cumQuote: quote,
                                 timeMs: r.updateTime ?? r.transactTime ?? r.time ?? 0, last: nil)
    }

    static let fillsOnStreamGrace: Duration = .seconds(3)

    /// Publishes one order's fills as the venue lists them (each trade once: publishFill skips the known ones).
    /// Unreadable now (rate limit, venue down): a reconciliation is asked for, which reads every recent trade.
    func publishOrderTrades(symbol: String, venueOrderID: Int64, venueID: String) async {
        do {
            for f in try await orderTrades(symbol, venueOrderID) { await publishFill(f, venueID: venueID) }
        } catch {
            logger.warning("fills of a filled order unreadable; reconciling later", metadata: [
                "symbol": "\(symbol)", "venue_order_id": "\(venueOrderID)", "error": "\(error)"])
            requestReconcile("fills of order \(venueOrderID) unreadable")
        }
    }

    struct FillFacts {
        var symbol: String
        var tradeID: Int64
        var venueOrderID: Int64
        var price: String, qty: String, commission: String, commissionAsset: String
        var isMaker: Bool
        var timeMs: Int64
    }

    /// An order the OMS view does not hold (it was placed, then the process died before publishing anything),
    /// as the venue reports it: enough for its fills (account, side) and its events. Only orders this OMS placed:
    /// their client id is the OMS order id.
    func learn(_ r: OrderResponse, venueID: String) {
        store.withLock { s in
            guard s.orders[venueID] == nil, let orderID = ClientOrderID.orderID(forVenueID: venueID) else { return }
            var t = TrackedOrder(orderID: orderID, venueClientID: venueID, symbol: r.symbol)
            t.account = config.account
            t.venueOrderID = r.orderId
            t.side = BinanceMapping.side(r.side ?? "")
            if let q = r.origQty.flatMap({ FixedPoint.decimal($0) }) { t.quantity = q }
            if let p = r.price.flatMap({ FixedPoint.decimal($0) }) { t.price = p }
            s.orders[venueID] = t
        }
    }

    func tracked(_ venueID: String, symbol: String, venueOrderID: Int64) -> TrackedOrder {
        store.withLock { s in
            if let t = s.orders[venueID] { return t }
            if venueOrderID != 0, let t = s.orders.values.first(where: { $0.venueOrderID == venueOrderID && $0.symbol == symbol }) { return t }
            var t = TrackedOrder(orderID: ClientOrderID.orderID(forVenueID: venueID) ?? venueID, venueClientID: venueID, symbol: symbol)
            t.venueOrderID = venueOrderID
            s.orders[venueID] = t
            return t
        }
    }

    func publishFill(_ f: FillFacts, venueID: String) async {
        let key = "\(f.symbol):\(f.tradeID)"
        let isNew = store.withLock { $0.seenTrades.insert(key).inserted }
        guard isNew else { return }
        let t = tracked(venueID, symbol: f.symbol, venueOrderID: f.venueOrderID)
        let fill = Oms_V1_Fill.with { m in
            m.tradeID = String(f.tradeID)
            m.orderID = t.orderID
            m.clientOrderID = t.clientOrderID.isEmpty ? t.venueClientID : t.clientOrderID
            m.venueOrderID = String(f.venueOrderID)
            m.account = t.account
            m.instrument = .with { $0.exchange = exchange; $0.market = market; $0.symbol = f.symbol }
            m.side = t.side
            if let p = FixedPoint.decimal(f.price) { m.price = p }
            if let q = FixedPoint.decimal(f.qty) { m.quantity = q }
            if let c = FixedPoint.decimal(f.commission) { m.commission = c }
            m.commissionAsset = f.commissionAsset
            m.liquidity = f.isMaker ? .maker : .taker
            m.tsEventNs = f.timeMs * 1_000_000
            m.tsInitNs = Int64(Date().timeIntervalSince1970 * 1e9)
            m.parentOrderID = t.parentOrderID
        }
        let id = "\(exchange).\(market).\(f.symbol).t\(f.tradeID)"
        await publish(fill, subject: try? Subjects.trades(exchange: exchange, market: market, symbol: f.symbol), id: id)
    }

    /// Moves the tracked order forward and publishes an OrderEvent when its status or filled quantity changed.
    /// Event id = venue order id + status + cumulative quantity: whichever path (response, stream,
    /// reconciliation) reports a state first, the others collapse onto it.
    func publishOrderUpdate(venueID: String, symbol: String, venueOrderID: Int64, status: Oms_V1_OrderStatus, filled: Int64?, cumQuote: Int64?,
                            timeMs: Int64, last: (qty: String, price: String, tradeID: Int64)?, rejectText: String? = nil) async {
        _ = tracked(venueID, symbol: symbol, venueOrderID: venueOrderID)
        let update: TrackedOrder? = store.withLock { s in
            guard var t = s.orders[venueID] else { return nil }
            let newFilled = max(filled ?? t.filled, t.filled)
            let progressed = BinanceMapping.rank(status) > BinanceMapping.rank(t.status) || newFilled > t.filled ||
                (BinanceMapping.rank(status) == BinanceMapping.rank(t.status) && status != t.status && !t.isTerminal)
            if venueOrderID != 0 { t.venueOrderID = venueOrderID }
            guard progressed, status != .unspecified else { s.orders[venueID] = t; return nil }
            if BinanceMapping.rank(status) >= BinanceMapping.rank(t.status) { t.status = status }
            else if newFilled > t.filled && !t.isTerminal { t.status = .partiallyFilled }
            t.filled = newFilled
            if let cumQuote { t.cumQuote = max(cumQuote, t.cumQuote) }
            t.updatedNs = timeMs * 1_000_000
            s.orders[venueID] = t
            return t
        }
        guard let t = update else { return }
        let event = Oms_V1_OrderEvent.with { e in
            e.eventType = BinanceMapping.eventType(t.status)
            e.order = t.order(exchange: exchange, market: market)
            if let last {
                if let q = FixedPoint.decimal(last.qty) { e.lastQuantity = q }
                if let p = FixedPoint.decimal(last.price) { e.lastPrice = p }
                e.tradeID = String(last.tradeID)
            }
            if let rejectText { e.reasonText = rejectText; e.reasonCode = .venueRejected }
            e.source = producer
            e.tsEventNs = timeMs * 1_000_000
            e.tsInitNs = Int64(Date().timeIntervalSince1970 * 1e9)
            e.eventID = "\(exchange).\(market).\(symbol).o\(t.venueOrderID).\(t.status.rawValue).\(t.filled)"
        }
        await publish(event, subject: try? Subjects.orders(exchange: exchange, market: market, symbol: symbol), id: event.eventID)
    }

    func applyReject(venueID: String, reason: Oms_V1_RejectReason, text: String) async {
        let t: TrackedOrder? = store.withLock { s in
            guard var t = s.orders[venueID], !t.isTerminal else { return nil }
            t.status = .rejected
            t.updatedNs = Int64(Date().timeIntervalSince1970 * 1e9)
            s.orders[venueID] = t
            return t
        }
        guard let t else { return }
        let event = Oms_V1_OrderEvent.with { e in
            e.eventType = .rejected
            var o = t.order(exchange: exchange, market: market)
            o.rejectReason = reason
            o.rejectText = text
            e.order = o
            e.reasonCode = reason
            e.reasonText = text
            e.source = producer
            e.tsEventNs = t.updatedNs
            e.tsInitNs = t.updatedNs
            e.eventID = "\(exchange).\(market).\(t.symbol).c\(t.venueClientID).rejected"
        }
        await publish(event, subject: try? Subjects.orders(exchange: exchange, market: market, symbol: t.symbol), id: event.eventID)
    }

    func publishReject(orderID: String, symbol: String, type: Oms_V1_OrderEventType, reason: Oms_V1_RejectReason, text: String) async {
        let venueID = ClientOrderID.venueID(forOrderID: orderID)
        let t = store.withLock { $0.orders[venueID] } ?? TrackedOrder(orderID: orderID, venueClientID: venueID, symbol: symbol)
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let event = Oms_V1_OrderEvent.with { e in
            e.eventType = type
            e.order = t.order(exchange: exchange, market: market)
            e.reasonCode = reason
            e.reasonText = text
            e.source = producer
            e.tsEventNs = now
            e.tsInitNs = now
            e.eventID = "\(exchange).\(market).\(symbol).c\(venueID).\(type.rawValue).\(now)"
        }
        await publish(event, subject: try? Subjects.orders(exchange: exchange, market: market, symbol: symbol), id: event.eventID)
    }

    func publish<M: SwiftProtobufMessage>(_ m: M, subject: String?, id: String) async {
        guard let subject else { return }
        for attempt in 0..<20 {
            do {
                _ = try await jetStream.publish(m, subject: subject, id: id, producer: producer)
                return
            } catch {
                logger.warning("publish failed, retrying", metadata: ["subject": "\(subject)", "id": "\(id)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(50 << attempt, 2000)))
            }
        }
        logger.error("publish gave up", metadata: ["subject": "\(subject)", "id": "\(id)"])
    }

    // MARK: user data

    func handleUserData(_ bytes: [UInt8]) async {
        let event: UserDataEvent
        do { event = try UserDataEvent.parse(bytes) } catch {
            logger.warning("undecodable user data event", metadata: ["error": "\(error)"])
            return
        }
        switch event {
        case .executionReport(let r):
            let venueID = (r.executionType == "CANCELED" || r.orderStatus == "CANCELED") && !(r.origClientOrderId ?? "").isEmpty ? r.origClientOrderId! : r.clientOrderId
            if r.executionType == "TRADE", r.tradeId >= 0 {
                await publishFill(FillFacts(symbol: r.symbol, tradeID: r.tradeId, venueOrderID: r.orderId, price: r.lastPrice, qty: r.lastQuantity,
                                            commission: r.commission ?? "0", commissionAsset: r.commissionAsset ?? "", isMaker: r.isMaker ?? false,
                                            timeMs: r.transactionTime), venueID: venueID)
            }
            let filled = FixedPoint.decimal(r.cumulativeQuantity).map { FixedPoint.rescale($0, to: 8) }
            let quote = r.cumulativeQuoteQuantity.flatMap { FixedPoint.decimal($0) }.map { FixedPoint.rescale($0, to: 8) }
            let last = r.executionType == "TRADE" ? (r.lastQuantity, r.lastPrice, r.tradeId) : nil
            await publishOrderUpdate(venueID: venueID, symbol: r.symbol, venueOrderID: r.orderId, status: BinanceMapping.status(r.orderStatus),
                                     filled: filled, cumQuote: quote, timeMs: r.transactionTime, last: last,
                                     rejectText: r.orderStatus == "REJECTED" ? r.rejectReason : nil)
        case .accountPosition(let a):
            let update = Oms_V1_AccountUpdate.with { u in
                u.updateID = "\(exchange).\(market).acct.\(a.lastUpdateTime).\(a.eventTime)"
                u.account = config.account
                u.exchange = exchange
                u.market = market
                u.reason = .trade
                u.balances = a.balances.map { b in balance(asset: b.asset, free: b.free, locked: b.locked, timeMs: a.lastUpdateTime) }
                u.tsEventNs = a.eventTime * 1_000_000
                u.tsInitNs = Int64(Date().timeIntervalSince1970 * 1e9)
            }
            await publish(update, subject: try? Subjects.positions(exchange: exchange, market: market), id: update.updateID)
        case .balanceUpdate:
            requestReconcile("balance update")
        case .streamTerminated:
            logger.warning("user data stream terminated by the venue; reconnecting")
            await ws?.dropConnection()
        case .other:
            break
        }
    }

    func balance(asset: String, free: String, locked: String, timeMs: Int64) -> Oms_V1_Balance {
        Oms_V1_Balance.with { b in
            b.account = config.account
            b.exchange = exchange
            b.market = market
            b.asset = asset
            if let f = FixedPoint.decimal(free) { b.free = f }
            if let l = FixedPoint.decimal(locked) { b.locked = l }
            b.tsNs = timeMs * 1_000_000
        }
    }

    // MARK: OMS view and reconciliation

    /// Rebuilds what the OMS already knows from the ORDERS and TRADES streams: every order
    /// this venue market reported (latest state wins) and every fill's trade id.
    public func loadOMSView() async throws {
        let suffix = "\(UInt64.random(in: 0...UInt64.max))"
        var orders = 0, trades = 0
        for (stream, filter) in [("ORDERS", "orders.\(exchange).\(market).>"), ("TRADES", "trades.\(exchange).\(market).>")] {
            let durable = "\(exchange)-\(market)-view-\(suffix)"
            var spec = ConsumerSpec(durable: durable, filterSubject: filter)
            spec.deliverFrom = .all
            let consumer: PullConsumer
            do { consumer = try jetStream.pullConsumer(stream: stream, spec) } catch {
                logger.warning("OMS view unavailable", metadata: ["stream": "\(stream)", "error": "\(error)"])
                continue
            }
            while true {
                let batch = try await consumer.fetch(batch: 1000, timeout: .milliseconds(300))
                if batch.isEmpty { break }
                for m in batch {
                    if stream == "ORDERS", let e = try? Oms_V1_OrderEvent(serializedBytes: m.payload), e.hasOrder {
                        let t = TrackedOrder(order: e.order)
                        store.withLock { s in
                            if let old = s.orders[t.venueClientID], BinanceMapping.rank(old.status) > BinanceMapping.rank(t.status) || old.filled > t.filled { return }
                            s.orders[t.venueClientID] = t
                        }
                        orders += 1
                    } else if stream == "TRADES", let f = try? Oms_V1_Fill(serializedBytes: m.payload) {
                        _ = store.withLock { $0.seenTrades.insert("\(f.instrument.symbol):\(f.tradeID)") }
                        trades += 1
                    }
                    try? m.ack()
                }
                if batch.count < 1000 { break }
            }
            consumer.close()
            try? jetStream.deleteConsumer(stream: stream, durable: durable)
        }
        store.withLock { $0.viewLoaded = true }
        logger.info("OMS view loaded", metadata: ["order_events": "\(orders)", "fills": "\(trades)"])
    }

    /// Open orders and recent trades from the venue against the OMS view; publishes what is missing.
    public func reconcile(reason: String) async throws {
        let (open, symbolsInPlay) = store.withLock { s -> ([TrackedOrder], Set<String>) in
            let open = s.orders.values.filter { !$0.isTerminal }
            return (open, Set(s.orders.values.map(\.symbol)))
        }
        let symbols = Set(config.symbols).union(symbolsInPlay).sorted()
        var missedFills = 0, fixed = 0
        let before = store.withLock { $0.seenTrades.count }
        for symbol in symbols {
            let venueOpen = try await rest.openOrders(symbol: symbol)
            for r in venueOpen {
                guard let cid = r.clientOrderId else { continue }
                await apply(response: r, venueID: cid, tradesKnown: true)  // its fills: the trades below
            }
            let since = rest.clock.nowMs() - config.reconcileLookback.milliseconds
            let trades = try await rest.myTrades(symbol: symbol, startTime: since)
            fixed += await publishTrades(trades.map(FillFacts.init), symbol: symbol) { [rest] in try? await rest.queryOrder(symbol: symbol, orderId: $0) }
            // Orders the OMS thinks are live but the venue does not list as open: ask for their final state.
            let openIDs = Set(venueOpen.compactMap(\.clientOrderId))
            for t in open where t.symbol == symbol && !openIDs.contains(t.venueClientID) {
                switch await queryUntilKnown(symbol: symbol, venueID: t.venueClientID, msg: nil) {
                case .found(let r):
                    // Trades of an order learnt only now, before its new state.
                    for tr in trades where tr.orderId == r.orderId { await publishFill(FillFacts(tr), venueID: t.venueClientID) }
                    await apply(response: r, venueID: t.venueClientID, tradesKnown: true)
                    fixed += 1
                case .notFound:
                    if t.venueOrderID == 0 && t.status == .pendingNew {
                        // Never reached the venue; the command is still pending in COMMANDS and will be (re)sent.
                    }
                case .unavailable: break
                }
            }
        }
        missedFills = store.withLock { $0.seenTrades.count } - before
        if let acct = try? await rest.account() {
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            let update = Oms_V1_AccountUpdate.with { u in
                u.updateID = "\(exchange).\(market).acct.reconcile.\(acct.updateTime ?? now / 1_000_000)"
                u.account = config.account
                u.exchange = exchange
                u.market = market
                u.reason = .reconcile
                u.balances = acct.balances.map { balance(asset: $0.asset, free: $0.free, locked: $0.locked, timeMs: acct.updateTime ?? now / 1_000_000) }
                u.tsEventNs = (acct.updateTime ?? 0) * 1_000_000
                u.tsInitNs = now
            }
            await publish(update, subject: try? Subjects.positions(exchange: exchange, market: market), id: update.updateID)
        }
        logger.info("reconciled", metadata: ["reason": "\(reason)", "symbols": "\(symbols.count)", "missed_fills": "\(missedFills)", "orders_fixed": "\(fixed)"])
    }

    /// A symbol's recent trades (reconciliation) against the store: a trade of an order it holds is published (once);
    /// the trades of an order it never held (placed by a process that died before publishing anything) are followed
    /// to the order, `query` by venue order id, whose client id is the OMS order id: the order is learnt, then its
    /// fills and its state are published. Returns how many orders were settled that way.
    func publishTrades(_ trades: [FillFacts], symbol: String, query: (_ venueOrderID: Int64) async -> OrderResponse?) async -> Int {
        var unknown: [Int64: [FillFacts]] = [:]
        for f in trades {
            let venueID = store.withLock { s in s.orders.values.first { $0.venueOrderID == f.venueOrderID && $0.symbol == symbol }?.venueClientID }
            guard let venueID else { unknown[f.venueOrderID, default: []].append(f); continue }
            await publishFill(f, venueID: venueID)
        }
        var settled = 0
        for (venueOrderID, fills) in unknown.sorted(by: { $0.key < $1.key }) {
            guard let r = await query(venueOrderID), let cid = r.clientOrderId else { continue }
            learn(r, venueID: cid)
            guard store.withLock({ $0.orders[cid] != nil }) else { continue }  // not placed by this OMS
            for f in fills { await publishFill(f, venueID: cid) }
            await apply(response: r, venueID: cid, tradesKnown: true)
            settled += 1
        }
        return settled
    }

    /// Snapshot of tracked orders (tests, diagnostics).
    public var trackedOrders: [TrackedOrder] { store.withLock { Array($0.orders.values) } }
}

public typealias SwiftProtobufMessage = SwiftProtobuf.Message
import SwiftProtobuf

extension BinanceWSAPIClient {
    /// `session.logon` needs an Ed25519 key.
    public var credentialsAllowLogon: Bool { credentials?.signer.keyType == .ed25519 }
}

extension BinanceExecutionClient.FillFacts {
    init(_ t: AccountTrade) {
        self.init(symbol: t.symbol, tradeID: t.id, venueOrderID: t.orderId, price: t.price, qty: t.qty, commission: t.commission,
                  commissionAsset: t.commissionAsset, isMaker: t.isMaker, timeMs: t.time)
    }
}
