import Foundation
import OMSCore
import Testing
import Yams
@testable import BinanceConnector

@Suite struct FuturesParsingTests {
    /// ORDER_TRADE_UPDATE as documented (developers.binance.com … user-data-streams/Event-Order-Update).
    @Test func orderTradeUpdate() throws {
        let text = """
        {"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"SELL","o":"TRAILING_STOP_MARKET",
        "f":"GTC","q":"0.001","p":"0","ap":"0","sp":"7103.04","x":"NEW","X":"NEW","i":8886774,"l":"0","z":"0","L":"0","N":"USDT","n":"0",
        "T":1568879465650,"t":0,"b":"0","a":"9.91","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"TRAILING_STOP_MARKET","ps":"LONG",
        "cp":false,"AP":"7476.89","cr":"5.0","pP":false,"si":0,"ss":0,"rp":"0","V":"EXPIRE_TAKER","pm":"OPPONENT","gtd":0}}
        """
        guard case .orderUpdate(let E, let o) = try FuturesUserEvent.parse(Array(text.utf8)) else { Issue.record("not an order update"); return }
        #expect(E == 1568879465651 && o.clientOrderId == "TEST" && o.orderId == 8886774 && o.positionSide == "LONG" && o.status == "NEW")
        #expect(o.tradeId == 0 && o.commissionAsset == "USDT")
    }

    @Test func accountUpdateMarginCallAndExpiry() throws {
        let au = """
        {"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],
        "P":[{"s":"BTCUSDT","pa":"0","ep":"0.00000","bep":"0","cr":"200","up":"0","mt":"isolated","iw":"0.00000000","ps":"BOTH"},
             {"s":"BTCUSDT","pa":"20","ep":"6563.66500","bep":"0","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}
        """
        guard case .accountUpdate(_, let a) = try FuturesUserEvent.parse(Array(au.utf8)) else { Issue.record("not an account update"); return }
        #expect(a.reason == "ORDER" && a.balances.first?.walletBalance == "122624.12345678" && a.positions.count == 2)
        #expect(a.positions[1].accumulatedRealized == "0" && a.positions[1].isolatedWallet == "13200.70726908")
        let mc = #"{"e":"MARGIN_CALL","E":1587727187525,"cw":"3.16812045","p":[{"s":"ETHUSDT","ps":"LONG","pa":"1.327","mt":"CROSSED","iw":"0","mp":"187.17127","up":"-1.166074","mm":"1.614445"}]}"#
        #expect(try FuturesUserEvent.parse(Array(mc.utf8)) == .marginCall(eventTime: 1587727187525))
        #expect(try FuturesUserEvent.parse(Array(#"{"e":"listenKeyExpired","E":1576653824250,"listenKey":"x"}"#.utf8)) == .listenKeyExpired)
        let algo = #"{"e":"ALGO_UPDATE","T":1750515742297,"E":1750515742303,"o":{"caid":"Q5xaq5EGKgXXa0fD7fs0Ip","aid":2148719,"at":"CONDITIONAL","o":"TAKE_PROFIT","s":"BNBUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.01","X":"CANCELED","ai":"","tp":"750","p":"750"}}"#
        guard case .algoUpdate(_, let g) = try FuturesUserEvent.parse(Array(algo.utf8)) else { Issue.record("not an algo update"); return }
        #expect(g.algoId == 2148719 && g.status == "CANCELED" && g.clientAlgoId == "Q5xaq5EGKgXXa0fD7fs0Ip")
    }

    func newOrder(_ type: Oms_V1_OrderType, _ side: Oms_V1_Side, reduceOnly: Bool = false, tif: Oms_V1_TimeInForce = .gtc, postOnly: Bool = false) -> Oms_V1_NewOrder {
        Oms_V1_NewOrder.with { n in
            n.orderID = "o1"; n.side = side; n.orderType = type; n.timeInForce = tif; n.postOnly = postOnly; n.reduceOnly = reduceOnly
            n.quantity = FixedPoint.decimal("0.010")!
            if type != .market && type != .stopMarket && type != .takeProfitMarket { n.price = FixedPoint.decimal("60000.1")! }
            if BinanceFuturesExecutionClient.isConditional(type) { n.stopPrice = FixedPoint.decimal("59000")! }
        }
    }

    func params(_ n: Oms_V1_NewOrder, hedge: Bool = false) throws -> [String: String] {
        Dictionary(try BinanceFuturesExecutionClient.orderParams(n, symbol: "BTCUSDT", venueClientID: "v1", hedgeMode: hedge).get(), uniquingKeysWith: { a, _ in a })
    }

    @Test func orderParameterMapping() throws {
        let l = try params(newOrder(.limit, .buy, tif: .ioc))
        #expect(l["type"] == "LIMIT" && l["timeInForce"] == "IOC" && l["price"] == "60000.1" && l["quantity"] == "0.01" && l["newClientOrderId"] == "v1")
        #expect(l["positionSide"] == nil && l["reduceOnly"] == nil && l["newOrderRespType"] == "RESULT")
        #expect(try params(newOrder(.limit, .sell, postOnly: true))["timeInForce"] == "GTX")
        let m = try params(newOrder(.market, .sell, reduceOnly: true))
        #expect(m["type"] == "MARKET" && m["reduceOnly"] == "true" && m["price"] == nil)
        // hedge: reduce-only sell closes LONG, plain sell opens SHORT; no reduceOnly parameter
        #expect(try params(newOrder(.market, .sell, reduceOnly: true), hedge: true)["positionSide"] == "LONG")
        #expect(try params(newOrder(.market, .sell), hedge: true)["positionSide"] == "SHORT")
        #expect(try params(newOrder(.market, .buy, reduceOnly: true), hedge: true)["reduceOnly"] == nil)
        let s = try params(newOrder(.stopMarket, .sell, reduceOnly: true))
        #expect(s["algoType"] == "CONDITIONAL" && s["type"] == "STOP_MARKET" && s["triggerPrice"] == "59000" && s["clientAlgoId"] == "v1" && s["reduceOnly"] == "true")
        let tp = try params(newOrder(.takeProfitLimit, .sell))
        #expect(tp["type"] == "TAKE_PROFIT" && tp["price"] == "60000.1" && tp["timeInForce"] == "GTC")
        var q = newOrder(.market, .buy)
        q.quantity = Oms_V1_Decimal()
        #expect(throws: ParseError.self) { try BinanceFuturesExecutionClient.orderParams(q, symbol: "BTCUSDT", venueClientID: "v", hedgeMode: false).get() }
    }

    @Test func settingsFromConfig() throws {
        let yaml = """
        exchanges:
          binance:
            futures:
              position_mode: hedge
              leverage: { BTCUSDT: 10, eth-usdt: 5 }
              margin_type: cross
        """
        let block = try #require(try Yams.compose(yaml: yaml)?.mapping?["exchanges"]?.mapping?["binance"]?.mapping?["futures"]?.mapping)
        let s = try FuturesSettings.parse(block)
        #expect(s.hedgeMode == true && s.leverage("BTCUSDT") == 10 && s.leverage("ETHUSDT") == 5 && s.leverage("SOLUSDT") == nil)
        #expect(s.marginType("BTCUSDT") == "CROSSED")
        let bad = try #require(try Yams.compose(yaml: "leverage: 200")?.mapping)
        #expect(throws: FuturesSettings.Problem.self) { try FuturesSettings.parse(bad) }
        let badMode = try #require(try Yams.compose(yaml: "position_mode: both")?.mapping)
        #expect(throws: FuturesSettings.Problem.self) { try FuturesSettings.parse(badMode) }
    }

    @Test func streamBasesFromTheOverride() throws {
        let v = try #require(try OMSConfig.parse(yaml: """
        exchanges:
          binance:
            futures: { enabled: true, rest_url: "http://127.0.0.1:1", ws_url: "ws://127.0.0.1:1" }
        """).venue("binance", "futures"))
        let c = BinanceVenueConfig(product: .futures, venue: v)
        #expect(c.streamBaseURL == "ws://127.0.0.1:1/public" && c.restPrefix == "/fapi/v1")
        let pv = try #require(try OMSConfig.parse(yaml: "exchanges: { binance: { futures: { enabled: true } } }").venue("binance", "futures"))
        #expect(BinanceVenueConfig(product: .futures, venue: pv).streamBaseURL == "wss://fstream.binance.com/public")
    }
}
