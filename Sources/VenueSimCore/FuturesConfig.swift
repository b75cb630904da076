// venue-sim USDⓈ-M futures configuration (the `futures:` section). Amounts are strings (fixed point).

public struct FuturesConfig: Codable, Sendable {
    public var symbols: [FuturesSymbolConfig] = []
    public var makerCommissionBps: Int = 2          // 0.0200% (Binance USDⓈ-M VIP 0)
    public var takerCommissionBps: Int = 5          // 0.0500%
    public var defaultLeverage: Int = 20
    public var fundingIntervalHours: Int = 8
    public var interestRate: String = "0.0001"      // I in F = P + clamp(I − P, 0.05%, −0.05%), per interval
    public var listenKeyValidityMinutes: Int = 60
    public var marginCallRatio: String = "0.8"      // MARGIN_CALL once maintMargin / marginBalance reaches this
    /// fapi.binance.com counts apart from the spot API: 2400 request weight per minute per IP, 300 orders per 10 s.
    public var rateLimits: RateLimitConfig = FuturesConfig.defaultRateLimits

    public static var defaultRateLimits: RateLimitConfig {
        var r = RateLimitConfig()
        r.requestWeightPerMinute = 2400
        r.ordersPer10s = 300
        return r
    }

    public init(symbols: [FuturesSymbolConfig] = []) { self.symbols = symbols }

    enum CodingKeys: String, CodingKey {
        case symbols, makerCommissionBps, takerCommissionBps, defaultLeverage, fundingIntervalHours, interestRate
        case listenKeyValidityMinutes, marginCallRatio, rateLimits
    }
    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        symbols = try c.decodeIfPresent([FuturesSymbolConfig].self, forKey: .symbols) ?? []
        makerCommissionBps = try c.decodeIfPresent(Int.self, forKey: .makerCommissionBps) ?? 2
        takerCommissionBps = try c.decodeIfPresent(Int.self, forKey: .takerCommissionBps) ?? 5
        defaultLeverage = try c.decodeIfPresent(Int.self, forKey: .defaultLeverage) ?? 20
        fundingIntervalHours = try c.decodeIfPresent(Int.self, forKey: .fundingIntervalHours) ?? 8
        interestRate = try c.decodeIfPresent(String.self, forKey: .interestRate) ?? "0.0001"
        listenKeyValidityMinutes = try c.decodeIfPresent(Int.self, forKey: .listenKeyValidityMinutes) ?? 60
        marginCallRatio = try c.decodeIfPresent(String.self, forKey: .marginCallRatio) ?? "0.8"
        rateLimits = try c.decodeIfPresent(RateLimitConfig.self, forKey: .rateLimits) ?? Self.defaultRateLimits
    }
}

public struct BracketConfig: Codable, Sendable {
    public var floor: String
    public var cap: String
    public var leverage: Int
    public var mmr: String
    public init(floor: String, cap: String, leverage: Int, mmr: String) {
        self.floor = floor; self.cap = cap; self.leverage = leverage; self.mmr = mmr
    }
}

public struct FuturesSymbolConfig: Codable, Sendable {
    public var symbol: String
    public var baseAsset: String
    public var quoteAsset: String          // also the margin asset (USDT)
    public var mid: String
    public var tickSize: String
    public var stepSize: String
    public var minPrice: String?
    public var maxPrice: String?
    public var minQty: String?
    public var maxQty: String?
    public var marketMaxQty: String?
    public var minNotional: String?
    public var liquidationFee: String?     // clearance fee rate, e.g. "0.0125"
    public var brackets: [BracketConfig]?  // default: the BTCUSDT table of Binance's liquidation-price FAQ
    public init(symbol: String, baseAsset: String, quoteAsset: String, mid: String, tickSize: String, stepSize: String,
                minQty: String? = nil, maxQty: String? = nil, minNotional: String? = nil, brackets: [BracketConfig]? = nil) {
        self.symbol = symbol; self.baseAsset = baseAsset; self.quoteAsset = quoteAsset; self.mid = mid
        self.tickSize = tickSize; self.stepSize = stepSize; self.minQty = minQty; self.maxQty = maxQty
        self.minNotional = minNotional; self.brackets = brackets
    }

    /// BTCUSDT brackets from Binance's FAQ table ("How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"):
    /// 0–50k 125x 0.40%, 50k–250k 100x 0.50%, 250k–1M 50x 1.0%, 1M–5M 20x 2.5%, 5M–10M 10x 5%, 10M–20M 5x 10%,
    /// 20M–35M 4x 12.5%, 35M–50M 3x 15%, 50M–100M 2x 25%, 100M–200M 1x 50%.
    public static let defaultBrackets: [BracketConfig] = [
        .init(floor: "0", cap: "50000", leverage: 125, mmr: "0.004"),
        .init(floor: "50000", cap: "250000", leverage: 100, mmr: "0.005"),
        .init(floor: "250000", cap: "1000000", leverage: 50, mmr: "0.01"),
        .init(floor: "1000000", cap: "5000000", leverage: 20, mmr: "0.025"),
        .init(floor: "5000000", cap: "10000000", leverage: 10, mmr: "0.05"),
        .init(floor: "10000000", cap: "20000000", leverage: 5, mmr: "0.1"),
        .init(floor: "20000000", cap: "35000000", leverage: 4, mmr: "0.125"),
        .init(floor: "35000000", cap: "50000000", leverage: 3, mmr: "0.15"),
        .init(floor: "50000000", cap: "100000000", leverage: 2, mmr: "0.25"),
        .init(floor: "100000000", cap: "200000000", leverage: 1, mmr: "0.5"),
    ]
}
