import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import OMSCore
import Synchronization

/// What went wrong with a venue request, classified by what it means for an order.
public enum BinanceError: Error, CustomStringConvertible, Sendable {
    /// The venue answered with an error body: the request was definitely not executed
    /// (4xx, or a WebSocket API error status below 500).
    case rejected(status: Int, code: Int, msg: String)
    /// 429 / 418: rate limited or banned; not executed.
    case rateLimited(status: Int, retryAfterSeconds: Int?, code: Int?, msg: String?)
    /// 5xx, a timeout, a dropped connection: the venue may or may not have executed it.
    case unknown(String)
    /// Refused before sending (client-side limiter, no credentials, no session).
    case notSent(String)

    public var description: String {
        switch self {
        case .rejected(let s, let c, let m): "rejected (HTTP \(s)) \(c): \(m)"
        case .rateLimited(let s, let r, let c, let m): "rate limited (HTTP \(s), retry after \(r.map(String.init) ?? "?") s) \(c.map(String.init) ?? "") \(m ?? "")"
        case .unknown(let d): "status unknown: \(d)"
        case .notSent(let d): "not sent: \(d)"
        }
    }

    /// True when the request certainly did not reach the matching engine.
    public var certainlyNotExecuted: Bool {
        switch self {
        case .rejected, .rateLimited, .notSent: true
        case .unknown: false
        }
    }

    public var code: Int? {
        switch self {
        case .rejected(_, let c, _): c
        case .rateLimited(_, _, let c, _): c
        default: nil
        }
    }
}

/// Local clock corrected by the venue's (`GET /api/v3/time`), so `timestamp`
/// always lands inside `recvWindow`.
public final class ServerClock: Sendable {
    private let offset = Atomic<Int64>(0)
    public init() {}
    public static func localMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    public var offsetMs: Int64 { offset.load(ordering: .relaxed) }
    public func nowMs() -> Int64 { Self.localMs() + offset.load(ordering: .relaxed) }
    /// Records a measurement: server time seen between local t0 and t1.
    public func update(serverTime: Int64, sentAt t0: Int64, receivedAt t1: Int64) {
        offset.store(serverTime - (t0 + t1) / 2, ordering: .relaxed)
    }
}

/// REST over async-http-client (kept-alive connection pool): signing, the
/// rate limiter, usage headers and error classification. Shared by spot and futures.
public final class BinanceRESTClient: Sendable {
    public enum Security: Sendable { case none, apiKey, signed }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
    }

    public let config: BinanceVenueConfig
    public let limiter: BinanceRateLimiter
    public let clock: ServerClock
    let credentials: BinanceCredentials?
    let http: HTTPClient
    let logger: Logger

    public init(config: BinanceVenueConfig, credentials: BinanceCredentials?, limiter: BinanceRateLimiter, clock: ServerClock, logger: Logger) {
        self.config = config
        self.credentials = credentials
        self.limiter = limiter
        self.clock = clock
        self.logger = logger
        var c = HTTPClient.Configuration()
        c.timeout = .init(connect: .seconds(3), read: .seconds(Int64(config.requestTimeout.components.seconds)))
        c.connectionPool = .init(idleTimeout: .seconds(60))
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: c)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Builds the query string: `params`, then (signed) `recvWindow`, `timestamp`, `signature` last.
    public func queryString(_ params: [(String, String)], security: Security, timestamp: Int64? = nil) throws(BinanceError) -> String {
        guard security == .signed else { return SignaturePayload.rest(params) }
        guard let credentials else { throw .notSent("no API credentials") }
        var all = params
        all.append(("recvWindow", String(config.recvWindowMs)))
        all.append(("timestamp", String(timestamp ?? clock.nowMs())))
        let payload = SignaturePayload.rest(all)
        let sig = credentials.signer.sign(payload)
        return payload + "&signature=" + SignaturePayload.percentEncode(sig)
    }

    /// One request. `weight` and `orders` are reserved on the limiter first
    /// (waiting at most `maxWait`). Returns 2xx responses; throws `BinanceError` otherwise.
    public func send(_ method: HTTPMethod, _ path: String, _ params: [(String, String)] = [], security: Security = .none,
                     weight: Int = 1, orders: Int = 0, maxWait: Duration = .seconds(5),
                     timestamp: Int64? = nil, onSend: (@Sendable () -> Void)? = nil) async throws(BinanceError) -> Response {
        do {
            try await limiter.acquire(weight: weight, orders: orders, maxWait: maxWait)
        } catch let e as BinanceRateLimiter.Exhausted {
            throw .notSent(e.description)
        } catch {
            throw .notSent("cancelled")
        }
        limiter.recordSent(weight: weight, api: "rest", endpoint: "\(method) \(path)")
        let query = try queryString(params, security: security, timestamp: timestamp)
        var req = HTTPClientRequest(url: config.restBaseURL + path + (query.isEmpty ? "" : "?" + query))
        req.method = method
        if security != .none {
            guard let credentials else { throw .notSent("no API credentials") }
            req.headers.add(name: "X-MBX-APIKEY", value: credentials.apiKey)
        }
        let response: HTTPClientResponse
        let body: ByteBuffer
        onSend?()
        do {
            response = try await http.execute(req, timeout: .seconds(Int64(config.requestTimeout.components.seconds)))
            body = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw .unknown("\(method) \(path): \(error)")
        }
        let headers = response.headers.map { ($0.name, $0.value) }
        limiter.observe(headers: headers)
        let status = Int(response.status.code)
        let bytes = Array(body.readableBytesView)
        if (200..<300).contains(status) {
            limiter.onAccepted()
            return Response(status: status, headers: headers, body: bytes)
        }
        let err = try? JSONDecoder().decode(BinanceErrorBody.self, from: Data(bytes))
        if status == 429 || status == 418 {
            let retry = response.headers.first(name: "Retry-After").flatMap { Int($0) }
            limiter.onRejected(status: status, retryAfterSeconds: retry)
            logger.warning("binance rate limited", metadata: ["status": "\(status)", "retry_after": "\(retry ?? -1)", "path": "\(path)"])
            throw .rateLimited(status: status, retryAfterSeconds: retry, code: err?.code, msg: err?.msg)
        }
        limiter.onAccepted()
        if status >= 500 || err == nil {
            throw .unknown("\(method) \(path): HTTP \(status) \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        throw .rejected(status: status, code: err!.code, msg: err!.msg)
    }

    public func decode<T: Decodable>(_ type: T.Type, _ r: Response) throws(BinanceError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(r.body)) } catch {
            throw .unknown("undecodable \(T.self): \(error)")
        }
    }

    // MARK: endpoints (spot paths under `restPrefix`)

    /// Measures the server clock offset (`GET /time`, weight 1).
    public func syncTime() async throws(BinanceError) {
        let t0 = ServerClock.localMs()
        let r = try await send(.GET, config.restPrefix + "/time", weight: 1)
        let t1 = ServerClock.localMs()
        let t = try decode(ServerTime.self, r)
        clock.update(serverTime: t.serverTime, sentAt: t0, receivedAt: t1)
    }

    public func exchangeInfo() async throws(BinanceError) -> ExchangeInfo {
        try decode(ExchangeInfo.self, try await send(.GET, config.restPrefix + "/exchangeInfo", weight: 20))
    }

    /// Raw depth snapshot bytes (parsed with the byte-level parser).
    public func depthSnapshot(symbol: String, limit: Int) async throws(BinanceError) -> [UInt8] {
        let weight = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250
        return try await send(.GET, config.restPrefix + "/depth", [("symbol", symbol), ("limit", String(limit))], weight: weight).body
    }

    public func newOrder(_ params: [(String, String)], timestamp: Int64? = nil, onSend: (@Sendable () -> Void)? = nil) async throws(BinanceError) -> OrderResponse {
        try decode(OrderResponse.self, try await send(.POST, config.restPrefix + "/order", params, security: .signed, weight: 1, orders: 1,
                                                      maxWait: .milliseconds(500), timestamp: timestamp, onSend: onSend))
    }

    public func cancelOrder(symbol: String, origClientOrderId: String) async throws(BinanceError) -> OrderResponse {
        try decode(OrderResponse.self, try await send(.DELETE, config.restPrefix + "/order",
                                                      [("symbol", symbol), ("origClientOrderId", origClientOrderId)], security: .signed, weight: 1))
    }

    public func queryOrder(symbol: String, origClientOrderId: String) async throws(BinanceError) -> OrderResponse {
        try decode(OrderResponse.self, try await send(.GET, config.restPrefix + "/order",
                                                      [("symbol", symbol), ("origClientOrderId", origClientOrderId)], security: .signed, weight: 4))
    }

    public func openOrders(symbol: String?) async throws(BinanceError) -> [OrderResponse] {
        let params = symbol.map { [("symbol", $0)] } ?? []
        return try decode([OrderResponse].self, try await send(.GET, config.restPrefix + "/openOrders", params, security: .signed, weight: symbol == nil ? 80 : 6))
    }

    public func queryOrder(symbol: String, orderId: Int64) async throws(BinanceError) -> OrderResponse {
        try decode(OrderResponse.self, try await send(.GET, config.restPrefix + "/order",
                                                      [("symbol", symbol), ("orderId", String(orderId))], security: .signed, weight: 4))
    }

    /// Every trade since `startTime`. With `startTime` Binance returns the oldest trades of the window first,
    /// at most `limit` (1000): a busier window is read on page by page from the last trade id (`fromId`).
    public func myTrades(symbol: String, startTime: Int64, pageSize: Int = 1000) async throws(BinanceError) -> [AccountTrade] {
        var all: [AccountTrade] = []
        var params = [("symbol", symbol), ("startTime", String(startTime)), ("limit", String(pageSize))]
        while true {
            let page = try decode([AccountTrade].self, try await send(.GET, config.restPrefix + "/myTrades", params, security: .signed, weight: 20))
            all += page
            guard page.count >= pageSize, let last = page.last else { return all }
            params = [("symbol", symbol), ("fromId", String(last.id + 1)), ("limit", String(pageSize))]
        }
    }

    /// One order's trades (weight 5 with `orderId`).
    public func myTrades(symbol: String, orderId: Int64) async throws(BinanceError) -> [AccountTrade] {
        try decode([AccountTrade].self, try await send(.GET, config.restPrefix + "/myTrades",
                                                       [("symbol", symbol), ("orderId", String(orderId)), ("limit", "1000")], security: .signed, weight: 5))
    }

    public func account() async throws(BinanceError) -> AccountInfo {
        try decode(AccountInfo.self, try await send(.GET, config.restPrefix + "/account", [("omitZeroBalances", "true")], security: .signed, weight: 20))
    }
}
