// USDⓈ-M futures: margin arithmetic against Binance's documented examples, and the engine's positions, modes,
// reduce-only rules, leverage changes, liquidation and funding with hand-computed numbers.
import Foundation
import Testing
@testable import VenueSimCore

func fcfg(liquidity: Bool = false, maker: Int = 2, taker: Int = 5) -> SimConfig {
    var c = SimConfig()
    c.liquidity.enabled = liquidity
    // The mid must not random-walk under a test: a slow runner reaches the premiumIndex
    // check after a requote (CI saw a mark other than 60000 after 2 s).
    c.liquidity.volatilityTicks = 0
    var f = FuturesConfig(symbols: [
        FuturesSymbolConfig(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", mid: "60000", tickSize: "0.1",
                            stepSize: "0.001", minQty: "0.001", maxQty: "1000", minNotional: "5"),
        FuturesSymbolConfig(symbol: "ETHUSDT", baseAsset: "ETH", quoteAsset: "USDT", mid: "3000", tickSize: "0.01",
                            stepSize: "0.001", minQty: "0.001", maxQty: "10000", minNotional: "5"),
    ])
    f.makerCommissionBps = maker
    f.takerCommissionBps = taker
    c.futures = f
    c.accounts = [
        AccountConfig(name: "a", apiKey: "ka", secretKey: "sa", balances: ["USDT": "10000"]),
        AccountConfig(name: "b", apiKey: "kb", secretKey: "sb", balances: ["USDT": "1000000"]),
    ]
    return c
}

func fo(_ side: Side, _ qty: String, _ px: String? = nil, ps: PositionSide? = nil, reduceOnly: Bool? = nil,
        tif: String = "GTC", type: String? = nil, symbol: String = "BTCUSDT") -> NewFuturesOrder {
    NewFuturesOrder(symbol: symbol, side: side, type: type ?? (px == nil ? "MARKET" : "LIMIT"), positionSide: ps,
                    tif: px == nil ? nil : tif, quantity: F(qty), price: px.map(F), reduceOnly: reduceOnly, respType: "RESULT")
}

/// Account 0 buys (or sells) `qty` at `px` against a resting order of account 1.
func fill(_ e: FuturesEngine, _ side: Side, _ qty: String, _ px: String, ps: PositionSide? = nil, reduceOnly: Bool? = nil) throws {
    _ = try e.place(account: 1, fo(side == .BUY ? .SELL : .BUY, qty, px))
    let r = try e.place(account: 0, fo(side, qty, nil, ps: ps, reduceOnly: reduceOnly))
    #expect(r.s("status") == "FILLED")
}

@Suite struct FuturesMathTests {
    let br = FuturesMath.brackets(FuturesSymbolConfig.defaultBrackets.map {
        (floor: F($0.floor), cap: F($0.cap), leverage: $0.leverage, mmr: F($0.mmr))
    })

    /// Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
    /// (https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93):
    /// "Maintenance Amount formula = [Floor of Position Bracket on Level n * difference between Maintenance Margin Rate
    ///  on Level n and Maintenance Margin Rate on Level n-1] + Maintenance Amount on Level n-1.
    ///  For example, the Maintenance Amount on Level 3 = 250,000 * (1% - 0.5%) + 50 USDT = 1,300 USDT"
    @Test func maintenanceAmountOfLevel3IsDerivedAs1300() {
        #expect(br[1].cum == F("50"))      // 50,000 × (0.5% − 0.4%) + 0
        #expect(br[2].cum == F("1300"))
        #expect(br[3].cum == F("16300"))   // 1,000,000 × (2.5% − 1%) + 1,300
        #expect(br.map(\.initialLeverage) == [125, 100, 50, 20, 10, 5, 4, 3, 2, 1])
    }

    /// Same FAQ: "if the position size of a USDT-margined BTCUSDT contract is 264,000 USDT, then the maintenance
    /// margin rate would be 1% (or 0.01)" and "if the position size ... is 500,000 USDT, then the maintenance
    /// amount would be 1,300 USDT"; "Maintenance Margin = Position Notional * Maintenance Margin Rate on the level of
    /// position notional - Maintenance Amount on the level of position notional".
    @Test func bracketLookupAndMaintenanceMargin() {
        #expect(FuturesMath.bracket(for: F("264000"), in: br).maintMarginRatio == F("0.01"))
        #expect(FuturesMath.bracket(for: F("500000"), in: br).cum == F("1300"))
        #expect(FuturesMath.maintenanceMargin(notional: F("500000"), brackets: br) == F("3700"))   // 500,000 × 1% − 1,300
        #expect(FuturesMath.maintenanceMargin(notional: F("264000"), brackets: br) == F("1340"))   // 264,000 × 1% − 1,300
        #expect(FuturesMath.maintenanceMargin(notional: F("40000"), brackets: br) == F("160"))     // 40,000 × 0.4%
        #expect(FuturesMath.bracket(for: F("50000"), in: br).bracket == 2)                        // floor is inclusive
        #expect(FuturesMath.maxNotional(leverage: 20, in: br) == F("5000000"))
        #expect(FuturesMath.maxNotional(leverage: 126, in: br) == .zero)
    }

    @Test func initialMarginAndUnrealisedPnl() {
        #expect(FuturesMath.initialMargin(notional: F("60000"), leverage: 20) == F("3000"))
        #expect(FuturesMath.unrealizedPnl(amt: F("1.5"), entry: F("60000"), mark: F("59000")) == F("-1500"))
        #expect(FuturesMath.unrealizedPnl(amt: -F("2"), entry: F("60000"), mark: F("59000")) == F("2000"))
        #expect(FuturesMath.averageEntry(amt: F("1"), entry: F("60000"), qty: F("3"), price: F("62000")) == F("61500"))
    }

    /// LP by the FAQ's formula, cross one-way long 1 BTC @ 60,000, WB = 10,000, nothing else held:
    /// bracket at mark (60,000): MMR 0.5 %, cum 50 → LP = (10,000 + 50 − 1×60,000) / (1×0.005 − 1) = 50,201.00502512…;
    /// its notional (50,201) stays in that bracket, so no recomputation.
    @Test func crossOneWayLong() {
        let lp = FuturesMath.liquidationPrice(wb: F("10000"), tmm: .zero, upnl: .zero, both: .init(amt: F("1"), entry: F("60000")),
                                              long: nil, short: nil, mark: F("60000"), brackets: br)
        #expect(lp == F("50201.00502512"))
        // at LP, margin balance equals maintenance margin (to rounding)
        let mb = F("10000") + FuturesMath.unrealizedPnl(amt: F("1"), entry: F("60000"), mark: lp)
        let mm = FuturesMath.maintenanceMargin(notional: lp, brackets: br)
        #expect(FuturesMath.abs(mb - mm).raw < 100)
    }

    /// FAQ note: "If your position (calculated at the liquidation price) and the current position (calculated at the
    /// opening price) are of different levels, then you must substitute ... the maintenance margin rate and the
    /// maintenance margin amount of the position level, to recalculate the liquidation price."
    /// Long 1 @ 60,000, WB 15,000: with level 2 (0.5 %, 50) → 45,175.88 (notional in level 1) → recomputed with
    /// level 1 (0.4 %, 0): (15,000 − 60,000) / (0.004 − 1) = 45,180.72289156…
    @Test func recomputesWithTheBracketAtTheLiquidationPrice() {
        let lp = FuturesMath.liquidationPrice(wb: F("15000"), tmm: .zero, upnl: .zero, both: .init(amt: F("1"), entry: F("60000")),
                                              long: nil, short: nil, mark: F("60000"), brackets: br)
        #expect(lp == F("45180.72289156"))
    }

    /// Isolated (WB = isolated wallet, TMM = UPNL = 0): short 2 BTC @ 60,000 at 20x, isolated wallet 6,000:
    /// LP = (6,000 + 50 + 2×60,000) / (2×0.005 + 2) = 126,050 / 2.01 = 62,711.44278606…
    @Test func isolatedShort() {
        let lp = FuturesMath.liquidationPrice(wb: F("6000"), tmm: .zero, upnl: .zero, both: .init(amt: -F("2"), entry: F("60000")),
                                              long: nil, short: nil, mark: F("60000"), brackets: br)
        #expect(lp == F("62711.44278606"))
    }

    /// Cross with another contract: TMM1 and UPNL1 enter the numerator.
    /// Long 1 @ 60,000, WB 10,000, other symbols: MM 100, UPNL −500 → (10,000 − 100 + (−500) + 50 − 60,000)/(0.005 − 1)
    /// = −50,550 / −0.995 = 50,804.02010050…
    @Test func crossWithOtherContracts() {
        let lp = FuturesMath.liquidationPrice(wb: F("10000"), tmm: F("100"), upnl: -F("500"), both: .init(amt: F("1"), entry: F("60000")),
                                              long: nil, short: nil, mark: F("60000"), brackets: br)
        #expect(lp == F("50804.0201005"))
    }

    /// Hedge mode, both legs: long 1 @ 60,000 and short 1 @ 61,000, WB 1,000:
    /// (1,000 + 50 + 50 − 60,000 + 61,000) / (0.005 + 0.005 − 1 + 1) = 2,100 / 0.01 = 210,000.
    @Test func hedgeBothLegs() {
        let lp = FuturesMath.liquidationPrice(wb: F("1000"), tmm: .zero, upnl: .zero, both: nil, long: .init(amt: F("1"), entry: F("60000")),
                                              short: .init(amt: F("1"), entry: F("61000")), mark: F("60000"), brackets: br)
        #expect(lp == F("210000"))
        // a long that can't be liquidated (wallet covers it) → 0 ("--" on Binance)
        #expect(FuturesMath.liquidationPrice(wb: F("100000"), tmm: .zero, upnl: .zero, both: .init(amt: F("1"), entry: F("60000")),
                                             long: nil, short: nil, mark: F("60000"), brackets: br) == .zero)
    }

    /// Binance FAQ "How to Avoid Liquidation" (https://www.binance.com/en/support/faq/25edcd7fe0e544839d0847b8cbb2e400):
    /// "Assume you have a wallet balance of 500 USDT. You entered a long BTCUSDT position worth 1,000 USDT with 20x
    ///  leverage at $50,000. In this example, your liquidation price will be $25,100.40."
    /// 1,000 USDT at 50,000 is 0.02 BTC; its notional is in bracket 1 (0.4 %, maintenance amount 0), so
    /// LP = (500 + 0 − 0.02 × 50,000) / (0.02 × 0.004 − 0.02) = 25,100.40160642… (the FAQ shows 2 decimals);
    /// initial margin 1,000 / 20 = 50, maintenance margin 1,000 × 0.4 % = 4.
    @Test func faqLongWorth1000UsdtAt20xLiquidatesAt25100_40() {
        let lp = FuturesMath.liquidationPrice(wb: F("500"), tmm: .zero, upnl: .zero, both: .init(amt: F("0.02"), entry: F("50000")),
                                              long: nil, short: nil, mark: F("50000"), brackets: br)
        #expect(lp.format(decimals: 2) == "25100.40")
        #expect(lp == F("25100.40160642"))
        #expect(FuturesMath.initialMargin(notional: F("1000"), leverage: 20) == F("50"))
        #expect(FuturesMath.maintenanceMargin(notional: F("1000"), brackets: br) == F("4"))
    }

    /// Binance funding formula F = P + clamp(I − P, 0.05%, −0.05%); fee = notional × F.
    @Test func fundingRateFormula() {
        let i = F("0.0001")
        #expect(FuturesMath.fundingRate(premiumIndex: .zero, interestRate: i) == F("0.0001"))
        #expect(FuturesMath.fundingRate(premiumIndex: F("0.001"), interestRate: i) == F("0.0005"))
        #expect(FuturesMath.fundingRate(premiumIndex: -F("0.0003"), interestRate: i) == F("0.0001"))
        #expect(FuturesMath.fundingRate(premiumIndex: -F("0.002"), interestRate: i) == -F("0.0015"))
        #expect(FuturesMath.fundingFee(amt: F("1"), mark: F("60000"), rate: F("0.0001")) == F("6"))
        #expect(FuturesMath.fundingFee(amt: -F("2"), mark: F("3000"), rate: F("0.0001")) == -F("0.6"))
    }
}

@Suite struct FuturesEngineTests {
    @Test func oneWayOpenCloseRealisesPnlAndFees() throws {
        let e = FuturesEngine(config: fcfg())
        try fill(e, .BUY, "1", "60000")
        var p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.amt == F("1") && p.entry == F("60000") && p.leverage == 20 && p.initialMargin == F("3000"))
        #expect(e.wallet(account: 0) == F("9970"))              // taker 0.05 % of 60,000
        #expect(e.wallet(account: 1) == F("999988"))            // maker 0.02 %
        #expect(e.position(account: 1, symbol: "BTCUSDT")?.amt == -F("1"))
        try fill(e, .SELL, "1", "61000")
        p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.amt.isZero && p.entry.isZero)
        #expect(e.wallet(account: 0) == F("10939.5"))            // 9,970 + 1,000 − 30.5
    }

    @Test func oneWayFlipsThroughZero() throws {
        let e = FuturesEngine(config: fcfg(maker: 0, taker: 0))
        try fill(e, .BUY, "1", "60000")
        try fill(e, .SELL, "3", "61000")
        let p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.amt == -F("2") && p.entry == F("61000"))
        #expect(e.wallet(account: 0) == F("11000"))
    }

    @Test func reduceOnlyRejectionsOneWay() throws {
        let e = FuturesEngine(config: fcfg())
        expectCode(-2022, "ReduceOnly Order is rejected.") { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "1", nil, reduceOnly: true)) }
        try fill(e, .BUY, "1", "60000")
        expectCode(-2022) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "1", "59000", reduceOnly: true)) }   // same direction
        expectCode(-4061) { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "1", "61000", ps: .LONG)) }
        // reduce-only larger than the position fills only the position, the rest expires
        _ = try e.place(account: 1, fo(.BUY, "3", "59000"))
        let r = try e.place(account: 0, fo(.SELL, "2", nil, reduceOnly: true))
        #expect(r.s("status") == "EXPIRED" && r.s("executedQty") == "1.00000000")
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.amt == .zero)
    }

    @Test func hedgeModeKeepsBothLegs() throws {
        let e = FuturesEngine(config: fcfg(maker: 0, taker: 0))
        _ = try e.setDual(account: 0, dual: true)
        expectCode(-4059) { () throws(APIError) in _ = try e.setDual(account: 0, dual: true) }
        expectCode(-4061) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "1", "59000")) }                    // positionSide required
        expectCode(-1106) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "1", "59000", ps: .LONG, reduceOnly: false)) }
        try fill(e, .BUY, "1", "60000", ps: .LONG)
        try fill(e, .SELL, "2", "60500", ps: .SHORT)
        #expect(e.position(account: 0, symbol: "BTCUSDT", side: .LONG)?.amt == F("1"))
        #expect(e.position(account: 0, symbol: "BTCUSDT", side: .SHORT)?.amt == -F("2"))
        expectCode(-2022) { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "1.5", "61000", ps: .LONG)) }     // closes more than the long
        expectCode(-4068) { () throws(APIError) in _ = try e.setDual(account: 0, dual: false) }
        try fill(e, .SELL, "1", "61000", ps: .LONG)                                                    // closes the long only
        #expect(e.position(account: 0, symbol: "BTCUSDT", side: .LONG)?.amt == .zero)
        #expect(e.position(account: 0, symbol: "BTCUSDT", side: .SHORT)?.amt == -F("2"))
        #expect(e.wallet(account: 0) == F("11000"))                                                    // +1,000 realised on the long
        // the same orders in one-way mode net out
        let o = FuturesEngine(config: fcfg(maker: 0, taker: 0))
        try fill(o, .BUY, "1", "60000")
        try fill(o, .SELL, "2", "60500")
        #expect(o.position(account: 0, symbol: "BTCUSDT")?.amt == -F("1"))
    }

    @Test func leverageChangeWithAnOpenPosition() throws {
        let e = FuturesEngine(config: fcfg())
        try fill(e, .BUY, "1", "60000")
        expectCode(-2027) { () throws(APIError) in _ = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 125) }  // 60k > 50k cap of 125x
        expectCode(-4028) { () throws(APIError) in _ = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 126) }
        let r = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 50)
        #expect(r.s("maxNotionalValue") == "1000000")
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.initialMargin == F("1200"))
        #expect(e.available(account: 0) == F("8770"))                                              // 9,970 − 1,200
        expectCode(-2028) { () throws(APIError) in _ = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 1) }    // IM 60,000 > wallet
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.leverage == 50)
        expectCode(-4048) { () throws(APIError) in _ = try e.setMarginType(account: 0, symbol: "BTCUSDT", type: "ISOLATED") }
    }

    /// The same FAQ example through the engine (no fees, so the wallet stays 500 USDT): the position it reports
    /// (and /fapi/v2/positionRisk shows) carries Binance's documented liquidation price, $25,100.40.
    @Test func faqExampleThroughTheEngine() throws {
        var c = fcfg(maker: 0, taker: 0)
        c.accounts[0].futuresBalances = ["USDT": "500"]
        let e = FuturesEngine(config: c)
        let sym = try #require(e.symbol("BTCUSDT"))
        e.setMid(sym, F("50000"))
        _ = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 20)
        try fill(e, .BUY, "0.02", "50000")
        let p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.amt == F("0.02") && e.wallet(account: 0) == F("500"))
        #expect(p.liquidationPrice.format(decimals: 2) == "25100.40")
    }

    @Test func crossLiquidation() throws {
        let e = FuturesEngine(config: fcfg())
        try fill(e, .BUY, "1", "60000")
        let sym = try #require(e.symbol("BTCUSDT"))
        // WB 9,970 → LP = (9,970 + 50 − 60,000) / (0.005 − 1) = 50,231.15577889
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.liquidationPrice == F("50231.15577889"))
        e.setMid(sym, F("50300"))      // margin balance 270 ≥ MM 201.5
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.amt == F("1"))
        e.setMid(sym, F("50100"))      // margin balance 70 < MM 200.5 → liquidated at mark, remaining 70 is the clearance fee
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.amt == .zero)
        #expect(e.wallet(account: 0) == .zero)
    }

    @Test func isolatedLiquidationLosesOnlyTheIsolatedMargin() throws {
        let e = FuturesEngine(config: fcfg())
        _ = try e.setMarginType(account: 0, symbol: "BTCUSDT", type: "ISOLATED")
        expectCode(-4046) { () throws(APIError) in _ = try e.setMarginType(account: 0, symbol: "BTCUSDT", type: "ISOLATED") }
        _ = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 10)
        try fill(e, .BUY, "1", "60000")
        var p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.isolated && p.isolatedWallet == F("6000"))
        #expect(e.wallet(account: 0) == F("3970"))                                   // 10,000 − 6,000 − 30
        #expect(p.liquidationPrice == F("54221.10552763"))                           // (6,000 + 50 − 60,000)/(0.005 − 1)
        let sym = try #require(e.symbol("BTCUSDT"))
        e.setMid(sym, F("54300"))
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.amt == F("1"))
        e.setMid(sym, F("54200"))                                                    // 6,000 − 5,800 = 200 < MM 221
        p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.amt.isZero && p.isolatedWallet.isZero)
        #expect(e.wallet(account: 0) == F("3970"))                                   // the cross wallet is untouched
    }

    @Test func modifyLimitOrders() throws {
        let e = FuturesEngine(config: fcfg())
        let o = try e.place(account: 0, fo(.BUY, "1", "59000"))
        let id = o.n("orderId")
        expectCode(-5027) { () throws(APIError) in _ = try e.modify(account: 0, symbol: "BTCUSDT", orderId: id, origClientOrderId: nil, side: .BUY, quantity: F("1"), price: F("59000")) }
        expectCode(-4014) { () throws(APIError) in _ = try e.modify(account: 0, symbol: "BTCUSDT", orderId: id, origClientOrderId: nil, side: .BUY, quantity: F("1"), price: F("59000.05")) }
        let m = try e.modify(account: 0, symbol: "BTCUSDT", orderId: id, origClientOrderId: nil, side: .BUY, quantity: F("2"), price: F("59100"))
        #expect(m.s("price") == "59100.00000000" && m.s("origQty") == "2.00000000" && m.s("status") == "NEW" && m.n("orderId") == id)
        expectCode(-2019) { () throws(APIError) in _ = try e.modify(account: 0, symbol: "BTCUSDT", orderId: id, origClientOrderId: nil, side: .BUY, quantity: F("4"), price: F("59100")) }
        // amended to cross: it executes against the resting sell
        _ = try e.place(account: 1, fo(.SELL, "0.5", "59500"))
        let x = try e.modify(account: 0, symbol: "BTCUSDT", orderId: id, origClientOrderId: nil, side: .BUY, quantity: F("2"), price: F("59500"))
        #expect(x.s("status") == "PARTIALLY_FILLED" && x.s("executedQty") == "0.50000000")
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.amt == F("0.5"))
        // quantity ≤ executed cancels
        let c = try e.modify(account: 0, symbol: "BTCUSDT", orderId: id, origClientOrderId: nil, side: .BUY, quantity: F("0.5"), price: F("59000"))
        #expect(c.s("status") == "CANCELED")
    }

    @Test func gtdOrdersExpireAtTheirDate() throws {
        let e = FuturesEngine(config: fcfg())
        var r = fo(.BUY, "0.01", "59000", tif: "GTD")
        expectCode(-1102) { () throws(APIError) in _ = try e.place(account: 0, r) }
        r.goodTillDate = e.fnow() + 60_000
        expectCode(-4415) { () throws(APIError) in _ = try e.place(account: 0, r) }             // must be > now + 600 s
        r.goodTillDate = e.fnow() + 700_000
        let o = try e.place(account: 0, r)
        #expect(o.s("status") == "NEW" && o.s("timeInForce") == "GTD")
        e.advance(ms: 600_000)
        #expect(try e.query(account: 0, symbol: "BTCUSDT", orderId: o.n("orderId"), origClientOrderId: nil).s("status") == "NEW")
        e.advance(ms: 100_001)
        #expect(try e.query(account: 0, symbol: "BTCUSDT", orderId: o.n("orderId"), origClientOrderId: nil).s("status") == "EXPIRED")
    }

    @Test func isolatedMarginTransfer() throws {
        let e = FuturesEngine(config: fcfg())
        _ = try e.setMarginType(account: 0, symbol: "BTCUSDT", type: "ISOLATED")
        _ = try e.setLeverage(account: 0, symbol: "BTCUSDT", leverage: 10)
        try fill(e, .BUY, "1", "60000")
        _ = try e.modifyIsolatedMargin(account: 0, symbol: "BTCUSDT", side: .BOTH, amount: F("1000"), add: true)
        var p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.isolatedWallet == F("7000") && e.wallet(account: 0) == F("2970"))
        #expect(p.liquidationPrice == F("53216.08040201"))          // (7,000 + 50 − 60,000)/(0.005 − 1)
        expectCode(-4051) { () throws(APIError) in _ = try e.modifyIsolatedMargin(account: 0, symbol: "BTCUSDT", side: .BOTH, amount: F("1500"), add: false) }
        _ = try e.modifyIsolatedMargin(account: 0, symbol: "BTCUSDT", side: .BOTH, amount: F("1000"), add: false)
        p = try #require(e.position(account: 0, symbol: "BTCUSDT"))
        #expect(p.isolatedWallet == F("6000"))
    }

    @Test func fundingEveryIntervalOfSimulatedTime() throws {
        let e = FuturesEngine(config: fcfg())
        try fill(e, .BUY, "1", "60000")
        let sym = try #require(e.symbol("BTCUSDT"))
        #expect(e.predictedFundingRate(sym) == F("0.0001"))     // empty book: premium 0 → F = I
        let next = e.nextFundingTime
        e.advance(ms: e.fundingIntervalMs)
        #expect(e.nextFundingTime == next + e.fundingIntervalMs)
        #expect(e.wallet(account: 0) == F("9964"))              // 9,970 − 1 × 60,000 × 0.0001
        #expect(e.wallet(account: 1) == F("999994"))            // 1,000,000 − 12 + 6
        e.advance(ms: 1000)
        #expect(e.wallet(account: 0) == F("9964"))              // no boundary crossed
    }

    @Test func conditionalOrdersGoThroughTheAlgoAPI() throws {
        let e = FuturesEngine(config: fcfg())
        expectCode(-4120) { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "1", nil, type: "STOP_MARKET")) }
        try fill(e, .BUY, "1", "60000")
        var a = NewAlgoOrder(symbol: "BTCUSDT", side: .SELL, type: "STOP_MARKET")
        a.triggerPrice = F("61000"); a.quantity = F("1")
        expectCode(-2021) { () throws(APIError) in _ = try e.placeAlgo(account: 0, a) }      // a sell stop above the mark triggers at once
        a.triggerPrice = F("59000"); a.quantity = nil; a.closePosition = true; a.workingType = "MARK_PRICE"
        let r = try e.placeAlgo(account: 0, a)
        #expect(r.s("algoStatus") == "NEW" && r.s("orderType") == "STOP_MARKET")
        _ = try e.place(account: 1, fo(.BUY, "1", "58900"))
        e.setMid(try #require(e.symbol("BTCUSDT")), F("58950"))
        #expect(e.position(account: 0, symbol: "BTCUSDT")?.amt == .zero)
        let q = try e.queryAlgo(account: 0, algoId: r.n("algoId"), clientAlgoId: nil)
        #expect(q.s("algoStatus") == "FINISHED" && q.s("executedQty") == "1.00000000")
    }

    @Test func orderFiltersAndMarginChecks() throws {
        let e = FuturesEngine(config: fcfg())
        expectCode(-4014) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "1", "60000.05")) }
        expectCode(-4023) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "1.0005", "60000")) }
        expectCode(-4164) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "0.001", "1000")) }
        expectCode(-2019) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "4", "60000")) }       // IM 12,000 > 10,000
        _ = try e.place(account: 0, fo(.BUY, "3", "50000"))                             // IM 7,500 held by the order
        #expect(e.available(account: 0) == F("2500"))
        expectCode(-4016) { () throws(APIError) in _ = try e.place(account: 0, fo(.BUY, "0.01", "63000.1")) }   // > mark × 1.05
        expectCode(-4024, "Limit price can't be lower than 57000.") { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "0.01", "56999.9")) }
        _ = try e.place(account: 1, fo(.BUY, "1", "59000"))
        expectCode(-5022) { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "0.01", "58000", tif: "GTX")) }   // would take
        expectCode(-5021) { () throws(APIError) in _ = try e.place(account: 0, fo(.SELL, "5", "58000", tif: "FOK")) }
    }
}

@Suite(.serialized) struct FuturesRESTTests {
    @Test func fapiSurfaceOverHTTP() async throws {
        try await withServer(fcfg(liquidity: true)) { port, _ in
            let info = try await call(port, "GET", "/fapi/v1/exchangeInfo")
            #expect(info.status == 200 && info.body.contains("\"contractType\":\"PERPETUAL\"") && info.body.contains("\"tickSize\":\"0.1\""))
            let depth = try await call(port, "GET", "/fapi/v1/depth?symbol=BTCUSDT&limit=5")
            #expect((JSONReader.object(depth.body)?["bids"] as? [[String]])?.count == 5)
            #expect(code(try await call(port, "GET", "/fapi/v1/depth?symbol=BTCUSDT&limit=7")) == -1100)
            let pi = try await call(port, "GET", "/fapi/v1/premiumIndex?symbol=BTCUSDT")
            #expect(pi.body.contains("\"markPrice\":\"60000.00000000\"") && pi.body.contains("\"nextFundingTime\""))
            // signed: leverage, brackets, a position, positionRisk v2/v3, account v3
            let lev = try await call(port, "POST", "/fapi/v1/leverage", key: "ka", body: MiniHTTP.sign("symbol=BTCUSDT&leverage=10", secret: "sa"))
            #expect(lev.body == #"{"leverage":10,"maxNotionalValue":"10000000","symbol":"BTCUSDT"}"#)
            let br = try await call(port, "GET", "/fapi/v1/leverageBracket?" + MiniHTTP.sign("symbol=BTCUSDT", secret: "sa"), key: "ka")
            #expect(br.body.contains(#"{"bracket":3,"initialLeverage":50,"notionalCap":1000000,"notionalFloor":250000,"maintMarginRatio":0.01,"cum":1300}"#))
            let cond = try await call(port, "POST", "/fapi/v1/order", key: "ka",
                                      body: MiniHTTP.sign("symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.1&stopPrice=50000", secret: "sa"))
            #expect(code(cond) == -4120)
            let o = try await call(port, "POST", "/fapi/v1/order", key: "ka",
                                   body: MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1&newOrderRespType=RESULT", secret: "sa"))
            #expect(o.status == 200 && o.body.contains("\"status\":\"FILLED\""))
            let v2 = try await call(port, "GET", "/fapi/v2/positionRisk?" + MiniHTTP.sign("symbol=BTCUSDT", secret: "sa"), key: "ka")
            #expect(v2.body.contains("\"leverage\":\"10\"") && v2.body.contains("\"positionAmt\":\"0.10000000\"") && v2.body.contains("\"marginType\":\"cross\""))
            let v3 = try await call(port, "GET", "/fapi/v3/positionRisk?" + MiniHTTP.sign("", secret: "sa"), key: "ka")
            let arr = try #require(try JSONSerialization.jsonObject(with: Data(v3.body.utf8)) as? [[String: Any]])
            #expect(arr.count == 1 && arr[0]["symbol"] as? String == "BTCUSDT")
            let acct = try await call(port, "GET", "/fapi/v3/account?" + MiniHTTP.sign("", secret: "sa"), key: "ka")
            // Initial margin = notional / leverage (10), at the mark price of the moment (the mid walks).
            let a = try #require(JSONReader.object(acct.body))
            let positions = try #require(a["positions"] as? [[String: Any]])
            let notionalText = try #require(positions.first?["notional"] as? String)
            let imText = try #require(a["totalPositionInitialMargin"] as? String)
            let notional = try #require(Fixed.parse(notionalText))
            let im = try #require(Fixed.parse(imText))
            #expect(im.times(F("10")) == notional && im > F("590") && im < F("610"))
            // Funding over HTTP: simulated time jumps 8 h; /fapi/v1/time and the recvWindow check move with it, so a
            // wall-clock timestamp is now -1021 and one from serverTime passes; the long's payment is in the income history.
            #expect(try await call(port, "POST", "/sim/futures/advance", body: #"{"ms":28800000}"#).status == 200)
            let st = try #require((JSONReader.object(try await call(port, "GET", "/fapi/v1/time").body)?["serverTime"]).flatMap(JSONReader.scalarString).flatMap { Int64($0) })
            #expect(st > nowMs() + 28_000_000)
            #expect(code(try await call(port, "GET", "/fapi/v1/income?" + MiniHTTP.sign("incomeType=FUNDING_FEE", secret: "sa"), key: "ka")) == -1021)
            let inc = try await call(port, "GET", "/fapi/v1/income?" + MiniHTTP.sign("incomeType=FUNDING_FEE", secret: "sa", timestamp: st), key: "ka")
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(inc.body.utf8)) as? [[String: Any]])
            #expect(entries.count == 1 && entries.first?["symbol"] as? String == "BTCUSDT" && (entries.first?["income"] as? String)?.hasPrefix("-") == true)
            // listenKey lifecycle: API key only (no signature); PUT of a deleted key → -1125
            let lk = try await call(port, "POST", "/fapi/v1/listenKey", key: "ka")
            let k = try #require(JSONReader.object(lk.body)?["listenKey"] as? String)
            #expect(try await call(port, "PUT", "/fapi/v1/listenKey", key: "ka").body.contains(k))
            #expect(try await call(port, "POST", "/fapi/v1/listenKey", key: "ka").body.contains(k))   // same active key
            _ = try await call(port, "DELETE", "/fapi/v1/listenKey", key: "ka")
            #expect(code(try await call(port, "PUT", "/fapi/v1/listenKey", key: "ka")) == -1125)
            #expect(code(try await call(port, "POST", "/fapi/v1/listenKey")) == -2014)
        }
    }
}

@Suite struct FuturesStreamTests {
    /// Everything published on `stream` while `body` runs.
    func capture(_ e: FuturesEngine, _ streams: [String], _ body: () throws -> Void) async rethrows -> [[String: Any]] {
        let (id, s) = e.hub.open(combined: false, isAPI: false)
        e.hub.subscribe(id, streams)
        try body()
        e.hub.close(id)
        var out: [[String: Any]] = []
        for await t in s { if let o = JSONReader.object(t) { out.append(o) } }
        return out
    }

    @Test func userDataEventsMarginCallLiquidationAndExpiry() async throws {
        let e = FuturesEngine(config: fcfg())
        let key = try #require(try e.listenKey(account: 0, create: true)["listenKey"].flatMap { if case .str(let k) = $0 { k } else { nil } })
        let sym = try #require(e.symbol("BTCUSDT"))
        let ev = try await capture(e, [key]) {
            try fill(e, .BUY, "1", "60000")
            e.setMid(sym, F("50250"))      // MB 220, MM 201.25: ratio 0.91 ≥ 0.8 → MARGIN_CALL, no liquidation
            e.setMid(sym, F("50100"))      // MB 70 < MM 200.5 → liquidated
            e.advance(ms: 61 * 60_000)     // listenKey validity is 60 min
        }
        let kinds = ev.compactMap { $0["e"] as? String }
        #expect(kinds.first == "ORDER_TRADE_UPDATE" && kinds.contains("ACCOUNT_UPDATE") && kinds.last == "listenKeyExpired")
        let trade = try #require(ev.first { ($0["o"] as? [String: Any])?["x"] as? String == "TRADE" }?["o"] as? [String: Any])
        #expect(trade["ps"] as? String == "BOTH" && trade["L"] as? String == "60000.00000000" && trade["n"] as? String == "30.00000000")
        let mcIndex = try #require(kinds.firstIndex(of: "MARGIN_CALL"))
        let mc = ev[mcIndex]
        #expect(mc["cw"] as? String == "9970.00000000")
        #expect(((mc["p"] as? [[String: Any]])?.first?["mm"] as? String) == "201.25000000")
        let liq = try #require(ev.first { ($0["o"] as? [String: Any])?["o"] as? String == "LIQUIDATION" && ($0["o"] as? [String: Any])?["x"] as? String == "TRADE" }?["o"] as? [String: Any])
        #expect((liq["c"] as? String)?.hasPrefix("autoclose-") == true && liq["X"] as? String == "FILLED" && liq["L"] as? String == "50100.00000000")
        let au = try #require(ev.last { $0["e"] as? String == "ACCOUNT_UPDATE" }?["a"] as? [String: Any])
        #expect(((au["P"] as? [[String: Any]])?.first?["pa"] as? String) == "0.00000000")
        #expect(throws: APIError.self) { try e.listenKey(account: 0, create: false) }   // expired: PUT → -1125
    }

    @Test func fundingFeeEvent() async throws {
        let e = FuturesEngine(config: fcfg())
        try fill(e, .BUY, "1", "60000")
        let key = try #require(try e.listenKey(account: 0, create: true)["listenKey"].flatMap { if case .str(let k) = $0 { k } else { nil } })
        let ev = try await capture(e, [key]) { e.advance(ms: e.fundingIntervalMs) }
        let au = try #require(ev.first { $0["e"] as? String == "ACCOUNT_UPDATE" }?["a"] as? [String: Any])
        #expect(au["m"] as? String == "FUNDING_FEE")
        #expect(((au["B"] as? [[String: Any]])?.first?["wb"] as? String) == "9964.00000000")
        // `bc` carries the funding fee (1 BTC × 60,000 × 0.01 %), as Binance reports it: the connector's source for funding.
        #expect(((au["B"] as? [[String: Any]])?.first?["bc"] as? String) == "-6.00000000")
    }

    /// GET /fapi/v1/income as Binance documents it: FUNDING_FEE entries with symbol, signed income, asset,
    /// time and a tranId; startTime/endTime inclusive; limit from startTime.
    @Test func fundingPaymentsInIncomeHistory() throws {
        let e = FuturesEngine(config: fcfg())
        try fill(e, .BUY, "1", "60000")                          // account 0 long 1, account 1 short 1
        e.advance(ms: e.fundingIntervalMs)
        func income(_ account: Int, start: Int64? = nil, end: Int64? = nil, limit: Int = 100, type: String? = "FUNDING_FEE") throws -> [[String: Any]] {
            let j = try e.income(account: account, symbol: nil, incomeType: type, startTime: start, endTime: end, limit: limit)
            return try #require(try JSONSerialization.jsonObject(with: Data(j.text.utf8)) as? [[String: Any]])
        }
        let long = try income(0), short = try income(1)
        try #require(long.count == 1 && short.count == 1)
        // 1 BTC × 60,000 × 0.01 %: the long pays, the short receives.
        #expect(long[0]["income"] as? String == "-6.00000000" && short[0]["income"] as? String == "6.00000000")
        #expect(long[0]["symbol"] as? String == "BTCUSDT" && long[0]["asset"] as? String == "USDT" && long[0]["incomeType"] as? String == "FUNDING_FEE")
        let t1 = try #require((long[0]["time"] as? NSNumber)?.int64Value)
        let id1 = try #require((long[0]["tranId"] as? NSNumber)?.int64Value)
        #expect(t1 >= e.nextFundingTime - e.fundingIntervalMs)   // settled when simulated time crossed the boundary
        #expect((short[0]["tranId"] as? NSNumber)?.int64Value != id1)
        e.advance(ms: e.fundingIntervalMs)
        let both = try income(0)
        #expect(both.count == 2 && (both[1]["tranId"] as? NSNumber)?.int64Value != id1)
        #expect(try income(0, start: t1 + 1).count == 1 && income(0, end: t1).count == 1 && income(0, start: t1, end: t1).count == 1)
        #expect(try income(0, start: t1, limit: 1).first?["time"] as? NSNumber == NSNumber(value: t1))   // limit counts from startTime
        #expect(try income(0, type: "COMMISSION").isEmpty)
        #expect(throws: APIError.self) { try e.income(account: 0, symbol: "NOPE", incomeType: nil, startTime: nil, endTime: nil, limit: 100) }
    }

    /// GET /fapi/v1/userTrades (developers.binance.com, "Account Trade List"): "If startTime and endTime are both not
    /// sent, then the last 7 days' data will be returned. The time between startTime and endTime cannot be longer than
    /// 7 days. The parameter fromId cannot be sent with startTime or endTime."
    @Test func userTradesFollowTheDocumentedParameterRules() throws {
        let e = FuturesEngine(config: fcfg())
        let day: Int64 = 86_400_000
        try fill(e, .BUY, "0.1", "60000")
        e.advance(ms: 8 * day)
        try fill(e, .BUY, "0.1", "60000")
        e.advance(ms: day)
        try fill(e, .SELL, "0.1", "60000")
        func trades(_ start: Int64? = nil, _ end: Int64? = nil, from: Int64? = nil, limit: Int = 500) throws -> [(id: Int64, time: Int64)] {
            let j = try e.userTrades(account: 0, symbol: "BTCUSDT", orderId: nil, fromId: from, startTime: start, endTime: end, limit: limit)
            let a = try #require(try JSONSerialization.jsonObject(with: Data(j.text.utf8)) as? [[String: Any]])
            return a.map { (($0["id"] as! NSNumber).int64Value, ($0["time"] as! NSNumber).int64Value) }
        }
        let all = try trades(from: 0)
        try #require(all.count == 3)
        #expect(try trades().map(\.id) == Array(all.suffix(2).map(\.id)))          // the last 7 days only
        #expect(try trades(all[0].time).map(\.id) == [all[0].id])                   // startTime alone: 7 days from it
        #expect(try trades(all[1].time, limit: 1).map(\.id) == [all[1].id])         // forward from startTime
        #expect(try trades(from: all[1].id).map(\.id) == [all[1].id, all[2].id])    // fromId: that trade and later
        #expect(try trades(nil, all[2].time, limit: 1).map(\.id) == [all[2].id])    // endTime alone: the newest first kept
        #expect(throws: APIError.self) { try trades(all[0].time, from: all[0].id) }
        #expect(throws: APIError.self) { try trades(all[0].time, all[0].time + 7 * day + 1) }
        #expect(try trades(all[0].time, all[0].time + 7 * day).count == 1)
    }

    @Test func depthDiffsChainPuAndGapsBreakIt() async throws {
        let e = FuturesEngine(config: fcfg())
        let ev = try await capture(e, ["btcusdt@depth@100ms"]) {
            for i in 0..<4 {
                _ = try e.place(account: 1, fo(.BUY, "1", "5900\(i)"))
                e.tick(i * 10 + 1)
            }
            e.withLock { e.gapsToInject = 1 }
            _ = try e.place(account: 1, fo(.SELL, "1", "61000"))
            e.tick(41)
        }
        #expect(ev.count == 5)
        for (a, b) in zip(ev, ev.dropFirst()).prefix(3) {
            #expect((b["pu"] as? NSNumber)?.int64Value == (a["u"] as? NSNumber)?.int64Value)
            #expect(((b["U"] as? NSNumber)?.int64Value ?? 0) <= ((b["u"] as? NSNumber)?.int64Value ?? -1))
        }
        #expect((ev[4]["pu"] as? NSNumber)?.int64Value != (ev[3]["u"] as? NSNumber)?.int64Value)   // injected gap
        #expect(ev.allSatisfy { $0["e"] as? String == "depthUpdate" && $0["T"] != nil })
    }
}
