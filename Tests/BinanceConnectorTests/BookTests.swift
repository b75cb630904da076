import Testing
@testable import BinanceConnector

@Suite struct OrderBookTests {
    func L(_ p: Int64, _ q: Int64) -> PriceLevel { PriceLevel(price: p, quantity: q) }

    @Test func setAndRemoveLevels() {
        var b = OrderBook()
        b.load(bids: [L(100, 1), L(99, 2), L(98, 0)], asks: [L(102, 1), L(101, 3)], updateID: 10)
        #expect(b.bestBid == L(100, 1) && b.bestAsk == L(101, 3))
        #expect(b.bids.count == 2)  // zero-quantity level dropped
        b.setBid(price: 100, quantity: 0)
        b.setBid(price: 100, quantity: 0)  // removing a missing level is a no-op
        b.setBid(price: 99, quantity: 5)
        b.setAsk(price: 100, quantity: 7)
        #expect(b.bestBid == L(99, 5) && b.bestAsk == L(100, 7))
        let top = b.top(5)
        #expect(top.asks == [L(100, 7), L(101, 3), L(102, 1)])
        #expect(top.bids == [L(99, 5)])
        #expect(b.isUncrossed)
    }
}

/// The official spot procedure (web-socket-streams.md "How to manage a local order book correctly").
@Suite struct BookSynchronizerTests {
    func L(_ p: Int64, _ q: Int64) -> PriceLevel { PriceLevel(price: p, quantity: q) }

    @Test func snapshotThenBufferedReplayDropsOldEvents() {
        var s = BookSynchronizer()
        #expect(s.onDiff(first: 95, last: 100, bids: [L(10, 1)], asks: []) == .buffered(requestSnapshot: true))
        #expect(s.onDiff(first: 101, last: 105, bids: [L(11, 1)], asks: []) == .buffered(requestSnapshot: false))
        #expect(s.onDiff(first: 106, last: 110, bids: [L(12, 1)], asks: [L(20, 1)]) == .buffered(requestSnapshot: false))
        // Snapshot at 103: event 1 (u=100) is dropped, event 2 straddles it ([101;105] contains 103), event 3 continues.
        #expect(s.onSnapshot(lastUpdateID: 103, bids: [L(9, 1)], asks: [L(21, 1)]) == .synced(replayed: 2))
        #expect(s.state == .synced && s.book.updateID == 110)
        #expect(s.book.bestBid == L(12, 1) && s.book.bestAsk == L(20, 1))
        #expect(s.book.bids.contains(L(9, 1)) && !s.book.bids.contains(L(10, 1)))
        #expect(s.onDiff(first: 111, last: 111, bids: [L(12, 0)], asks: []) == .applied)
        #expect(s.book.bestBid == L(11, 1))
        #expect(s.onDiff(first: 105, last: 111, bids: [L(99, 1)], asks: []) == .stale)
    }

    @Test func snapshotOlderThanFirstEventIsRefetched() {
        var s = BookSynchronizer()
        _ = s.onDiff(first: 200, last: 210, bids: [], asks: [])
        #expect(s.onSnapshot(lastUpdateID: 150, bids: [], asks: []) == .tooOld)
        #expect(s.state == .awaitingSnapshot && s.bufferedCount == 1)
        #expect(s.onSnapshot(lastUpdateID: 205, bids: [], asks: []) == .synced(replayed: 1))
    }

    @Test func gapWhileSyncedClearsAndResyncs() {
        var s = BookSynchronizer()
        _ = s.onSnapshot(lastUpdateID: 10, bids: [L(1, 1)], asks: [L(2, 1)])
        #expect(s.onDiff(first: 11, last: 12, bids: [], asks: []) == .applied)
        // 13...14 lost
        #expect(s.onDiff(first: 15, last: 16, bids: [], asks: []) == .gap(expected: 13, got: 15))
        #expect(s.state == .awaitingSnapshot && s.book.bids.isEmpty && s.gaps == 1)
        #expect(s.onDiff(first: 17, last: 18, bids: [L(3, 1)], asks: []) == .buffered(requestSnapshot: false))
        #expect(s.onSnapshot(lastUpdateID: 16, bids: [L(1, 1)], asks: [L(5, 1)]) == .synced(replayed: 1))
        #expect(s.book.updateID == 18 && s.book.bestBid == L(3, 1))
    }

    @Test func gapInsideBufferAfterSnapshot() {
        var s = BookSynchronizer()
        _ = s.onDiff(first: 10, last: 12, bids: [], asks: [])
        _ = s.onDiff(first: 20, last: 22, bids: [], asks: [])  // 13...19 missing
        #expect(s.onSnapshot(lastUpdateID: 11, bids: [], asks: []) == .gap(expected: 13, got: 20))
        #expect(s.state == .awaitingSnapshot)
    }

    @Test func futuresUsesPu() {
        var s = BookSynchronizer(mode: .futures)
        _ = s.onDiff(first: 100, last: 110, prev: 99, bids: [], asks: [])
        #expect(s.onSnapshot(lastUpdateID: 105, bids: [], asks: []) == .synced(replayed: 1))
        #expect(s.onDiff(first: 111, last: 120, prev: 110, bids: [], asks: []) == .applied)
        #expect(s.onDiff(first: 125, last: 130, prev: 121, bids: [], asks: []) == .gap(expected: 121, got: 125))
    }
}

@Suite struct RateLimiterTests {
    final class FakeClock: @unchecked Sendable {
        var now: Int64 = 1_700_000_080_000  // 40 s into a minute (1_700_000_040_000 is a minute boundary)
    }

    func make(_ limits: BinanceRateLimiter.Limits, _ clock: FakeClock) -> BinanceRateLimiter {
        var l = limits
        l.safety = 1.0
        return BinanceRateLimiter(limits: l) { clock.now }
    }

    @Test func weightPerMinuteFixedWindow() {
        let c = FakeClock()
        let rl = make(.init(weightPerMinute: 100), c)
        #expect(rl.tryAcquire(weight: 80) == .proceed)
        guard case .wait(let ms, _) = rl.tryAcquire(weight: 21) else { Issue.record("should wait"); return }
        #expect(ms == 20_000)  // until the next minute boundary
        c.now += 20_000
        #expect(rl.tryAcquire(weight: 100) == .proceed)
    }

    @Test func ordersPer10sAndSecondAndDay() {
        let c = FakeClock()
        let rl = make(.init(weightPerMinute: 6000, ordersPerSecond: 2, ordersPer10s: 3, ordersPerDay: 4), c)
        #expect(rl.tryAcquire(weight: 1, orders: 1) == .proceed)
        #expect(rl.tryAcquire(weight: 1, orders: 1) == .proceed)
        if case .proceed = rl.tryAcquire(weight: 1, orders: 1) { Issue.record("3rd order in one second must wait") }
        c.now += 1_000
        #expect(rl.tryAcquire(weight: 1, orders: 1) == .proceed)
        if case .proceed = rl.tryAcquire(weight: 1, orders: 1) { Issue.record("4th order in 10 s must wait") }
        c.now += 10_000
        #expect(rl.tryAcquire(weight: 1, orders: 1) == .proceed)
        c.now += 10_000
        guard case .wait(_, let reason) = rl.tryAcquire(weight: 1, orders: 1) else { Issue.record("day limit"); return }
        #expect(reason.contains("per day"))
        #expect(rl.tryAcquire(weight: 1) == .proceed)  // non-order requests are unaffected
    }

    @Test func headersRaiseTheCount() {
        let c = FakeClock()
        let rl = make(.init(weightPerMinute: 1200), c)
        rl.observe(headers: [("X-MBX-USED-WEIGHT-1M", "1190"), ("x-mbx-order-count-10s", "3")])
        #expect(rl.usage.weight1m == 1190 && rl.usage.orders10s == 3)
        if case .proceed = rl.tryAcquire(weight: 20) { Issue.record("server count must be honoured") }
        rl.observe(headers: [("X-MBX-USED-WEIGHT-1M", "5")])  // never lowers our own count
        #expect(rl.usage.weight1m == 1190)
    }

    @Test func retryAfterOn429EscalatesAnd418Bans() {
        let c = FakeClock()
        let rl = make(.init(), c)
        rl.onRejected(status: 429, retryAfterSeconds: 2)
        guard case .wait(let ms, _) = rl.tryAcquire(weight: 1) else { Issue.record("blocked"); return }
        #expect(ms == 2_000)
        c.now += 2_000
        #expect(rl.tryAcquire(weight: 1) == .proceed)
        rl.onRejected(status: 429, retryAfterSeconds: 2)  // second in a row: doubled
        guard case .wait(let ms2, _) = rl.tryAcquire(weight: 1) else { Issue.record("blocked"); return }
        #expect(ms2 == 4_000)
        rl.onRejected(status: 418, retryAfterSeconds: 120)
        #expect(rl.usage.banned)
        guard case .wait(let ms3, let reason) = rl.tryAcquire(weight: 1) else { Issue.record("banned"); return }
        #expect(ms3 == 120_000 && reason.contains("418"))
    }

    @Test func exchangeInfoTightens() {
        let rl = BinanceRateLimiter(limits: .init(weightPerMinute: 6000, ordersPerSecond: 10, ordersPer10s: 100, ordersPerDay: 200_000))
        rl.apply(exchangeLimits: [("REQUEST_WEIGHT", "MINUTE", 1, 1200), ("ORDERS", "SECOND", 10, 50), ("ORDERS", "DAY", 1, 160_000)])
        #expect(rl.limits.weightPerMinute == 1200 && rl.limits.ordersPer10s == 50 && rl.limits.ordersPerDay == 160_000)
    }
}
