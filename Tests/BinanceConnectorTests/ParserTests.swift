import Foundation
import Testing
@testable import BinanceConnector

/// Payload examples from binance-spot-api-docs (web-socket-streams.md, rest-api.md, user-data-stream.md).
@Suite struct MarketDataParserTests {
    let parser = MarketDataParser(priceScale: 8, quantityScale: 8)

    @Test func depthUpdateDocExample() throws {
        let json = """
        {
          "e": "depthUpdate",
          "E": 1672515782136,
          "s": "BNBBTC",
          "U": 157,
          "u": 160,
          "b": [ [ "0.0024", "10" ] ],
          "a": [ [ "0.0026", "100" ] ]
        }
        """
        var m = MarketDataMessage()
        try parser.parse(Array(json.utf8), into: &m)
        #expect(m.kind == .depthUpdate)
        #expect(m.eventTime == 1672515782136)
        #expect(m.firstUpdateID == 157 && m.lastUpdateID == 160)
        #expect(m.bids == [PriceLevel(price: 240_000, quantity: 1_000_000_000)])
        #expect(m.asks == [PriceLevel(price: 260_000, quantity: 10_000_000_000)])
        #expect(m.symbolHash == symbolHash(Array("BNBBTC".utf8)))
        #expect(m.symbolHash == symbolHash(Array("bnbbtc".utf8)))
    }

    @Test func combinedStreamWrapperAndEmptySides() throws {
        let json = #"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":7,"b":[],"a":[["66000.01000000","0.00000000"],["66000.02","1.5"]]}}"#
        var m = MarketDataMessage()
        try parser.parse(Array(json.utf8), into: &m)
        #expect(m.kind == .depthUpdate)
        #expect(m.bids.isEmpty)
        #expect(m.asks == [PriceLevel(price: 6_600_001_000_000, quantity: 0), PriceLevel(price: 6_600_002_000_000, quantity: 150_000_000)])
        #expect(m.symbolHash == symbolHash(Array("BTCUSDT".utf8)))
    }

    @Test func spotBookTickerDocExample() throws {
        let json = """
        {"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}
        """
        var m = MarketDataMessage()
        try parser.parse(Array(json.utf8), into: &m)
        #expect(m.kind == .bookTicker)
        #expect(m.lastUpdateID == 400900217)
        #expect(m.bidPrice == 2_535_190_000 && m.bidQuantity == 3_121_000_000)
        #expect(m.askPrice == 2_536_520_000 && m.askQuantity == 4_066_000_000)
    }

    @Test func futuresDepthWithPu() throws {
        let json = #"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#
        var m = MarketDataMessage()
        try parser.parse(Array(json.utf8), into: &m)
        #expect(m.prevLastUpdateID == 149 && m.transactionTime == 123456788)
    }

    @Test func restDepthSnapshotDocExample() throws {
        let json = """
        {
          "lastUpdateId": 1027024,
          "bids": [ [ "4.00000000", "431.00000000" ] ],
          "asks": [ [ "4.00000200", "12.00000000" ] ]
        }
        """
        var m = MarketDataMessage()
        try parser.parse(Array(json.utf8), into: &m)
        #expect(m.kind == .depthSnapshot)
        #expect(m.lastUpdateID == 1027024)
        #expect(m.bids == [PriceLevel(price: 400_000_000, quantity: 43_100_000_000)])
        #expect(m.asks == [PriceLevel(price: 400_000_200, quantity: 1_200_000_000)])
    }

    @Test func subscribeReplyAndGarbage() throws {
        var m = MarketDataMessage()
        try parser.parse(Array(#"{"result":null,"id":1}"#.utf8), into: &m)
        #expect(m.kind == .controlReply)
        #expect(throws: MarketDataParseError.self) { try parser.parse(Array(#"{"e":"depthUpdate","b":[["1","#.utf8), into: &m) }
        #expect(throws: MarketDataParseError.self) { try parser.parse(Array("not json".utf8), into: &m) }
    }

    @Test func reusesCapacity() throws {
        var m = MarketDataMessage(levelCapacity: 4)
        let json = Array(#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","1"],["2","2"]],"a":[["3","3"]]}"#.utf8)
        try parser.parse(json, into: &m)
        let cap = m.bids.capacity
        try parser.parse(json, into: &m)
        #expect(m.bids.capacity == cap && m.bids.count == 2)
    }
}

@Suite struct UserDataParserTests {
    @Test func executionReportDocExample() throws {
        let json = """
        {"subscriptionId":0,"event":{
          "e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW", "S": "BUY",
          "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410", "P": "0.00000000", "F": "0.00000000",
          "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE", "i": 4293153, "l": "0.00000000", "z": "0.00000000",
          "L": "0.00000000", "n": "0", "N": null, "T": 1499405658657, "t": -1, "v": 3, "I": 8641984, "w": true,
          "m": false, "M": false, "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000", "Q": "0.00000000",
          "W": 1499405658657, "V": "NONE"
        }}
        """
        guard case .executionReport(let r) = try UserDataEvent.parse(Array(json.utf8)) else { Issue.record("not an executionReport"); return }
        #expect(r.symbol == "ETHBTC" && r.clientOrderId == "mUvoqJxFIILMdfAW5iGSOW" && r.orderId == 4293153)
        #expect(r.executionType == "NEW" && r.orderStatus == "NEW" && r.tradeId == -1 && r.commissionAsset == nil)
        #expect(r.price == "0.10264410" && r.eventTime == 1499405658658)
    }

    @Test func accountPositionAndBalanceUpdate() throws {
        let a = #"{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}"#
        guard case .accountPosition(let p) = try UserDataEvent.parse(Array(a.utf8)) else { Issue.record("bad"); return }
        #expect(p.balances == [.init(asset: "ETH", free: "10000.000000", locked: "0.000000")])
        let b = #"{"e":"balanceUpdate","E":1573200697110,"a":"BTC","d":"100.00000000","T":1573200697068}"#
        guard case .balanceUpdate(let u) = try UserDataEvent.parse(Array(b.utf8)) else { Issue.record("bad"); return }
        #expect(u.asset == "BTC" && u.delta == "100.00000000" && u.clearTime == 1573200697068)
    }

    @Test func restFullOrderResponse() throws {
        let json = """
        {"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","transactTime":1507725176595,
         "price":"0.00000000","origQty":"10.00000000","executedQty":"10.00000000","origQuoteOrderQty":"0.000000",
         "cummulativeQuoteQty":"10.00000000","status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL",
         "workingTime":1507725176595,"selfTradePreventionMode":"NONE",
         "fills":[{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56}]}
        """
        let r = try JSONDecoder().decode(OrderResponse.self, from: Data(json.utf8))
        #expect(r.orderId == 28 && r.status == "FILLED" && r.fills?.first?.tradeId == 56)
    }

    @Test func wsAPIEnvelopes() throws {
        let ok = #"{"id":"e9d6b4349871b40611412680b3445fac","status":200,"result":{"symbol":"BTCUSDT","orderId":12510053279,"orderListId":-1,"clientOrderId":"a097fe6304b20a7e4fc436","transactTime":1655716096505},"rateLimits":[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":1},{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":1}]}"#
        let e = try WSAPIEnvelope.parse(Array(ok.utf8))
        #expect(e.id == "e9d6b4349871b40611412680b3445fac" && e.status == 200 && e.rateLimits.count == 2)
        let r = try JSONDecoder().decode(OrderResponse.self, from: e.resultJSON!)
        #expect(r.orderId == 12510053279)
        let bad = #"{"id":"x","status":400,"error":{"code":-2010,"msg":"Account has insufficient balance for requested action."}}"#
        let b = try WSAPIEnvelope.parse(Array(bad.utf8))
        #expect(b.error == BinanceErrorBody(code: -2010, msg: "Account has insufficient balance for requested action."))
        #expect(try WSAPIEnvelope.parse(Array(#"{"subscriptionId":0,"event":{"e":"balanceUpdate"}}"#.utf8)).isEvent)
    }
}
