import OMSCore
import RouterCore

/// A request problem, reported as INVALID_ARGUMENT "field: problem".
public struct FieldViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var reason: Oms_V1_RejectReason
    public init(_ field: String, _ problem: String, reason: Oms_V1_RejectReason = .invalidRequest) {
        self.field = field; self.problem = problem; self.reason = reason
    }
    public var description: String { "\(field): \(problem)" }
}

/// Instrument rules known to oms-server: static config first, then each
/// connector's md.instruments list.
public final class InstrumentRegistry: Sendable {
    private let table = Synchronization.Mutex<[String: Oms_V1_Instrument]>([:])
    public init(_ initial: [Oms_V1_Instrument] = []) { for i in initial { put(i) } }

    static func key(_ ex: String, _ mk: String, _ sym: String) -> String { "\(ex).\(mk).\(sym)" }
    public func put(_ i: Oms_V1_Instrument) { table.withLock { $0[Self.key(i.id.exchange, i.id.market, i.id.symbol)] = i } }
    public func apply(_ l: Oms_V1_InstrumentList) { for i in l.instruments { put(i) } }
    public func all() -> [Oms_V1_Instrument] { table.withLock { Array($0.values) } }
    public func get(_ ex: String, _ mk: String, _ sym: String) -> Oms_V1_Instrument? { table.withLock { $0[Self.key(ex, mk, sym)] } }
    /// Every venue listing `symbol` on `market` (routed orders).
    public func venues(market: String, symbol: String) -> [Oms_V1_Instrument] {
        table.withLock { t in t.values.filter { $0.id.market == market && $0.id.symbol == symbol } }
    }
}

import Synchronization

/// Request validation for SubmitOrder: shape, then the instrument's rules.
public enum OrderValidator {
    public static func isLimitType(_ t: Oms_V1_OrderType) -> Bool {
        t == .limit || t == .limitMaker || t == .stopLimit || t == .takeProfitLimit
    }
    public static func isStopType(_ t: Oms_V1_OrderType) -> Bool {
        t == .stopLimit || t == .stopMarket || t == .takeProfitLimit || t == .takeProfitMarket
    }

    static func positive(_ d: Oms_V1_Decimal, _ field: String) throws(FieldViolation) {
        guard d.scale >= 0 && d.scale <= 18 else { throw FieldViolation(field, "scale must be 0...18") }
        guard d.mantissa > 0 else { throw FieldViolation(field, "must be greater than zero") }
    }

    /// Checks `o` (a NewOrder built from the request, instrument normalised); returns the possibly defaulted order.
    public static func validate(_ input: Oms_V1_NewOrder, registry: InstrumentRegistry) throws(FieldViolation) -> Oms_V1_NewOrder {
        var o = input
        let cid = o.clientOrderID
        guard !cid.isEmpty else { throw FieldViolation("client_order_id", "is required") }
        guard cid.utf8.count <= 36, SubjectToken.isValid(cid) else {
            throw FieldViolation("client_order_id", "must be 1-36 characters of letters, digits, '-' or '_'")
        }
        guard o.hasInstrument else { throw FieldViolation("instrument", "is required") }
        guard SubjectToken.isValid(o.instrument.exchange) else { throw FieldViolation("instrument.exchange", "is required (e.g. binance, or auto for routing)") }
        guard SubjectToken.isValid(o.instrument.market) else { throw FieldViolation("instrument.market", "is required (spot or futures)") }
        do { o.instrument.symbol = try Symbol.normalized(o.instrument.symbol) } catch {
            throw FieldViolation("instrument.symbol", "\"\(o.instrument.symbol)\" is not a symbol (e.g. BTCUSDT)")
        }
        guard o.side == .buy || o.side == .sell else { throw FieldViolation("side", "must be BUY or SELL") }
        switch o.orderType {
        case .limit, .market, .limitMaker, .stopLimit, .stopMarket, .takeProfitLimit, .takeProfitMarket: break
        default: throw FieldViolation("order_type", "is required (LIMIT, MARKET, LIMIT_MAKER, STOP_LIMIT, ...)")
        }
        guard o.hasQuantity else { throw FieldViolation("quantity", "is required") }
        try positive(o.quantity, "quantity")
        if isLimitType(o.orderType) {
            guard o.hasPrice else { throw FieldViolation("price", "is required for \(o.orderType) orders") }
            try positive(o.price, "price")
        } else if o.hasPrice && o.price.mantissa != 0 {
            throw FieldViolation("price", "must be absent for \(o.orderType) orders")
        } else {
            o.clearPrice()
        }
        if isStopType(o.orderType) {
            guard o.hasStopPrice else { throw FieldViolation("stop_price", "is required for \(o.orderType) orders") }
            try positive(o.stopPrice, "stop_price")
        } else if o.hasStopPrice && o.stopPrice.mantissa != 0 {
            throw FieldViolation("stop_price", "is only allowed for stop and take-profit orders")
        } else {
            o.clearStopPrice()
        }
        // Time in force.
        let marketLike = o.orderType == .market || o.orderType == .stopMarket || o.orderType == .takeProfitMarket
        if o.timeInForce == .unspecified { o.timeInForce = marketLike ? .ioc : (o.orderType == .limitMaker ? .gtx : .gtc) }
        if marketLike && !(o.timeInForce == .ioc || o.timeInForce == .fok) {
            throw FieldViolation("time_in_force", "market orders are IOC or FOK")
        }
        if o.postOnly || o.orderType == .limitMaker {
            guard o.orderType == .limit || o.orderType == .limitMaker else { throw FieldViolation("post_only", "only limit orders can be post-only") }
            guard o.timeInForce == .gtc || o.timeInForce == .gtx else { throw FieldViolation("time_in_force", "a post-only order cannot be IOC or FOK") }
        }
        // Routing.
        let routed = o.instrument.exchange == "auto"
        if routed {
            if o.routing.strategy == .direct { throw FieldViolation("routing.strategy", "DIRECT needs a named exchange, not auto") }
            if isStopType(o.orderType) { throw FieldViolation("order_type", "stop and take-profit orders need a named exchange") }
            for v in o.routing.allowedVenues {
                let p = v.split(separator: ".", omittingEmptySubsequences: false)
                guard p.count == 2, p.allSatisfy({ SubjectToken.isValid($0) }) else {
                    throw FieldViolation("routing.allowed_venues", "\"\(v)\" is not exchange.market (e.g. binance.spot)")
                }
            }
            let listings = registry.venues(market: o.instrument.market, symbol: o.instrument.symbol)
                .filter { o.routing.allowedVenues.isEmpty || o.routing.allowedVenues.contains("\($0.id.exchange).\($0.id.market)") }
            guard !listings.isEmpty else {
                throw FieldViolation("instrument", "no venue lists \(o.instrument.market) \(o.instrument.symbol)", reason: .unknownInstrument)
            }
            // The coarsest rules any venue needs are checked by the router per child; here: the price must be representable.
            if o.hasPrice, let finest = listings.map(\.priceScale).max(), DecimalText.rescale(o.price, to: finest) == nil {
                throw FieldViolation("price", "has more decimals than any venue's tick allows", reason: .tickSize)
            }
        } else {
            if o.routing.strategy == .bestPrice || o.routing.strategy == .depthSplit {
                throw FieldViolation("routing.strategy", "smart routing needs instrument.exchange = auto")
            }
            guard let rules = registry.get(o.instrument.exchange, o.instrument.market, o.instrument.symbol) else {
                throw FieldViolation("instrument", "unknown instrument \(o.instrument.exchange).\(o.instrument.market).\(o.instrument.symbol)", reason: .unknownInstrument)
            }
            try check(o, rules: rules)
            // Normalise to the instrument's scales (exact: check() proved they fit), so
            // every service downstream sees quantities and prices in instrument units.
            o.quantity = decimal(DecimalText.rescale(o.quantity, to: rules.qtyScale)!, rules.qtyScale)
            if o.hasPrice { o.price = decimal(DecimalText.rescale(o.price, to: rules.priceScale)!, rules.priceScale) }
            if o.hasStopPrice { o.stopPrice = decimal(DecimalText.rescale(o.stopPrice, to: rules.priceScale)!, rules.priceScale) }
        }
        return o
    }

    /// Tick, lot, min/max quantity and min notional of one venue's instrument.
    public static func check(_ o: Oms_V1_NewOrder, rules i: Oms_V1_Instrument) throws(FieldViolation) {
        if i.status == .halted || i.status == .delisted {
            throw FieldViolation("instrument", "\(i.id.symbol) is not trading (\(i.status))", reason: .tradingHalted)
        }
        guard let qty = DecimalText.rescale(o.quantity, to: i.qtyScale) else {
            throw FieldViolation("quantity", "more than \(i.qtyScale) decimals (lot size \(lot(i)))", reason: .lotSize)
        }
        if i.lotSize > 0 && qty % i.lotSize != 0 { throw FieldViolation("quantity", "not a multiple of the lot size \(lot(i))", reason: .lotSize) }
        if i.minQty > 0 && qty < i.minQty { throw FieldViolation("quantity", "below the minimum \(units(i.minQty, i.qtyScale))", reason: .minQty) }
        if i.maxQty > 0 && qty > i.maxQty { throw FieldViolation("quantity", "above the maximum \(units(i.maxQty, i.qtyScale))", reason: .maxOrderQty) }
        for (field, has, d) in [("price", o.hasPrice, o.price), ("stop_price", o.hasStopPrice, o.stopPrice)] where has {
            guard let px = DecimalText.rescale(d, to: i.priceScale) else {
                throw FieldViolation(field, "more than \(i.priceScale) decimals (tick size \(units(i.tickSize, i.priceScale)))", reason: .tickSize)
            }
            if i.tickSize > 0 && px % i.tickSize != 0 {
                throw FieldViolation(field, "not a multiple of the tick size \(units(i.tickSize, i.priceScale))", reason: .tickSize)
            }
        }
        if o.hasPrice && i.hasMinNotional && i.minNotional.mantissa > 0, let px = DecimalText.rescale(o.price, to: i.priceScale) {
            // Exact integer comparison at a common scale: px*qty (scale ps+qs) vs min notional.
            let s = Int(i.priceScale + i.qtyScale)
            let notional = Int128(px) * Int128(qty)
            var minimum = Int128(i.minNotional.mantissa)
            let ms = Int(i.minNotional.scale)
            var lhs = notional
            if ms < s { for _ in 0..<(s - ms) { minimum *= 10 } } else { for _ in 0..<(ms - s) { lhs *= 10 } }
            if lhs < minimum {
                var n = Oms_V1_Decimal(); n.mantissa = Int64(clamping: notional); n.scale = Int32(s)
                throw FieldViolation("quantity", "notional \(DecimalText.format(n)) below the minimum \(DecimalText.format(i.minNotional))", reason: .minNotional)
            }
        }
    }

    static func decimal(_ v: Int64, _ scale: Int32) -> Oms_V1_Decimal {
        var d = Oms_V1_Decimal(); d.mantissa = v; d.scale = scale
        return d
    }

    static func units(_ v: Int64, _ scale: Int32) -> String {
        var d = Oms_V1_Decimal(); d.mantissa = v; d.scale = scale
        return DecimalText.format(d)
    }
    static func lot(_ i: Oms_V1_Instrument) -> String { units(i.lotSize, i.qtyScale) }
}
