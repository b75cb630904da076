import Foundation
import CNATS
import Logging
import Synchronization

/// How a stream stores and keeps its messages. Durability is a setting:
/// `storage: .file` with the server's `sync_interval` decides what an ack means.
public struct StreamSpec: Sendable, Equatable {
    public enum Storage: String, Sendable { case file, memory }
    public var name: String
    public var subjects: [String]
    public var storage: Storage = .file
    public var replicas: Int = 1
    public var maxAge: Duration = .seconds(30 * 86_400)
    /// Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate.
    public var duplicateWindow: Duration = .seconds(120)
    public var maxMsgsPerSubject: Int64 = -1
    public var maxBytes: Int64 = -1

    public init(name: String, subjects: [String]) {
        self.name = name
        self.subjects = subjects
    }
}

public struct PubAck: Sendable, Equatable {
    public var stream: String
    public var sequence: UInt64
    /// True when the server recognised the `Nats-Msg-Id` and stored nothing new.
    public var duplicate: Bool
}

public struct StreamState: Sendable, Equatable {
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var consumers: Int64
}

/// Where a new durable consumer starts.
public enum DeliverFrom: Sendable, Equatable {
    case all
    case new
    case last
    case sequence(UInt64)
    /// The first message stored at or after this wall-clock time (ns since the epoch).
    case startTime(Int64)
}

public struct ConsumerSpec: Sendable {
    public var durable: String
    public var filterSubject: String?
    public var deliverFrom: DeliverFrom = .all
    /// Unacknowledged messages are redelivered after this long.
    public var ackWait: Duration = .seconds(30)
    /// -1: unlimited.
    public var maxDeliver: Int = -1
    public var maxAckPending: Int = 10_000
    /// Keep the stream's order across a crash: messages delivered to a previous
    /// incarnation but never acked would otherwise come back only after
    /// `ackWait`, behind newer ones (a cancel overtaking its order). With this
    /// set, an existing durable is recreated to deliver from its ack floor + 1;
    /// whatever was already handled above the floor comes again and must be
    /// idempotent (Nats-Msg-Id on every output). One consumer per durable.
    public var resumeInOrder = false
    /// Recreate the durable on every bind to deliver from this sequence: for a
    /// consumer whose own durable checkpoint says where to go on (the
    /// archiver's files, the archiver's and oms-server's state snapshots).
    /// Messages a crashed incarnation fetched but never
    /// acked then come first, in stream order, instead of after `ackWait`
    /// behind newer ones, where a high-water-mark checkpoint would take them
    /// for duplicates.
    public var restartAt: UInt64?
    /// The server deletes the consumer after this long without pulls or acks
    /// (nil: never). Per-process consumers set it so a crash cannot leak them.
    public var inactiveThreshold: Duration?
    /// Ack policy "all": acking message N acks every earlier one, so a consumer
    /// that handles a fetched batch in order acks only its last message (one
    /// publish per batch instead of per message: replaying a long stream is
    /// several times faster). Only for consumers that handle messages in order.
    public var ackAll = false

    public init(durable: String, filterSubject: String? = nil) {
        self.durable = durable
        self.filterSubject = filterSubject
    }
}

/// Async-publish acks arrive on nats.c's thread; this table maps each
/// in-flight message back to the task waiting for it.
final class PendingAcks: @unchecked Sendable {
    let table = Mutex<[UInt: CheckedContinuation<PubAck, Error>]>([:])

    func resolve(_ msg: OpaquePointer, _ result: Result<PubAck, NATSError>) {
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(msg)))
        guard let cont = table.withLock({ $0.removeValue(forKey: key) }) else { return }
        cont.resume(with: result.mapError { $0 as Error })
    }
}

private let onPubAck: jsPubAckHandler = { _, msg, pa, pae, closure in
    guard let msg else { return }
    defer { natsMsg_Destroy(msg) }
    guard let closure else { return }
    let pending = Unmanaged<PendingAcks>.fromOpaque(closure).takeUnretainedValue()
    if let pa {
        let ack = PubAck(stream: pa.pointee.Stream.map { String(cString: $0) } ?? "",
                         sequence: pa.pointee.Sequence, duplicate: pa.pointee.Duplicate)
        pending.resolve(msg, .success(ack))
    } else if let pae {
        var err = NATSError(status: pae.pointee.Err, operation: "jetstream publish", jsErr: pae.pointee.ErrCode)
        if let text = pae.pointee.ErrText { err.detail = String(cString: text) }
        pending.resolve(msg, .failure(err))
    }
}

/// JetStream on one connection: stream provisioning, publishing with acks and
/// de-duplication, durable pull consumers.
public final class JetStream: @unchecked Sendable {
    let js: OpaquePointer
    public let connection: NATSConnection
    let publishTimeout: Duration
    private let pending = PendingAcks()
    private let pendingRef: Unmanaged<PendingAcks>

    init(connection: NATSConnection, publishTimeout: Duration) throws {
        self.connection = connection
        self.publishTimeout = publishTimeout
        pendingRef = Unmanaged.passRetained(pending)
        var opts = jsOptions()
        jsOptions_Init(&opts)
        opts.Wait = publishTimeout.milliseconds
        opts.PublishAsync.MaxPending = 65_536
        opts.PublishAsync.AckHandler = onPubAck
        opts.PublishAsync.AckHandlerClosure = pendingRef.toOpaque()
        var ctx: OpaquePointer?
        let s = natsConnection_JetStream(&ctx, connection.nc, &opts)
        guard s == NATS_OK, let ctx else {
            pendingRef.release()
            throw NATSError(status: s, operation: "create jetstream context")
        }
        js = ctx
    }

    deinit {
        jsCtx_Destroy(js)
        // pendingRef is deliberately not released: an ack callback may still be
        // queued on nats.c's thread after the context goes, and a few bytes per
        // context (one or two per process) are cheaper than a use-after-free.
    }

    // MARK: streams

    /// Creates the stream, or updates it to `spec` when it exists (idempotent).
    @discardableResult
    public func ensureStream(_ spec: StreamSpec) throws -> StreamState {
        try withStreamConfig(spec) { cfg throws in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var jerr = jsErrCode(0)
            var s = js_AddStream(&info, js, &cfg, nil, &jerr)
            if s != NATS_OK && jerr == JSStreamNameExistErr {
                jerr = jsErrCode(0)
                s = js_UpdateStream(&info, js, &cfg, nil, &jerr)
            }
            try check(s, "ensure stream \(spec.name)", jsErr: jerr)
            defer { jsStreamInfo_Destroy(info) }
            return StreamState(info!.pointee.State)
        }
    }

    public func streamState(_ name: String) throws -> StreamState {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        try check(js_GetStreamInfo(&info, js, name, nil, &jerr), "stream info \(name)", jsErr: jerr)
        defer { jsStreamInfo_Destroy(info) }
        return StreamState(info!.pointee.State)
    }

    /// The last message stored on `subject` in `stream`, nil when there is none (one request to the server).
    public func lastMessage(stream: String, subject: String) async throws -> NATSMessage? {
        try await connection.runBlocking { [self] in
            var msg: OpaquePointer?
            var jerr = jsErrCode(0)
            let s = js_GetLastMsg(&msg, self.js, stream, subject, nil, &jerr)
            if s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr { return nil }
            try check(s, "last message \(stream)/\(subject)", jsErr: jerr)
            defer { natsMsg_Destroy(msg) }
            return NATSMessage(copying: msg!)
        }
    }

    public func deleteStream(_ name: String) throws {
        var jerr = jsErrCode(0)
        try check(js_DeleteStream(js, name, nil, &jerr), "delete stream \(name)", jsErr: jerr)
    }

    /// The ack floor (stream sequence) of an existing durable; nil when there is none.
    /// Messages matching the consumer's filter not yet delivered to it (nil: no such consumer).
    public func consumerPending(stream: String, durable: String) -> UInt64? {
        consumerInfo(stream: stream, durable: durable) { $0.NumPending }
    }

    func ackFloor(stream: String, durable: String) -> UInt64? {
        consumerInfo(stream: stream, durable: durable) { $0.AckFloor.Stream }
    }

    /// One field of the consumer's info (nil: no such consumer, or JetStream did not answer).
    private func consumerInfo<T>(stream: String, durable: String, _ read: (jsConsumerInfo) -> T) -> T? {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jerr = jsErrCode(0)
        guard js_GetConsumerInfo(&info, js, stream, durable, nil, &jerr) == NATS_OK, let info else { return nil }
        defer { jsConsumerInfo_Destroy(info) }
        return read(info.pointee)
    }

    public func deleteConsumer(stream: String, durable: String) throws {
        var jerr = jsErrCode(0)
        try check(js_DeleteConsumer(js, stream, durable, nil, &jerr), "delete consumer \(durable)", jsErr: jerr)
    }

    private func withStreamConfig<T>(_ spec: StreamSpec, _ body: (inout jsStreamConfig) throws -> T) throws -> T {
        var cfg = jsStreamConfig()
        jsStreamConfig_Init(&cfg)
        let name = strdup(spec.name)
        let subjects = spec.subjects.map { UnsafePointer(strdup($0)) }
        defer {
            free(name)
            subjects.forEach { free(UnsafeMutableRawPointer(mutating: $0)) }
        }
        var subjectArray = subjects
        return try subjectArray.withUnsafeMutableBufferPointer { buf throws in
            cfg.Name = UnsafePointer(name)
            cfg.Subjects = buf.baseAddress
            cfg.SubjectsLen = Int32(buf.count)
            cfg.Storage = spec.storage == .file ? js_FileStorage : js_MemoryStorage
            cfg.Replicas = Int64(spec.replicas)
            cfg.MaxAge = spec.maxAge.nanoseconds
            cfg.Duplicates = spec.duplicateWindow.nanoseconds
            cfg.MaxMsgsPerSubject = spec.maxMsgsPerSubject
            cfg.MaxBytes = spec.maxBytes
            cfg.Retention = js_LimitsPolicy
            cfg.Discard = js_DiscardOld
            return try body(&cfg)
        }
    }

    // MARK: publish

    /// Publishes and waits for the stream's ack without blocking a thread.
    /// `msgID` becomes `Nats-Msg-Id`: a republish within the duplicate window
    /// is acknowledged with `duplicate == true` and stored once.
    public func publish(_ subject: String, payload: some ContiguousBytes, headers: MessageHeaders = [:], msgID: String? = nil) async throws -> PubAck {
        var headers = headers
        if let msgID { headers[OMSHeader.msgID] = msgID }
        let msg: OpaquePointer = try payload.withUnsafeBytes { buf throws in
            try makeNatsMsg(subject: subject, reply: nil, headers: headers, payload: buf)
        }
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(msg)))
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<PubAck, Error>) in
            pending.table.withLock { $0[key] = cont }
            var po = jsPubOptions()
            jsPubOptions_Init(&po)
            po.MaxWait = publishTimeout.milliseconds  // the ack handler fires with a timeout error
            var owned: OpaquePointer? = msg
            let s = js_PublishMsgAsync(js, &owned, &po)
            if s != NATS_OK {
                // Not handed over: the library will never call back for it.
                if let owned { natsMsg_Destroy(owned) }
                if let c = pending.table.withLock({ $0.removeValue(forKey: key) }) {
                    c.resume(throwing: NATSError(status: s, operation: "jetstream publish \(subject)"))
                }
            }
        }
    }

    /// Blocking publish on the calling thread (benchmarks, dedicated threads).
    public func publishBlocking(_ subject: String, payload: some ContiguousBytes, headers: MessageHeaders = [:], msgID: String? = nil) throws -> PubAck {
        var headers = headers
        if let msgID { headers[OMSHeader.msgID] = msgID }
        let msg: OpaquePointer = try payload.withUnsafeBytes { buf throws in
            try makeNatsMsg(subject: subject, reply: nil, headers: headers, payload: buf)
        }
        defer { natsMsg_Destroy(msg) }
        var pa: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        var po = jsPubOptions()
        jsPubOptions_Init(&po)
        po.MaxWait = publishTimeout.milliseconds
        try check(js_PublishMsg(&pa, js, msg, &po, &jerr), "jetstream publish \(subject)", jsErr: jerr)
        defer { jsPubAck_Destroy(pa) }
        return PubAck(stream: String(cString: pa!.pointee.Stream), sequence: pa!.pointee.Sequence, duplicate: pa!.pointee.Duplicate)
    }

    /// Waits until every async publish issued so far has been acknowledged (or failed).
    public func waitForPendingAcks(timeout: Duration) async throws {
        try await connection.runBlocking { [self] in
            var po = jsPubOptions()
            jsPubOptions_Init(&po)
            po.MaxWait = timeout.milliseconds
            try check(js_PublishAsyncComplete(self.js, &po), "wait for publish acks")
        }
    }

    // MARK: consume

    /// `pullConsumer`, retried with backoff (200 ms doubling to 5 s) while JetStream cannot answer — a
    /// nats-server restart or a slow JetStream during a service's start must delay it, not kill it.
    /// Throws only when the task is cancelled.
    public func pullConsumerWhenAvailable(stream: String, _ spec: ConsumerSpec) async throws -> PullConsumer {
        var wait = Duration.milliseconds(200)
        while true {
            do {
                return try await connection.runBlocking { [self] in try self.pullConsumer(stream: stream, spec) }
            } catch {
                try Task.checkCancellation()
                connection.logger.warning("cannot create consumer yet; retrying", metadata: [
                    "stream": "\(stream)", "durable": "\(spec.durable)", "error": "\(error)", "retry_in": "\(wait)"])
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(5))
            }
        }
    }

    /// Binds to (creating if needed) a durable pull consumer with explicit acks (or ack-all, see `ConsumerSpec.ackAll`).
    public func pullConsumer(stream: String, _ spec: ConsumerSpec) throws -> PullConsumer {
        var spec = spec
        if let start = spec.restartAt {
            try? deleteConsumer(stream: stream, durable: spec.durable)  // absent: nothing to delete
            spec.deliverFrom = .sequence(max(1, start))
        } else if spec.resumeInOrder, let floor = ackFloor(stream: stream, durable: spec.durable) {
            // Always recreated (not only with messages outstanding): a durable from a
            // previous resume has a start sequence that a plain bind would conflict with.
            try? deleteConsumer(stream: stream, durable: spec.durable)
            if floor > 0 { spec.deliverFrom = .sequence(floor + 1) }
        }
        var so = jsSubOptions()
        jsSubOptions_Init(&so)
        let streamC = strdup(stream), durableC = strdup(spec.durable)
        defer { free(streamC); free(durableC) }
        so.Stream = UnsafePointer(streamC)
        so.Config.Durable = UnsafePointer(durableC)
        so.Config.AckPolicy = spec.ackAll ? js_AckAll : js_AckExplicit
        so.Config.AckWait = spec.ackWait.nanoseconds
        so.Config.MaxDeliver = Int64(spec.maxDeliver)
        so.Config.MaxAckPending = Int64(spec.maxAckPending)
        switch spec.deliverFrom {
        case .all: so.Config.DeliverPolicy = js_DeliverAll
        case .new: so.Config.DeliverPolicy = js_DeliverNew
        case .last: so.Config.DeliverPolicy = js_DeliverLast
        case .sequence(let seq):
            so.Config.DeliverPolicy = js_DeliverByStartSequence
            so.Config.OptStartSeq = seq
        case .startTime(let ns):
            so.Config.DeliverPolicy = js_DeliverByStartTime
            so.Config.OptStartTime = ns
        }
        if let t = spec.inactiveThreshold { so.Config.InactiveThreshold = t.nanoseconds }
        var sub: OpaquePointer?
        var jerr = jsErrCode(0)
        // With a nil filter, nats.c needs the stream's subject; ">" within a bound stream means all.
        let subject = spec.filterSubject ?? ">"
        try check(js_PullSubscribe(&sub, js, subject, spec.durable, nil, &so, &jerr),
                  "pull subscribe \(stream)/\(spec.durable)", jsErr: jerr)
        return PullConsumer(sub: sub!, stream: stream, durable: spec.durable, connection: connection)
    }
}

extension StreamState {
    init(_ s: jsStreamState) {
        self.init(messages: s.Msgs, bytes: s.Bytes, firstSequence: s.FirstSeq, lastSequence: s.LastSeq, consumers: s.Consumers)
    }
}
