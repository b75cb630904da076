// Simulated Binance USDⓈ-M futures venue: order books (price-time priority, reusing the spot Book), positions
// (one-way and hedge mode), cross and isolated margin, leverage brackets, mark price, funding, liquidation,
// conditional (algo) orders, listenKey user data and diff depth with U/u/pu. One lock guards all state.
import Foundation

public enum PositionSide: String, Sendable, CaseIterable {
    case BOTH, LONG, SHORT
    var index: Int { self == .BOTH ? 0 : self == .LONG ? 1 : 2 }
}

public struct FPosition: Sendable {
    public var amt: Fixed = .zero            // signed (BOTH); LONG ≥ 0, SHORT ≤ 0
    public var entry: Fixed = .zero
    public var isolatedWallet: Fixed = .zero
    public var realized: Fixed = .zero       // accumulated realised PnL ("cr")
    public var updateTime: Int64 = 0
}

struct FMeta {
    var reduceOnly = false
    var positionSide: PositionSide = .BOTH
    var tif = "GTC"
    var origType = "LIMIT"
    var closePosition = false
    var stopPrice: Fixed = .zero
    var workingType = "CONTRACT_PRICE"
    var priceProtect = false
    var stp = "EXPIRE_MAKER"
    var goodTillDate: Int64 = 0
    var realized: Fixed = .zero
    var lastRealized: Fixed = .zero
    var liquidation = false
}

final class AlgoOrder {
    let algoId: Int64
    let clientAlgoId: String
    let account: Int
    let symbol: Int
    let side: Side
    let positionSide: PositionSide
    let type: String                 // STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT, TRAILING_STOP_MARKET
    let tif: String
    let quantity: Fixed
    let price: Fixed
    let triggerPrice: Fixed
    let workingType: String
    let priceProtect: Bool
    let reduceOnly: Bool
    let closePosition: Bool
    let activatePrice: Fixed
    let callbackRate: Fixed
    var activated: Bool
    var extreme: Fixed = .zero      // trailing: best price since activation
    var status = "NEW"
    let createTime: Int64
    var updateTime: Int64
    var triggerTime: Int64 = 0
    var actualOrderId: Int64 = 0
    init(algoId: Int64, clientAlgoId: String, account: Int, symbol: Int, side: Side, positionSide: PositionSide, type: String,
         tif: String, quantity: Fixed, price: Fixed, triggerPrice: Fixed, workingType: String, priceProtect: Bool,
         reduceOnly: Bool, closePosition: Bool, activatePrice: Fixed, callbackRate: Fixed, time: Int64) {
        self.algoId = algoId; self.clientAlgoId = clientAlgoId; self.account = account; self.symbol = symbol; self.side = side
        self.positionSide = positionSide; self.type = type; self.tif = tif; self.quantity = quantity; self.price = price
        self.triggerPrice = triggerPrice; self.workingType = workingType; self.priceProtect = priceProtect
        self.reduceOnly = reduceOnly; self.closePosition = closePosition; self.activatePrice = activatePrice
        self.callbackRate = callbackRate; self.activated = activatePrice.isZero; self.createTime = time; self.updateTime = time
    }
    var isOpen: Bool { status == "NEW" }
}

struct FTrade {
    var id: Int64, orderId: Int64, side: Side, price: Fixed, qty: Fixed, realized: Fixed, commission: Fixed
    var asset: String, time: Int64, positionSide: PositionSide, maker: Bool
}

final class FAccount {
    let idx: Int
    var wallet: [String: Fixed] = [:]     // cross wallet per margin asset
    var assetOrder: [String] = []
    var dual = false
    var leverage: [Int: Int] = [:]
    var isolated: Set<Int> = []
    var positions: [Int: FPosition] = [:] // key: symbol * 3 + positionSide.index
    var orders: [Int64: Order] = [:]
    var byClientId: [String: Order] = [:]
    var algos: [Int64: AlgoOrder] = [:]
    var trades: [Int: [FTrade]] = [:]
    var income: [FIncome] = []           // GET /fapi/v1/income, oldest first
    var listenKey: String? = nil
    var listenKeyExpiry: Int64 = 0
    var lastMarginCall: Int64 = 0
    var updateTime: Int64 = 0
    init(idx: Int) { self.idx = idx }
}

/// One entry of the income history (only FUNDING_FEE is recorded so far).
struct FIncome {
    var symbol: Int
    var type: String
    var income: Fixed                     // signed: > 0 received, < 0 paid
    var asset: String
    var time: Int64
    var tranId: Int64
}

public struct FSymbol: Sendable {
    public var spec: SymbolSpec
    public var marketMaxQty: Fixed
    public var brackets: [LeverageBracket]
    public var liquidationFee: Fixed
}

public struct NewFuturesOrder: Sendable {
    public var symbol: String
    public var side: Side
    public var type: String
    public var positionSide: PositionSide?
    public var tif: String?
    public var quantity: Fixed?
    public var price: Fixed?
    public var reduceOnly: Bool?
    public var newClientOrderId: String?
    public var respType: String = "ACK"
    public var stp: String?
    public var goodTillDate: Int64?
    public init(symbol: String, side: Side, type: String, positionSide: PositionSide? = nil, tif: String? = nil,
                quantity: Fixed? = nil, price: Fixed? = nil, reduceOnly: Bool? = nil, newClientOrderId: String? = nil,
                respType: String = "ACK") {
        self.symbol = symbol; self.side = side; self.type = type; self.positionSide = positionSide; self.tif = tif
        self.quantity = quantity; self.price = price; self.reduceOnly = reduceOnly; self.newClientOrderId = newClientOrderId
        self.respType = respType
    }
}

public struct NewAlgoOrder: Sendable {
    public var symbol: String
    public var side: Side
    public var type: String
    public var positionSide: PositionSide?
    public var tif: String?
    public var quantity: Fixed?
    public var price: Fixed?
    public var triggerPrice: Fixed?
    public var workingType: String?
    public var priceProtect: Bool = false
    public var reduceOnly: Bool?
    public var closePosition: Bool = false
    public var activatePrice: Fixed?
    public var callbackRate: Fixed?
    public var clientAlgoId: String?
    public init(symbol: String, side: Side, type: String) { self.symbol = symbol; self.side = side; self.type = type }
}

/// A read-only view of one position with everything derived from mark price and brackets (tests, positionRisk).
public struct PositionView: Sendable {
    public var symbol: String, positionSide: PositionSide, amt: Fixed, entry: Fixed, mark: Fixed, unrealized: Fixed
    public var notional: Fixed, initialMargin: Fixed, maintMargin: Fixed, isolatedWallet: Fixed, isolated: Bool
    public var leverage: Int, liquidationPrice: Fixed, updateTime: Int64, breakEven: Fixed
}

public final class FuturesEngine: @unchecked Sendable {
    let lock = NSLock()
    public let config: FuturesConfig
    var books: [Book] = []
    public private(set) var symbols: [FSymbol] = []
    var symbolIndex: [String: Int] = [:]
    var accounts: [FAccount] = []
    var meta: [Int64: FMeta] = [:]
    var nextOrderId: Int64 = 1
    var nextAlgoId: Int64 = 1
    var rng: SimRNG
    let liquidity: LiquidityConfig
    public let hub: Hub
    var now: Int64 = 0
    /// Simulated time = wall clock + offset (POST /sim/futures/advance moves it; funding follows it).
    public private(set) var clockOffset: Int64 = 0
    var lastFundingSlot: Int64 = 0
    /// Income transaction ids ("tranId is unique in the same incomeType for a user"; here unique per venue).
    var nextTranId: Int64 = 9_689_322_392
    var lastFundingRate: [Fixed] = []
    let interest: Fixed
    let marginCallRatio: Fixed
    public var depthPaused = false
    public var gapsToInject = 0
    var lastPu: [[Int64]] = []        // per book, per depth tracker: u of the last event sent
    var aggId: [Int64] = []

    public var fundingIntervalMs: Int64 { Int64(config.fundingIntervalHours) * 3_600_000 }

    public init(config: SimConfig, hub: Hub = Hub()) {
        let fc = config.futures ?? FuturesConfig()
        self.config = fc
        self.hub = hub
        rng = SimRNG(seed: config.seed &+ 1)
        liquidity = config.liquidity
        interest = Fixed.parse(fc.interestRate) ?? Fixed(raw: 10_000)
        marginCallRatio = Fixed.parse(fc.marginCallRatio) ?? Fixed(raw: 80_000_000)
        let t = nowMs()
        for (i, s) in fc.symbols.enumerated() {
            let f = { (v: String?, d: String) in Fixed.parse(v ?? d) ?? Fixed.parse(d)! }
            let spec = SymbolSpec(name: s.symbol.uppercased(), base: s.baseAsset, quote: s.quoteAsset,
                                  tick: f(s.tickSize, "0.1"), step: f(s.stepSize, "0.001"),
                                  minPrice: f(s.minPrice, s.tickSize), maxPrice: f(s.maxPrice, "4529764"),
                                  minQty: f(s.minQty, s.stepSize), maxQty: f(s.maxQty, "1000"),
                                  minNotional: f(s.minNotional, "5"), maxNotional: .zero, defaultSTP: .EXPIRE_MAKER,
                                  startMid: f(s.mid, "100"))
            let rows = (s.brackets ?? FuturesSymbolConfig.defaultBrackets).map {
                (floor: f($0.floor, "0"), cap: f($0.cap, "0"), leverage: $0.leverage, mmr: f($0.mmr, "0"))
            }
            symbols.append(FSymbol(spec: spec, marketMaxQty: f(s.marketMaxQty, s.maxQty ?? "1000"),
                                   brackets: FuturesMath.brackets(rows), liquidationFee: f(s.liquidationFee, "0.0125")))
            let b = Book(spec: spec, now: t)
            b.diffs = [DiffTracker(), DiffTracker(), DiffTracker()]   // @depth@100ms, @depth (250ms), @depth@500ms
            books.append(b)
            lastPu.append([0, 0, 0])
            aggId.append(1)
            lastFundingRate.append(.zero)
            symbolIndex[spec.name] = i
        }
        for (i, a) in config.accounts.enumerated() {
            let acc = FAccount(idx: i)
            acc.updateTime = t   // assets with updateTime 0 are "uninitialised" to clients (ccxt skips them)
            let bal = a.futuresBalances ?? ["USDT": a.balances["USDT"] ?? "0"]
            for (k, v) in bal.sorted(by: { $0.key < $1.key }) { acc.wallet[k] = Fixed.parse(v) ?? .zero; acc.assetOrder.append(k) }
            accounts.append(acc)
        }
        lastFundingSlot = t / fundingIntervalMs
        if liquidity.enabled {
            for i in books.indices { lock.lock(); now = t; requoteLocked(i, walk: false); lock.unlock() }
        }
    }

    public func fnow() -> Int64 { nowMs() + clockOffset }
    public func symbol(_ name: String) -> Int? { symbolIndex[name.uppercased()] }
    public var symbolCount: Int { books.count }
    public func withLock<T>(_ f: () throws -> T) rethrows -> T { lock.lock(); defer { lock.unlock() }; return try f() }

    // MARK: prices

    /// Mark price: the fair price the liquidity provider quotes around (index = mark; premium from the book).
    func markLocked(_ sym: Int) -> Fixed { books[sym].mid.floored(to: Fixed(raw: 1)) }
    public func markPrice(_ sym: Int) -> Fixed { withLock { markLocked(sym) } }

    func premiumIndexLocked(_ sym: Int) -> Fixed {
        let b = books[sym]
        let index = markLocked(sym)
        guard let bid = b.bestBid?.price, let ask = b.bestAsk?.price, index.isPositive else { return .zero }
        let impactMid = Fixed(raw: (bid.raw + ask.raw) / 2)
        return (impactMid - index).divided(by: index)
    }

    func fundingRateLocked(_ sym: Int) -> Fixed {
        FuturesMath.fundingRate(premiumIndex: premiumIndexLocked(sym), interestRate: interest)
    }

    public var nextFundingTime: Int64 { (lastFundingSlot + 1) * fundingIntervalMs }

    // MARK: settings

    func lev(_ a: FAccount, _ sym: Int) -> Int { a.leverage[sym] ?? min(config.defaultLeverage, symbols[sym].brackets.first?.initialLeverage ?? 20) }
    func key(_ sym: Int, _ ps: PositionSide) -> Int { sym * 3 + ps.index }
    func pos(_ a: FAccount, _ sym: Int, _ ps: PositionSide) -> FPosition { a.positions[key(sym, ps)] ?? FPosition() }
    func sides(_ a: FAccount) -> [PositionSide] { a.dual ? [.LONG, .SHORT] : [.BOTH] }
    func hasPosition(_ a: FAccount, _ sym: Int?) -> Bool {
        a.positions.contains { (k, p) in !p.amt.isZero && (sym == nil || k / 3 == sym!) }
    }
    func hasOpenOrders(_ a: FAccount, _ sym: Int?) -> Bool {
        a.orders.values.contains { $0.status.isOpen && (sym == nil || $0.symbol == sym!) }
            || a.algos.values.contains { $0.isOpen && (sym == nil || $0.symbol == sym!) }
    }

    public func setLeverage(account: Int, symbol: String, leverage: Int) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        let br = symbols[sym].brackets
        guard leverage >= 1, leverage <= (br.first?.initialLeverage ?? 125) else { throw FErr.invalidLeverage(leverage) }
        let maxN = FuturesMath.maxNotional(leverage: leverage, in: br)
        let mark = markLocked(sym)
        for ps in sides(a) {
            let p = pos(a, sym, ps)
            if p.amt.isZero { continue }
            if FuturesMath.notional(amt: p.amt, mark: mark) > maxN { throw FErr.exceededMaxPosition }
            if a.isolated.contains(sym) {
                let im = FuturesMath.initialMargin(notional: FuturesMath.notional(amt: p.amt, mark: mark), leverage: leverage)
                if p.isolatedWallet + FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: mark) < im { throw FErr.leverageInsufficientMargin }
            }
        }
        let old = a.leverage[sym]
        a.leverage[sym] = leverage
        if !a.isolated.contains(sym) && hasPosition(a, sym) && availableLocked(a, symbols[sym].spec.quote).raw < 0 {
            a.leverage[sym] = old
            throw FErr.leverageInsufficientMargin
        }
        return .obj([("leverage", .i(leverage)), ("maxNotionalValue", .str(trim(maxN))), ("symbol", .str(symbols[sym].spec.name))])
    }

    public func setMarginType(account: Int, symbol: String, type: String) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        guard type == "ISOLATED" || type == "CROSSED" else { throw APIError(-4044, "The margin type is invalid.") }
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        let iso = type == "ISOLATED"
        if a.isolated.contains(sym) == iso { throw FErr.noNeedMarginType }
        if hasPosition(a, sym) { throw APIError(-4048, "Margin type cannot be changed if there exists position.") }
        if hasOpenOrders(a, sym) { throw APIError(-4047, "Margin type cannot be changed if there exists open orders.") }
        if iso { a.isolated.insert(sym) } else { a.isolated.remove(sym) }
        return .obj([("code", .int(200)), ("msg", .str("success"))])
    }

    public func setDual(account: Int, dual: Bool) throws(APIError) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        if a.dual == dual { throw APIError(-4059, "No need to change position side.") }
        if hasPosition(a, nil) { throw APIError(-4068, "Position side cannot be changed if there exists position.") }
        if hasOpenOrders(a, nil) { throw APIError(-4067, "Position side cannot be changed if there exists open orders.") }
        a.dual = dual
        return .obj([("code", .int(200)), ("msg", .str("success"))])
    }

    public func getDual(account: Int) -> J { withLock { .obj([("dualSidePosition", .bool(accounts[account].dual))]) } }

    public func leverageBrackets(symbol: String?) throws(APIError) -> J {
        func one(_ i: Int) -> J {
            .obj([("symbol", .str(symbols[i].spec.name)), ("notionalCoef", .raw("1.0")),
                  ("brackets", .arr(symbols[i].brackets.map { b in .obj([
                      ("bracket", .i(b.bracket)), ("initialLeverage", .i(b.initialLeverage)),
                      ("notionalCap", .raw(trim(b.notionalCap))), ("notionalFloor", .raw(trim(b.notionalFloor))),
                      ("maintMarginRatio", .raw(trim(b.maintMarginRatio))), ("cum", .raw(trim(b.cum))),
                  ]) }))])
        }
        if let s = symbol {
            guard let i = self.symbol(s) else { throw APIError.invalidSymbol }
            return .arr([one(i)])
        }
        return .arr((0..<symbols.count).map(one))
    }

    /// POST /fapi/v1/positionMargin: move margin into (type 1) or out of (type 2) an isolated position.
    public func modifyIsolatedMargin(account: Int, symbol: String, side: PositionSide, amount: Fixed, add: Bool) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        guard a.isolated.contains(sym) else { throw APIError(-4051, "Isolated balance insufficient.") }
        let ps: PositionSide = a.dual ? side : .BOTH
        var p = pos(a, sym, ps)
        if p.amt.isZero { throw APIError(-4050, "Cross balance insufficient.") }
        let asset = symbols[sym].spec.quote
        if add {
            if availableLocked(a, asset) < amount { throw APIError(-4050, "Cross balance insufficient.") }
            a.wallet[asset, default: .zero] -= amount; p.isolatedWallet += amount
        } else {
            let mark = markLocked(sym)
            let im = FuturesMath.initialMargin(notional: FuturesMath.notional(amt: p.amt, mark: mark), leverage: lev(a, sym))
            let upnl = FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: mark)
            if p.isolatedWallet - amount + min(.zero, upnl) < im { throw APIError(-4051, "Isolated balance insufficient.") }
            a.wallet[asset, default: .zero] += amount; p.isolatedWallet -= amount
        }
        p.updateTime = now
        a.positions[key(sym, ps)] = p
        accountUpdate(a, reason: "MARGIN_TRANSFER", syms: [(sym, ps)])
        checkLiquidationsLocked()
        return .obj([("amount", .raw(trim(amount))), ("code", .int(200)), ("msg", .str("Successfully modify position margin.")), ("type", .i(add ? 1 : 2))])
    }

    // MARK: margin

    func crossUnPnlLocked(_ a: FAccount, _ asset: String) -> Fixed {
        var t = Fixed.zero
        for (k, p) in a.positions where !p.amt.isZero {
            let sym = k / 3
            if a.isolated.contains(sym) || symbols[sym].spec.quote != asset { continue }
            t += FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: markLocked(sym))
        }
        return t
    }

    func positionIMLocked(_ a: FAccount, _ asset: String, crossOnly: Bool) -> Fixed {
        var t = Fixed.zero
        for (k, p) in a.positions where !p.amt.isZero {
            let sym = k / 3
            if (crossOnly && a.isolated.contains(sym)) || symbols[sym].spec.quote != asset { continue }
            t += FuturesMath.initialMargin(notional: FuturesMath.notional(amt: p.amt, mark: markLocked(sym)), leverage: lev(a, sym))
        }
        return t
    }

    func maintLocked(_ a: FAccount, _ asset: String, crossOnly: Bool) -> Fixed {
        var t = Fixed.zero
        for (k, p) in a.positions where !p.amt.isZero {
            let sym = k / 3
            if (crossOnly && a.isolated.contains(sym)) || symbols[sym].spec.quote != asset { continue }
            t += FuturesMath.maintenanceMargin(notional: FuturesMath.notional(amt: p.amt, mark: markLocked(sym)), brackets: symbols[sym].brackets)
        }
        return t
    }

    /// Initial margin held by open (non reduce-only) orders of one symbol. One-way: orders first offset the
    /// opposite position; the larger of the buy and sell excess notional is margined. Hedge: opening orders only.
    func openOrderIMLocked(_ a: FAccount, _ sym: Int, extra: (Side, PositionSide, Fixed, Fixed)? = nil) -> Fixed {
        var buyQ = Fixed.zero, buyN = Fixed.zero, sellQ = Fixed.zero, sellN = Fixed.zero
        var longN = Fixed.zero, shortN = Fixed.zero
        let mark = markLocked(sym)
        var items: [(Side, PositionSide, Fixed, Fixed)] = []
        for o in a.orders.values where o.symbol == sym && o.status.isOpen {
            guard let m = meta[o.id], !m.reduceOnly else { continue }
            items.append((o.side, m.positionSide, o.remaining, o.price.isZero ? mark : o.price))
        }
        if let e = extra { items.append(e) }
        for (side, ps, q, px) in items {
            let n = q.times(px)
            switch ps {
            case .BOTH: if side == .BUY { buyQ += q; buyN += n } else { sellQ += q; sellN += n }
            case .LONG: if side == .BUY { longN += n }
            case .SHORT: if side == .SELL { shortN += n }
            }
        }
        let l = lev(a, sym)
        if a.dual { return FuturesMath.initialMargin(notional: longN + shortN, leverage: l) }
        let amt = pos(a, sym, .BOTH).amt
        func excess(_ q: Fixed, _ n: Fixed, _ offset: Fixed) -> Fixed {
            if q.isZero { return .zero }
            let ex = q - offset
            if ex.raw <= 0 { return .zero }
            return n.times(ex.divided(by: q))
        }
        let bx = excess(buyQ, buyN, amt.raw < 0 ? -amt : .zero)
        let sx = excess(sellQ, sellN, amt.raw > 0 ? amt : .zero)
        return FuturesMath.initialMargin(notional: max(bx, sx), leverage: l)
    }

    func totalOpenOrderIMLocked(_ a: FAccount, _ asset: String) -> Fixed {
        var t = Fixed.zero
        for i in symbols.indices where symbols[i].spec.quote == asset { t += openOrderIMLocked(a, i) }
        return t
    }

    func availableLocked(_ a: FAccount, _ asset: String) -> Fixed {
        (a.wallet[asset] ?? .zero) + crossUnPnlLocked(a, asset) - positionIMLocked(a, asset, crossOnly: true) - totalOpenOrderIMLocked(a, asset)
    }

    func viewLocked(_ a: FAccount, _ sym: Int, _ ps: PositionSide) -> PositionView {
        let p = pos(a, sym, ps)
        let mark = markLocked(sym)
        let s = symbols[sym]
        let notional = p.amt.times(mark)
        let l = lev(a, sym)
        let iso = a.isolated.contains(sym)
        return PositionView(symbol: s.spec.name, positionSide: ps, amt: p.amt, entry: p.entry, mark: mark,
                            unrealized: FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: mark), notional: notional,
                            initialMargin: FuturesMath.initialMargin(notional: notional, leverage: l),
                            maintMargin: FuturesMath.maintenanceMargin(notional: notional, brackets: s.brackets),
                            isolatedWallet: p.isolatedWallet, isolated: iso, leverage: l,
                            liquidationPrice: liquidationPriceLocked(a, sym, ps), updateTime: p.updateTime,
                            breakEven: breakEven(p, a))
    }

    func breakEven(_ p: FPosition, _ a: FAccount) -> Fixed {
        // entry adjusted by the taker fee paid to open and to close: EP × (1 ± 2×taker)
        if p.amt.isZero { return .zero }
        let f = Fixed.bps(config.takerCommissionBps * 2)
        return p.amt.raw > 0 ? p.entry + p.entry.times(f) : p.entry - p.entry.times(f)
    }

    public func position(account: Int, symbol: String, side: PositionSide = .BOTH) -> PositionView? {
        guard let sym = self.symbol(symbol) else { return nil }
        return withLock { viewLocked(accounts[account], sym, side) }
    }

    public func wallet(account: Int, asset: String = "USDT") -> Fixed { withLock { accounts[account].wallet[asset] ?? .zero } }
    public func available(account: Int, asset: String = "USDT") -> Fixed { withLock { availableLocked(accounts[account], asset) } }

    /// Liquidation price by Binance's formula (see FuturesMath). Cross: WB = cross wallet, TMM1/UPNL1 from the other
    /// cross symbols; both hedge legs share one price. Isolated: WB = that leg's isolated wallet, TMM1 = UPNL1 = 0.
    func liquidationPriceLocked(_ a: FAccount, _ sym: Int, _ ps: PositionSide) -> Fixed {
        let s = symbols[sym]
        let mark = markLocked(sym)
        let p = pos(a, sym, ps)
        if p.amt.isZero { return .zero }
        if a.isolated.contains(sym) {
            let leg = FuturesMath.Leg(amt: p.amt, entry: p.entry)
            return FuturesMath.liquidationPrice(wb: p.isolatedWallet, tmm: .zero, upnl: .zero,
                                                both: ps == .BOTH ? leg : nil, long: ps == .LONG ? leg : nil,
                                                short: ps == .SHORT ? leg : nil, mark: mark, brackets: s.brackets)
        }
        var tmm = Fixed.zero, upnl = Fixed.zero
        for (k, q) in a.positions where !q.amt.isZero && k / 3 != sym && !a.isolated.contains(k / 3) && symbols[k / 3].spec.quote == s.spec.quote {
            let m = markLocked(k / 3)
            tmm += FuturesMath.maintenanceMargin(notional: FuturesMath.notional(amt: q.amt, mark: m), brackets: symbols[k / 3].brackets)
            upnl += FuturesMath.unrealizedPnl(amt: q.amt, entry: q.entry, mark: m)
        }
        let b = pos(a, sym, .BOTH), l = pos(a, sym, .LONG), sh = pos(a, sym, .SHORT)
        return FuturesMath.liquidationPrice(
            wb: a.wallet[s.spec.quote] ?? .zero, tmm: tmm, upnl: upnl,
            both: b.amt.isZero ? nil : .init(amt: b.amt, entry: b.entry), long: l.amt.isZero ? nil : .init(amt: l.amt, entry: l.entry),
            short: sh.amt.isZero ? nil : .init(amt: sh.amt, entry: sh.entry), mark: mark, brackets: s.brackets)
    }

    // MARK: orders

    static let conditional: Set<String> = ["STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]

    func checkFilters(_ s: FSymbol, qty: Fixed?, price: Fixed?, market: Bool) throws(APIError) {
        if let p = price {
            if p.raw <= 0 { throw APIError(-4001, "Price less than 0.") }
            if p < s.spec.minPrice { throw APIError(-4013, "Price less than min price.") }
            if s.spec.maxPrice.isPositive && p > s.spec.maxPrice { throw APIError(-4002, "Price greater than max price.") }
            if !(p - s.spec.minPrice).isMultiple(of: s.spec.tick) { throw APIError(-4014, "Price not increased by tick size.") }
        }
        if let q = qty {
            if q.raw <= 0 { throw APIError(-4003, "Quantity less than or equal to zero.") }
            if q < s.spec.minQty { throw APIError(-4004, "Quantity less than min quantity.") }
            if q > (market ? s.marketMaxQty : s.spec.maxQty) { throw APIError(-4005, "Quantity greater than max quantity.") }
            if !(q - s.spec.minQty).isMultiple(of: s.spec.step) { throw APIError(-4023, "Qty not increased by step size.") }
        }
    }

    /// POST /fapi/v1/order.
    public func place(account: Int, _ r: NewFuturesOrder, test: Bool = false) throws(APIError) -> J {
        guard let sym = symbol(r.symbol) else { throw APIError.invalidSymbol }
        if FuturesEngine.conditional.contains(r.type) { throw FErr.useAlgo }
        guard r.type == "LIMIT" || r.type == "MARKET" else { throw APIError.invalidType }
        let s = symbols[sym]
        switch r.type {
        case "LIMIT":
            guard r.tif != nil else { throw APIError.mandatory("timeInForce") }
            guard r.quantity != nil else { throw APIError.mandatory("quantity") }
            guard r.price != nil else { throw APIError.mandatory("price") }
        default:
            guard r.quantity != nil else { throw APIError.mandatory("quantity") }
            if r.price != nil { throw APIError.notRequired("price") }
        }
        let tif = r.tif ?? "GTC"
        guard ["GTC", "IOC", "FOK", "GTX", "GTD"].contains(tif) else { throw APIError.invalidTIF }
        if tif == "GTD" {
            guard let g = r.goodTillDate else { throw APIError.mandatory("goodTillDate") }
            if g < fnow() + 600_000 { throw APIError(-4415, "goodTillDate must be greater than current time plus 600 seconds.") }
        }
        if let c = r.newClientOrderId, !Engine.validClientId(c) { throw APIError.illegal("newClientOrderId", "^[\\.A-Z\\:/a-z0-9_-]{1,36}$") }
        try checkFilters(s, qty: r.quantity, price: r.price, market: r.type == "MARKET")

        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        // position side (one-way: BOTH only; hedge: LONG/SHORT required, reduceOnly not accepted)
        let ps: PositionSide
        if a.dual {
            guard let p = r.positionSide, p != .BOTH else { throw FErr.positionSideMismatch }
            if r.reduceOnly != nil { throw APIError.notRequired("reduceOnly") }
            ps = p
        } else {
            if let p = r.positionSide, p != .BOTH { throw FErr.positionSideMismatch }
            ps = .BOTH
        }
        let qty = r.quantity!
        let closing = a.dual ? ((ps == .LONG && r.side == .SELL) || (ps == .SHORT && r.side == .BUY)) : (r.reduceOnly ?? false)
        if closing {
            let p = pos(a, sym, ps)
            let reduces = a.dual ? FuturesMath.abs(p.amt) >= qty : (!p.amt.isZero && (p.amt.raw > 0) != (r.side == .BUY))
            if !reduces { throw FErr.reduceOnlyReject }
        }
        let mark = markLocked(sym)
        let refPrice = r.price ?? mark
        // PERCENT_PRICE (multiplierUp 1.05 / multiplierDown 0.95 of the mark price)
        if let px = r.price {
            let cap = mark + mark.times(Fixed(raw: 5_000_000)), floor = mark - mark.times(Fixed(raw: 5_000_000))
            if r.side == .BUY && px > cap { throw APIError(-4016, "Limit price can't be higher than \(trim(cap.floored(to: s.spec.tick))).") }
            if r.side == .SELL && px < floor { throw APIError(-4024, "Limit price can't be lower than \(trim(floor.floored(to: s.spec.tick))).") }
        }
        if !closing && qty.times(refPrice) < s.spec.minNotional {
            throw APIError(-4164, "Order's notional must be no smaller than \(trim(s.spec.minNotional)) (unless you choose reduce only).")
        }
        if let c = r.newClientOrderId, let ex = a.byClientId["\(sym)|\(c)"], ex.status.isOpen { throw APIError(-4116, "ClientOrderId is duplicated.") }
        let book = books[sym]
        if tif == "GTX", r.type == "LIMIT", crosses(book, r.side, r.price!) { throw FErr.gtxRejected }
        if tif == "FOK", !fokFillable(book, r.side, r.price ?? .zero, qty, market: r.type == "MARKET") { throw FErr.fokRejected }
        if !closing {
            let before = openOrderIMLocked(a, sym)
            let after = openOrderIMLocked(a, sym, extra: (r.side, ps, qty, refPrice))
            if after - before > availableLocked(a, s.spec.quote) { throw FErr.marginInsufficient }
        }
        if test { return .obj([]) }
        let o = newOrderLocked(account: account, sym: sym, side: r.side, type: r.type == "LIMIT" ? .LIMIT : .MARKET, tif: tif,
                               price: r.price ?? .zero, qty: qty, clientId: r.newClientOrderId,
                               meta: FMeta(reduceOnly: closing && !a.dual, positionSide: ps, tif: tif, origType: r.type,
                                           stp: r.stp ?? "EXPIRE_MAKER", goodTillDate: r.goodTillDate ?? 0))
        let ack = orderObject(o, query: false)
        runLocked(o)
        afterChangeLocked(sym)
        return r.respType == "RESULT" ? orderObject(o, query: false) : ack
    }

    func newOrderLocked(account: Int, sym: Int, side: Side, type: OrderType, tif: String, price: Fixed, qty: Fixed,
                        clientId: String?, meta m: FMeta) -> Order {
        let a = accounts[account]
        let o = Order(id: nextOrderId, clientOrderId: clientId ?? nextClientId(), symbol: sym, account: account, side: side,
                      type: type, tif: tif == "IOC" ? .IOC : tif == "FOK" ? .FOK : .GTC, price: price, origQty: qty,
                      origQuoteQty: .zero, stopPrice: m.stopPrice, time: now, isWorking: true, stp: STPMode(rawValue: m.stp) ?? .NONE)
        nextOrderId += 1
        meta[o.id] = m
        a.orders[o.id] = o
        a.byClientId["\(sym)|\(o.clientOrderId)"] = o
        orderUpdate(o, x: "NEW")
        return o
    }

    func nextClientId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var s = [UInt8]()
        var x = rng.next()
        for i in 0..<22 { if i == 11 { x = rng.next() }; s.append(alphabet[Int(x % 62)]); x /= 62 }
        return String(decoding: s, as: UTF8.self)
    }

    func crosses(_ b: Book, _ side: Side, _ price: Fixed) -> Bool {
        if side == .BUY, let a = b.bestAsk { return a.price <= price }
        if side == .SELL, let bb = b.bestBid { return bb.price >= price }
        return false
    }

    func fokFillable(_ b: Book, _ side: Side, _ price: Fixed, _ qty: Fixed, market: Bool) -> Bool {
        var avail = Fixed.zero
        for l in side == .BUY ? b.asks : b.bids {
            if !market && (side == .BUY ? l.price > price : l.price < price) { break }
            avail += l.total
            if avail >= qty { return true }
        }
        return false
    }

    /// How much of `o` may still fill: reduce-only and hedge closing orders never exceed the position.
    func fillableLocked(_ o: Order) -> Fixed {
        guard o.account >= 0, let m = meta[o.id] else { return o.remaining }
        let a = accounts[o.account]
        let closing = m.reduceOnly || (m.positionSide == .LONG && o.side == .SELL) || (m.positionSide == .SHORT && o.side == .BUY)
        if !closing { return o.remaining }
        let p = pos(a, o.symbol, m.positionSide)
        if p.amt.isZero || (m.positionSide == .BOTH && (p.amt.raw > 0) == (o.side == .BUY)) { return .zero }
        return min(o.remaining, FuturesMath.abs(p.amt))
    }

    /// Matches a new taker, then rests or expires it.
    func runLocked(_ t: Order) {
        let book = books[t.symbol]
        let tif = meta[t.id]?.tif ?? "GTC"
        while t.remaining.isPositive {
            let cap = fillableLocked(t)
            if cap.isZero { break }
            guard let level = t.side == .BUY ? book.asks.first : book.bids.first else { break }
            if t.type != .MARKET && (t.side == .BUY ? level.price > t.price : level.price < t.price) { break }
            let m = level.orders[0]
            if m.account == t.account && t.account >= 0 && t.stp != .NONE {
                switch t.stp {
                case .EXPIRE_TAKER: finishLocked(t, .EXPIRED_IN_MATCH, x: "EXPIRED"); return
                case .EXPIRE_BOTH:
                    book.remove(m); finishLocked(m, .EXPIRED_IN_MATCH, x: "EXPIRED"); finishLocked(t, .EXPIRED_IN_MATCH, x: "EXPIRED"); return
                default: book.remove(m); finishLocked(m, .EXPIRED_IN_MATCH, x: "EXPIRED"); continue
                }
            }
            var q = min(cap, m.remaining)
            let mcap = fillableLocked(m)
            if mcap.isZero { book.remove(m); finishLocked(m, .EXPIRED, x: "EXPIRED"); continue }
            q = min(q, mcap)
            tradeLocked(taker: t, maker: m, price: level.price, qty: q, book: book)
        }
        if t.status == .FILLED { return }
        if t.type == .MARKET || tif == "IOC" || tif == "FOK" || fillableLocked(t).isZero {
            finishLocked(t, .EXPIRED, x: "EXPIRED")
        } else {
            book.insert(t)
        }
    }

    func tradeLocked(taker t: Order, maker m: Order, price: Fixed, qty q: Fixed, book: Book) {
        let quote = price.times(q)
        let tid = book.nextTradeId
        book.nextTradeId += 1
        if m.side == .BUY { book.bids[0].total -= q } else { book.asks[0].total -= q }
        for o in [m, t] {
            o.executed += q; o.cumQuote += quote; o.updateTime = now
            o.status = o.remaining.isZero ? .FILLED : .PARTIALLY_FILLED
        }
        if m.remaining.isZero {
            if m.side == .BUY { book.bids[0].orders.removeFirst(); if book.bids[0].orders.isEmpty { book.bids.removeFirst() } }
            else { book.asks[0].orders.removeFirst(); if book.asks[0].orders.isEmpty { book.asks.removeFirst() } }
        }
        book.touch(m.side, price)
        book.lastPrice = price; book.lastQty = q
        book.volume += q; book.quoteVolume += quote; book.tradeCount += 1
        book.lastPriceChanged = true
        for (o, isMaker) in [(m, true), (t, false)] where o.account >= 0 {
            settleLocked(o, price: price, qty: q, maker: isMaker, tradeId: tid)
            if o === m && fillableLocked(m).isZero && m.status.isOpen { book.remove(m); finishLocked(m, .EXPIRED, x: "EXPIRED") }
        }
        if m.account < 0 && !m.status.isOpen { book.mmOrders.removeAll { $0 === m } }
        let name = book.spec.name.lowercased() + "@aggTrade"
        if hub.wantsStream(name) {
            let id = aggId[t.symbol]; aggId[t.symbol] += 1
            hub.publish(stream: name, payload: J.obj([
                ("e", .str("aggTrade")), ("E", .int(now)), ("s", .str(book.spec.name)), ("a", .int(id)), ("p", .s(price)),
                ("q", .s(q)), ("nq", .s(q)), ("f", .int(tid)), ("l", .int(tid)), ("T", .int(now)), ("m", .bool(m.side == .BUY)),
            ]).text)
        }
    }

    /// Position, wallet and fee bookkeeping for one fill of an account's order.
    func settleLocked(_ o: Order, price: Fixed, qty q: Fixed, maker: Bool, tradeId: Int64) {
        let a = accounts[o.account]
        var m = meta[o.id] ?? FMeta()
        let sym = o.symbol
        let s = symbols[sym]
        let asset = s.spec.quote
        let iso = a.isolated.contains(sym)
        let l = lev(a, sym)
        var p = pos(a, sym, m.positionSide)
        let signed = o.side == .BUY ? q : -q
        var realized = Fixed.zero
        var w = a.wallet[asset] ?? .zero
        if p.amt.isZero || (p.amt.raw > 0) == (signed.raw > 0) {
            p.entry = FuturesMath.averageEntry(amt: p.amt, entry: p.entry, qty: q, price: price)
            p.amt += signed
            if iso { let im = FuturesMath.initialMargin(notional: q.times(price), leverage: l); w -= im; p.isolatedWallet += im }
        } else {
            let size = FuturesMath.abs(p.amt)
            let closeQ = min(q, size)
            realized = p.amt.raw > 0 ? closeQ.times(price - p.entry) : closeQ.times(p.entry - price)
            if iso {
                let release = closeQ == size ? p.isolatedWallet : p.isolatedWallet.times(closeQ.divided(by: size))
                p.isolatedWallet -= release; w += release
            }
            p.amt = p.amt.raw > 0 ? p.amt - closeQ : p.amt + closeQ
            if p.amt.isZero { p.entry = .zero }
            let rest = q - closeQ
            if rest.isPositive {
                p.amt = signed.raw > 0 ? rest : -rest
                p.entry = price
                if iso { let im = FuturesMath.initialMargin(notional: rest.times(price), leverage: l); w -= im; p.isolatedWallet += im }
            }
        }
        let rate = Fixed.bps(maker ? config.makerCommissionBps : config.takerCommissionBps)
        let commission = m.liquidation ? .zero : q.times(price).times(rate)
        w += realized - commission
        a.wallet[asset] = w
        p.realized += realized
        p.updateTime = now
        a.positions[key(sym, m.positionSide)] = p
        a.updateTime = now
        m.realized += realized
        m.lastRealized = realized
        meta[o.id] = m
        a.trades[sym, default: []].append(FTrade(id: tradeId, orderId: o.id, side: o.side, price: price, qty: q, realized: realized,
                                                 commission: commission, asset: asset, time: now, positionSide: m.positionSide, maker: maker))
        orderUpdate(o, x: "TRADE", lastQty: q, lastPrice: price, commission: commission, tradeId: tradeId, maker: maker)
        accountUpdate(a, reason: "ORDER", syms: [(sym, m.positionSide)])
    }

    func finishLocked(_ o: Order, _ status: OrderStatus, x: String) {
        o.status = status
        o.updateTime = now
        if o.account >= 0 { orderUpdate(o, x: x) }
    }

    public func cancel(account: Int, symbol: String, orderId: Int64?, origClientOrderId: String?) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        if orderId == nil && origClientOrderId == nil { throw APIError.mandatory("orderId") }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        let o: Order? = orderId.map { a.orders[$0] } ?? origClientOrderId.flatMap { a.byClientId["\(sym)|\($0)"] }
        guard let o, o.symbol == sym else { throw APIError.unknownOrderCancel }
        guard o.status.isOpen else { throw APIError.unknownOrderCancel }
        books[sym].remove(o)
        finishLocked(o, .CANCELED, x: "CANCELED")
        afterChangeLocked(sym)
        return orderObject(o, query: false)
    }

    /// PUT /fapi/v1/order: new price and quantity for an open LIMIT order (it loses queue priority). A partially
    /// filled order amended to ≤ its executed quantity, or a GTX order whose new price would take, is canceled.
    public func modify(account: Int, symbol: String, orderId: Int64?, origClientOrderId: String?, side: Side,
                       quantity: Fixed, price: Fixed) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        if orderId == nil && origClientOrderId == nil { throw APIError.mandatory("orderId") }
        let s = symbols[sym]
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        let found: Order? = orderId.map { a.orders[$0] } ?? origClientOrderId.flatMap { a.byClientId["\(sym)|\($0)"] }
        guard let o = found, o.symbol == sym, o.status.isOpen, o.type == .LIMIT, var m = meta[o.id] else { throw APIError.orderDoesNotExist }
        guard side == o.side else { throw APIError.invalidSide }
        if quantity == o.origQty && price == o.price { throw APIError(-5027, "No need to modify the order.") }
        try checkFilters(s, qty: quantity, price: price, market: false)
        let mark = markLocked(sym)
        let cap = mark + mark.times(Fixed(raw: 5_000_000)), floor = mark - mark.times(Fixed(raw: 5_000_000))
        if side == .BUY && price > cap { throw APIError(-4016, "Limit price can't be higher than \(trim(cap.floored(to: s.spec.tick))).") }
        if side == .SELL && price < floor { throw APIError(-4024, "Limit price can't be lower than \(trim(floor.floored(to: s.spec.tick))).") }
        let book = books[sym]
        if quantity <= o.executed || (m.tif == "GTX" && crosses(book, side, price)) {
            book.remove(o)
            finishLocked(o, .CANCELED, x: "CANCELED")
            afterChangeLocked(sym)
            return orderObject(o, query: false)
        }
        if !m.reduceOnly {
            let before = openOrderIMLocked(a, sym)
            o.status = .CANCELED
            let after = openOrderIMLocked(a, sym, extra: (side, m.positionSide, quantity - o.executed, price))
            o.status = o.executed.isPositive ? .PARTIALLY_FILLED : .NEW
            if after - before > availableLocked(a, s.spec.quote) { throw FErr.marginInsufficient }
        }
        book.remove(o)
        let n = Order(id: o.id, clientOrderId: o.clientOrderId, symbol: sym, account: account, side: side, type: .LIMIT, tif: o.tif,
                      price: price, origQty: quantity, origQuoteQty: .zero, stopPrice: o.stopPrice, time: o.time, isWorking: true, stp: o.stp)
        n.executed = o.executed; n.cumQuote = o.cumQuote; n.status = o.status; n.updateTime = now
        o.status = .CANCELED   // the replaced object is gone from every index
        a.orders[n.id] = n
        a.byClientId["\(sym)|\(n.clientOrderId)"] = n
        m.lastRealized = .zero
        meta[n.id] = m
        orderUpdate(n, x: "AMENDMENT")
        runLocked(n)
        afterChangeLocked(sym)
        return orderObject(n, query: false)
    }

    public func cancelAll(account: Int, symbol: String) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        for o in accounts[account].orders.values.filter({ $0.symbol == sym && $0.status.isOpen }).sorted(by: { $0.id < $1.id }) {
            books[sym].remove(o); finishLocked(o, .CANCELED, x: "CANCELED")
        }
        afterChangeLocked(sym)
        return .obj([("code", .int(200)), ("msg", .str("The operation of cancel all open order is done."))])
    }

    public func query(account: Int, symbol: String, orderId: Int64?, origClientOrderId: String?, openOnly: Bool = false) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        if orderId == nil && origClientOrderId == nil { throw APIError.mandatory("orderId") }
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        let o: Order? = orderId.map { a.orders[$0] } ?? origClientOrderId.flatMap { a.byClientId["\(sym)|\($0)"] }
        guard let o, o.symbol == sym else { throw APIError.orderDoesNotExist }
        if openOnly && !o.status.isOpen { throw APIError(-2013, "Order does not exist.") }
        return orderObject(o, query: true)
    }

    public func openOrders(account: Int, symbol: String?) throws(APIError) -> J {
        var sym: Int? = nil
        if let s = symbol { guard let i = self.symbol(s) else { throw APIError.invalidSymbol }; sym = i }
        lock.lock(); defer { lock.unlock() }
        return .arr(accounts[account].orders.values.filter { $0.status.isOpen && (sym == nil || $0.symbol == sym) }
            .sorted { $0.id < $1.id }.map { orderObject($0, query: true) })
    }

    public func allOrders(account: Int, symbol: String, limit: Int) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        return .arr(accounts[account].orders.values.filter { $0.symbol == sym }.sorted { $0.id < $1.id }.suffix(limit).map { orderObject($0, query: true) })
    }

    /// GET /fapi/v1/userTrades as documented: `fromId` cannot be sent with `startTime`/`endTime`; a window longer
    /// than 7 days is refused; without any of them, the last 7 days. From `fromId` or `startTime` it reads forward
    /// (the oldest first), otherwise the most recent `limit`.
    public func userTrades(account: Int, symbol: String, orderId: Int64?, fromId: Int64? = nil, startTime: Int64? = nil,
                           endTime: Int64? = nil, limit: Int) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        if fromId != nil && (startTime != nil || endTime != nil) { throw APIError.comboInvalid }
        let week: Int64 = 7 * 86_400_000
        if let s = startTime, let e = endTime, e - s > week { throw APIError.lookupTooBig }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        var list = accounts[account].trades[sym] ?? []
        if let oid = orderId { list = list.filter { $0.orderId == oid } }
        if let f = fromId { list = list.filter { $0.id >= f } }
        let (from, to): (Int64, Int64) = switch (startTime, endTime) {
        case (nil, nil): fromId == nil ? (now - week, .max) : (.min, .max)
        case (let s?, nil): (s, s + week)
        case (nil, let e?): (e - week, e)
        case (let s?, let e?): (s, e)
        }
        list = list.filter { $0.time >= from && $0.time <= to }
        let page = fromId != nil || startTime != nil ? Array(list.prefix(limit)) : Array(list.suffix(limit))
        let name = symbols[sym].spec.name
        return .arr(page.map { t in .obj([
            ("buyer", .bool(t.side == .BUY)), ("commission", .s(t.commission)), ("commissionAsset", .str(t.asset)),
            ("id", .int(t.id)), ("maker", .bool(t.maker)), ("orderId", .int(t.orderId)), ("price", .s(t.price)),
            ("qty", .s(t.qty)), ("quoteQty", .s(t.price.times(t.qty))), ("realizedPnl", .s(t.realized)), ("side", .str(t.side.rawValue)),
            ("positionSide", .str(t.positionSide.rawValue)), ("symbol", .str(name)), ("time", .int(t.time)),
        ]) })
    }

    /// GET /fapi/v1/income: startTime/endTime inclusive; without either, the last 7 days; more than `limit`
    /// entries in the window → the first `limit` from startTime (Binance's documented behaviour).
    public func income(account: Int, symbol: String?, incomeType: String?, startTime: Int64?, endTime: Int64?, limit: Int) throws(APIError) -> J {
        let sym: Int?
        if let symbol { guard let s = self.symbol(symbol) else { throw APIError.invalidSymbol }; sym = s } else { sym = nil }
        lock.lock(); defer { lock.unlock() }
        let from = startTime ?? (endTime == nil ? now - 7 * 86_400_000 : Int64.min)
        let to = endTime ?? Int64.max
        let list = accounts[account].income.filter { e in
            (sym == nil || e.symbol == sym) && (incomeType == nil || e.type == incomeType) && e.time >= from && e.time <= to
        }
        let page = startTime == nil && endTime == nil ? Array(list.suffix(limit)) : Array(list.prefix(limit))
        return .arr(page.map { e in .obj([
            ("symbol", .str(symbols[e.symbol].spec.name)), ("incomeType", .str(e.type)), ("income", .s(e.income)), ("asset", .str(e.asset)),
            ("info", .str(e.type)), ("time", .int(e.time)), ("tranId", .int(e.tranId)), ("tradeId", .str("")),
        ]) })
    }

    // MARK: algo (conditional) orders

    public func placeAlgo(account: Int, _ r: NewAlgoOrder) throws(APIError) -> J {
        guard let sym = symbol(r.symbol) else { throw APIError.invalidSymbol }
        guard FuturesEngine.conditional.contains(r.type) else { throw APIError.invalidType }
        let s = symbols[sym]
        let isLimit = r.type == "STOP" || r.type == "TAKE_PROFIT"
        let trailing = r.type == "TRAILING_STOP_MARKET"
        if r.closePosition {
            if r.quantity != nil { throw APIError.notRequired("quantity") }
            if r.reduceOnly != nil { throw APIError.notRequired("reduceOnly") }
            if isLimit || trailing { throw APIError(-4136, "Target strategy invalid for orderType \(r.type),closePosition true") }
        } else {
            guard r.quantity != nil else { throw APIError.mandatory("quantity") }
        }
        if isLimit { guard r.price != nil else { throw APIError.mandatory("price") } }
        if trailing {
            guard let cb = r.callbackRate else { throw APIError.mandatory("callbackRate") }
            if cb < Fixed(raw: 10_000_000) || cb > Fixed(10) { throw APIError(-2007, "Invalid callBack rate.") }
        } else {
            guard r.triggerPrice != nil else { throw APIError.mandatory("triggerPrice") }
        }
        let wt = r.workingType ?? "CONTRACT_PRICE"
        guard wt == "CONTRACT_PRICE" || wt == "MARK_PRICE" else { throw APIError.invalidParam("workingType") }
        try checkFilters(s, qty: r.quantity, price: r.price ?? r.triggerPrice, market: !isLimit)
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        let ps: PositionSide
        if a.dual {
            guard let p = r.positionSide, p != .BOTH else { throw FErr.positionSideMismatch }
            if r.reduceOnly != nil { throw APIError.notRequired("reduceOnly") }
            ps = p
        } else {
            if let p = r.positionSide, p != .BOTH { throw FErr.positionSideMismatch }
            ps = .BOTH
        }
        if let t = r.triggerPrice, !trailing, triggered(r.type, r.side, t, price: refPrice(sym, wt)) { throw FErr.wouldTrigger }
        if let c = r.clientAlgoId, a.algos.values.contains(where: { $0.clientAlgoId == c && $0.isOpen }) { throw APIError(-4116, "ClientOrderId is duplicated.") }
        let algo = AlgoOrder(algoId: nextAlgoId, clientAlgoId: r.clientAlgoId ?? nextClientId(), account: account, symbol: sym, side: r.side,
                             positionSide: ps, type: r.type, tif: r.tif ?? "GTC", quantity: r.quantity ?? .zero, price: r.price ?? .zero,
                             triggerPrice: r.triggerPrice ?? .zero, workingType: wt, priceProtect: r.priceProtect,
                             reduceOnly: (r.reduceOnly ?? false) || r.closePosition, closePosition: r.closePosition,
                             activatePrice: r.activatePrice ?? .zero, callbackRate: r.callbackRate ?? .zero, time: now)
        if trailing && algo.activated { algo.extreme = refPrice(sym, wt) }
        nextAlgoId += 1
        a.algos[algo.algoId] = algo
        algoUpdate(algo)
        return algoObject(algo)
    }

    func refPrice(_ sym: Int, _ workingType: String) -> Fixed {
        workingType == "MARK_PRICE" ? markLocked(sym) : (books[sym].lastPrice.isPositive ? books[sym].lastPrice : markLocked(sym))
    }

    func triggered(_ type: String, _ side: Side, _ trigger: Fixed, price: Fixed) -> Bool {
        switch (type, side) {
        case ("STOP_MARKET", .BUY), ("STOP", .BUY), ("TAKE_PROFIT_MARKET", .SELL), ("TAKE_PROFIT", .SELL): return price >= trigger
        default: return price <= trigger
        }
    }

    func checkAlgosLocked(_ sym: Int) {
        for a in accounts {
            for algo in a.algos.values.sorted(by: { $0.algoId < $1.algoId }) where algo.isOpen && algo.symbol == sym {
                let px = refPrice(sym, algo.workingType)
                var fire = false
                if algo.type == "TRAILING_STOP_MARKET" {
                    if !algo.activated {
                        if algo.side == .SELL ? px >= algo.activatePrice : px <= algo.activatePrice { algo.activated = true; algo.extreme = px }
                        continue
                    }
                    if algo.side == .SELL {
                        algo.extreme = max(algo.extreme, px)
                        fire = px <= algo.extreme - algo.extreme.times(algo.callbackRate.divided(by: Fixed(100)))
                    } else {
                        algo.extreme = algo.extreme.isZero ? px : min(algo.extreme, px)
                        fire = px >= algo.extreme + algo.extreme.times(algo.callbackRate.divided(by: Fixed(100)))
                    }
                } else {
                    fire = triggered(algo.type, algo.side, algo.triggerPrice, price: px)
                }
                if fire { fireAlgoLocked(a, algo) }
            }
        }
    }

    func fireAlgoLocked(_ a: FAccount, _ algo: AlgoOrder) {
        algo.status = "TRIGGERED"; algo.triggerTime = now; algo.updateTime = now
        var qty = algo.quantity
        if algo.closePosition {
            qty = FuturesMath.abs(pos(a, algo.symbol, algo.positionSide).amt)
        }
        let isLimit = algo.type == "STOP" || algo.type == "TAKE_PROFIT"
        if qty.isZero || fillableCheck(a, algo) == false {
            algo.status = "EXPIRED"; algoUpdate(algo); return
        }
        let m = FMeta(reduceOnly: algo.reduceOnly && !a.dual, positionSide: algo.positionSide, tif: isLimit ? algo.tif : "GTC",
                      origType: algo.type, closePosition: algo.closePosition, stopPrice: algo.triggerPrice, workingType: algo.workingType,
                      priceProtect: algo.priceProtect)
        // The triggered order carries the algo order's client id, so clients follow it by the id they chose.
        let o = newOrderLocked(account: a.idx, sym: algo.symbol, side: algo.side, type: isLimit ? .LIMIT : .MARKET, tif: m.tif,
                               price: isLimit ? algo.price : .zero, qty: qty, clientId: algo.clientAlgoId, meta: m)
        algo.actualOrderId = o.id
        algoUpdate(algo)
        runLocked(o)
        if !o.status.isOpen { algo.status = "FINISHED"; algo.updateTime = now; algoUpdate(algo) }
    }

    func fillableCheck(_ a: FAccount, _ algo: AlgoOrder) -> Bool {
        if !algo.reduceOnly && !(algo.positionSide == .LONG && algo.side == .SELL) && !(algo.positionSide == .SHORT && algo.side == .BUY) { return true }
        let p = pos(a, algo.symbol, algo.positionSide)
        if p.amt.isZero { return false }
        return algo.positionSide != .BOTH || (p.amt.raw > 0) != (algo.side == .BUY)
    }

    public func cancelAlgo(account: Int, algoId: Int64?, clientAlgoId: String?) throws(APIError) -> J {
        if algoId == nil && clientAlgoId == nil { throw APIError.mandatory("algoId") }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        let algo = algoId.flatMap { a.algos[$0] } ?? a.algos.values.first { $0.clientAlgoId == clientAlgoId }
        guard let algo, algo.isOpen else { throw APIError.unknownOrderCancel }
        algo.status = "CANCELED"; algo.updateTime = now
        algoUpdate(algo)
        return .obj([("algoId", .int(algo.algoId)), ("clientAlgoId", .str(algo.clientAlgoId)), ("code", .str("200")), ("msg", .str("success"))])
    }

    public func cancelAllAlgos(account: Int, symbol: String) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        for algo in accounts[account].algos.values where algo.isOpen && algo.symbol == sym {
            algo.status = "CANCELED"; algo.updateTime = now; algoUpdate(algo)
        }
        return .obj([("code", .int(200)), ("msg", .str("The operation of cancel all open order is done."))])
    }

    public func queryAlgo(account: Int, algoId: Int64?, clientAlgoId: String?) throws(APIError) -> J {
        if algoId == nil && clientAlgoId == nil { throw APIError.mandatory("algoId") }
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        guard let algo = algoId.flatMap({ a.algos[$0] }) ?? a.algos.values.first(where: { $0.clientAlgoId == clientAlgoId }) else {
            throw APIError.orderDoesNotExist
        }
        return algoObject(algo)
    }

    public func algoOrders(account: Int, symbol: String?, openOnly: Bool) throws(APIError) -> J {
        var sym: Int? = nil
        if let s = symbol { guard let i = self.symbol(s) else { throw APIError.invalidSymbol }; sym = i }
        lock.lock(); defer { lock.unlock() }
        return .arr(accounts[account].algos.values.filter { (!openOnly || $0.isOpen) && (sym == nil || $0.symbol == sym) }
            .sorted { $0.algoId < $1.algoId }.map(algoObject))
    }

    func algoObject(_ g: AlgoOrder) -> J {
        var executed = Fixed.zero, avg = Fixed.zero
        if g.actualOrderId > 0, let o = accounts[g.account].orders[g.actualOrderId] {
            executed = o.executed; avg = o.executed.isPositive ? o.cumQuote.divided(by: o.executed) : .zero
        }
        return .obj([
            ("algoId", .int(g.algoId)), ("clientAlgoId", .str(g.clientAlgoId)), ("algoType", .str("CONDITIONAL")),
            ("orderType", .str(g.type)), ("symbol", .str(symbols[g.symbol].spec.name)), ("side", .str(g.side.rawValue)),
            ("positionSide", .str(g.positionSide.rawValue)), ("timeInForce", .str(g.tif)), ("quantity", .s(g.quantity)),
            ("algoStatus", .str(g.status)), ("actualOrderId", .str(g.actualOrderId > 0 ? String(g.actualOrderId) : "")),
            ("actualPrice", .s(avg)), ("triggerPrice", .s(g.triggerPrice)), ("price", .s(g.price)),
            ("icebergQuantity", .null), ("tpTriggerPrice", .s(.zero)), ("tpPrice", .s(.zero)), ("slTriggerPrice", .s(.zero)),
            ("slPrice", .s(.zero)), ("tpOrderType", .str("")), ("selfTradePreventionMode", .str("EXPIRE_MAKER")),
            ("workingType", .str(g.workingType)), ("priceMatch", .str("NONE")), ("closePosition", .bool(g.closePosition)),
            ("priceProtect", .bool(g.priceProtect)), ("reduceOnly", .bool(g.reduceOnly)),
            ("activatePrice", .s(g.activatePrice)), ("callbackRate", .s(g.callbackRate)),
            ("executedQty", .s(executed)), ("avgPrice", .s(avg)),
            ("createTime", .int(g.createTime)), ("updateTime", .int(g.updateTime)), ("triggerTime", .int(g.triggerTime)),
            ("goodTillDate", .int(0)),
        ])
    }

    // MARK: market data

    public func depth(_ sym: Int, limit: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let b = books[sym]
        return .obj([
            ("lastUpdateId", .int(b.updateId)), ("E", .int(fnow())), ("T", .int(now)),
            ("bids", .arr(b.bids.prefix(limit).map { .arr([.s($0.price), .s($0.total)]) })),
            ("asks", .arr(b.asks.prefix(limit).map { .arr([.s($0.price), .s($0.total)]) })),
        ])
    }

    public func bookTicker(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let b = books[sym]
        return .obj([("symbol", .str(b.spec.name)), ("bidPrice", .s(b.bestBid?.price ?? .zero)), ("bidQty", .s(b.bestBid?.total ?? .zero)),
                     ("askPrice", .s(b.bestAsk?.price ?? .zero)), ("askQty", .s(b.bestAsk?.total ?? .zero)), ("time", .int(fnow()))])
    }

    public func tickerPrice(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let b = books[sym]
        return .obj([("symbol", .str(b.spec.name)), ("price", .s(b.lastPrice)), ("time", .int(fnow()))])
    }

    public func premiumIndex(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let m = markLocked(sym)
        return .obj([("symbol", .str(symbols[sym].spec.name)), ("markPrice", .s(m)), ("indexPrice", .s(m)),
                     ("estimatedSettlePrice", .s(m)), ("lastFundingRate", .s(fundingRateLocked(sym))),
                     ("interestRate", .s(interest)), ("nextFundingTime", .int(nextFundingTime)), ("time", .int(fnow()))])
    }

    /// Current (predicted) funding rate for tests.
    public func predictedFundingRate(_ sym: Int) -> Fixed { withLock { fundingRateLocked(sym) } }

    // MARK: accounts

    func positionRiskEntry(_ a: FAccount, _ sym: Int, _ ps: PositionSide, v3: Bool) -> J {
        let v = viewLocked(a, sym, ps)
        let s = symbols[sym]
        let im = FuturesMath.initialMargin(notional: v.notional, leverage: v.leverage)
        let isoMargin = v.isolated ? v.isolatedWallet + v.unrealized : .zero
        if v3 {
            let oim = openOrderIMLocked(a, sym)
            return .obj([
                ("symbol", .str(s.spec.name)), ("positionSide", .str(ps.rawValue)), ("positionAmt", .s(v.amt)),
                ("entryPrice", .s(v.entry)), ("breakEvenPrice", .s(v.breakEven)), ("markPrice", .s(v.mark)),
                ("unRealizedProfit", .s(v.unrealized)), ("liquidationPrice", .s(v.liquidationPrice)),
                ("isolatedMargin", .s(isoMargin)), ("notional", .s(v.notional)), ("marginAsset", .str(s.spec.quote)),
                ("isolatedWallet", .s(v.isolatedWallet)), ("initialMargin", .s(im + oim)), ("maintMargin", .s(v.maintMargin)),
                ("positionInitialMargin", .s(im)), ("openOrderInitialMargin", .s(oim)), ("adl", .int(0)),
                ("bidNotional", .s(.zero)), ("askNotional", .s(.zero)), ("updateTime", .int(v.updateTime)),
            ])
        }
        return .obj([
            ("entryPrice", .s(v.entry)), ("breakEvenPrice", .s(v.breakEven)), ("marginType", .str(v.isolated ? "isolated" : "cross")),
            ("isAutoAddMargin", .str("false")), ("isolatedMargin", .s(isoMargin)), ("leverage", .str(String(v.leverage))),
            ("liquidationPrice", .s(v.liquidationPrice)), ("markPrice", .s(v.mark)),
            ("maxNotionalValue", .str(trim(FuturesMath.maxNotional(leverage: v.leverage, in: s.brackets)))),
            ("positionAmt", .s(v.amt)), ("notional", .s(v.notional)), ("isolatedWallet", .s(v.isolatedWallet)),
            ("symbol", .str(s.spec.name)), ("unRealizedProfit", .s(v.unrealized)), ("positionSide", .str(ps.rawValue)),
            ("updateTime", .int(v.updateTime)),
        ])
    }

    /// GET /fapi/v2|v3/positionRisk. v2: every symbol (both legs in hedge mode); v3: only symbols with a position.
    public func positionRisk(account: Int, symbol: String?, v3: Bool) throws(APIError) -> J {
        var syms = Array(0..<symbols.count)
        if let s = symbol { guard let i = self.symbol(s) else { throw APIError.invalidSymbol }; syms = [i] }
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        var out: [J] = []
        for i in syms {
            for ps in sides(a) {
                if v3 && pos(a, i, ps).amt.isZero && !a.orders.values.contains(where: { $0.symbol == i && $0.status.isOpen }) { continue }
                out.append(positionRiskEntry(a, i, ps, v3: v3))
            }
        }
        return .arr(out)
    }

    func assetJSON(_ a: FAccount, _ asset: String, v3: Bool) -> J {
        let w = a.wallet[asset] ?? .zero
        var iso = Fixed.zero, isoUp = Fixed.zero
        for (k, p) in a.positions where a.isolated.contains(k / 3) && symbols[k / 3].spec.quote == asset {
            iso += p.isolatedWallet; isoUp += FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: markLocked(k / 3))
        }
        let cup = crossUnPnlLocked(a, asset)
        let pim = positionIMLocked(a, asset, crossOnly: false)
        let oim = totalOpenOrderIMLocked(a, asset)
        let mm = maintLocked(a, asset, crossOnly: false)
        let avail = availableLocked(a, asset)
        let wallet = w + iso
        var kv: [(String, J)] = [
            ("asset", .str(asset)), ("walletBalance", .s(wallet)), ("unrealizedProfit", .s(cup + isoUp)),
            ("marginBalance", .s(wallet + cup + isoUp)), ("maintMargin", .s(mm)), ("initialMargin", .s(pim + oim)),
            ("positionInitialMargin", .s(pim)), ("openOrderInitialMargin", .s(oim)), ("crossWalletBalance", .s(w)),
            ("crossUnPnl", .s(cup)), ("availableBalance", .s(avail)), ("maxWithdrawAmount", .s(max(.zero, avail))),
        ]
        if !v3 { kv.append(("marginAvailable", .bool(true))) }
        kv.append(("updateTime", .int(a.updateTime)))
        return .obj(kv)
    }

    /// GET /fapi/v2|v3/account.
    public func accountInfo(account: Int, v3: Bool) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        var tw = Fixed.zero, tu = Fixed.zero, tmm = Fixed.zero, tpim = Fixed.zero, toim = Fixed.zero, tcw = Fixed.zero, tcu = Fixed.zero, tav = Fixed.zero
        let assets = a.assetOrder
        for asset in assets {
            let w = a.wallet[asset] ?? .zero
            var iso = Fixed.zero, isoUp = Fixed.zero
            for (k, p) in a.positions where a.isolated.contains(k / 3) && symbols[k / 3].spec.quote == asset {
                iso += p.isolatedWallet; isoUp += FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: markLocked(k / 3))
            }
            let cup = crossUnPnlLocked(a, asset)
            tw += w + iso; tu += cup + isoUp; tcw += w; tcu += cup
            tmm += maintLocked(a, asset, crossOnly: false); tpim += positionIMLocked(a, asset, crossOnly: false)
            toim += totalOpenOrderIMLocked(a, asset); tav += availableLocked(a, asset)
        }
        var positions: [J] = []
        for i in symbols.indices {
            for ps in sides(a) {
                let v = viewLocked(a, i, ps)
                if v3 && v.amt.isZero { continue }
                let oim = openOrderIMLocked(a, i)
                var kv: [(String, J)] = [
                    ("symbol", .str(v.symbol)), ("positionSide", .str(ps.rawValue)), ("positionAmt", .s(v.amt)),
                    ("unrealizedProfit", .s(v.unrealized)), ("isolatedMargin", .s(v.isolated ? v.isolatedWallet + v.unrealized : .zero)),
                    ("notional", .s(v.notional)), ("isolatedWallet", .s(v.isolatedWallet)), ("initialMargin", .s(v.initialMargin + oim)),
                    ("maintMargin", .s(v.maintMargin)), ("updateTime", .int(v.updateTime)),
                ]
                if !v3 {
                    kv += [("leverage", .str(String(v.leverage))), ("entryPrice", .s(v.entry)), ("positionInitialMargin", .s(v.initialMargin)),
                           ("openOrderInitialMargin", .s(oim)), ("isolated", .bool(v.isolated)), ("breakEvenPrice", .s(v.breakEven)),
                           ("maxNotional", .str(trim(FuturesMath.maxNotional(leverage: v.leverage, in: symbols[i].brackets)))),
                           ("bidNotional", .s(.zero)), ("askNotional", .s(.zero))]
                }
                positions.append(.obj(kv))
            }
        }
        var kv: [(String, J)] = []
        if !v3 {
            kv += [("feeTier", .int(0)), ("feeBurn", .bool(false)), ("canTrade", .bool(true)), ("canDeposit", .bool(true)),
                   ("canWithdraw", .bool(true)), ("updateTime", .int(0)), ("multiAssetsMargin", .bool(false)), ("tradeGroupId", .int(-1))]
        }
        kv += [
            ("totalInitialMargin", .s(tpim + toim)), ("totalMaintMargin", .s(tmm)), ("totalWalletBalance", .s(tw)),
            ("totalUnrealizedProfit", .s(tu)), ("totalMarginBalance", .s(tw + tu)), ("totalPositionInitialMargin", .s(tpim)),
            ("totalOpenOrderInitialMargin", .s(toim)), ("totalCrossWalletBalance", .s(tcw)), ("totalCrossUnPnl", .s(tcu)),
            ("availableBalance", .s(tav)), ("maxWithdrawAmount", .s(max(.zero, tav))),
            ("assets", .arr(assets.map { assetJSON(a, $0, v3: v3) })), ("positions", .arr(positions)),
        ]
        return .obj(kv)
    }

    /// GET /fapi/v2|v3/balance.
    public func balances(account: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        return .arr(a.assetOrder.map { asset in
            let w = a.wallet[asset] ?? .zero
            var iso = Fixed.zero
            for (k, p) in a.positions where a.isolated.contains(k / 3) && symbols[k / 3].spec.quote == asset { iso += p.isolatedWallet }
            let av = availableLocked(a, asset)
            return .obj([("accountAlias", .str("SgsR")), ("asset", .str(asset)), ("balance", .s(w + iso)), ("crossWalletBalance", .s(w)),
                         ("crossUnPnl", .s(crossUnPnlLocked(a, asset))), ("availableBalance", .s(av)),
                         ("maxWithdrawAmount", .s(max(.zero, av))), ("marginAvailable", .bool(true)), ("updateTime", .int(a.updateTime))])
        })
    }

    /// Admin: credit or debit the futures wallet.
    public func adjustWallet(account: Int, asset: String, delta: Fixed) {
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        let a = accounts[account]
        if a.wallet[asset] == nil { a.assetOrder.append(asset) }
        a.wallet[asset, default: .zero] += delta
        accountUpdate(a, reason: "DEPOSIT", syms: [])
    }

    // MARK: listen keys

    public func listenKey(account: Int, create: Bool) throws(APIError) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        let t = fnow()
        if let k = a.listenKey, a.listenKeyExpiry > t {
            a.listenKeyExpiry = t + Int64(config.listenKeyValidityMinutes) * 60_000
            return .obj([("listenKey", .str(k))])
        }
        if !create { throw APIError(-1125, "This listenKey does not exist.") }
        var s = ""
        for _ in 0..<4 { s += String(format: "%016llx", rng.next()) }
        a.listenKey = s
        a.listenKeyExpiry = t + Int64(config.listenKeyValidityMinutes) * 60_000
        return .obj([("listenKey", .str(s))])
    }

    public func closeListenKey(account: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        accounts[account].listenKey = nil
        return .obj([])
    }

    public func accountFor(listenKey: String) -> Int? {
        withLock { accounts.first { $0.listenKey == listenKey && $0.listenKeyExpiry > fnow() }?.idx }
    }

    // MARK: events

    func emit(_ a: FAccount, _ j: J) {
        guard let k = a.listenKey, hub.wantsStream(k) else { return }
        hub.publish(stream: k, payload: j.text)
    }

    func orderUpdate(_ o: Order, x: String, lastQty: Fixed = .zero, lastPrice: Fixed = .zero, commission: Fixed = .zero,
                     tradeId: Int64 = 0, maker: Bool = false) {
        guard o.account >= 0 else { return }
        let a = accounts[o.account]
        guard let k = a.listenKey, hub.wantsStream(k) else { return }
        let m = meta[o.id] ?? FMeta()
        let avg = o.executed.isPositive ? o.cumQuote.divided(by: o.executed) : .zero
        let ev = J.obj([
            ("e", .str("ORDER_TRADE_UPDATE")), ("E", .int(now)), ("T", .int(now)),
            ("o", .obj([
                ("s", .str(symbols[o.symbol].spec.name)), ("c", .str(o.clientOrderId)), ("S", .str(o.side.rawValue)),
                ("o", .str(m.liquidation ? "LIQUIDATION" : o.type.rawValue)), ("f", .str(m.tif)), ("q", .s(o.origQty)), ("p", .s(o.price)),
                ("ap", .s(avg)), ("sp", .s(m.stopPrice)), ("x", .str(x)), ("X", .str(o.status.rawValue)), ("i", .int(o.id)),
                ("l", .s(lastQty)), ("z", .s(o.executed)), ("L", .s(lastPrice)), ("N", .str(symbols[o.symbol].spec.quote)),
                ("n", .s(commission)), ("T", .int(now)), ("t", .int(tradeId)), ("b", .s(.zero)), ("a", .s(.zero)),
                ("m", .bool(maker)), ("R", .bool(m.reduceOnly)), ("wt", .str(m.workingType)),
                ("ot", .str(m.liquidation ? "LIQUIDATION" : m.origType)), ("ps", .str(m.positionSide.rawValue)),
                ("cp", .bool(m.closePosition)), ("rp", .s(x == "TRADE" ? m.lastRealized : .zero)), ("pP", .bool(m.priceProtect)),
                ("si", .int(0)), ("ss", .int(0)), ("V", .str(m.stp)), ("pm", .str("NONE")), ("gtd", .int(m.goodTillDate)),
            ])),
        ])
        hub.publish(stream: k, payload: ev.text)
    }

    func algoUpdate(_ g: AlgoOrder) {
        let a = accounts[g.account]
        guard let k = a.listenKey, hub.wantsStream(k) else { return }
        hub.publish(stream: k, payload: J.obj([
            ("e", .str("ALGO_UPDATE")), ("T", .int(now)), ("E", .int(now)),
            ("o", .obj([("caid", .str(g.clientAlgoId)), ("aid", .int(g.algoId)), ("at", .str("CONDITIONAL")), ("o", .str(g.type)),
                        ("s", .str(symbols[g.symbol].spec.name)), ("S", .str(g.side.rawValue)), ("ps", .str(g.positionSide.rawValue)),
                        ("f", .str(g.tif)), ("q", .s(g.quantity)), ("X", .str(g.status)),
                        ("ai", .str(g.actualOrderId > 0 ? String(g.actualOrderId) : "")), ("tp", .s(g.triggerPrice)),
                        ("p", .s(g.price)), ("wt", .str(g.workingType)), ("cp", .bool(g.closePosition)), ("pP", .bool(g.priceProtect)),
                        ("R", .bool(g.reduceOnly)), ("tt", .int(g.triggerTime)), ("gtd", .int(0))])),
        ]).text)
    }

    /// `balanceChange`: Binance's `bc` per asset ("balance change except PnL and commission", e.g. the funding fee).
    func accountUpdate(_ a: FAccount, reason: String, syms: [(Int, PositionSide)], balanceChange: [String: Fixed] = [:]) {
        guard let k = a.listenKey, hub.wantsStream(k) else { return }
        var assets = Set(syms.map { symbols[$0.0].spec.quote })
        if syms.isEmpty { assets = Set(a.assetOrder) }
        let B: [J] = assets.sorted().map { asset in
            var iso = Fixed.zero
            for (kk, p) in a.positions where a.isolated.contains(kk / 3) && symbols[kk / 3].spec.quote == asset { iso += p.isolatedWallet }
            let w = a.wallet[asset] ?? .zero
            return .obj([("a", .str(asset)), ("wb", .s(w + iso)), ("cw", .s(w)), ("bc", .s(balanceChange[asset] ?? .zero))])
        }
        let P: [J] = syms.map { (sym, ps) in
            let p = pos(a, sym, ps)
            return .obj([("s", .str(symbols[sym].spec.name)), ("pa", .s(p.amt)), ("ep", .s(p.entry)), ("bep", .s(breakEven(p, a))),
                         ("cr", .s(p.realized)), ("up", .s(FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: markLocked(sym)))),
                         ("mt", .str(a.isolated.contains(sym) ? "isolated" : "cross")), ("iw", .s(p.isolatedWallet)), ("ps", .str(ps.rawValue))])
        }
        hub.publish(stream: k, payload: J.obj([("e", .str("ACCOUNT_UPDATE")), ("E", .int(now)), ("T", .int(now)),
                                               ("a", .obj([("m", .str(reason)), ("B", .arr(B)), ("P", .arr(P))]))]).text)
    }

    // MARK: mark-price driven processes: algo triggers, margin calls, liquidation, funding

    func afterChangeLocked(_ sym: Int) {
        checkAlgosLocked(sym)
        checkLiquidationsLocked()
        publishBookTicker(sym)
    }

    /// Margin balance < maintenance margin → the positions are closed at mark by the liquidation engine
    /// (client id "autoclose-…", order type LIQUIDATION); the remaining margin, up to the clearance fee, is lost.
    func checkLiquidationsLocked() {
        for a in accounts {
            for asset in a.assetOrder {
                // cross
                let mm = maintLocked(a, asset, crossOnly: true)
                if mm.isPositive {
                    let mb = (a.wallet[asset] ?? .zero) + crossUnPnlLocked(a, asset)
                    if mb < mm {
                        liquidateLocked(a, asset: asset, isolatedSym: nil)
                    } else if mb.isPositive && mm.divided(by: mb) >= marginCallRatio && now - a.lastMarginCall > 60_000 {
                        marginCall(a, asset)
                    }
                }
                // isolated, per leg
                for (k, p) in a.positions where !p.amt.isZero && a.isolated.contains(k / 3) && symbols[k / 3].spec.quote == asset {
                    let sym = k / 3
                    let mark = markLocked(sym)
                    let mmi = FuturesMath.maintenanceMargin(notional: FuturesMath.notional(amt: p.amt, mark: mark), brackets: symbols[sym].brackets)
                    if p.isolatedWallet + FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: mark) < mmi {
                        liquidateLocked(a, asset: asset, isolatedSym: k)
                    }
                }
            }
        }
    }

    func marginCall(_ a: FAccount, _ asset: String) {
        a.lastMarginCall = now
        guard let k = a.listenKey, hub.wantsStream(k) else { return }
        let ps: [J] = a.positions.filter { !$0.value.amt.isZero && symbols[$0.key / 3].spec.quote == asset }.sorted { $0.key < $1.key }.map { (kk, p) in
            let sym = kk / 3
            let mark = markLocked(sym)
            return .obj([("s", .str(symbols[sym].spec.name)), ("ps", .str(PositionSide.allCases[kk % 3].rawValue)), ("pa", .s(p.amt)),
                         ("mt", .str(a.isolated.contains(sym) ? "ISOLATED" : "CROSSED")), ("iw", .s(p.isolatedWallet)), ("mp", .s(mark)),
                         ("up", .s(FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: mark))),
                         ("mm", .s(FuturesMath.maintenanceMargin(notional: FuturesMath.notional(amt: p.amt, mark: mark), brackets: symbols[sym].brackets)))])
        }
        hub.publish(stream: k, payload: J.obj([("e", .str("MARGIN_CALL")), ("E", .int(now)), ("cw", .s(a.wallet[asset] ?? .zero)), ("p", .arr(ps))]).text)
    }

    func liquidateLocked(_ a: FAccount, asset: String, isolatedSym: Int?) {
        marginCall(a, asset)
        let keys = a.positions.keys.sorted().filter { k in
            let p = a.positions[k]!
            if p.amt.isZero || symbols[k / 3].spec.quote != asset { return false }
            if let only = isolatedSym { return k == only }
            return !a.isolated.contains(k / 3)
        }
        var notional = Fixed.zero
        var isoRemaining = Fixed.zero
        for k in keys {
            let sym = k / 3, ps = PositionSide.allCases[k % 3]
            // open orders of the symbol are canceled first
            for o in a.orders.values where o.symbol == sym && o.status.isOpen { books[sym].remove(o); finishLocked(o, .CANCELED, x: "CANCELED") }
            let p = a.positions[k]!
            let mark = markLocked(sym)
            notional += FuturesMath.notional(amt: p.amt, mark: mark)
            isoRemaining += p.isolatedWallet + FuturesMath.unrealizedPnl(amt: p.amt, entry: p.entry, mark: mark)
            let o = newOrderLocked(account: a.idx, sym: sym, side: p.amt.raw > 0 ? .SELL : .BUY, type: .LIMIT, tif: "IOC", price: mark,
                                   qty: FuturesMath.abs(p.amt), clientId: "autoclose-\(now)",
                                   meta: FMeta(reduceOnly: ps == .BOTH, positionSide: ps, tif: "IOC", origType: "LIQUIDATION", liquidation: true))
            let tid = books[sym].nextTradeId
            books[sym].nextTradeId += 1
            o.executed = o.origQty; o.cumQuote = mark.times(o.origQty); o.status = .FILLED; o.updateTime = now
            settleLocked(o, price: mark, qty: o.origQty, maker: false, tradeId: tid)
        }
        // Clearance fee: what is left of the liquidated margin, up to notional × liquidationFee; a deficit is
        // covered by the insurance fund (an isolated liquidation never costs more than its isolated margin).
        let cap = notional.times(symbols[keys.first.map { $0 / 3 } ?? 0].liquidationFee)
        var w = a.wallet[asset] ?? .zero
        if isolatedSym != nil {
            w -= isoRemaining.raw >= 0 ? min(isoRemaining, cap) : isoRemaining
        } else {
            w -= min(max(.zero, w), cap)
        }
        if w.raw < 0 { w = .zero }
        a.wallet[asset] = w
        accountUpdate(a, reason: "ORDER", syms: keys.map { ($0 / 3, PositionSide.allCases[$0 % 3]) })
    }

    /// Funding at every interval boundary of simulated time: fee = positionAmt × mark × F, longs pay when F > 0.
    func fundingLocked() {
        let slot = now / fundingIntervalMs
        while lastFundingSlot < slot {
            lastFundingSlot += 1
            for i in symbols.indices { lastFundingRate[i] = fundingRateLocked(i) }
            for a in accounts {
                var touched: [(Int, PositionSide)] = []
                var paid: [String: Fixed] = [:]
                for (k, p) in a.positions.sorted(by: { $0.key < $1.key }) where !p.amt.isZero {
                    let sym = k / 3
                    let fee = FuturesMath.fundingFee(amt: p.amt, mark: markLocked(sym), rate: lastFundingRate[sym])
                    let asset = symbols[sym].spec.quote
                    if a.isolated.contains(sym) { var pp = p; pp.isolatedWallet -= fee; a.positions[k] = pp }
                    else { a.wallet[asset, default: .zero] -= fee }
                    paid[asset, default: .zero] -= fee
                    touched.append((sym, PositionSide.allCases[k % 3]))
                    a.income.append(FIncome(symbol: sym, type: "FUNDING_FEE", income: .zero - fee, asset: asset, time: now, tranId: nextTranId))
                    nextTranId += 1
                }
                if !touched.isEmpty { a.updateTime = now; accountUpdate(a, reason: "FUNDING_FEE", syms: touched, balanceChange: paid) }
            }
            checkLiquidationsLocked()
        }
    }

    /// Admin: move simulated time forward (funding settles at each boundary crossed).
    public func advance(ms: Int64) {
        lock.lock(); defer { lock.unlock() }
        clockOffset += ms
        now = fnow()
        fundingLocked()
        expireGTDLocked()
        expireListenKeysLocked()
    }

    /// GTD orders end as EXPIRED at their goodTillDate (simulated time).
    func expireGTDLocked() {
        for a in accounts {
            for o in a.orders.values where o.status.isOpen {
                guard let m = meta[o.id], m.tif == "GTD", m.goodTillDate > 0, m.goodTillDate <= now else { continue }
                books[o.symbol].remove(o)
                finishLocked(o, .EXPIRED, x: "EXPIRED")
            }
        }
    }

    func expireListenKeysLocked() {
        for a in accounts {
            guard let k = a.listenKey, a.listenKeyExpiry <= now else { continue }
            if hub.wantsStream(k) {
                hub.publish(stream: k, payload: J.obj([("e", .str("listenKeyExpired")), ("E", .int(now)), ("listenKey", .str(k))]).text)
            }
            a.listenKey = nil
        }
    }

    /// Admin: set the fair price (mark/index) and requote around it; then triggers, margin calls, liquidations.
    public func setMid(_ sym: Int, _ mid: Fixed) {
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        books[sym].mid = mid
        requoteLocked(sym, walk: false)
        afterChangeLocked(sym)
    }

    /// Background tick (every 100 ms): requote, depth diffs, mark price stream, funding, liquidation, listenKey expiry.
    public func tick(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        now = fnow()
        if liquidity.enabled && (n * 100) % max(100, liquidity.intervalMs) == 0 {
            for i in books.indices { requoteLocked(i, walk: true); checkAlgosLocked(i); publishBookTicker(i) }
            checkLiquidationsLocked()
        }
        flushDepthLocked(0)
        if n % 5 == 0 { flushDepthLocked(2) }
        if n % 5 == 0 || n % 5 == 2 { flushDepthLocked(1) }
        if n % 10 == 0 { publishMarkPrices(everySecond: true) }
        if n % 30 == 0 { publishMarkPrices(everySecond: false) }
        fundingLocked()
        if n % 10 == 0 { expireListenKeysLocked(); expireGTDLocked() }
    }

    func publishMarkPrices(everySecond: Bool) {
        for i in books.indices {
            let name = books[i].spec.name.lowercased() + (everySecond ? "@markPrice@1s" : "@markPrice")
            guard hub.wantsStream(name) else { continue }
            let m = markLocked(i)
            hub.publish(stream: name, payload: J.obj([
                ("e", .str("markPriceUpdate")), ("E", .int(now)), ("s", .str(books[i].spec.name)), ("p", .s(m)), ("ap", .s(m)),
                ("P", .s(m)), ("i", .s(m)), ("r", .s(fundingRateLocked(i))), ("T", .int(nextFundingTime)),
            ]).text)
        }
    }

    func publishBookTicker(_ sym: Int) {
        let b = books[sym]
        let top = (b.bestBid?.price ?? .zero, b.bestBid?.total ?? .zero, b.bestAsk?.price ?? .zero, b.bestAsk?.total ?? .zero)
        if top == b.lastBook { return }
        b.lastBook = top
        let name = b.spec.name.lowercased() + "@bookTicker"
        guard hub.wantsStream(name), !depthPaused else { return }
        hub.publish(stream: name, payload: J.obj([
            ("e", .str("bookTicker")), ("u", .int(b.updateId)), ("E", .int(now)), ("T", .int(now)), ("s", .str(b.spec.name)),
            ("b", .s(top.0)), ("B", .s(top.1)), ("a", .s(top.2)), ("A", .s(top.3)),
        ]).text)
    }

    /// depthUpdate with U (first update id), u (last) and pu (the previous event's u) for tracker k.
    func flushDepthLocked(_ k: Int) {
        if depthPaused { return }
        let suffix = ["@depth@100ms", "@depth", "@depth@500ms"][k]
        for (i, b) in books.enumerated() {
            var d = b.diffs[k]
            if d.firstU == 0 { continue }
            b.diffs[k] = DiffTracker(lastFlushedU: b.updateId)
            let name = b.spec.name.lowercased() + suffix
            var pu = lastPu[i][k]
            lastPu[i][k] = b.updateId
            guard hub.wantsStream(name) else { continue }
            if gapsToInject > 0 { gapsToInject -= 1; pu -= 1 }
            let bids = d.bids.sorted(by: >).map { J.arr([.s(Fixed(raw: $0)), .s(b.levelQty(.BUY, $0))]) }
            let asks = d.asks.sorted().map { J.arr([.s(Fixed(raw: $0)), .s(b.levelQty(.SELL, $0))]) }
            d.bids = []; d.asks = []
            hub.publish(stream: name, payload: J.obj([
                ("e", .str("depthUpdate")), ("E", .int(now)), ("T", .int(now)), ("s", .str(b.spec.name)),
                ("U", .int(d.firstU)), ("u", .int(b.updateId)), ("pu", .int(pu)), ("b", .arr(bids)), ("a", .arr(asks)),
            ]).text)
        }
    }

    // MARK: liquidity provider (same shape as spot)

    func requoteLocked(_ sym: Int, walk: Bool) {
        let b = books[sym]
        let spec = b.spec
        if walk && liquidity.volatilityTicks > 0 {
            let steps = rng.int(in: -liquidity.volatilityTicks...liquidity.volatilityTicks)
            let next = b.mid + Fixed(raw: spec.tick.raw * Int64(steps))
            if next.raw > spec.tick.raw * Int64(liquidity.spreadTicks + liquidity.levels * liquidity.levelSpacingTicks + 10) { b.mid = next }
        }
        for o in b.mmOrders where o.status.isOpen { b.remove(o); o.status = .CANCELED }
        b.mmOrders.removeAll()
        guard liquidity.enabled else { return }
        let mid = b.mid.floored(to: spec.tick)
        let half = max(1, liquidity.spreadTicks / 2)
        let baseQty = Fixed.parse(liquidity.quantity) ?? Fixed(1)
        for i in 0..<liquidity.levels {
            let off = Int64(half + i * liquidity.levelSpacingTicks) * spec.tick.raw
            let qty = Fixed(raw: baseQty.raw + baseQty.raw * Int64(i) / 2).floored(to: spec.step)
            for side in [Side.BUY, Side.SELL] {
                let px = Fixed(raw: side == .BUY ? mid.raw - off : mid.raw + off)
                guard px.isPositive, qty.isPositive else { continue }
                let o = Order(id: nextOrderId, clientOrderId: "sim-mm", symbol: sym, account: -1, side: side, type: .LIMIT, tif: .GTC,
                              price: px, origQty: qty, origQuoteQty: .zero, stopPrice: .zero, time: now, isWorking: true, stp: .NONE)
                nextOrderId += 1
                runLocked(o)
                if o.status.isOpen { b.mmOrders.append(o) }
            }
        }
    }

    // MARK: rendering

    func orderObject(_ o: Order, query: Bool) -> J {
        let m = meta[o.id] ?? FMeta()
        let avg = o.executed.isPositive ? o.cumQuote.divided(by: o.executed) : .zero
        var kv: [(String, J)] = [
            ("orderId", .int(o.id)), ("symbol", .str(symbols[o.symbol].spec.name)), ("status", .str(o.status.rawValue)),
            ("clientOrderId", .str(o.clientOrderId)), ("price", .s(o.price)), ("avgPrice", .s(avg)), ("origQty", .s(o.origQty)),
            ("executedQty", .s(o.executed)), ("cumQty", .s(o.executed)), ("cumQuote", .s(o.cumQuote)), ("timeInForce", .str(m.tif)),
            ("type", .str(o.type.rawValue)), ("reduceOnly", .bool(m.reduceOnly)), ("closePosition", .bool(m.closePosition)),
            ("side", .str(o.side.rawValue)), ("positionSide", .str(m.positionSide.rawValue)), ("stopPrice", .s(m.stopPrice)),
            ("workingType", .str(m.workingType)), ("priceProtect", .bool(m.priceProtect)), ("origType", .str(m.origType)),
            ("priceMatch", .str("NONE")), ("selfTradePreventionMode", .str(m.stp)), ("goodTillDate", .int(m.goodTillDate)),
        ]
        if query { kv.append(("time", .int(o.time))) }
        kv.append(("updateTime", .int(o.updateTime)))
        return .obj(kv)
    }
}

/// Decimal text without trailing zeros (leverageBracket numbers, maxNotionalValue).
func trim(_ f: Fixed) -> String {
    var s = f.description
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

/// Futures error codes (developers.binance.com … usds-margined-futures/error-code).
enum FErr {
    static let useAlgo = APIError(-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
    static let positionSideMismatch = APIError(-4061, "Order's position side does not match user's setting.")
    static let reduceOnlyReject = APIError(-2022, "ReduceOnly Order is rejected.")
    static let marginInsufficient = APIError(-2019, "Margin is insufficient.")
    static let gtxRejected = APIError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")
    static let fokRejected = APIError(-5021, "Due to the order could not be filled immediately, the FOK order has been rejected.")
    static let wouldTrigger = APIError(-2021, "Order would immediately trigger.")
    static let noNeedMarginType = APIError(-4046, "No need to change margin type.")
    static let exceededMaxPosition = APIError(-2027, "Exceeded the maximum allowable position at current leverage.")
    static let leverageInsufficientMargin = APIError(-2028, "Leverage is smaller than permitted: insufficient margin balance")
    static func invalidLeverage(_ l: Int) -> APIError { APIError(-4028, "Leverage \(l) is not valid") }
}
