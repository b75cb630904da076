import Foundation
import CNATS
import Logging
import Synchronization

/// Connection settings; `OMSConfig.natsConnectionOptions` builds them from config.
public struct NATSConnectionOptions: Sendable {
    public var url: String
    public var name: String
    public var connectTimeout: Duration = .seconds(2)
    /// Reconnect backoff: base wait, doubled per attempt up to `reconnectWaitMax`, with jitter.
    public var reconnectWait: Duration = .milliseconds(250)
    public var reconnectWaitMax: Duration = .seconds(5)
    /// -1 reconnects forever.
    public var maxReconnect: Int = -1
    /// Write each publish immediately instead of waiting for nats.c's flusher
    /// thread (~1 ms). Latency-critical publishers want this.
    public var sendAsap: Bool = true
    /// Keep retrying the first connect in the background instead of failing.
    public var retryOnFailedConnect: Bool = false
    /// Bytes buffered while disconnected (published on reconnect).
    public var reconnectBufferBytes: Int = 8 * 1024 * 1024

    public init(url: String, name: String) {
        self.url = url
        self.name = name
    }
}

/// Connection-level events from nats.c's callback threads.
public enum NATSConnectionEvent: Sendable, Equatable {
    case disconnected
    case reconnected
    case closed
}

/// Context handed to nats.c callbacks through their closure pointer.
final class ConnectionCallbacks: @unchecked Sendable {
    let logger: Logger
    let name: String
    let reconnectWaitMs: Int64
    let reconnectWaitMaxMs: Int64
    /// Set when we close on purpose, so the disconnect that follows is not a warning.
    let closing = Atomic<Bool>(false)
    let state = Mutex<(disconnects: Int, reconnects: Int, listeners: [UInt64: @Sendable (NATSConnectionEvent) -> Void], nextID: UInt64)>(
        (0, 0, [:], 0))

    init(logger: Logger, name: String, reconnectWaitMs: Int64, reconnectWaitMaxMs: Int64) {
        self.logger = logger
        self.name = name
        self.reconnectWaitMs = reconnectWaitMs
        self.reconnectWaitMaxMs = reconnectWaitMaxMs
    }

    func emit(_ event: NATSConnectionEvent) {
        let listeners = state.withLock { s -> [@Sendable (NATSConnectionEvent) -> Void] in
            switch event {
            case .disconnected: s.disconnects += 1
            case .reconnected: s.reconnects += 1
            case .closed: break
            }
            return Array(s.listeners.values)
        }
        for l in listeners { l(event) }
    }
}

// nats.c calls these on its own threads. They are plain non-isolated C
// functions that capture nothing; context comes through the closure pointer.
private let onDisconnected: natsConnectionHandler = { _, closure in
    guard let closure else { return }
    let cb = Unmanaged<ConnectionCallbacks>.fromOpaque(closure).takeUnretainedValue()
    if !cb.closing.load(ordering: .acquiring) {
        cb.logger.warning("nats disconnected", metadata: ["connection": "\(cb.name)"])
    }
    cb.emit(.disconnected)
}
private let onReconnected: natsConnectionHandler = { nc, closure in
    guard let closure else { return }
    let cb = Unmanaged<ConnectionCallbacks>.fromOpaque(closure).takeUnretainedValue()
    var url = [CChar](repeating: 0, count: 256)
    _ = natsConnection_GetConnectedUrl(nc, &url, url.count)
    let urlString = url.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    cb.logger.notice("nats reconnected", metadata: ["connection": "\(cb.name)", "url": "\(urlString)"])
    cb.emit(.reconnected)
}
/// The closed callback is the last one nats.c makes for a connection, so the
/// callback context is released here, never in `deinit` (a disconnect callback
/// may still be queued on nats.c's thread when the connection object goes).
private let onClosed: natsConnectionHandler = { _, closure in
    guard let closure else { return }
    let ref = Unmanaged<ConnectionCallbacks>.fromOpaque(closure)
    ref.takeUnretainedValue().emit(.closed)
    ref.release()
}
/// Exponential backoff with jitter: base * 2^(attempt-1), capped, +-20%.
private let reconnectDelay: natsCustomReconnectDelayHandler = { _, attempts, closure in
    guard let closure else { return 250 }
    let cb = Unmanaged<ConnectionCallbacks>.fromOpaque(closure).takeUnretainedValue()
    let exponent = min(max(Int64(attempts) - 1, 0), 16)
    let raw = min(cb.reconnectWaitMs << exponent, cb.reconnectWaitMaxMs)
    let jitter = raw / 5
    return raw - jitter + (jitter > 0 ? Int64.random(in: 0...(2 * jitter)) : 0)
}
private let onSubscriptionComplete: natsOnCompleteCB = { closure in
    guard let closure else { return }
    Unmanaged<SubscriptionBox>.fromOpaque(closure).release()
}
private let onMessage: natsMsgHandler = { _, _, msg, closure in
    guard let msg else { return }
    defer { natsMsg_Destroy(msg) }
    guard let closure else { return }
    let box = Unmanaged<SubscriptionBox>.fromOpaque(closure).takeUnretainedValue()
    box.deliver(NATSMessage(copying: msg))
}

/// A connection to NATS over nats.c. Thread-safe: nats.c locks internally.
public final class NATSConnection: @unchecked Sendable {
    let nc: OpaquePointer
    public let options: NATSConnectionOptions
    public let logger: Logger
    private let callbacks: ConnectionCallbacks
    private let callbacksRef: Unmanaged<ConnectionCallbacks>
    private let worker: BlockingWorker
    private let closed = Atomic<Bool>(false)

    /// Connects (blocking up to `connectTimeout` per server attempt).
    public static func connect(_ options: NATSConnectionOptions, logger: Logger) throws -> NATSConnection {
        try NATSConnection(options: options, logger: logger)
    }

    private init(options: NATSConnectionOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        callbacks = ConnectionCallbacks(
            logger: logger, name: options.name,
            reconnectWaitMs: Int64(options.reconnectWait.milliseconds),
            reconnectWaitMaxMs: Int64(options.reconnectWaitMax.milliseconds))
        callbacksRef = Unmanaged.passRetained(callbacks)
        var opts: OpaquePointer?
        try check(natsOptions_Create(&opts), "create options")
        defer { natsOptions_Destroy(opts) }
        let ctx = callbacksRef.toOpaque()
        do {
            try check(natsOptions_SetURL(opts, options.url), "set url")
            try check(natsOptions_SetName(opts, options.name), "set name")
            try check(natsOptions_SetTimeout(opts, Int64(options.connectTimeout.milliseconds)), "set timeout")
            try check(natsOptions_SetMaxReconnect(opts, Int32(options.maxReconnect)), "set max reconnect")
            try check(natsOptions_SetCustomReconnectDelay(opts, reconnectDelay, ctx), "set reconnect delay")
            try check(natsOptions_SetReconnectBufSize(opts, Int32(options.reconnectBufferBytes)), "set reconnect buffer")
            try check(natsOptions_SetSendAsap(opts, options.sendAsap), "set send asap")
            try check(natsOptions_SetDisconnectedCB(opts, onDisconnected, ctx), "set disconnected cb")
            try check(natsOptions_SetReconnectedCB(opts, onReconnected, ctx), "set reconnected cb")
            try check(natsOptions_SetClosedCB(opts, onClosed, ctx), "set closed cb")
            if options.retryOnFailedConnect {
                try check(natsOptions_SetRetryOnFailedConnect(opts, true, nil, nil), "set retry on failed connect")
            }
            var conn: OpaquePointer?
            let status = natsConnection_Connect(&conn, opts)
            // With retryOnFailedConnect, NATS_NOT_YET_CONNECTED means "connecting in background".
            if status != NATS_OK && !(options.retryOnFailedConnect && status == NATS_NOT_YET_CONNECTED) {
                throw NATSError(status: status, operation: "connect to \(redactedURL(options.url))")
            }
            guard let conn else { throw NATSError(status: NATS_ERR, operation: "connect") }
            nc = conn
        } catch {
            callbacksRef.release()
            throw error
        }
        worker = BlockingWorker(name: "nats-\(options.name)")
    }

    deinit {
        close()
        natsConnection_Destroy(nc)
        worker.shutdown()
        // callbacksRef is released by the closed callback.
    }

    public var isConnected: Bool { natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED }
    public var isClosed: Bool { natsConnection_IsClosed(nc) }
    public var reconnectCount: Int { callbacks.state.withLock { $0.reconnects } }
    public var disconnectCount: Int { callbacks.state.withLock { $0.disconnects } }

    /// Registers a listener for connection events; returns a token for `removeListener`.
    @discardableResult
    public func onEvent(_ listener: @escaping @Sendable (NATSConnectionEvent) -> Void) -> UInt64 {
        callbacks.state.withLock { s in
            s.nextID += 1
            s.listeners[s.nextID] = listener
            return s.nextID
        }
    }

    /// Core NATS publish (fire and forget; buffered while reconnecting).
    public func publish(_ subject: String, payload: some ContiguousBytes, headers: MessageHeaders = [:], reply: String? = nil) throws {
        let result: Result<Void, any Error> = payload.withUnsafeBytes { buf in
            if headers.isEmpty && reply == nil {
                let s = natsConnection_Publish(nc, subject, buf.baseAddress, Int32(buf.count))
                return s == NATS_OK ? .success(()) : .failure(NATSError(status: s, operation: "publish \(subject)"))
            }
            do {
                let msg = try makeNatsMsg(subject: subject, reply: reply, headers: headers, payload: buf)
                defer { natsMsg_Destroy(msg) }
                let s = natsConnection_PublishMsg(nc, msg)
                return s == NATS_OK ? .success(()) : .failure(NATSError(status: s, operation: "publish \(subject)"))
            } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Blocking request/reply on the calling thread. Use from benchmarks and
    /// dedicated threads; async code uses `request(_:payload:headers:timeout:)`.
    public func requestBlocking(_ subject: String, payload: some ContiguousBytes, headers: MessageHeaders = [:], timeout: Duration) throws -> NATSMessage {
        let result: Result<NATSMessage, any Error> = payload.withUnsafeBytes { buf in
            do {
                let msg = try makeNatsMsg(subject: subject, reply: nil, headers: headers, payload: buf)
                defer { natsMsg_Destroy(msg) }
                var reply: OpaquePointer?
                let s = natsConnection_RequestMsg(&reply, nc, msg, Int64(timeout.milliseconds))
                guard s == NATS_OK, let reply else { return .failure(NATSError(status: s, operation: "request \(subject)")) }
                defer { natsMsg_Destroy(reply) }
                return .success(NATSMessage(copying: reply))
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    public func request(_ subject: String, payload: [UInt8], headers: MessageHeaders = [:], timeout: Duration) async throws -> NATSMessage {
        try await worker.run { [self] in try self.requestBlocking(subject, payload: payload, headers: headers, timeout: timeout) }
    }

    /// Subscribes on core NATS; messages are delivered to `handler` on a nats.c thread.
    /// The handler must not block.
    public func subscribe(_ subject: String, queue: String? = nil, handler: @escaping @Sendable (NATSMessage) -> Void) throws -> NATSSubscription {
        let box = SubscriptionBox(handler: handler)
        let ref = Unmanaged.passRetained(box)
        var sub: OpaquePointer?
        let status: natsStatus
        if let queue {
            status = natsConnection_QueueSubscribe(&sub, nc, subject, queue, onMessage, ref.toOpaque())
        } else {
            status = natsConnection_Subscribe(&sub, nc, subject, onMessage, ref.toOpaque())
        }
        guard status == NATS_OK, let sub else {
            ref.release()
            throw NATSError(status: status, operation: "subscribe \(subject)")
        }
        // The box is released only when nats.c says no callback can run any more.
        _ = natsSubscription_SetOnCompleteCB(sub, onSubscriptionComplete, ref.toOpaque())
        return NATSSubscription(sub: sub, connection: self)
    }

    /// Subscribes and exposes the messages as an `AsyncStream` (bounded buffer, newest dropped when full).
    public func messages(_ subject: String, queue: String? = nil, bufferSize: Int = 65_536) throws -> (NATSSubscription, AsyncStream<NATSMessage>) {
        let (stream, continuation) = AsyncStream.makeStream(of: NATSMessage.self, bufferingPolicy: .bufferingOldest(bufferSize))
        let sub = try subscribe(subject, queue: queue) { continuation.yield($0) }
        sub.onUnsubscribe = { continuation.finish() }
        return (sub, stream)
    }

    public func flush(timeout: Duration = .seconds(2)) throws {
        try check(natsConnection_FlushTimeout(nc, Int64(timeout.milliseconds)), "flush")
    }

    /// Round trip to the server (PING/PONG): proves the connection is alive.
    public func ping(timeout: Duration = .seconds(1)) async throws {
        try await worker.run { [self] in try self.flush(timeout: timeout) }
    }

    public func jetStream(publishTimeout: Duration = .seconds(5)) throws -> JetStream {
        try JetStream(connection: self, publishTimeout: publishTimeout)
    }

    /// Drains subscriptions and pending publishes, then closes.
    public func drainAndClose(timeout: Duration = .seconds(1)) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        callbacks.closing.store(true, ordering: .releasing)
        if natsConnection_DrainTimeout(nc, Int64(timeout.milliseconds)) == NATS_OK {
            let deadline = ContinuousClock.now + timeout
            while !natsConnection_IsClosed(nc) && ContinuousClock.now < deadline {
                usleep(5_000)
            }
        }
        natsConnection_Close(nc)
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        callbacks.closing.store(true, ordering: .releasing)
        natsConnection_Close(nc)
    }

    public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await worker.run(body)
    }
}

final class SubscriptionBox: @unchecked Sendable {
    let handler: @Sendable (NATSMessage) -> Void
    init(handler: @escaping @Sendable (NATSMessage) -> Void) { self.handler = handler }
    func deliver(_ message: NATSMessage) { handler(message) }
}

/// A core NATS subscription; unsubscribes when closed or deinitialised.
public final class NATSSubscription: @unchecked Sendable {
    private let sub: OpaquePointer
    private let connection: NATSConnection
    private let done = Atomic<Bool>(false)
    var onUnsubscribe: (@Sendable () -> Void)?

    init(sub: OpaquePointer, connection: NATSConnection) {
        self.sub = sub
        self.connection = connection
    }

    public func unsubscribe() {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = natsSubscription_Unsubscribe(sub)
        onUnsubscribe?()
    }

    deinit {
        unsubscribe()
        natsSubscription_Destroy(sub)
    }
}

extension Duration {
    /// Whole milliseconds (rounded down), for nats.c's millisecond APIs.
    public var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
    public var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

/// Strips credentials from a URL before it reaches a log or an error.
public func redactedURL(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://"), let at = url.range(of: "@", range: schemeEnd.upperBound..<url.endIndex) else { return url }
    return String(url[..<schemeEnd.upperBound]) + "***@" + String(url[at.upperBound...])
}
