// Binance error JSON {"code":..,"msg":..} with the HTTP status Binance uses for it.
public struct APIError: Error, Sendable {
    public var code: Int
    public var msg: String
    public var http: Int
    public var retryAfter: Int? = nil
    public var data: J? = nil

    public init(_ code: Int, _ msg: String, http: Int = 400, retryAfter: Int? = nil) {
        self.code = code; self.msg = msg; self.http = http; self.retryAfter = retryAfter
    }
    public var json: J {
        var kv: [(String, J)] = [("code", .int(Int64(code))), ("msg", .str(msg))]
        if let d = data { kv.append(("data", d)) }
        return .obj(kv)
    }

    // Documented codes (binance-spot-api-docs errors.md)
    public static let unknown = APIError(-1000, "An unknown error occurred while processing the request.", http: 500)
    public static let disconnected = APIError(-1001, "Internal error; unable to process your request. Please try again.", http: 503)
    public static let timeout = APIError(-1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown.", http: 503)
    public static let badSignature = APIError(-1022, "Signature for this request is not valid.")
    public static let recvWindow = APIError(-1021, "Timestamp for this request is outside of the recvWindow.")
    public static let badRecvWindow = APIError(-1131, "recvWindow must be less than 60000")
    public static let invalidSymbol = APIError(-1121, "Invalid symbol.")
    public static let duplicateParams = APIError(-1101, "Duplicate values for a parameter detected.")
    public static let tooManyParams = APIError(-1101, "Too many parameters sent for this endpoint.")
    public static let apiKeyFormat = APIError(-2014, "API-key format invalid.", http: 401)
    public static let rejectedKey = APIError(-2015, "Invalid API-key, IP, or permissions for action.", http: 401)
    public static let unknownOrderCancel = APIError(-2011, "Unknown order sent.")
    public static let orderDoesNotExist = APIError(-2013, "Order does not exist.")
    public static let insufficientBalance = APIError(-2010, "Account has insufficient balance for requested action.")
    public static let wouldMatch = APIError(-2010, "Order would immediately match and take.")
    public static let duplicateOrder = APIError(-2010, "Duplicate order sent.")
    public static let marketClosed = APIError(-2010, "Market is closed.")
    public static let stopWouldTrigger = APIError(-2010, "Stop price would trigger immediately.")
    public static let invalidSide = APIError(-1117, "Invalid side.")
    public static let invalidType = APIError(-1116, "Invalid orderType.")
    public static let invalidTIF = APIError(-1115, "Invalid timeInForce.")
    public static let invalidRespType = APIError(-1130, "Invalid data sent for a parameter.")
    public static let comboInvalid = APIError(-1128, "Combination of optional parameters invalid.")
    public static let lookupTooBig = APIError(-1127, "Lookup interval is too big.")
    public static let unsupported = APIError(-1020, "This operation is not supported.")
    public static let stpNotAllowed = APIError(-1013, "This symbol does not allow the specified self-trade prevention mode.")
    public static let invalidJSON = APIError(-1000, "Malformed request.")  // WS API: body not JSON

    public static func mandatory(_ p: String) -> APIError {
        APIError(-1102, "Mandatory parameter '\(p)' was not sent, was empty/null, or malformed.")
    }
    public static func notRequired(_ p: String) -> APIError { APIError(-1106, "Parameter '\(p)' sent when not required.") }
    public static func empty(_ p: String) -> APIError { APIError(-1105, "Parameter '\(p)' was empty.") }
    public static func precision(_ p: String) -> APIError { APIError(-1111, "Parameter '\(p)' has too much precision.") }
    public static func illegal(_ p: String, _ range: String) -> APIError {
        APIError(-1100, "Illegal characters found in parameter '\(p)'; legal range is '\(range)'.")
    }
    public static func invalidParam(_ p: String) -> APIError { APIError(-1130, "Invalid data sent for a parameter.") }
    public static func filter(_ name: String) -> APIError { APIError(-1013, "Filter failure: \(name)") }
    public static func tooMuchWeight(limit: Int, retryAfter: Int) -> APIError {
        APIError(-1003, "Too much request weight used; current limit is \(limit) request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.", http: 429, retryAfter: retryAfter)
    }
    public static func banned(untilMs: Int64, retryAfter: Int) -> APIError {
        APIError(-1003, "Way too much request weight used; IP banned until \(untilMs). Please use WebSocket Streams for live updates to avoid bans.", http: 418, retryAfter: retryAfter)
    }
    public static func tooManyOrders(limit: Int, interval: String) -> APIError {
        APIError(-1015, "Too many new orders; current limit is \(limit) orders per \(interval).", http: 429)
    }
}
