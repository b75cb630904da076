import Foundation
import OMSCore

/// Writes fills into `logs/YYYY/MM/DD/trades.jsonl` exactly once across
/// crashes. Each line carries its TRADES stream sequence. The protocol for a
/// batch: append lines → fsync → write the checkpoint (atomic rename) → ack
/// the messages. After `kill -9` at any point, the checkpoint plus a scan of
/// the lines written after it tell exactly which sequences are already on
/// disk, so redelivered messages are skipped instead of written twice, and
/// torn last lines are cut off when a file is reopened.
public final class TradeArchive {
    public struct Checkpoint: Codable, Equatable {
        public var lastSequence: UInt64
        public var writtenAtNs: Int64
        enum CodingKeys: String, CodingKey { case lastSequence = "last_sequence", writtenAtNs = "written_at_ns" }
    }

    public let dataDir: String
    private var logs: [UTCDay: AppendOnlyLog] = [:]
    private(set) public var checkpoint: Checkpoint
    /// Sequences on disk above the checkpoint (found by the startup scan or written since).
    private var writtenAboveCheckpoint: Set<UInt64> = []
    private var checkpointPath: String { "\(dataDir)/archiver/trades.checkpoint.json" }

    public init(dataDir: String) throws {
        self.dataDir = dataDir
        if let data = FileManager.default.contents(atPath: "\(dataDir)/archiver/trades.checkpoint.json"),
           let cp = try? JSONDecoder().decode(Checkpoint.self, from: data) {
            checkpoint = cp
        } else {
            checkpoint = Checkpoint(lastSequence: 0, writtenAtNs: 0)
        }
        try recover()
    }

    public func path(for day: UTCDay) -> String { "\(dataDir)/logs/\(day.path)/trades.jsonl" }

    /// Repairs torn tails and finds lines written after the checkpoint
    /// (a crash between fsync and checkpoint) in files touched since then.
    private func recover() throws {
        let logsDir = "\(dataDir)/logs"
        guard let enumerator = FileManager.default.enumerator(atPath: logsDir) else { return }
        let since = Double(checkpoint.writtenAtNs) / 1e9 - 5  // clock slack
        for case let rel as String in enumerator where rel.hasSuffix("trades.jsonl") {
            let full = "\(logsDir)/\(rel)"
            let attrs = try? FileManager.default.attributesOfItem(atPath: full)
            let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? .infinity
            guard mtime >= since || checkpoint.writtenAtNs == 0 else { continue }
            _ = try AppendOnlyLog(path: full)  // cuts a torn tail
            for line in AppendOnlyLog.readLines(full) {
                if let seq = Self.sequence(of: line), seq > checkpoint.lastSequence { writtenAboveCheckpoint.insert(seq) }
            }
        }
    }

    static func sequence(of line: Substring) -> UInt64? {
        guard let r = line.range(of: "\"stream_seq\":") else { return nil }
        let digits = line[r.upperBound...].prefix { $0.isASCIIDigit }
        return UInt64(digits)
    }

    /// True when this stream sequence is already in the archive.
    public func contains(sequence: UInt64) -> Bool {
        sequence <= checkpoint.lastSequence || writtenAboveCheckpoint.contains(sequence)
    }

    /// Appends the records not yet archived; returns how many were written.
    /// Durable once `commit(upTo:)` returns.
    @discardableResult
    public func append(_ records: [TradeRecord]) throws -> Int {
        var touched: Set<UTCDay> = []
        var written = 0
        for r in records where !contains(sequence: r.streamSeq) {
            let day = r.day
            let log = try logs[day] ?? AppendOnlyLog(path: path(for: day))
            logs[day] = log
            try log.append(try r.jsonLine())
            writtenAboveCheckpoint.insert(r.streamSeq)
            touched.insert(day)
            written += 1
        }
        for day in touched { try logs[day]?.sync() }
        // Keep only today's and yesterday's files open.
        if logs.count > 4 { for day in logs.keys.sorted().dropLast(2) { logs[day] = nil } }
        return written
    }

    /// Records that everything up to `sequence` is on disk.
    public func commit(upTo sequence: UInt64) throws {
        guard sequence > checkpoint.lastSequence else { return }
        let cp = Checkpoint(lastSequence: sequence, writtenAtNs: wallClockNanos())
        try DurableFile.writeAtomically(try JSONEncoder().encode(cp), to: checkpointPath)
        checkpoint = cp
        writtenAboveCheckpoint = writtenAboveCheckpoint.filter { $0 > sequence }
    }

    /// Every record of a month, from the logs (for `archiver report`).
    public static func records(dataDir: String, year: Int, month: Int) -> [TradeRecord] {
        let dir = String(format: "%@/logs/%04d/%02d", dataDir, year, month)
        guard let days = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        let decoder = JSONDecoder()
        var out: [TradeRecord] = []
        for d in days.sorted() {
            for line in AppendOnlyLog.readLines("\(dir)/\(d)/trades.jsonl") {
                if let r = try? decoder.decode(TradeRecord.self, from: Data(line.utf8)) { out.append(r) }
            }
        }
        return out.sorted { ($0.venueTimeNs, $0.streamSeq) < ($1.venueTimeNs, $1.streamSeq) }
    }
}
