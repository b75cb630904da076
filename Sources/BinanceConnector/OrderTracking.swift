import Crypto
import Foundation
import OMSCore

/// Client order ids derived from the OMS order id, so a retried or replayed
/// command always names the same venue order. Binance accepts
/// `[A-Za-z0-9_-]{1,36}`: a conforming OMS id is used as is (and maps back
/// without state); anything else becomes `H` + 35 hex digits of its SHA-256.
public enum ClientOrderID {
    static func isValid(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 36 && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
    }

    public static func venueID(forOrderID id: String) -> String {
        if isValid(id) && !isHashed(id) { return id }
        return "H" + String(Hex.encode(SHA256.hash(data: Array(id.utf8))).prefix(35))
    }

    static func isHashed(_ s: String) -> Bool {
        s.utf8.count == 36 && s.hasPrefix("H") && s.dropFirst().utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The OMS order id when it can be recovered without state.
    public static func orderID(forVenueID v: String) -> String? { isHashed(v) ? nil : v }
}

/// What the connector knows about one order (rebuilt from the ORDERS stream at start).
public struct TrackedOrder: Sendable {
    public var orderID: String
    public var venueClientID: String
    public var clientOrderID = ""
    public var account = ""
    public var parentOrderID = ""
    public var symbol: String
    public var side: Oms_V1_Side = .unspecified
    public var orderType: Oms_V1_OrderType = .unspecified
    public var timeInForce: Oms_V1_TimeInForce = .unspecified
    public var quantity = Oms_V1_Decimal()
    public var price = Oms_V1_Decimal()
    public var stopPrice = Oms_V1_Decimal()
    public var postOnly = false
    public var venueOrderID: Int64 = 0
    public var status: Oms_V1_OrderStatus = .pendingNew
    /// Cumulative filled quantity and quote amount, at scale 8.
    public var filled: Int64 = 0
    public var cumQuote: Int64 = 0
    public var createdNs: Int64 = 0
    public var updatedNs: Int64 = 0

    public init(orderID: String, venueClientID: String, symbol: String) {
        self.orderID = orderID
        self.venueClientID = venueClientID
        self.symbol = symbol
    }

    public var isTerminal: Bool { [.filled, .canceled, .rejected, .expired].contains(status) }

    public init(new: Oms_V1_NewOrder, symbol: String) {
        self.init(orderID: new.orderID, venueClientID: ClientOrderID.venueID(forOrderID: new.orderID), symbol: symbol)
        clientOrderID = new.clientOrderID
        account = new.account
        parentOrderID = new.parentOrderID
        side = new.side
        orderType = new.orderType
        timeInForce = new.timeInForce
        quantity = new.quantity
        price = new.price
        stopPrice = new.stopPrice
        postOnly = new.postOnly
        createdNs = new.tsNs
    }

    public init(order o: Oms_V1_Order) {
        self.init(orderID: o.orderID, venueClientID: ClientOrderID.venueID(forOrderID: o.orderID), symbol: o.instrument.symbol)
        clientOrderID = o.clientOrderID
        account = o.account
        parentOrderID = o.parentOrderID
        side = o.side
        orderType = o.orderType
        timeInForce = o.timeInForce
        quantity = o.quantity
        price = o.price
        stopPrice = o.stopPrice
        postOnly = o.postOnly
        venueOrderID = Int64(o.venueOrderID) ?? 0
        status = o.status
        filled = FixedPoint.rescale(o.filledQuantity, to: 8)
        createdNs = o.createdNs
        updatedNs = o.updatedNs
        if o.hasAveragePrice {
            // cumQuote = avg * filled (scale 8); only used for the average price of later events.
            let q = Oms_V1_Decimal(mantissa: filled, scale: 8)
            let avg = FixedPoint.rescale(o.averagePrice, to: 8)
            cumQuote = Int64((Double(avg) * Double(q.mantissa) / 1e8).rounded())  // display only; fills carry exact prices
        }
    }

    public func order(exchange: String, market: String) -> Oms_V1_Order {
        Oms_V1_Order.with { o in
            o.orderID = orderID
            o.clientOrderID = clientOrderID.isEmpty ? venueClientID : clientOrderID
            o.venueOrderID = venueOrderID == 0 ? "" : String(venueOrderID)
            o.account = account
            o.instrument = .with { $0.exchange = exchange; $0.market = market; $0.symbol = symbol }
            o.side = side
            o.orderType = orderType
            o.timeInForce = timeInForce
            o.status = status
            o.quantity = quantity
            o.price = price
            o.stopPrice = stopPrice
            o.filledQuantity = Oms_V1_Decimal(mantissa: filled, scale: 8)
            let qty8 = FixedPoint.rescale(quantity, to: 8)
            o.leavesQuantity = Oms_V1_Decimal(mantissa: isTerminal ? 0 : max(qty8 - filled, 0), scale: 8)
            if filled > 0, let avg = FixedPoint.divide(Oms_V1_Decimal(mantissa: cumQuote, scale: 8), Oms_V1_Decimal(mantissa: filled, scale: 8), scale: 8) {
                o.averagePrice = avg
            }
            o.postOnly = postOnly
            o.parentOrderID = parentOrderID
            o.createdNs = createdNs
            o.updatedNs = updatedNs
        }
    }
}

/// Binance enums to and from the contracts.
public enum BinanceMapping {
    public static func status(_ s: String) -> Oms_V1_OrderStatus {
        switch s {
        case "NEW", "PENDING_NEW": .accepted
        case "PARTIALLY_FILLED": .partiallyFilled
        case "FILLED": .filled
        case "CANCELED": .canceled
        case "PENDING_CANCEL": .pendingCancel
        case "REJECTED": .rejected
        case "EXPIRED", "EXPIRED_IN_MATCH": .expired
        default: .unspecified
        }
    }

    public static func eventType(_ s: Oms_V1_OrderStatus) -> Oms_V1_OrderEventType {
        switch s {
        case .accepted: .accepted
        case .partiallyFilled: .partiallyFilled
        case .filled: .filled
        case .canceled: .canceled
        case .rejected: .rejected
        case .expired: .expired
        case .pendingCancel: .pendingCancel
        default: .unspecified
        }
    }

    /// Progress rank: an event never moves an order backwards.
    static func rank(_ s: Oms_V1_OrderStatus) -> Int {
        switch s {
        case .pendingNew: 0
        case .accepted: 1
        case .pendingCancel: 2
        case .partiallyFilled: 3
        case .filled, .canceled, .rejected, .expired: 4
        default: 0
        }
    }

    public static func side(_ s: Oms_V1_Side) -> String? {
        switch s {
        case .buy: "BUY"
        case .sell: "SELL"
        default: nil
        }
    }

    public static func side(_ s: String) -> Oms_V1_Side { s == "BUY" ? .buy : s == "SELL" ? .sell : .unspecified }

    /// Binance order type and time in force for a NewOrder, or a reason it cannot be sent.
    public static func orderParams(_ n: Oms_V1_NewOrder, symbol: String, venueClientID: String) -> Result<[(String, String)], ParseError> {
        guard let side = side(n.side) else { return .failure(ParseError("side is required")) }
        var p: [(String, String)] = [("symbol", symbol), ("side", side)]
        let postOnly = n.postOnly || n.orderType == .limitMaker || n.timeInForce == .gtx
        func tif() -> String? {
            switch n.timeInForce {
            case .gtc, .unspecified: "GTC"
            case .ioc: "IOC"
            case .fok: "FOK"
            default: nil
            }
        }
        switch n.orderType {
        case .limit, .limitMaker:
            guard n.hasPrice else { return .failure(ParseError("LIMIT needs a price")) }
            if postOnly {
                p.append(("type", "LIMIT_MAKER"))
            } else {
                guard let t = tif() else { return .failure(ParseError("time in force \(n.timeInForce) is not supported on Binance spot")) }
                p.append(("type", "LIMIT")); p.append(("timeInForce", t))
            }
            p.append(("quantity", FixedPoint.string(n.quantity)))
            p.append(("price", FixedPoint.string(n.price)))
        case .market:
            p.append(("type", "MARKET"))
            if n.hasQuoteQuantity && !n.hasQuantity { p.append(("quoteOrderQty", FixedPoint.string(n.quoteQuantity))) } else { p.append(("quantity", FixedPoint.string(n.quantity))) }
        case .stopLimit, .takeProfitLimit:
            guard n.hasPrice, n.hasStopPrice, let t = tif() else { return .failure(ParseError("stop/take-profit limit needs price, stop price and GTC/IOC/FOK")) }
            p.append(("type", n.orderType == .stopLimit ? "STOP_LOSS_LIMIT" : "TAKE_PROFIT_LIMIT")); p.append(("timeInForce", t))
            p.append(("quantity", FixedPoint.string(n.quantity)))
            p.append(("price", FixedPoint.string(n.price)))
            p.append(("stopPrice", FixedPoint.string(n.stopPrice)))
        case .stopMarket, .takeProfitMarket:
            guard n.hasStopPrice else { return .failure(ParseError("stop/take-profit market needs a stop price")) }
            p.append(("type", n.orderType == .stopMarket ? "STOP_LOSS" : "TAKE_PROFIT"))
            p.append(("quantity", FixedPoint.string(n.quantity)))
            p.append(("stopPrice", FixedPoint.string(n.stopPrice)))
        default:
            return .failure(ParseError("order type \(n.orderType) is not supported"))
        }
        p.append(("newClientOrderId", venueClientID))
        p.append(("newOrderRespType", "FULL"))
        return .success(p)
    }

    public static func rejectReason(code: Int, msg: String) -> Oms_V1_RejectReason {
        let m = msg.lowercased()
        if m.contains("insufficient balance") { return .insufficientBalance }
        if m.contains("immediately match") { return .wouldCross }
        if code == -1015 || code == -1003 { return .rateLimited }
        if m.contains("lot_size") || m.contains("market_lot_size") { return .lotSize }
        if m.contains("price_filter") { return .tickSize }
        if m.contains("notional") { return .minNotional }
        if code == -1121 { return .unknownInstrument }
        return .venueRejected
    }
}
