import Foundation
import OMSCore
import RouterCore
import Synchronization

/// One order as oms-server knows it.
public struct OrderRecord: Sendable {
    public var order: Oms_V1_Order
    public var events: [Oms_V1_OrderEvent] = []
    public var fills: [Oms_V1_Fill] = []
    public var riskDecision: Oms_V1_RiskDecision?
    public var routingDecision: Oms_V1_RoutingDecision?
    public var childIDs: [String] = []
    /// SHA-256 of the submit request (duplicate detection).
    public var fingerprint: String = ""
    /// Wall-clock ns when it became terminal (TTL starts there); 0 while live.
    public var terminalAtNs: Int64 = 0
    public var lastSequence: UInt64 = 0
    /// Rolls up children (routed parent).
    public var isParent: Bool { !childIDs.isEmpty }
}

/// The lifecycle view of every order: a projection of COMMANDS (cmd.risk.*:
/// pending orders), ORDERS, TRADES, DECISIONS and POSITIONS, held in a bounded
/// cache. Terminal orders expire `ttl` after they ended and are evicted first
/// when the cache is over `maxSize`; live orders are never evicted. Every
/// apply is idempotent, so replaying the streams after a restart rebuilds it.
public final class OrderProjection: Sendable {
    struct State {
        var orders: [String: OrderRecord] = [:]
        var byClientID: [String: String] = [:]
        /// Terminal orders in the order they ended (eviction queue; may hold stale ids).
        var terminalQueue: [(String, Int64)] = []
        var terminalHead = 0
        var positions: [String: Oms_V1_Position] = [:]
        var balances: [String: Oms_V1_Balance] = [:]
        /// Fills whose order is not known yet (TRADES and ORDERS are separate feeds: a routed child's
        /// fill can arrive before its first order event); attached when the order appears. Bounded.
        var earlyFills: [String: [Oms_V1_Fill]] = [:]
        var earlyFillOrder: [String] = []

        /// The indexes derived from `orders` (after a snapshot is read).
        mutating func rebuildIndexes() {
            byClientID = [:]
            for (id, r) in orders where !r.order.clientOrderID.isEmpty {
                byClientID[OrderProjection.clientKey(account: r.order.account, clientOrderID: r.order.clientOrderID)] = id
            }
            terminalQueue = orders.compactMap { $0.value.terminalAtNs != 0 ? ($0.key, $0.value.terminalAtNs) : nil }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            terminalHead = 0
        }
    }

    /// Max orders with fills waiting for their order record.
    static let earlyFillLimit = 10_000

    let state = Mutex(State())
    public let ttlNs: Int64
    public let maxSize: Int
    /// Max events/fills kept per order.
    public let historyLimit = 256

    public init(ttl: Duration, maxSize: Int) {
        ttlNs = ttl.nanoseconds
        self.maxSize = maxSize
    }

    public static func clientKey(account: String, clientOrderID: String) -> String { "\(account)\u{1F}\(clientOrderID)" }

    public var count: Int { state.withLock { $0.orders.count } }

    public func order(id: String) -> OrderRecord? { state.withLock { $0.orders[id] } }

    public func order(account: String, clientOrderID: String) -> OrderRecord? {
        state.withLock { s in s.byClientID[Self.clientKey(account: account, clientOrderID: clientOrderID)].flatMap { s.orders[$0] } }
    }

    public func children(of r: OrderRecord) -> [Oms_V1_Order] {
        state.withLock { s in r.childIDs.compactMap { s.orders[$0]?.order } }
    }

    /// Orders matching `filter`, newest first.
    public func list(where filter: (Oms_V1_Order) -> Bool) -> [Oms_V1_Order] {
        let all = state.withLock { s in s.orders.values.compactMap { filter($0.order) ? $0.order : nil } }
        return all.sorted { ($0.createdNs, $0.orderID) > ($1.createdNs, $1.orderID) }
    }

    public func positions(where filter: (Oms_V1_Position) -> Bool) -> [Oms_V1_Position] {
        state.withLock { s in s.positions.values.filter(filter) }.sorted { ($0.account, $0.instrument.symbol) < ($1.account, $1.instrument.symbol) }
    }

    public func balances(where filter: (Oms_V1_Balance) -> Bool) -> [Oms_V1_Balance] {
        state.withLock { s in s.balances.values.filter(filter) }.sorted { ($0.account, $0.exchange, $0.asset) < ($1.account, $1.exchange, $1.asset) }
    }

    // MARK: - reservation (submit path)

    public enum Reservation: Sendable {
        case reserved
        case duplicate(OrderRecord)
        case conflict(OrderRecord)
    }

    /// Records a pending order before its command is published; a second
    /// submit with the same client order id sees it (duplicate or conflict).
    public func reserve(_ o: Oms_V1_NewOrder, fingerprint: String) -> Reservation {
        state.withLock { s in
            let key = Self.clientKey(account: o.account, clientOrderID: o.clientOrderID)
            if let id = s.byClientID[key], let r = s.orders[id] {
                return r.fingerprint == fingerprint || r.fingerprint.isEmpty ? .duplicate(r) : .conflict(r)
            }
            var r = OrderRecord(order: Self.pendingOrder(o))
            r.fingerprint = fingerprint
            s.orders[o.orderID] = r
            s.byClientID[key] = o.orderID
            return .reserved
        }
    }

    /// The publish failed: forget the reservation (unless events arrived meanwhile).
    public func release(orderID: String) {
        state.withLock { s in
            guard let r = s.orders[orderID], r.events.isEmpty else { return }
            s.orders[orderID] = nil
            s.byClientID[Self.clientKey(account: r.order.account, clientOrderID: r.order.clientOrderID)] = nil
        }
    }

    static func pendingOrder(_ o: Oms_V1_NewOrder) -> Oms_V1_Order {
        var r = Oms_V1_Order()
        r.orderID = o.orderID
        r.clientOrderID = o.clientOrderID
        r.account = o.account
        r.instrument = o.instrument
        r.side = o.side
        r.orderType = o.orderType
        r.timeInForce = o.timeInForce
        r.status = .pendingNew
        r.quantity = o.quantity
        if o.hasPrice { r.price = o.price }
        if o.hasStopPrice { r.stopPrice = o.stopPrice }
        var zero = Oms_V1_Decimal()
        zero.scale = o.quantity.scale
        r.filledQuantity = zero
        r.leavesQuantity = o.quantity
        r.reduceOnly = o.reduceOnly
        r.postOnly = o.postOnly
        r.parentOrderID = o.parentOrderID
        r.createdNs = o.tsNs
        r.updatedNs = o.tsNs
        return r
    }

    // MARK: - stream inputs

    /// A client command seen on cmd.risk.* (so pending orders survive a restart).
    public func apply(command c: Oms_V1_OrderCommand, fingerprint: String? = nil, sequence: UInt64 = 0, nowNs: Int64) {
        guard case .newOrder(let o) = c.command else { return }
        state.withLock { s in
            if s.orders[o.orderID] == nil {
                var r = OrderRecord(order: Self.pendingOrder(o))
                r.fingerprint = fingerprint ?? ""
                r.lastSequence = sequence
                adoptEarlyFills(&s, o.orderID, &r)
                s.orders[o.orderID] = r
                s.byClientID[Self.clientKey(account: o.account, clientOrderID: o.clientOrderID)] = o.orderID
                evict(&s, nowNs: nowNs)
            } else {
                // The stream's copy of a reserved order: from now on it is durable (see ProjectionSnapshot).
                s.orders[o.orderID]!.lastSequence = max(s.orders[o.orderID]!.lastSequence, sequence)
                if let fingerprint, s.orders[o.orderID]!.fingerprint.isEmpty { s.orders[o.orderID]!.fingerprint = fingerprint }
            }
        }
    }

    public func apply(event e: Oms_V1_OrderEvent, sequence: UInt64, nowNs: Int64) {
        state.withLock { s in
            let id = e.order.orderID
            guard !id.isEmpty else { return }
            if let known = s.orders[id], !e.eventID.isEmpty, known.events.contains(where: { $0.eventID == e.eventID }) { return }
            // Taken out of the table (not copied), so appending and updating below mutate in place
            // instead of copying the record's arrays and the order's storage on every event.
            var r = s.orders.removeValue(forKey: id) ?? OrderRecord(order: e.order)
            adoptEarlyFills(&s, id, &r)
            // Keep the most advanced state: an older event replayed late must not regress the order.
            let newer = e.order.updatedNs >= r.order.updatedNs || Self.rank(e.order.status) > Self.rank(r.order.status)
            if newer && !(OrderStatusRules.isTerminal(r.order.status) && !OrderStatusRules.isTerminal(e.order.status) && !r.events.isEmpty) {
                var o = e.order
                if o.clientOrderID.isEmpty { o.clientOrderID = r.order.clientOrderID }
                if o.createdNs == 0 { o.createdNs = r.order.createdNs }
                if o.parentOrderID.isEmpty { o.parentOrderID = r.order.parentOrderID }
                if !o.hasQuantity { o.quantity = r.order.quantity }
                if o.account.isEmpty { o.account = r.order.account }
                r.order = o
            }
            if r.events.count < historyLimit { r.events.append(e) }
            r.lastSequence = max(r.lastSequence, sequence)
            if OrderStatusRules.isTerminal(r.order.status) && r.terminalAtNs == 0 && !r.isParent {
                r.terminalAtNs = max(e.tsInitNs, e.order.updatedNs)
                if r.terminalAtNs == 0 { r.terminalAtNs = nowNs }
                s.terminalQueue.append((id, r.terminalAtNs))
            }
            s.orders[id] = r
            if !r.order.clientOrderID.isEmpty {
                s.byClientID[Self.clientKey(account: r.order.account, clientOrderID: r.order.clientOrderID)] = id
            }
            if !r.order.parentOrderID.isEmpty { rollUp(&s, parentID: r.order.parentOrderID, nowNs: nowNs) }
            evict(&s, nowNs: nowNs)
        }
    }

    public func apply(fill f: Oms_V1_Fill, sequence: UInt64) {
        state.withLock { s in
            if !f.parentOrderID.isEmpty, var p = s.orders[f.parentOrderID], !p.fills.contains(where: { $0.tradeID == f.tradeID && $0.orderID == f.orderID }) {
                if p.fills.count < historyLimit { p.fills.append(f) }
                s.orders[f.parentOrderID] = p
            }
            guard var r = s.orders[f.orderID] else {
                // The order's first event has not been applied yet: keep the fill for it.
                if s.earlyFills[f.orderID] == nil {
                    s.earlyFillOrder.append(f.orderID)
                    if s.earlyFillOrder.count > Self.earlyFillLimit { s.earlyFills[s.earlyFillOrder.removeFirst()] = nil }
                }
                if !(s.earlyFills[f.orderID]?.contains(where: { $0.tradeID == f.tradeID }) ?? false) { s.earlyFills[f.orderID, default: []].append(f) }
                return
            }
            if r.fills.contains(where: { $0.tradeID == f.tradeID }) { return }
            if r.fills.count < historyLimit { r.fills.append(f) }
            s.orders[f.orderID] = r
        }
    }

    /// Attaches fills that arrived before order `id` was known.
    func adoptEarlyFills(_ s: inout State, _ id: String, _ r: inout OrderRecord) {
        guard let early = s.earlyFills.removeValue(forKey: id) else { return }
        for f in early where !r.fills.contains(where: { $0.tradeID == f.tradeID }) && r.fills.count < historyLimit { r.fills.append(f) }
    }

    public func apply(risk d: Oms_V1_RiskDecision) {
        state.withLock { s in
            guard var r = s.orders[d.orderID] else { return }
            r.riskDecision = d
            if d.result == .rejected && r.order.status == .pendingNew {
                r.order.status = .rejected
                r.order.rejectReason = d.reasonCode
                r.order.rejectText = d.reasonText
            }
            s.orders[d.orderID] = r
        }
    }

    public func apply(routing d: Oms_V1_RoutingDecision, nowNs: Int64) {
        state.withLock { s in
            guard var r = s.orders[d.parentOrderID] else { return }
            r.routingDecision = d
            r.childIDs = d.allocations.map(\.childOrderID)
            s.orders[d.parentOrderID] = r
            if !r.childIDs.isEmpty { rollUp(&s, parentID: d.parentOrderID, nowNs: nowNs) }
        }
    }

    public func apply(account u: Oms_V1_AccountUpdate) {
        state.withLock { s in
            if u.reason == .snapshot {
                s.positions = s.positions.filter { !($0.value.account == u.account && $0.value.instrument.exchange == u.exchange && $0.value.instrument.market == u.market) }
                s.balances = s.balances.filter { !($0.value.account == u.account && $0.value.exchange == u.exchange && $0.value.market == u.market) }
            }
            for var p in u.positions {
                if p.account.isEmpty { p.account = u.account }
                s.positions[Self.positionKey(p)] = p
            }
            for var b in u.balances {
                if b.account.isEmpty { b.account = u.account }
                if b.exchange.isEmpty { b.exchange = u.exchange }
                if b.market.isEmpty { b.market = u.market }
                s.balances[Self.balanceKey(b)] = b
            }
        }
    }

    static func positionKey(_ p: Oms_V1_Position) -> String {
        "\(p.account)|\(p.instrument.exchange)|\(p.instrument.market)|\(p.instrument.symbol)|\(p.positionSide.rawValue)"
    }

    static func balanceKey(_ b: Oms_V1_Balance) -> String { "\(b.account)|\(b.exchange)|\(b.market)|\(b.asset)" }

    // MARK: - snapshot

    /// A copy of the state for a snapshot (the lock is held only for the copy: the
    /// dictionaries are copy-on-write, so this is cheap and encoding happens outside).
    public func snapshot(sequences: [String: UInt64], instruments: [Oms_V1_Instrument]) -> ProjectionSnapshot {
        var snap = ProjectionSnapshot()
        snap.sequences = sequences
        snap.instruments = instruments
        snap.state = state.withLock { $0 }
        return snap
    }

    /// Replaces the state with a snapshot's (at start, before any stream is followed).
    public func restore(_ snap: ProjectionSnapshot) {
        state.withLock { $0 = snap.state }
    }

    // MARK: - internals

    static func rank(_ s: Oms_V1_OrderStatus) -> Int {
        switch s {
        case .unspecified: return 0
        case .pendingNew: return 1
        case .accepted, .pendingReplace: return 2
        case .pendingCancel: return 3
        case .partiallyFilled: return 4
        case .filled, .canceled, .rejected, .expired: return 5
        default: return 0
        }
    }

    /// A routed parent's state from its children (same rules as the router's ParentTracker).
    func rollUp(_ s: inout State, parentID: String, nowNs: Int64) {
        guard var p = s.orders[parentID], !p.childIDs.isEmpty else { return }
        let qty = Fixed.internalValue(p.order.quantity)
        let children: [ChildState] = p.childIDs.map { id in
            var c = ChildState(childOrderID: id, instrument: Oms_V1_InstrumentId(), quantity: 0)
            if let o = s.orders[id]?.order {
                c.quantity = Fixed.internalValue(o.quantity)
                c.filled = Fixed.internalValue(o.filledQuantity)
                c.filledNotional = Int128(Fixed.internalValue(o.averagePrice)) * Int128(c.filled)
                c.status = o.status
            }
            return c
        }
        var ps = ParentState(parentOrderID: parentID, account: p.order.account, side: p.order.side, quantity: qty, children: children)
        ps.cancelRequested = p.order.status == .pendingCancel || p.order.status == .canceled
        let scale = max(p.order.quantity.scale, 0)
        p.order.status = ps.status
        p.order.filledQuantity = Fixed.decimal(ps.filledQuantity, scale: scale)
        p.order.leavesQuantity = Fixed.decimal(OrderStatusRules.isTerminal(ps.status) ? 0 : max(0, qty - ps.filledQuantity), scale: scale)
        if ps.filledQuantity > 0 { p.order.averagePrice = Fixed.decimal(ps.averagePrice, scale: Fixed.scale) }
        p.order.updatedNs = max(p.order.updatedNs, children.isEmpty ? 0 : nowNs)
        if OrderStatusRules.isTerminal(ps.status) && p.terminalAtNs == 0 {
            p.terminalAtNs = nowNs
            s.terminalQueue.append((parentID, nowNs))
        }
        s.orders[parentID] = p
    }

    func remove(_ s: inout State, _ id: String) {
        guard let r = s.orders.removeValue(forKey: id) else { return }
        let key = Self.clientKey(account: r.order.account, clientOrderID: r.order.clientOrderID)
        if s.byClientID[key] == id { s.byClientID[key] = nil }
    }

    /// Drops terminal orders past their TTL, then the oldest terminal ones while over `maxSize`.
    func evict(_ s: inout State, nowNs: Int64) {
        while s.terminalHead < s.terminalQueue.count {
            let (id, at) = s.terminalQueue[s.terminalHead]
            guard let r = s.orders[id], r.terminalAtNs == at else { s.terminalHead += 1; continue }  // stale entry
            let expired = nowNs - at > ttlNs
            let overSize = s.orders.count > maxSize
            guard expired || overSize else { break }
            // A parent stays while any child is live; a child stays while its parent does.
            remove(&s, id)
            s.terminalHead += 1
        }
        if s.terminalHead > 4096 && s.terminalHead * 2 > s.terminalQueue.count {
            s.terminalQueue.removeFirst(s.terminalHead)
            s.terminalHead = 0
        }
    }

    /// Periodic expiry (TTL) without new events.
    public func expire(nowNs: Int64) { state.withLock { evict(&$0, nowNs: nowNs) } }
}
