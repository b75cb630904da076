// Binance USDⓈ-M futures REST surface (/fapi/...), served by FuturesEngine, plus its WebSocket routes:
// /public (depth, bookTicker), /market (aggTrade, markPrice), /private (user data by listenKey), each with
// /ws/<stream>, /ws and /stream?streams= forms, and admin endpoints under /sim/futures.
import Foundation
import Hummingbird
import HummingbirdWebSocket

extension VenueAPI {
    func fsym(_ p: Params) throws(APIError) -> Int {
        let s = try p.required("symbol")
        guard let i = futures.symbol(s) else { throw APIError.invalidSymbol }
        return i
    }

    static func flimit(_ p: Params, _ def: Int, _ mx: Int) throws(APIError) -> Int {
        guard let l = try p.int("limit") else { return def }
        if l <= 0 { throw APIError.illegal("limit", "1-\(mx)") }
        return Int(min(l, Int64(mx)))
    }

    static func fdepthWeight(_ p: Params) -> Int {
        let l = Int(p["limit"] ?? "500") ?? 500
        switch l { case ...50: return 2; case ...100: return 5; case ...500: return 10; default: return 20 }
    }

    static func bool(_ p: Params, _ k: String) throws(APIError) -> Bool? {
        guard let v = p[k] else { return nil }
        switch v.lowercased() {
        case "true": return true
        case "false": return false
        default: throw APIError.illegal(k, "true|false")
        }
    }

    static func positionSide(_ p: Params) throws(APIError) -> PositionSide? {
        guard let v = p["positionSide"] else { return nil }
        guard let ps = PositionSide(rawValue: v) else { throw APIError(-4131, "Invalid position side.") }
        return ps
    }

    public static func parseFuturesOrder(_ p: Params) throws(APIError) -> NewFuturesOrder {
        let symbol = try p.required("symbol")
        guard let side = Side(rawValue: try p.required("side")) else { throw APIError.invalidSide }
        let type = try p.required("type")
        var r = NewFuturesOrder(symbol: symbol, side: side, type: type)
        r.positionSide = try positionSide(p)
        r.tif = p["timeInForce"]
        r.quantity = try p.fixed("quantity")
        r.price = try p.fixed("price")
        r.reduceOnly = try bool(p, "reduceOnly")
        r.newClientOrderId = p["newClientOrderId"]
        if let rt = p["newOrderRespType"] {
            guard rt == "ACK" || rt == "RESULT" else { throw APIError.invalidParam("newOrderRespType") }
            r.respType = rt
        }
        if let s = p["selfTradePreventionMode"] {
            guard ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"].contains(s) else { throw APIError.invalidParam("selfTradePreventionMode") }
            r.stp = s
        }
        r.goodTillDate = try p.int("goodTillDate")
        if p["priceMatch"] != nil || p["activationPrice"] != nil || p["callbackRate"] != nil { throw APIError.unsupported }
        return r
    }

    public static func parseAlgoOrder(_ p: Params) throws(APIError) -> NewAlgoOrder {
        let at = try p.required("algoType")
        guard at == "CONDITIONAL" else { throw APIError.invalidParam("algoType") }
        let symbol = try p.required("symbol")
        guard let side = Side(rawValue: try p.required("side")) else { throw APIError.invalidSide }
        var r = NewAlgoOrder(symbol: symbol, side: side, type: try p.required("type"))
        r.positionSide = try positionSide(p)
        r.tif = p["timeInForce"]
        r.quantity = try p.fixed("quantity")
        r.price = try p.fixed("price")
        r.triggerPrice = try p.fixed("triggerPrice")
        r.workingType = p["workingType"]
        r.priceProtect = try bool(p, "priceProtect") ?? false
        r.reduceOnly = try bool(p, "reduceOnly")
        r.closePosition = try bool(p, "closePosition") ?? false
        r.activatePrice = try p.fixed("activatePrice")
        r.callbackRate = try p.fixed("callbackRate")
        r.clientAlgoId = p["clientAlgoId"]
        if let c = r.clientAlgoId, !Engine.validClientId(c) { throw APIError.illegal("clientAlgoId", "^[\\.A-Z\\:/a-z0-9_-]{1,36}$") }
        return r
    }

    func futuresExchangeInfo() -> J {
        let rl = flimiter.cfg
        let f = futures
        return .obj([
            ("timezone", .str("UTC")), ("serverTime", .int(f.fnow())), ("futuresType", .str("U_MARGINED")),
            ("rateLimits", .arr([
                .obj([("rateLimitType", .str("REQUEST_WEIGHT")), ("interval", .str("MINUTE")), ("intervalNum", .int(1)), ("limit", .i(rl.requestWeightPerMinute))]),
                .obj([("rateLimitType", .str("ORDERS")), ("interval", .str("MINUTE")), ("intervalNum", .int(1)), ("limit", .int(1200))]),
                .obj([("rateLimitType", .str("ORDERS")), ("interval", .str("SECOND")), ("intervalNum", .int(10)), ("limit", .i(rl.ordersPer10s))]),
            ])),
            ("exchangeFilters", .arr([])),
            ("assets", .arr(Set(f.symbols.map(\.spec.quote)).sorted().map {
                .obj([("asset", .str($0)), ("marginAvailable", .bool(true)), ("autoAssetExchange", .str("-10000"))])
            })),
            ("symbols", .arr(f.symbols.map { s in
                let spec = s.spec
                let pp = max(0, spec.tick.description.split(separator: ".").last.map { trimCount($0) } ?? 0)
                let qp = max(0, spec.step.description.split(separator: ".").last.map { trimCount($0) } ?? 0)
                return .obj([
                    ("symbol", .str(spec.name)), ("pair", .str(spec.name)), ("contractType", .str("PERPETUAL")),
                    ("deliveryDate", .int(4133404800000)), ("onboardDate", .int(1569398400000)), ("status", .str("TRADING")),
                    ("maintMarginPercent", .str("2.5000")), ("requiredMarginPercent", .str("5.0000")),
                    ("baseAsset", .str(spec.base)), ("quoteAsset", .str(spec.quote)), ("marginAsset", .str(spec.quote)),
                    ("pricePrecision", .i(pp)), ("quantityPrecision", .i(qp)), ("baseAssetPrecision", .int(8)), ("quotePrecision", .int(8)),
                    ("underlyingType", .str("COIN")), ("underlyingSubType", .arr([])), ("settlePlan", .int(0)),
                    ("triggerProtect", .str("0.0500")), ("liquidationFee", .str(trim(s.liquidationFee))), ("marketTakeBound", .str("0.05")),
                    ("maxMoveOrderLimit", .int(10000)),
                    ("filters", .arr([
                        .obj([("filterType", .str("PRICE_FILTER")), ("minPrice", .str(trim(spec.minPrice))), ("maxPrice", .str(trim(spec.maxPrice))), ("tickSize", .str(trim(spec.tick)))]),
                        .obj([("filterType", .str("LOT_SIZE")), ("minQty", .str(trim(spec.minQty))), ("maxQty", .str(trim(spec.maxQty))), ("stepSize", .str(trim(spec.step)))]),
                        .obj([("filterType", .str("MARKET_LOT_SIZE")), ("minQty", .str(trim(spec.minQty))), ("maxQty", .str(trim(s.marketMaxQty))), ("stepSize", .str(trim(spec.step)))]),
                        .obj([("filterType", .str("MAX_NUM_ORDERS")), ("limit", .int(200))]),
                        .obj([("filterType", .str("MIN_NOTIONAL")), ("notional", .str(trim(spec.minNotional)))]),
                        .obj([("filterType", .str("PERCENT_PRICE")), ("multiplierUp", .str("1.0500")), ("multiplierDown", .str("0.9500")), ("multiplierDecimal", .str("4"))]),
                    ])),
                    ("orderTypes", .arr(["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"].map { .str($0) })),
                    ("timeInForce", .arr(["GTC", "IOC", "FOK", "GTX", "GTD"].map { .str($0) })),
                    ("permissionSets", .arr([.str("GRID"), .str("COPY")])),
                ])
            })),
        ])
    }

    func registerFutures() {
        let f = futures
        func ep(_ sec: Security, order: Bool = false, _ w: @escaping @Sendable (Params) -> Int,
                _ h: @escaping @Sendable (Params, Int) throws(APIError) -> J) -> Endpoint {
            Endpoint(security: sec, isOrder: order, weight: w, handler: h)
        }
        func perSymbol(_ single: Int, _ all: Int, _ g: @escaping @Sendable (Int) -> J) -> Endpoint {
            ep(.none, { $0["symbol"] == nil ? all : single }) { [unowned self] p, _ throws(APIError) in
                if p["symbol"] != nil { return g(try self.fsym(p)) }
                return .arr((0..<f.symbolCount).map(g))
            }
        }
        let ping = ep(.none, { _ in 1 }) { _, _ in .obj([]) }
        let time = ep(.none, { _ in 1 }) { _, _ in .obj([("serverTime", .int(f.fnow()))]) }
        let info = ep(.none, { _ in 1 }) { [unowned self] _, _ in self.futuresExchangeInfo() }
        let depth = ep(.none, VenueAPI.fdepthWeight) { [unowned self] p, _ throws(APIError) in
            let s = try self.fsym(p)
            let l = try VenueAPI.flimit(p, 500, 1000)
            guard [5, 10, 20, 50, 100, 500, 1000].contains(l) else { throw APIError.illegal("limit", "5, 10, 20, 50, 100, 500, 1000") }
            return f.depth(s, limit: l)
        }
        let premium = perSymbol(1, 10) { f.premiumIndex($0) }
        let bookTicker = perSymbol(2, 5) { f.bookTicker($0) }
        let price = perSymbol(1, 2) { f.tickerPrice($0) }
        let newOrder = ep(.signed, order: true, { _ in 0 }) { p, acc throws(APIError) in try f.place(account: acc, VenueAPI.parseFuturesOrder(p)) }
        let testOrder = ep(.signed, { _ in 0 }) { p, acc throws(APIError) in try f.place(account: acc, VenueAPI.parseFuturesOrder(p), test: true) }
        let cancel = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try f.cancel(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), origClientOrderId: p["origClientOrderId"])
        }
        let modify = ep(.signed, order: true, { _ in 1 }) { p, acc throws(APIError) in
            guard let side = Side(rawValue: try p.required("side")) else { throw APIError.invalidSide }
            guard let q = try p.fixed("quantity") else { throw APIError.mandatory("quantity") }
            guard let px = try p.fixed("price") else { throw APIError.mandatory("price") }
            return try f.modify(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), origClientOrderId: p["origClientOrderId"],
                                side: side, quantity: q, price: px)
        }
        let query = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try f.query(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), origClientOrderId: p["origClientOrderId"])
        }
        let openOrder = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try f.query(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), origClientOrderId: p["origClientOrderId"], openOnly: true)
        }
        let openOrders = ep(.signed, { $0["symbol"] == nil ? 40 : 1 }) { p, acc throws(APIError) in try f.openOrders(account: acc, symbol: p["symbol"]) }
        let cancelAll = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in try f.cancelAll(account: acc, symbol: p.required("symbol")) }
        let allOrders = ep(.signed, { _ in 5 }) { p, acc throws(APIError) in
            try f.allOrders(account: acc, symbol: p.required("symbol"), limit: try VenueAPI.flimit(p, 500, 1000))
        }
        let userTrades = ep(.signed, { _ in 5 }) { p, acc throws(APIError) in
            try f.userTrades(account: acc, symbol: p.required("symbol"), orderId: p.int("orderId"), fromId: p.int("fromId"),
                             startTime: p.int("startTime"), endTime: p.int("endTime"), limit: try VenueAPI.flimit(p, 500, 1000))
        }
        let income = ep(.signed, { _ in 30 }) { p, acc throws(APIError) in
            try f.income(account: acc, symbol: p["symbol"], incomeType: p["incomeType"], startTime: p.int("startTime"), endTime: p.int("endTime"),
                         limit: try VenueAPI.flimit(p, 100, 1000))
        }
        let algoNew = ep(.signed, order: true, { _ in 0 }) { p, acc throws(APIError) in try f.placeAlgo(account: acc, VenueAPI.parseAlgoOrder(p)) }
        let algoCancel = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try f.cancelAlgo(account: acc, algoId: p.int("algoId"), clientAlgoId: p["clientAlgoId"])
        }
        let algoQuery = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try f.queryAlgo(account: acc, algoId: p.int("algoId"), clientAlgoId: p["clientAlgoId"])
        }
        let algoOpen = ep(.signed, { $0["symbol"] == nil ? 40 : 1 }) { p, acc throws(APIError) in try f.algoOrders(account: acc, symbol: p["symbol"], openOnly: true) }
        let algoAll = ep(.signed, { _ in 5 }) { p, acc throws(APIError) in try f.algoOrders(account: acc, symbol: p.required("symbol"), openOnly: false) }
        let algoCancelAll = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in try f.cancelAllAlgos(account: acc, symbol: p.required("symbol")) }
        let leverage = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            guard let l = try p.int("leverage") else { throw APIError.mandatory("leverage") }
            return try f.setLeverage(account: acc, symbol: p.required("symbol"), leverage: Int(clamping: l))
        }
        let marginType = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            try f.setMarginType(account: acc, symbol: p.required("symbol"), type: p.required("marginType"))
        }
        let dualSet = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            guard let d = try VenueAPI.bool(p, "dualSidePosition") else { throw APIError.mandatory("dualSidePosition") }
            return try f.setDual(account: acc, dual: d)
        }
        let dualGet = ep(.signed, { _ in 30 }) { _, acc in f.getDual(account: acc) }
        let brackets = ep(.signed, { _ in 1 }) { p, _ throws(APIError) in
            let r = try f.leverageBrackets(symbol: p["symbol"])
            if p["symbol"] != nil, case .arr(let a) = r, let first = a.first { return first }
            return r
        }
        let risk2 = ep(.signed, { _ in 5 }) { p, acc throws(APIError) in try f.positionRisk(account: acc, symbol: p["symbol"], v3: false) }
        let risk3 = ep(.signed, { _ in 5 }) { p, acc throws(APIError) in try f.positionRisk(account: acc, symbol: p["symbol"], v3: true) }
        let account2 = ep(.signed, { _ in 5 }) { _, acc in f.accountInfo(account: acc, v3: false) }
        let account3 = ep(.signed, { _ in 5 }) { _, acc in f.accountInfo(account: acc, v3: true) }
        let balance = ep(.signed, { _ in 5 }) { _, acc in f.balances(account: acc) }
        let lkPost = ep(.apiKey, { _ in 1 }) { _, acc throws(APIError) in try f.listenKey(account: acc, create: true) }
        let lkPut = ep(.apiKey, { _ in 1 }) { _, acc throws(APIError) in try f.listenKey(account: acc, create: false) }
        let lkDelete = ep(.apiKey, { _ in 1 }) { _, acc in f.closeListenKey(account: acc) }
        let commission = ep(.signed, { _ in 20 }) { [unowned self] p, _ throws(APIError) in
            let s = try self.fsym(p)
            return .obj([("symbol", .str(f.symbols[s].spec.name)), ("makerCommissionRate", .s(Fixed.bps(f.config.makerCommissionBps))),
                         ("takerCommissionRate", .s(Fixed.bps(f.config.takerCommissionBps))), ("rpiCommissionRate", .s(.zero))])
        }
        // Spot wallet coin list (GET /sapi/v1/capital/config/getall): what ccxt's fetchCurrencies loads with
        // default options (binance and binanceusdm) before the markets.
        let coins = ep(.signed, { _ in 10 }) { [unowned self] _, acc in
            let a = self.engine.withLock { self.engine.accounts[acc] }
            var assets = self.engine.withLock { a.assetOrder }
            for x in f.symbols.flatMap({ [$0.spec.base, $0.spec.quote] }) where !assets.contains(x) { assets.append(x) }
            return .arr(assets.map { c in
                let b = self.engine.balance(account: acc, asset: c)
                return .obj([
                    ("coin", .str(c)), ("depositAllEnable", .bool(true)), ("withdrawAllEnable", .bool(true)), ("name", .str(c)),
                    ("free", .s(b.free)), ("locked", .s(b.locked)), ("freeze", .s(.zero)), ("withdrawing", .s(.zero)),
                    ("ipoing", .s(.zero)), ("ipoable", .s(.zero)), ("storage", .s(.zero)), ("isLegalMoney", .bool(false)),
                    ("trading", .bool(true)),
                    ("networkList", .arr([.obj([
                        ("network", .str(c)), ("coin", .str(c)), ("withdrawIntegerMultiple", .str("0.00000001")), ("isDefault", .bool(true)),
                        ("depositEnable", .bool(true)), ("withdrawEnable", .bool(true)), ("depositDesc", .str("")), ("withdrawDesc", .str("")),
                        ("name", .str(c)), ("resetAddressStatus", .bool(false)), ("withdrawFee", .str("0")), ("withdrawMin", .str("0")),
                        ("withdrawMax", .str("9999999999")), ("minConfirm", .int(1)), ("unLockConfirm", .int(0)), ("sameAddress", .bool(false)),
                    ])])),
                ])
            })
        }
        let positionMargin = ep(.signed, { _ in 1 }) { p, acc throws(APIError) in
            guard let amt = try p.fixed("amount") else { throw APIError.mandatory("amount") }
            guard let t = try p.int("type"), t == 1 || t == 2 else { throw APIError.mandatory("type") }
            return try f.modifyIsolatedMargin(account: acc, symbol: p.required("symbol"), side: VenueAPI.positionSide(p) ?? .BOTH,
                                              amount: amt, add: t == 1)
        }
        // No margin trading on the simulator: the cross-margin pair list is empty (ccxt asks with fetchMargins).
        let marginPairs = ep(.signed, { _ in 1 }) { _, _ in .arr([]) }
        frest = [
            "GET /sapi/v1/capital/config/getall": coins, "GET /sapi/v1/margin/allPairs": marginPairs, "POST /fapi/v1/positionMargin": positionMargin,
            "GET /fapi/v1/ping": ping, "GET /fapi/v1/time": time, "GET /fapi/v1/exchangeInfo": info, "GET /fapi/v1/depth": depth,
            "GET /fapi/v1/premiumIndex": premium, "GET /fapi/v1/ticker/bookTicker": bookTicker, "GET /fapi/v1/ticker/price": price,
            "GET /fapi/v2/ticker/price": price,
            "POST /fapi/v1/order": newOrder, "PUT /fapi/v1/order": modify, "POST /fapi/v1/order/test": testOrder, "DELETE /fapi/v1/order": cancel,
            "GET /fapi/v1/order": query, "GET /fapi/v1/openOrder": openOrder, "GET /fapi/v1/openOrders": openOrders,
            "DELETE /fapi/v1/allOpenOrders": cancelAll, "GET /fapi/v1/allOrders": allOrders, "GET /fapi/v1/userTrades": userTrades,
            "GET /fapi/v1/income": income,
            "POST /fapi/v1/algoOrder": algoNew, "DELETE /fapi/v1/algoOrder": algoCancel, "GET /fapi/v1/algoOrder": algoQuery,
            "GET /fapi/v1/openAlgoOrders": algoOpen, "GET /fapi/v1/allAlgoOrders": algoAll, "DELETE /fapi/v1/algoOpenOrders": algoCancelAll,
            "POST /fapi/v1/leverage": leverage, "POST /fapi/v1/marginType": marginType,
            "POST /fapi/v1/positionSide/dual": dualSet, "GET /fapi/v1/positionSide/dual": dualGet,
            "GET /fapi/v1/leverageBracket": brackets, "GET /fapi/v2/positionRisk": risk2, "GET /fapi/v3/positionRisk": risk3,
            "GET /fapi/v2/account": account2, "GET /fapi/v3/account": account3, "GET /fapi/v2/balance": balance, "GET /fapi/v3/balance": balance,
            "POST /fapi/v1/listenKey": lkPost, "PUT /fapi/v1/listenKey": lkPut, "DELETE /fapi/v1/listenKey": lkDelete,
            "GET /fapi/v1/commissionRate": commission,
        ]
    }
}

func trimCount(_ s: Substring) -> Int {
    var t = s
    while t.hasSuffix("0") { t.removeLast() }
    return t.count
}

// MARK: WebSocket routes and admin

extension VenueServer {
    enum FKind { case pub, market }

    static func validFuturesStream(_ s: String, _ kind: FKind, _ f: FuturesEngine) -> Bool {
        let parts = s.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, f.symbol(String(parts[0])) != nil, parts[0] == parts[0].lowercased() else { return false }
        let allowed: [String] = kind == .pub ? ["depth", "depth@100ms", "depth@500ms", "bookTicker"]
                                             : ["aggTrade", "markPrice", "markPrice@1s"]
        return allowed.contains(String(parts[1]))
    }

    func addFuturesRoutes(_ router: Router<BasicWebSocketRequestContext>) {
        for (prefix, kind) in [("/public", FKind.pub), ("/market", FKind.market)] {
            router.ws(RouterPath(prefix + "/ws/{stream}")) { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, ctx in
                let s = ctx.requestContext.parameters.get("stream") ?? ""
                try await self.runFutures(inbound, outbound, kind: kind, streams: s.split(separator: "/").map(String.init), combined: false)
            }
            router.ws(RouterPath(prefix + "/ws")) { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, _ in
                try await self.runFutures(inbound, outbound, kind: kind, streams: [], combined: false)
            }
            router.ws(RouterPath(prefix + "/stream")) { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, ctx in
                let q = ctx.request.uri.queryParameters.get("streams") ?? ""
                try await self.runFutures(inbound, outbound, kind: kind, streams: q.split(separator: "/").map(String.init), combined: true)
            }
        }
        let f = api.futures
        router.ws("/private/ws/{listenKey}") { req, ctx in
            let k = ctx.parameters.get("listenKey") ?? ""
            return f.accountFor(listenKey: k) == nil ? .dontUpgrade : .upgrade([:])
        } onUpgrade: { [self] inbound, outbound, ctx in
            try await self.runPrivate(inbound, outbound, key: ctx.requestContext.parameters.get("listenKey") ?? "", combined: false)
        }
        for (path, combined) in [("/private/ws", false), ("/private/stream", true)] {
            router.ws(RouterPath(path)) { req, _ in
                let k = req.uri.queryParameters.get("listenKey") ?? ""
                return f.accountFor(listenKey: k) == nil ? .dontUpgrade : .upgrade([:])
            } onUpgrade: { [self] inbound, outbound, ctx in
                try await self.runPrivate(inbound, outbound, key: ctx.request.uri.queryParameters.get("listenKey") ?? "", combined: combined)
            }
        }
        router.post("/sim/futures/mark") { [self] req, _ in
            var r = req
            let text = String(buffer: (try? await r.collectBody(upTo: 65536)) ?? ByteBuffer())
            guard let obj = JSONReader.object(text), let s = obj["symbol"] as? String, let sym = f.symbol(s),
                  let m = (obj["markPrice"] ?? obj["mid"]).flatMap(JSONReader.scalarString).flatMap(Fixed.parse) else {
                return self.errorResponse(.invalidJSON, [])
            }
            f.setMid(sym, m)
            return self.response(200, f.premiumIndex(sym).text, [])
        }
        router.post("/sim/futures/advance") { [self] req, _ in
            var r = req
            let text = String(buffer: (try? await r.collectBody(upTo: 65536)) ?? ByteBuffer())
            guard let obj = JSONReader.object(text), let ms = obj["ms"].flatMap(JSONReader.scalarString).flatMap({ Int64($0) }), ms >= 0 else {
                return self.errorResponse(.invalidJSON, [])
            }
            f.advance(ms: ms)
            return self.response(200, J.obj([("serverTime", .int(f.fnow())), ("nextFundingTime", .int(f.nextFundingTime))]).text, [])
        }
        router.post("/sim/futures/balance") { [self] req, _ in
            var r = req
            let text = String(buffer: (try? await r.collectBody(upTo: 65536)) ?? ByteBuffer())
            guard let obj = JSONReader.object(text), let key = obj["apiKey"] as? String, let asset = obj["asset"] as? String,
                  let dS = obj["delta"].flatMap(JSONReader.scalarString), let acc = self.api.engine.accountIndex(apiKey: key) else {
                return self.errorResponse(.invalidJSON, [])
            }
            let neg = dS.hasPrefix("-")
            guard let d = Fixed.parse(neg ? String(dS.dropFirst()) : dS) else { return self.errorResponse(.invalidJSON, []) }
            f.adjustWallet(account: acc, asset: asset, delta: neg ? -d : d)
            return self.response(200, "{}", [])
        }
    }

    func runFutures(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, kind: FKind, streams: [String], combined: Bool) async throws {
        let hub = api.fhub
        let f = api.futures
        let (id, stream) = hub.open(combined: combined, isAPI: false)
        hub.subscribe(id, streams.filter { VenueServer.validFuturesStream($0, kind, f) })
        defer { hub.close(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await text in stream { try await outbound.write(.text(text)) } }
            group.addTask { [self] in
                for try await msg in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = msg else { continue }
                    hub.send(id, self.futuresControl(id, text, kind))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func futuresControl(_ conn: Int, _ text: String, _ kind: FKind) -> String {
        guard let o = JSONReader.object(text) else {
            return J.obj([("error", .obj([("code", .int(3)), ("msg", .str("Invalid JSON: expected an object"))])), ("id", .null)]).text
        }
        let idJ: J = o["id"].flatMap(JSONReader.scalarString).map { Int64($0).map(J.int) ?? .str($0) } ?? .null
        let params = (o["params"] as? [Any])?.compactMap { $0 as? String } ?? []
        switch o["method"] as? String {
        case "SUBSCRIBE":
            if let bad = params.first(where: { !VenueServer.validFuturesStream($0, kind, api.futures) }) {
                return J.obj([("error", .obj([("code", .int(2)), ("msg", .str("Invalid request: unknown stream \(bad)"))])), ("id", idJ)]).text
            }
            api.fhub.subscribe(conn, params)
            return J.obj([("result", .null), ("id", idJ)]).text
        case "UNSUBSCRIBE":
            api.fhub.unsubscribe(conn, params)
            return J.obj([("result", .null), ("id", idJ)]).text
        case "LIST_SUBSCRIPTIONS":
            return J.obj([("result", .arr(api.fhub.list(conn).map { .str($0) })), ("id", idJ)]).text
        default:
            return J.obj([("error", .obj([("code", .int(2)), ("msg", .str("Invalid request: unknown method"))])), ("id", idJ)]).text
        }
    }

    func runPrivate(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, key: String, combined: Bool) async throws {
        let hub = api.fhub
        let (id, stream) = hub.open(combined: combined, isAPI: false)
        hub.subscribe(id, [key])
        defer { hub.close(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await text in stream { try await outbound.write(.text(text)) } }
            group.addTask { for try await _ in inbound.messages(maxSize: 1 << 16) {} }
            try await group.next()
            group.cancelAll()
        }
    }
}
