import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OMSAPI
import OMSCore
import OMSTestSupport
import Synchronization
import Testing
@testable import OMSServerCore

/// oms-server ↔ a real nats-server over gRPC. The services downstream of
/// oms-server (oms-core, router, connector) are replaced by `Downstream`, an
/// in-test stand-in that consumes cmd.risk.> and publishes the documented
/// events (OrderEvent on orders.*, Fill on trades.*, RiskDecision, REJECTED
/// with reason codes).
final class Harness: @unchecked Sendable {
    let nats: NATSServerFixture
    let conn: NATSConnection
    let js: JetStream
    let logger: Logger
    var serverTask: Task<Void, Error>?
    var feederTask: Task<Void, Error>?
    var downstreamTask: Task<Void, Error>?
    var port = 0
    var projection: OrderProjection!

    static let tokenA = "token-alice", tokenB = "token-bob", tokenAdmin = "token-admin"

    init() async throws {
        nats = try NATSServerFixture()
        conn = try nats.connect(name: "harness")
        js = try conn.jetStream(publishTimeout: .seconds(2))
        var l = Logger(label: "test")
        l.logLevel = .critical
        logger = l
        for spec in OMSConfig().jetstream.streams { try js.ensureStream(spec) }
    }

    static var btc: Oms_V1_Instrument {
        var i = Oms_V1_Instrument()
        i.id.exchange = "binance"; i.id.market = "spot"; i.id.symbol = "BTCUSDT"
        i.baseAsset = "BTC"; i.quoteAsset = "USDT"
        i.priceScale = 2; i.qtyScale = 5; i.tickSize = 1; i.lotSize = 1; i.minQty = 1; i.maxQty = 900_000_000
        i.minNotional = DecimalText.parse("5")!
        i.status = .trading
        return i
    }

    func startServer(instance: String, configSource: String = "") async throws {
        projection = OrderProjection(ttl: .seconds(300), maxSize: 10_000)
        let instruments = InstrumentRegistry([Self.btc])
        let feeder = ProjectionFeeder(jetStream: js, projection: projection, instruments: instruments, instanceID: instance, logger: logger, health: nil)
        let ready = AsyncStream<Void>.makeStream()
        feederTask = Task { try await feeder.run { ready.continuation.yield() } }
        for await _ in ready.stream { break }
        let auth = TokenAuthenticator(tokens: [
            .init(name: "alice", sha256: TokenAuthenticator.sha256Hex(Self.tokenA), accounts: ["alice-1"]),
            .init(name: "bob", sha256: TokenAuthenticator.sha256Hex(Self.tokenB), accounts: ["bob-1"]),
            .init(name: "ops", sha256: TokenAuthenticator.sha256Hex(Self.tokenAdmin), accounts: ["alice-1", "bob-1"], admin: true),
        ])
        let service = OMSService(projection: projection, instruments: instruments, auth: auth,
                                 publisher: JetStreamPublisher(jetStream: js, timeout: .seconds(2)),
                                 events: JetStreamEventSource(jetStream: js), health: nil, logger: logger, configSource: configSource)
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [service])
        serverTask = Task { try await server.serve() }
        let addr = try await transport.listeningAddress
        guard let ipv4 = addr.ipv4 else { throw FixtureError("no address") }
        port = ipv4.port
    }

    func stopServer() async {
        serverTask?.cancel()
        feederTask?.cancel()
        _ = try? await serverTask?.value
        _ = try? await feederTask?.value
    }

    func client<T: Sendable>(_ token: String, _ body: @Sendable @escaping (Oms_Api_V1_OmsService.Client<HTTP2ClientTransport.Posix>, Metadata) async throws -> T) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        var md = Metadata()
        md.addString("Bearer \(token)", forKey: "authorization")
        let m = md
        return try await withGRPCClient(transport: transport) { c in try await body(Oms_Api_V1_OmsService.Client(wrapping: c), m) }
    }

    /// Stand-in for oms-core + router + connector: accepts and fills limit orders at their price
    /// (two fills), rejects quantities above 1 BTC with MAX_ORDER_QTY, cancels on request.
    func startDownstream() throws {
        let consumer = try js.pullConsumer(stream: "COMMANDS", ConsumerSpec(durable: "standin", filterSubject: "cmd.risk.>"))
        let js = self.js
        downstreamTask = Task {
            var orders: [String: Oms_V1_Order] = [:]
            while !Task.isCancelled {
                let batch = (try? await consumer.fetch(batch: 64, timeout: .milliseconds(100))) ?? []
                for m in batch {
                    try? m.ack()
                    guard let cmd = try? Oms_V1_OrderCommand(serializedBytes: m.payload) else { continue }
                    switch cmd.command {
                    case .newOrder(let n):
                        var o = OrderProjection.pendingOrder(n)
                        o.updatedNs = wallClockNanos()
                        var d = Oms_V1_RiskDecision()
                        d.decisionID = cmd.commandID + ":risk"; d.commandID = cmd.commandID; d.orderID = n.orderID; d.account = n.account
                        d.instrument = n.instrument; d.commandSequence = m.delivery.streamSequence
                        if n.quantity.mantissa > 100_000 && n.quantity.scale == 5 {
                            d.result = .rejected; d.reasonCode = .maxOrderQty; d.reasonText = "quantity above 1"
                            _ = try await js.publish(d, subject: "risk.decisions.binance.spot.BTCUSDT", id: d.decisionID, producer: "standin")
                            o.status = .rejected; o.rejectReason = .maxOrderQty; o.rejectText = d.reasonText
                            try await Self.event(js, o, .rejected, id: "\(n.orderID):rej", reason: .maxOrderQty)
                            continue
                        }
                        d.result = .accepted
                        _ = try await js.publish(d, subject: "risk.decisions.binance.spot.BTCUSDT", id: d.decisionID, producer: "standin")
                        o.status = .accepted
                        try await Self.event(js, o, .accepted, id: "\(n.orderID):ack")
                        orders[n.orderID] = o
                        if n.clientOrderID.hasPrefix("rest") { continue }  // stays live
                        let half = n.quantity.mantissa / 2
                        for (i, q) in [half, n.quantity.mantissa - half].enumerated() {
                            var f = Oms_V1_Fill()
                            f.tradeID = "\(n.orderID)-t\(i)"; f.orderID = n.orderID; f.clientOrderID = n.clientOrderID; f.account = n.account
                            f.instrument = n.instrument; f.side = n.side; f.price = n.price
                            f.quantity.mantissa = q; f.quantity.scale = n.quantity.scale
                            _ = try await js.publish(f, subject: "trades.binance.spot.BTCUSDT", id: f.tradeID, producer: "standin")
                            o.filledQuantity.mantissa += q
                            o.filledQuantity.scale = n.quantity.scale
                            o.averagePrice = n.price
                            o.status = i == 0 ? .partiallyFilled : .filled
                            o.updatedNs = wallClockNanos()
                            try await Self.event(js, o, i == 0 ? .partiallyFilled : .filled, id: "\(n.orderID):f\(i)")
                        }
                        orders[n.orderID] = o
                    case .cancelOrder(let c):
                        guard var o = orders[c.orderID] else { continue }
                        o.status = .canceled
                        o.updatedNs = wallClockNanos()
                        try await Self.event(js, o, .canceled, id: "\(c.orderID):cxl")
                    default: break
                    }
                }
            }
        }
    }

    static func event(_ js: JetStream, _ o: Oms_V1_Order, _ t: Oms_V1_OrderEventType, id: String, reason: Oms_V1_RejectReason = .unspecified) async throws {
        var e = Oms_V1_OrderEvent()
        e.eventID = id; e.eventType = t; e.order = o; e.reasonCode = reason; e.source = "standin"
        e.tsEventNs = wallClockNanos(); e.tsInitNs = e.tsEventNs
        _ = try await js.publish(e, subject: "orders.binance.spot.BTCUSDT", id: id, producer: "standin")
    }

    func shutdown() async {
        downstreamTask?.cancel()
        _ = try? await downstreamTask?.value
        await stopServer()
        conn.close()
    }
}

func limitOrder(_ cid: String, qty: String = "0.01", price: String = "60000", account: String = "") -> Oms_Api_V1_SubmitOrderRequest {
    var r = Oms_Api_V1_SubmitOrderRequest()
    r.clientOrderID = cid
    r.account = account
    r.instrument.exchange = "binance"; r.instrument.market = "spot"; r.instrument.symbol = "BTCUSDT"
    r.side = .buy
    r.orderType = .limit
    r.quantity = DecimalText.parse(qty)!
    r.price = DecimalText.parse(price)!
    return r
}

func waitFor(_ what: String, timeout: Duration = .seconds(10), _ cond: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await cond() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting for \(what)")
}

func status(_ h: Harness, _ token: String, _ id: String) async throws -> Oms_V1_OrderStatus {
    try await h.client(token) { c, md in
        var r = Oms_Api_V1_GetOrderRequest(); r.ref.orderID = id
        return try await c.getOrder(r, metadata: md).order.status
    }
}

@Suite(.serialized) struct OMSServerEndToEndTests {
    @Test func submitFillCancelRejectDuplicateVisibilityAndRestart() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let h = try await Harness()
        try await h.startServer(instance: "t1")
        try h.startDownstream()
        let A = Harness.tokenA, B = Harness.tokenB

        // Submit → accepted durably → partial fill → fill.
        let sub = try await h.client(A) { c, md in try await c.submitOrder(limitOrder("fill-1"), metadata: md) }
        // The stand-in may already have acted on the command by the time the reply is built.
        #expect([.pendingNew, .accepted, .partiallyFilled, .filled].contains(sub.order.status))
        #expect(sub.streamSequence > 0)
        #expect(sub.order.account == "alice-1")
        let oid = sub.order.orderID
        try await waitFor("fill") { try await status(h, A, oid) == .filled }
        let full = try await h.client(A) { c, md in
            var r = Oms_Api_V1_GetOrderRequest(); r.ref.orderID = oid
            return try await c.getOrder(r, metadata: md)
        }
        #expect(full.fills.count == 2)
        #expect(full.events.map(\.eventType) == [.accepted, .partiallyFilled, .filled])
        #expect(full.order.filledQuantity.mantissa == 1000)
        #expect(full.riskDecision.result == .accepted)

        // Duplicate submit: same order, no second command.
        let dup = try await h.client(A) { c, md in try await c.submitOrder(limitOrder("fill-1"), metadata: md) }
        #expect(dup.duplicate)
        #expect(dup.order.orderID == oid)
        // Same client order id, different content: ALREADY_EXISTS.
        await #expect { try await h.client(A) { c, md in try await c.submitOrder(limitOrder("fill-1", qty: "0.02"), metadata: md) } } throws: { e in
            (e as? RPCError)?.code == .alreadyExists
        }

        // Risk reject: reason code visible to the client.
        let rej = try await h.client(A) { c, md in try await c.submitOrder(limitOrder("big-1", qty: "2"), metadata: md) }
        try await waitFor("reject") { try await status(h, A, rej.order.orderID) == .rejected }
        let rejOrder = try await h.client(A) { c, md in
            var r = Oms_Api_V1_GetOrderRequest(); r.ref.clientOrderID = "big-1"
            return try await c.getOrder(r, metadata: md).order
        }
        #expect(rejOrder.rejectReason == .maxOrderQty)

        // Resting order, then cancel.
        let rest = try await h.client(A) { c, md in try await c.submitOrder(limitOrder("rest-1", price: "50000"), metadata: md) }
        try await waitFor("accepted") { try await status(h, A, rest.order.orderID) == .accepted }
        _ = try await h.client(A) { c, md in
            var r = Oms_Api_V1_CancelOrderRequest(); r.ref.orderID = rest.order.orderID
            return try await c.cancelOrder(r, metadata: md)
        }
        try await waitFor("canceled") { try await status(h, A, rest.order.orderID) == .canceled }
        let live = try await h.client(A) { c, md in try await c.submitOrder(limitOrder("rest-2", price: "50000"), metadata: md) }
        try await waitFor("accepted") { try await status(h, A, live.order.orderID) == .accepted }

        // Another client's order is not visible.
        await #expect { try await status(h, B, oid) } throws: { e in (e as? RPCError)?.code == .notFound }
        let bobList = try await h.client(B) { c, md in try await c.listOrders(Oms_Api_V1_ListOrdersRequest(), metadata: md) }
        #expect(bobList.orders.isEmpty)
        await #expect { try await h.client(B) { c, md in try await c.submitOrder(limitOrder("x", account: "alice-1"), metadata: md) } } throws: { e in
            (e as? RPCError)?.code == .permissionDenied
        }
        // No token.
        await #expect { try await h.client("nope") { c, md in try await c.listOrders(Oms_Api_V1_ListOrdersRequest(), metadata: md) } } throws: { e in
            (e as? RPCError)?.code == .unauthenticated
        }

        // Paging.
        let page1 = try await h.client(A) { c, md in
            var r = Oms_Api_V1_ListOrdersRequest(); r.pageSize = 2
            return try await c.listOrders(r, metadata: md)
        }
        #expect(page1.orders.count == 2)
        #expect(!page1.nextPageToken.isEmpty)
        let page2 = try await h.client(A) { c, md in
            var r = Oms_Api_V1_ListOrdersRequest(); r.pageSize = 2; r.pageToken = page1.nextPageToken
            return try await c.listOrders(r, metadata: md)
        }
        #expect(page2.orders.count == 2)
        #expect(Set(page1.orders.map(\.orderID)).isDisjoint(with: page2.orders.map(\.orderID)))

        // Trades stream, resumable from a sequence: both fills of the first order from sequence 1.
        let trades = try await h.client(A) { c, md in
            var r = Oms_Api_V1_StreamTradesRequest(); r.fromSequence = 1
            return try await c.streamTrades(r, metadata: md) { resp in
                var got: [Oms_Api_V1_TradeUpdate] = []
                for try await u in resp.messages {
                    got.append(u)
                    if got.count == 2 { break }
                }
                return got
            }
        }
        #expect(trades.map(\.fill.orderID) == [oid, oid])
        #expect(trades[0].streamSequence < trades[1].streamSequence)

        // Restart oms-server: a new instance rebuilds every order's state from the streams.
        let before = try await h.client(A) { c, md in try await c.listOrders(Oms_Api_V1_ListOrdersRequest(), metadata: md).orders }
        await h.stopServer()
        try await h.startServer(instance: "t2")
        let after = try await h.client(A) { c, md in try await c.listOrders(Oms_Api_V1_ListOrdersRequest(), metadata: md).orders }
        #expect(after.map(\.orderID) == before.map(\.orderID))
        #expect(after.map(\.status) == before.map(\.status))
        #expect(after.map(\.filledQuantity) == before.map(\.filledQuantity))
        // Duplicate detection survives the restart too.
        let dup2 = try await h.client(A) { c, md in try await c.submitOrder(limitOrder("fill-1"), metadata: md) }
        #expect(dup2.duplicate && dup2.order.orderID == oid)

        // JetStream down: UNAVAILABLE, never a crash.
        h.nats.stop()
        await #expect { try await h.client(A) { c, md in try await c.submitOrder(limitOrder("down-1"), metadata: md) } } throws: { e in
            (e as? RPCError)?.code == .unavailable
        }
        try h.nats.start()
        await h.shutdown()
    }

    @Test func invalidRequestsOfEveryKind() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let h = try await Harness()
        try await h.startServer(instance: "inv")
        func expectInvalid(_ r: Oms_Api_V1_SubmitOrderRequest, field: String, sourceLocation: SourceLocation = #_sourceLocation) async {
            do {
                _ = try await h.client(Harness.tokenA) { c, md in try await c.submitOrder(r, metadata: md) }
                Issue.record("accepted an invalid request (\(field))", sourceLocation: sourceLocation)
            } catch let e as RPCError {
                #expect(e.code == .invalidArgument, sourceLocation: sourceLocation)
                #expect(e.message.hasPrefix(field + ":"), "\(e.message)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("\(error)", sourceLocation: sourceLocation)
            }
        }
        var r = limitOrder(""); await expectInvalid(r, field: "client_order_id")
        r = limitOrder("a b"); await expectInvalid(r, field: "client_order_id")
        r = limitOrder("v1"); r.instrument.symbol = "BTC.USDT*"; await expectInvalid(r, field: "instrument.symbol")
        r = limitOrder("v2"); r.instrument.exchange = ""; await expectInvalid(r, field: "instrument.exchange")
        r = limitOrder("v3"); r.instrument.symbol = "DOGEUSDT"; await expectInvalid(r, field: "instrument")
        r = limitOrder("v4"); r.side = .unspecified; await expectInvalid(r, field: "side")
        r = limitOrder("v5"); r.orderType = .unspecified; await expectInvalid(r, field: "order_type")
        r = limitOrder("v6"); r.clearQuantity(); await expectInvalid(r, field: "quantity")
        r = limitOrder("v7", qty: "0"); await expectInvalid(r, field: "quantity")
        r = limitOrder("v8", qty: "-1"); await expectInvalid(r, field: "quantity")
        r = limitOrder("v9"); r.clearPrice(); await expectInvalid(r, field: "price")
        r = limitOrder("v10"); r.orderType = .market; r.timeInForce = .ioc; await expectInvalid(r, field: "price")
        r = limitOrder("v11", price: "60000.001"); await expectInvalid(r, field: "price")            // tick
        r = limitOrder("v12", qty: "0.000001"); await expectInvalid(r, field: "quantity")           // lot
        r = limitOrder("v13", qty: "0.00001", price: "100"); await expectInvalid(r, field: "quantity") // min notional
        r = limitOrder("v14"); r.orderType = .stopLimit; await expectInvalid(r, field: "stop_price")
        r = limitOrder("v15"); r.postOnly = true; r.timeInForce = .ioc; await expectInvalid(r, field: "time_in_force")
        r = limitOrder("v16"); r.clearPrice(); r.orderType = .market; r.timeInForce = .gtc; await expectInvalid(r, field: "time_in_force")
        r = limitOrder("v17"); r.routing.strategy = .bestPrice; await expectInvalid(r, field: "routing.strategy")
        r = limitOrder("v18"); r.instrument.exchange = "auto"; r.routing.allowedVenues = ["binance"]; await expectInvalid(r, field: "routing.allowed_venues")
        r = limitOrder("v19"); r.price.scale = 40; await expectInvalid(r, field: "price")
        // Nothing reached the stream.
        let state = try h.js.streamState("COMMANDS")
        #expect(state.messages == 0)
        // Cancel/amend/get of unknown orders.
        await #expect { try await status(h, Harness.tokenA, "o-unknown") } throws: { e in (e as? RPCError)?.code == .notFound }
        await #expect {
            try await h.client(Harness.tokenA) { c, md in
                var a = Oms_Api_V1_AmendOrderRequest(); a.ref.orderID = "o-unknown"; a.newPrice = DecimalText.parse("1")!
                return try await c.amendOrder(a, metadata: md)
            }
        } throws: { e in (e as? RPCError)?.code == .notFound }
        await #expect {
            try await h.client(Harness.tokenA) { c, md in try await c.cancelOrder(Oms_Api_V1_CancelOrderRequest(), metadata: md) }
        } throws: { e in (e as? RPCError)?.code == .invalidArgument }
        // Kill switch: global needs admin; admin can.
        await #expect {
            try await h.client(Harness.tokenA) { c, md in
                var k = Oms_Api_V1_SetKillSwitchRequest(); k.scope = .global; k.engaged = true
                return try await c.setKillSwitch(k, metadata: md)
            }
        } throws: { e in (e as? RPCError)?.code == .permissionDenied }
        let ks = try await h.client(Harness.tokenAdmin) { c, md in
            var k = Oms_Api_V1_SetKillSwitchRequest(); k.scope = .global; k.engaged = true; k.reason = "test"
            return try await c.setKillSwitch(k, metadata: md)
        }
        #expect(ks.streamSequence > 0)
        await h.shutdown()
    }
}
