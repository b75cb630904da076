import Foundation
import Testing
@testable import VenueSimCore

func cfg(stp: String = "EXPIRE_MAKER", liquidity: Bool = false) -> SimConfig {
    var c = SimConfig()
    c.liquidity.enabled = liquidity
    c.symbols = [SymbolConfig(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", mid: "100", tickSize: "0.01",
                              stepSize: "0.001", minQty: "0.001", maxQty: "1000", minNotional: "5", defaultSelfTradePreventionMode: stp)]
    c.accounts = [
        AccountConfig(name: "a", apiKey: "ka", secretKey: "sa", balances: ["BTC": "10", "USDT": "10000"]),
        AccountConfig(name: "b", apiKey: "kb", secretKey: "sb", balances: ["BTC": "10", "USDT": "10000"]),
    ]
    return c
}

func F(_ s: String) -> Fixed { Fixed.parse(s)! }
extension J {
    func s(_ k: String) -> String? { if case .str(let v)? = self[k] { return v }; return nil }
    func n(_ k: String) -> Int64? { if case .int(let v)? = self[k] { return v }; return nil }
    var array: [J] { if case .arr(let a) = self { return a }; return [] }
}

func limit(_ side: Side, _ qty: String, _ px: String, tif: TimeInForce = .GTC, stp: STPMode? = nil, type: OrderType = .LIMIT) -> NewOrderRequest {
    NewOrderRequest(symbol: "BTCUSDT", side: side, type: type, tif: type == .LIMIT_MAKER ? nil : tif, quantity: F(qty), price: F(px),
                    stp: stp, respType: .FULL)
}

func expectCode(_ code: Int, _ msg: String? = nil, _ f: () throws(APIError) -> Void) {
    do throws(APIError) { try f(); Issue.record("expected error \(code)") } catch {
        #expect(error.code == code)
        if let m = msg { #expect(error.msg == m) }
    }
}

@Suite struct FixedTests {
    @Test func parseAndFormat() {
        #expect(F("0.1").raw == 10_000_000)
        #expect(F("1").description == "1.00000000")
        #expect(F("123.45600000000").description == "123.45600000")
        #expect(Fixed.parse("1.000000001") == nil)
        #expect(Fixed.parse("abc") == nil)
        #expect(Fixed.parse("1e5") == nil)
        #expect(Fixed.parse(".5") == nil)
        #expect(Fixed.parse("") == nil)
        #expect(F("0.1").times(F("3")) == F("0.3"))
        #expect(F("100.01").isMultiple(of: F("0.01")))
        #expect(!F("100.015").isMultiple(of: F("0.01")))
        #expect(F("10").divided(by: F("3")).description == "3.33333333")
    }
}

@Suite struct EngineTests {
    @Test func priceTimePriority() throws {
        let e = Engine(config: cfg())
        let first = try e.place(account: 0, limit(.SELL, "1", "101")).n("orderId")!
        let second = try e.place(account: 0, limit(.SELL, "1", "101")).n("orderId")!
        let better = try e.place(account: 0, limit(.SELL, "1", "100.5")).n("orderId")!
        let r = try e.place(account: 1, limit(.BUY, "2.5", "101"))
        #expect(r.s("status") == "FILLED")
        let fills = r["fills"]!.array
        #expect(fills.map { $0.s("price") } == ["100.50000000", "101.00000000", "101.00000000"])
        #expect(fills.map { $0.s("qty") } == ["1.00000000", "1.00000000", "0.50000000"])
        #expect(try e.query(account: 0, symbol: "BTCUSDT", orderId: better, origClientOrderId: nil).s("status") == "FILLED")
        #expect(try e.query(account: 0, symbol: "BTCUSDT", orderId: first, origClientOrderId: nil).s("status") == "FILLED")
        let q2 = try e.query(account: 0, symbol: "BTCUSDT", orderId: second, origClientOrderId: nil)
        #expect(q2.s("status") == "PARTIALLY_FILLED")
        #expect(q2.s("executedQty") == "0.50000000")
        #expect(r.s("cummulativeQuoteQty") == "252.00000000")  // 100.5 + 101 + 50.5
    }

    @Test func partialFillRestsAndBalancesLockAndRelease() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.SELL, "1", "100"))
        #expect(e.balance(account: 0, asset: "BTC") == (F("9"), F("1")))
        let r = try e.place(account: 1, limit(.BUY, "3", "100"))
        #expect(r.s("status") == "PARTIALLY_FILLED")
        // buyer: 300 locked, 100 spent, 200 still locked for the resting 2 BTC
        #expect(e.balance(account: 1, asset: "USDT") == (F("9700"), F("200")))
        #expect(e.balance(account: 1, asset: "BTC").free == F("10.999"))  // 0.1% taker fee in BTC
        #expect(e.balance(account: 0, asset: "USDT").free == F("10099.9"))  // maker fee in USDT
        #expect(e.balance(account: 0, asset: "BTC") == (F("9"), F("0")))
        let c = try e.cancel(account: 1, symbol: "BTCUSDT", orderId: r.n("orderId"), origClientOrderId: nil, newClientOrderId: "myCancel")
        #expect(c.s("status") == "CANCELED")
        #expect(c.s("clientOrderId") == "myCancel")
        #expect(c.s("origClientOrderId") == r.s("clientOrderId"))
        #expect(e.balance(account: 1, asset: "USDT") == (F("9900"), F("0")))
    }

    @Test func iocExpiresRemainder() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.SELL, "1", "100"))
        let r = try e.place(account: 1, limit(.BUY, "2", "100", tif: .IOC))
        #expect(r.s("status") == "EXPIRED")
        #expect(r.s("executedQty") == "1.00000000")
        #expect(try e.openOrders(account: 1, symbol: "BTCUSDT").array.isEmpty)
        #expect(e.balance(account: 1, asset: "USDT") == (F("9900"), F("0")))
    }

    @Test func fokAllOrNothing() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.SELL, "1", "100"))
        let miss = try e.place(account: 1, limit(.BUY, "2", "100", tif: .FOK))
        #expect(miss.s("status") == "EXPIRED")
        #expect(miss.s("executedQty") == "0.00000000")
        #expect(miss["fills"]!.array.isEmpty)
        let hit = try e.place(account: 1, limit(.BUY, "1", "100", tif: .FOK))
        #expect(hit.s("status") == "FILLED")
    }

    @Test func limitMakerRejectedWhenCrossing() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.SELL, "1", "100"))
        expectCode(-2010, "Order would immediately match and take.") { () throws(APIError) in
            _ = try e.place(account: 1, limit(.BUY, "1", "100", type: .LIMIT_MAKER))
        }
        let ok = try e.place(account: 1, limit(.BUY, "1", "99.99", type: .LIMIT_MAKER))
        #expect(ok.n("orderId") != nil)
        #expect(try e.query(account: 1, symbol: "BTCUSDT", orderId: ok.n("orderId"), origClientOrderId: nil).s("status") == "NEW")
    }

    @Test func selfTradePreventionExpireMakerByDefault() throws {
        let e = Engine(config: cfg(stp: "EXPIRE_MAKER"))
        let maker = try e.place(account: 0, limit(.SELL, "1", "100"))
        let taker = try e.place(account: 0, limit(.BUY, "1", "100"))
        #expect(taker.s("selfTradePreventionMode") == "EXPIRE_MAKER")
        #expect(taker.s("status") == "NEW")  // maker expired, taker rests
        #expect(try e.query(account: 0, symbol: "BTCUSDT", orderId: maker.n("orderId"), origClientOrderId: nil).s("status") == "EXPIRED_IN_MATCH")
        #expect(e.balance(account: 0, asset: "BTC") == (F("10"), F("0")))
    }

    @Test func selfTradePreventionExpireTakerAndNone() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.SELL, "1", "100"))
        let t = try e.place(account: 0, limit(.BUY, "1", "100", stp: .EXPIRE_TAKER))
        #expect(t.s("status") == "EXPIRED_IN_MATCH")
        let both = try e.place(account: 0, limit(.BUY, "1", "100", stp: .NONE))
        #expect(both.s("status") == "FILLED")  // NONE lets the account trade with itself
    }

    @Test func filtersAndErrors() throws {
        let e = Engine(config: cfg())
        expectCode(-1013, "Filter failure: PRICE_FILTER") { () throws(APIError) in _ = try e.place(account: 0, limit(.BUY, "1", "100.001")) }
        expectCode(-1013, "Filter failure: LOT_SIZE") { () throws(APIError) in _ = try e.place(account: 0, limit(.BUY, "1.0001", "100")) }
        expectCode(-1013, "Filter failure: LOT_SIZE") { () throws(APIError) in _ = try e.place(account: 0, limit(.BUY, "5000", "100")) }
        expectCode(-1013, "Filter failure: NOTIONAL") { () throws(APIError) in _ = try e.place(account: 0, limit(.BUY, "0.01", "100")) }
        expectCode(-2010, "Account has insufficient balance for requested action.") { () throws(APIError) in
            _ = try e.place(account: 0, limit(.BUY, "200", "100"))
        }
        expectCode(-1121, "Invalid symbol.") { () throws(APIError) in
            _ = try e.place(account: 0, NewOrderRequest(symbol: "NOPE", side: .BUY, type: .LIMIT, tif: .GTC, quantity: F("1"), price: F("1")))
        }
        expectCode(-1102) { () throws(APIError) in
            _ = try e.place(account: 0, NewOrderRequest(symbol: "BTCUSDT", side: .BUY, type: .LIMIT, quantity: F("1"), price: F("100")))
        }
        expectCode(-2011, "Unknown order sent.") { () throws(APIError) in
            _ = try e.cancel(account: 0, symbol: "BTCUSDT", orderId: 999, origClientOrderId: nil, newClientOrderId: nil)
        }
        expectCode(-2013, "Order does not exist.") { () throws(APIError) in
            _ = try e.query(account: 0, symbol: "BTCUSDT", orderId: 999, origClientOrderId: nil)
        }
        _ = try e.place(account: 0, NewOrderRequest(symbol: "BTCUSDT", side: .BUY, type: .LIMIT, tif: .GTC, quantity: F("1"), price: F("90"), newClientOrderId: "dup"))
        expectCode(-2010, "Duplicate order sent.") { () throws(APIError) in
            _ = try e.place(account: 0, NewOrderRequest(symbol: "BTCUSDT", side: .BUY, type: .LIMIT, tif: .GTC, quantity: F("1"), price: F("90"), newClientOrderId: "dup"))
        }
    }

    @Test func marketOrdersByQuantityAndQuote() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.SELL, "1", "100"))
        _ = try e.place(account: 0, limit(.SELL, "1", "102"))
        let m = try e.place(account: 1, NewOrderRequest(symbol: "BTCUSDT", side: .BUY, type: .MARKET, quantity: F("1.5")))
        #expect(m.s("status") == "FILLED")
        #expect(m.s("cummulativeQuoteQty") == "151.00000000")
        let q = try e.place(account: 1, NewOrderRequest(symbol: "BTCUSDT", side: .BUY, type: .MARKET, quoteOrderQty: F("20.4")))
        #expect(q.s("executedQty") == "0.20000000")  // floored to stepSize at 102
        #expect(q.s("origQuoteOrderQty") == "20.40000000")
        #expect(q.s("status") == "EXPIRED" || q.s("status") == "FILLED")
        #expect(e.balance(account: 1, asset: "USDT").locked == .zero)
    }

    @Test func stopLimitTriggersOnTrade() throws {
        let e = Engine(config: cfg())
        _ = try e.place(account: 0, limit(.BUY, "1", "100"))  // last price is the start mid 100
        expectCode(-2010, "Stop price would trigger immediately.") { () throws(APIError) in
            _ = try e.place(account: 1, NewOrderRequest(symbol: "BTCUSDT", side: .SELL, type: .STOP_LOSS_LIMIT, tif: .GTC,
                                                        quantity: F("1"), price: F("99"), stopPrice: F("100.5")))
        }
        let stop = try e.place(account: 1, NewOrderRequest(symbol: "BTCUSDT", side: .SELL, type: .STOP_LOSS_LIMIT, tif: .GTC,
                                                           quantity: F("0.5"), price: F("98"), stopPrice: F("99.5")))
        #expect(stop.n("orderId") != nil && stop.s("status") == nil)  // ACK by default for stop orders
        let before = try e.query(account: 1, symbol: "BTCUSDT", orderId: stop.n("orderId"), origClientOrderId: nil)
        #expect(before["isWorking"].map { if case .bool(let b) = $0 { return b }; return true } == false)
        _ = try e.place(account: 0, limit(.BUY, "0.1", "99"))
        _ = try e.place(account: 1, limit(.SELL, "1.1", "99", stp: .NONE))  // trades at 100 then 99 → stop triggers
        let after = try e.query(account: 1, symbol: "BTCUSDT", orderId: stop.n("orderId"), origClientOrderId: nil)
        #expect(after.s("status") == "NEW")
        #expect(after["isWorking"].map { if case .bool(let b) = $0 { return b }; return false } == true)  // triggered, resting at 98
    }

    @Test func liquidityProviderKeepsBookNonEmpty() throws {
        var c = cfg(liquidity: true)
        c.liquidity.quantity = "1"
        let e = Engine(config: c)
        let d = e.depth(0, limit: 5)
        #expect(d["bids"]!.array.count == 5)
        #expect(d["asks"]!.array.count == 5)
        let m = try e.place(account: 1, NewOrderRequest(symbol: "BTCUSDT", side: .BUY, type: .MARKET, quantity: F("0.5")))
        #expect(m.s("status") == "FILLED")
        e.requote(0)
        #expect(e.depth(0, limit: 100)["asks"]!.array.count == 10)
    }
}
