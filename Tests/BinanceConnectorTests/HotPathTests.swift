import Foundation
import Synchronization
import Testing
@testable import BinanceConnector

/// The byte-level depth parser against an independent reference (Foundation's JSON
/// decoder + the generic decimal parser), on the documented payload and on random
/// valid messages; the book's branch-free search against a plain sorted model.
@Suite struct HotPathTests {
    /// Reference decoding: JSONSerialization, decimal strings rescaled to 8 decimals (truncating).
    struct Reference: Equatable {
        var first: Int64, last: Int64, event: Int64, symbol: String
        var bids: [PriceLevel], asks: [PriceLevel]

        static func fixed8(_ s: String) -> Int64 {
            let (m, sc) = FixedPoint.parse(Array(s.utf8))!
            var v = m, k = Int(sc)
            while k < 8 { v *= 10; k += 1 }
            while k > 8 { v /= 10; k -= 1 }
            return v
        }

        static func decode(_ bytes: [UInt8]) throws -> Reference {
            var o = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            if let d = o["data"] as? [String: Any] { o = d }
            func levels(_ k: String) -> [PriceLevel] {
                ((o[k] as? [[String]]) ?? []).map { PriceLevel(price: fixed8($0[0]), quantity: fixed8($0[1])) }
            }
            return Reference(first: (o["U"] as! NSNumber).int64Value, last: (o["u"] as! NSNumber).int64Value,
                             event: (o["E"] as! NSNumber).int64Value, symbol: o["s"] as! String, bids: levels("b"), asks: levels("a"))
        }
    }

    @Test func documentedDiffDepthPayloadMatchesReference() throws {
        // web-socket-streams.md, "Diff. Depth Stream", verbatim.
        let json = Array("""
        {
          "e": "depthUpdate",
          "E": 1672515782136,
          "s": "BNBBTC",
          "U": 157,
          "u": 160,
          "b": [
            [
              "0.0024",
              "10"
            ]
          ],
          "a": [
            [
              "0.0026",
              "100"
            ]
          ]
        }
        """.utf8)
        var m = MarketDataMessage()
        try MarketDataParser().parse(json, into: &m)
        let r = try Reference.decode(json)
        #expect(m.kind == .depthUpdate)
        #expect(m.firstUpdateID == r.first && m.lastUpdateID == r.last && m.eventTime == r.event)
        #expect(m.bids == r.bids && m.asks == r.asks)
        #expect(m.bids == [PriceLevel(price: 240_000, quantity: 1_000_000_000)])
        #expect(m.symbolHash == symbolHash(Array(r.symbol.utf8)))
    }

    /// A decimal as Binance prints it, with 0...10 fraction digits (more than 8 is truncated by both sides).
    static func decimal(_ rng: inout some RandomNumberGenerator) -> String {
        let intPart = [0, 1, 9, 10, 99_999, 60_000, Int.random(in: 0...9_999_999, using: &rng)].randomElement(using: &rng)!
        let fracDigits = [0, 1, 2, 7, 8, 8, 8, 9, 10].randomElement(using: &rng)!
        var s = String(intPart)
        if fracDigits > 0 || Bool.random(using: &rng) {
            s += "."
            for _ in 0..<fracDigits { s += String(Int.random(in: 0...9, using: &rng)) }
            if fracDigits == 0 { s += "0" }
        }
        return s
    }

    @Test func randomValidMessagesMatchReference() throws {
        var rng = SystemRandomNumberGenerator()
        let parser = MarketDataParser()
        var m = MarketDataMessage(levelCapacity: 8)  // grows past it: capacity is kept, not a limit
        for round in 0..<3_000 {
            let sp = Bool.random(using: &rng) ? " " : ""
            func levels() -> String {
                (0..<Int.random(in: 0...20, using: &rng)).map { _ in "[\"\(Self.decimal(&rng))\",\(sp)\"\(Self.decimal(&rng))\"]" }.joined(separator: ",\(sp)")
            }
            let U = Int64.random(in: 1...Int64(1) << 50, using: &rng)
            let symbol = ["BTCUSDT", "ETHBTC", "BNBBTC", "1000SATSUSDT"].randomElement(using: &rng)!
            var fields = ["\"e\":\(sp)\"depthUpdate\"", "\"E\":\(sp)\(Int64.random(in: 0...1_800_000_000_000, using: &rng))",
                          "\"s\":\(sp)\"\(symbol)\"", "\"U\":\(sp)\(U)", "\"u\":\(sp)\(U + Int64.random(in: 0...50, using: &rng))",
                          "\"b\":\(sp)[\(levels())]", "\"a\":\(sp)[\(levels())]"]
            if round % 3 == 0 { fields.shuffle(using: &rng) }  // key order is not relied on
            var text = "{" + fields.joined(separator: ",\(sp)") + "}"
            if Bool.random(using: &rng) { text = "{\"stream\":\"\(symbol.lowercased())@depth@100ms\",\(sp)\"data\":\(sp)\(text)}" }
            let bytes = Array(text.utf8)
            try parser.parse(bytes, into: &m)
            let r = try Reference.decode(bytes)
            #expect(m.kind == .depthUpdate, "\(text)")
            #expect(m.firstUpdateID == r.first && m.lastUpdateID == r.last && m.eventTime == r.event, "\(text)")
            #expect(m.symbolHash == symbolHash(Array(r.symbol.utf8)), "\(text)")
            #expect(m.bids == r.bids, "\(text)")
            #expect(m.asks == r.asks, "\(text)")
            if m.bids != r.bids || m.asks != r.asks { return }
        }
    }

    @Test func benchMessagesMatchReference() throws {
        let parser = MarketDataParser()
        var m = MarketDataMessage()
        for bytes in BookBenchmark.messages(count: 500, levels: 3) {
            try parser.parse(bytes, into: &m)
            let r = try Reference.decode(bytes)
            #expect(m.bids == r.bids && m.asks == r.asks && m.lastUpdateID == r.last)
        }
    }

    @Test func malformedDecimalsAreRejected() {
        let parser = MarketDataParser()
        var m = MarketDataMessage()
        for bad in [#""1.2.3""#, #""""#, #""-""#, #""12a4""#, #""1.2345678x""#, #""+1""#] {
            let json = #"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["# + bad + #","1"]],"a":[]}"#
            #expect(throws: MarketDataParseError.self, "\(bad)") { try parser.parse(Array(json.utf8), into: &m) }
        }
    }

    /// Random sets and removals on both sides against a dictionary model: same levels, sorted, best last.
    @Test func bookMatchesModelUnderRandomUpdates() {
        var rng = SystemRandomNumberGenerator()
        var book = OrderBook(capacity: 8)
        var bidModel: [Int64: Int64] = [:], askModel: [Int64: Int64] = [:]
        for _ in 0..<20_000 {
            let price = Int64.random(in: 1...400, using: &rng) * 1_000_000
            let qty = Bool.random(using: &rng) ? 0 : Int64.random(in: 1...1_000, using: &rng)
            if Bool.random(using: &rng) {
                book.setBid(price: price, quantity: qty); bidModel[price] = qty == 0 ? nil : qty
            } else {
                book.setAsk(price: price, quantity: qty); askModel[price] = qty == 0 ? nil : qty
            }
        }
        #expect(book.bids == bidModel.sorted { $0.key < $1.key }.map { PriceLevel(price: $0.key, quantity: $0.value) })
        #expect(book.asks == askModel.sorted { $0.key > $1.key }.map { PriceLevel(price: $0.key, quantity: $0.value) })
    }
}

@Suite struct CommandSequencerTests {
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ s: String) { entries.withLock { $0.append(s) } }
        var all: [String] { entries.withLock { $0 } }
    }

    @Test func sameOrderWaitsDifferentOrderDoesNot() async throws {
        let seq = CommandSequencer(maxInFlight: 8)
        let log = Log()
        let newA = await seq.admit(key: "A")
        let cancelA = await seq.admit(key: "A")
        let newB = await seq.admit(key: "B")
        let waiting = Task { await seq.waitTurn(cancelA); log.add("cancel A") }
        await seq.waitTurn(newB)  // B does not wait for A
        log.add("new B")
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.all == ["new B"], "the cancel ran before its order finished")
        seq.finish(newB)
        seq.finish(newA)
        await waiting.value
        #expect(log.all == ["new B", "cancel A"])
        seq.finish(cancelA)
        #expect(seq.inFlight == 0)
    }

    @Test func cancelAllIsABarrier() async throws {
        let seq = CommandSequencer(maxInFlight: 8)
        let log = Log()
        let a = await seq.admit(key: "A")
        let all = await seq.admit(key: nil)
        let c = await seq.admit(key: "C")
        let barrier = Task { await seq.waitTurn(all); log.add("cancel all") }
        let after = Task { await seq.waitTurn(c); log.add("new C") }
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.all.isEmpty)
        seq.finish(a)
        await barrier.value
        try await Task.sleep(for: .milliseconds(50))
        #expect(log.all == ["cancel all"], "a command after the barrier overtook it")
        seq.finish(all)
        await after.value
        #expect(log.all == ["cancel all", "new C"])
        seq.finish(c)
    }

    @Test func admissionIsBounded() async throws {
        let seq = CommandSequencer(maxInFlight: 2)
        let t1 = await seq.admit(key: "1")
        _ = await seq.admit(key: "2")
        let admitted = Mutex(false)
        let third = Task { let t = await seq.admit(key: "3"); admitted.withLock { $0 = true }; return t }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!admitted.withLock { $0 }, "a third command was admitted with two in flight")
        seq.finish(t1)
        let t3 = await third.value
        #expect(admitted.withLock { $0 })
        #expect(seq.inFlight == 2)
        _ = t3
    }
}
