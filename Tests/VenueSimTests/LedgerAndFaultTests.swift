import Foundation
import Testing
@testable import VenueSimCore

/// The fault suite's ground truth (GET /sim/ledger) and the fault kinds it injects
/// beyond plain REST errors: a 418 ban, and WS API order requests refused or
/// executed with the answer lost (-1007).
@Suite(.serialized) struct LedgerAndFaultTests {
    static func wsOrder(_ server: VenueServer, id: String, clientId: String, price: String = "90.00") -> [String: Any] {
        var params: [(String, String)] = [("apiKey", "ka"), ("newClientOrderId", clientId), ("price", price), ("quantity", "0.100"),
                                          ("side", "BUY"), ("symbol", "BTCUSDT"), ("timeInForce", "GTC"),
                                          ("timestamp", String(nowMs())), ("type", "LIMIT")]
        let payload = params.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        params.append(("signature", Signer.hmacHex(secret: "sa", payload: payload)))
        let obj = "{\"id\":\"\(id)\",\"method\":\"order.place\",\"params\":{" + params.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}}"
        return JSONReader.object(server.wsRequest(obj, 0, VenueServer.Session())) ?? [:]
    }

    @Test func ledgerListsOrdersTradesBalancesAndRefusedDuplicates() async throws {
        try await withServer(cfg(liquidity: true)) { port, server in
            let body = MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&price=90.00&newClientOrderId=L1", secret: "sa")
            #expect(try await call(port, "POST", "/api/v3/order", key: "ka", body: body).status == 200)
            let again = MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&price=90.00&newClientOrderId=L1", secret: "sa")
            #expect(code(try await call(port, "POST", "/api/v3/order", key: "ka", body: again)) == -2010)
            let taker = MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.100&newClientOrderId=L2", secret: "sa")
            let takerReply = try await call(port, "POST", "/api/v3/order", key: "ka", body: taker)
            #expect(takerReply.status == 200, "\(takerReply.body)")

            let r = try await call(port, "GET", "/sim/ledger?apiKey=ka")
            let l = try #require(JSONReader.object(r.body))
            let orders = try #require(l["orders"] as? [[String: Any]])
            #expect(orders.compactMap { $0["clientOrderId"] as? String } == ["L1", "L2"])
            #expect(orders.last?["status"] as? String == "FILLED")
            let trades = try #require(l["trades"] as? [[String: Any]])
            #expect(!trades.isEmpty && trades.allSatisfy { ($0["isBuyer"] as? Bool) == true })
            #expect((l["duplicateRejects"] as? NSNumber)?.intValue == 1)
            let usdt = (l["balances"] as? [[String: Any]])?.first { $0["asset"] as? String == "USDT" }
            #expect((usdt?["locked"] as? String).flatMap(Fixed.parse) == F("9"))   // 0.1 × 90 still resting
            #expect(try await call(port, "GET", "/sim/ledger?apiKey=nope").status == 400)
        }
    }

    @Test func banFaultAnswers418WithRetryAfter() async throws {
        try await withServer(cfg()) { port, _ in
            _ = try await call(port, "POST", "/sim/faults", body: #"{"ban":{"count":1,"seconds":3}}"#)
            let r = try await call(port, "GET", "/api/v3/time")
            #expect(r.status == 418 && code(r) == -1003)
            #expect(r.headers["retry-after"] == "3")
            #expect(try await call(port, "GET", "/api/v3/time").status == 200)
        }
    }

    @Test func wsAPIRefusedOrderIsNotExecutedButUnknownOutcomeIs() async throws {
        try await withServer(cfg(liquidity: true)) { port, server in
            _ = try await call(port, "POST", "/sim/faults", body: #"{"wsApiErrors":{"count":1},"wsApiUnknown":{"count":1}}"#)
            let refused = Self.wsOrder(server, id: "1", clientId: "W1")
            #expect((refused["status"] as? NSNumber)?.intValue == 503)
            let unknown = Self.wsOrder(server, id: "2", clientId: "W2")
            #expect(((unknown["error"] as? [String: Any])?["code"] as? NSNumber)?.intValue == -1007)
            let ok = Self.wsOrder(server, id: "3", clientId: "W3")
            #expect((ok["status"] as? NSNumber)?.intValue == 200)
            let l = try #require(JSONReader.object(try await call(port, "GET", "/sim/ledger?apiKey=ka").body))
            // W1 never reached the book; W2 did although its answer said "unknown".
            #expect((l["orders"] as? [[String: Any]])?.compactMap { $0["clientOrderId"] as? String } == ["W2", "W3"])
        }
    }
}
