import Foundation
import OMSCore
import Yams

/// Everything a Binance adapter (spot or futures) needs from config, with the
/// product differences in one place: base URLs (prod, testnet, override), REST
/// prefix, WebSocket paths, order path, symbols.
public struct BinanceVenueConfig: Sendable {
    public enum Product: String, Sendable { case spot, futures }
    public enum OrderPath: String, Sendable { case websocket, rest }

    public var product: Product
    public var exchange = "binance"
    public var market: String
    public var restBaseURL: String
    /// WebSocket API endpoint (spot `/ws-api/v3`, futures `/ws-fapi/v1`).
    public var wsAPIURL: String
    /// Market-stream base; combined streams are `<base>/stream?streams=a/b`.
    public var streamBaseURL: String
    public var restPrefix: String
    public var recvWindowMs: Int64
    public var rateLimits: BinanceRateLimiter.Limits
    public var orderPath: OrderPath = .websocket
    /// Symbols to keep books for and to reconcile (normalised, e.g. BTCUSDT). Empty: from exchangeInfo.
    public var symbols: [String] = []
    /// Secret name prefix (config `credentials`), e.g. `binance-spot`.
    public var credentialsName: String
    public var testNet: Bool
    /// OMS account name for balances reported by this venue account (config `account`).
    public var account = "default"
    /// Levels of the REST depth snapshot.
    public var snapshotDepth = 1000
    /// Levels of the BookSnapshot published after every (re)sync.
    public var publishedSnapshotLevels = 50
    /// Connections are rotated before Binance's 24 h limit.
    public var connectionMaxAge: Duration = .seconds(23 * 3600)
    public var requestTimeout: Duration = .seconds(5)
    /// How far back reconciliation looks for trades.
    public var reconcileLookback: Duration = .seconds(24 * 3600)

    public static let spotProd = (rest: "https://api.binance.com", wsAPI: "wss://ws-api.binance.com:443/ws-api/v3", stream: "wss://stream.binance.com:9443")
    public static let spotTest = (rest: "https://testnet.binance.vision", wsAPI: "wss://ws-api.testnet.binance.vision/ws-api/v3", stream: "wss://stream.testnet.binance.vision")
    public static let futProd = (rest: "https://fapi.binance.com", wsAPI: "wss://ws-fapi.binance.com/ws-fapi/v1", stream: "wss://fstream.binance.com/public")
    public static let futTest = (rest: "https://demo-fapi.binance.com", wsAPI: "wss://testnet.binancefuture.com/ws-fapi/v1", stream: "wss://fstream.binancefuture.com")

    public init(product: Product, venue: OMSConfig.VenueMarket, extra: Extra = Extra()) {
        self.product = product
        market = venue.market
        testNet = venue.testNet
        let defaults = switch (product, venue.testNet) {
        case (.spot, false): Self.spotProd
        case (.spot, true): Self.spotTest
        case (.futures, false): Self.futProd
        case (.futures, true): Self.futTest
        }
        restPrefix = product == .spot ? "/api/v3" : "/fapi/v1"
        restBaseURL = Self.trimSlash(venue.restURL ?? defaults.rest)
        if let ws = venue.wsURL {
            // One override serves both the WebSocket API and the streams (venue-sim serves both on one port).
            var base = Self.trimSlash(ws)
            for suffix in ["/ws-api/v3", "/ws-fapi/v1", "/stream", "/ws", "/public", "/private", "/market"] where base.hasSuffix(suffix) {
                base.removeLast(suffix.count)
            }
            wsAPIURL = base + (product == .spot ? "/ws-api/v3" : "/ws-fapi/v1")
            // Futures streams are routed: depth/bookTicker under /public, user data under /private.
            streamBaseURL = product == .spot ? base : (base.hasSuffix("/public") ? base : base + "/public")
        } else {
            wsAPIURL = defaults.wsAPI
            streamBaseURL = defaults.stream
        }
        recvWindowMs = venue.recvWindow.milliseconds
        rateLimits = BinanceRateLimiter.Limits(
            weightPerMinute: venue.rateLimits.weightPerMinute, ordersPerSecond: venue.rateLimits.ordersPerSecond,
            ordersPer10s: venue.rateLimits.ordersPer10s, ordersPerDay: venue.rateLimits.ordersPerDay)
        credentialsName = venue.credentials ?? "\(venue.exchange)-\(venue.market)"
        if let mode = extra.apiMode { orderPath = mode }
        symbols = extra.symbols
        if let a = extra.account { account = a }
    }

    static func trimSlash(_ s: String) -> String {
        var s = s
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    /// Keys of the venue block that OMSConfig accepts but does not type: `symbols`, `api_mode`.
    public struct Extra: Sendable {
        public var symbols: [String] = []
        public var apiMode: OrderPath?
        public var account: String?
        public init(symbols: [String] = [], apiMode: OrderPath? = nil, account: String? = nil) {
            self.symbols = symbols
            self.apiMode = apiMode
            self.account = account
        }

        /// Reads `exchanges.<exchange>.<market>.{symbols,api_mode}` from the YAML file; env
        /// `<EXCHANGE>_<MARKET>_SYMBOLS` (comma-separated) overrides the symbols.
        public static func load(path: String, exchange: String, market: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> Extra {
            var e = Extra()
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let root = try? Yams.compose(yaml: text),
               let block = root.mapping?["exchanges"]?.mapping?[exchange]?.mapping?[market]?.mapping {
                if let seq = block["symbols"]?.sequence {
                    e.symbols = seq.compactMap { $0.string }.compactMap { try? Symbol.normalized($0) }
                } else if let s = block["symbols"]?.string {
                    e.symbols = s.split(separator: ",").compactMap { try? Symbol.normalized(String($0)) }
                }
                if let a = block["account"]?.string { e.account = a }
                if let mode = block["api_mode"]?.string { e.apiMode = OrderPath(rawValue: mode.lowercased() == "ws" ? "websocket" : mode.lowercased()) }
            }
            let key = "\(exchange)_\(market)_SYMBOLS".uppercased()
            if let v = environment[key], !v.isEmpty {
                e.symbols = v.split(separator: ",").compactMap { try? Symbol.normalized(String($0)) }
            }
            return e
        }
    }
}
