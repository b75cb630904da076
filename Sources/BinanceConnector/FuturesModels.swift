import Foundation
import OMSCore
import Yams

// Binance USDⓈ-M futures payloads (REST /fapi and the listenKey user data stream). Money stays a string
// until converted with FixedPoint.

/// `POST/GET/DELETE /fapi/v1/order` (ACK and RESULT carry the same object).
public struct FuturesOrderResponse: Decodable, Sendable, Equatable {
    public var symbol: String
    public var orderId: Int64
    public var clientOrderId: String?
    public var status: String?
    public var price: String?
    public var avgPrice: String?
    public var origQty: String?
    public var executedQty: String?
    public var cumQuote: String?
    public var timeInForce: String?
    public var type: String?
    public var side: String?
    public var positionSide: String?
    public var reduceOnly: Bool?
    public var time: Int64?
    public var updateTime: Int64?

    /// The shape the shared order bookkeeping understands.
    var asOrderResponse: OrderResponse {
        OrderResponse(symbol: symbol, orderId: orderId, orderListId: nil, clientOrderId: clientOrderId, origClientOrderId: nil,
                      transactTime: nil, price: price, origQty: origQty, executedQty: executedQty, cummulativeQuoteQty: cumQuote,
                      status: status, timeInForce: timeInForce, type: type, side: side, stopPrice: nil, time: time,
                      updateTime: updateTime, isWorking: nil, workingTime: nil, fills: nil)
    }
}

/// `GET /fapi/v1/userTrades`.
public struct FuturesUserTrade: Decodable, Sendable, Equatable {
    public var symbol: String
    public var id: Int64
    public var orderId: Int64
    public var price: String
    public var qty: String
    public var commission: String
    public var commissionAsset: String
    public var realizedPnl: String?
    public var maker: Bool
    public var side: String
    public var positionSide: String?
    public var time: Int64
}

/// `GET /fapi/v2/positionRisk` entries.
public struct FuturesPositionRisk: Decodable, Sendable, Equatable {
    public var symbol: String
    public var positionSide: String
    public var positionAmt: String
    public var entryPrice: String
    public var markPrice: String
    public var unRealizedProfit: String
    public var liquidationPrice: String
    public var leverage: String
    public var marginType: String            // "cross" | "isolated"
    public var isolatedMargin: String
    public var isolatedWallet: String?
    public var notional: String?
    public var updateTime: Int64?
}

/// `GET /fapi/v3/account` (the parts used for balances and margin ratio).
public struct FuturesAccount: Decodable, Sendable {
    public struct Asset: Decodable, Sendable {
        public var asset: String
        public var walletBalance: String
        public var marginBalance: String
        public var availableBalance: String
        public var initialMargin: String
        public var maintMargin: String
        public var updateTime: Int64?
    }
    public struct Position: Decodable, Sendable {
        public var symbol: String
        public var positionSide: String
        public var positionAmt: String
        public var maintMargin: String
        public var isolatedWallet: String?
        public var unrealizedProfit: String?
    }
    public var totalMaintMargin: String
    public var totalMarginBalance: String
    public var assets: [Asset]
    public var positions: [Position]
}

/// `POST/GET /fapi/v1/algoOrder` (conditional orders).
public struct FuturesAlgoResponse: Decodable, Sendable, Equatable {
    public var algoId: Int64
    public var clientAlgoId: String
    public var symbol: String?
    public var algoStatus: String?
    public var actualOrderId: String?
    public var updateTime: Int64?
}

/// GET /fapi/v1/income entry. USDⓈ-M sends `tranId` as a number, portfolio margin as a string: both accepted.
public struct FuturesIncome: Decodable, Sendable, Equatable {
    public var symbol: String
    public var incomeType: String
    public var income: String
    public var asset: String
    public var time: Int64
    public var tranId: String
    enum CodingKeys: String, CodingKey { case symbol, incomeType, income, asset, time, tranId }

    public init(symbol: String, incomeType: String, income: String, asset: String, time: Int64, tranId: String) {
        self.symbol = symbol; self.incomeType = incomeType; self.income = income; self.asset = asset; self.time = time; self.tranId = tranId
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbol = try c.decodeIfPresent(String.self, forKey: .symbol) ?? ""
        incomeType = try c.decode(String.self, forKey: .incomeType)
        income = try c.decode(String.self, forKey: .income)
        asset = try c.decode(String.self, forKey: .asset)
        time = try c.decode(Int64.self, forKey: .time)
        if let n = try? c.decode(Int64.self, forKey: .tranId) { tranId = String(n) } else { tranId = try c.decode(String.self, forKey: .tranId) }
    }
}

public struct ListenKeyResponse: Decodable, Sendable { public var listenKey: String }

/// Futures user data stream events (`/private/ws/<listenKey>`).
public enum FuturesUserEvent: Sendable, Equatable {
    public struct OrderUpdate: Decodable, Sendable, Equatable {
        public var symbol: String           // s
        public var clientOrderId: String    // c
        public var side: String             // S
        public var orderType: String        // o
        public var executionType: String    // x
        public var status: String           // X
        public var orderId: Int64           // i
        public var lastQty: String          // l
        public var cumQty: String           // z
        public var lastPrice: String        // L
        public var avgPrice: String?        // ap
        public var commissionAsset: String? // N
        public var commission: String?      // n
        public var tradeTime: Int64         // T
        public var tradeId: Int64           // t
        public var isMaker: Bool?           // m
        public var reduceOnly: Bool?        // R
        public var positionSide: String?    // ps
        public var realizedPnl: String?     // rp
        enum CodingKeys: String, CodingKey {
            case symbol = "s", clientOrderId = "c", side = "S", orderType = "o", executionType = "x", status = "X"
            case orderId = "i", lastQty = "l", cumQty = "z", lastPrice = "L", avgPrice = "ap", commissionAsset = "N"
            case commission = "n", tradeTime = "T", tradeId = "t", isMaker = "m", reduceOnly = "R", positionSide = "ps"
            case realizedPnl = "rp"
        }
    }
    public struct AccountPosition: Decodable, Sendable, Equatable {
        public var symbol: String, amount: String, entryPrice: String, accumulatedRealized: String?
        public var unrealized: String?, marginType: String?, isolatedWallet: String?, positionSide: String
        enum CodingKeys: String, CodingKey {
            case symbol = "s", amount = "pa", entryPrice = "ep", accumulatedRealized = "cr", unrealized = "up"
            case marginType = "mt", isolatedWallet = "iw", positionSide = "ps"
        }
    }
    public struct AccountBalance: Decodable, Sendable, Equatable {
        public var asset: String, walletBalance: String, crossWallet: String?
        enum CodingKeys: String, CodingKey { case asset = "a", walletBalance = "wb", crossWallet = "cw" }
    }
    public struct AccountData: Decodable, Sendable, Equatable {
        public var reason: String
        public var balances: [AccountBalance]
        public var positions: [AccountPosition]
        enum CodingKeys: String, CodingKey { case reason = "m", balances = "B", positions = "P" }
    }

    public struct AlgoUpdate: Decodable, Sendable, Equatable {
        public var clientAlgoId: String     // caid
        public var algoId: Int64            // aid
        public var symbol: String           // s
        public var status: String           // X: NEW, CANCELED, TRIGGERING, TRIGGERED, FINISHED, REJECTED, EXPIRED
        public var actualOrderId: String?   // ai
        enum CodingKeys: String, CodingKey { case clientAlgoId = "caid", algoId = "aid", symbol = "s", status = "X", actualOrderId = "ai" }
    }

    case orderUpdate(eventTime: Int64, OrderUpdate)
    case algoUpdate(eventTime: Int64, AlgoUpdate)
    case accountUpdate(eventTime: Int64, AccountData)
    case marginCall(eventTime: Int64)
    case listenKeyExpired
    case other(String)

    public static func parse(_ bytes: [UInt8]) throws -> FuturesUserEvent {
        let data = Data(bytes)
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw ParseError("event is not an object") }
        let inner = (obj["data"] as? [String: Any]) ?? obj    // combined-stream wrapper
        let e = inner["e"] as? String ?? ""
        let E = (inner["E"] as? NSNumber)?.int64Value ?? 0
        func sub<T: Decodable>(_ key: String, _ t: T.Type) throws -> T {
            try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: inner[key] ?? [:]))
        }
        switch e {
        case "ORDER_TRADE_UPDATE": return .orderUpdate(eventTime: E, try sub("o", OrderUpdate.self))
        case "ACCOUNT_UPDATE": return .accountUpdate(eventTime: E, try sub("a", AccountData.self))
        case "ALGO_UPDATE": return .algoUpdate(eventTime: E, try sub("o", AlgoUpdate.self))
        case "MARGIN_CALL": return .marginCall(eventTime: E)
        case "listenKeyExpired": return .listenKeyExpired
        default: return .other(e)
        }
    }
}

/// Per-symbol futures settings from the venue block: applied at start and read back.
///
///     exchanges.binance.futures:
///       position_mode: one_way            # or hedge
///       leverage: 10                      # every symbol, or a map { BTCUSDT: 10, ETHUSDT: 5 }
///       margin_type: CROSSED              # or ISOLATED, or a map
public struct FuturesSettings: Sendable, Equatable {
    public var hedgeMode: Bool?
    public var leverage: [String: Int] = [:]
    public var marginType: [String: String] = [:]      // CROSSED | ISOLATED
    public var defaultLeverage: Int?
    public var defaultMarginType: String?
    public init(hedgeMode: Bool? = nil, defaultLeverage: Int? = nil, defaultMarginType: String? = nil) {
        self.hedgeMode = hedgeMode; self.defaultLeverage = defaultLeverage; self.defaultMarginType = defaultMarginType
    }

    public func leverage(_ symbol: String) -> Int? { leverage[symbol] ?? defaultLeverage }
    public func marginType(_ symbol: String) -> String? { marginType[symbol] ?? defaultMarginType }

    public enum Problem: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String { if case .invalid(let s) = self { return s }; return "" }
    }

    public static func load(path: String, exchange: String = "binance", market: String = "futures") throws -> FuturesSettings {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let root = try Yams.compose(yaml: text),
              let block = root.mapping?["exchanges"]?.mapping?[exchange]?.mapping?[market]?.mapping else { return FuturesSettings() }
        return try parse(block)
    }

    static func parse(_ block: Node.Mapping) throws -> FuturesSettings {
        var s = FuturesSettings()
        if let m = block["position_mode"]?.string {
            switch m.lowercased() {
            case "one_way", "oneway", "one-way": s.hedgeMode = false
            case "hedge": s.hedgeMode = true
            default: throw Problem.invalid("position_mode: \"\(m)\" is invalid: expected one_way or hedge")
            }
        }
        func lev(_ n: Node, _ key: String) throws -> Int {
            guard let v = n.int, (1...125).contains(v) else { throw Problem.invalid("\(key): \"\(n.string ?? "")\" is invalid: expected 1...125") }
            return v
        }
        func mt(_ n: Node, _ key: String) throws -> String {
            let v = (n.string ?? "").uppercased()
            let norm = v == "CROSS" ? "CROSSED" : v
            guard norm == "CROSSED" || norm == "ISOLATED" else { throw Problem.invalid("\(key): \"\(n.string ?? "")\" is invalid: expected CROSSED or ISOLATED") }
            return norm
        }
        if let l = block["leverage"] {
            if let map = l.mapping {
                for (k, v) in map { let sym = try Symbol.normalized(k.string ?? ""); s.leverage[sym] = try lev(v, "leverage.\(sym)") }
            } else { s.defaultLeverage = try lev(l, "leverage") }
        }
        if let m = block["margin_type"] {
            if let map = m.mapping {
                for (k, v) in map { let sym = try Symbol.normalized(k.string ?? ""); s.marginType[sym] = try mt(v, "margin_type.\(sym)") }
            } else { s.defaultMarginType = try mt(m, "margin_type") }
        }
        return s
    }
}
