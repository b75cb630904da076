import Foundation
import Histogram
import OMSCore
import RouterCore

/// `oms-bench --routing`: routing decision latency of `SmartRouter.route` over
/// synthetic consolidated books (5 venues × 50 levels by default), for both
/// strategies and both sides, with random quantities and limits so the sweep
/// depth varies. Target: p99 < 20 µs.
enum RoutingBench {
    static func run(iterations: Int, venues: Int, levels: Int, json: Bool) -> [BenchResult] {
        let now = wallClockNanos()
        var view = MarketView()
        var rng = SystemRandomNumberGenerator()
        for v in 0..<venues {
            var st = VenueState(exchange: "venue\(v)", market: "spot")
            st.instruments["BTCUSDT"] = InstrumentRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", priceScale: 2, qtyScale: 5,
                                                        tick: 1_000_000, lot: 1_000, minQty: 1_000, maxQty: 0, minNotional: 5 * Fixed.one,
                                                        takerFee: [100_000, 80_000, 50_000, 200_000, 100_000][v % 5])
            let mid: Int64 = 60_000 * Fixed.one + Int64(v) * 5 * Fixed.one
            var asks: [Level] = [], bids: [Level] = []
            for l in 0..<levels {
                let q = Int64.random(in: 1_000_000...100_000_000, using: &rng)   // 0.01 ... 1 BTC
                asks.append(Level(price: mid + Int64(l + 1) * Fixed.one, quantity: q))
                bids.append(Level(price: mid - Int64(l + 1) * Fixed.one, quantity: q))
            }
            st.books["BTCUSDT"] = VenueBook(bids: bids, asks: asks, updatedNs: now)
            st.lastHeartbeatNs = now
            st.balances["acct-1"] = ["USDT": 10_000_000 * Fixed.one, "BTC": 1_000 * Fixed.one]
            view.venues[st.venue] = st
        }
        let router = SmartRouter()
        var results: [BenchResult] = []
        for (name, strategy) in [("depth split", Oms_V1_RoutingStrategy.depthSplit), ("best price", .bestPrice)] {
            let reqs: [RouteRequest] = (0..<1024).map { i in
                let buy = i % 2 == 0
                let qty = Int64.random(in: 1_000_000...(Int64(levels) * 20_000_000), using: &rng)
                let lim: Int64? = i % 4 == 3 ? nil : 60_000 * Fixed.one + (buy ? 1 : -1) * Int64.random(in: 0...Int64(levels + 20), using: &rng) * Fixed.one
                return RouteRequest(parentOrderID: "P\(i)", account: "acct-1", market: "spot", symbol: "BTCUSDT",
                                    side: buy ? .buy : .sell, quantity: qty, limitPrice: lim, strategy: strategy)
            }
            var h = Histogram<UInt64>(highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
            var allocated = 0
            for i in 0..<2_000 { allocated &+= router.route(reqs[i & 1023], view: view, nowNs: now).allocations.count }
            let clock = ContinuousClock()
            let start = clock.now
            for i in 0..<iterations {
                let t = clock.now
                let r = router.route(reqs[i & 1023], view: view, nowNs: now)
                _ = h.record(UInt64((clock.now - t).nanoseconds))
                allocated &+= r.allocations.count
            }
            let total = clock.now - start
            results.append(BenchResult(name: "routing decision, \(name) (\(venues) venues × \(levels) levels)", count: iterations,
                                       p50: h.valueAtPercentile(50), p99: h.valueAtPercentile(99), p999: h.valueAtPercentile(99.9),
                                       max: h.maxRecorded, throughput: Double(iterations) / (Double(total.nanoseconds) / 1e9)))
            if allocated == 0 { print("(no allocations?)") }
        }
        if json {
            for r in results { print(r.json) }
        } else {
            print("== Smart order routing latency (RouterCore.SmartRouter.route, in-process), target p99 < 20 µs ==")
            print("benchmark".padding(toLength: 58, withPad: " ", startingAt: 0) + "      n     p50 µs    p99 µs  p99.9 µs    max µs      ops/s")
            for r in results { print(r.row) }
        }
        return results
    }
}
