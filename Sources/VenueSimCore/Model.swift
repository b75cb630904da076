// Order/book/account model of the simulated Binance spot venue.
import Crypto
import Foundation

public enum Side: String, Sendable { case BUY, SELL }
public enum OrderType: String, Sendable, CaseIterable {
    case LIMIT, MARKET, LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT
    var isStop: Bool { self == .STOP_LOSS_LIMIT || self == .TAKE_PROFIT_LIMIT }
}
public enum TimeInForce: String, Sendable { case GTC, IOC, FOK }
public enum OrderStatus: String, Sendable {
    case NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED, EXPIRED_IN_MATCH
    var isOpen: Bool { self == .NEW || self == .PARTIALLY_FILLED }
}
public enum STPMode: String, Sendable, CaseIterable { case NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH }
public enum RespType: String, Sendable { case ACK, RESULT, FULL }

public final class Order: @unchecked Sendable {
    public let id: Int64
    public var clientOrderId: String
    public let symbol: Int
    public let account: Int          // -1: the simulated liquidity provider
    public let side: Side
    public let type: OrderType
    public let tif: TimeInForce?
    public let price: Fixed           // 0 for MARKET
    public var origQty: Fixed
    public let origQuoteQty: Fixed
    public let stopPrice: Fixed
    public var executed: Fixed = .zero
    public var cumQuote: Fixed = .zero
    public var status: OrderStatus = .NEW
    public let time: Int64
    public var updateTime: Int64
    public var workingTime: Int64
    public var isWorking: Bool
    public let stp: STPMode
    public var locked: Fixed = .zero  // funds still locked for this order (quote for buys, base for sells)
    var isQuoteMarket: Bool { type == .MARKET && origQuoteQty.isPositive }
    public var remaining: Fixed { origQty - executed }

    init(id: Int64, clientOrderId: String, symbol: Int, account: Int, side: Side, type: OrderType, tif: TimeInForce?,
         price: Fixed, origQty: Fixed, origQuoteQty: Fixed, stopPrice: Fixed, time: Int64, isWorking: Bool, stp: STPMode) {
        self.id = id; self.clientOrderId = clientOrderId; self.symbol = symbol; self.account = account; self.side = side
        self.type = type; self.tif = tif; self.price = price; self.origQty = origQty; self.origQuoteQty = origQuoteQty
        self.stopPrice = stopPrice; self.time = time; self.updateTime = time; self.isWorking = isWorking
        self.workingTime = isWorking ? time : -1; self.stp = stp
    }
}

public struct Fill: Sendable {
    public var price: Fixed, qty: Fixed, commission: Fixed, commissionAsset: String, tradeId: Int64
}

public struct TradeRecord: Sendable {
    public var symbol: String, id: Int64, orderId: Int64, price: Fixed, qty: Fixed, quoteQty: Fixed
    public var commission: Fixed, commissionAsset: String, time: Int64, isBuyer: Bool, isMaker: Bool
}

struct Level {
    var price: Fixed
    var orders: [Order]
    var total: Fixed
}

struct DiffTracker {
    var bids: Set<Int64> = []
    var asks: Set<Int64> = []
    var firstU: Int64 = 0
    var lastFlushedU: Int64 = 0
}

public struct SymbolSpec: Sendable {
    public var name: String, base: String, quote: String
    public var tick: Fixed, step: Fixed, minPrice: Fixed, maxPrice: Fixed, minQty: Fixed, maxQty: Fixed
    public var minNotional: Fixed, maxNotional: Fixed
    public var defaultSTP: STPMode
    public var startMid: Fixed
}

final class Book {
    let spec: SymbolSpec
    var bids: [Level] = []   // best (highest) first
    var asks: [Level] = []   // best (lowest) first
    var updateId: Int64 = 1
    var diffs = [DiffTracker(), DiffTracker()]  // [0]: @depth@100ms, [1]: @depth (1000ms)
    var lastBook: (Fixed, Fixed, Fixed, Fixed) = (.zero, .zero, .zero, .zero)
    var stops: [Order] = []
    var nextTradeId: Int64 = 1
    var mid: Fixed
    var lastPrice: Fixed = .zero
    var lastQty: Fixed = .zero
    var lastPriceChanged = false
    var open: Fixed, high: Fixed, low: Fixed
    var volume: Fixed = .zero, quoteVolume: Fixed = .zero
    var tradeCount: Int64 = 0
    var firstTradeId: Int64 = -1
    let openTime: Int64
    var mmOrders: [Order] = []

    init(spec: SymbolSpec, now: Int64) {
        self.spec = spec; mid = spec.startMid; open = spec.startMid; high = spec.startMid; low = spec.startMid
        lastPrice = spec.startMid; openTime = now
    }

    /// index of level with `price` on a side, or insertion point
    func find(_ side: Side, _ price: Fixed) -> (Int, Bool) {
        let levels = side == .BUY ? bids : asks
        var lo = 0, hi = levels.count
        while lo < hi {
            let m = (lo + hi) / 2
            let p = levels[m].price
            if p == price { return (m, true) }
            let before = side == .BUY ? p > price : p < price
            if before { lo = m + 1 } else { hi = m }
        }
        return (lo, false)
    }

    func touch(_ side: Side, _ price: Fixed) {
        updateId += 1
        for i in 0..<diffs.count {
            if diffs[i].firstU == 0 { diffs[i].firstU = updateId }
            if side == .BUY { diffs[i].bids.insert(price.raw) } else { diffs[i].asks.insert(price.raw) }
        }
    }

    func insert(_ o: Order) {
        let (i, found) = find(o.side, o.price)
        if o.side == .BUY {
            if found { bids[i].orders.append(o); bids[i].total += o.remaining } else { bids.insert(Level(price: o.price, orders: [o], total: o.remaining), at: i) }
        } else {
            if found { asks[i].orders.append(o); asks[i].total += o.remaining } else { asks.insert(Level(price: o.price, orders: [o], total: o.remaining), at: i) }
        }
        touch(o.side, o.price)
    }

    func remove(_ o: Order) {
        let (i, found) = find(o.side, o.price)
        guard found else { return }
        func rm(_ levels: inout [Level]) {
            guard let k = levels[i].orders.firstIndex(where: { $0 === o }) else { return }
            levels[i].orders.remove(at: k)
            levels[i].total -= o.remaining
            if levels[i].orders.isEmpty { levels.remove(at: i) }
        }
        if o.side == .BUY { rm(&bids) } else { rm(&asks) }
        touch(o.side, o.price)
    }

    func levelQty(_ side: Side, _ raw: Int64) -> Fixed {
        let (i, f) = find(side, Fixed(raw: raw))
        guard f else { return .zero }
        return side == .BUY ? bids[i].total : asks[i].total
    }

    var bestBid: Level? { bids.first }
    var bestAsk: Level? { asks.first }

    /// Reference price for notional checks of MARKET orders.
    var refPrice: Fixed {
        if lastPrice.isPositive { return lastPrice }
        return mid
    }
}

struct Balance { var free: Fixed = .zero; var locked: Fixed = .zero }

final class Account {
    let idx: Int
    let name: String
    let apiKey: String
    let secret: String?
    let edKey: Curve25519.Signing.PublicKey?
    var balances: [String: Balance] = [:]
    var assetOrder: [String] = []
    let makerBps: Int, takerBps: Int
    var trades: [Int: [TradeRecord]] = [:]
    var orders: [Int64: Order] = [:]
    var byClientId: [String: Order] = [:]  // key: "\(symbol)|\(clientOrderId)"
    var openCount = 0
    var updateTime: Int64 = 0
    var duplicateRejects = 0  // -2010 answers: the ledger reports them so a fault run can see resends

    init(idx: Int, cfg: AccountConfig) {
        self.idx = idx; name = cfg.name; apiKey = cfg.apiKey; secret = cfg.secretKey
        edKey = cfg.ed25519PublicKey.flatMap { Signer.ed25519PublicKey($0) }
        makerBps = cfg.makerCommissionBps ?? 10; takerBps = cfg.takerCommissionBps ?? 10
        for (a, v) in cfg.balances.sorted(by: { $0.key < $1.key }) {
            balances[a] = Balance(free: Fixed.parse(v) ?? .zero)
            assetOrder.append(a)
        }
    }
    func bal(_ a: String) -> Balance { balances[a] ?? Balance() }
    func mutate(_ a: String, _ f: (inout Balance) -> Void) {
        if balances[a] == nil { balances[a] = Balance(); assetOrder.append(a) }
        f(&balances[a]!)
    }
}

/// SplitMix64: small, seedable, reproducible.
public struct SimRNG: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    public mutating func int(in r: ClosedRange<Int>) -> Int {
        let span = UInt64(r.upperBound - r.lowerBound + 1)
        return r.lowerBound + Int(next() % span)
    }
}

public func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
