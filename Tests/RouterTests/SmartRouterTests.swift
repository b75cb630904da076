import OMSCore
import Testing
import RouterCore

/// Synthetic books for several venues.
enum Fixture {
    static let now: Int64 = 1_700_000_000_000_000_000
    static func px(_ s: Double) -> Int64 { Int64((s * 1e8).rounded()) }

    static func rules(fee: Double = 0.001, lot: Double = 0.001, minNotional: Double = 5, trading: Bool = true) -> InstrumentRules {
        InstrumentRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", priceScale: 2, qtyScale: 5,
                        tick: px(0.01), lot: px(lot), minQty: px(lot), maxQty: 0, minNotional: px(minNotional),
                        takerFee: px(fee), makerFee: px(fee), trading: trading)
    }

    /// asks: [(price, qty)] best first; bids likewise.
    static func venue(_ name: String, asks: [(Double, Double)], bids: [(Double, Double)] = [], fee: Double = 0.001,
                      bookAgeMs: Int64 = 10, hbAgeMs: Int64 = 100, headroom: Double = 1) -> VenueState {
        let parts = name.split(separator: ".").map(String.init)
        var v = VenueState(exchange: parts[0], market: parts[1])
        v.instruments["BTCUSDT"] = rules(fee: fee)
        v.books["BTCUSDT"] = VenueBook(bids: bids.map { Level(price: px($0.0), quantity: px($0.1)) },
                                       asks: asks.map { Level(price: px($0.0), quantity: px($0.1)) },
                                       updatedNs: now - bookAgeMs * 1_000_000)
        v.lastHeartbeatNs = now - hbAgeMs * 1_000_000
        v.rateLimitHeadroom = headroom
        return v
    }

    static func view(_ vs: [VenueState]) -> MarketView {
        var m = MarketView()
        for v in vs { m.venues[v.venue] = v }
        return m
    }

    static func buy(_ qty: Double, limit: Double?, strategy: Oms_V1_RoutingStrategy = .depthSplit, allowed: [String] = []) -> RouteRequest {
        RouteRequest(parentOrderID: "P1", account: "acct-1", market: "spot", symbol: "BTCUSDT", side: .buy,
                     quantity: px(qty), limitPrice: limit.map(px), strategy: strategy, allowedVenues: allowed)
    }
}

@Suite struct SmartRouterTests {
    let router = SmartRouter()

    @Test func bestPriceNetOfFeePicksCheaperVenueAfterFees() {
        // okx quotes lower but its 0.5% fee makes it worse than binance at 0.1%.
        let view = Fixture.view([
            Fixture.venue("binance.spot", asks: [(100.0, 5)], fee: 0.001),
            Fixture.venue("okx.spot", asks: [(99.8, 5)], fee: 0.005),
            Fixture.venue("bybit.spot", asks: [(100.2, 5)], fee: 0.0),
        ])
        let r = router.route(Fixture.buy(1, limit: 101, strategy: .bestPrice), view: view, nowNs: Fixture.now)
        #expect(r.allocations.count == 1)
        #expect(r.allocations.first?.venue == "binance.spot")
        #expect(r.allocations.first?.quantity == Fixture.px(1))
        #expect(r.quotes.count == 3 && r.quotes.allSatisfy(\.eligible))
        let okx = r.quotes.first { $0.venue == "okx.spot" }!
        #expect(okx.netPrice == 10_029_900_000)   // 99.8 × 1.005 = 100.299, exact
        #expect(okx.takerFee == 500_000)
    }

    @Test func depthSplitSweepsConsolidatedBookUpToLimit() {
        let view = Fixture.view([
            Fixture.venue("binance.spot", asks: [(100.0, 1), (100.5, 1), (102, 10)], fee: 0),
            Fixture.venue("okx.spot", asks: [(100.2, 1), (100.4, 1), (103, 10)], fee: 0),
            Fixture.venue("bybit.spot", asks: [(101.5, 10)], fee: 0),
        ])
        let r = router.route(Fixture.buy(3.5, limit: 101), view: view, nowNs: Fixture.now)
        // Sweep: binance 100.0 ×1, okx 100.2 ×1, okx 100.4 ×1, binance 100.5 ×0.5.
        let byVenue = Dictionary(uniqueKeysWithValues: r.allocations.map { ($0.venue, $0) })
        #expect(byVenue["binance.spot"]?.quantity == Fixture.px(1.5))
        #expect(byVenue["binance.spot"]?.limitPrice == Fixture.px(100.5))
        #expect(byVenue["okx.spot"]?.quantity == Fixture.px(2))
        #expect(byVenue["okx.spot"]?.limitPrice == Fixture.px(100.4))
        #expect(byVenue["bybit.spot"] == nil)
        #expect(r.unallocated == 0)
        #expect(byVenue["okx.spot"]!.expectedAveragePrice == Fixture.px(100.3))
    }

    @Test func limitRemainderRestsOnBestVenue() {
        let view = Fixture.view([
            Fixture.venue("binance.spot", asks: [(100.0, 1), (105, 10)], fee: 0.001),
            Fixture.venue("okx.spot", asks: [(100.1, 1), (106, 10)], fee: 0.001),
        ])
        let r = router.route(Fixture.buy(5, limit: 101), view: view, nowNs: Fixture.now)
        let total = r.allocations.reduce(Int64(0)) { $0 + $1.quantity }
        #expect(total == Fixture.px(5))
        #expect(r.unallocated == 0)
        let b = r.allocations.first { $0.venue == "binance.spot" }!
        #expect(b.quantity == Fixture.px(4))         // 1 swept + 3 resting at the limit
        #expect(b.limitPrice == Fixture.px(101))
    }

    @Test func marketOrderWithoutDepthLeavesRemainderUnallocated() {
        let view = Fixture.view([Fixture.venue("binance.spot", asks: [(100.0, 1)], fee: 0)])
        let r = router.route(Fixture.buy(3, limit: nil), view: view, nowNs: Fixture.now)
        #expect(r.allocations.first?.quantity == Fixture.px(1))
        #expect(r.unallocated == Fixture.px(2))
    }

    @Test func staleMissingHeartbeatAndRateLimitedVenuesAreSkippedWithReasons() {
        var noHB = Fixture.venue("upbit.spot", asks: [(99.0, 10)])
        noHB.lastHeartbeatNs = 0
        let view = Fixture.view([
            Fixture.venue("binance.spot", asks: [(100.0, 10)]),
            Fixture.venue("okx.spot", asks: [(98.0, 10)], bookAgeMs: 60_000),
            Fixture.venue("bybit.spot", asks: [(97.0, 10)], hbAgeMs: 30_000),
            Fixture.venue("kraken.spot", asks: [(96.0, 10)], headroom: 0.02),
            noHB,
        ])
        let r = router.route(Fixture.buy(1, limit: 101), view: view, nowNs: Fixture.now)
        #expect(r.allocations.map(\.venue) == ["binance.spot"])
        let reasons = Dictionary(uniqueKeysWithValues: r.quotes.map { ($0.venue, $0.skipReason) })
        #expect(reasons["okx.spot"]!.hasPrefix("stale book"))
        #expect(reasons["bybit.spot"]!.hasPrefix("heartbeat missing"))
        #expect(reasons["kraken.spot"]!.hasPrefix("rate limit near exhaustion"))
        #expect(reasons["upbit.spot"] == "no heartbeat from connector")
        #expect(reasons["binance.spot"] == "")
    }

    @Test func noEligibleVenueIsNoRoute() {
        let view = Fixture.view([Fixture.venue("binance.spot", asks: [(100.0, 10)], bookAgeMs: 60_000)])
        let r = router.route(Fixture.buy(1, limit: 101), view: view, nowNs: Fixture.now)
        #expect(r.allocations.isEmpty)
        #expect(r.rejectReason == .noRoute)
        #expect(r.reasonText.contains("stale book"))
    }

    @Test func allowedVenuesRestrictTheRoute() {
        let view = Fixture.view([
            Fixture.venue("binance.spot", asks: [(100.0, 10)]),
            Fixture.venue("okx.spot", asks: [(99.0, 10)]),
        ])
        let r = router.route(Fixture.buy(1, limit: 101, allowed: ["binance.spot"]), view: view, nowNs: Fixture.now)
        #expect(r.allocations.map(\.venue) == ["binance.spot"])
        #expect(r.quotes.first { $0.venue == "okx.spot" }?.skipReason == "not in allowed venues")
    }

    @Test func balancesCapEachVenue() {
        var b = Fixture.venue("binance.spot", asks: [(100.0, 10)], fee: 0)
        b.balances["acct-1"] = ["USDT": Fixture.px(250)]  // 2.5 BTC at 100
        var o = Fixture.venue("okx.spot", asks: [(101.0, 10)], fee: 0)
        o.balances["acct-1"] = ["USDT": 0]
        let view = Fixture.view([b, o, Fixture.venue("bybit.spot", asks: [(102.0, 10)], fee: 0)])
        let r = router.route(Fixture.buy(4, limit: 103), view: view, nowNs: Fixture.now)
        let byVenue = Dictionary(uniqueKeysWithValues: r.allocations.map { ($0.venue, $0.quantity) })
        #expect(byVenue["binance.spot"] == Fixture.px(2.5))
        #expect(byVenue["okx.spot"] == nil)
        #expect(byVenue["bybit.spot"] == Fixture.px(1.5))
        #expect(r.quotes.first { $0.venue == "okx.spot" }?.skipReason.contains("no free USDT") == true)
    }

    @Test func sellSideUsesBidsAndBaseBalance() {
        var b = Fixture.venue("binance.spot", asks: [], bids: [(100.0, 10)], fee: 0)
        b.balances["acct-1"] = ["BTC": Fixture.px(0.4)]
        let view = Fixture.view([b, Fixture.venue("okx.spot", asks: [], bids: [(99.0, 10)], fee: 0)])
        var req = Fixture.buy(1, limit: 98)
        req.side = .sell
        let r = router.route(req, view: view, nowNs: Fixture.now)
        let byVenue = Dictionary(uniqueKeysWithValues: r.allocations.map { ($0.venue, $0.quantity) })
        #expect(byVenue["binance.spot"] == Fixture.px(0.4))
        #expect(byVenue["okx.spot"] == Fixture.px(0.6))
    }

    @Test func lotAndMinNotionalRulesApply() {
        // 0.0015 on binance rounds to 0.001 (lot 0.001); okx's 0.0005 is below min notional and dropped.
        let view = Fixture.view([
            Fixture.venue("binance.spot", asks: [(10_000.0, 0.0015), (20_000, 1)], fee: 0),
            Fixture.venue("okx.spot", asks: [(10_001.0, 0.0005)], fee: 0),
        ])
        let r = router.route(Fixture.buy(0.002, limit: nil), view: view, nowNs: Fixture.now)
        let byVenue = Dictionary(uniqueKeysWithValues: r.allocations.map { ($0.venue, $0.quantity) })
        #expect(byVenue["binance.spot"] == Fixture.px(0.001))
        #expect(byVenue["okx.spot"] == nil)
        #expect(r.unallocated == Fixture.px(0.001))
        #expect(r.allocations.allSatisfy { $0.quantity % Fixture.px(0.001) == 0 })
    }

    @Test func equalNetPricesTieExactlyAndBreakByVenueName() {
        // 100.10 × (1 + 0.0015) = 100.15 × (1 + 0.001) = 100.25015 exactly; in binary floating point the
        // second looks cheaper (100.25014999999999). Integer arithmetic sees the tie, and ties go by venue name.
        for (a, b) in [((100.10, 0.0015), (100.15, 0.001)), ((100.15, 0.001), (100.10, 0.0015))] {
            let view = Fixture.view([
                Fixture.venue("a.spot", asks: [(a.0, 1)], fee: a.1),
                Fixture.venue("b.spot", asks: [(b.0, 1)], fee: b.1),
            ])
            let r = router.route(Fixture.buy(1, limit: 101), view: view, nowNs: Fixture.now)
            #expect(r.allocations.map(\.venue) == ["a.spot"])
            #expect(r.quotes.map(\.netPrice) == [10_025_015_000, 10_025_015_000])
            let best = router.route(Fixture.buy(1, limit: 101, strategy: .bestPrice), view: view, nowNs: Fixture.now)
            #expect(best.allocations.map(\.venue) == ["a.spot"])
        }
    }

    @Test func quoteBalanceCoversPriceAndFeeExactly() {
        // 100.1 USDT buys exactly 1 BTC at 100 with a 0.1% fee; 100.09999999 does not.
        for (balance, expected) in [(100.1, 1.0), (100.09999999, 0.99999999)] {
            var v = Fixture.venue("binance.spot", asks: [(100.0, 10)], fee: 0.001)
            v.instruments["BTCUSDT"]!.lot = 1
            v.instruments["BTCUSDT"]!.minQty = 1
            v.balances["acct-1"] = ["USDT": Fixture.px(balance)]
            let r = router.route(Fixture.buy(2, limit: nil), view: Fixture.view([v]), nowNs: Fixture.now)
            #expect(r.allocations.first?.quantity == Fixture.px(expected))
        }
    }

    @Test func minNotionalIsExactAtTheBoundary() {
        // 0.05 × 100 = 5 USDT: exactly the minimum, allowed; 0.04999 × 100 is below it.
        var v = Fixture.venue("binance.spot", asks: [(100.0, 10)], fee: 0)
        v.instruments["BTCUSDT"]!.lot = Fixture.px(0.00001)
        v.instruments["BTCUSDT"]!.minQty = Fixture.px(0.00001)
        let ok = router.route(Fixture.buy(0.05, limit: nil), view: Fixture.view([v]), nowNs: Fixture.now)
        #expect(ok.allocations.first?.quantity == Fixture.px(0.05))
        let below = router.route(Fixture.buy(0.04999, limit: nil), view: Fixture.view([v]), nowNs: Fixture.now)
        #expect(below.allocations.isEmpty)
        #expect(below.rejectReason == .noRoute)
    }

    @Test func haltedInstrumentSkipped() {
        var v = Fixture.venue("binance.spot", asks: [(100.0, 10)])
        v.instruments["BTCUSDT"]!.trading = false
        let r = router.route(Fixture.buy(1, limit: 101), view: Fixture.view([v]), nowNs: Fixture.now)
        #expect(r.rejectReason == .noRoute)
        #expect(r.quotes.first?.skipReason == "instrument not trading")
    }
}

@Suite struct BookTests {
    func level(_ p: Int64, _ q: Int64) -> Oms_V1_BookLevel { var l = Oms_V1_BookLevel(); l.price = p; l.quantity = q; return l }

    @Test func snapshotThenDeltasKeepSortedLevels() {
        var s = Oms_V1_BookSnapshot()
        s.priceScale = 2; s.qtyScale = 3
        s.bids = [level(10_000, 1000), level(9_990, 2000)]
        s.asks = [level(10_010, 1000), level(10_020, 500)]
        s.lastUpdateID = 10
        var b = VenueBook()
        b.apply(s, receivedNs: 1)
        var d = Oms_V1_BookDelta()
        d.priceScale = 2; d.qtyScale = 3
        d.firstUpdateID = 11; d.lastUpdateID = 12
        d.asks = [level(10_005, 300), level(10_010, 0)]
        d.bids = [level(9_995, 100)]
        let applied = b.apply(d, receivedNs: 2)
        #expect(applied)
        #expect(b.asks.map(\.price) == [Fixed.toInternal(10_005, scale: 2), Fixed.toInternal(10_020, scale: 2)])
        #expect(b.bids.map(\.price) == [10_000, 9_995, 9_990].map { Fixed.toInternal($0, scale: 2) })
        #expect(b.asks.first?.quantity == Fixed.toInternal(300, scale: 3))
        // A gap marks the book out of sync.
        d.firstUpdateID = 20; d.lastUpdateID = 21
        let gapApplied = b.apply(d, receivedNs: 3)
        #expect(!gapApplied)
        #expect(b.outOfSync)
        let r = SmartRouter(policy: { var p = RoutingPolicy(); p.requireHeartbeat = false; return p }())
        var view = MarketView()
        var v = VenueState(exchange: "binance", market: "spot")
        v.instruments["BTCUSDT"] = Fixture.rules()
        v.books["BTCUSDT"] = b
        view.venues[v.venue] = v
        let res = r.route(Fixture.buy(0.1, limit: nil), view: view, nowNs: 3)
        #expect(res.quotes.first?.skipReason == "book out of sync (sequence gap)")
    }

    @Test func spotDeltasWithoutPrevUpdateIDChainByFirstUpdateID() {
        // Binance spot diffs carry U/u only; the connector marks the absent "pu" as -1.
        func delta(_ first: Int64, _ last: Int64, ask: Int64) -> Oms_V1_BookDelta {
            var d = Oms_V1_BookDelta()
            d.priceScale = 8; d.qtyScale = 8
            d.firstUpdateID = first; d.lastUpdateID = last; d.prevLastUpdateID = -1
            d.asks = [level(ask, 50_000_000)]
            return d
        }
        var b = VenueBook()
        let first = b.apply(delta(3344, 3383, ask: 6_000_000_000_000), receivedNs: 1)
        let next = b.apply(delta(3384, 3423, ask: 6_000_100_000_000), receivedNs: 2)
        #expect(first && next)
        #expect(!b.outOfSync)
        #expect(b.asks.count == 2)
        let afterGap = b.apply(delta(3500, 3510, ask: 6_000_200_000_000), receivedNs: 3)   // 3424...3499 missing
        #expect(!afterGap)
        #expect(b.outOfSync)
    }

    @Test func heartbeatDetailsGiveRateLimitHeadroom() {
        var view = MarketView()
        var hb = Oms_V1_Heartbeat()
        hb.service = "binance-spot"
        hb.status = .ready
        var d1 = Oms_V1_HeartbeatDetail(); d1.key = "weight_used"; d1.value = "1150"
        var d2 = Oms_V1_HeartbeatDetail(); d2.key = "weight_limit"; d2.value = "1200"
        hb.details = [d1, d2]
        view.apply(hb, receivedNs: 5)
        let v = view.venues["binance.spot"]!
        #expect(v.lastHeartbeatNs == 5)
        #expect(v.rateLimitHeadroom < 0.05)
    }
}

@Suite struct ParentTrackerTests {
    func instrument(_ ex: String) -> Oms_V1_InstrumentId {
        var i = Oms_V1_InstrumentId(); i.exchange = ex; i.market = "spot"; i.symbol = "BTCUSDT"; return i
    }
    func event(_ child: String, status: Oms_V1_OrderStatus, filled: Double, avg: Double) -> Oms_V1_OrderEvent {
        var e = Oms_V1_OrderEvent()
        e.order.orderID = child
        e.order.parentOrderID = "P1"
        e.order.status = status
        e.order.filledQuantity = Fixed.decimal(Fixture.px(filled))
        e.order.averagePrice = Fixed.decimal(Fixture.px(avg))
        return e
    }

    func tracker() -> ParentTracker {
        var t = ParentTracker()
        t.register(ParentState(parentOrderID: "P1", account: "a", side: .buy, quantity: Fixture.px(3), children: [
            ChildState(childOrderID: "P1-1", instrument: instrument("binance"), quantity: Fixture.px(2)),
            ChildState(childOrderID: "P1-2", instrument: instrument("okx"), quantity: Fixture.px(1)),
        ]))
        return t
    }

    @Test func fillsRollUpToParent() {
        var t = tracker()
        t.apply(event("P1-1", status: .accepted, filled: 0, avg: 0))
        #expect(t.parents["P1"]?.status == .accepted)
        t.apply(event("P1-1", status: .partiallyFilled, filled: 1, avg: 100))
        #expect(t.parents["P1"]?.status == .partiallyFilled)
        t.apply(event("P1-1", status: .filled, filled: 2, avg: 100.5))
        t.apply(event("P1-1", status: .partiallyFilled, filled: 1, avg: 100))   // stale redelivery: ignored
        let p = t.apply(event("P1-2", status: .filled, filled: 1, avg: 102))!
        #expect(p.status == .filled)
        #expect(p.filledQuantity == Fixture.px(3))
        #expect(p.averagePrice == Fixture.px(101))  // (2 × 100.5 + 102) / 3, exact
    }

    @Test func cancelParentCancelsLiveChildren() {
        var t = tracker()
        t.apply(event("P1-1", status: .filled, filled: 2, avg: 100))
        t.apply(event("P1-2", status: .accepted, filled: 0, avg: 0))
        let live = t.cancel(parent: "P1")
        #expect(live.map(\.childOrderID) == ["P1-2"])
        #expect(t.parents["P1"]?.status == .pendingCancel)
        let p = t.apply(event("P1-2", status: .canceled, filled: 0, avg: 0))!
        #expect(p.status == .canceled)
        #expect(p.filledQuantity == Fixture.px(2))
    }

    @Test func allChildrenRejectedRejectsParent() {
        var t = tracker()
        t.apply(event("P1-1", status: .rejected, filled: 0, avg: 0))
        let p = t.apply(event("P1-2", status: .rejected, filled: 0, avg: 0))!
        #expect(p.status == .rejected)
        t.removeFinished()
        #expect(t.parents.isEmpty)
    }
}

@Suite struct DirectOrderHealthTests {
    func order(_ exchange: String = "binance") -> Oms_V1_OrderCommand {
        var o = Oms_V1_NewOrder()
        o.orderID = "O1"; o.clientOrderID = "c1"; o.account = "acct-1"
        o.instrument.exchange = exchange; o.instrument.market = "spot"; o.instrument.symbol = "BTCUSDT"
        o.side = .buy; o.orderType = .limit
        o.quantity = Fixed.decimal(Fixture.px(1), scale: 5)
        o.price = Fixed.decimal(Fixture.px(100), scale: 2)
        o.routing.strategy = .direct
        var c = Oms_V1_OrderCommand()
        c.commandID = "cmd-1"
        c.newOrder = o
        return c
    }

    func planner(hbAgeMs: Int64?, ready: Bool = true) -> RoutingPlanner {
        var p = RoutingPlanner()
        var v = Fixture.venue("binance.spot", asks: [(100.0, 1)], hbAgeMs: hbAgeMs ?? 0)
        if hbAgeMs == nil { v.lastHeartbeatNs = 0 }
        v.connectorReady = ready
        p.view = Fixture.view([v])
        return p
    }

    /// A direct order's refusal: its stored record first (routing.rejected.<order id>), then the REJECTED event.
    func rejection(_ outs: [RoutingPlanner.Output]) -> Oms_V1_OrderEvent? {
        guard outs.count == 2, case .decision(let recordSubject, let recordID, let record) = outs[0],
              case .orderEvent(let subject, _, let e) = outs[1], subject == "orders.binance.spot.BTCUSDT" else { return nil }
        guard recordSubject == "routing.rejected.\(e.order.orderID)", recordID == "\(e.order.orderID).router-rejected.decision",
              record.reasonText == e.reasonText, record.reasonCode == e.reasonCode, record.allocations.isEmpty else { return nil }
        return e
    }

    @Test func healthyVenueGetsTheDirectOrder() throws {
        var p = planner(hbAgeMs: 100)
        let outs = try p.handle(order(), nowNs: Fixture.now)
        guard outs.count == 1, case .venueCommand(let subject, _, let cmd) = outs[0] else { Issue.record("expected a venue command, got \(outs)"); return }
        #expect(subject == "cmd.venue.binance.spot.BTCUSDT")
        #expect(cmd.newOrder.orderID == "O1")
    }

    @Test func missingHeartbeatRejectsTheDirectOrderWithAReason() throws {
        var p = planner(hbAgeMs: 30_000)
        let e = try #require(rejection(try p.handle(order(), nowNs: Fixture.now)))
        #expect(e.order.status == .rejected)
        #expect(e.order.rejectReason == .venueUnavailable)
        #expect(e.reasonCode == .venueUnavailable)
        #expect(e.order.rejectText.hasPrefix("venue binance.spot unavailable: heartbeat missing for 30000 ms"))
        #expect(e.order.orderID == "O1" && e.order.clientOrderID == "c1")
    }

    @Test func neverSeenOrNotReadyConnectorRejects() throws {
        var silent = planner(hbAgeMs: nil)
        #expect(try rejection(silent.handle(order(), nowNs: Fixture.now))?.order.rejectText == "venue binance.spot unavailable: no heartbeat from connector")
        var degraded = planner(hbAgeMs: 100, ready: false)
        #expect(try rejection(degraded.handle(order(), nowNs: Fixture.now))?.order.rejectText == "venue binance.spot unavailable: connector not ready")
        // A venue the router has never heard of at all (no connector running).
        var p = planner(hbAgeMs: 100)
        let outs = try p.handle(order("okx"), nowNs: Fixture.now)
        guard outs.count == 2, case .orderEvent(_, _, let e) = outs[1] else { Issue.record("expected a rejection"); return }
        #expect(e.order.rejectReason == .venueUnavailable)
    }

    @Test func commandHandledBeforeARestartIsRoutedAsBeforeNotRejected() throws {
        // The previous router routed it and died before acking; the connector is not ready now.
        // Rejecting it now would contradict the venue command already on COMMANDS.
        var degraded = planner(hbAgeMs: 100, ready: false)
        let outs = try degraded.handle(order(), nowNs: Fixture.now, handledBefore: true)
        guard outs.count == 1, case .venueCommand(let subject, let id, _) = outs[0] else { Issue.record("expected a venue command, got \(outs)"); return }
        #expect(subject == "cmd.venue.binance.spot.BTCUSDT")
        #expect(id.hasSuffix(".venue"))  // the same id as the first time: JetStream drops the copy
        // A fresh command is still refused for the unready connector.
        #expect(try rejection(degraded.handle(order(), nowNs: Fixture.now))?.order.rejectReason == .venueUnavailable)
    }

    @Test func commandRefusedBeforeARestartIsRefusedAgainNotRouted() throws {
        // The previous router refused it (connector down) and died before acking; the connector is back now.
        var before = planner(hbAgeMs: 100, ready: false)
        let first = try before.handle(order(), nowNs: Fixture.now)
        let refused = try #require(rejection(first))
        guard case .decision(_, _, let record) = first[0] else { Issue.record("no refusal record"); return }
        var healthy = planner(hbAgeMs: 100)
        let again = try healthy.handle(order(), nowNs: Fixture.now + 1_000_000, handledBefore: true, priorRejection: record)
        let e = try #require(rejection(again), "expected the same refusal, got \(again)")
        guard case .orderEvent(_, let firstID, _) = first[1], case .orderEvent(_, let againID, _) = again[1] else { return }
        #expect(againID == firstID && e.reasonText == refused.reasonText)  // same id: JetStream keeps one
        // Without a stored refusal it is routed, as before.
        guard case .venueCommand = try healthy.handle(order(), nowNs: Fixture.now, handledBefore: true).first else { Issue.record("not routed"); return }
    }

    @Test func cancelOfAnOrderTheRouterRejectedIsAnsweredHere() throws {
        var p = planner(hbAgeMs: 30_000)
        _ = try #require(rejection(try p.handle(order(), nowNs: Fixture.now)))
        var cxl = Oms_V1_OrderCommand()
        cxl.commandID = "cxl-O1"
        cxl.cancelOrder.orderID = "O1"
        cxl.cancelOrder.account = "acct-1"
        cxl.cancelOrder.instrument = order().newOrder.instrument
        let outs = try p.handle(cxl, nowNs: Fixture.now)
        guard outs.count == 1, case .orderEvent(let subject, _, let e) = outs[0] else { Issue.record("expected a cancel rejection, got \(outs)"); return }
        #expect(subject == "orders.binance.spot.BTCUSDT")
        #expect(e.eventType == .cancelRejected && e.order.status == .rejected)
        // Any other order's cancel still goes to its venue.
        cxl.cancelOrder.orderID = "O2"
        guard case .venueCommand = try p.handle(cxl, nowNs: Fixture.now).first else { Issue.record("expected a venue command"); return }
    }

    @Test func heartbeatNotRequiredSendsAnyway() throws {
        var p = planner(hbAgeMs: nil)
        p.router.policy.requireHeartbeat = false
        let outs = try p.handle(order(), nowNs: Fixture.now)
        guard outs.count == 1, case .venueCommand = outs[0] else { Issue.record("expected a venue command"); return }
    }
}
