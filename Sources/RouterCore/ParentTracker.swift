import OMSCore

/// One child order of a routed parent.
public struct ChildState: Sendable, Equatable {
    public var childOrderID: String
    public var instrument: Oms_V1_InstrumentId
    public var quantity: Int64
    public var filled: Int64 = 0
    /// Sum of price × quantity over fills, exact: internal price × internal qty (scale 10^-16).
    public var filledNotional: Int128 = 0
    public var status: Oms_V1_OrderStatus = .pendingNew
    /// The child's quantity and limit price as sent (venue scales), so a
    /// redelivered parent command can re-send a child that never reached its venue.
    public var sentQuantity = Oms_V1_Decimal()
    public var sentPrice: Oms_V1_Decimal?

    public init(childOrderID: String, instrument: Oms_V1_InstrumentId, quantity: Int64) {
        self.childOrderID = childOrderID; self.instrument = instrument; self.quantity = quantity
    }
    /// No event from the venue side yet (never acknowledged, never rejected).
    public var unconfirmed: Bool { status == .pendingNew || status == .unspecified }
    public var isLive: Bool { !OrderStatusRules.isTerminal(status) }
}

public enum OrderStatusRules {
    public static func isTerminal(_ s: Oms_V1_OrderStatus) -> Bool {
        switch s {
        case .filled, .canceled, .rejected, .expired: return true
        default: return false
        }
    }
}

/// A routed parent and its children; the parent's state is rolled up from them.
public struct ParentState: Sendable, Equatable {
    public var parentOrderID: String
    public var account: String
    public var side: Oms_V1_Side
    public var quantity: Int64
    public var children: [ChildState]
    public var cancelRequested = false
    /// Quantity the router could not place at all.
    public var unallocated: Int64 = 0

    public init(parentOrderID: String, account: String, side: Oms_V1_Side, quantity: Int64, children: [ChildState], unallocated: Int64 = 0) {
        self.parentOrderID = parentOrderID; self.account = account; self.side = side; self.quantity = quantity
        self.children = children; self.unallocated = unallocated
    }

    public var filledQuantity: Int64 { children.reduce(0) { $0 + $1.filled } }
    /// Volume-weighted average fill price at the internal scale (truncated), 0 before any fill.
    public var averagePrice: Int64 {
        let f = filledQuantity
        guard f > 0 else { return 0 }
        return Int64(clamping: children.reduce(Int128(0)) { $0 + $1.filledNotional } / Int128(f))
    }
    public var liveChildren: [ChildState] { children.filter(\.isLive) }

    public var status: Oms_V1_OrderStatus {
        let filled = filledQuantity
        if filled >= quantity && quantity > 0 { return .filled }
        if children.isEmpty { return unallocated > 0 ? .rejected : .pendingNew }
        if children.contains(where: \.isLive) {
            if cancelRequested { return .pendingCancel }
            if filled > 0 { return .partiallyFilled }
            if children.contains(where: { $0.status == .accepted || $0.status == .partiallyFilled }) { return .accepted }
            return .pendingNew
        }
        // Every child is done and the parent is not fully filled.
        if filled == 0 && children.allSatisfy({ $0.status == .rejected }) { return .rejected }
        if children.contains(where: { $0.status == .canceled }) || cancelRequested { return .canceled }
        if children.contains(where: { $0.status == .expired }) { return .expired }
        return .canceled
    }
}

/// Parent/child bookkeeping: child order events roll up to the parent, and a
/// cancel of the parent names the live children to cancel. Events carry the
/// child's cumulative state, so a redelivered event changes nothing.
public struct ParentTracker: Sendable {
    public private(set) var parents: [String: ParentState] = [:]
    private var childToParent: [String: String] = [:]

    public init() {}

    public mutating func register(_ p: ParentState) {
        if let old = parents[p.parentOrderID] { for c in old.children { childToParent[c.childOrderID] = nil } }
        parents[p.parentOrderID] = p
        for c in p.children { childToParent[c.childOrderID] = p.parentOrderID }
    }

    public func parent(ofChild id: String) -> String? { childToParent[id] }

    /// Rebuilds a parent from its audited routing decision (router restart:
    /// DECISIONS replay). Child states then follow from the ORDERS replay.
    /// Returns false for a decision without children or an already known parent.
    @discardableResult
    public mutating func recover(_ d: Oms_V1_RoutingDecision) -> Bool {
        guard !d.parentOrderID.isEmpty, !d.allocations.isEmpty, parents[d.parentOrderID] == nil else { return false }
        let children = d.allocations.map { a in
            var c = ChildState(childOrderID: a.childOrderID, instrument: a.instrument, quantity: Fixed.internalValue(a.quantity))
            c.sentQuantity = a.quantity
            if a.hasLimitPrice { c.sentPrice = a.limitPrice }
            return c
        }
        let qty = Fixed.internalValue(d.quantity)
        let placed = children.reduce(Int64(0)) { $0 + $1.quantity }
        register(ParentState(parentOrderID: d.parentOrderID, account: d.account, side: d.side, quantity: qty,
                             children: children, unallocated: max(0, qty - placed)))
        return true
    }
    public func isParent(_ id: String) -> Bool { parents[id] != nil }

    /// Applies a child's order event; returns the updated parent, or nil when the event is not about a known child.
    @discardableResult
    public mutating func apply(_ e: Oms_V1_OrderEvent) -> ParentState? {
        let o = e.order
        let pid = o.parentOrderID.isEmpty ? childToParent[o.orderID] : o.parentOrderID
        guard let pid, var p = parents[pid], let i = p.children.firstIndex(where: { $0.childOrderID == o.orderID }) else { return nil }
        var c = p.children[i]
        let filled = Fixed.internalValue(o.filledQuantity)
        // Monotonic: never move back to a smaller cumulative fill (out-of-order delivery).
        if filled >= c.filled {
            c.filled = filled
            c.filledNotional = o.hasAveragePrice ? Int128(Fixed.internalValue(o.averagePrice)) * Int128(filled) : c.filledNotional
        }
        if !(OrderStatusRules.isTerminal(c.status) && !OrderStatusRules.isTerminal(o.status)) && o.status != .unspecified {
            c.status = o.status
        }
        p.children[i] = c
        parents[pid] = p
        return p
    }

    /// Marks the parent cancel-requested and returns its live children (to cancel at their venues).
    public mutating func cancel(parent id: String) -> [ChildState] {
        guard var p = parents[id] else { return [] }
        p.cancelRequested = true
        parents[id] = p
        return p.liveChildren
    }

    /// Forgets parents whose every child is terminal (after they were reported).
    public mutating func removeFinished() {
        for (id, p) in parents where OrderStatusRules.isTerminal(p.status) {
            for c in p.children { childToParent[c.childOrderID] = nil }
            parents[id] = nil
        }
    }
}
