import Foundation
import OMSCore

/// A line of an exactly-once archive: identified by its stream sequence and,
/// when one message yields several lines, its index within that message.
public protocol ArchiveRecord: Codable, Sendable {
    /// `logs/YYYY/MM/DD/<fileName>`.
    static var fileName: String { get }
    /// `archiver/<checkpointName>.checkpoint.json`.
    static var checkpointName: String { get }
    var streamSeq: UInt64 { get }
    /// Position within its message (0 for one line per message).
    var lineIndex: Int { get }
    /// The time that decides the day file and the order of the month.
    var timeNs: Int64 { get }
    func jsonLine() throws -> Data
}

extension ArchiveRecord {
    /// The line as written: sorted keys, no spaces, one line.
    public func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}

extension ArchiveRecord {
    public var day: UTCDay { UTCDay(nanos: timeNs) }
}

/// Fills into `logs/YYYY/MM/DD/trades.jsonl` (TRADES stream).
public typealias TradeArchive = StreamArchive<TradeRecord>
/// Funding payments into `logs/YYYY/MM/DD/funding.jsonl` (POSITIONS stream).
public typealias FundingArchive = StreamArchive<FundingRecord>

/// Writes records into `logs/YYYY/MM/DD/<file>.jsonl` exactly once across
/// crashes. Each line carries its stream sequence (and index in its message). The protocol for a
/// batch: append lines → fsync → write the checkpoint (atomic rename) → ack
/// the messages. After `kill -9` at any point, the checkpoint plus a scan of
/// the lines written after it tell exactly which sequences are already on
/// disk, so redelivered messages are skipped instead of written twice, and
/// torn last lines are cut off when a file is reopened. A message's lines are
/// written with one append, and identity is (sequence, index), so a message
/// whose last line was torn off gets only that line rewritten on redelivery.
public final class StreamArchive<R: ArchiveRecord> {
    public struct Checkpoint: Codable, Equatable {
        public var lastSequence: UInt64
        public var writtenAtNs: Int64
        enum CodingKeys: String, CodingKey { case lastSequence = "last_sequence", writtenAtNs = "written_at_ns" }
    }

    public let dataDir: String
    private var logs: [UTCDay: AppendOnlyLog] = [:]
    private(set) public var checkpoint: Checkpoint
    struct LineID: Hashable { var seq: UInt64; var index: Int }
    /// Lines on disk above the checkpoint (found by the startup scan or written since).
    private var writtenAboveCheckpoint: Set<LineID> = []
    private var checkpointPath: String { "\(dataDir)/archiver/\(R.checkpointName).checkpoint.json" }

    public init(dataDir: String) throws {
        self.dataDir = dataDir
        if let data = FileManager.default.contents(atPath: "\(dataDir)/archiver/\(R.checkpointName).checkpoint.json"),
           let cp = try? JSONDecoder().decode(Checkpoint.self, from: data) {
            checkpoint = cp
        } else {
            checkpoint = Checkpoint(lastSequence: 0, writtenAtNs: 0)
        }
        try recover()
    }

    public func path(for day: UTCDay) -> String { "\(dataDir)/logs/\(day.path)/\(R.fileName)" }

    /// Repairs torn tails and finds lines written after the checkpoint
    /// (a crash between fsync and checkpoint) in files touched since then.
    private func recover() throws {
        let logsDir = "\(dataDir)/logs"
        guard let enumerator = FileManager.default.enumerator(atPath: logsDir) else { return }
        let since = Double(checkpoint.writtenAtNs) / 1e9 - 5  // clock slack
        for case let rel as String in enumerator where rel.hasSuffix("/" + R.fileName) {
            let full = "\(logsDir)/\(rel)"
            let attrs = try? FileManager.default.attributesOfItem(atPath: full)
            let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? .infinity
            guard mtime >= since || checkpoint.writtenAtNs == 0 else { continue }
            _ = try AppendOnlyLog(path: full)  // cuts a torn tail
            for line in AppendOnlyLog.readLines(full) {
                if let seq = Self.sequence(of: line), seq > checkpoint.lastSequence {
                    writtenAboveCheckpoint.insert(LineID(seq: seq, index: Self.number(after: "\"line_index\":", in: line).map(Int.init) ?? 0))
                }
            }
        }
    }

    static func sequence(of line: Substring) -> UInt64? { number(after: "\"stream_seq\":", in: line) }

    static func number(after key: String, in line: Substring) -> UInt64? {
        guard let r = line.range(of: key) else { return nil }
        let digits = line[r.upperBound...].prefix { $0.isASCIIDigit }
        return UInt64(digits)
    }

    /// True when this line (stream sequence, index in its message) is already in the archive.
    public func contains(sequence: UInt64, index: Int = 0) -> Bool {
        sequence <= checkpoint.lastSequence || writtenAboveCheckpoint.contains(LineID(seq: sequence, index: index))
    }

    /// Appends the records not yet archived; returns how many were written.
    /// Durable once `commit(upTo:)` returns.
    @discardableResult
    public func append(_ records: [R]) throws -> Int {
        // One write per day file per batch; a crash mid-write leaves whole lines (the torn one is cut on
        // reopen), and since identity is per line, redelivery rewrites exactly the lines that are missing.
        var pending: [UTCDay: Data] = [:]
        var order: [UTCDay] = []
        var ids: Set<LineID> = []
        for r in records where !contains(sequence: r.streamSeq, index: r.lineIndex) {
            let id = LineID(seq: r.streamSeq, index: r.lineIndex)
            guard !ids.contains(id) else { continue }
            if pending[r.day] == nil { order.append(r.day) }
            pending[r.day, default: Data()].append(try r.jsonLine())
            ids.insert(id)
        }
        for day in order {
            let log = try logs[day] ?? AppendOnlyLog(path: path(for: day))
            logs[day] = log
            try log.append(pending[day]!)
        }
        for day in order { try logs[day]?.sync() }
        writtenAboveCheckpoint.formUnion(ids)
        let written = ids.count
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
        writtenAboveCheckpoint = writtenAboveCheckpoint.filter { $0.seq > sequence }
    }

    /// Every record of a month, from the logs (for `archiver report`).
    public static func records(dataDir: String, year: Int, month: Int) -> [R] {
        let dir = String(format: "%@/logs/%04d/%02d", dataDir, year, month)
        guard let days = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        let decoder = JSONDecoder()
        var out: [R] = []
        for d in days.sorted() {
            for line in AppendOnlyLog.readLines("\(dir)/\(d)/\(R.fileName)") {
                if let r = try? decoder.decode(R.self, from: Data(line.utf8)) { out.append(r) }
            }
        }
        return out.sorted { ($0.timeNs, $0.streamSeq, $0.lineIndex) < ($1.timeNs, $1.streamSeq, $1.lineIndex) }
    }
}
