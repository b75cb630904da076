import Foundation
import CNATS
import Synchronization

/// JetStream delivery metadata of a consumed message.
public struct DeliveryInfo: Sendable, Equatable {
    public var streamSequence: UInt64
    public var consumerSequence: UInt64
    /// 1 on first delivery; > 1 means a redelivery.
    public var numDelivered: UInt64
    public var numPending: UInt64
    public var timestampNs: Int64

    /// A previous process of the consumer may already have handled this message: it was delivered
    /// before, or stored before this process started (a `resumeInOrder` consumer is re-created at
    /// start, so its delivery counts begin again at 1 and `numDelivered` alone cannot tell).
    public func mayHaveBeenHandled(processStartedNs: Int64) -> Bool {
        Self.mayHaveBeenHandled(numDelivered: numDelivered, storedNs: timestampNs, processStartedNs: processStartedNs)
    }

    public static func mayHaveBeenHandled(numDelivered: UInt64, storedNs: Int64, processStartedNs: Int64) -> Bool {
        numDelivered > 1 || storedNs < processStartedNs
    }
}

/// A message fetched from a pull consumer. It keeps the underlying `natsMsg`
/// alive until it is acknowledged (or dropped), because acks reply through it.
public final class JetStreamMessage: @unchecked Sendable {
    private let msg: OpaquePointer
    public let message: NATSMessage
    public let delivery: DeliveryInfo
    private let acked = Atomic<Bool>(false)
    /// Keeps the subscription alive while this message can still be acked:
    /// nats.c acks through the message's subscription, and a message acked
    /// after its consumer was released crashed (use after free) in a test.
    private let consumer: PullConsumer?

    init(msg: OpaquePointer, consumer: PullConsumer? = nil) {
        self.msg = msg
        self.consumer = consumer
        message = NATSMessage(copying: msg)
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&meta, msg) == NATS_OK, let m = meta?.pointee {
            delivery = DeliveryInfo(streamSequence: m.Sequence.Stream, consumerSequence: m.Sequence.Consumer,
                                    numDelivered: m.NumDelivered, numPending: m.NumPending, timestampNs: m.Timestamp)
            jsMsgMetaData_Destroy(meta)
        } else {
            delivery = DeliveryInfo(streamSequence: 0, consumerSequence: 0, numDelivered: 0, numPending: 0, timestampNs: 0)
        }
    }

    deinit { natsMsg_Destroy(msg) }

    public var subject: String { message.subject }
    public var headers: MessageHeaders { message.headers }
    public var payload: [UInt8] { message.payload }

    /// Positive ack (fire and forget; if lost, the message is redelivered after AckWait).
    public func ack() throws {
        guard !acked.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try check(natsMsg_Ack(msg, nil), "ack")
    }

    /// Positive ack confirmed by the server (blocking; use from a worker or for exactly-once steps).
    public func ackSyncBlocking() throws {
        guard !acked.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var jerr = jsErrCode(0)
        try check(natsMsg_AckSync(msg, nil, &jerr), "ack sync", jsErr: jerr)
    }

    /// Negative ack: redeliver, after `delay` if given.
    public func nak(delay: Duration? = nil) throws {
        guard !acked.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let delay {
            try check(natsMsg_NakWithDelay(msg, delay.milliseconds, nil), "nak")
        } else {
            try check(natsMsg_Nak(msg, nil), "nak")
        }
    }

    /// Never redeliver (poison message).
    public func term() throws {
        guard !acked.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try check(natsMsg_Term(msg, nil), "term")
    }

    /// Still working on it: resets the AckWait timer.
    public func inProgress() throws {
        try check(natsMsg_InProgress(msg, nil), "in progress")
    }
}

/// A durable pull consumer. Fetches run on a dedicated thread; `messages()`
/// exposes the stream as an `AsyncSequence` with natural back-pressure (the
/// next batch is fetched only when the previous one was consumed).
public final class PullConsumer: @unchecked Sendable {
    private let sub: OpaquePointer
    public let stream: String
    public let durable: String
    private let worker: BlockingWorker
    private let connection: NATSConnection
    private let closed = Atomic<Bool>(false)

    init(sub: OpaquePointer, stream: String, durable: String, connection: NATSConnection) {
        self.sub = sub
        self.stream = stream
        self.durable = durable
        self.connection = connection
        worker = BlockingWorker(name: "js-\(stream)-\(durable)")
    }

    deinit {
        // Leave the durable consumer on the server: that is the point of durability.
        worker.submit { [sub] in natsSubscription_Destroy(sub) }
        worker.shutdown()
    }

    /// Fetches up to `batch` messages, waiting at most `timeout`; an empty
    /// array means nothing arrived in time.
    public func fetch(batch: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        try await worker.run { [self] in try self.fetchBlocking(batch: batch, timeout: timeout) }
    }

    public func fetchBlocking(batch: Int, timeout: Duration) throws -> [JetStreamMessage] {
        if closed.load(ordering: .acquiring) { return [] }
        // nats.c before 3.8.1 (Debian ships 3.4.1) writes past Fetch's result array when more than
        // half of `batch` is already queued in the subscription at entry (nats-io/nats.c PR #749):
        // seen as "malloc(): invalid size" / "corrupted top size" aborts of oms-server and oms-core
        // replaying 1M messages. Queued messages (late arrivals of an earlier request) are taken one
        // per call — batch 1 cannot overflow — and a full batch is asked only of an empty queue.
        var batch = batch
        var queued: Int32 = 0
        if batch > 1, natsSubscription_GetPending(sub, &queued, nil) == NATS_OK, queued > 0 { batch = 1 }
        var list = natsMsgList()
        var jerr = jsErrCode(0)
        let s = natsSubscription_Fetch(&list, sub, Int32(batch), max(timeout.milliseconds, 1), &jerr)
        if s == NATS_TIMEOUT { return [] }
        try check(s, "fetch \(stream)/\(durable)", jsErr: jerr)
        var out: [JetStreamMessage] = []
        out.reserveCapacity(Int(list.Count))
        for i in 0..<Int(list.Count) {
            if let m = list.Msgs[i] {
                out.append(JetStreamMessage(msg: m, consumer: self))
                list.Msgs[i] = nil  // ownership moved; natsMsgList_Destroy must not free it
            }
        }
        natsMsgList_Destroy(&list)
        return out
    }

    /// Stops further fetches; the durable consumer stays on the server.
    public func close() {
        closed.store(true, ordering: .releasing)
    }

    /// Messages as an async sequence. Transient errors (no responders while
    /// the server restarts, disconnects) are retried with a short backoff;
    /// iteration ends when the task is cancelled or the consumer is closed.
    public func messages(batch: Int = 256, pollTimeout: Duration = .milliseconds(500)) -> Messages {
        Messages(consumer: self, batch: batch, pollTimeout: pollTimeout)
    }

    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = JetStreamMessage
        let consumer: PullConsumer
        let batch: Int
        let pollTimeout: Duration

        public func makeAsyncIterator() -> Iterator {
            Iterator(consumer: consumer, batch: batch, pollTimeout: pollTimeout)
        }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: PullConsumer
            let batch: Int
            let pollTimeout: Duration
            var buffer: [JetStreamMessage] = []
            var index = 0

            public mutating func next() async throws -> JetStreamMessage? {
                var failures = 0
                while index >= buffer.count {
                    if Task.isCancelled || consumer.closed.load(ordering: .acquiring) { return nil }
                    do {
                        buffer = try await consumer.fetch(batch: batch, timeout: pollTimeout)
                        index = 0
                        failures = 0
                    } catch let error as NATSError where !error.isFatalForConsumer {
                        failures += 1
                        consumer.connection.logger.debug("fetch retry", metadata: [
                            "stream": "\(consumer.stream)", "durable": "\(consumer.durable)", "error": "\(error)"])
                        try? await Task.sleep(for: .milliseconds(Swift.min(50 * failures, 1000)))
                    }
                }
                defer { index += 1 }
                return buffer[index]
            }
        }
    }
}

extension NATSError {
    /// Errors after which fetching can never succeed again.
    var isFatalForConsumer: Bool {
        status == Int32(NATS_CONNECTION_CLOSED.rawValue) || status == Int32(NATS_INVALID_SUBSCRIPTION.rawValue)
    }
}
