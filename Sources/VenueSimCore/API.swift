// Binance spot endpoints, shared by REST (/api/v3/...) and the WebSocket API (/ws-api/v3 methods).
import Foundation

public enum Security: Sendable { case none, signed, apiKey }  // apiKey: X-MBX-APIKEY only (USER_STREAM)

public struct Endpoint: Sendable {
    public var security: Security
    public var isOrder: Bool
    public var weight: @Sendable (Params) -> Int
    public var handler: @Sendable (Params, Int) throws(APIError) -> J
}

public final class VenueAPI: @unchecked Sendable {
    public let engine: Engine
    public let limiter: RateLimiter
    /// /fapi has its own weight and order counters, as on Binance (a busy spot account does not throttle its futures).
    public let flimiter: RateLimiter
    public let faults = Faults()
    public let hub: Hub
    public let config: SimConfig
    public private(set) var rest: [String: Endpoint] = [:]   // "GET /api/v3/order"
    public private(set) var ws: [String: Endpoint] = [:]     // "order.place"
    /// USDⓈ-M futures: its own engine, stream hub (/public, /market, /private) and REST table ("GET /fapi/v1/order").
    public let futures: FuturesEngine
    public let fhub: Hub
    public internal(set) var frest: [String: Endpoint] = [:]

    public init(config: SimConfig) {
        self.config = config
        hub = Hub()
        engine = Engine(config: config, sink: hub)
        limiter = RateLimiter(config.rateLimits)
        flimiter = RateLimiter(config.futures?.rateLimits ?? FuturesConfig.defaultRateLimits)
        fhub = Hub()
        futures = FuturesEngine(config: config, hub: fhub)
        register()
        registerFutures()
    }

    func sym(_ p: Params) throws(APIError) -> Int {
        let s = try p.required("symbol")
        guard let i = engine.symbol(s) else { throw APIError.invalidSymbol }
        return i
    }

    static func depthWeight(_ p: Params) -> Int {
        let l = Int(p["limit"] ?? "100") ?? 100
        switch l { case ...100: return 5; case ...500: return 25; case ...1000: return 50; default: return 250 }
    }

    func limitParam(_ p: Params, def: Int, max mx: Int) throws(APIError) -> Int {
        guard let l = try p.int("limit") else { return def }
        if l <= 0 { throw APIError.illegal("limit", "1-\(mx)") }
        return Int(min(l, Int64(mx)))
    }

    public static func parseNewOrder(_ p: Params) throws(APIError) -> NewOrderRequest {
        let symbol = try p.required("symbol")
        let sideS = try p.required("side")
        guard let side = Side(rawValue: sideS) else { throw APIError.invalidSide }
        let typeS = try p.required("type")
        guard let type = OrderType(rawValue: typeS) else {
            if ["STOP_LOSS", "TAKE_PROFIT"].contains(typeS) { throw APIError.unsupported }
            throw APIError.invalidType
        }
        var tif: TimeInForce? = nil
        if let t = p["timeInForce"] { guard let v = TimeInForce(rawValue: t) else { throw APIError.invalidTIF }; tif = v }
        var stp: STPMode? = nil
        if let s = p["selfTradePreventionMode"] { guard let v = STPMode(rawValue: s) else { throw APIError.stpNotAllowed }; stp = v }
        var resp: RespType? = nil
        if let r = p["newOrderRespType"] { guard let v = RespType(rawValue: r) else { throw APIError.invalidParam("newOrderRespType") }; resp = v }
        if p["icebergQty"] != nil || p["trailingDelta"] != nil || p["pegPriceType"] != nil { throw APIError.unsupported }
        return NewOrderRequest(symbol: symbol, side: side, type: type, tif: tif, quantity: try p.fixed("quantity"),
                               quoteOrderQty: try p.fixed("quoteOrderQty"), price: try p.fixed("price"),
                               stopPrice: try p.fixed("stopPrice"), newClientOrderId: p["newClientOrderId"], stp: stp, respType: resp)
    }

    func exchangeInfo(_ p: Params) throws(APIError) -> J {
        var idx = Array(0..<engine.symbolCount)
        if let s = p["symbol"] {
            guard let i = engine.symbol(s) else { throw APIError.invalidSymbol }
            idx = [i]
        } else if let s = p["symbols"] {
            guard let data = s.data(using: .utf8), let arr = try? JSONSerialization.jsonObject(with: data) as? [String] else {
                throw APIError.illegal("symbols", "JSON array of symbols")
            }
            idx = []
            for n in arr { guard let i = engine.symbol(n) else { throw APIError.invalidSymbol }; idx.append(i) }
        }
        let rl = config.rateLimits
        return .obj([
            ("timezone", .str("UTC")), ("serverTime", .int(nowMs())),
            ("rateLimits", .arr([
                .obj([("rateLimitType", .str("REQUEST_WEIGHT")), ("interval", .str("MINUTE")), ("intervalNum", .int(1)), ("limit", .i(rl.requestWeightPerMinute))]),
                .obj([("rateLimitType", .str("ORDERS")), ("interval", .str("SECOND")), ("intervalNum", .int(10)), ("limit", .i(rl.ordersPer10s))]),
                .obj([("rateLimitType", .str("ORDERS")), ("interval", .str("DAY")), ("intervalNum", .int(1)), ("limit", .i(rl.ordersPerDay))]),
                .obj([("rateLimitType", .str("RAW_REQUESTS")), ("interval", .str("MINUTE")), ("intervalNum", .int(5)), ("limit", .int(61000))]),
            ])),
            ("exchangeFilters", .arr([])),
            ("symbols", .arr(idx.map { symbolInfo(engine.spec($0)) })),
        ])
    }

    func symbolInfo(_ s: SymbolSpec) -> J {
        .obj([
            ("symbol", .str(s.name)), ("status", .str("TRADING")), ("baseAsset", .str(s.base)), ("baseAssetPrecision", .int(8)),
            ("quoteAsset", .str(s.quote)), ("quotePrecision", .int(8)), ("quoteAssetPrecision", .int(8)),
            ("baseCommissionPrecision", .int(8)), ("quoteCommissionPrecision", .int(8)),
            ("orderTypes", .arr(["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"].map { .str($0) })),
            ("icebergAllowed", .bool(false)), ("ocoAllowed", .bool(false)), ("otoAllowed", .bool(false)),
            ("quoteOrderQtyMarketAllowed", .bool(true)), ("allowTrailingStop", .bool(false)), ("cancelReplaceAllowed", .bool(true)),
            ("amendAllowed", .bool(false)), ("pegInstructionsAllowed", .bool(false)),
            ("isSpotTradingAllowed", .bool(true)), ("isMarginTradingAllowed", .bool(false)),
            ("filters", .arr([
                .obj([("filterType", .str("PRICE_FILTER")), ("minPrice", .s(s.minPrice)), ("maxPrice", .s(s.maxPrice)), ("tickSize", .s(s.tick))]),
                .obj([("filterType", .str("LOT_SIZE")), ("minQty", .s(s.minQty)), ("maxQty", .s(s.maxQty)), ("stepSize", .s(s.step))]),
                .obj([("filterType", .str("MARKET_LOT_SIZE")), ("minQty", .s(s.minQty)), ("maxQty", .s(s.maxQty)), ("stepSize", .s(s.step))]),
                .obj([("filterType", .str("NOTIONAL")), ("minNotional", .s(s.minNotional)), ("applyMinToMarket", .bool(true)),
                      ("maxNotional", .s(s.maxNotional)), ("applyMaxToMarket", .bool(false)), ("avgPriceMins", .int(5))]),
                .obj([("filterType", .str("MAX_NUM_ORDERS")), ("maxNumOrders", .int(200))]),
            ])),
            ("permissions", .arr([])), ("permissionSets", .arr([.arr([.str("SPOT")])])),
            ("defaultSelfTradePreventionMode", .str(s.defaultSTP.rawValue)),
            ("allowedSelfTradePreventionModes", .arr(STPMode.allCases.map { .str($0.rawValue) })),
        ])
    }

    func register() {
        let e = engine
        func ep(_ sec: Security, order: Bool = false, _ w: @escaping @Sendable (Params) -> Int,
                _ h: @escaping @Sendable (Params, Int) throws(APIError) -> J) -> Endpoint {
            Endpoint(security: sec, isOrder: order, weight: w, handler: h)
        }
        let ping = ep(.none, { _ in 1 }) { _, _ in .obj([]) }
        let time = ep(.none, { _ in 1 }) { _, _ in .obj([("serverTime", .int(nowMs()))]) }
        let info = ep(.none, { _ in 20 }) { [unowned self] p, _ throws(APIError) in try self.exchangeInfo(p) }
        let depth = ep(.none, VenueAPI.depthWeight) { [unowned self] p, _ throws(APIError) in
            let s = try self.sym(p)
            return e.depth(s, limit: try self.limitParam(p, def: 100, max: 5000))
        }
        func perSymbol(_ single: Int, _ all: Int, _ f: @escaping @Sendable (Int) -> J) -> Endpoint {
            ep(.none, { $0["symbol"] == nil ? all : single }) { [unowned self] p, _ throws(APIError) in
                if p["symbol"] != nil { return f(try self.sym(p)) }
                if let ss = p["symbols"] {
                    guard let d = ss.data(using: .utf8), let arr = try? JSONSerialization.jsonObject(with: d) as? [String] else {
                        throw APIError.illegal("symbols", "JSON array of symbols")
                    }
                    var out: [J] = []
                    for n in arr { guard let i = e.symbol(n) else { throw APIError.invalidSymbol }; out.append(f(i)) }
                    return .arr(out)
                }
                return .arr((0..<e.symbolCount).map(f))
            }
        }
        let bookTicker = perSymbol(2, 4) { e.bookTicker($0) }
        let price = perSymbol(2, 4) { e.tickerPrice($0) }
        let t24 = perSymbol(2, 80) { e.ticker24h($0) }
        let avg = ep(.none, { _ in 2 }) { [unowned self] p, _ throws(APIError) in e.avgPrice(try self.sym(p)) }
        let trades = ep(.none, { _ in 25 }) { [unowned self] p, _ throws(APIError) in e.recentTrades(try self.sym(p), limit: 500) }
        let newOrder = ep(.signed, order: true, { _ in 1 }) { p, acc throws(APIError) in
            try e.place(account: acc, VenueAPI.parseNewOrder(p))
        }
        let testOrder = ep(.signed, { $0["computeCommissionRates"] == "true" ? 20 : 1 }) { p, acc throws(APIError) in
            let r = try e.place(account: acc, VenueAPI.parseNewOrder(p), test: true)
            if p["computeCommissionRates"] == "true" {
                return .obj([("standardCommissionForOrder", .obj([("maker", .str("0.00100000")), ("taker", .str("0.00100000"))])),
                             ("taxCommissionForOrder", .obj([("maker", .str("0.00000000")), ("taker", .str("0.00000000"))])),
                             ("discount", .obj([("enabledForAccount", .bool(false)), ("enabledForSymbol", .bool(false)),
                                                ("discountAsset", .str("BNB")), ("discount", .str("0.25000000"))]))])
            }
            return r
        }
        let cancel = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try e.cancel(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"),
                         origClientOrderId: p["origClientOrderId"], newClientOrderId: p["newClientOrderId"],
                         restriction: p["cancelRestrictions"])
        }
        let query = ep(.signed, { _ in 4 }) { p, acc throws(APIError) in
            try e.query(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), origClientOrderId: p["origClientOrderId"])
        }
        let openOrders = ep(.signed, { $0["symbol"] == nil ? 80 : 6 }) { p, acc throws(APIError) in
            try e.openOrders(account: acc, symbol: p["symbol"])
        }
        let cancelAll = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in try e.cancelAll(account: acc, symbol: p.required("symbol")) }
        let allOrders = ep(.signed, { _ in 20 }) { [unowned self] p, acc throws(APIError) in
            try e.allOrders(account: acc, symbol: p.required("symbol"), limit: try self.limitParam(p, def: 500, max: 1000))
        }
        let account = ep(.signed, { _ in 20 }) { p, acc in e.accountInfo(account: acc, omitZero: p["omitZeroBalances"] == "true") }
        let myTrades = ep(.signed, { _ in 20 }) { [unowned self] p, acc throws(APIError) in
            try e.myTrades(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), fromId: p.int("fromId"),
                           startTime: p.int("startTime"), endTime: p.int("endTime"), limit: try self.limitParam(p, def: 500, max: 1000))
        }
        let cancelReplace = ep(.signed, order: true, { _ in 1 }) { p, acc throws(APIError) in
            try VenueAPI.cancelReplace(e, p, acc)
        }
        rest = [
            "GET /api/v3/ping": ping, "GET /api/v3/time": time, "GET /api/v3/exchangeInfo": info, "GET /api/v3/depth": depth,
            "GET /api/v3/ticker/bookTicker": bookTicker, "GET /api/v3/ticker/price": price, "GET /api/v3/ticker/24hr": t24,
            "GET /api/v3/avgPrice": avg, "GET /api/v3/trades": trades,
            "POST /api/v3/order": newOrder, "POST /api/v3/order/test": testOrder, "DELETE /api/v3/order": cancel,
            "GET /api/v3/order": query, "GET /api/v3/openOrders": openOrders, "DELETE /api/v3/openOrders": cancelAll,
            "GET /api/v3/allOrders": allOrders, "POST /api/v3/order/cancelReplace": cancelReplace,
            "GET /api/v3/account": account, "GET /api/v3/myTrades": myTrades,
        ]
        ws = [
            "ping": ping, "time": time, "exchangeInfo": info, "depth": depth, "ticker.book": bookTicker, "ticker.price": price,
            "ticker.24hr": t24, "avgPrice": avg, "order.place": newOrder, "order.test": testOrder, "order.cancel": cancel,
            "order.status": query, "openOrders.status": openOrders, "openOrders.cancelAll": cancelAll, "allOrders": allOrders,
            "order.cancelReplace": cancelReplace, "account.status": account, "myTrades": myTrades,
        ]
    }

    static func cancelReplace(_ e: Engine, _ p: Params, _ acc: Int) throws(APIError) -> J {
        let mode = try p.required("cancelReplaceMode")
        guard mode == "STOP_ON_FAILURE" || mode == "ALLOW_FAILURE" else { throw APIError.invalidParam("cancelReplaceMode") }
        let symbol = try p.required("symbol")
        let cancelId = try p.int("cancelOrderId")
        let cancelOrig = p["cancelOrigClientOrderId"]
        if cancelId == nil && cancelOrig == nil { throw APIError.mandatory("cancelOrderId") }
        let req = try parseNewOrder(p)
        var cancelResp: J = .null, newResp: J = .null
        var cancelOK = true, newOK = true
        do {
            cancelResp = try e.cancel(account: acc, symbol: symbol, orderId: cancelId, origClientOrderId: cancelOrig,
                                      newClientOrderId: p["cancelNewClientOrderId"], restriction: p["cancelRestrictions"])
        } catch { cancelOK = false; cancelResp = error.json }
        if cancelOK || mode == "ALLOW_FAILURE" {
            do { newResp = try e.place(account: acc, req) } catch { newOK = false; newResp = error.json }
        } else { newOK = false }
        let attempted = cancelOK || mode == "ALLOW_FAILURE"
        let data: J = .obj([
            ("cancelResult", .str(cancelOK ? "SUCCESS" : "FAILURE")),
            ("newOrderResult", .str(newOK ? "SUCCESS" : (attempted ? "FAILURE" : "NOT_ATTEMPTED"))),
            ("cancelResponse", cancelResp), ("newOrderResponse", newResp),
        ])
        if cancelOK && newOK { return data }
        if cancelOK || newOK {
            var err = APIError(-2021, "Order cancel-replace partially failed.", http: 409); err.data = data; throw err
        }
        var err = APIError(-2022, "Order cancel-replace failed."); err.data = data; throw err
    }

    // MARK: authentication

    /// Verifies key, signature and timestamp. `payload` is what was signed. `clockMs`: the venue clock the
    /// timestamp is checked against when it is not the wall clock (futures: simulated time, as its serverTime).
    public func authenticate(apiKey: String?, payload: String, signature: String?, timestamp: String?, recvWindow: String?,
                             clockMs: Int64? = nil) throws(APIError) -> Int {
        guard let key = apiKey, !key.isEmpty else { throw APIError.apiKeyFormat }
        guard let acc = engine.accountIndex(apiKey: key) else { throw APIError.rejectedKey }
        guard let sig = signature, !sig.isEmpty else { throw APIError.mandatory("signature") }
        guard let ts = timestamp, !ts.isEmpty else { throw APIError.mandatory("timestamp") }
        var ok = false
        if let secret = engine.secret(of: acc) { ok = Signer.verifyHMAC(secret: secret, payload: payload, signature: sig) }
        if !ok, let k = engine.edKey(of: acc) { ok = Signer.verifyEd25519(publicKey: k, payload: payload, signatureBase64: sig) }
        if !ok { throw APIError.badSignature }
        try checkTimestamp(ts, recvWindow, clockMs: clockMs)
        return acc
    }

    public func checkTimestamp(_ ts: String, _ recvWindow: String?, clockMs: Int64? = nil) throws(APIError) {
        guard var t = Int64(ts) else { throw APIError.illegal("timestamp", "^[0-9]{1,20}$") }
        if t > 100_000_000_000_000 { t /= 1000 }  // microseconds
        var window: Int64 = 5000
        if let rw = recvWindow {
            guard case .success(let f) = Fixed.parse(Substring(rw)), f.raw >= 0 else { throw APIError.illegal("recvWindow", "^[0-9]{1,20}(\\.[0-9]{1,3})?$") }
            if f > Fixed(60000) { throw APIError.badRecvWindow }
            window = f.raw / Fixed.scale
        }
        let now = clockMs ?? nowMs()
        if !(t < now + 1000 && now - t <= window) { throw APIError.recvWindow }
    }
}
