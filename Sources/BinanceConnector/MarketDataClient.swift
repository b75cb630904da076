import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import OMSCore
import Synchronization

/// Local books from the diff-depth stream (snapshot + buffer + sequence check,
/// resync on gaps) and top of book from `bookTicker`, published as BookSnapshot /
/// BookDelta on `md.book.*` and TopOfBook on `md.tob.*` (core NATS into the
/// in-memory MARKETDATA stream). One combined-stream connection for all symbols.
public final class BinanceMarketDataClient: @unchecked Sendable {
    public struct Stats: Sendable {
        public var messages = 0
        public var deltas = 0
        public var gaps = 0
        public var snapshots = 0
        public var connects = 0
    }

    final class SymbolBook: @unchecked Sendable {
        let symbol: String
        var sync: BookSynchronizer
        var snapshotInFlight = false
        var lastTop: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
        /// Built once: the per-message publish must not format subjects or instrument ids again.
        let bookSubject: String?
        let topSubject: String?
        let instrument: Oms_V1_InstrumentId
        let idPrefix: String
        init(symbol: String, mode: BookSynchronizer.Mode, exchange: String, market: String) {
            self.symbol = symbol
            sync = BookSynchronizer(mode: mode)
            bookSubject = try? Subjects.book(exchange: exchange, market: market, symbol: symbol)
            topSubject = try? Subjects.topOfBook(exchange: exchange, market: market, symbol: symbol)
            instrument = Oms_V1_InstrumentId.with { $0.exchange = exchange; $0.market = market; $0.symbol = symbol }
            idPrefix = "\(exchange).\(market).\(symbol)."
        }
    }

    let config: BinanceVenueConfig
    let rest: BinanceRESTClient
    let nats: NATSConnection?
    let logger: Logger
    let producer: String
    let parser: MarketDataParser
    let books: [UInt64: SymbolBook]
    let lock = Mutex(())
    public private(set) var stats = Stats()
    let exchange: String
    let market: String
    private let writerBox = Mutex<WebSocketOutboundWriter?>(nil)

    public init(config: BinanceVenueConfig, symbols: [String], rest: BinanceRESTClient, nats: NATSConnection?, logger: Logger, producer: String) {
        self.config = config
        self.rest = rest
        self.nats = nats
        self.logger = logger
        self.producer = producer
        parser = MarketDataParser(priceScale: 8, quantityScale: 8)
        exchange = config.exchange
        market = config.market
        var b: [UInt64: SymbolBook] = [:]
        for s in symbols {
            b[symbolHash(Array(s.utf8))] = SymbolBook(symbol: s, mode: config.product == .spot ? .spot : .futures,
                                                      exchange: config.exchange, market: config.market)
        }
        books = b
    }

    public var streamURL: String {
        let streams = books.values.map(\.symbol).sorted().flatMap { s in ["\(s.lowercased())@depth@100ms", "\(s.lowercased())@bookTicker"] }
        return config.streamBaseURL + "/stream?streams=" + streams.joined(separator: "/")
    }

    /// The synced book of a symbol (tests, diagnostics).
    public func book(_ symbol: String) -> OrderBook? {
        guard let b = books[symbolHash(Array(symbol.utf8))] else { return nil }
        return lock.withLock { _ in b.sync.state == .synced ? b.sync.book : nil }
    }

    public func dropConnection() async {
        let w = writerBox.withLock { $0 }
        try? await w?.close(.goingAway, reason: "client reconnect")
    }

    public func run() async {
        guard !books.isEmpty else { return }
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await connectOnce()
            } catch {
                logger.warning("market stream disconnected", metadata: ["error": "\(error)"])
            }
            writerBox.withLock { $0 = nil }
            // Books are stale once the stream is gone: resync from scratch on reconnect.
            lock.withLock { _ in for b in books.values { b.sync.reset(); b.snapshotInFlight = false } }
            if Task.isCancelled { break }
            if ContinuousClock.now - started > .seconds(30) { backoff = .milliseconds(200) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }

    private func connectOnce() async throws {
        let url = streamURL
        let maxAge = config.connectionMaxAge
        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
            self.writerBox.withLock { $0 = outbound }
            self.stats.connects += 1
            self.logger.info("market stream connected", metadata: ["url": "\(url)"])
            let rotation = Task {
                try await Task.sleep(for: maxAge)
                try? await outbound.close(.normalClosure, reason: "rotation")
            }
            defer { rotation.cancel() }
            var msg = MarketDataMessage(levelCapacity: 1024)
            for try await frame in inbound.messages(maxSize: 1 << 24) {
                switch frame {
                case .text(let s):
                    var s = s
                    s.withUTF8 { buf in self.process(UnsafeRawBufferPointer(buf), &msg) }
                case .binary(let b):
                    b.withUnsafeReadableBytes { self.process($0, &msg) }
                }
            }
        }
    }

    /// Parse + apply + publish one stream message (the hot path).
    func process(_ bytes: UnsafeRawBufferPointer, _ msg: inout MarketDataMessage) {
        do { try parser.parse(bytes, into: &msg) } catch {
            logger.debug("unparseable market message", metadata: ["offset": "\(error.offset)"])
            return
        }
        stats.messages += 1
        guard let b = books[msg.symbolHash] else { return }
        switch msg.kind {
        case .depthUpdate:
            let result = lock.withLock { _ in b.sync.onDiff(first: msg.firstUpdateID, last: msg.lastUpdateID, prev: msg.prevLastUpdateID, bids: msg.bids, asks: msg.asks) }
            switch result {
            case .applied:
                stats.deltas += 1
                publishDelta(b, msg)
            case .stale: break
            case .buffered(let request):
                if request { requestSnapshot(b) }
            case .gap(let expected, let got):
                stats.gaps += 1
                logger.warning("depth gap: resyncing", metadata: ["symbol": "\(b.symbol)", "expected_U": "\(expected)", "got_U": "\(got)"])
                requestSnapshot(b)
            }
        case .bookTicker:
            publishTop(b, bid: msg.bidPrice, bidQty: msg.bidQuantity, ask: msg.askPrice, askQty: msg.askQuantity, updateID: msg.lastUpdateID, eventMs: msg.eventTime)
        default: break
        }
    }

    func requestSnapshot(_ b: SymbolBook) {
        let go = lock.withLock { _ -> Bool in
            if b.snapshotInFlight { return false }
            b.snapshotInFlight = true
            return true
        }
        guard go else { return }
        Task {
            var delay: Duration = .milliseconds(100)
            while !Task.isCancelled {
                do {
                    let bytes = try await rest.depthSnapshot(symbol: b.symbol, limit: config.snapshotDepth)
                    var m = MarketDataMessage(levelCapacity: config.snapshotDepth)
                    try parser.parse(bytes, into: &m)
                    let r = lock.withLock { _ in b.sync.onSnapshot(lastUpdateID: m.lastUpdateID, bids: m.bids, asks: m.asks) }
                    switch r {
                    case .synced(let replayed):
                        stats.snapshots += 1
                        lock.withLock { _ in b.snapshotInFlight = false }
                        logger.info("book synced", metadata: ["symbol": "\(b.symbol)", "last_update_id": "\(m.lastUpdateID)", "replayed": "\(replayed)"])
                        publishSnapshot(b)
                        return
                    case .tooOld, .gap:
                        try await Task.sleep(for: delay)
                    }
                } catch {
                    logger.info("depth snapshot failed, retrying", metadata: ["symbol": "\(b.symbol)", "error": "\(error)"])
                    try? await Task.sleep(for: delay)
                }
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// The BookDelta for one applied diff, as published (the bench measures this encoding too).
    static func deltaMessage(instrument: Oms_V1_InstrumentId, _ m: MarketDataMessage, nowNs: Int64) -> Oms_V1_BookDelta {
        var d = Oms_V1_BookDelta()
        d.instrument = instrument
        d.priceScale = 8
        d.qtyScale = 8
        d.bids = m.bids.map { l in var x = Oms_V1_BookLevel(); x.price = l.price; x.quantity = l.quantity; return x }
        d.asks = m.asks.map { l in var x = Oms_V1_BookLevel(); x.price = l.price; x.quantity = l.quantity; return x }
        d.firstUpdateID = m.firstUpdateID
        d.lastUpdateID = m.lastUpdateID
        d.prevLastUpdateID = m.prevLastUpdateID
        d.tsEventNs = m.eventTime * 1_000_000
        d.tsInitNs = nowNs
        return d
    }

    /// Wall-clock ns without going through Foundation's Date.
    @inline(__always) static func wallNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    func publishDelta(_ b: SymbolBook, _ m: MarketDataMessage) {
        guard let nats, let subject = b.bookSubject else { return }
        let delta = Self.deltaMessage(instrument: b.instrument, m, nowNs: Self.wallNs())
        try? nats.publish(delta, subject: subject, id: b.idPrefix + "d" + String(m.lastUpdateID), producer: producer)
    }

    func publishSnapshot(_ b: SymbolBook) {
        guard let nats, let subject = b.bookSubject else { return }
        let (bids, asks, id) = lock.withLock { _ in
            let t = b.sync.book.top(config.publishedSnapshotLevels)
            return (t.bids, t.asks, b.sync.book.updateID)
        }
        let snap = Oms_V1_BookSnapshot.with { s in
            s.instrument = b.instrument
            s.priceScale = 8
            s.qtyScale = 8
            s.bids = bids.map { l in .with { $0.price = l.price; $0.quantity = l.quantity } }
            s.asks = asks.map { l in .with { $0.price = l.price; $0.quantity = l.quantity } }
            s.lastUpdateID = id
            s.tsInitNs = Self.wallNs()
        }
        try? nats.publish(snap, subject: subject, id: b.idPrefix + "s" + String(id), producer: producer)
    }

    func publishTop(_ b: SymbolBook, bid: Int64, bidQty: Int64, ask: Int64, askQty: Int64, updateID: Int64, eventMs: Int64) {
        let changed = lock.withLock { _ -> Bool in
            let t = (bid, bidQty, ask, askQty)
            if t == b.lastTop { return false }
            b.lastTop = t
            return true
        }
        guard changed, let nats, let subject = b.topSubject else { return }
        let tob = Oms_V1_TopOfBook.with { t in
            t.instrument = b.instrument
            t.priceScale = 8
            t.qtyScale = 8
            t.bidPrice = bid
            t.bidQuantity = bidQty
            t.askPrice = ask
            t.askQuantity = askQty
            t.updateID = updateID
            t.tsEventNs = eventMs * 1_000_000
            t.tsInitNs = Self.wallNs()
        }
        try? nats.publish(tob, subject: subject, id: b.idPrefix + "b" + String(updateID), producer: producer)
    }
}

/// The parse + apply hot path measured alone (`binance-spot bench`).
public enum BookBenchmark {
    /// Synthetic depthUpdate messages shaped like Binance's (`levels` per side, near the touch).
    public static func messages(count: Int, levels: Int = 3, symbol: String = "BTCUSDT") -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        var rng = SystemRandomNumberGenerator()
        var id: Int64 = 1000
        for i in 0..<count {
            let base = 6_000_000 + Int.random(in: -50...50, using: &rng)
            var b: [String] = [], a: [String] = []
            for k in 0..<levels {
                let bp = base - 1 - k * Int.random(in: 1...3, using: &rng)
                let ap = base + 1 + k * Int.random(in: 1...3, using: &rng)
                let q = i % 7 == 0 ? "0.00000000" : "\(Int.random(in: 0...9, using: &rng)).\(String(format: "%08d", Int.random(in: 0...99_999_999, using: &rng)))"
                b.append("[\"\(bp / 100).\(String(format: "%02d", bp % 100))000000\",\"\(q)\"]")
                a.append("[\"\(ap / 100).\(String(format: "%02d", ap % 100))000000\",\"\(q)\"]")
            }
            let U = id + 1
            id += Int64(1 + i % 3)
            let text = "{\"stream\":\"\(symbol.lowercased())@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":\(1_700_000_000_000 + Int64(i)),\"s\":\"\(symbol)\",\"U\":\(U),\"u\":\(id),\"b\":[\(b.joined(separator: ","))],\"a\":[\(a.joined(separator: ","))]}}"
            out.append(Array(text.utf8))
        }
        return out
    }

    public struct Result: Sendable {
        public var messages: Int
        /// Parse + apply through the synchronizer.
        public var seconds: Double
        public var parseOnlySeconds: Double
        /// Parse + apply + building and serializing the BookDelta that is published (no socket write).
        public var withEncodeSeconds: Double
        public var rate: Double { Double(messages) / seconds }
        public var parseRate: Double { Double(messages) / parseOnlySeconds }
        public var withEncodeRate: Double { Double(messages) / withEncodeSeconds }
        public var gaps: Int
        public var bookLevels: (bids: Int, asks: Int)
    }

    /// Parses and applies every message `rounds` times to a book seeded with 1000 levels per side
    /// around 60000.00 (price scale 8, like the connector's). Each phase is timed `repeats` times and
    /// the fastest run is kept: on a shared machine the slower ones measure the neighbours.
    public static func run(_ msgs: [[UInt8]], rounds: Int = 5, repeats: Int = 1) -> Result {
        let parser = MarketDataParser()
        var m = MarketDataMessage(levelCapacity: 64)
        func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        var sink = 0
        var seedBids: [PriceLevel] = [], seedAsks: [PriceLevel] = []
        for k in 0..<1000 {
            seedBids.append(PriceLevel(price: (59_990 - Int64(k)) * 100_000_000, quantity: 100_000_000))
            seedAsks.append(PriceLevel(price: (60_010 + Int64(k)) * 100_000_000, quantity: 100_000_000))
        }
        var gaps = 0
        var levels = (0, 0)
        let instrument = Oms_V1_InstrumentId.with { $0.exchange = "binance"; $0.market = "spot"; $0.symbol = "BTCUSDT" }
        var best = [Double.infinity, .infinity, .infinity]  // parse only, parse + apply, parse + apply + encode
        for _ in 0..<max(repeats, 1) {
            // Parse only.
            var t0 = ContinuousClock.now
            for _ in 0..<rounds {
                for bytes in msgs {
                    bytes.withUnsafeBytes { p in
                        try? parser.parse(p, into: &m)
                    }
                    sink &+= m.bids.count
                }
            }
            best[0] = min(best[0], secs(ContinuousClock.now - t0))
            // Parse + apply through the synchronizer; then the same plus the published message's encoding.
            for (phase, encode) in [(1, false), (2, true)] {
                var sync = BookSynchronizer()
                gaps = 0
                t0 = ContinuousClock.now
                for _ in 0..<rounds {
                    _ = sync.onSnapshot(lastUpdateID: 1000, bids: seedBids, asks: seedAsks)
                    for bytes in msgs {
                        bytes.withUnsafeBytes { p in
                            try? parser.parse(p, into: &m)
                        }
                        let r = sync.onDiff(first: m.firstUpdateID, last: m.lastUpdateID, bids: m.bids, asks: m.asks)
                        if case .gap = r { gaps += 1 }
                        if encode, case .applied = r {
                            let d = BinanceMarketDataClient.deltaMessage(instrument: instrument, m, nowNs: BinanceMarketDataClient.wallNs())
                            sink &+= ((try? d.serializedBytes() as [UInt8])?.count ?? 0)
                        }
                    }
                    levels = (sync.book.bids.count, sync.book.asks.count)
                    sync.reset()
                }
                best[phase] = min(best[phase], secs(ContinuousClock.now - t0))
            }
        }
        if sink == -1 { print(sink) }
        return Result(messages: msgs.count * rounds, seconds: best[1], parseOnlySeconds: best[0],
                      withEncodeSeconds: best[2], gaps: gaps, bookLevels: levels)
    }
}
