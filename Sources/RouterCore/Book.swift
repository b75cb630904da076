import OMSCore

/// One price level at the internal scale (see `Fixed`).
public struct Level: Sendable, Equatable {
    public var price: Int64
    public var quantity: Int64
    public init(price: Int64, quantity: Int64) { self.price = price; self.quantity = quantity }
}

/// One venue's book for one symbol, kept from BookSnapshot / BookDelta (and
/// TopOfBook when no depth is published). Bids best (highest) first, asks
/// best (lowest) first.
public struct VenueBook: Sendable {
    public var bids: [Level] = []
    public var asks: [Level] = []
    public var lastUpdateID: Int64 = 0
    /// Local receive time of the last applied update (ns, wall clock).
    public var updatedNs: Int64 = 0
    /// A delta arrived after a gap: the book is wrong until the next snapshot.
    public var outOfSync = false
    /// Only top-of-book is known (from md.tob).
    public var topOnly = false

    public init() {}

    public init(bids: [Level], asks: [Level], updatedNs: Int64) {
        self.bids = bids
        self.asks = asks
        self.updatedNs = updatedNs
    }

    public mutating func apply(_ s: Oms_V1_BookSnapshot, receivedNs: Int64) {
        bids = s.bids.compactMap { $0.quantity > 0 ? Level(price: Fixed.toInternal($0.price, scale: s.priceScale), quantity: Fixed.toInternal($0.quantity, scale: s.qtyScale)) : nil }
        asks = s.asks.compactMap { $0.quantity > 0 ? Level(price: Fixed.toInternal($0.price, scale: s.priceScale), quantity: Fixed.toInternal($0.quantity, scale: s.qtyScale)) : nil }
        bids.sort { $0.price > $1.price }
        asks.sort { $0.price < $1.price }
        lastUpdateID = s.lastUpdateID
        updatedNs = receivedNs
        outOfSync = false
        topOnly = false
    }

    /// Applies a delta; returns false (and marks the book out of sync) on a sequence gap.
    @discardableResult
    public mutating func apply(_ d: Oms_V1_BookDelta, receivedNs: Int64) -> Bool {
        if lastUpdateID != 0 {
            if d.lastUpdateID != 0 && d.lastUpdateID <= lastUpdateID { return true }  // old
            // prev_last_update_id (futures' "pu") is absent (0 or -1) on spot: there, first_update_id must follow on.
            let gap = d.prevLastUpdateID > 0 ? d.prevLastUpdateID != lastUpdateID
                                             : (d.firstUpdateID > 0 && d.firstUpdateID > lastUpdateID + 1)
            if gap { outOfSync = true; return false }
        }
        for l in d.bids { Self.upsert(&bids, Level(price: Fixed.toInternal(l.price, scale: d.priceScale), quantity: Fixed.toInternal(l.quantity, scale: d.qtyScale)), descending: true) }
        for l in d.asks { Self.upsert(&asks, Level(price: Fixed.toInternal(l.price, scale: d.priceScale), quantity: Fixed.toInternal(l.quantity, scale: d.qtyScale)), descending: false) }
        if d.lastUpdateID != 0 { lastUpdateID = d.lastUpdateID }
        updatedNs = receivedNs
        topOnly = false
        return true
    }

    /// TopOfBook only fills in a book when no depth is being published.
    public mutating func apply(_ t: Oms_V1_TopOfBook, receivedNs: Int64) {
        guard topOnly || (bids.isEmpty && asks.isEmpty) || receivedNs - updatedNs > 1_000_000_000 else { return }
        bids = t.bidQuantity > 0 ? [Level(price: Fixed.toInternal(t.bidPrice, scale: t.priceScale), quantity: Fixed.toInternal(t.bidQuantity, scale: t.qtyScale))] : []
        asks = t.askQuantity > 0 ? [Level(price: Fixed.toInternal(t.askPrice, scale: t.priceScale), quantity: Fixed.toInternal(t.askQuantity, scale: t.qtyScale))] : []
        updatedNs = receivedNs
        topOnly = true
        outOfSync = false
    }

    static func upsert(_ levels: inout [Level], _ l: Level, descending: Bool) {
        var lo = 0, hi = levels.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if descending ? levels[mid].price > l.price : levels[mid].price < l.price { lo = mid + 1 } else { hi = mid }
        }
        if lo < levels.count && levels[lo].price == l.price {
            if l.quantity > 0 { levels[lo].quantity = l.quantity } else { levels.remove(at: lo) }
        } else if l.quantity > 0 {
            levels.insert(l, at: lo)
        }
    }
}
