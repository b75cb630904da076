import Foundation
import Metrics
import OMSCore
import Synchronization

/// Client-side limiter for Binance's documented rules: REQUEST_WEIGHT per
/// minute (per IP, REST and WebSocket API together), ORDERS per second / 10 s /
/// day (per account), the venue's usage headers as the authority when they are
/// higher than our own count, and a hard stop on 429 (Retry-After) and 418 (ban).
///
/// Windows are fixed intervals aligned on the epoch, as Binance counts them.
/// All times are epoch milliseconds from an injectable clock, so tests are exact.
public final class BinanceRateLimiter: Sendable {
    public struct Limits: Sendable, Equatable {
        public var weightPerMinute: Int
        public var ordersPerSecond: Int
        public var ordersPer10s: Int
        public var ordersPerDay: Int
        /// Fraction of each limit we allow ourselves (headroom for other clients on the same IP/account).
        public var safety: Double = 0.9

        public init(weightPerMinute: Int = 6000, ordersPerSecond: Int = 10, ordersPer10s: Int = 50, ordersPerDay: Int = 160_000) {
            self.weightPerMinute = weightPerMinute
            self.ordersPerSecond = ordersPerSecond
            self.ordersPer10s = ordersPer10s
            self.ordersPerDay = ordersPerDay
        }

        func cap(_ limit: Int) -> Int { max(1, Int((Double(limit) * safety).rounded(.down))) }
    }

    public enum Decision: Sendable, Equatable {
        case proceed
        /// Try again after this many milliseconds.
        case wait(ms: Int64, reason: String)
    }

    public struct Usage: Sendable, Equatable {
        public var weight1m = 0
        public var orders1s = 0
        public var orders10s = 0
        public var orders1d = 0
        public var blockedUntilMs: Int64 = 0
        public var banned = false
    }

    struct Window: Sendable {
        let lengthMs: Int64
        var start: Int64 = 0
        var count = 0
        mutating func roll(_ now: Int64) {
            let s = now - now % lengthMs
            if s != start { start = s; count = 0 }
        }
        func msToNext(_ now: Int64) -> Int64 { start + lengthMs - now }
    }

    struct State: Sendable {
        var limits: Limits
        var weight = Window(lengthMs: 60_000)
        var orders1s = Window(lengthMs: 1_000)
        var orders10s = Window(lengthMs: 10_000)
        var orders1d = Window(lengthMs: 86_400_000)
        var blockedUntil: Int64 = 0
        var banned = false
        var consecutive429 = 0
    }

    private let state: Mutex<State>
    let clock: @Sendable () -> Int64
    /// The two counters of each API and endpoint, made once (not through the metrics factory on every order).
    private let spentCounters = Mutex<[String: (requests: Counter, weight: Counter)]>([:])

    public init(limits: Limits, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        state = Mutex(State(limits: limits))
        self.clock = clock
    }

    public var limits: Limits { state.withLock { $0.limits } }

    /// Tightens limits from exchangeInfo's `rateLimits` (never loosens past config).
    public func apply(exchangeLimits: [(type: String, interval: String, intervalNum: Int, limit: Int)]) {
        state.withLock { s in
            for l in exchangeLimits {
                switch (l.type, l.interval, l.intervalNum) {
                case ("REQUEST_WEIGHT", "MINUTE", 1): s.limits.weightPerMinute = min(s.limits.weightPerMinute, l.limit)
                case ("ORDERS", "SECOND", 10): s.limits.ordersPer10s = min(s.limits.ordersPer10s, l.limit)
                case ("ORDERS", "SECOND", 1): s.limits.ordersPerSecond = min(s.limits.ordersPerSecond, l.limit)
                case ("ORDERS", "DAY", 1): s.limits.ordersPerDay = min(s.limits.ordersPerDay, l.limit)
                default: break
                }
            }
        }
    }

    /// Reserves `weight` (and `orders` new orders) if every window has room now.
    public func tryAcquire(weight: Int, orders: Int = 0) -> Decision {
        let now = clock()
        return state.withLock { s in
            if now < s.blockedUntil {
                return .wait(ms: s.blockedUntil - now, reason: s.banned ? "IP banned (418)" : "rate limited (429)")
            }
            s.weight.roll(now); s.orders1s.roll(now); s.orders10s.roll(now); s.orders1d.roll(now)
            if s.weight.count + weight > s.limits.cap(s.limits.weightPerMinute) {
                return .wait(ms: s.weight.msToNext(now), reason: "request weight \(s.weight.count)/\(s.limits.weightPerMinute) per minute")
            }
            if orders > 0 {
                if s.orders1s.count + orders > s.limits.ordersPerSecond {
                    return .wait(ms: s.orders1s.msToNext(now), reason: "orders \(s.orders1s.count)/\(s.limits.ordersPerSecond) per second")
                }
                if s.orders10s.count + orders > s.limits.cap(s.limits.ordersPer10s) {
                    return .wait(ms: s.orders10s.msToNext(now), reason: "orders \(s.orders10s.count)/\(s.limits.ordersPer10s) per 10s")
                }
                if s.orders1d.count + orders > s.limits.cap(s.limits.ordersPerDay) {
                    return .wait(ms: s.orders1d.msToNext(now), reason: "orders \(s.orders1d.count)/\(s.limits.ordersPerDay) per day")
                }
            }
            s.weight.count += weight
            s.orders1s.count += orders
            s.orders10s.count += orders
            s.orders1d.count += orders
            return .proceed
        }
    }

    public struct Exhausted: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public var retryAfterMs: Int64
        public var description: String { "rate limit: \(reason) (retry in \(retryAfterMs) ms)" }
    }

    /// Waits for room, at most `maxWait`; throws `Exhausted` rather than wait longer
    /// (an order that would wait minutes is better rejected than sent late).
    public func acquire(weight: Int, orders: Int = 0, maxWait: Duration = .seconds(5)) async throws {
        let deadline = clock() + maxWait.milliseconds
        while true {
            switch tryAcquire(weight: weight, orders: orders) {
            case .proceed: return
            case .wait(let ms, let reason):
                if clock() + ms > deadline { throw Exhausted(reason: reason, retryAfterMs: ms) }
                try await Task.sleep(for: .milliseconds(max(ms, 1)))
            }
        }
    }

    /// Usage headers of any response: the venue's count wins when it is higher.
    /// Names are matched case-insensitively: X-MBX-USED-WEIGHT-1M, X-MBX-ORDER-COUNT-10S, X-MBX-ORDER-COUNT-1D
    /// (and X-MBX-ORDER-COUNT-1S / -1M where a venue sends them).
    public func observe(headers: [(String, String)]) {
        let now = clock()
        state.withLock { s in
            s.weight.roll(now); s.orders1s.roll(now); s.orders10s.roll(now); s.orders1d.roll(now)
            for (name, value) in headers {
                guard let v = Int(value.trimmingCharacters(in: .whitespaces)) else { continue }
                switch name.lowercased() {
                case "x-mbx-used-weight-1m": s.weight.count = max(s.weight.count, v)
                case "x-mbx-order-count-10s": s.orders10s.count = max(s.orders10s.count, v)
                case "x-mbx-order-count-1d": s.orders1d.count = max(s.orders1d.count, v)
                case "x-mbx-order-count-1s": s.orders1s.count = max(s.orders1s.count, v)
                default: break
                }
            }
        }
    }

    /// WebSocket API `rateLimits` array of a response.
    public func observe(rateLimits: [(type: String, interval: String, intervalNum: Int, count: Int)]) {
        let now = clock()
        state.withLock { s in
            s.weight.roll(now); s.orders10s.roll(now); s.orders1d.roll(now)
            for r in rateLimits {
                switch (r.type, r.interval, r.intervalNum) {
                case ("REQUEST_WEIGHT", "MINUTE", 1): s.weight.count = max(s.weight.count, r.count)
                case ("ORDERS", "SECOND", 10): s.orders10s.count = max(s.orders10s.count, r.count)
                case ("ORDERS", "DAY", 1): s.orders1d.count = max(s.orders1d.count, r.count)
                default: break
                }
            }
        }
    }

    /// 429: stop everything for Retry-After (default 60 s, doubling on repeats,
    /// because repeated 429s are what earn a ban). 418: banned for Retry-After.
    public func onRejected(status: Int, retryAfterSeconds: Int?) {
        let now = clock()
        state.withLock { s in
            switch status {
            case 418:
                s.banned = true
                s.blockedUntil = max(s.blockedUntil, now + Int64(retryAfterSeconds ?? 120) * 1000)
            case 429:
                s.consecutive429 += 1
                let base = Int64(retryAfterSeconds ?? 60) * 1000
                let backoff = base * Int64(1 << min(s.consecutive429 - 1, 4))
                s.blockedUntil = max(s.blockedUntil, now + backoff)
            default: break
            }
        }
    }

    /// A response that was not 429/418 resets the 429 escalation.
    public func onAccepted() {
        state.withLock { s in
            s.consecutive429 = 0
            if s.banned && clock() >= s.blockedUntil { s.banned = false }
        }
    }

    public var usage: Usage {
        let now = clock()
        return state.withLock { s in
            s.weight.roll(now); s.orders1s.roll(now); s.orders10s.roll(now); s.orders1d.roll(now)
            return Usage(weight1m: s.weight.count, orders1s: s.orders1s.count, orders10s: s.orders10s.count,
                         orders1d: s.orders1d.count, blockedUntilMs: s.blockedUntil, banned: s.banned && now < s.blockedUntil)
        }
    }
}


extension BinanceRateLimiter {
    /// Counts one request sent and its weight, per API and endpoint (`binance_requests_total`,
    /// `binance_request_weight_total` on /metrics): where the per-minute budget goes, so a desk can see which calls
    /// crowd out its orders.
    func recordSent(weight: Int, api: String, endpoint: String) {
        let c = spentCounters.withLock { m in
            let key = api + " " + endpoint
            if let c = m[key] { return c }
            let dims = [("api", api), ("endpoint", endpoint)]
            let c = (requests: Counter(label: "binance_requests_total", dimensions: dims),
                     weight: Counter(label: "binance_request_weight_total", dimensions: dims))
            m[key] = c
            return c
        }
        c.requests.increment()
        if weight > 0 { c.weight.increment(by: weight) }
    }
}
