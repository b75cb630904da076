/// Byte-level parser for the fixed market-data shapes Binance sends: diff depth
/// (`depthUpdate`, spot and futures), `bookTicker` (spot without `e`, futures
/// with), the partial-book / REST depth snapshot (`lastUpdateId,bids,asks`) and
/// the combined-stream wrapper `{"stream":…,"data":{…}}`.
///
/// The hot path: no Foundation, no `JSONDecoder`, no allocation per message —
/// prices and quantities go straight from ASCII to fixed-point `Int64` at the
/// configured scales, levels land in arrays owned by the caller's reusable
/// `MarketDataMessage` (capacity kept between messages), the symbol is a byte
/// range plus an FNV-1a hash.

public struct PriceLevel: Sendable, Equatable {
    public var price: Int64
    public var quantity: Int64
    @inlinable public init(price: Int64, quantity: Int64) {
        self.price = price
        self.quantity = quantity
    }
}

public enum MarketEventKind: UInt8, Sendable {
    case unknown
    case depthUpdate
    case bookTicker
    /// `{lastUpdateId,bids,asks}`: a partial-book stream event or the REST depth snapshot.
    case depthSnapshot
    case trade
    case aggTrade
    /// `{"result":…,"id":…}` reply to SUBSCRIBE.
    case controlReply
}

/// One parsed message; reuse one instance per connection.
public struct MarketDataMessage: Sendable {
    public var kind: MarketEventKind = .unknown
    public var symbolHash: UInt64 = 0
    /// Byte offsets of the symbol inside the parsed buffer.
    public var symbolStart = 0
    public var symbolEnd = 0
    public var eventTime: Int64 = 0
    public var transactionTime: Int64 = 0
    /// depthUpdate U / u / pu; bookTicker u; snapshot lastUpdateId (in `lastUpdateID`).
    public var firstUpdateID: Int64 = 0
    public var lastUpdateID: Int64 = 0
    public var prevLastUpdateID: Int64 = -1
    public var bids: [PriceLevel] = []
    public var asks: [PriceLevel] = []
    public var bidPrice: Int64 = 0
    public var bidQuantity: Int64 = 0
    public var askPrice: Int64 = 0
    public var askQuantity: Int64 = 0

    public init(levelCapacity: Int = 1024) {
        bids.reserveCapacity(levelCapacity)
        asks.reserveCapacity(levelCapacity)
    }

    @inlinable mutating func reset() {
        kind = .unknown
        symbolHash = 0
        symbolStart = 0
        symbolEnd = 0
        eventTime = 0
        transactionTime = 0
        firstUpdateID = 0
        lastUpdateID = 0
        prevLastUpdateID = -1
        bids.removeAll(keepingCapacity: true)
        asks.removeAll(keepingCapacity: true)
        bidPrice = 0; bidQuantity = 0; askPrice = 0; askQuantity = 0
    }
}

public struct MarketDataParseError: Error, Sendable, Equatable {
    public var offset: Int
    public var reason: StaticString
    public static func == (a: Self, b: Self) -> Bool { a.offset == b.offset }
}

/// FNV-1a over the upper-cased symbol bytes ("btcusdt" and "BTCUSDT" hash alike).
@inlinable
public func symbolHash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for var b in bytes {
        if b >= 0x61 && b <= 0x7A { b -= 0x20 }
        h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
    }
    return h
}

public struct MarketDataParser: Sendable {
    public var priceScale: Int
    public var quantityScale: Int

    public init(priceScale: Int = 8, quantityScale: Int = 8) {
        precondition((0...18).contains(priceScale) && (0...18).contains(quantityScale), "an Int64 mantissa holds at most 18 decimals")
        self.priceScale = priceScale
        self.quantityScale = quantityScale
    }

    public func parse(_ bytes: [UInt8], into m: inout MarketDataMessage) throws(MarketDataParseError) {
        var failure: MarketDataParseError?
        bytes.withUnsafeBytes { p in
            do throws(MarketDataParseError) { try parse(p, into: &m) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func parse(_ p: UnsafeRawBufferPointer, into m: inout MarketDataMessage) throws(MarketDataParseError) {
        m.reset()
        guard let base = p.baseAddress, p.count > 0 else { throw MarketDataParseError(offset: 0, reason: "expected object") }
        var s = Scanner(p: base.assumingMemoryBound(to: UInt8.self), i: 0, end: p.count)
        var eKind: MarketEventKind = .unknown
        var sawLevelsOrLastUpdateID = false
        var sawResult = false
        try parseObject(&s, &m, &eKind, &sawLevelsOrLastUpdateID, &sawResult, depth: 0)
        if eKind != .unknown {
            m.kind = eKind
        } else if sawLevelsOrLastUpdateID {
            m.kind = .depthSnapshot
        } else if m.lastUpdateID != 0 && m.symbolEnd > m.symbolStart {
            m.kind = .bookTicker  // spot bookTicker has no "e"
        } else if sawResult {
            m.kind = .controlReply
        }
    }

    /// Powers of ten for padding a mantissa up to the scale in one multiply.
    @usableFromInline static let pow10: [Int64] = (0...18).map { k in (0..<k).reduce(Int64(1)) { acc, _ in acc * 10 } }

    /// A cursor over the message bytes. Reads go through a raw pointer with an explicit
    /// `end` check, not through a bounds-checked collection: this loop is the hot path.
    @usableFromInline
    struct Scanner {
        let p: UnsafePointer<UInt8>
        var i: Int
        let end: Int

        @inline(__always) mutating func skipWS() {
            while i < end {
                let b = p[i]
                if b > 0x20 { return }
                if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1 } else { return }
            }
        }
        @inline(__always) mutating func expect(_ c: UInt8, _ why: StaticString) throws(MarketDataParseError) {
            if i < end, p[i] == c { i += 1; return }  // no whitespace: Binance's compact JSON
            skipWS()
            guard i < end, p[i] == c else { throw MarketDataParseError(offset: i, reason: why) }
            i += 1
        }
        @inline(__always) func peek() -> UInt8 { i < end ? p[i] : 0 }

        /// A string's content range; consumes both quotes.
        @inline(__always) mutating func string() throws(MarketDataParseError) -> (Int, Int) {
            skipWS()
            guard i < end, p[i] == UInt8(ascii: "\"") else { throw MarketDataParseError(offset: i, reason: "expected string") }
            i += 1
            let start = i
            while i < end {
                let b = p[i]
                if b == UInt8(ascii: "\"") { i += 1; return (start, i - 1) }
                if b == UInt8(ascii: "\\") { i += 2; continue }
                i += 1
            }
            throw MarketDataParseError(offset: i, reason: "unterminated string")
        }

        @inline(__always) mutating func integer() throws(MarketDataParseError) -> Int64 {
            skipWS()
            var neg = false
            if i < end && p[i] == UInt8(ascii: "-") { neg = true; i += 1 }
            let start = i
            var v: Int64 = 0
            while i < end {
                let d = p[i] &- 0x30
                if d >= 10 { break }
                v = v &* 10 &+ Int64(d)
                i += 1
            }
            guard i > start else { throw MarketDataParseError(offset: i, reason: "expected integer") }
            // Tolerate a fraction or exponent (never sent for ids/times) by skipping it.
            while i < end, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") || p[i] == UInt8(ascii: "+") || (p[i] &- 0x30) < 10 { i += 1 }
            return neg ? -v : v
        }

        /// Eight ASCII digits at `i` as their value, or nil when any byte is not a digit
        /// (SWAR: one unaligned load, one check, three multiplies instead of eight steps).
        @inline(__always) func eightDigits() -> Int64? {
            let v = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            // Every byte in 0x30...0x39: high nibble 3, and adding 6 keeps it 3.
            guard (v & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030,
                  ((v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030 else { return nil }
            // The first character is the lowest byte: combine neighbours into 2, 4, then 8 digits.
            var x = ((v & 0x0F0F_0F0F_0F0F_0F0F) &* 2561) >> 8
            x = ((x & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
            x = ((x & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
            return Int64(truncatingIfNeeded: x)
        }

        /// A decimal given as a quoted string (Binance) or a bare number, straight to a
        /// mantissa at `scale` (extra digits truncated, missing ones padded).
        @inline(__always) mutating func fixed(scale: Int) throws(MarketDataParseError) -> Int64 {
            skipWS()
            guard i < end else { throw MarketDataParseError(offset: i, reason: "bad decimal") }
            let quoted = p[i] == UInt8(ascii: "\"")
            if quoted { i += 1 }
            let start = i
            var negative = false
            if i < end && p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var m: Int64 = 0
            var digits = 0
            while i < end {
                let d = p[i] &- 0x30
                if d >= 10 { break }
                m = m &* 10 &+ Int64(d)
                digits += 1
                i += 1
            }
            var frac = 0
            if i < end && p[i] == UInt8(ascii: ".") {
                i += 1
                if scale >= 8, end - i >= 8, let eight = eightDigits() {
                    m = m &* 100_000_000 &+ eight
                    frac = 8
                    digits += 8
                    i += 8
                }
                while i < end {
                    let d = p[i] &- 0x30
                    if d >= 10 { break }
                    if frac < scale { m = m &* 10 &+ Int64(d); frac += 1 }
                    digits += 1
                    i += 1
                }
            }
            if quoted {
                guard i < end, p[i] == UInt8(ascii: "\"") else { throw MarketDataParseError(offset: start, reason: "bad decimal") }
                i += 1
            }
            guard digits > 0, digits <= 19 + 8 else { throw MarketDataParseError(offset: start, reason: "bad decimal") }
            if frac < scale { m = m &* MarketDataParser.pow10[scale - frac] }
            return negative ? -m : m
        }

        mutating func skipValue() throws(MarketDataParseError) {
            skipWS()
            guard i < end else { throw MarketDataParseError(offset: i, reason: "expected value") }
            switch p[i] {
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while i < end {
                    let b = p[i]
                    if b == UInt8(ascii: "\"") { _ = try string(); continue }
                    if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { depth += 1 }
                    if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { i += 1; return }
                    }
                    i += 1
                }
                throw MarketDataParseError(offset: i, reason: "unterminated container")
            default:
                while i < end {
                    let b = p[i]
                    if b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") { return }
                    i += 1
                }
            }
        }

        @inline(__always) func equals(_ start: Int, _ stop: Int, _ lit: StaticString) -> Bool {
            let n = lit.utf8CodeUnitCount
            guard stop - start == n else { return false }
            let q = lit.utf8Start
            for k in 0..<n where p[start + k] != q[k] { return false }
            return true
        }
    }

    @inline(__always)
    private func parseLevels(_ s: inout Scanner, into levels: inout [PriceLevel]) throws(MarketDataParseError) {
        try s.expect(UInt8(ascii: "["), "expected levels array")
        s.skipWS()
        if s.peek() == UInt8(ascii: "]") { s.i += 1; return }
        while true {
            try s.expect(UInt8(ascii: "["), "expected level")
            let price = try s.fixed(scale: priceScale)
            try s.expect(UInt8(ascii: ","), "expected , in level")
            let qty = try s.fixed(scale: quantityScale)
            s.skipWS()
            while s.peek() == UInt8(ascii: ",") { s.i += 1; try s.skipValue(); s.skipWS() }  // extra fields
            try s.expect(UInt8(ascii: "]"), "expected ] after level")
            levels.append(PriceLevel(price: price, quantity: qty))
            s.skipWS()
            let b = s.peek()
            s.i += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "]") { return }
            throw MarketDataParseError(offset: s.i - 1, reason: "expected , or ] in levels")
        }
    }

    private func parseObject(_ s: inout Scanner, _ m: inout MarketDataMessage, _ eKind: inout MarketEventKind,
                             _ sawSnapshot: inout Bool, _ sawResult: inout Bool, depth: Int) throws(MarketDataParseError) {
        try s.expect(UInt8(ascii: "{"), "expected object")
        s.skipWS()
        if s.peek() == UInt8(ascii: "}") { s.i += 1; return }
        while true {
            let (ks, ke) = try s.string()
            try s.expect(UInt8(ascii: ":"), "expected :")
            s.skipWS()
            let len = ke - ks
            if len == 1 {
                switch s.p[ks] {
                case UInt8(ascii: "e"):
                    let (vs, ve) = try s.string()
                    if s.equals(vs, ve, "depthUpdate") { eKind = .depthUpdate }
                    else if s.equals(vs, ve, "bookTicker") { eKind = .bookTicker }
                    else if s.equals(vs, ve, "trade") { eKind = .trade }
                    else if s.equals(vs, ve, "aggTrade") { eKind = .aggTrade }
                case UInt8(ascii: "E"): m.eventTime = try s.integer()
                case UInt8(ascii: "T"): m.transactionTime = try s.integer()
                case UInt8(ascii: "U"): m.firstUpdateID = try s.integer()
                case UInt8(ascii: "u"): m.lastUpdateID = try s.integer()
                case UInt8(ascii: "s"):
                    let (vs, ve) = try s.string()
                    m.symbolStart = vs
                    m.symbolEnd = ve
                    m.symbolHash = symbolHash(UnsafeBufferPointer(start: s.p + vs, count: ve - vs))
                case UInt8(ascii: "b"):
                    if s.peek() == UInt8(ascii: "[") { try parseLevels(&s, into: &m.bids) } else { m.bidPrice = try s.fixed(scale: priceScale) }
                case UInt8(ascii: "a"):
                    if s.peek() == UInt8(ascii: "[") { try parseLevels(&s, into: &m.asks) } else { m.askPrice = try s.fixed(scale: priceScale) }
                case UInt8(ascii: "B"): m.bidQuantity = try s.fixed(scale: quantityScale)
                case UInt8(ascii: "A"): m.askQuantity = try s.fixed(scale: quantityScale)
                default: try s.skipValue()
                }
            } else if s.equals(ks, ke, "pu") {
                m.prevLastUpdateID = try s.integer()
            } else if s.equals(ks, ke, "data"), depth == 0, s.peek() == UInt8(ascii: "{") {
                try parseObject(&s, &m, &eKind, &sawSnapshot, &sawResult, depth: 1)
            } else if s.equals(ks, ke, "lastUpdateId") {
                m.lastUpdateID = try s.integer()
                sawSnapshot = true
            } else if s.equals(ks, ke, "bids") {
                try parseLevels(&s, into: &m.bids)
                sawSnapshot = true
            } else if s.equals(ks, ke, "asks") {
                try parseLevels(&s, into: &m.asks)
                sawSnapshot = true
            } else if s.equals(ks, ke, "result") {
                sawResult = true
                try s.skipValue()
            } else {
                try s.skipValue()
            }
            s.skipWS()
            let b = s.peek()
            s.i += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "}") { return }
            throw MarketDataParseError(offset: s.i - 1, reason: "expected , or }")
        }
    }
}
