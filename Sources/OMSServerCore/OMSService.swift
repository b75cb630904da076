import Foundation
import GRPCCore
import Logging
import OMSAPI
import OMSCore
import SwiftProtobuf

/// Where commands go: JetStream in production, a stand-in in unit tests.
public protocol CommandPublisher: Sendable {
    func publish(_ cmd: Oms_V1_OrderCommand, subject: String, id: String) async throws -> PubAck
    func publish(_ ctl: Oms_V1_RiskControl, subject: String, id: String) async throws -> PubAck
    func publishRaw(_ subject: String, payload: [UInt8], id: String) async throws -> PubAck
}

public struct JetStreamPublisher: CommandPublisher {
    public let jetStream: JetStream
    public let timeout: Duration
    public init(jetStream: JetStream, timeout: Duration) { self.jetStream = jetStream; self.timeout = timeout }

    func withTimeout<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { g in
            g.addTask { try await body() }
            g.addTask { [timeout] in
                try await Task.sleep(for: timeout)
                // The command may still be stored (only its ack is late): a retry with the same client
                // order id is deduplicated by JetStream and answers with the order's real state.
                throw RPCError(code: .unavailable, message: "JetStream did not acknowledge within \(timeout); the order may have been accepted: resubmit with the same client_order_id to learn its state")
            }
            let r = try await g.next()!
            g.cancelAll()
            return r
        }
    }
    public func publish(_ cmd: Oms_V1_OrderCommand, subject: String, id: String) async throws -> PubAck {
        try await withTimeout { try await jetStream.publish(cmd, subject: subject, id: id, producer: "oms-server") }
    }
    public func publish(_ ctl: Oms_V1_RiskControl, subject: String, id: String) async throws -> PubAck {
        try await withTimeout { try await jetStream.publish(ctl, subject: subject, id: id, producer: "oms-server") }
    }
    public func publishRaw(_ subject: String, payload: [UInt8], id: String) async throws -> PubAck {
        try await withTimeout { try await jetStream.publish(subject, payload: payload, headers: [(OMSHeader.producer, "oms-server")].reduce(into: MessageHeaders()) { $0[$1.0] = $1.1 }, msgID: id) }
    }
}

/// Opens a stream of (sequence, payload) for StreamOrderEvents / StreamTrades.
public protocol EventSource: Sendable {
    func follow(stream: String, filter: String, fromSequence: UInt64, _ body: @escaping @Sendable (UInt64, [UInt8], String) async throws -> Void) async throws
}

/// Per-call pull consumer starting at the requested sequence; deleted when the
/// call ends, and by the server after `inactiveThreshold` if oms-server dies mid-call.
public struct JetStreamEventSource: EventSource {
    public let jetStream: JetStream
    public var inactiveThreshold: Duration = .seconds(30)
    public init(jetStream: JetStream) { self.jetStream = jetStream }
    public func follow(stream: String, filter: String, fromSequence: UInt64, _ body: @escaping @Sendable (UInt64, [UInt8], String) async throws -> Void) async throws {
        let durable = "oms-server-call-\(UUID().uuidString.prefix(12).lowercased())"
        var spec = ConsumerSpec(durable: durable, filterSubject: filter)
        spec.deliverFrom = fromSequence == 0 ? .new : .sequence(fromSequence)
        spec.inactiveThreshold = inactiveThreshold
        let consumer: PullConsumer
        do { consumer = try jetStream.pullConsumer(stream: stream, spec) } catch {
            throw RPCError(code: .unavailable, message: "JetStream unavailable: \(error)")
        }
        defer {
            consumer.close()
            try? jetStream.deleteConsumer(stream: stream, durable: durable)
        }
        while !Task.isCancelled {
            let batch = (try? await consumer.fetch(batch: 256, timeout: .milliseconds(250))) ?? []
            for m in batch {
                try? m.ack()
                try await body(m.delivery.streamSequence, m.payload, m.subject)
            }
        }
    }
}

/// The gRPC API (oms.api.v1.OmsService) over the projection and JetStream.
public final class OMSService: Oms_Api_V1_OmsService.ServiceProtocol {
    public let projection: OrderProjection
    public let instruments: InstrumentRegistry
    public let auth: TokenAuthenticator
    public let publisher: CommandPublisher
    public let events: EventSource
    public let health: HealthState?
    public let logger: Logger
    public let riskLimits: [Oms_Api_V1_RiskLimit]
    public let configSource: String

    public init(projection: OrderProjection, instruments: InstrumentRegistry, auth: TokenAuthenticator, publisher: CommandPublisher,
                events: EventSource, health: HealthState?, logger: Logger, riskLimits: [Oms_Api_V1_RiskLimit] = [], configSource: String = "") {
        self.projection = projection; self.instruments = instruments; self.auth = auth; self.publisher = publisher
        self.events = events; self.health = health; self.logger = logger; self.riskLimits = riskLimits; self.configSource = configSource
    }

    // MARK: helpers

    func principal(_ metadata: Metadata) throws -> Principal {
        let value = metadata[stringValues: "authorization"].first(where: { _ in true })
        guard let p = auth.authenticate(authorization: value) else {
            throw RPCError(code: .unauthenticated, message: "missing or unknown API token (metadata authorization: Bearer <token>)")
        }
        return p
    }

    /// The request's account, defaulting to the token's only account.
    func account(_ requested: String, _ p: Principal, field: String = "account") throws -> String {
        if requested.isEmpty {
            guard p.accounts.count == 1, let only = p.accounts.first else {
                throw RPCError(code: .invalidArgument, message: "\(field): is required (this token has \(p.accounts.count) accounts)")
            }
            return only
        }
        guard p.owns(requested) else { throw RPCError(code: .permissionDenied, message: "\(field): this token may not use account \(requested)") }
        return requested
    }

    static func invalid(_ v: FieldViolation) -> RPCError {
        var md = Metadata()
        md.addString(v.field, forKey: "oms-field")
        md.addString("\(v.reason.rawValue)", forKey: "oms-reject-reason")
        return RPCError(code: .invalidArgument, message: v.description, metadata: md)
    }

    static func unavailable(_ error: any Error) -> RPCError {
        if let e = error as? RPCError { return e }
        return RPCError(code: .unavailable, message: "JetStream unavailable; the command was not accepted (\(error))")
    }

    /// Canonical content of a new order (ignores server-assigned time) for duplicate detection.
    public static func fingerprint(_ o: Oms_V1_NewOrder) -> String {
        var c = o
        c.tsNs = 0
        // Value, not representation: 0.00100 and 0.001 are one quantity. Validation rescales to the
        // instrument's scales, which can change when a connector publishes its instrument list.
        func canonical(_ d: Oms_V1_Decimal) -> Oms_V1_Decimal {
            var d = d
            while d.scale > 0 && d.mantissa % 10 == 0 { d.mantissa /= 10; d.scale -= 1 }
            if d.mantissa == 0 { d.scale = 0 }
            return d
        }
        if c.hasQuantity { c.quantity = canonical(c.quantity) }
        if c.hasPrice { c.price = canonical(c.price) }
        if c.hasStopPrice { c.stopPrice = canonical(c.stopPrice) }
        if c.hasQuoteQuantity { c.quoteQuantity = canonical(c.quoteQuantity) }
        var opts = BinaryEncodingOptions()
        opts.useDeterministicOrdering = true
        let bytes: [UInt8] = (try? c.serializedBytes(options: opts)) ?? []
        return OrderIDs.fingerprint(bytes)
    }

    func find(_ ref: Oms_Api_V1_OrderRef, _ p: Principal) throws -> OrderRecord {
        var r: OrderRecord?
        if !ref.orderID.isEmpty {
            r = projection.order(id: ref.orderID)
        } else if !ref.clientOrderID.isEmpty {
            let acct = try account(ref.account, p, field: "ref.account")
            r = projection.order(account: acct, clientOrderID: ref.clientOrderID)
        } else {
            throw RPCError(code: .invalidArgument, message: "ref: order_id or client_order_id is required")
        }
        // Another client's order is indistinguishable from a missing one.
        guard let r, p.owns(r.order.account) else { throw RPCError(code: .notFound, message: "order not found") }
        return r
    }

    func riskSubject(_ i: Oms_V1_InstrumentId) throws -> String {
        do { return try Subjects.riskCommand(exchange: i.exchange, market: i.market, symbol: i.symbol) } catch {
            throw RPCError(code: .invalidArgument, message: "instrument: \(error)")
        }
    }

    // MARK: orders

    public func submitOrder(request: ServerRequest<Oms_Api_V1_SubmitOrderRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_SubmitOrderResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        var o = Oms_V1_NewOrder()
        o.clientOrderID = m.clientOrderID
        o.account = try account(m.account, p)
        if m.hasInstrument { o.instrument = m.instrument }
        o.side = m.side
        o.orderType = m.orderType
        o.timeInForce = m.timeInForce
        if m.hasQuantity { o.quantity = m.quantity }
        if m.hasPrice { o.price = m.price }
        if m.hasStopPrice { o.stopPrice = m.stopPrice }
        o.reduceOnly = m.reduceOnly
        o.postOnly = m.postOnly
        if m.hasRouting { o.routing = m.routing }
        do { o = try OrderValidator.validate(o, registry: instruments) } catch { throw Self.invalid(error) }
        if o.instrument.exchange == "auto" && o.routing.strategy == .unspecified { o.routing.strategy = .depthSplit }
        if o.instrument.exchange != "auto" && o.routing.strategy == .unspecified { o.routing.strategy = .direct }
        o.orderID = OrderIDs.orderID(account: o.account, clientOrderID: o.clientOrderID)
        let fp = Self.fingerprint(o)
        o.tsNs = wallClockNanos()
        var cmd = Oms_V1_OrderCommand()
        cmd.commandID = OrderIDs.commandID(account: o.account, clientOrderID: o.clientOrderID)
        cmd.newOrder = o
        let subject = try riskSubject(o.instrument)

        var resp = Oms_Api_V1_SubmitOrderResponse()
        resp.commandID = cmd.commandID
        switch projection.reserve(o, fingerprint: fp) {
        case .conflict(let r):
            throw RPCError(code: .alreadyExists, message: "client_order_id: \(o.clientOrderID) was already used for order \(r.order.orderID) with different content")
        case .duplicate(let r):
            // Publish again anyway (idempotent by Nats-Msg-Id) in case the first attempt never reached the stream.
            if r.events.isEmpty, let ack = try? await publisher.publish(cmd, subject: subject, id: cmd.commandID) { resp.streamSequence = ack.sequence }
            resp.order = projection.order(id: r.order.orderID)?.order ?? r.order
            resp.duplicate = true
            return ServerResponse(message: resp)
        case .reserved:
            do {
                let ack = try await publisher.publish(cmd, subject: subject, id: cmd.commandID)
                resp.streamSequence = ack.sequence
                resp.duplicate = ack.duplicate
            } catch {
                projection.release(orderID: o.orderID)
                logger.warning("submit not accepted", metadata: ["client_order_id": "\(o.clientOrderID)", "error": "\(error)"])
                throw Self.unavailable(error)
            }
            resp.order = projection.order(id: o.orderID)?.order ?? OrderProjection.pendingOrder(o)
            logger.info("order accepted", metadata: ["order_id": "\(o.orderID)", "account": "\(o.account)", "seq": "\(resp.streamSequence)"])
            return ServerResponse(message: resp)
        }
    }

    public func cancelOrder(request: ServerRequest<Oms_Api_V1_CancelOrderRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_CancelOrderResponse> {
        let p = try principal(request.metadata)
        let r = try find(request.message.ref, p)
        if OrderStatusRulesProxy.isTerminal(r.order.status) {
            throw RPCError(code: .failedPrecondition, message: "order \(r.order.orderID) is already \(r.order.status)")
        }
        var c = Oms_V1_CancelOrder()
        c.orderID = r.order.orderID
        c.clientOrderID = r.order.clientOrderID
        c.account = r.order.account
        c.instrument = r.order.instrument
        c.reason = request.message.reason
        c.tsNs = wallClockNanos()
        var cmd = Oms_V1_OrderCommand()
        cmd.commandID = "cxl-\(r.order.orderID)"
        cmd.cancelOrder = c
        var resp = Oms_Api_V1_CancelOrderResponse()
        do {
            resp.streamSequence = try await publisher.publish(cmd, subject: try riskSubject(r.order.instrument), id: cmd.commandID).sequence
        } catch { throw Self.unavailable(error) }
        resp.commandID = cmd.commandID
        resp.order = r.order
        return ServerResponse(message: resp)
    }

    public func amendOrder(request: ServerRequest<Oms_Api_V1_AmendOrderRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_AmendOrderResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        let r = try find(m.ref, p)
        guard m.hasNewPrice || m.hasNewQuantity else {
            throw RPCError(code: .invalidArgument, message: "new_price or new_quantity: at least one is required")
        }
        if OrderStatusRulesProxy.isTerminal(r.order.status) {
            throw RPCError(code: .failedPrecondition, message: "order \(r.order.orderID) is already \(r.order.status)")
        }
        // The amended order must still satisfy the instrument's rules.
        var probe = Oms_V1_NewOrder()
        probe.clientOrderID = r.order.clientOrderID
        probe.account = r.order.account
        probe.instrument = r.order.instrument
        probe.side = r.order.side
        probe.orderType = r.order.orderType
        probe.timeInForce = r.order.timeInForce
        probe.quantity = m.hasNewQuantity ? m.newQuantity : r.order.quantity
        if m.hasNewPrice { probe.price = m.newPrice } else if r.order.hasPrice { probe.price = r.order.price }
        if r.order.hasStopPrice { probe.stopPrice = r.order.stopPrice }
        probe.postOnly = r.order.postOnly
        do { _ = try OrderValidator.validate(probe, registry: instruments) } catch {
            var v = error
            if v.field == "quantity" { v.field = "new_quantity" } else if v.field == "price" { v.field = "new_price" }
            throw Self.invalid(v)
        }
        var a = Oms_V1_AmendOrder()
        a.orderID = r.order.orderID
        a.account = r.order.account
        a.instrument = r.order.instrument
        if m.hasNewQuantity { a.newQuantity = m.newQuantity }
        if m.hasNewPrice { a.newPrice = m.newPrice }
        a.tsNs = wallClockNanos()
        var cmd = Oms_V1_OrderCommand()
        cmd.commandID = "amd-\(r.order.orderID)-\(Self.fingerprint(probe).prefix(16))"
        cmd.amendOrder = a
        var resp = Oms_Api_V1_AmendOrderResponse()
        do {
            resp.streamSequence = try await publisher.publish(cmd, subject: try riskSubject(r.order.instrument), id: cmd.commandID).sequence
        } catch { throw Self.unavailable(error) }
        resp.commandID = cmd.commandID
        resp.order = r.order
        return ServerResponse(message: resp)
    }

    public func cancelAll(request: ServerRequest<Oms_Api_V1_CancelAllRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_CancelAllResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        let acct = try account(m.account, p)
        for (field, v) in [("exchange", m.exchange), ("market", m.market), ("symbol", m.symbol)] where !v.isEmpty && !SubjectToken.isValid(v) {
            throw RPCError(code: .invalidArgument, message: "\(field): \"\(v)\" is not a valid name")
        }
        var ca = Oms_V1_CancelAll()
        ca.account = acct
        ca.exchange = m.exchange
        ca.market = m.market
        ca.symbol = m.symbol.isEmpty ? "" : ((try? Symbol.normalized(m.symbol)) ?? m.symbol)
        ca.reason = m.reason
        ca.tsNs = wallClockNanos()
        var cmd = Oms_V1_OrderCommand()
        cmd.commandID = "cxa-\(UUID().uuidString.lowercased())"
        cmd.cancelAll = ca
        let subject = try Subjects.riskCommand(exchange: ca.exchange.isEmpty ? "all" : ca.exchange, market: ca.market.isEmpty ? "all" : ca.market,
                                               symbol: ca.symbol.isEmpty ? "all" : ca.symbol)
        let live = projection.list { o in
            o.account == acct && !OrderStatusRulesProxy.isTerminal(o.status) && (ca.exchange.isEmpty || o.instrument.exchange == ca.exchange)
                && (ca.market.isEmpty || o.instrument.market == ca.market) && (ca.symbol.isEmpty || o.instrument.symbol == ca.symbol)
        }.count
        var resp = Oms_Api_V1_CancelAllResponse()
        do { resp.streamSequence = try await publisher.publish(cmd, subject: subject, id: cmd.commandID).sequence } catch { throw Self.unavailable(error) }
        resp.commandID = cmd.commandID
        resp.liveOrders = UInt32(live)
        return ServerResponse(message: resp)
    }

    public func getOrder(request: ServerRequest<Oms_Api_V1_GetOrderRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_GetOrderResponse> {
        let p = try principal(request.metadata)
        let r = try find(request.message.ref, p)
        var resp = Oms_Api_V1_GetOrderResponse()
        resp.order = r.order
        resp.events = r.events
        resp.fills = r.fills
        if let d = r.riskDecision { resp.riskDecision = d }
        if let d = r.routingDecision { resp.routingDecision = d }
        resp.children = projection.children(of: r)
        return ServerResponse(message: resp)
    }

    public func listOrders(request: ServerRequest<Oms_Api_V1_ListOrdersRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_ListOrdersResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        let accounts: Set<String> = m.account.isEmpty ? p.accounts : [try account(m.account, p)]
        guard m.pageSize <= 1000 else { throw RPCError(code: .invalidArgument, message: "page_size: at most 1000") }
        let size = m.pageSize == 0 ? 100 : Int(m.pageSize)
        var offset = 0
        if !m.pageToken.isEmpty {
            guard let o = Int(m.pageToken), o >= 0 else { throw RPCError(code: .invalidArgument, message: "page_token: not a token from next_page_token") }
            offset = o
        }
        let statuses = Set(m.statuses.map(\.rawValue))
        let symbol = m.symbol.isEmpty ? "" : ((try? Symbol.normalized(m.symbol)) ?? m.symbol)
        let all = projection.list { o in
            accounts.contains(o.account) && (m.exchange.isEmpty || o.instrument.exchange == m.exchange)
                && (m.market.isEmpty || o.instrument.market == m.market) && (symbol.isEmpty || o.instrument.symbol == symbol)
                && (statuses.isEmpty || statuses.contains(o.status.rawValue)) && (!m.liveOnly || !OrderStatusRulesProxy.isTerminal(o.status))
                && o.createdNs >= m.sinceNs
        }
        var resp = Oms_Api_V1_ListOrdersResponse()
        if offset < all.count {
            resp.orders = Array(all[offset..<min(all.count, offset + size)])
            if offset + size < all.count { resp.nextPageToken = String(offset + size) }
        }
        return ServerResponse(message: resp)
    }

    // MARK: streams

    public func streamOrderEvents(request: ServerRequest<Oms_Api_V1_StreamOrderEventsRequest>, context: ServerContext) async throws -> StreamingServerResponse<Oms_Api_V1_OrderEventUpdate> {
        let p = try principal(request.metadata)
        let m = request.message
        let accounts: Set<String> = m.account.isEmpty ? p.accounts : [try account(m.account, p)]
        let symbol = m.symbol.isEmpty ? "" : ((try? Symbol.normalized(m.symbol)) ?? m.symbol)
        return StreamingServerResponse { [events] writer in
            try await events.follow(stream: "ORDERS", filter: "orders.>", fromSequence: m.fromSequence) { seq, payload, _ in
                guard let e = try? Oms_V1_OrderEvent(serializedBytes: payload), accounts.contains(e.order.account),
                      symbol.isEmpty || e.order.instrument.symbol == symbol else { return }
                var u = Oms_Api_V1_OrderEventUpdate()
                u.streamSequence = seq
                u.event = e
                try await writer.write(u)
            }
            return [:]
        }
    }

    public func streamTrades(request: ServerRequest<Oms_Api_V1_StreamTradesRequest>, context: ServerContext) async throws -> StreamingServerResponse<Oms_Api_V1_TradeUpdate> {
        let p = try principal(request.metadata)
        let m = request.message
        let accounts: Set<String> = m.account.isEmpty ? p.accounts : [try account(m.account, p)]
        let symbol = m.symbol.isEmpty ? "" : ((try? Symbol.normalized(m.symbol)) ?? m.symbol)
        return StreamingServerResponse { [events] writer in
            try await events.follow(stream: "TRADES", filter: "trades.>", fromSequence: m.fromSequence) { seq, payload, _ in
                guard let f = try? Oms_V1_Fill(serializedBytes: payload), accounts.contains(f.account),
                      symbol.isEmpty || f.instrument.symbol == symbol else { return }
                var u = Oms_Api_V1_TradeUpdate()
                u.streamSequence = seq
                u.fill = f
                try await writer.write(u)
            }
            return [:]
        }
    }

    // MARK: positions, balances

    public func getPositions(request: ServerRequest<Oms_Api_V1_GetPositionsRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_GetPositionsResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        let accounts: Set<String> = m.account.isEmpty ? p.accounts : [try account(m.account, p)]
        var resp = Oms_Api_V1_GetPositionsResponse()
        resp.positions = projection.positions { x in
            accounts.contains(x.account) && (m.exchange.isEmpty || x.instrument.exchange == m.exchange) && (m.market.isEmpty || x.instrument.market == m.market)
        }
        return ServerResponse(message: resp)
    }

    public func getBalances(request: ServerRequest<Oms_Api_V1_GetBalancesRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_GetBalancesResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        let accounts: Set<String> = m.account.isEmpty ? p.accounts : [try account(m.account, p)]
        var resp = Oms_Api_V1_GetBalancesResponse()
        resp.balances = projection.balances { b in
            accounts.contains(b.account) && (m.exchange.isEmpty || b.exchange == m.exchange) && (m.market.isEmpty || b.market == m.market)
        }
        return ServerResponse(message: resp)
    }

    // MARK: risk

    public func setKillSwitch(request: ServerRequest<Oms_Api_V1_SetKillSwitchRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_SetKillSwitchResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        var k = Oms_V1_KillSwitch()
        k.scope = m.scope
        switch m.scope {
        case .global:
            guard p.admin else { throw RPCError(code: .permissionDenied, message: "scope: GLOBAL needs an admin token") }
        case .account:
            k.account = try account(m.account, p)
        case .venue:
            guard p.admin else { throw RPCError(code: .permissionDenied, message: "scope: VENUE needs an admin token") }
            guard SubjectToken.isValid(m.exchange) else { throw RPCError(code: .invalidArgument, message: "exchange: is required for scope VENUE") }
            k.exchange = m.exchange
            k.market = m.market
        case .symbol:
            guard p.admin else { throw RPCError(code: .permissionDenied, message: "scope: SYMBOL needs an admin token") }
            guard let s = try? Symbol.normalized(m.symbol) else { throw RPCError(code: .invalidArgument, message: "symbol: is required for scope SYMBOL") }
            k.exchange = m.exchange
            k.market = m.market
            k.symbol = s
        default:
            throw RPCError(code: .invalidArgument, message: "scope: must be GLOBAL, ACCOUNT, VENUE or SYMBOL")
        }
        k.engaged = m.engaged
        k.reason = m.reason
        k.operator = p.name
        k.tsNs = wallClockNanos()
        k.commandID = "ks-\(UUID().uuidString.lowercased())"
        var ctl = Oms_V1_RiskControl()
        ctl.killSwitch = k
        var resp = Oms_Api_V1_SetKillSwitchResponse()
        do { resp.streamSequence = try await publisher.publish(ctl, subject: Subjects.riskControl, id: k.commandID).sequence } catch { throw Self.unavailable(error) }
        resp.commandID = k.commandID
        logger.notice("kill switch", metadata: ["scope": "\(m.scope)", "engaged": "\(m.engaged)", "by": "\(p.name)"])
        return ServerResponse(message: resp)
    }

    /// The limits as oms-core loads them: the config file's `risk:` section, read again on every call
    /// (so an update through `UpdateRiskLimits`, or an edit + reload, shows); the start-up copy when
    /// there is no file (defaults, tests).
    func currentRiskLimits() -> [Oms_Api_V1_RiskLimit] {
        guard !configSource.isEmpty, configSource != "<defaults>", FileManager.default.fileExists(atPath: configSource),
              let limits = try? RiskLimitsFile.read(path: configSource) else { return riskLimits }
        return limits.map { l in var x = Oms_Api_V1_RiskLimit(); x.scope = l.scope; x.name = l.name; x.value = l.value; return x }
    }

    public func getRiskLimits(request: ServerRequest<Oms_Api_V1_GetRiskLimitsRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_GetRiskLimitsResponse> {
        let p = try principal(request.metadata)
        let m = request.message
        let acct = m.account.isEmpty ? nil : try account(m.account, p)
        var resp = Oms_Api_V1_GetRiskLimitsResponse()
        resp.limits = currentRiskLimits().filter { l in
            if l.scope.hasPrefix("account:") {
                let a = String(l.scope.dropFirst(8))
                return acct.map { $0 == a } ?? p.owns(a)
            }
            return true
        }
        resp.source = configSource
        return ServerResponse(message: resp)
    }

    static let riskFileLock = NSLock()

    /// Sets, changes or (empty value) removes limits: validated, merged into the config file's `risk:`
    /// section, then oms-core is told to reload (cmd.control.reload, payload = the new `risk:` block).
    /// With no limits and reload = true, only the reload is requested (after an edit by hand).
    public func updateRiskLimits(request: ServerRequest<Oms_Api_V1_UpdateRiskLimitsRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_UpdateRiskLimitsResponse> {
        let p = try principal(request.metadata)
        guard p.admin else { throw RPCError(code: .permissionDenied, message: "risk limits need an admin token") }
        let m = request.message
        guard !m.limits.isEmpty || m.reload else {
            throw RPCError(code: .invalidArgument, message: "limits: at least one limit to set (or reload = true to re-read config risk:)")
        }
        var payload: [UInt8] = []
        if !m.limits.isEmpty {
            let changes = m.limits.map { (scope: $0.scope.trimmingCharacters(in: .whitespaces), name: $0.name.trimmingCharacters(in: .whitespaces),
                                          value: $0.value.trimmingCharacters(in: .whitespaces)) }
            for (i, c) in changes.enumerated() {
                do { try RiskLimitsFile.validate(c, index: i) } catch { throw Self.invalid(error) }
            }
            guard !configSource.isEmpty, configSource != "<defaults>", FileManager.default.fileExists(atPath: configSource) else {
                throw RPCError(code: .failedPrecondition, message: "limits: oms-server was started without a config file; oms-core's limits cannot be changed")
            }
            let block: String
            do {
                block = try Self.riskFileLock.withLock { try RiskLimitsFile.update(path: configSource, changes: changes) }
            } catch {
                throw RPCError(code: .failedPrecondition, message: "limits: \(configSource) could not be updated: \(error)")
            }
            payload = Array(block.utf8)
            logger.notice("risk limits updated", metadata: ["by": "\(p.name)", "changes": "\(changes.map { "\($0.scope).\($0.name)=\($0.value)" })"])
        }
        do { _ = try await publisher.publishRaw("cmd.control.reload", payload: payload, id: "reload-\(UUID().uuidString.lowercased())") } catch { throw Self.unavailable(error) }
        var resp = Oms_Api_V1_UpdateRiskLimitsResponse()
        resp.reloadRequested = true
        return ServerResponse(message: resp)
    }

    public func health(request: ServerRequest<Oms_Api_V1_HealthRequest>, context: ServerContext) async throws -> ServerResponse<Oms_Api_V1_HealthResponse> {
        var resp = Oms_Api_V1_HealthResponse()
        resp.version = OMSVersion.current
        resp.cachedOrders = UInt64(projection.count)
        if let health {
            resp.ready = health.isReady
            resp.components = health.report.map { c in
                var h = Oms_Api_V1_ComponentHealth()
                h.name = c.name; h.ok = c.ok; h.detail = c.detail
                return h
            }
        } else {
            resp.ready = true
        }
        return ServerResponse(message: resp)
    }
}

import RouterCore
typealias OrderStatusRulesProxy = OrderStatusRules
