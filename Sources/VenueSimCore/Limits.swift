// Request-weight and order-count limits (REQUEST_WEIGHT per minute per IP, ORDERS per 10 s / day per account)
// with Binance's 429 → 418 escalation, plus fault injection state.
import Foundation

public final class RateLimiter: @unchecked Sendable {
    let lock = NSLock()
    public let cfg: RateLimitConfig
    var minute: Int64 = 0
    var used = 0
    var rejected = 0
    var bannedUntil: Int64 = 0
    var bans = 0
    struct OrderCounts { var tenSec: Int64 = 0; var c10: Int = 0; var day: Int64 = 0; var cDay: Int = 0 }
    var orders: [Int: OrderCounts] = [:]

    public init(_ cfg: RateLimitConfig) { self.cfg = cfg }

    /// Adds `weight`; throws -1003 (429, then 418 ban) when over the per-minute limit. Returns the weight used this minute.
    public func consume(_ weight: Int, now: Int64 = nowMs()) throws(APIError) -> Int {
        lock.lock(); defer { lock.unlock() }
        if now < bannedUntil {
            throw APIError.banned(untilMs: bannedUntil, retryAfter: Int((bannedUntil - now + 999) / 1000))
        }
        let m = now / 60_000
        if m != minute { minute = m; used = 0; rejected = 0 }
        if used + weight > cfg.requestWeightPerMinute {
            rejected += 1
            let retry = Int(((m + 1) * 60_000 - now + 999) / 1000)
            if rejected > cfg.banAfterRejected {
                let dur = Int64(cfg.banSeconds) * 1000 * (1 << Int64(min(bans, 10)))
                bans += 1
                bannedUntil = now + dur
                throw APIError.banned(untilMs: bannedUntil, retryAfter: Int(dur / 1000))
            }
            throw APIError.tooMuchWeight(limit: cfg.requestWeightPerMinute, retryAfter: retry)
        }
        used += weight
        return used
    }

    public func usedWeight(now: Int64 = nowMs()) -> Int {
        lock.lock(); defer { lock.unlock() }
        return now / 60_000 == minute ? used : 0
    }

    /// Counts one new order for `account`; -1015 (429) when over a limit. Returns (10s count, day count).
    public func order(account: Int, now: Int64 = nowMs()) throws(APIError) -> (Int, Int) {
        lock.lock(); defer { lock.unlock() }
        var c = orders[account] ?? OrderCounts()
        let t = now / 10_000, d = now / 86_400_000
        if c.tenSec != t { c.tenSec = t; c.c10 = 0 }
        if c.day != d { c.day = d; c.cDay = 0 }
        if c.c10 + 1 > cfg.ordersPer10s {
            orders[account] = c
            var e = APIError.tooManyOrders(limit: cfg.ordersPer10s, interval: "10 SECOND")
            e.retryAfter = Int(((t + 1) * 10_000 - now + 999) / 1000)
            throw e
        }
        if c.cDay + 1 > cfg.ordersPerDay {
            orders[account] = c
            throw APIError.tooManyOrders(limit: cfg.ordersPerDay, interval: "1 DAY")
        }
        c.c10 += 1; c.cDay += 1
        orders[account] = c
        return (c.c10, c.cDay)
    }

    public func orderCounts(account: Int, now: Int64 = nowMs()) -> (Int, Int) {
        lock.lock(); defer { lock.unlock() }
        guard let c = orders[account] else { return (0, 0) }
        return (c.tenSec == now / 10_000 ? c.c10 : 0, c.day == now / 86_400_000 ? c.cDay : 0)
    }

    public func reset() {
        lock.lock(); defer { lock.unlock() }
        used = 0; rejected = 0; bannedUntil = 0; bans = 0; orders = [:]
    }

    public func rateLimitsJSON(account: Int?) -> J {
        let w = usedWeight()
        var arr: [J] = [.obj([("rateLimitType", .str("REQUEST_WEIGHT")), ("interval", .str("MINUTE")), ("intervalNum", .int(1)),
                              ("limit", .i(cfg.requestWeightPerMinute)), ("count", .i(w))])]
        if let a = account {
            let (c10, cd) = orderCounts(account: a)
            arr.append(.obj([("rateLimitType", .str("ORDERS")), ("interval", .str("SECOND")), ("intervalNum", .int(10)),
                             ("limit", .i(cfg.ordersPer10s)), ("count", .i(c10))]))
            arr.append(.obj([("rateLimitType", .str("ORDERS")), ("interval", .str("DAY")), ("intervalNum", .int(1)),
                             ("limit", .i(cfg.ordersPerDay)), ("count", .i(cd))]))
        }
        return .arr(arr)
    }
}

/// Fault injection: armed through POST /sim/faults; each counter applies to the next N REST calls
/// (WS API counters: to the next N order requests on the WebSocket API).
public final class Faults: @unchecked Sendable {
    let lock = NSLock()
    public var errorCount = 0, errorStatus = 503
    public var timeoutCount = 0, timeoutMs = 10_000
    public var delayCount = 0, delayMs = 1_000
    public var throttleCount = 0
    public var banCount = 0, banSeconds = 2   // 418 + Retry-After, as after ignoring a 429
    public var wsRefuseCount = 0, wsRefuseStatus = 503  // WS API order requests refused unexecuted
    public var wsUnknownCount = 0                      // WS API order requests executed, answer -1007
    public init() {}

    public enum RESTFault { case error(Int), timeout(Int), delay(Int), throttle, ban(Int) }

    public func nextREST() -> RESTFault? {
        lock.lock(); defer { lock.unlock() }
        if throttleCount > 0 { throttleCount -= 1; return .throttle }
        if banCount > 0 { banCount -= 1; return .ban(banSeconds) }
        if errorCount > 0 { errorCount -= 1; return .error(errorStatus) }
        if timeoutCount > 0 { timeoutCount -= 1; return .timeout(timeoutMs) }
        if delayCount > 0 { delayCount -= 1; return .delay(delayMs) }
        return nil
    }

    public enum WSAPIFault { case refuse(Int), unknownOutcome }

    public func nextWSAPI() -> WSAPIFault? {
        lock.lock(); defer { lock.unlock() }
        if wsRefuseCount > 0 { wsRefuseCount -= 1; return .refuse(wsRefuseStatus) }
        if wsUnknownCount > 0 { wsUnknownCount -= 1; return .unknownOutcome }
        return nil
    }

    public func set(_ f: (Faults) -> Void) { lock.lock(); f(self); lock.unlock() }

    public var json: J {
        lock.lock(); defer { lock.unlock() }
        return .obj([
            ("restErrors", .obj([("count", .i(errorCount)), ("status", .i(errorStatus))])),
            ("restTimeouts", .obj([("count", .i(timeoutCount)), ("ms", .i(timeoutMs))])),
            ("restDelays", .obj([("count", .i(delayCount)), ("ms", .i(delayMs))])),
            ("throttle", .obj([("count", .i(throttleCount))])),
            ("ban", .obj([("count", .i(banCount)), ("seconds", .i(banSeconds))])),
            ("wsApiErrors", .obj([("count", .i(wsRefuseCount)), ("status", .i(wsRefuseStatus))])),
            ("wsApiUnknown", .obj([("count", .i(wsUnknownCount))])),
        ])
    }
}
