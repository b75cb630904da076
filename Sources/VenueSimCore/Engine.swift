// Matching engine: price-time priority per symbol, balances, fees, STP, stop-limit triggers.
import Crypto
// One lock guards all state; events are handed to the sink under the lock so they stay ordered.
import Foundation

public protocol EventSink: AnyObject, Sendable {
    func wantsStream(_ name: String) -> Bool
    func publish(stream: String, payload: String)
    func wantsUser(_ account: Int) -> Bool
    func publish(user: Int, payload: String)
}

public final class NullSink: EventSink, @unchecked Sendable {
    public init() {}
    public func wantsStream(_ name: String) -> Bool { false }
    public func publish(stream: String, payload: String) {}
    public func wantsUser(_ account: Int) -> Bool { false }
    public func publish(user: Int, payload: String) {}
}

public struct NewOrderRequest: Sendable {
    public var symbol: String
    public var side: Side
    public var type: OrderType
    public var tif: TimeInForce?
    public var quantity: Fixed?
    public var quoteOrderQty: Fixed?
    public var price: Fixed?
    public var stopPrice: Fixed?
    public var newClientOrderId: String?
    public var stp: STPMode?
    public var respType: RespType?
    public init(symbol: String, side: Side, type: OrderType, tif: TimeInForce? = nil, quantity: Fixed? = nil,
                quoteOrderQty: Fixed? = nil, price: Fixed? = nil, stopPrice: Fixed? = nil, newClientOrderId: String? = nil,
                stp: STPMode? = nil, respType: RespType? = nil) {
        self.symbol = symbol; self.side = side; self.type = type; self.tif = tif; self.quantity = quantity
        self.quoteOrderQty = quoteOrderQty; self.price = price; self.stopPrice = stopPrice
        self.newClientOrderId = newClientOrderId; self.stp = stp; self.respType = respType
    }
}

public final class Engine: @unchecked Sendable {
    let lock = NSLock()
    var books: [Book] = []
    public private(set) var specs: [SymbolSpec] = []
    var symbolIndex: [String: Int] = [:]
    var accounts: [Account] = []
    var keyIndex: [String: Int] = [:]
    var nextOrderId: Int64 = 1
    var rng: SimRNG
    var idCounter: UInt64 = 0
    public let sink: EventSink
    let liquidity: LiquidityConfig
    var now: Int64 = 0

    public init(config: SimConfig, sink: EventSink = NullSink()) {
        self.sink = sink
        self.rng = SimRNG(seed: config.seed)
        self.liquidity = config.liquidity
        let t = nowMs()
        for (i, s) in config.symbols.enumerated() {
            let f = { (v: String?, d: String) in Fixed.parse(v ?? d) ?? Fixed.parse(d)! }
            let spec = SymbolSpec(
                name: s.symbol.uppercased(), base: s.baseAsset, quote: s.quoteAsset,
                tick: f(s.tickSize, "0.01"), step: f(s.stepSize, "0.00001"),
                minPrice: f(s.minPrice, s.tickSize), maxPrice: f(s.maxPrice, "1000000"),
                minQty: f(s.minQty, s.stepSize), maxQty: f(s.maxQty, "9000"),
                minNotional: f(s.minNotional, "5"), maxNotional: f(s.maxNotional, "9000000"),
                defaultSTP: STPMode(rawValue: s.defaultSelfTradePreventionMode ?? "EXPIRE_MAKER") ?? .EXPIRE_MAKER,
                startMid: f(s.mid, "100"))
            specs.append(spec)
            books.append(Book(spec: spec, now: t))
            symbolIndex[spec.name] = i
        }
        for (i, a) in config.accounts.enumerated() {
            let acc = Account(idx: i, cfg: a)
            accounts.append(acc)
            keyIndex[a.apiKey] = i
        }
        if liquidity.enabled {
            for i in books.indices { lock.lock(); now = nowMs(); requoteLocked(i, walk: false); lock.unlock() }
        }
    }

    // MARK: lookup

    public func symbol(_ name: String) -> Int? { symbolIndex[name.uppercased()] }
    public func spec(_ i: Int) -> SymbolSpec { specs[i] }
    public func accountIndex(apiKey: String) -> Int? { keyIndex[apiKey] }
    public func secret(of account: Int) -> String? { accounts[account].secret }
    public func edKey(of account: Int) -> Curve25519SigningKey? { accounts[account].edKey }
    public var symbolCount: Int { books.count }

    func nextClientId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var s = [UInt8]()
        s.reserveCapacity(22)
        var x = rng.next()
        for i in 0..<22 {
            if i == 11 { x = rng.next() }
            s.append(alphabet[Int(x % 62)]); x /= 62
        }
        return String(decoding: s, as: UTF8.self)
    }

    // MARK: market data

    public func depth(_ sym: Int, limit: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let b = books[sym]
        return .obj([
            ("lastUpdateId", .int(b.updateId)),
            ("bids", .arr(b.bids.prefix(limit).map { .arr([.s($0.price), .s($0.total)]) })),
            ("asks", .arr(b.asks.prefix(limit).map { .arr([.s($0.price), .s($0.total)]) })),
        ])
    }

    public func bookTicker(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        return bookTickerLocked(sym)
    }
    func bookTickerLocked(_ sym: Int) -> J {
        let b = books[sym]
        return .obj([
            ("symbol", .str(b.spec.name)),
            ("bidPrice", .s(b.bestBid?.price ?? .zero)), ("bidQty", .s(b.bestBid?.total ?? .zero)),
            ("askPrice", .s(b.bestAsk?.price ?? .zero)), ("askQty", .s(b.bestAsk?.total ?? .zero)),
        ])
    }

    public func tickerPrice(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        return .obj([("symbol", .str(books[sym].spec.name)), ("price", .s(books[sym].lastPrice))])
    }

    public func avgPrice(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        return .obj([("mins", .int(5)), ("price", .s(books[sym].refPrice)), ("closeTime", .int(nowMs()))])
    }

    public func ticker24h(_ sym: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let b = books[sym]
        let t = nowMs()
        let change = b.lastPrice - b.open
        let pct = b.open.isPositive ? change.times(Fixed(100)).divided(by: b.open) : .zero
        let wavg = b.volume.isPositive ? b.quoteVolume.divided(by: b.volume) : b.lastPrice
        return .obj([
            ("symbol", .str(b.spec.name)), ("priceChange", .s(change)), ("priceChangePercent", .str(pct.format(decimals: 3))),
            ("weightedAvgPrice", .s(wavg)), ("prevClosePrice", .s(b.open)), ("lastPrice", .s(b.lastPrice)),
            ("lastQty", .s(b.lastQty)), ("bidPrice", .s(b.bestBid?.price ?? .zero)), ("bidQty", .s(b.bestBid?.total ?? .zero)),
            ("askPrice", .s(b.bestAsk?.price ?? .zero)), ("askQty", .s(b.bestAsk?.total ?? .zero)),
            ("openPrice", .s(b.open)), ("highPrice", .s(b.high)), ("lowPrice", .s(b.low)),
            ("volume", .s(b.volume)), ("quoteVolume", .s(b.quoteVolume)),
            ("openTime", .int(max(b.openTime, t - 86_400_000))), ("closeTime", .int(t)),
            ("firstId", .int(b.firstTradeId)), ("lastId", .int(b.tradeCount > 0 ? b.nextTradeId - 1 : -1)),
            ("count", .int(b.tradeCount)),
        ])
    }

    public func recentTrades(_ sym: Int, limit: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        return .arr([])
    }

    // MARK: orders

    /// Validates and (unless `test`) executes a new order. Returns the response in the requested type.
    public func place(account: Int, _ r: NewOrderRequest, test: Bool = false) throws(APIError) -> J {
        guard let sym = symbol(r.symbol) else { throw APIError.invalidSymbol }
        let spec = specs[sym]
        // mandatory parameters per type (rest-api.md "New order")
        switch r.type {
        case .LIMIT:
            guard r.tif != nil else { throw APIError.mandatory("timeInForce") }
            guard r.quantity != nil else { throw APIError.mandatory("quantity") }
            guard r.price != nil else { throw APIError.mandatory("price") }
            if r.quoteOrderQty != nil { throw APIError.notRequired("quoteOrderQty") }
        case .MARKET:
            if r.quantity == nil && r.quoteOrderQty == nil { throw APIError.mandatory("quantity") }
            if r.quantity != nil && r.quoteOrderQty != nil { throw APIError.comboInvalid }
            if r.price != nil { throw APIError.notRequired("price") }
            if r.tif != nil { throw APIError.notRequired("timeInForce") }
        case .LIMIT_MAKER:
            guard r.quantity != nil else { throw APIError.mandatory("quantity") }
            guard r.price != nil else { throw APIError.mandatory("price") }
            if r.tif != nil { throw APIError.notRequired("timeInForce") }
        case .STOP_LOSS_LIMIT, .TAKE_PROFIT_LIMIT:
            guard r.tif != nil else { throw APIError.mandatory("timeInForce") }
            guard r.quantity != nil else { throw APIError.mandatory("quantity") }
            guard r.price != nil else { throw APIError.mandatory("price") }
            guard r.stopPrice != nil else { throw APIError.mandatory("stopPrice") }
        }
        if r.type != .STOP_LOSS_LIMIT && r.type != .TAKE_PROFIT_LIMIT && r.stopPrice != nil { throw APIError.notRequired("stopPrice") }
        if let c = r.newClientOrderId, !Engine.validClientId(c) {
            throw APIError.illegal("newClientOrderId", "^[a-zA-Z0-9-_.:/]{1,36}$")
        }
        // filters (filters.md)
        for p in [r.price, r.stopPrice].compactMap({ $0 }) {
            if p.isZero || p < spec.minPrice || (spec.maxPrice.isPositive && p > spec.maxPrice) || !p.isMultiple(of: spec.tick) {
                throw APIError.filter("PRICE_FILTER")
            }
        }
        if let q = r.quantity {
            if q.isZero || q < spec.minQty || q > spec.maxQty || !q.isMultiple(of: spec.step) {
                throw APIError.filter(r.type == .MARKET ? "MARKET_LOT_SIZE" : "LOT_SIZE")
            }
        }
        if let qq = r.quoteOrderQty, qq.isZero { throw APIError.filter("NOTIONAL") }
        let stp = r.stp ?? spec.defaultSTP

        lock.lock(); defer { lock.unlock() }
        now = nowMs()
        let book = books[sym]
        let notional: Fixed
        if let qq = r.quoteOrderQty { notional = qq } else if let p = r.price { notional = p.times(r.quantity!) } else { notional = book.refPrice.times(r.quantity!) }
        if notional < spec.minNotional || notional > spec.maxNotional { throw APIError.filter("NOTIONAL") }

        let acc = accounts[account]
        if let c = r.newClientOrderId, let ex = acc.byClientId["\(sym)|\(c)"], ex.status.isOpen { acc.duplicateRejects += 1; throw APIError.duplicateOrder }
        if r.type == .LIMIT_MAKER, wouldCross(book, r.side, r.price!) { throw APIError.wouldMatch }
        if r.type.isStop, stopTriggered(book, r.type, r.side, r.stopPrice!) { throw APIError.stopWouldTrigger }

        // funds to lock
        let lockAsset = r.side == .BUY ? spec.quote : spec.base
        var lockAmount: Fixed
        switch (r.side, r.type) {
        case (.SELL, _): lockAmount = r.quantity ?? .zero
        case (.BUY, .MARKET):
            if let qq = r.quoteOrderQty { lockAmount = qq } else { lockAmount = costToBuy(book, r.quantity!) }
        case (.BUY, _): lockAmount = r.price!.timesCeil(r.quantity!)
        }
        if r.side == .SELL && r.type == .MARKET && r.quoteOrderQty != nil {
            lockAmount = baseToSellFor(book, r.quoteOrderQty!, step: spec.step)
        }
        if acc.bal(lockAsset).free < lockAmount { throw APIError.insufficientBalance }
        if test { return .obj([]) }

        let o = Order(id: nextOrderId, clientOrderId: r.newClientOrderId ?? nextClientId(), symbol: sym, account: account,
                      side: r.side, type: r.type, tif: r.tif, price: r.price ?? .zero,
                      origQty: r.quantity ?? .zero, origQuoteQty: r.quoteOrderQty ?? .zero,
                      stopPrice: r.stopPrice ?? .zero, time: now, isWorking: !r.type.isStop, stp: stp)
        nextOrderId += 1
        acc.mutate(lockAsset) { $0.free -= lockAmount; $0.locked += lockAmount }
        o.locked = lockAmount
        acc.orders[o.id] = o
        acc.byClientId["\(sym)|\(o.clientOrderId)"] = o
        var touched: Set<String> = [lockAsset]
        var fills: [Fill] = []
        execReport(o, x: "NEW")
        if r.type.isStop {
            book.stops.append(o)
        } else {
            process(o, book, &fills, &touched)
        }
        accountPosition(account, touched)
        triggerStops(sym)
        publishBook(sym)
        let resp = r.respType ?? ((r.type == .LIMIT || r.type == .MARKET) ? .FULL : .ACK)
        return orderResponse(o, resp, fills)
    }

    static func validClientId(_ s: String) -> Bool {
        if s.isEmpty || s.utf8.count > 36 { return false }
        return s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46 || c == 58 || c == 47
        }
    }

    func wouldCross(_ b: Book, _ side: Side, _ price: Fixed) -> Bool {
        if side == .BUY, let a = b.bestAsk { return a.price <= price }
        if side == .SELL, let bb = b.bestBid { return bb.price >= price }
        return false
    }

    func stopTriggered(_ b: Book, _ type: OrderType, _ side: Side, _ stop: Fixed) -> Bool {
        let last = b.lastPrice
        switch (type, side) {
        case (.STOP_LOSS_LIMIT, .BUY), (.TAKE_PROFIT_LIMIT, .SELL): return last >= stop
        case (.STOP_LOSS_LIMIT, .SELL), (.TAKE_PROFIT_LIMIT, .BUY): return last <= stop
        default: return false
        }
    }

    func costToBuy(_ b: Book, _ qty: Fixed) -> Fixed {
        var left = qty, cost = Fixed.zero
        for l in b.asks {
            let q = min(left, l.total)
            cost += l.price.timesCeil(q)
            left -= q
            if left.isZero { break }
        }
        return cost
    }

    func baseToSellFor(_ b: Book, _ quote: Fixed, step: Fixed) -> Fixed {
        var left = quote, base = Fixed.zero
        for l in b.bids {
            let lq = l.price.times(l.total)
            if lq >= left { base += left.divided(by: l.price).floored(to: step); break }
            base += l.total; left -= lq
        }
        return base
    }

    /// Runs a working order against the book, then rests/expires it.
    func process(_ o: Order, _ book: Book, _ fills: inout [Fill], _ touched: inout Set<String>) {
        if o.tif == .FOK && !fokFillable(o, book) {
            finish(o, .EXPIRED, x: "EXPIRED", touched: &touched)
            return
        }
        let takerExpired = match(o, book, &fills, &touched)
        if takerExpired { return }
        if o.status == .FILLED { return }
        if o.type == .MARKET || o.tif == .IOC || o.tif == .FOK {
            if o.isQuoteMarket { o.origQty = o.executed }
            finish(o, .EXPIRED, x: "EXPIRED", touched: &touched)
        } else {
            book.insert(o)
        }
    }

    func fokFillable(_ o: Order, _ book: Book) -> Bool {
        var avail = Fixed.zero
        let levels = o.side == .BUY ? book.asks : book.bids
        for l in levels {
            if o.side == .BUY ? l.price > o.price : l.price < o.price { break }
            avail += l.total
            if avail >= o.origQty { return true }
        }
        return false
    }

    /// Returns true if the taker was expired by self-trade prevention.
    func match(_ t: Order, _ book: Book, _ fills: inout [Fill], _ touched: inout Set<String>) -> Bool {
        let spec = book.spec
        while true {
            if !t.isQuoteMarket && t.remaining.isZero { break }
            let levels = t.side == .BUY ? book.asks : book.bids
            guard let level = levels.first else { break }
            if t.type != .MARKET {
                if t.side == .BUY ? level.price > t.price : level.price < t.price { break }
            }
            let m = level.orders[0]
            if m.account == t.account && t.account >= 0 && t.stp != .NONE {
                switch t.stp {
                case .EXPIRE_MAKER:
                    book.remove(m); finish(m, .EXPIRED_IN_MATCH, x: "TRADE_PREVENTION", touched: &touched); continue
                case .EXPIRE_TAKER:
                    finish(t, .EXPIRED_IN_MATCH, x: "TRADE_PREVENTION", touched: &touched); return true
                case .EXPIRE_BOTH:
                    book.remove(m); finish(m, .EXPIRED_IN_MATCH, x: "TRADE_PREVENTION", touched: &touched)
                    finish(t, .EXPIRED_IN_MATCH, x: "TRADE_PREVENTION", touched: &touched); return true
                case .NONE: break
                }
            }
            var q = min(m.remaining, t.isQuoteMarket ? m.remaining : t.remaining)
            if t.isQuoteMarket {
                let budget = t.origQuoteQty - t.cumQuote
                let afford = budget.divided(by: level.price).floored(to: spec.step)
                q = min(q, afford)
                if q.isZero { break }
            } else if t.type == .MARKET && t.side == .SELL && t.origQty.isZero {
                break
            }
            trade(taker: t, maker: m, price: level.price, qty: q, book: book, fills: &fills, touched: &touched)
        }
        return false
    }

    func trade(taker t: Order, maker m: Order, price: Fixed, qty q: Fixed, book: Book, fills: inout [Fill], touched: inout Set<String>) {
        let spec = book.spec
        let quote = price.times(q)
        let tid = book.nextTradeId
        book.nextTradeId += 1
        // book level bookkeeping (maker is at the front of the best level)
        if m.side == .BUY { book.bids[0].total -= q } else { book.asks[0].total -= q }
        for o in [m, t] {
            o.executed += q; o.cumQuote += quote; o.updateTime = now
            o.status = o.remaining.isZero && !(o.isQuoteMarket && o.cumQuote < o.origQuoteQty) ? .FILLED : .PARTIALLY_FILLED
        }
        if t.isQuoteMarket { t.origQty = t.executed; t.status = t.cumQuote >= t.origQuoteQty ? .FILLED : .PARTIALLY_FILLED }
        if m.remaining.isZero {
            if m.side == .BUY { book.bids[0].orders.removeFirst(); if book.bids[0].orders.isEmpty { book.bids.removeFirst() } }
            else { book.asks[0].orders.removeFirst(); if book.asks[0].orders.isEmpty { book.asks.removeFirst() } }
        }
        book.touch(m.side, price)
        // stats
        book.lastPrice = price; book.lastQty = q
        book.volume += q; book.quoteVolume += quote; book.tradeCount += 1
        if book.firstTradeId < 0 { book.firstTradeId = tid }
        if price > book.high { book.high = price }
        if price < book.low { book.low = price }
        // balances, commissions, records
        var takerFill = Fill(price: price, qty: q, commission: .zero, commissionAsset: spec.side(t.side).received, tradeId: tid)
        for (o, isMaker) in [(m, true), (t, false)] where o.account >= 0 {
            let acc = accounts[o.account]
            let rate = Fixed.bps(isMaker ? acc.makerBps : acc.takerBps)
            let commission: Fixed
            let commAsset: String
            if o.side == .BUY {
                commission = q.times(rate); commAsset = spec.base
                let portion: Fixed
                if o.remaining.isZero && !o.isQuoteMarket { portion = o.locked }
                else if o.type == .MARKET { portion = min(o.locked, quote) }
                else { portion = min(o.locked, o.price.timesCeil(q)) }
                o.locked -= portion
                acc.mutate(spec.quote) { $0.locked -= portion; $0.free += portion - quote }
                acc.mutate(spec.base) { $0.free += q - commission }
            } else {
                commission = quote.times(rate); commAsset = spec.quote
                let portion = min(o.locked, q)
                o.locked -= portion
                acc.mutate(spec.base) { $0.locked -= portion }
                acc.mutate(spec.quote) { $0.free += quote - commission }
            }
            touched.insert(spec.base); touched.insert(spec.quote)
            acc.updateTime = now
            acc.trades[o.symbol, default: []].append(TradeRecord(
                symbol: spec.name, id: tid, orderId: o.id, price: price, qty: q, quoteQty: quote, commission: commission,
                commissionAsset: commAsset, time: now, isBuyer: o.side == .BUY, isMaker: isMaker))
            if !isMaker { takerFill.commission = commission }
            execReport(o, x: "TRADE", lastQty: q, lastPrice: price, commission: commission, commAsset: commAsset, tradeId: tid, maker: isMaker)
            if o !== t && !o.status.isOpen { releaseLock(o) }
            if o !== t { accountPosition(o.account, [spec.base, spec.quote]) }
        }
        if m.account < 0 && !m.status.isOpen { book.mmOrders.removeAll { $0 === m } }
        if t.account >= 0 { fills.append(takerFill) }
        let tname = spec.name.lowercased() + "@trade"
        if sink.wantsStream(tname) {
            sink.publish(stream: tname, payload: J.obj([
                ("e", .str("trade")), ("E", .int(now)), ("s", .str(spec.name)), ("t", .int(tid)),
                ("p", .s(price)), ("q", .s(q)), ("T", .int(now)), ("m", .bool(m.side == .BUY)), ("M", .bool(true)),
            ]).text)
        }
        book.lastPriceChanged = true
    }

    func releaseLock(_ o: Order) {
        guard o.account >= 0, o.locked.isPositive else { return }
        let spec = specs[o.symbol]
        let asset = o.side == .BUY ? spec.quote : spec.base
        let amt = o.locked
        o.locked = .zero
        accounts[o.account].mutate(asset) { $0.locked -= amt; $0.free += amt }
    }

    func finish(_ o: Order, _ status: OrderStatus, x: String, touched: inout Set<String>, cancelId: String? = nil) {
        o.status = status
        o.updateTime = now
        if o.account >= 0 {
            releaseLock(o)
            let spec = specs[o.symbol]
            touched.insert(o.side == .BUY ? spec.quote : spec.base)
            execReport(o, x: x, cancelClientId: cancelId)
        }
    }

    func triggerStops(_ sym: Int) {
        let book = books[sym]
        guard !book.stops.isEmpty, book.lastPriceChanged else { return }
        book.lastPriceChanged = false
        var i = 0
        while i < book.stops.count {
            let o = book.stops[i]
            if stopTriggered(book, o.type, o.side, o.stopPrice) {
                book.stops.remove(at: i)
                o.isWorking = true; o.workingTime = now; o.updateTime = now
                var fills: [Fill] = []
                var touched: Set<String> = []
                execReport(o, x: "NEW")
                process(o, book, &fills, &touched)
                accountPosition(o.account, touched)
            } else { i += 1 }
        }
    }

    public func cancel(account: Int, symbol: String, orderId: Int64?, origClientOrderId: String?, newClientOrderId: String?,
                       restriction: String? = nil) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        if orderId == nil && origClientOrderId == nil { throw APIError.mandatory("orderId") }
        lock.lock(); defer { lock.unlock() }
        now = nowMs()
        let acc = accounts[account]
        let o: Order? = orderId.map { acc.orders[$0] } ?? origClientOrderId.flatMap { acc.byClientId["\(sym)|\($0)"] }
        guard let o, o.symbol == sym, o.status.isOpen else { throw APIError.unknownOrderCancel }
        if let c = origClientOrderId, orderId != nil, c != o.clientOrderId { throw APIError.unknownOrderCancel }
        if restriction == "ONLY_NEW" && o.status != .NEW || restriction == "ONLY_PARTIALLY_FILLED" && o.status != .PARTIALLY_FILLED {
            throw APIError(-2011, "Order was not canceled due to cancel restrictions.")
        }
        return cancelLocked(o, newClientOrderId: newClientOrderId)
    }

    func cancelLocked(_ o: Order, newClientOrderId: String?) -> J {
        let book = books[o.symbol]
        if o.isWorking { book.remove(o) } else { book.stops.removeAll { $0 === o } }
        let cid = newClientOrderId ?? nextClientId()
        var touched: Set<String> = []
        finish(o, .CANCELED, x: "CANCELED", touched: &touched, cancelId: cid)
        accountPosition(o.account, touched)
        publishBook(o.symbol)
        var kv: [(String, J)] = [
            ("symbol", .str(specs[o.symbol].name)), ("origClientOrderId", .str(o.clientOrderId)), ("orderId", .int(o.id)),
            ("orderListId", .int(-1)), ("clientOrderId", .str(cid)), ("transactTime", .int(now)),
        ]
        kv += commonFields(o)
        return .obj(kv)
    }

    public func cancelAll(account: Int, symbol: String) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        now = nowMs()
        let open = accounts[account].orders.values.filter { $0.symbol == sym && $0.status.isOpen }.sorted { $0.id < $1.id }
        if open.isEmpty { throw APIError.unknownOrderCancel }
        return .arr(open.map { cancelLocked($0, newClientOrderId: nil) })
    }

    public func query(account: Int, symbol: String, orderId: Int64?, origClientOrderId: String?) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        if orderId == nil && origClientOrderId == nil { throw APIError.mandatory("orderId") }
        lock.lock(); defer { lock.unlock() }
        let acc = accounts[account]
        let o: Order? = orderId.map { acc.orders[$0] } ?? origClientOrderId.flatMap { acc.byClientId["\(sym)|\($0)"] }
        guard let o, o.symbol == sym else { throw APIError.orderDoesNotExist }
        return queryObject(o)
    }

    public func openOrders(account: Int, symbol: String?) throws(APIError) -> J {
        var sym: Int? = nil
        if let s = symbol { guard let i = self.symbol(s) else { throw APIError.invalidSymbol }; sym = i }
        lock.lock(); defer { lock.unlock() }
        let list = accounts[account].orders.values.filter { $0.status.isOpen && (sym == nil || $0.symbol == sym) }.sorted { $0.id < $1.id }
        return .arr(list.map(queryObject))
    }

    public func allOrders(account: Int, symbol: String, limit: Int) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        let list = accounts[account].orders.values.filter { $0.symbol == sym }.sorted { $0.id < $1.id }.suffix(limit)
        return .arr(list.map(queryObject))
    }

    public func accountInfo(account: Int, omitZero: Bool) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        let bals: [J] = a.assetOrder.compactMap { asset in
            let b = a.bal(asset)
            if omitZero && b.free.isZero && b.locked.isZero { return nil }
            return .obj([("asset", .str(asset)), ("free", .s(b.free)), ("locked", .s(b.locked))])
        }
        return .obj([
            ("makerCommission", .i(a.makerBps)), ("takerCommission", .i(a.takerBps)), ("buyerCommission", .int(0)), ("sellerCommission", .int(0)),
            ("commissionRates", .obj([("maker", .s(Fixed.bps(a.makerBps))), ("taker", .s(Fixed.bps(a.takerBps))), ("buyer", .s(.zero)), ("seller", .s(.zero))])),
            ("canTrade", .bool(true)), ("canWithdraw", .bool(true)), ("canDeposit", .bool(true)), ("brokered", .bool(false)),
            ("requireSelfTradePrevention", .bool(false)), ("preventSor", .bool(false)), ("updateTime", .int(a.updateTime)),
            ("accountType", .str("SPOT")), ("balances", .arr(bals)), ("permissions", .arr([.str("SPOT")])), ("uid", .int(Int64(100_000 + a.idx))),
        ])
    }

    public func myTrades(account: Int, symbol: String, orderId: Int64?, fromId: Int64?, startTime: Int64?, endTime: Int64?, limit: Int) throws(APIError) -> J {
        guard let sym = self.symbol(symbol) else { throw APIError.invalidSymbol }
        lock.lock(); defer { lock.unlock() }
        var list = accounts[account].trades[sym] ?? []
        if let oid = orderId { list = list.filter { $0.orderId == oid } }
        if let f = fromId { list = list.filter { $0.id >= f } }
        if let s = startTime { list = list.filter { $0.time >= s } }
        if let e = endTime { list = list.filter { $0.time <= e } }
        // Binance's parameter combinations: fromId, or startTime (with or without endTime), read forward from there
        // (the oldest first); otherwise the most recent `limit`.
        let out = fromId != nil || startTime != nil ? Array(list.prefix(limit)) : Array(list.suffix(limit))
        return .arr(out.map { t in .obj([
            ("symbol", .str(t.symbol)), ("id", .int(t.id)), ("orderId", .int(t.orderId)), ("orderListId", .int(-1)),
            ("price", .s(t.price)), ("qty", .s(t.qty)), ("quoteQty", .s(t.quoteQty)), ("commission", .s(t.commission)),
            ("commissionAsset", .str(t.commissionAsset)), ("time", .int(t.time)), ("isBuyer", .bool(t.isBuyer)),
            ("isMaker", .bool(t.isMaker)), ("isBestMatch", .bool(true)),
        ]) })
    }

    /// Admin: credit/debit a balance (emits balanceUpdate).
    public func adjustBalance(account: Int, asset: String, delta: Fixed) {
        lock.lock(); defer { lock.unlock() }
        now = nowMs()
        accounts[account].mutate(asset) { $0.free += delta }
        if sink.wantsUser(account) {
            sink.publish(user: account, payload: J.obj([("e", .str("balanceUpdate")), ("E", .int(now)), ("a", .str(asset)),
                                                        ("d", .s(delta)), ("T", .int(now))]).text)
        }
        accountPosition(account, [asset])
    }

    public func balance(account: Int, asset: String) -> (free: Fixed, locked: Fixed) {
        lock.lock(); defer { lock.unlock() }
        let b = accounts[account].bal(asset)
        return (b.free, b.locked)
    }

    // MARK: rendering

    func commonFields(_ o: Order) -> [(String, J)] {
        var kv: [(String, J)] = [
            ("price", .s(o.price)), ("origQty", .s(o.origQty)), ("executedQty", .s(o.executed)),
            ("origQuoteOrderQty", .s(o.origQuoteQty)), ("cummulativeQuoteQty", .s(o.cumQuote)), ("status", .str(o.status.rawValue)),
            ("timeInForce", .str((o.tif ?? .GTC).rawValue)), ("type", .str(o.type.rawValue)), ("side", .str(o.side.rawValue)),
        ]
        if o.type.isStop { kv.append(("stopPrice", .s(o.stopPrice))) }
        kv.append(("selfTradePreventionMode", .str(o.stp.rawValue)))
        return kv
    }

    func orderResponse(_ o: Order, _ t: RespType, _ fills: [Fill]) -> J {
        var kv: [(String, J)] = [
            ("symbol", .str(specs[o.symbol].name)), ("orderId", .int(o.id)), ("orderListId", .int(-1)),
            ("clientOrderId", .str(o.clientOrderId)), ("transactTime", .int(o.time)),
        ]
        if t == .ACK { return .obj(kv) }
        var c = commonFields(o)
        let stpField = c.removeLast()
        kv += c
        kv.append(("workingTime", .int(o.workingTime)))
        kv.append(stpField)
        if t == .FULL {
            kv.append(("fills", .arr(fills.map { f in .obj([
                ("price", .s(f.price)), ("qty", .s(f.qty)), ("commission", .s(f.commission)),
                ("commissionAsset", .str(f.commissionAsset)), ("tradeId", .int(f.tradeId)),
            ]) })))
        }
        return .obj(kv)
    }

    func queryObject(_ o: Order) -> J {
        .obj([
            ("symbol", .str(specs[o.symbol].name)), ("orderId", .int(o.id)), ("orderListId", .int(-1)),
            ("clientOrderId", .str(o.clientOrderId)), ("price", .s(o.price)), ("origQty", .s(o.origQty)),
            ("executedQty", .s(o.executed)), ("cummulativeQuoteQty", .s(o.cumQuote)), ("status", .str(o.status.rawValue)),
            ("timeInForce", .str((o.tif ?? .GTC).rawValue)), ("type", .str(o.type.rawValue)), ("side", .str(o.side.rawValue)),
            ("stopPrice", .s(o.stopPrice)), ("icebergQty", .s(.zero)), ("time", .int(o.time)), ("updateTime", .int(o.updateTime)),
            ("isWorking", .bool(o.isWorking)), ("workingTime", .int(o.workingTime)), ("origQuoteOrderQty", .s(o.origQuoteQty)),
            ("selfTradePreventionMode", .str(o.stp.rawValue)),
        ])
    }

    func execReport(_ o: Order, x: String, lastQty: Fixed = .zero, lastPrice: Fixed = .zero, commission: Fixed = .zero,
                    commAsset: String? = nil, tradeId: Int64 = -1, maker: Bool = false, cancelClientId: String? = nil) {
        guard o.account >= 0, sink.wantsUser(o.account) else { return }
        idCounter += 1
        let spec = specs[o.symbol]
        let ev = J.obj([
            ("e", .str("executionReport")), ("E", .int(now)), ("s", .str(spec.name)),
            ("c", .str(cancelClientId ?? o.clientOrderId)), ("S", .str(o.side.rawValue)), ("o", .str(o.type.rawValue)),
            ("f", .str((o.tif ?? .GTC).rawValue)), ("q", .s(o.origQty)), ("p", .s(o.price)), ("P", .s(o.stopPrice)),
            ("F", .s(.zero)), ("g", .int(-1)), ("C", .str(cancelClientId != nil ? o.clientOrderId : "")),
            ("x", .str(x)), ("X", .str(o.status.rawValue)), ("r", .str("NONE")), ("i", .int(o.id)),
            ("l", .s(lastQty)), ("z", .s(o.executed)), ("L", .s(lastPrice)), ("n", .s(commission)),
            ("N", commAsset.map { .str($0) } ?? .null), ("T", .int(now)), ("t", .int(tradeId)), ("I", .int(Int64(idCounter))),
            ("w", .bool(o.status.isOpen && o.isWorking)), ("m", .bool(maker)), ("M", .bool(false)), ("O", .int(o.time)),
            ("Z", .s(o.cumQuote)), ("Y", .s(lastPrice.times(lastQty))), ("Q", .s(o.origQuoteQty)),
            ("W", .int(o.workingTime)), ("V", .str(o.stp.rawValue)),
        ])
        sink.publish(user: o.account, payload: ev.text)
    }

    func accountPosition(_ account: Int, _ assets: Set<String>) {
        guard account >= 0, !assets.isEmpty, sink.wantsUser(account) else { return }
        let a = accounts[account]
        let ev = J.obj([
            ("e", .str("outboundAccountPosition")), ("E", .int(now)), ("u", .int(now)),
            ("B", .arr(assets.sorted().map { asset in
                let b = a.bal(asset)
                return .obj([("a", .str(asset)), ("f", .s(b.free)), ("l", .s(b.locked))])
            })),
        ])
        sink.publish(user: account, payload: ev.text)
    }

    /// bookTicker on change of top of book.
    func publishBook(_ sym: Int) {
        let b = books[sym]
        let top = (b.bestBid?.price ?? .zero, b.bestBid?.total ?? .zero, b.bestAsk?.price ?? .zero, b.bestAsk?.total ?? .zero)
        if top == b.lastBook { return }
        b.lastBook = top
        let name = b.spec.name.lowercased() + "@bookTicker"
        guard sink.wantsStream(name), !depthPaused else { return }
        sink.publish(stream: name, payload: J.obj([
            ("u", .int(b.updateId)), ("s", .str(b.spec.name)), ("b", .s(top.0)), ("B", .s(top.1)), ("a", .s(top.2)), ("A", .s(top.3)),
        ]).text)
    }

    // MARK: depth diffs (flushed by the server every 100 ms)

    public var depthPaused = false
    public var gapsToInject = 0

    /// Emits `depthUpdate` for tracker `k` (0: @depth@100ms, 1: @depth).
    public func flushDepth(tracker k: Int) {
        lock.lock(); defer { lock.unlock() }
        if depthPaused { return }
        now = nowMs()
        for (i, b) in books.enumerated() {
            let name = b.spec.name.lowercased() + (k == 0 ? "@depth@100ms" : "@depth")
            var d = b.diffs[k]
            if d.firstU == 0 { continue }
            b.diffs[k] = DiffTracker(lastFlushedU: b.updateId)
            guard sink.wantsStream(name) else { continue }
            var U = d.firstU
            if gapsToInject > 0 { gapsToInject -= 1; U += 1 }
            let bids = d.bids.sorted(by: >).map { J.arr([.s(Fixed(raw: $0)), .s(b.levelQty(.BUY, $0))]) }
            let asks = d.asks.sorted().map { J.arr([.s(Fixed(raw: $0)), .s(b.levelQty(.SELL, $0))]) }
            d.bids = []; d.asks = []
            sink.publish(stream: name, payload: J.obj([
                ("e", .str("depthUpdate")), ("E", .int(now)), ("s", .str(b.spec.name)), ("U", .int(U)), ("u", .int(b.updateId)),
                ("b", .arr(bids)), ("a", .arr(asks)),
            ]).text)
            _ = i
        }
    }

    /// Partial book depth (`<symbol>@depth5|10|20[@100ms]`).
    public func partialDepth(_ sym: Int, levels: Int) -> String {
        depth(sym, limit: levels).text
    }

    // MARK: liquidity provider

    public func requote(_ sym: Int) {
        lock.lock(); defer { lock.unlock() }
        now = nowMs()
        requoteLocked(sym, walk: true)
    }

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
        let mid = b.mid.floored(to: spec.tick)
        let half = max(1, liquidity.spreadTicks / 2)
        let baseQty = Fixed.parse(liquidity.quantity) ?? Fixed(1)
        var fills: [Fill] = []
        var touched: Set<String> = []
        for i in 0..<liquidity.levels {
            let off = Int64(half + i * liquidity.levelSpacingTicks) * spec.tick.raw
            let qty = Fixed(raw: baseQty.raw + baseQty.raw * Int64(i) / 2).floored(to: spec.step)
            for side in [Side.BUY, Side.SELL] {
                let px = Fixed(raw: side == .BUY ? mid.raw - off : mid.raw + off)
                guard px.isPositive, qty.isPositive else { continue }
                let o = Order(id: nextOrderId, clientOrderId: "sim-mm", symbol: sym, account: -1, side: side, type: .LIMIT,
                              tif: .GTC, price: px, origQty: qty, origQuoteQty: .zero, stopPrice: .zero, time: now,
                              isWorking: true, stp: .NONE)
                nextOrderId += 1
                process(o, b, &fills, &touched)
                if o.status.isOpen { b.mmOrders.append(o) }
            }
        }
        triggerStops(sym)
        publishBook(sym)
    }

    public func setMid(_ sym: Int, _ mid: Fixed) {
        lock.lock(); defer { lock.unlock() }
        books[sym].mid = mid
        now = nowMs()
        requoteLocked(sym, walk: false)
    }
}

public typealias Curve25519SigningKey = Curve25519.Signing.PublicKey

extension SymbolSpec {
    func side(_ s: Side) -> (received: String, paid: String) { s == .BUY ? (base, quote) : (quote, base) }
}
