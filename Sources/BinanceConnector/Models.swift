import Foundation

// Payloads of the user-data stream, the WebSocket API and the REST API, as
// documented in binance-spot-api-docs. Numbers that carry money are strings
// on the wire and stay strings here until converted with `FixedPoint`.
// Not the hot path: Codable is fine for these.

/// `{"code":-1013,"msg":"Filter failure: LOT_SIZE"}`
public struct BinanceErrorBody: Decodable, Sendable, Equatable {
    public var code: Int
    public var msg: String
}

public struct ExecutionReport: Decodable, Sendable, Equatable {
    public var eventType: String          // e
    public var eventTime: Int64           // E
    public var symbol: String             // s
    public var clientOrderId: String      // c
    public var side: String               // S
    public var orderType: String          // o
    public var timeInForce: String        // f
    public var quantity: String           // q
    public var price: String              // p
    public var stopPrice: String?         // P
    public var orderListId: Int64?        // g
    public var origClientOrderId: String? // C
    public var executionType: String      // x
    public var orderStatus: String        // X
    public var rejectReason: String?      // r
    public var orderId: Int64             // i
    public var lastQuantity: String       // l
    public var cumulativeQuantity: String // z
    public var lastPrice: String          // L
    public var commission: String?        // n
    public var commissionAsset: String?   // N
    public var transactionTime: Int64     // T
    public var tradeId: Int64             // t
    public var executionId: Int64?        // I
    public var isWorking: Bool?           // w
    public var isMaker: Bool?             // m
    public var createdTime: Int64?        // O
    public var cumulativeQuoteQuantity: String? // Z
    public var lastQuoteQuantity: String? // Y
    public var quoteOrderQty: String?     // Q

    enum CodingKeys: String, CodingKey {
        case eventType = "e", eventTime = "E", symbol = "s", clientOrderId = "c", side = "S", orderType = "o"
        case timeInForce = "f", quantity = "q", price = "p", stopPrice = "P", orderListId = "g", origClientOrderId = "C"
        case executionType = "x", orderStatus = "X", rejectReason = "r", orderId = "i", lastQuantity = "l"
        case cumulativeQuantity = "z", lastPrice = "L", commission = "n", commissionAsset = "N", transactionTime = "T"
        case tradeId = "t", executionId = "I", isWorking = "w", isMaker = "m", createdTime = "O"
        case cumulativeQuoteQuantity = "Z", lastQuoteQuantity = "Y", quoteOrderQty = "Q"
    }
}

public struct AccountPositionEvent: Decodable, Sendable, Equatable {
    public struct Balance: Decodable, Sendable, Equatable {
        public var asset: String, free: String, locked: String
        enum CodingKeys: String, CodingKey { case asset = "a", free = "f", locked = "l" }
    }
    public var eventTime: Int64
    public var lastUpdateTime: Int64
    public var balances: [Balance]
    enum CodingKeys: String, CodingKey { case eventTime = "E", lastUpdateTime = "u", balances = "B" }
}

public struct BalanceUpdateEvent: Decodable, Sendable, Equatable {
    public var eventTime: Int64
    public var asset: String
    public var delta: String
    public var clearTime: Int64
    enum CodingKeys: String, CodingKey { case eventTime = "E", asset = "a", delta = "d", clearTime = "T" }
}

/// One user-data event, whichever way it arrived (bare, or wrapped as
/// `{"subscriptionId":N,"event":{…}}` by the WebSocket API subscription).
public enum UserDataEvent: Sendable, Equatable {
    case executionReport(ExecutionReport)
    case accountPosition(AccountPositionEvent)
    case balanceUpdate(BalanceUpdateEvent)
    case streamTerminated(eventTime: Int64)
    case other(type: String)

    struct TypeProbe: Decodable { var e: String? }
    struct Wrapped: Decodable {
        var subscriptionId: Int?
        var event: AnyEventBox?
    }
    struct AnyEventBox: Decodable {}

    public static func parse(_ bytes: [UInt8]) throws -> UserDataEvent {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ParseError("user data event is not an object")
        }
        let inner: [String: Any] = (obj["event"] as? [String: Any]) ?? obj
        let type = inner["e"] as? String ?? ""
        let innerData = obj["event"] != nil ? try JSONSerialization.data(withJSONObject: inner) : data
        switch type {
        case "executionReport": return .executionReport(try decoder.decode(ExecutionReport.self, from: innerData))
        case "outboundAccountPosition": return .accountPosition(try decoder.decode(AccountPositionEvent.self, from: innerData))
        case "balanceUpdate": return .balanceUpdate(try decoder.decode(BalanceUpdateEvent.self, from: innerData))
        case "eventStreamTerminated": return .streamTerminated(eventTime: (inner["E"] as? NSNumber)?.int64Value ?? 0)
        default: return .other(type: type)
        }
    }
}

public struct ParseError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// REST `POST/GET/DELETE /api/v3/order` and WebSocket API `order.*` results
/// (ACK, RESULT, FULL, query and cancel shapes: every field but the ids optional).
public struct OrderResponse: Decodable, Sendable, Equatable {
    public struct Fill: Decodable, Sendable, Equatable {
        public var price: String
        public var qty: String
        public var commission: String?
        public var commissionAsset: String?
        public var tradeId: Int64?
    }
    public var symbol: String
    public var orderId: Int64
    public var orderListId: Int64?
    public var clientOrderId: String?
    public var origClientOrderId: String?
    public var transactTime: Int64?
    public var price: String?
    public var origQty: String?
    public var executedQty: String?
    public var cummulativeQuoteQty: String?
    public var status: String?
    public var timeInForce: String?
    public var type: String?
    public var side: String?
    public var stopPrice: String?
    public var time: Int64?
    public var updateTime: Int64?
    public var isWorking: Bool?
    public var workingTime: Int64?
    public var fills: [Fill]?
}

/// `GET /api/v3/myTrades` entries.
public struct AccountTrade: Decodable, Sendable, Equatable {
    public var symbol: String
    public var id: Int64
    public var orderId: Int64
    public var price: String
    public var qty: String
    public var quoteQty: String?
    public var commission: String
    public var commissionAsset: String
    public var time: Int64
    public var isBuyer: Bool
    public var isMaker: Bool
}

/// `GET /api/v3/account`.
public struct AccountInfo: Decodable, Sendable, Equatable {
    public struct Balance: Decodable, Sendable, Equatable { public var asset: String, free: String, locked: String }
    public var balances: [Balance]
    public var updateTime: Int64?
    public var canTrade: Bool?
}

public struct ServerTime: Decodable, Sendable { public var serverTime: Int64 }

/// `GET /api/v3/exchangeInfo` (the parts a connector uses).
public struct ExchangeInfo: Decodable, Sendable {
    public struct RateLimit: Decodable, Sendable {
        public var rateLimitType: String, interval: String, intervalNum: Int, limit: Int
    }
    public struct Filter: Decodable, Sendable {
        public var filterType: String
        public var minPrice: String?, maxPrice: String?, tickSize: String?
        public var minQty: String?, maxQty: String?, stepSize: String?
        public var minNotional: String?, notional: String?
    }
    public struct SymbolInfo: Decodable, Sendable {
        public var symbol: String
        public var status: String
        public var baseAsset: String
        public var quoteAsset: String
        public var filters: [Filter]?
    }
    public var serverTime: Int64?
    public var rateLimits: [RateLimit]?
    public var symbols: [SymbolInfo]
}

/// WebSocket API response envelope: `{"id","status","result"|"error","rateLimits"}`.
public struct WSAPIEnvelope: Sendable {
    public struct RateLimit: Decodable, Sendable {
        public var rateLimitType: String, interval: String, intervalNum: Int, limit: Int?, count: Int?
    }
    public var id: String?
    public var status: Int
    public var resultJSON: Data?
    public var error: BinanceErrorBody?
    public var rateLimits: [RateLimit]
    /// A user-data event pushed on the connection (`subscriptionId` + `event`).
    public var isEvent: Bool

    public static func parse(_ bytes: [UInt8]) throws -> WSAPIEnvelope {
        guard let obj = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ParseError("WebSocket API message is not an object")
        }
        if obj["event"] != nil {
            return WSAPIEnvelope(id: nil, status: 0, resultJSON: nil, error: nil, rateLimits: [], isEvent: true)
        }
        var id: String?
        if let s = obj["id"] as? String { id = s } else if let n = obj["id"] as? NSNumber { id = n.stringValue }
        let status = (obj["status"] as? NSNumber)?.intValue ?? 0
        var result: Data?
        if let r = obj["result"], !(r is NSNull) { result = try JSONSerialization.data(withJSONObject: r, options: [.fragmentsAllowed]) }
        var error: BinanceErrorBody?
        if let e = obj["error"] as? [String: Any] {
            error = BinanceErrorBody(code: (e["code"] as? NSNumber)?.intValue ?? 0, msg: e["msg"] as? String ?? "")
        }
        var limits: [RateLimit] = []
        if let rl = obj["rateLimits"] {
            limits = (try? JSONDecoder().decode([RateLimit].self, from: JSONSerialization.data(withJSONObject: rl))) ?? []
        }
        return WSAPIEnvelope(id: id, status: status, resultJSON: result, error: error, rateLimits: limits, isEvent: false)
    }
}
