import Foundation
import Logging
import OMSCore

/// Feeds the projection from JetStream: restores the last projection snapshot
/// (if any), replays each stream's tail after the sequence the snapshot
/// reflects (from the stream's start without one), then follows it live, and
/// writes a new snapshot every `snapshotInterval` while things change.
/// Consumers are per instance ("oms-server-<instance>-<stream>", recreated at
/// start) with an inactive threshold: after a crash (no graceful `cleanup()`)
/// the server deletes them once nobody has pulled for `inactiveThreshold`, so
/// a kill -9 leaks nothing.
public struct ProjectionFeeder: Sendable {
    public let jetStream: JetStream
    public let projection: OrderProjection
    public let instruments: InstrumentRegistry
    public let instanceID: String
    public let logger: Logger
    public let health: HealthState?
    /// How long the server keeps this instance's consumers once it stops pulling (it pulls every 250 ms while alive).
    public var inactiveThreshold: Duration = .seconds(30)
    /// Where the projection snapshot lives (nil: no snapshots) and how often it is rewritten.
    public var snapshotPath: String?
    public var snapshotInterval: Duration = .seconds(5)
    /// Per stream, the last sequence applied to the projection (what a snapshot reflects).
    let applied = AppliedSequences()

    public init(jetStream: JetStream, projection: OrderProjection, instruments: InstrumentRegistry, instanceID: String, logger: Logger, health: HealthState?) {
        self.jetStream = jetStream; self.projection = projection; self.instruments = instruments
        self.instanceID = instanceID; self.logger = logger; self.health = health
    }

    static let feeds: [(stream: String, filter: String?)] = [
        ("COMMANDS", "cmd.risk.>"), ("ORDERS", nil), ("TRADES", nil), ("DECISIONS", nil), ("POSITIONS", nil), ("MARKETDATA", "md.instruments.>"),
    ]

    public func durableName(_ stream: String) -> String { "oms-server-\(instanceID)-\(stream.lowercased())" }

    /// Runs until cancelled. `caughtUp` is called once every stream has been replayed.
    public func run(caughtUp: @escaping @Sendable () -> Void = {}) async throws {
        let pending = Synchronization.Mutex(Set(Self.feeds.map(\.stream)))
        let done: @Sendable (String) -> Void = { stream in
            let empty = pending.withLock { p -> Bool in
                guard p.remove(stream) != nil else { return false }
                return p.isEmpty
            }
            if empty {
                health?.set("projection", ok: true, detail: "\(projection.count) orders cached")
                logger.info("projection rebuilt", metadata: ["orders": "\(projection.count)", "messages": "\(applied.messagesApplied)"])
                // Snapshot at once after a long replay, so the next start replays only what comes after it.
                if snapshotPath != nil && snapshotInterval > .zero && applied.messagesApplied > 10_000 {
                    Task { writeSnapshot() }
                }
                caughtUp()
            }
        }
        health?.set("projection", ok: false, detail: "replaying streams")
        let start = restoreSnapshot()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for feed in Self.feeds {
                group.addTask { try await follow(stream: feed.stream, filter: feed.filter, after: start[feed.stream] ?? 0, done: done) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    projection.expire(nowNs: wallClockNanos())
                }
            }
            if snapshotPath != nil && snapshotInterval > .zero {
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: snapshotInterval)
                        if applied.value != applied.written { writeSnapshot() }
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Restores the projection from the snapshot when it fits the streams;
    /// returns the sequence each stream's replay starts after (empty: from the start).
    func restoreSnapshot() -> [String: UInt64] {
        guard let path = snapshotPath else { return [:] }
        let t0 = ContinuousClock.now
        let snap: ProjectionSnapshot
        do {
            guard let s = try ProjectionSnapshot.load(from: path) else { return [:] }
            snap = s
        } catch {
            logger.warning("projection snapshot unreadable; replaying the streams from their start", metadata: ["path": "\(path)", "error": "\(error)"])
            return [:]
        }
        for feed in Self.feeds {
            let seq = snap.sequences[feed.stream] ?? 0
            // Ahead of the stream: the stream was re-created, the snapshot describes another history.
            if seq > 0, let state = try? jetStream.streamState(feed.stream), seq > state.lastSequence {
                logger.warning("projection snapshot is ahead of a stream; replaying the streams from their start",
                               metadata: ["stream": "\(feed.stream)", "snapshot_seq": "\(seq)", "stream_last_seq": "\(state.lastSequence)"])
                return [:]
            }
        }
        projection.restore(snap)
        for i in snap.instruments { instruments.put(i) }
        applied.set(snap.sequences)
        logger.info("projection snapshot restored", metadata: ["orders": "\(snap.orderCount)", "ms": "\((ContinuousClock.now - t0).milliseconds)",
                                                            "sequences": "\(snap.sequences.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"])
        return snap.sequences
    }

    /// Writes the projection with the sequences it reflects (read before the copy: see ProjectionSnapshot).
    @discardableResult
    public func writeSnapshot() -> Bool {
        guard let path = snapshotPath else { return false }
        let seqs = applied.value
        do {
            try projection.snapshot(sequences: seqs, instruments: instruments.all()).write(to: path)
            applied.written = seqs
            return true
        } catch {
            logger.warning("projection snapshot not written", metadata: ["path": "\(path)", "error": "\(error)"])
            return false
        }
    }

    /// Deletes this instance's consumers (graceful shutdown).
    public func cleanup() {
        for f in Self.feeds { try? jetStream.deleteConsumer(stream: f.stream, durable: durableName(f.stream)) }
    }

    func follow(stream: String, filter: String?, after: UInt64, done: @escaping @Sendable (String) -> Void) async throws {
        let durable = durableName(stream)
        var consumer: PullConsumer?
        var wait = Duration.milliseconds(200)
        while consumer == nil {
            do {
                let state = try jetStream.streamState(stream)
                var spec = ConsumerSpec(durable: durable, filterSubject: filter)
                spec.restartAt = after + 1  // the snapshot's sequence + 1 (1: the whole stream)
                spec.maxAckPending = 50_000
                spec.inactiveThreshold = inactiveThreshold
                spec.ackAll = true  // applied in order: one ack per batch
                consumer = try jetStream.pullConsumer(stream: stream, spec)
                if state.messages == 0 || state.lastSequence <= after
                    || jetStream.consumerPending(stream: stream, durable: durable) == 0 { done(stream) }
            } catch {
                logger.warning("cannot follow stream yet; retrying", metadata: ["stream": "\(stream)", "error": "\(error)"])
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(5))
            }
        }
        while !Task.isCancelled {
            let batch: [JetStreamMessage]
            do {
                batch = try await consumer!.fetch(batch: 2048, timeout: .milliseconds(250))
            } catch {
                if Task.isCancelled { break }
                logger.debug("fetch failed; retrying", metadata: ["stream": "\(stream)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            if batch.isEmpty { done(stream); continue }
            for msg in batch { apply(msg) }
            try? batch.last?.ack()
            if let seq = batch.last?.delivery.streamSequence { applied.advance(stream, to: seq, messages: batch.count) }
            if batch.last?.delivery.numPending == 0 { done(stream) }
        }
    }

    func apply(_ msg: JetStreamMessage) {
        let type = msg.headers[OMSHeader.type] ?? ""
        let now = wallClockNanos()
        let seq = msg.delivery.streamSequence
        let subject = msg.subject
        do {
            if type == Oms_V1_OrderEvent.protoMessageName || (type.isEmpty && subject.hasPrefix("orders.")) {
                projection.apply(event: try Oms_V1_OrderEvent(serializedBytes: msg.payload), sequence: seq, nowNs: now)
            } else if type == Oms_V1_Fill.protoMessageName || (type.isEmpty && subject.hasPrefix("trades.")) {
                projection.apply(fill: try Oms_V1_Fill(serializedBytes: msg.payload), sequence: seq)
            } else if type == Oms_V1_OrderCommand.protoMessageName || (type.isEmpty && subject.hasPrefix("cmd.risk.")) {
                let c = try Oms_V1_OrderCommand(serializedBytes: msg.payload)
                if case .newOrder(let o) = c.command {
                    projection.apply(command: c, fingerprint: OMSService.fingerprint(o), sequence: seq, nowNs: now)
                }
            } else if type == Oms_V1_RiskDecision.protoMessageName || (type.isEmpty && subject.hasPrefix("risk.")) {
                projection.apply(risk: try Oms_V1_RiskDecision(serializedBytes: msg.payload))
            } else if type == Oms_V1_RoutingDecision.protoMessageName || (type.isEmpty && subject.hasPrefix("routing.")) {
                projection.apply(routing: try Oms_V1_RoutingDecision(serializedBytes: msg.payload), nowNs: now)
            } else if type == Oms_V1_AccountUpdate.protoMessageName || (type.isEmpty && subject.hasPrefix("positions.")) {
                projection.apply(account: try Oms_V1_AccountUpdate(serializedBytes: msg.payload))
            } else if type == Oms_V1_InstrumentList.protoMessageName || (type.isEmpty && subject.hasPrefix("md.instruments.")) {
                instruments.apply(try Oms_V1_InstrumentList(serializedBytes: msg.payload))
            }
        } catch {
            logger.warning("undecodable message skipped", metadata: ["subject": "\(subject)", "seq": "\(seq)", "error": "\(error)"])
        }
    }
}

import Synchronization

/// Per stream, the last sequence applied to the projection and the sequences
/// the last snapshot on disk reflects; and how many messages this process
/// applied (a restart from a snapshot applies only the tail).
final class AppliedSequences: Sendable {
    private let table = Mutex<(sequences: [String: UInt64], written: [String: UInt64], applied: Int)>(([:], [:], 0))
    var value: [String: UInt64] { table.withLock { $0.sequences } }
    var written: [String: UInt64] {
        get { table.withLock { $0.written } }
        set { table.withLock { $0.written = newValue } }
    }
    var messagesApplied: Int { table.withLock { $0.applied } }
    /// After a restore: applied and on disk are the snapshot's.
    func set(_ v: [String: UInt64]) { table.withLock { $0.sequences = v; $0.written = v } }
    func advance(_ stream: String, to seq: UInt64, messages: Int) {
        table.withLock {
            $0.sequences[stream] = max($0.sequences[stream] ?? 0, seq)
            $0.applied += messages
        }
    }
}
