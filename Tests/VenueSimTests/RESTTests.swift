import Foundation
import Logging
import Testing
@testable import VenueSimCore

/// Starts a real server on an ephemeral port for the duration of `body`.
func withServer(_ c: SimConfig, _ body: @escaping @Sendable (Int, VenueServer) async throws -> Void) async throws {
    var c = c
    c.port = 0
    var log = Logger(label: "venue-sim-test")
    log.logLevel = .critical
    let server = VenueServer(config: c, logger: log)
    let (ports, cont) = AsyncStream<Int>.makeStream()
    let task = Task { try await server.run { cont.yield($0) } }
    var it = ports.makeAsyncIterator()
    let port = try #require(await it.next())
    do { try await body(port, server) } catch { task.cancel(); throw error }
    task.cancel()
    _ = try? await task.value
}

func call(_ port: Int, _ method: String, _ path: String, key: String? = nil, body: String = "") async throws -> MiniHTTP.Reply {
    try await onThread {
        let c = try MiniHTTP(port: port)
        return try c.request(method, path, headers: key.map { [("X-MBX-APIKEY", $0)] } ?? [], body: body)
    }
}

func code(_ r: MiniHTTP.Reply) -> Int? {
    (JSONReader.object(r.body)?["code"] as? NSNumber)?.intValue
}

@Suite(.serialized) struct RESTTests {
    @Test func publicEndpointsAndHeaders() async throws {
        try await withServer(cfg(liquidity: true)) { port, _ in
            let ping = try await call(port, "GET", "/api/v3/ping")
            #expect(ping.status == 200 && ping.body == "{}")
            #expect(ping.headers["x-mbx-used-weight-1m"] == "1")
            let info = try await call(port, "GET", "/api/v3/exchangeInfo?symbol=BTCUSDT")
            #expect(info.body.contains("\"filterType\":\"PRICE_FILTER\"") && info.body.contains("\"tickSize\":\"0.01000000\""))
            #expect(info.headers["x-mbx-used-weight-1m"] == "21")
            let depth = try await call(port, "GET", "/api/v3/depth?symbol=BTCUSDT&limit=5")
            let d = try #require(JSONReader.object(depth.body))
            #expect((d["bids"] as? [[String]])?.count == 5)
            let bad = try await call(port, "GET", "/api/v3/depth?symbol=NOPE")
            #expect(bad.status == 400 && code(bad) == -1121)
            let missing = try await call(port, "GET", "/api/v3/depth")
            #expect(code(missing) == -1102)
            let dup = try await call(port, "GET", "/api/v3/depth?symbol=BTCUSDT&symbol=BTCUSDT")
            #expect(code(dup) == -1101)
        }
    }

    @Test func signedOrderRoundTrip() async throws {
        try await withServer(cfg(liquidity: true)) { port, _ in
            let body = MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&price=90.00&newClientOrderId=t1", secret: "sa")
            let placed = try await call(port, "POST", "/api/v3/order", key: "ka", body: body)
            #expect(placed.status == 200)
            #expect(placed.headers["x-mbx-order-count-10s"] == "1")
            let o = try #require(JSONReader.object(placed.body))
            #expect(o["status"] as? String == "NEW" && o["clientOrderId"] as? String == "t1" && o["price"] as? String == "90.00000000")
            // query in the query string (ccxt style), cancel, query again
            let q = try await call(port, "GET", "/api/v3/order?" + MiniHTTP.sign("symbol=BTCUSDT&origClientOrderId=t1", secret: "sa"), key: "ka")
            #expect(q.status == 200 && q.body.contains("\"isWorking\":true"))
            let c = try await call(port, "DELETE", "/api/v3/order?" + MiniHTTP.sign("symbol=BTCUSDT&origClientOrderId=t1", secret: "sa"), key: "ka")
            #expect(c.status == 200 && c.body.contains("\"status\":\"CANCELED\""))
            let c2 = try await call(port, "DELETE", "/api/v3/order?" + MiniHTTP.sign("symbol=BTCUSDT&origClientOrderId=t1", secret: "sa"), key: "ka")
            #expect(c2.status == 400 && code(c2) == -2011)
            // market order fills against the simulated liquidity
            let m = try await call(port, "POST", "/api/v3/order", key: "ka",
                                   body: MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.100", secret: "sa"))
            #expect(m.status == 200 && m.body.contains("\"status\":\"FILLED\"") && m.body.contains("\"fills\":[{"))
            let acct = try await call(port, "GET", "/api/v3/account?" + MiniHTTP.sign("", secret: "sa"), key: "ka")
            #expect(acct.status == 200 && acct.body.contains("\"asset\":\"BTC\",\"free\":\"10.09990000\""))
            let trades = try await call(port, "GET", "/api/v3/myTrades?" + MiniHTTP.sign("symbol=BTCUSDT", secret: "sa"), key: "ka")
            #expect(trades.status == 200 && trades.body.contains("\"isBuyer\":true"))
        }
    }

    @Test func authenticationErrors() async throws {
        try await withServer(cfg()) { port, _ in
            let params = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=90"
            let noKey = try await call(port, "POST", "/api/v3/order", body: MiniHTTP.sign(params, secret: "sa"))
            #expect(noKey.status == 401 && code(noKey) == -2014)
            let badKey = try await call(port, "POST", "/api/v3/order", key: "nope", body: MiniHTTP.sign(params, secret: "sa"))
            #expect(badKey.status == 401 && code(badKey) == -2015)
            let badSig = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign(params, secret: "wrong"))
            #expect(badSig.status == 400 && code(badSig) == -1022)
            let old = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign(params, secret: "sa", timestamp: nowMs() - 60_000))
            #expect(old.status == 400 && code(old) == -1021)
            let future = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign(params, secret: "sa", timestamp: nowMs() + 5_000))
            #expect(code(future) == -1021)
            let rw = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign(params + "&recvWindow=70000", secret: "sa"))
            #expect(code(rw) == -1131)
            let noSig = try await call(port, "GET", "/api/v3/account?timestamp=\(nowMs())", key: "ka")
            #expect(code(noSig) == -1102)
            let badNum = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1x&price=90", secret: "sa"))
            #expect(code(badNum) == -1100)
            let badSide = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign("symbol=BTCUSDT&side=UP&type=LIMIT", secret: "sa"))
            #expect(code(badSide) == -1117)
            let tick = try await call(port, "POST", "/api/v3/order", key: "ka", body: MiniHTTP.sign("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=90.001", secret: "sa"))
            #expect(tick.status == 400 && code(tick) == -1013 && tick.body.contains("Filter failure: PRICE_FILTER"))
        }
    }

    @Test func weightLimit429Then418() async throws {
        var c = cfg()
        c.rateLimits.requestWeightPerMinute = 45
        c.rateLimits.banAfterRejected = 2
        try await withServer(c) { port, _ in
            let now = nowMs()
            if now % 60_000 > 57_000 { try await Task.sleep(for: .seconds(4)) }  // stay inside one minute window
            var statuses: [Int] = []
            var last: MiniHTTP.Reply?
            for _ in 0..<6 {
                let r = try await call(port, "GET", "/api/v3/exchangeInfo")
                statuses.append(r.status)
                if r.status != 200 { #expect(code(r) == -1003); #expect(r.headers["retry-after"] != nil) }
                last = r
            }
            #expect(statuses == [200, 200, 429, 429, 418, 418])
            #expect(last?.body.contains("IP banned until") == true)
        }
    }

    @Test func faultInjection() async throws {
        try await withServer(cfg()) { port, _ in
            let f = try await call(port, "POST", "/sim/faults", body: #"{"restErrors":{"count":2,"status":503},"throttle":{"count":1}}"#)
            #expect(f.status == 200)
            let r1 = try await call(port, "GET", "/api/v3/ping")
            #expect(r1.status == 429 && code(r1) == -1003)
            let r2 = try await call(port, "GET", "/api/v3/ping")
            #expect(r2.status == 503)
            let r3 = try await call(port, "GET", "/api/v3/time")
            #expect(r3.status == 503)
            let r4 = try await call(port, "GET", "/api/v3/time")
            #expect(r4.status == 200 && r4.body.contains("serverTime"))
        }
    }

    @Test func fuzzedRequestsNeverCrashOrHang() async throws {
        try await withServer(cfg()) { port, _ in
            let alphabet = Array("abcXYZ019=&%._-+ []{}\"'\\/?#;:".utf8)
            let names = ["symbol", "side", "type", "quantity", "price", "timeInForce", "limit", "orderId", "timestamp", "signature"]
            let paths = ["/api/v3/depth", "/api/v3/order", "/api/v3/ticker/bookTicker", "/api/v3/exchangeInfo", "/api/v3/openOrders"]
            let replies: [Int] = try await onThread {
                let c = try MiniHTTP(port: port)
                var rng = SimRNG(seed: 99)
                var out: [Int] = []
                for i in 0..<400 {
                    var q = ""
                    for _ in 0..<rng.int(in: 0...6) {
                        let k = rng.int(in: 0...3) == 0 ? String(decoding: (0..<rng.int(in: 1...6)).map { _ in alphabet[rng.int(in: 0...(alphabet.count - 1))] }, as: UTF8.self)
                                                         : names[rng.int(in: 0...(names.count - 1))]
                        let v = String(decoding: (0..<rng.int(in: 0...12)).map { _ in alphabet[rng.int(in: 0...(alphabet.count - 1))] }, as: UTF8.self)
                        q += (q.isEmpty ? "" : "&") + k.replacingOccurrences(of: " ", with: "+") + "=" + v.replacingOccurrences(of: " ", with: "+").replacingOccurrences(of: "#", with: "%23")
                    }
                    let path = paths[i % paths.count]
                    let method = i % 3 == 0 ? "POST" : "GET"
                    let r = try c.request(method, path + (method == "GET" ? "?" + q : ""), headers: [("X-MBX-APIKEY", "ka")], body: method == "POST" ? q : "")
                    out.append(r.status)
                    if r.status >= 400 && r.status < 500 && !r.body.isEmpty {
                        guard let o = JSONReader.object(r.body), o["code"] != nil, o["msg"] != nil else { out.append(-1); continue }
                    }
                }
                // oversized body
                let big = String(repeating: "a", count: 70_000)
                out.append(try c.request("POST", "/api/v3/order", body: big).status)
                return out
            }
            #expect(!replies.contains(-1))
            #expect(replies.allSatisfy { $0 < 500 })
            #expect(replies.last == 413)
        }
    }
}
