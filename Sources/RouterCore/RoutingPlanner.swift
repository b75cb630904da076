import OMSCore

/// Turns risk-accepted commands (cmd.route.*) into venue commands: the pure
/// part of the router service, testable without NATS. Direct orders go to
/// their venue unchanged; `auto` orders are split by `SmartRouter` into child
/// orders (`{parent}-{n}`, carrying parent_order_id) and audited with a
/// RoutingDecision; a cancel of a routed parent cancels its live children.
public struct RoutingPlanner: Sendable {
    /// One message to publish on JetStream.
    public enum Output: Sendable {
        case venueCommand(subject: String, id: String, command: Oms_V1_OrderCommand)
        case decision(subject: String, id: String, decision: Oms_V1_RoutingDecision)
        case orderEvent(subject: String, id: String, event: Oms_V1_OrderEvent)
    }

    public var router: SmartRouter
    public var view = MarketView()
    public var tracker = ParentTracker()
    public var defaultStrategy: Oms_V1_RoutingStrategy = .depthSplit
    /// Venues a cancel-all without a venue fans out to ("binance.spot", ...).
    public var venues: [String] = []
    /// Orders this router rejected itself (most recent first out), so a cancel racing the
    /// REJECTED event is answered here instead of reaching a connector that never saw the
    /// order (which would report it CANCELED: two terminal states). Bounded.
    var rejectedHere: Set<String> = []
    var rejectedOrder: [String] = []   // FIFO of rejectedHere, oldest at rejectedHead
    var rejectedHead = 0
    static let rejectedMemory = 10_000

    mutating func rememberRejected(_ orderID: String) {
        guard rejectedHere.insert(orderID).inserted else { return }
        rejectedOrder.append(orderID)
        if rejectedOrder.count - rejectedHead > Self.rejectedMemory {
            rejectedHere.remove(rejectedOrder[rejectedHead])
            rejectedHead += 1
            if rejectedHead > Self.rejectedMemory {
                rejectedOrder.removeFirst(rejectedHead)
                rejectedHead = 0
            }
        }
    }

    public init(router: SmartRouter = SmartRouter(), defaultStrategy: Oms_V1_RoutingStrategy = .depthSplit, venues: [String] = []) {
        self.router = router
        self.defaultStrategy = defaultStrategy
        self.venues = venues
    }

    public static func isRouted(_ o: Oms_V1_NewOrder) -> Bool {
        o.instrument.exchange == "auto" || o.routing.strategy == .bestPrice || o.routing.strategy == .depthSplit
    }

    /// `handledBefore`: the command may have been handled by a previous incarnation of the router
    /// (stored before this process started, or redelivered). A direct order is then routed whatever
    /// the venue's health now: the earlier incarnation most likely routed it already (its venue
    /// command is deduplicated by id), and a REJECTED now would give the order two terminal states
    /// once the venue fills it (seen in a fault-suite run: router killed right after routing, the
    /// connector not ready when the command came back). Unless the earlier incarnation refused it: a refusal is
    /// stored first (`Subjects.routingRejection`), and the caller passes it as `priorRejection` to be answered again
    /// (a fault-suite run routed an order that the killed router had rejected a second before: two terminal states).
    public mutating func handle(_ cmd: Oms_V1_OrderCommand, nowNs: Int64, handledBefore: Bool = false,
                                priorRejection: Oms_V1_RoutingDecision? = nil) throws -> [Output] {
        switch cmd.command {
        case .newOrder(let o):
            if !Self.isRouted(o) {
                let venue = "\(o.instrument.exchange).\(o.instrument.market)"
                if let prior = priorRejection {
                    return try directRejection(o, commandID: cmd.commandID, reason: prior.reasonCode, text: prior.reasonText, nowNs: nowNs)
                }
                if !handledBefore, let problem = router.connectorProblem(view.venues[venue], nowNs: nowNs) {
                    // Not sent: a venue whose connector is silent would leave the order hanging.
                    return try directRejection(o, commandID: cmd.commandID, reason: .venueUnavailable,
                                               text: "venue \(venue) unavailable: \(problem)", nowNs: nowNs)
                }
                let s = try Subjects.venueCommand(exchange: o.instrument.exchange, market: o.instrument.market, symbol: o.instrument.symbol)
                return [.venueCommand(subject: s, id: "\(cmd.commandID).venue", command: cmd)]
            }
            return try routeNew(o, commandID: cmd.commandID, nowNs: nowNs)
        case .cancelOrder(let c):
            if tracker.isParent(c.orderID) {
                return try tracker.cancel(parent: c.orderID).map { child in
                    var cc = c
                    cc.orderID = child.childOrderID
                    cc.clientOrderID = ""
                    cc.instrument = child.instrument
                    var out = Oms_V1_OrderCommand()
                    out.commandID = "\(cmd.commandID).\(child.childOrderID)"
                    out.cancelOrder = cc
                    let s = try Subjects.venueCommand(exchange: child.instrument.exchange, market: child.instrument.market, symbol: child.instrument.symbol)
                    return .venueCommand(subject: s, id: out.commandID, command: out)
                }
            }
            guard c.instrument.exchange != "auto" else { return [] }  // unknown parent: nothing live to cancel
            if rejectedHere.contains(c.orderID) {
                return [try requestRefused(.cancelRejected, eventID: "\(cmd.commandID).cancel-rejected", orderID: c.orderID,
                                           clientOrderID: c.clientOrderID, account: c.account, instrument: c.instrument, status: .rejected,
                                           reason: .unknownOrder, text: "the order was rejected by the router; nothing to cancel", nowNs: nowNs)]
            }
            let s = try Subjects.venueCommand(exchange: c.instrument.exchange, market: c.instrument.market, symbol: c.instrument.symbol)
            return [.venueCommand(subject: s, id: "\(cmd.commandID).venue", command: cmd)]
        case .amendOrder(let a):
            if tracker.isParent(a.orderID) || a.instrument.exchange == "auto" {
                return [try requestRefused(.amendRejected, eventID: "\(cmd.commandID).amend-rejected", orderID: a.orderID,
                                           clientOrderID: "", account: a.account, instrument: a.instrument, status: .unspecified,
                                           reason: .noRoute, text: "a routed (auto) order cannot be amended; cancel and resubmit", nowNs: nowNs)]
            }
            let s = try Subjects.venueCommand(exchange: a.instrument.exchange, market: a.instrument.market, symbol: a.instrument.symbol)
            return [.venueCommand(subject: s, id: "\(cmd.commandID).venue", command: cmd)]
        case .cancelAll(let ca):
            let symbol = ca.symbol.isEmpty ? "all" : ca.symbol
            var targets: [(String, String)]
            if ca.exchange.isEmpty || ca.exchange == "all" || ca.exchange == "auto" {
                targets = venues.compactMap { v in
                    let p = v.split(separator: ".").map(String.init)
                    guard p.count == 2, ca.market.isEmpty || ca.market == "all" || ca.market == p[1] else { return nil }
                    return (p[0], p[1])
                }
            } else if ca.market.isEmpty || ca.market == "all" {
                targets = venues.compactMap { v in
                    let p = v.split(separator: ".").map(String.init)
                    return p.count == 2 && p[0] == ca.exchange ? (p[0], p[1]) : nil
                }
            } else {
                targets = [(ca.exchange, ca.market)]
            }
            return try targets.map { ex, mk in
                var out = cmd
                out.commandID = "\(cmd.commandID).\(ex).\(mk)"
                out.cancelAll.exchange = ex
                out.cancelAll.market = mk
                return .venueCommand(subject: try Subjects.venueCommand(exchange: ex, market: mk, symbol: symbol), id: out.commandID, command: out)
            }
        case .none:
            return []
        }
    }

    mutating func routeNew(_ o: Oms_V1_NewOrder, commandID: String, nowNs: Int64) throws -> [Output] {
        let isMarket = o.orderType == .market || o.orderType == .stopMarket || o.orderType == .takeProfitMarket
        if let p = tracker.parents[o.orderID], !p.children.isEmpty {
            // Redelivered (a publish failed, or the router restarted before its ack): the routing
            // decision stands; re-send the children no venue has confirmed yet. Their command ids are
            // the original ones, so the stream drops any that did get through, and the connector
            // queries by client order id before placing, so none is placed twice.
            return try p.children.filter(\.unconfirmed).map { c in
                let cmd = childCommand(o, childOrderID: c.childOrderID, instrument: c.instrument, quantity: c.sentQuantity,
                                       price: isMarket ? nil : c.sentPrice, commandID: commandID, nowNs: nowNs)
                return .venueCommand(subject: try Subjects.venueCommand(exchange: c.instrument.exchange, market: c.instrument.market,
                                                                        symbol: c.instrument.symbol), id: cmd.commandID, command: cmd)
            }
        }
        let t0 = ContinuousClock.now
        var strategy = o.routing.strategy
        if strategy == .unspecified || strategy == .direct { strategy = defaultStrategy }
        let req = RouteRequest(parentOrderID: o.orderID, account: o.account, market: o.instrument.market, symbol: o.instrument.symbol,
                               side: o.side, quantity: Fixed.internalValue(o.quantity),
                               limitPrice: isMarket || !o.hasPrice ? nil : Fixed.internalValue(o.price),
                               strategy: strategy, allowedVenues: o.routing.allowedVenues)
        let r = router.route(req, view: view, nowNs: nowNs)
        let latency = (ContinuousClock.now - t0).nanoseconds

        var d = Oms_V1_RoutingDecision()
        d.decisionID = "rd-\(o.orderID)"
        d.parentOrderID = o.orderID
        d.account = o.account
        d.strategy = strategy
        d.side = o.side
        d.quantity = o.quantity
        if o.hasPrice { d.limitPrice = o.price }
        d.quotes = r.quotes.map { q in
            var vq = Oms_V1_VenueQuote()
            vq.venue = q.venue
            vq.bestPrice = Fixed.decimal(q.bestPrice)
            vq.availableQuantity = Fixed.decimal(q.availableQuantity)
            vq.takerFeeRate = Fixed.decimal(q.takerFee)
            vq.netPrice = Fixed.decimal(q.netPrice)
            vq.eligible = q.eligible
            vq.skipReason = q.skipReason
            vq.bookAgeNs = q.bookAgeNs
            return vq
        }
        var outputs: [Output] = []
        var children: [ChildState] = []
        for (n, a) in r.allocations.enumerated() {
            var instrument = o.instrument
            instrument.exchange = a.exchange
            instrument.market = a.market
            let sentPrice = isMarket ? nil : Fixed.decimal(a.limitPrice, scale: a.priceScale)
            let cmd = childCommand(o, childOrderID: "\(o.orderID)-\(n + 1)", instrument: instrument,
                                   quantity: Fixed.decimal(a.quantity, scale: a.qtyScale), price: sentPrice, commandID: commandID, nowNs: nowNs)
            let child = cmd.newOrder
            outputs.append(.venueCommand(subject: try Subjects.venueCommand(exchange: a.exchange, market: a.market, symbol: child.instrument.symbol),
                                         id: cmd.commandID, command: cmd))
            var alloc = Oms_V1_ChildAllocation()
            alloc.childOrderID = child.orderID
            alloc.instrument = child.instrument
            alloc.quantity = child.quantity
            alloc.limitPrice = Fixed.decimal(a.limitPrice, scale: a.priceScale)
            alloc.expectedAveragePrice = Fixed.decimal(a.expectedAveragePrice, scale: min(a.priceScale + 2, Fixed.scale))
            d.allocations.append(alloc)
            var cs = ChildState(childOrderID: child.orderID, instrument: child.instrument, quantity: a.quantity)
            cs.sentQuantity = child.quantity
            cs.sentPrice = sentPrice
            children.append(cs)
        }
        d.reasonCode = r.rejectReason
        d.reasonText = r.reasonText
        d.decisionLatencyNs = latency
        d.tsNs = nowNs
        outputs.insert(.decision(subject: try Subjects.routingDecision(market: o.instrument.market, symbol: o.instrument.symbol),
                                 id: d.decisionID, decision: d), at: 0)
        tracker.register(ParentState(parentOrderID: o.orderID, account: o.account, side: o.side, quantity: req.quantity,
                                     children: children, unallocated: r.unallocated))
        if children.isEmpty {
            outputs.append(try rejection(o, commandID: commandID, reason: .noRoute, text: r.reasonText, nowNs: nowNs, eventID: "\(o.orderID).no-route"))
        }
        return outputs
    }

    /// The venue command of one child order of parent `o`.
    func childCommand(_ o: Oms_V1_NewOrder, childOrderID: String, instrument: Oms_V1_InstrumentId, quantity: Oms_V1_Decimal,
                      price: Oms_V1_Decimal?, commandID: String, nowNs: Int64) -> Oms_V1_OrderCommand {
        var child = o
        child.orderID = childOrderID
        child.clientOrderID = ""
        child.parentOrderID = o.orderID
        child.instrument = instrument
        child.routing = Oms_V1_RoutingInstruction()
        child.routing.strategy = .direct
        child.quantity = quantity
        if let price { child.price = price } else { child.clearPrice() }
        child.quoteQuantity = Oms_V1_Decimal()
        child.tsNs = nowNs
        var cmd = Oms_V1_OrderCommand()
        cmd.commandID = "\(commandID).\(childOrderID)"
        cmd.newOrder = child
        return cmd
    }

    /// A cancel or amend the router answers itself (CANCEL_REJECTED / AMEND_REJECTED), on the order's own subject.
    func requestRefused(_ type: Oms_V1_OrderEventType, eventID: String, orderID: String, clientOrderID: String, account: String,
                        instrument: Oms_V1_InstrumentId, status: Oms_V1_OrderStatus, reason: Oms_V1_RejectReason, text: String,
                        nowNs: Int64) throws -> Output {
        var e = Oms_V1_OrderEvent()
        e.eventID = eventID
        e.eventType = type
        e.order.orderID = orderID
        e.order.clientOrderID = clientOrderID
        e.order.account = account
        e.order.instrument = instrument
        e.order.status = status
        e.reasonCode = reason
        e.reasonText = text
        e.source = "router"
        e.tsEventNs = nowNs
        e.tsInitNs = nowNs
        let s = try Subjects.orders(exchange: instrument.exchange, market: instrument.market, symbol: instrument.symbol)
        return .orderEvent(subject: s, id: e.eventID, event: e)
    }

    /// A direct order refused here: the refusal's record (what a restarted router looks up), then the REJECTED event.
    mutating func directRejection(_ o: Oms_V1_NewOrder, commandID: String, reason: Oms_V1_RejectReason, text: String, nowNs: Int64) throws -> [Output] {
        var d = Oms_V1_RoutingDecision()
        d.decisionID = "\(o.orderID).router-rejected.decision"
        d.parentOrderID = o.orderID
        d.account = o.account
        d.side = o.side
        d.quantity = o.quantity
        if o.hasPrice { d.limitPrice = o.price }
        d.reasonCode = reason
        d.reasonText = text
        d.tsNs = nowNs
        return [.decision(subject: try Subjects.routingRejection(orderID: o.orderID), id: d.decisionID, decision: d),
                try rejection(o, commandID: commandID, reason: reason, text: text, nowNs: nowNs)]
    }

    /// A REJECTED order event from the router (no route, venue unavailable), on the order's own subject.
    mutating func rejection(_ o: Oms_V1_NewOrder, commandID: String, reason: Oms_V1_RejectReason, text: String, nowNs: Int64,
                            eventID: String? = nil) throws -> Output {
        rememberRejected(o.orderID)
        var e = Oms_V1_OrderEvent()
        e.eventID = eventID ?? "\(o.orderID).router-rejected"
        e.eventType = .rejected
        e.order.orderID = o.orderID
        e.order.clientOrderID = o.clientOrderID
        e.order.account = o.account
        e.order.instrument = o.instrument
        e.order.side = o.side
        e.order.orderType = o.orderType
        e.order.timeInForce = o.timeInForce
        e.order.status = .rejected
        e.order.quantity = o.quantity
        if o.hasPrice { e.order.price = o.price }
        e.order.filledQuantity = Fixed.decimal(0, scale: o.quantity.scale)
        e.order.leavesQuantity = Fixed.decimal(0, scale: o.quantity.scale)
        e.order.createdNs = o.tsNs
        e.order.updatedNs = nowNs
        e.order.rejectReason = reason
        e.order.rejectText = text
        e.reasonCode = reason
        e.reasonText = text
        e.source = "router"
        e.tsEventNs = nowNs
        e.tsInitNs = nowNs
        return .orderEvent(subject: try Subjects.orders(exchange: o.instrument.exchange, market: o.instrument.market, symbol: o.instrument.symbol),
                           id: e.eventID, event: e)
    }
}
