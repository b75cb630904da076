import Foundation
import OMSCore
import OMSTestSupport
import Testing
import RouterCore

/// The router's parent/child table survives a restart: a router routes a
/// parent into children and dies mid-flow (children live, one partly filled);
/// a fresh router rebuilds the table from a real nats-server's DECISIONS and
/// ORDERS streams, keeps rolling fills up, and a parent cancel reaches exactly
/// the live children.
@Suite(.serialized) struct ParentRecoveryTests {
    static func view() -> MarketView {
        Fixture.view([
            Fixture.venue("binance.spot", asks: [(100.0, 2), (101, 10)], fee: 0),
            Fixture.venue("okx.spot", asks: [(100.5, 1), (102, 10)], fee: 0),
        ])
    }

    static func newOrder(_ id: String, qty: Double, price: Double) -> Oms_V1_OrderCommand {
        var o = Oms_V1_NewOrder()
        o.orderID = id; o.clientOrderID = "c-\(id)"; o.account = "acct-1"
        o.instrument.exchange = "auto"; o.instrument.market = "spot"; o.instrument.symbol = "BTCUSDT"
        o.side = .buy; o.orderType = .limit
        o.quantity = Fixed.decimal(Fixture.px(qty), scale: 5)
        o.price = Fixed.decimal(Fixture.px(price), scale: 2)
        o.routing.strategy = .depthSplit
        o.tsNs = wallClockNanos()
        var c = Oms_V1_OrderCommand()
        c.commandID = "cmd-\(id)"
        c.newOrder = o
        return c
    }

    static func childEvent(_ child: String, parent: String, venue: String, status: Oms_V1_OrderStatus, filled: Double, avg: Double, n: Int) -> Oms_V1_OrderEvent {
        var e = Oms_V1_OrderEvent()
        e.eventID = "\(child)-ev\(n)"
        e.order.orderID = child
        e.order.parentOrderID = parent
        e.order.account = "acct-1"
        e.order.instrument.exchange = venue; e.order.instrument.market = "spot"; e.order.instrument.symbol = "BTCUSDT"
        e.order.status = status
        e.order.filledQuantity = Fixed.decimal(Fixture.px(filled), scale: 5)
        if filled > 0 { e.order.averagePrice = Fixed.decimal(Fixture.px(avg), scale: 2) }
        return e
    }

    /// What RouterService does with a planner's outputs.
    static func publish(_ outs: [RoutingPlanner.Output], _ js: JetStream) async throws {
        for o in outs {
            switch o {
            case .venueCommand(let s, let id, let c): _ = try await js.publish(c, subject: s, id: id, producer: "router")
            case .decision(let s, let id, let d): _ = try await js.publish(d, subject: s, id: id, producer: "router")
            case .orderEvent(let s, let id, let e): _ = try await js.publish(e, subject: s, id: id, producer: "router")
            }
        }
    }

    static func publish(_ e: Oms_V1_OrderEvent, _ js: JetStream) async throws {
        _ = try await js.publish(e, subject: "orders.\(e.order.instrument.exchange).spot.BTCUSDT", id: e.eventID, producer: "binance-spot")
    }

    @Test func restartedRouterRecoversParentsRollsUpFillsAndCancelsLiveChildren() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let nats = try NATSServerFixture()
        let conn = try nats.connect(name: "router-recovery")
        let js = try conn.jetStream(publishTimeout: .seconds(2))
        for spec in OMSConfig().jetstream.streams { try js.ensureStream(spec) }

        // Router #1 routes two parents. P1: 3 BTC ≤ 101 → binance 2 @100 + okx 1 @100.5 (depth split).
        var first = RoutingPlanner(router: SmartRouter(policy: { var p = RoutingPolicy(); p.requireHeartbeat = false; return p }()))
        first.view = Self.view()
        let outs1 = try first.handle(Self.newOrder("P1", qty: 3, price: 101), nowNs: Fixture.now)
        let children1 = outs1.compactMap { o -> String? in if case .venueCommand(_, _, let c) = o { return c.newOrder.orderID } else { return nil } }
        #expect(children1 == ["P1-1", "P1-2"])
        try await Self.publish(outs1, js)
        // P2: 1 BTC, fills completely before the crash (must not come back as a live parent).
        let outs2 = try first.handle(Self.newOrder("P2", qty: 1, price: 100), nowNs: Fixture.now)
        try await Self.publish(outs2, js)
        // A no-route parent (its only allowed venue is unknown) is audited too, but has no children to track.
        var p3 = Self.newOrder("P3", qty: 1, price: 100)
        p3.newOrder.routing.allowedVenues = ["kraken.spot"]
        let outs3 = try first.handle(p3, nowNs: Fixture.now)
        #expect(outs3.count == 2)   // the decision and the REJECTED (NO_ROUTE) event
        try await Self.publish(outs3, js)

        // Venue side, mid-flow: P1-1 accepted then partly filled, P1-2 accepted; P2-1 filled.
        try await Self.publish(Self.childEvent("P1-1", parent: "P1", venue: "binance", status: .accepted, filled: 0, avg: 0, n: 1), js)
        try await Self.publish(Self.childEvent("P1-1", parent: "P1", venue: "binance", status: .partiallyFilled, filled: 0.5, avg: 100, n: 2), js)
        try await Self.publish(Self.childEvent("P1-2", parent: "P1", venue: "okx", status: .accepted, filled: 0, avg: 0, n: 1), js)
        try await Self.publish(Self.childEvent("P2-1", parent: "P2", venue: "binance", status: .filled, filled: 1, avg: 100, n: 1), js)
        // Unrelated traffic on ORDERS (a direct order) is ignored.
        var direct = Self.childEvent("D1", parent: "", venue: "binance", status: .accepted, filled: 0, avg: 0, n: 1)
        direct.order.parentOrderID = ""
        try await Self.publish(direct, js)

        // Router #1 dies; router #2 starts with an empty table and recovers from the streams.
        var second = RoutingPlanner(router: SmartRouter(policy: { var p = RoutingPolicy(); p.requireHeartbeat = false; return p }()))
        second.view = Self.view()
        #expect(second.tracker.parents.isEmpty)
        let box = Box(second.tracker)
        let stats = try await ParentRecovery(jetStream: js, instanceID: "test").run { body in box.mutate(body) }
        second.tracker = box.value
        #expect(stats.decisions == 3)
        #expect(stats.parents == 2)           // P1, P2 (P3 had no children)
        #expect(stats.childEvents == 4)
        #expect(stats.liveParents == 1)
        #expect(second.tracker.parents.keys.sorted() == ["P1"])
        let p1 = try #require(second.tracker.parents["P1"])
        #expect(p1.status == .partiallyFilled)
        #expect(p1.filledQuantity == Fixture.px(0.5))
        #expect(p1.averagePrice == Fixture.px(100))
        #expect(p1.children.map(\.status) == [.partiallyFilled, .accepted])
        #expect(p1.account == "acct-1" && p1.quantity == Fixture.px(3))
        // The recovery consumers are gone.
        let decisionsConsumers = try js.streamState("DECISIONS").consumers
        let ordersConsumers = try js.streamState("ORDERS").consumers
        #expect(decisionsConsumers == 0 && ordersConsumers == 0)

        // Fills after the restart keep rolling up: P1-1 completes at 100.5 on average.
        let rolledUp = second.tracker.apply(Self.childEvent("P1-1", parent: "P1", venue: "binance", status: .filled, filled: 2, avg: 100.5, n: 3))
        let rolled = try #require(rolledUp)
        #expect(rolled.filledQuantity == Fixture.px(2))
        #expect(rolled.averagePrice == Fixture.px(100.5))
        #expect(rolled.status == .partiallyFilled)

        // A redelivered parent command routes nothing again (every child is confirmed by its venue).
        let again = try second.handle(Self.newOrder("P1", qty: 3, price: 101), nowNs: Fixture.now)
        #expect(again.isEmpty)

        // Cancel of the parent reaches the one live child, at its venue.
        var cxl = Oms_V1_OrderCommand()
        cxl.commandID = "cxl-P1"
        cxl.cancelOrder.orderID = "P1"
        cxl.cancelOrder.account = "acct-1"
        cxl.cancelOrder.instrument.exchange = "auto"; cxl.cancelOrder.instrument.market = "spot"; cxl.cancelOrder.instrument.symbol = "BTCUSDT"
        let cancels = try second.handle(cxl, nowNs: Fixture.now)
        let targets = cancels.compactMap { o -> String? in
            if case .venueCommand(let s, _, let c) = o, case .cancelOrder(let cc) = c.command { return "\(s) \(cc.orderID)" } else { return nil }
        }
        #expect(targets == ["cmd.venue.okx.spot.BTCUSDT P1-2"])
        #expect(second.tracker.parents["P1"]?.status == .pendingCancel)
        let canceled = second.tracker.apply(Self.childEvent("P1-2", parent: "P1", venue: "okx", status: .canceled, filled: 0, avg: 0, n: 2))
        let done = try #require(canceled)
        #expect(done.status == .canceled)
        #expect(done.filledQuantity == Fixture.px(2))
    }

    @Test func redeliveredParentResendsOnlyUnconfirmedChildren() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let nats = try NATSServerFixture()
        let conn = try nats.connect(name: "router-recovery-2")
        let js = try conn.jetStream(publishTimeout: .seconds(2))
        for spec in OMSConfig().jetstream.streams { try js.ensureStream(spec) }
        var first = RoutingPlanner(router: SmartRouter(policy: { var p = RoutingPolicy(); p.requireHeartbeat = false; return p }()))
        first.view = Self.view()
        let outs = try first.handle(Self.newOrder("P9", qty: 3, price: 101), nowNs: Fixture.now)
        // The router died after the decision and the first child's command reached JetStream, before its ack:
        // only the decision is on the stream, and only P9-1 was ever acknowledged by its venue.
        try await Self.publish(Array(outs.prefix(1)), js)
        try await Self.publish(Self.childEvent("P9-1", parent: "P9", venue: "binance", status: .accepted, filled: 0, avg: 0, n: 1), js)

        var second = RoutingPlanner(router: SmartRouter(policy: { var p = RoutingPolicy(); p.requireHeartbeat = false; return p }()))
        second.view = Self.view()
        let box = Box(second.tracker)
        _ = try await ParentRecovery(jetStream: js, instanceID: "test2").run { body in box.mutate(body) }
        second.tracker = box.value
        let resent = try second.handle(Self.newOrder("P9", qty: 3, price: 101), nowNs: Fixture.now)
        guard resent.count == 1, case .venueCommand(let subject, let id, let cmd) = resent[0] else {
            Issue.record("expected exactly P9-2 to be re-sent, got \(resent)"); return
        }
        #expect(subject == "cmd.venue.okx.spot.BTCUSDT")
        #expect(id == "cmd-P9.P9-2")   // the original command id: a duplicate of one that did get through is dropped by the stream
        #expect(cmd.newOrder.parentOrderID == "P9")
        #expect(cmd.newOrder.quantity == Fixed.decimal(Fixture.px(1), scale: 5))
        #expect(cmd.newOrder.price == Fixed.decimal(Fixture.px(100.5), scale: 2))
    }
}

/// The caller-side lock `ParentRecovery.run` expects (a Mutex in RouterService).
final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value: ParentTracker
    init(_ v: ParentTracker) { value = v }
    func mutate(_ body: (inout ParentTracker) -> Void) { lock.lock(); body(&value); lock.unlock() }
}
