// venue-sim configuration (YAML). Amounts are strings so they parse into Fixed exactly.
import Foundation
import Yams

public struct SimConfig: Codable, Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8765
    public var seed: UInt64 = 42
    public var maxBodyBytes: Int = 65536
    public var accounts: [AccountConfig] = []
    public var symbols: [SymbolConfig] = []
    public var liquidity: LiquidityConfig = .init()
    public var rateLimits: RateLimitConfig = .init()
    /// USDⓈ-M futures (/fapi); nil = no futures symbols (see FuturesConfig.swift).
    public var futures: FuturesConfig? = nil

    public init() {}

    enum CodingKeys: String, CodingKey { case host, port, seed, maxBodyBytes, accounts, symbols, liquidity, rateLimits, futures }
    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? "127.0.0.1"
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? 8765
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 42
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? 65536
        accounts = try c.decodeIfPresent([AccountConfig].self, forKey: .accounts) ?? []
        symbols = try c.decodeIfPresent([SymbolConfig].self, forKey: .symbols) ?? []
        liquidity = try c.decodeIfPresent(LiquidityConfig.self, forKey: .liquidity) ?? .init()
        rateLimits = try c.decodeIfPresent(RateLimitConfig.self, forKey: .rateLimits) ?? .init()
        futures = try c.decodeIfPresent(FuturesConfig.self, forKey: .futures)
    }

    public static func load(path: String) throws -> SimConfig {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try parse(yaml: text)
    }
    public static func parse(yaml: String) throws -> SimConfig {
        try YAMLDecoder().decode(SimConfig.self, from: yaml)
    }
}

public struct AccountConfig: Codable, Sendable {
    public var name: String
    public var apiKey: String
    public var secretKey: String?          // HMAC-SHA256
    public var ed25519PublicKey: String?   // PEM or base64 raw 32 bytes
    public var makerCommissionBps: Int?
    public var takerCommissionBps: Int?
    public var balances: [String: String]
    /// USDⓈ-M futures wallet (margin assets); default: the spot USDT balance.
    public var futuresBalances: [String: String]?
    public init(name: String, apiKey: String, secretKey: String? = nil, ed25519PublicKey: String? = nil,
                makerCommissionBps: Int? = nil, takerCommissionBps: Int? = nil, balances: [String: String],
                futuresBalances: [String: String]? = nil) {
        self.name = name; self.apiKey = apiKey; self.secretKey = secretKey; self.ed25519PublicKey = ed25519PublicKey
        self.makerCommissionBps = makerCommissionBps; self.takerCommissionBps = takerCommissionBps; self.balances = balances
        self.futuresBalances = futuresBalances
    }
}

public struct SymbolConfig: Codable, Sendable {
    public var symbol: String
    public var baseAsset: String
    public var quoteAsset: String
    public var mid: String
    public var tickSize: String
    public var stepSize: String
    public var minPrice: String?
    public var maxPrice: String?
    public var minQty: String?
    public var maxQty: String?
    public var minNotional: String?
    public var maxNotional: String?
    public var defaultSelfTradePreventionMode: String?
    public init(symbol: String, baseAsset: String, quoteAsset: String, mid: String, tickSize: String, stepSize: String,
                minPrice: String? = nil, maxPrice: String? = nil, minQty: String? = nil, maxQty: String? = nil,
                minNotional: String? = nil, maxNotional: String? = nil, defaultSelfTradePreventionMode: String? = nil) {
        self.symbol = symbol; self.baseAsset = baseAsset; self.quoteAsset = quoteAsset; self.mid = mid
        self.tickSize = tickSize; self.stepSize = stepSize; self.minPrice = minPrice; self.maxPrice = maxPrice
        self.minQty = minQty; self.maxQty = maxQty; self.minNotional = minNotional; self.maxNotional = maxNotional
        self.defaultSelfTradePreventionMode = defaultSelfTradePreventionMode
    }
}

public struct LiquidityConfig: Codable, Sendable {
    public var enabled: Bool = true
    public var levels: Int = 10            // resting maker levels per side
    public var spreadTicks: Int = 2        // best ask - best bid, in ticks
    public var levelSpacingTicks: Int = 1
    public var quantity: String = "1"      // base qty per level (scaled up with depth)
    public var intervalMs: Int = 500       // requote cadence
    public var volatilityTicks: Int = 3    // max random-walk step of the mid per interval
    public init() {}
}

public struct RateLimitConfig: Codable, Sendable {
    public var requestWeightPerMinute: Int = 6000
    public var ordersPer10s: Int = 100
    public var ordersPerDay: Int = 200000
    public var banAfterRejected: Int = 5     // 429-rejected requests in a window before a 418 ban
    public var banSeconds: Int = 120
    public init() {}
}

extension LiquidityConfig {
    enum CodingKeys: String, CodingKey { case enabled, levels, spreadTicks, levelSpacingTicks, quantity, intervalMs, volatilityTicks }
    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        self.init()
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? enabled
        levels = try c.decodeIfPresent(Int.self, forKey: .levels) ?? levels
        spreadTicks = try c.decodeIfPresent(Int.self, forKey: .spreadTicks) ?? spreadTicks
        levelSpacingTicks = try c.decodeIfPresent(Int.self, forKey: .levelSpacingTicks) ?? levelSpacingTicks
        quantity = try c.decodeIfPresent(String.self, forKey: .quantity) ?? quantity
        intervalMs = try c.decodeIfPresent(Int.self, forKey: .intervalMs) ?? intervalMs
        volatilityTicks = try c.decodeIfPresent(Int.self, forKey: .volatilityTicks) ?? volatilityTicks
    }
}

extension RateLimitConfig {
    enum CodingKeys: String, CodingKey { case requestWeightPerMinute, ordersPer10s, ordersPerDay, banAfterRejected, banSeconds }
    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        self.init()
        requestWeightPerMinute = try c.decodeIfPresent(Int.self, forKey: .requestWeightPerMinute) ?? requestWeightPerMinute
        ordersPer10s = try c.decodeIfPresent(Int.self, forKey: .ordersPer10s) ?? ordersPer10s
        ordersPerDay = try c.decodeIfPresent(Int.self, forKey: .ordersPerDay) ?? ordersPerDay
        banAfterRejected = try c.decodeIfPresent(Int.self, forKey: .banAfterRejected) ?? banAfterRejected
        banSeconds = try c.decodeIfPresent(Int.self, forKey: .banSeconds) ?? banSeconds
    }
}
