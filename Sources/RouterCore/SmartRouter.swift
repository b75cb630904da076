import OMSCore

/// A parent order to route (internal scale, see `Fixed`).
public struct RouteRequest: Sendable {
    public var parentOrderID: String
    public var account: String
    public var market: String
    public var symbol: String
    public var side: Oms_V1_Side
    public var quantity: Int64
    /// nil: market order (sweep whatever is there).
    public var limitPrice: Int64?
    public var strategy: Oms_V1_RoutingStrategy
    /// "binance.spot", ...; empty: every venue of `market`.
    public var allowedVenues: [String]

    public init(parentOrderID: String, account: String, market: String, symbol: String, side: Oms_V1_Side,
                quantity: Int64, limitPrice: Int64?, strategy: Oms_V1_RoutingStrategy = .depthSplit, allowedVenues: [String] = []) {
        self.parentOrderID = parentOrderID; self.account = account; self.market = market; self.symbol = symbol
        self.side = side; self.quantity = quantity; self.limitPrice = limitPrice; self.strategy = strategy
        self.allowedVenues = allowedVenues
    }
}

/// What the router saw of one venue (for the audit record).
public struct VenueQuoteInfo: Sendable, Equatable {
    public var venue: String
    public var bestPrice: Int64 = 0
    public var availableQuantity: Int64 = 0
    /// Taker fee rate at the internal scale (0.1% = 100_000).
    public var takerFee: Int64 = 0
    /// Best price net of the taker fee, internal scale (rounded).
    public var netPrice: Int64 = 0
    public var eligible = false
    public var skipReason = ""
    public var bookAgeNs: Int64 = 0
}

public struct Allocation: Sendable, Equatable {
    public var venue: String
    public var exchange: String
    public var market: String
    public var quantity: Int64
    /// Worst price swept on this venue, or the parent's limit for a resting remainder.
    public var limitPrice: Int64
    /// Volume-weighted average of the swept levels, internal scale (truncated).
    public var expectedAveragePrice: Int64
    public var priceScale: Int32
    public var qtyScale: Int32
}

public struct RouteResult: Sendable {
    public var quotes: [VenueQuoteInfo] = []
    public var allocations: [Allocation] = []
    /// Quantity no venue could take (depth, balances, lot rounding).
    public var unallocated: Int64 = 0
    public var rejectReason: Oms_V1_RejectReason = .unspecified
    public var reasonText = ""
    public var routed: Bool { !allocations.isEmpty }
}

/// Smart order routing over the consolidated book: every eligible venue's
/// levels on the far side are ranked by price net of that venue's taker fee
/// and swept best first up to the limit price (depth split), or the whole
/// quantity goes to the venue with the best net average (best price). Per
/// venue, allocations respect the free balance, lot/min qty/max qty and min
/// notional; a limit order's unswept remainder rests at its limit on the best
/// venue that can take it. Pure and allocation-light: `route` is the hot path
/// `oms-bench --routing` measures.
public struct SmartRouter: Sendable {
    public var policy: RoutingPolicy

    public init(policy: RoutingPolicy = RoutingPolicy()) { self.policy = policy }

    struct Candidate {
        var venueIndex: Int
        var levels: [Level]
        var cursor = 0
        var fee: Int64
        var rules: InstrumentRules
        /// The account's free balance on this venue, internal scale: quote asset for a buy,
        /// base asset for a sell (nil: unknown, unconstrained).
        var capacity: Int64?
        var capacityIsQuote: Bool
        var allocated: Int64 = 0
        /// Σ price × quantity of the allocation, scale 10^-16.
        var notional: Int128 = 0
        var worstPrice: Int64 = 0
    }

    public func route(_ req: RouteRequest, view: MarketView, nowNs: Int64) -> RouteResult {
        var result = RouteResult()
        let buy = req.side == .buy
        guard req.quantity > 0, req.side != .unspecified else {
            result.rejectReason = .invalidRequest
            result.reasonText = "quantity and side are required"
            return result
        }
        // Deterministic order: venues by name.
        let names = view.venues.keys.filter { view.venues[$0]!.market == req.market }.sorted()
        var cands: [Candidate] = []
        cands.reserveCapacity(names.count)
        result.quotes.reserveCapacity(names.count)
        for name in names {
            let v = view.venues[name]!
            var q = VenueQuoteInfo(venue: name)
            let book = v.books[req.symbol]
            if let book { q.bookAgeNs = nowNs - book.updatedNs }
            let rules = v.instruments[req.symbol]
            if let rules { q.takerFee = rules.takerFee }
            let side = buy ? book?.asks : book?.bids
            if let top = side?.first {
                q.bestPrice = top.price
                q.netPrice = Fixed.fromWide(Fixed.netPrice(top.price, fee: q.takerFee, buy: buy))
                var avail: Int64 = 0
                for l in side! {
                    if let lim = req.limitPrice, buy ? l.price > lim : l.price < lim { break }
                    avail += l.quantity
                }
                q.availableQuantity = avail
            }
            var capacity: Int64?
            if let rules, let bal = v.balances[req.account] {
                capacity = buy ? bal[rules.quoteAsset] : bal[rules.baseAsset]
                if capacity == nil { capacity = 0 }
            }
            q.skipReason = skipReason(req: req, venue: v, book: book, rules: rules, capacity: capacity, nowNs: nowNs)
            q.eligible = q.skipReason.isEmpty
            if q.eligible, let rules, let side {
                cands.append(Candidate(venueIndex: result.quotes.count, levels: side, fee: rules.takerFee, rules: rules,
                                       capacity: capacity, capacityIsQuote: buy))
            }
            result.quotes.append(q)
        }
        guard !cands.isEmpty else {
            result.rejectReason = .noRoute
            result.reasonText = result.quotes.isEmpty ? "no venue trades \(req.market) \(req.symbol)"
                : "no eligible venue: " + result.quotes.map { "\($0.venue) \($0.skipReason)" }.joined(separator: "; ")
            result.unallocated = req.quantity
            return result
        }

        switch req.strategy {
        case .bestPrice: bestPrice(req, &cands, buy: buy)
        default: depthSplit(req, &cands, buy: buy)
        }

        // Venue rules: round down to lot, cap at max qty, drop below min qty / min notional.
        var allocated: Int64 = 0
        for i in cands.indices {
            var c = cands[i]
            guard c.allocated > 0 else { continue }
            var qty = c.allocated - c.allocated % c.rules.lot
            if c.rules.maxQty > 0 { qty = min(qty, c.rules.maxQty - c.rules.maxQty % c.rules.lot) }
            let px = c.worstPrice
            if qty < max(c.rules.minQty, 1) || !Self.meetsMinNotional(qty, px, c.rules) {
                qty = 0
            }
            c.notional = c.allocated > 0 ? c.notional * Int128(qty) / Int128(c.allocated) : 0
            c.allocated = qty
            cands[i] = c
            allocated += qty
        }
        var remaining = req.quantity - allocated

        // A limit order's remainder rests at its limit on the best venue that can take it.
        if remaining > 0, let lim = req.limitPrice {
            let order = cands.indices.sorted { a, b in
                let na = Fixed.netPrice(cands[a].levels.first?.price ?? lim, fee: cands[a].fee, buy: buy)
                let nb = Fixed.netPrice(cands[b].levels.first?.price ?? lim, fee: cands[b].fee, buy: buy)
                return buy ? na < nb : na > nb
            }
            for i in order where remaining > 0 {
                var c = cands[i]
                let px = buy ? lim - lim % c.rules.tick : (lim % c.rules.tick == 0 ? lim : lim - lim % c.rules.tick + c.rules.tick)
                var extra = min(remaining, Self.room(c, price: px))
                var total = c.allocated + extra
                total -= total % c.rules.lot
                if c.rules.maxQty > 0 { total = min(total, c.rules.maxQty - c.rules.maxQty % c.rules.lot) }
                extra = total - c.allocated
                guard extra > 0, total >= c.rules.minQty, Self.meetsMinNotional(total, px, c.rules) else { continue }
                c.notional += Fixed.notional(px, extra)
                c.allocated = total
                c.worstPrice = px
                remaining -= extra
                cands[i] = c
            }
        }

        for c in cands where c.allocated > 0 {
            let v = view.venues[result.quotes[c.venueIndex].venue]!
            result.allocations.append(Allocation(venue: v.venue, exchange: v.exchange, market: v.market, quantity: c.allocated,
                                                 limitPrice: c.worstPrice, expectedAveragePrice: Int64(clamping: c.notional / Int128(c.allocated)),
                                                 priceScale: c.rules.priceScale, qtyScale: c.rules.qtyScale))
        }
        result.unallocated = remaining
        if result.allocations.isEmpty {
            result.rejectReason = .noRoute
            result.reasonText = req.limitPrice == nil ? "no liquidity any eligible venue can take (depth, balance, lot/min notional)"
                : "no eligible venue can take the order within its balance and instrument rules"
        } else if remaining > 0 {
            result.reasonText = "\(Fixed.format(remaining)) unallocated (depth/balance/lot limits)"
        }
        return result
    }

    /// Why a venue's connector cannot take orders now (heartbeat missing or too
    /// old, connector not ready), or nil when it can. Applies to direct orders too.
    public func connectorProblem(_ v: VenueState?, nowNs: Int64) -> String? {
        if policy.requireHeartbeat {
            guard let v, v.lastHeartbeatNs != 0 else { return "no heartbeat from connector" }
            let age = nowNs - v.lastHeartbeatNs
            if age > policy.heartbeatTimeoutNs { return "heartbeat missing for \(age / 1_000_000) ms" }
        }
        if let v, !v.connectorReady { return "connector not ready" }
        return nil
    }

    /// qty × price ≥ the venue's min notional (exact; both sides at scale 10^-16).
    @inline(__always) static func meetsMinNotional(_ qty: Int64, _ price: Int64, _ rules: InstrumentRules) -> Bool {
        rules.minNotional <= 0 || Fixed.notional(price, qty) >= Int128(rules.minNotional) * Fixed.one128
    }

    func skipReason(req: RouteRequest, venue v: VenueState, book: VenueBook?, rules: InstrumentRules?, capacity: Int64?, nowNs: Int64) -> String {
        if !req.allowedVenues.isEmpty && !req.allowedVenues.contains(v.venue) { return "not in allowed venues" }
        guard let rules else { return "no instrument rules for \(req.symbol)" }
        if !rules.trading { return "instrument not trading" }
        if let problem = connectorProblem(v, nowNs: nowNs) { return problem }
        if v.rateLimitHeadroom < policy.minRateLimitHeadroom {
            return "rate limit near exhaustion (\(Int(v.rateLimitHeadroom * 100))% left)"
        }
        guard let book else { return "no book" }
        if book.outOfSync { return "book out of sync (sequence gap)" }
        let age = nowNs - book.updatedNs
        if age > policy.maxBookAgeNs { return "stale book (\(age / 1_000_000) ms old)" }
        if (req.side == .buy ? book.asks : book.bids).isEmpty { return "empty book side" }
        if let capacity, capacity <= 0 { return "no free \(req.side == .buy ? rules.quoteAsset : rules.baseAsset) balance" }
        return ""
    }

    /// Base quantity (internal scale, rounded down) venue `c` may still take at
    /// `price` within its balance: for a buy, the quote left after what is already
    /// allocated plus its taker fee, divided by price × (1 + fee); for a sell, the
    /// base left. Exact integer arithmetic at scale 10^-16.
    @inline(__always) static func room(_ c: Candidate, price: Int64) -> Int64 {
        guard let cap = c.capacity else { return .max }
        if c.capacityIsQuote {
            let perUnit = Fixed.one128 + Int128(c.fee)                       // 1 + fee, scale 10^-8
            let spent = c.notional * perUnit / Fixed.one128                   // quote incl. fee, scale 10^-16
            let left = Int128(cap) * Fixed.one128 - spent                     // scale 10^-16
            guard left > 0, price > 0 else { return 0 }
            // q (10^-8) costs q × price × perUnit / 10^8 at scale 10^-16; the largest q within `left`:
            return Int64(clamping: left * Fixed.one128 / (Int128(price) * perUnit))
        }
        let left = cap - c.allocated
        return left <= 0 ? 0 : left
    }

    /// K-way merge of the venues' levels by net price, best first, until the quantity is covered.
    func depthSplit(_ req: RouteRequest, _ cands: inout [Candidate], buy: Bool) {
        var remaining = req.quantity
        while remaining > 0 {
            var best = -1
            var bestNet: Int128 = 0
            for i in cands.indices {
                let c = cands[i]
                guard c.cursor < c.levels.count else { continue }
                let p = c.levels[c.cursor].price
                if let lim = req.limitPrice, buy ? p > lim : p < lim { continue }
                let n = Fixed.netPrice(p, fee: c.fee, buy: buy)
                if best < 0 || (buy ? n < bestNet : n > bestNet) { best = i; bestNet = n }
            }
            if best < 0 { break }
            var c = cands[best]
            let level = c.levels[c.cursor]
            let room = Self.room(c, price: level.price)
            let take = min(remaining, level.quantity, room)
            if take > 0 {
                c.allocated += take
                c.notional += Fixed.notional(level.price, take)
                c.worstPrice = level.price
                remaining -= take
            }
            if take == level.quantity { c.cursor += 1 } else if room <= take { c.cursor = c.levels.count }  // balance exhausted
            cands[best] = c
        }
    }

    /// The venue whose sweep for the whole quantity has the best net average;
    /// if none has the depth, the one that covers the most (ties: better net).
    func bestPrice(_ req: RouteRequest, _ cands: inout [Candidate], buy: Bool) {
        var bestIdx = -1
        var bestFilled: Int64 = 0
        var bestNet: Int128 = 0
        for i in cands.indices {
            var c = cands[i]
            var remaining = req.quantity
            for l in c.levels where remaining > 0 {
                if let lim = req.limitPrice, buy ? l.price > lim : l.price < lim { break }
                let take = min(remaining, l.quantity, Self.room(c, price: l.price))
                if take <= 0 { break }
                c.allocated += take
                c.notional += Fixed.notional(l.price, take)
                c.worstPrice = l.price
                remaining -= take
            }
            guard c.allocated > 0 else { continue }
            // Average price net of fee, scale 10^-16: notional (10^-16) / qty (10^-8) × (1 ± fee) (10^-8).
            let avgNet = c.notional * (buy ? Fixed.one128 + Int128(c.fee) : Fixed.one128 - Int128(c.fee)) / Int128(c.allocated)
            if bestIdx < 0 || c.allocated > bestFilled || (c.allocated == bestFilled && (buy ? avgNet < bestNet : avgNet > bestNet)) {
                bestIdx = i; bestFilled = c.allocated; bestNet = avgNet
            }
            cands[i].allocated = c.allocated
            cands[i].notional = c.notional
            cands[i].worstPrice = c.worstPrice
        }
        for i in cands.indices where i != bestIdx {
            cands[i].allocated = 0
            cands[i].notional = 0
        }
    }
}
