import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import OMSCore
import Synchronization

/// A WebSocket API connection (`/ws-api/v3` spot, `/ws-fapi/v1` futures):
/// request/response by id, pushed user-data events, and a session that is
/// re-established after every reconnect (logon + user-data subscription run by
/// `onSessionStart`), with exponential backoff and rotation before the 24 h limit.
public final class BinanceWSAPIClient: @unchecked Sendable {
    public enum ParamValue: Sendable {
        case string(String)
        case int(Int64)
        var text: String {
            switch self {
            case .string(let s): s
            case .int(let i): String(i)
            }
        }
    }

    public enum Auth: Sendable {
        /// No key needed (ping, time, exchangeInfo…).
        case none
        /// apiKey + timestamp + signature on the request itself (any key type).
        case signed
        /// After `session.logon`: timestamp only (Ed25519 sessions).
        case session
    }

    struct State {
        var writer: WebSocketOutboundWriter?
        var pending: [String: CheckedContinuation<WSAPIEnvelope, Error>] = [:]
        var ready = false
        var generation = 0
        var nextID: UInt64 = 0
        var loggedOn = false
    }

    public let url: String
    let config: BinanceVenueConfig
    let credentials: BinanceCredentials?
    let clock: ServerClock
    let limiter: BinanceRateLimiter
    let logger: Logger
    private let state = Mutex(State())

    /// Runs after each (re)connect, before the connection counts as ready (logon, subscribe).
    public var onSessionStart: (@Sendable (BinanceWSAPIClient) async throws -> Void)?
    /// Pushed events (`{"subscriptionId":…,"event":{…}}`), raw bytes.
    public var onEvent: (@Sendable ([UInt8]) async -> Void)?
    /// The session became ready (true) or was lost (false).
    public var onReadyChange: (@Sendable (Bool) -> Void)?

    public private(set) var connects = 0

    public init(config: BinanceVenueConfig, credentials: BinanceCredentials?, clock: ServerClock, limiter: BinanceRateLimiter, logger: Logger) {
        url = config.wsAPIURL
        self.config = config
        self.credentials = credentials
        self.clock = clock
        self.limiter = limiter
        self.logger = logger
    }

    public var isReady: Bool { state.withLock { $0.ready } }
    public var isLoggedOn: Bool { state.withLock { $0.loggedOn } }

    /// Connects and reconnects until the task is cancelled.
    public func run() async {
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await connectOnce()
            } catch {
                logger.warning("ws-api disconnected", metadata: ["error": "\(error)", "url": "\(url)"])
            }
            teardown(reason: "connection closed")
            if Task.isCancelled { break }
            if ContinuousClock.now - started > .seconds(30) { backoff = .milliseconds(200) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
        teardown(reason: "stopped")
    }

    /// Closes the current connection (tests and rotation); `run` reconnects.
    public func dropConnection() async {
        let w = state.withLock { $0.writer }
        try? await w?.close(.goingAway, reason: "client reconnect")
    }

    private func connectOnce() async throws {
        let maxAge = config.connectionMaxAge
        try await limiter.acquire(weight: 2, maxWait: .seconds(30))
        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
            let generation = self.state.withLock { s -> Int in
                s.writer = outbound
                s.generation += 1
                return s.generation
            }
            self.connects += 1
            self.logger.info("ws-api connected", metadata: ["url": "\(self.url)", "connects": "\(self.connects)"])
            let session = Task {
                do {
                    try await self.onSessionStart?(self)
                    self.state.withLock { $0.ready = ($0.generation == generation) }
                    self.onReadyChange?(true)
                } catch {
                    self.logger.warning("ws-api session start failed", metadata: ["error": "\(error)"])
                    try? await outbound.close(.unexpectedServerError, reason: "session start failed")
                }
            }
            let rotation = Task {
                try await Task.sleep(for: maxAge)
                self.logger.info("ws-api rotating connection before the 24h limit")
                try? await outbound.close(.normalClosure, reason: "rotation")
            }
            defer { session.cancel(); rotation.cancel() }
            for try await message in inbound.messages(maxSize: 1 << 24) {
                let bytes: [UInt8]
                switch message {
                case .text(let s): bytes = Array(s.utf8)
                case .binary(let b): bytes = Array(b.readableBytesView)
                }
                await self.handle(bytes)
            }
        }
    }

    private func handle(_ bytes: [UInt8]) async {
        guard let env = try? WSAPIEnvelope.parse(bytes) else {
            logger.debug("ws-api: unparseable message")
            return
        }
        if env.isEvent {
            await onEvent?(bytes)
            return
        }
        if !env.rateLimits.isEmpty {
            limiter.observe(rateLimits: env.rateLimits.map { ($0.rateLimitType, $0.interval, $0.intervalNum, $0.count ?? 0) })
        }
        guard let id = env.id, let cont = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        cont.resume(returning: env)
    }

    private func teardown(reason: String) {
        let (pending, wasReady) = state.withLock { s -> ([CheckedContinuation<WSAPIEnvelope, Error>], Bool) in
            let p = Array(s.pending.values)
            s.pending.removeAll()
            s.writer = nil
            let r = s.ready
            s.ready = false
            s.loggedOn = false
            return (p, r)
        }
        for c in pending { c.resume(throwing: BinanceError.unknown("ws-api \(reason) before the response")) }
        if wasReady { onReadyChange?(false) }
    }

    static func jsonEscape(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// Builds the request text (params signed as the WebSocket API wants: sorted, raw).
    public func requestText(id: String, method: String, params: [(String, ParamValue)], auth: Auth, timestamp: Int64? = nil) throws(BinanceError) -> String {
        var all = params
        switch auth {
        case .none: break
        case .session:
            all.append(("recvWindow", .int(config.recvWindowMs)))
            all.append(("timestamp", .int(timestamp ?? clock.nowMs())))
        case .signed:
            guard let credentials else { throw .notSent("no API credentials") }
            all.append(("apiKey", .string(credentials.apiKey)))
            all.append(("recvWindow", .int(config.recvWindowMs)))
            all.append(("timestamp", .int(timestamp ?? clock.nowMs())))
            let sig = credentials.signer.sign(SignaturePayload.webSocket(all.map { ($0.0, $0.1.text) }))
            all.append(("signature", .string(sig)))
        }
        var text = "{\"id\":\(Self.jsonEscape(id)),\"method\":\(Self.jsonEscape(method))"
        if !all.isEmpty {
            text += ",\"params\":{"
            text += all.map { k, v in
                switch v {
                case .string(let s): "\(Self.jsonEscape(k)):\(Self.jsonEscape(s))"
                case .int(let i): "\(Self.jsonEscape(k)):\(i)"
                }
            }.joined(separator: ",")
            text += "}"
        }
        return text + "}"
    }

    /// The write found the connection closed: nothing of it reached the venue.
    static func closedBeforeWrite(_ error: any Error) -> Bool {
        guard let e = error as? ChannelError else { return false }
        switch e {
        case .ioOnClosedChannel, .alreadyClosed, .outputClosed: return true
        default: return false
        }
    }

    /// Sends one request and waits for its response. Errors: `.notSent` when no
    /// connection, `.unknown` on timeout or disconnect, `.rejected` / `.rateLimited` on error statuses.
    public func request(_ method: String, _ params: [(String, ParamValue)], auth: Auth, weight: Int = 1, orders: Int = 0,
                        requireReady: Bool = true, timeout: Duration? = nil, timestamp: Int64? = nil,
                        written: (@Sendable () -> Void)? = nil) async throws(BinanceError) -> WSAPIEnvelope {
        do {
            try await limiter.acquire(weight: weight, orders: orders, maxWait: orders > 0 ? .milliseconds(500) : .seconds(5))
        } catch let e as BinanceRateLimiter.Exhausted {
            throw .notSent(e.description)
        } catch {
            throw .notSent("cancelled")
        }
        let (writer, id): (WebSocketOutboundWriter?, String) = state.withLock { s in
            s.nextID &+= 1
            return ((!requireReady || s.ready) ? s.writer : nil, "r\(s.generation)-\(s.nextID)")
        }
        guard let writer else { throw .notSent("ws-api session not ready") }
        limiter.recordSent(weight: weight, api: "ws-api", endpoint: method)
        let text = try requestText(id: id, method: method, params: params, auth: auth, timestamp: timestamp)
        let timeout = timeout ?? config.requestTimeout
        let env: WSAPIEnvelope
        do {
            env = try await withCheckedThrowingContinuation { (cont: CheckedContinuation<WSAPIEnvelope, Error>) in
                state.withLock { $0.pending[id] = cont }
                Task {
                    do {
                        try await writer.write(.text(text))
                        written?()
                    } catch {
                        if let c = self.state.withLock({ $0.pending.removeValue(forKey: id) }) {
                            // A channel already closed took no byte of it: not sent, and the caller may use REST at
                            // once (a fault-suite run had 48 orders wait out recvWindow after a WebSocket drop).
                            // Any other write failure may have left part of it on the wire: unknown.
                            c.resume(throwing: Self.closedBeforeWrite(error)
                                     ? BinanceError.notSent("ws-api session not ready (the connection closed before the write)")
                                     : BinanceError.unknown("ws-api write failed: \(error)"))
                        }
                        return
                    }
                    try? await Task.sleep(for: timeout)
                    if let c = self.state.withLock({ $0.pending.removeValue(forKey: id) }) {
                        c.resume(throwing: BinanceError.unknown("ws-api \(method) timed out after \(timeout)"))
                    }
                }
            }
        } catch let e as BinanceError {
            throw e
        } catch {
            throw .unknown("\(error)")
        }
        if env.status == 429 || env.status == 418 {
            limiter.onRejected(status: env.status, retryAfterSeconds: nil)
            throw .rateLimited(status: env.status, retryAfterSeconds: nil, code: env.error?.code, msg: env.error?.msg)
        }
        if let e = env.error {
            if env.status >= 500 { throw .unknown("ws-api \(method): \(env.status) \(e.code) \(e.msg)") }
            throw .rejected(status: env.status, code: e.code, msg: e.msg)
        }
        if env.status >= 400 { throw .unknown("ws-api \(method): status \(env.status)") }
        return env
    }

    // MARK: session

    /// Authenticates the connection (`session.logon`, Ed25519 keys only) — requests then need no signature.
    public func logon() async throws(BinanceError) {
        _ = try await request("session.logon", [], auth: .signed, weight: 2, requireReady: false)
        state.withLock { $0.loggedOn = true }
    }

    /// Subscribes to the user data stream: `userDataStream.subscribe` after a logon,
    /// `userDataStream.subscribe.signature` otherwise (HMAC keys).
    @discardableResult
    public func subscribeUserData() async throws(BinanceError) -> Int {
        let env: WSAPIEnvelope
        if isLoggedOn {
            env = try await request("userDataStream.subscribe", [], auth: .none, weight: 2, requireReady: false)
        } else {
            env = try await request("userDataStream.subscribe.signature", [], auth: .signed, weight: 2, requireReady: false)
        }
        struct Sub: Decodable { var subscriptionId: Int? }
        return env.resultJSON.flatMap { try? JSONDecoder().decode(Sub.self, from: $0) }?.subscriptionId ?? 0
    }

    /// Decodes a response's `result`.
    public static func result<T: Decodable>(_ type: T.Type, _ env: WSAPIEnvelope) throws(BinanceError) -> T {
        guard let data = env.resultJSON else { throw .unknown("ws-api response without result") }
        do { return try JSONDecoder().decode(T.self, from: data) } catch { throw .unknown("undecodable \(T.self): \(error)") }
    }
}
