import Foundation
import Logging
import Metrics
import OMSCore
import Synchronization

/// The archiver's behaviour inside the common service host: four consumers
/// (TRADES → trade logs and POSITIONS' funding payments → funding logs, each
/// exactly once; ORDERS and POSITIONS → the state that
/// hourly snapshots hold), the monthly P&L report kept current, and retention.
public struct ArchiverService: Sendable {
    public init() {}

    public func run(_ rt: OMSRuntime) async throws {
        let dataDir = rt.config.storage.dataDir
        let archive = try TradeArchive(dataDir: dataDir)
        let funding = try FundingArchive(dataDir: dataDir)
        let shared = Shared(state: ArchiveState.latest(dataDir: dataDir)?.state ?? ArchiveState())
        rt.logger.info("archiver recovered", metadata: [
            "data_dir": "\(dataDir)", "trades_checkpoint": "\(archive.checkpoint.lastSequence)",
            "funding_checkpoint": "\(funding.checkpoint.lastSequence)",
            "snapshot_sequences": "\(shared.state.withLock { $0.sequences })"])
        let archiveBox = UncheckedBox(archive)
        let fundingBox = UncheckedBox(funding)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.archiveTrades(rt, archiveBox, shared) }
            group.addTask { try await self.archiveFunding(rt, fundingBox, shared) }
            group.addTask { try await self.followState(rt, stream: "ORDERS", durable: "archiver-orders", shared) }
            group.addTask { try await self.followState(rt, stream: "POSITIONS", durable: "archiver-positions", shared) }
            group.addTask { await self.housekeeping(rt, shared) }
            try await group.next()
            group.cancelAll()
        }
    }

    private func archiveTrades(_ rt: OMSRuntime, _ box: UncheckedBox<TradeArchive>, _ shared: Shared) async throws {
        try await archive(rt, stream: "TRADES", durable: "archiver-trades", health: "trades-archive", box, shared,
                          lines: Counter(label: "archiver_trade_lines_total")) { m in
            guard let fill = try? Oms_V1_Fill(serializedBytes: m.payload) else { return nil }
            return [TradeRecord(fill: fill, streamSequence: m.delivery.streamSequence)]
        } select: { $0 } onCommitted: { seq, _ in
            shared.state.withLock { $0.noteTrade(sequence: seq) }
        }
    }

    /// Funding payments ride on POSITIONS (AccountUpdate.funding); this durable
    /// consumer is separate from the snapshot follower so the funding log keeps
    /// its own exactly-once checkpoint. Updates without funding only advance it.
    private func archiveFunding(_ rt: OMSRuntime, _ box: UncheckedBox<FundingArchive>, _ shared: Shared) async throws {
        var archived = FundingRecord.archivedTransactionKeys(dataDir: box.value.dataDir)
        try await archive(rt, stream: "POSITIONS", durable: "archiver-funding", health: "funding-archive", box, shared,
                          lines: Counter(label: "archiver_funding_lines_total")) { m in
            guard let u = try? Oms_V1_AccountUpdate(serializedBytes: m.payload) else { return nil }
            return FundingRecord.records(of: u, streamSequence: m.delivery.streamSequence)
        } select: { records in
            // A venue transaction already archived (or twice in this batch) is not written again.
            var batch: Set<String> = []
            return records.filter { r in
                guard let k = r.transactionKey else { return true }
                return !archived.contains(k) && batch.insert(k).inserted
            }
        } onCommitted: { _, written in
            for r in written { if let k = r.transactionKey { archived.insert(k) } }
        }
    }

    /// The exactly-once loop: fetch a batch → append the lines not yet on disk
    /// (fsync) → checkpoint → ack. The checkpoint is a high-water mark, so the
    /// stream must arrive in order: the consumer is (re)created to deliver from
    /// checkpoint + 1 at start and after disk trouble (a redelivery that came
    /// after newer messages would be skipped as already written; a kill -9 with
    /// a fetched, unwritten batch lost a fill that way). On disk trouble
    /// nothing is acked.
    private func archive<R: ArchiveRecord>(_ rt: OMSRuntime, stream: String, durable: String, health: String,
                                           _ box: UncheckedBox<StreamArchive<R>>, _ shared: Shared, lines: Counter,
                                           decode: (JetStreamMessage) -> [R]?, select: ([R]) -> [R],
                                           onCommitted: (UInt64, [R]) -> Void) async throws {
        let skipped = Counter(label: "archiver_duplicates_skipped_total")
        while !Task.isCancelled {
            var spec = ConsumerSpec(durable: durable)
            spec.ackWait = .seconds(30)
            spec.restartAt = box.value.checkpoint.lastSequence + 1
            let consumer = try await rt.jetStream.pullConsumerWhenAvailable(stream: stream, spec)
            rt.health.set(health, ok: true, detail: "checkpoint \(box.value.checkpoint.lastSequence)")
            try await archiveBatches(rt, stream: stream, health: health, consumer, box, shared, lines: lines, skipped: skipped,
                                     decode: decode, select: select, onCommitted: onCommitted)
            try await Task.sleep(for: .seconds(1))  // disk trouble: retry from the checkpoint
        }
    }

    /// Returns after a batch could not be written (none of it acked).
    private func archiveBatches<R: ArchiveRecord>(_ rt: OMSRuntime, stream: String, health: String, _ consumer: PullConsumer,
                                                  _ box: UncheckedBox<StreamArchive<R>>, _ shared: Shared, lines: Counter,
                                                  skipped: Counter,
                                                  decode: (JetStreamMessage) -> [R]?, select: ([R]) -> [R],
                                                  onCommitted: (UInt64, [R]) -> Void) async throws {
        while !Task.isCancelled {
            let batch: [JetStreamMessage]
            do {
                batch = try await consumer.fetch(batch: 512, timeout: .milliseconds(500))
            } catch {
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            guard !batch.isEmpty else { continue }
            var records: [R] = []
            var maxSeq: UInt64 = 0
            for m in batch {
                maxSeq = max(maxSeq, m.delivery.streamSequence)
                guard let decoded = decode(m) else {
                    rt.logger.error("undecodable message; terminated", metadata: ["stream": "\(stream)", "subject": "\(m.subject)",
                                                                                  "seq": "\(m.delivery.streamSequence)"])
                    try? m.term()
                    continue
                }
                records.append(contentsOf: decoded)
            }
            let selected = select(records)
            do {
                let written = try box.value.append(selected)
                try box.value.commit(upTo: maxSeq)
                lines.increment(by: written)
                skipped.increment(by: records.count - written)
                if written > 0 { shared.reportDirty.store(true, ordering: .relaxed) }
                onCommitted(maxSeq, selected)
                for m in batch { try? m.ack() }
                rt.health.set(health, ok: true, detail: "checkpoint \(maxSeq)")
            } catch {
                rt.health.set(health, ok: false, detail: "\(error)")
                rt.logger.error("writing archive log failed", metadata: ["stream": "\(stream)", "error": "\(error)"])
                return
            }
        }
    }

    /// Orders and positions rebuild from the last snapshot: the consumer is
    /// re-created to start right after the sequence the snapshot reflects.
    private func followState(_ rt: OMSRuntime, stream: String, durable: String, _ shared: Shared) async throws {
        let from = (shared.state.withLock { $0.sequences[stream] } ?? 0) + 1
        var spec = ConsumerSpec(durable: durable)
        spec.restartAt = from
        let consumer = try await rt.jetStream.pullConsumerWhenAvailable(stream: stream, spec)
        for try await m in consumer.messages(batch: 512) {
            let seq = m.delivery.streamSequence
            if stream == "ORDERS", let ev = try? Oms_V1_OrderEvent(serializedBytes: m.payload) {
                shared.state.withLock { $0.apply(ev, sequence: seq) }
            } else if stream == "POSITIONS", let u = try? Oms_V1_AccountUpdate(serializedBytes: m.payload) {
                shared.state.withLock { $0.apply(u, sequence: seq) }
            }
            try? m.ack()
        }
    }

    private func housekeeping(_ rt: OMSRuntime, _ shared: Shared) async {
        let dataDir = rt.config.storage.dataDir
        let interval = rt.config.storage.snapshotInterval
        // The first snapshot ~10 s after the start (once the replay has caught up), then every
        // interval: a fresh deployment shows its state file within seconds, not after an hour.
        var lastSnapshot = ContinuousClock.now - interval + .seconds(10)
        var lastRetention = ContinuousClock.now - .seconds(3600)
        defer {
            // On shutdown: a final snapshot and report, so a restart starts from here.
            try? shared.state.withLock { $0 }.writeSnapshot(dataDir: dataDir, nowNs: wallClockNanos())
            if shared.reportDirty.load(ordering: .relaxed) { writeReport(rt) }
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = ContinuousClock.now
            if now - lastSnapshot >= interval {
                lastSnapshot = now
                do {
                    let path = try shared.state.withLock { $0 }.writeSnapshot(dataDir: dataDir, nowNs: wallClockNanos())
                    rt.logger.info("snapshot written", metadata: ["path": "\(path)"])
                } catch {
                    rt.logger.error("snapshot failed", metadata: ["error": "\(error)"])
                }
            }
            if shared.reportDirty.exchange(false, ordering: .relaxed) { writeReport(rt) }
            if now - lastRetention >= .seconds(3600) {
                lastRetention = now
                let removed = Retention.apply(dataDir: dataDir, retentionDays: rt.config.storage.retentionDays, nowNs: wallClockNanos())
                if !removed.isEmpty { rt.logger.notice("retention removed old files", metadata: ["paths": "\(removed)"]) }
            }
        }
    }

    private func writeReport(_ rt: OMSRuntime) {
        let today = UTCDay(nanos: wallClockNanos())
        do {
            try PnLCalculator.writeMonthlyReport(dataDir: rt.config.storage.dataDir, year: today.year, month: today.month)
        } catch {
            rt.logger.error("P&L report failed", metadata: ["error": "\(error)"])
        }
    }
}

/// State shared by the archiver's tasks.
final class Shared: Sendable {
    let state: Mutex<ArchiveState>
    let reportDirty = Atomic<Bool>(true)
    init(state: ArchiveState) { self.state = Mutex(state) }
}

/// Each archive is used by one task only; the box lets it cross into that task.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
