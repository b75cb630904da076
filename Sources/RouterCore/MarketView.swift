import OMSCore

/// Instrument rules at the internal scale.
public struct InstrumentRules: Sendable, Equatable {
    public var symbol: String
    public var baseAsset: String
    public var quoteAsset: String
    public var priceScale: Int32
    public var qtyScale: Int32
    public var tick: Int64          // internal scale
    public var lot: Int64           // internal scale
    public var minQty: Int64        // internal scale
    public var maxQty: Int64        // internal scale, 0 = unlimited
    public var minNotional: Int64   // quote units, internal scale (5 USDT = 500_000_000)
    public var takerFee: Int64      // rate at the internal scale: 0.001 (0.1%) = 100_000
    public var makerFee: Int64
    public var trading: Bool

    public init(symbol: String, baseAsset: String, quoteAsset: String, priceScale: Int32, qtyScale: Int32,
                tick: Int64, lot: Int64, minQty: Int64 = 0, maxQty: Int64 = 0, minNotional: Int64 = 0,
                takerFee: Int64 = InstrumentRules.defaultFee, makerFee: Int64 = InstrumentRules.defaultFee, trading: Bool = true) {
        self.symbol = symbol; self.baseAsset = baseAsset; self.quoteAsset = quoteAsset
        self.priceScale = priceScale; self.qtyScale = qtyScale
        self.tick = max(tick, 1); self.lot = max(lot, 1); self.minQty = minQty; self.maxQty = maxQty
        self.minNotional = minNotional; self.takerFee = takerFee; self.makerFee = makerFee; self.trading = trading
    }

    /// 0.1%, Binance spot's base taker fee, when a venue publishes none.
    public static let defaultFee: Int64 = 100_000

    /// From an `oms.v1.Instrument` (tick/lot in units of 10^-price_scale / 10^-qty_scale).
    public init(_ i: Oms_V1_Instrument, defaultTakerFee: Int64 = InstrumentRules.defaultFee) {
        self.init(symbol: i.id.symbol, baseAsset: i.baseAsset, quoteAsset: i.quoteAsset,
                  priceScale: i.priceScale, qtyScale: i.qtyScale,
                  tick: Fixed.toInternal(i.tickSize, scale: i.priceScale),
                  lot: Fixed.toInternal(i.lotSize, scale: i.qtyScale),
                  minQty: Fixed.toInternal(i.minQty, scale: i.qtyScale),
                  maxQty: i.maxQty > 0 ? Fixed.toInternal(i.maxQty, scale: i.qtyScale) : 0,
                  minNotional: i.hasMinNotional ? Fixed.internalValue(i.minNotional) : 0,
                  takerFee: i.hasTakerFeeRate ? Fixed.internalValue(i.takerFeeRate) : defaultTakerFee,
                  makerFee: i.hasMakerFeeRate ? Fixed.internalValue(i.makerFeeRate) : defaultTakerFee,
                  trading: i.status == .trading || i.status == .unspecified)
    }
}

/// What the router knows of one venue market ("binance.spot").
public struct VenueState: Sendable {
    public var venue: String
    public var exchange: String
    public var market: String
    public var books: [String: VenueBook] = [:]
    public var instruments: [String: InstrumentRules] = [:]
    /// Last heartbeat from the venue's connector (ns, wall clock); 0 = never.
    public var lastHeartbeatNs: Int64 = 0
    public var connectorReady = true
    /// Fraction of the venue's request budget left (1 = untouched), from the connector's heartbeat.
    public var rateLimitHeadroom: Double = 1
    /// Free balances per account and asset (internal scale); an absent entry means unknown (unconstrained).
    public var balances: [String: [String: Int64]] = [:]

    public init(exchange: String, market: String) {
        self.exchange = exchange
        self.market = market
        venue = "\(exchange).\(market)"
    }
}

/// Router thresholds (config `router:`).
public struct RoutingPolicy: Sendable, Equatable {
    public var heartbeatTimeoutNs: Int64 = 5_000_000_000
    public var maxBookAgeNs: Int64 = 5_000_000_000
    /// Below this fraction of the rate-limit budget a venue is skipped.
    public var minRateLimitHeadroom: Double = 0.1
    /// When false, venues are eligible without any heartbeat seen (tests, single-venue setups).
    public var requireHeartbeat = true
    public init() {}
}

/// Every venue's state, keyed by "exchange.market".
public struct MarketView: Sendable {
    public var venues: [String: VenueState] = [:]
    public init() {}

    public mutating func withVenue(exchange: String, market: String, _ body: (inout VenueState) -> Void) {
        let key = "\(exchange).\(market)"
        body(&venues[key, default: VenueState(exchange: exchange, market: market)])
    }

    public mutating func apply(_ s: Oms_V1_BookSnapshot, receivedNs: Int64) {
        withVenue(exchange: s.instrument.exchange, market: s.instrument.market) { $0.books[s.instrument.symbol, default: VenueBook()].apply(s, receivedNs: receivedNs) }
    }
    public mutating func apply(_ d: Oms_V1_BookDelta, receivedNs: Int64) {
        withVenue(exchange: d.instrument.exchange, market: d.instrument.market) { $0.books[d.instrument.symbol, default: VenueBook()].apply(d, receivedNs: receivedNs) }
    }
    public mutating func apply(_ t: Oms_V1_TopOfBook, receivedNs: Int64) {
        withVenue(exchange: t.instrument.exchange, market: t.instrument.market) { $0.books[t.instrument.symbol, default: VenueBook()].apply(t, receivedNs: receivedNs) }
    }
    public mutating func apply(_ list: Oms_V1_InstrumentList) {
        for i in list.instruments {
            withVenue(exchange: i.id.exchange, market: i.id.market) { $0.instruments[i.id.symbol] = InstrumentRules(i) }
        }
    }
    public mutating func apply(_ u: Oms_V1_AccountUpdate) {
        withVenue(exchange: u.exchange, market: u.market) { v in
            for b in u.balances { v.balances[b.account.isEmpty ? u.account : b.account, default: [:]][b.asset] = Fixed.internalValue(b.free) }
        }
    }

    /// A connector heartbeat ("binance-spot" → venue binance.spot). Details
    /// `rate_limit_headroom` (0...1) or `weight_used`/`weight_limit` give the budget left.
    public mutating func apply(_ hb: Oms_V1_Heartbeat, receivedNs: Int64) {
        let parts = hb.service.split(separator: "-", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return }
        withVenue(exchange: parts[0], market: parts[1]) { v in
            v.lastHeartbeatNs = receivedNs
            v.connectorReady = hb.status == .ready || hb.status == .unspecified
            var used: Double?, limit: Double?
            for d in hb.details {
                switch d.key {
                case "rate_limit_headroom": if let x = Double(d.value) { v.rateLimitHeadroom = x }
                case "weight_used": used = Double(d.value)
                case "weight_limit": limit = Double(d.value)
                default: break
                }
            }
            if let used, let limit, limit > 0 { v.rateLimitHeadroom = max(0, 1 - used / limit) }
        }
    }
}
