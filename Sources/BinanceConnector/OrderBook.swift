/// A price-level book in fixed point. Each side is one sorted array with the
/// best level at the end, so the updates that dominate (near the touch) move
/// few elements, and the best price is `last`.
public struct OrderBook: Sendable {
    /// Bids ascending by price; asks descending by price. Best = last.
    public private(set) var bids: [PriceLevel] = []
    public private(set) var asks: [PriceLevel] = []
    /// The book's update id (Binance `lastUpdateId`, then each applied `u`).
    public var updateID: Int64 = 0

    public init(capacity: Int = 1024) {
        bids.reserveCapacity(capacity)
        asks.reserveCapacity(capacity)
    }

    public var bestBid: PriceLevel? { bids.last }
    public var bestAsk: PriceLevel? { asks.last }

    public mutating func clear() {
        bids.removeAll(keepingCapacity: true)
        asks.removeAll(keepingCapacity: true)
        updateID = 0
    }

    /// Loads a snapshot (levels in any order; zero quantities dropped).
    public mutating func load(bids newBids: [PriceLevel], asks newAsks: [PriceLevel], updateID: Int64) {
        clear()
        bids.append(contentsOf: newBids.lazy.filter { $0.quantity > 0 })
        asks.append(contentsOf: newAsks.lazy.filter { $0.quantity > 0 })
        bids.sort { $0.price < $1.price }
        asks.sort { $0.price > $1.price }
        self.updateID = updateID
    }

    /// Sets a bid level to an absolute quantity (0 removes it; removing a missing level is a no-op).
    @inline(__always)
    public mutating func setBid(price: Int64, quantity: Int64) {
        Self.set(&bids, at: Self.lowerBound(bids, price, descending: false), price: price, quantity: quantity)
    }

    @inline(__always)
    public mutating func setAsk(price: Int64, quantity: Int64) {
        Self.set(&asks, at: Self.lowerBound(asks, price, descending: true), price: price, quantity: quantity)
    }

    /// First index whose price is not better-ordered than `price` (ascending for bids,
    /// descending for asks). Branch-free halving: the comparisons near the touch are
    /// data-dependent and would otherwise mispredict about half the time.
    @inline(__always)
    static func lowerBound(_ side: [PriceLevel], _ price: Int64, descending: Bool) -> Int {
        side.withUnsafeBufferPointer { b -> Int in
            var n = b.count
            guard n > 0, let base = b.baseAddress else { return 0 }
            // Updates cluster at the touch (the end): check it before searching.
            let last = base[n - 1].price
            if descending ? last > price : last < price { return n }
            // Prices are positive and far below 2^62, so the difference cannot overflow and its
            // sign bit says "before": a mask instead of a branch the CPU would have to guess.
            var lo = 0
            while n > 1 {
                let half = n >> 1
                let p = base[lo &+ half &- 1].price
                let before = (descending ? price &- p : p &- price) >> 63
                lo &+= half & Int(before)
                n &-= half
            }
            let p = base[lo].price
            return lo &+ ((descending ? p > price : p < price) ? 1 : 0)
        }
    }

    @inline(__always)
    static func set(_ side: inout [PriceLevel], at i: Int, price: Int64, quantity: Int64) {
        if i < side.count && side[i].price == price {
            if quantity == 0 { side.remove(at: i) } else { side[i].quantity = quantity }
        } else if quantity != 0 {
            if i == side.count { side.append(PriceLevel(price: price, quantity: quantity)) }
            else { side.insert(PriceLevel(price: price, quantity: quantity), at: i) }
        }
    }

    /// Applies a diff's absolute levels.
    public mutating func apply(bids b: [PriceLevel], asks a: [PriceLevel]) {
        for l in b { setBid(price: l.price, quantity: l.quantity) }
        for l in a { setAsk(price: l.price, quantity: l.quantity) }
    }

    /// Best `n` levels per side, best first.
    public func top(_ n: Int) -> (bids: [PriceLevel], asks: [PriceLevel]) {
        (Array(bids.suffix(n).reversed()), Array(asks.suffix(n).reversed()))
    }

    /// True when no bid is at or above an ask (a sane book).
    public var isUncrossed: Bool {
        guard let b = bestBid, let a = bestAsk else { return true }
        return b.price < a.price
    }
}

/// Binance's local-book procedure for one symbol (spot: `U`/`u`; futures: `pu`):
/// buffer diffs until a snapshot arrives, drop what the snapshot already
/// contains, check contiguity, apply; on a gap, clear and ask for a new snapshot.
public struct BookSynchronizer: Sendable {
    public enum Mode: Sendable { case spot, futures }
    public enum State: Sendable, Equatable { case awaitingSnapshot, synced }

    public enum DiffResult: Sendable, Equatable {
        /// Applied to a synced book.
        case applied
        /// Already in the book (u <= book id): ignored.
        case stale
        /// Buffered; `requestSnapshot` is true for the first buffered event of a (re)sync.
        case buffered(requestSnapshot: Bool)
        /// Sequence broke: book cleared, the event buffered, a new snapshot is needed.
        case gap(expected: Int64, got: Int64)
    }

    public enum SnapshotResult: Sendable, Equatable {
        /// Book loaded and buffered diffs replayed (`replayed` of them applied).
        case synced(replayed: Int)
        /// Snapshot older than the first buffered diff: fetch again.
        case tooOld
        /// Buffered diffs do not continue from the snapshot: fetch again.
        case gap(expected: Int64, got: Int64)
    }

    struct BufferedDiff: Sendable {
        var first: Int64, last: Int64, prev: Int64
        var bids: [PriceLevel], asks: [PriceLevel]
    }

    public let mode: Mode
    public private(set) var book: OrderBook
    public private(set) var state: State = .awaitingSnapshot
    var buffer: [BufferedDiff] = []
    /// Largest number of diffs kept while waiting for a snapshot; beyond it the oldest are dropped
    /// (the snapshot will then be too old and be fetched again).
    public var maxBuffered = 10_000
    public private(set) var gaps = 0
    public private(set) var resyncs = 0

    public init(mode: Mode = .spot, capacity: Int = 1024) {
        self.mode = mode
        book = OrderBook(capacity: capacity)
    }

    public var bufferedCount: Int { buffer.count }

    /// One diff event (`U`, `u`, `pu` and the levels).
    public mutating func onDiff(first U: Int64, last u: Int64, prev pu: Int64 = -1, bids: [PriceLevel], asks: [PriceLevel]) -> DiffResult {
        if state == .synced {
            if u <= book.updateID { return .stale }
            let contiguous: Bool = switch mode {
            case .spot: U <= book.updateID + 1
            case .futures: pu == book.updateID || (U <= book.updateID && book.updateID <= u && lastWasSnapshot)
            }
            if !contiguous {
                let expected = book.updateID + 1
                gaps += 1
                restart()
                buffer.append(BufferedDiff(first: U, last: u, prev: pu, bids: bids, asks: asks))
                return .gap(expected: expected, got: U)
            }
            book.apply(bids: bids, asks: asks)
            book.updateID = u
            lastWasSnapshot = false
            return .applied
        }
        let first = buffer.isEmpty
        if buffer.count >= maxBuffered { buffer.removeFirst(buffer.count - maxBuffered + 1) }
        buffer.append(BufferedDiff(first: U, last: u, prev: pu, bids: bids, asks: asks))
        return .buffered(requestSnapshot: first)
    }

    var lastWasSnapshot = false

    mutating func restart() {
        state = .awaitingSnapshot
        book.clear()
        buffer.removeAll(keepingCapacity: true)
        resyncs += 1
    }

    /// Forces a resync (e.g. after the stream reconnected).
    public mutating func reset() {
        restart()
    }

    /// The REST snapshot (`lastUpdateId`, bids, asks).
    public mutating func onSnapshot(lastUpdateID: Int64, bids: [PriceLevel], asks: [PriceLevel]) -> SnapshotResult {
        if let firstEvent = buffer.first, lastUpdateID < firstEvent.first - (mode == .spot ? 1 : 0) {
            // spot: "if lastUpdateId < U of the first buffered event, fetch again" — lastUpdateId == U-1 still continues.
            return .tooOld
        }
        book.load(bids: bids, asks: asks, updateID: lastUpdateID)
        lastWasSnapshot = true
        state = .synced
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        var replayed = 0
        for d in pending {
            if d.last <= book.updateID { continue }
            let contiguous: Bool = switch mode {
            case .spot: d.first <= book.updateID + 1
            case .futures: lastWasSnapshot ? (d.first <= book.updateID && book.updateID <= d.last) || d.prev == book.updateID : d.prev == book.updateID
            }
            if !contiguous {
                let expected = book.updateID + 1
                gaps += 1
                restart()
                return .gap(expected: expected, got: d.first)
            }
            book.apply(bids: d.bids, asks: d.asks)
            book.updateID = d.last
            lastWasSnapshot = false
            replayed += 1
        }
        return .synced(replayed: replayed)
    }
}
