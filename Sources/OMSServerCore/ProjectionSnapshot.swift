import Foundation
import OMSCore

/// oms-server's order projection on disk, so a restart is "snapshot + replay of
/// the stream tail" instead of a replay of every stream from its first message.
///
/// It holds the projection's state and, per stream, the last sequence whose
/// effects the state includes. The sequences are read *before* the state is
/// copied, so the state may already include a few messages after them; the
/// tail replay applies those again, which is harmless because every projection
/// apply is idempotent (events by event id, fills by trade id, commands by
/// order id). A snapshot whose sequences are ahead of a stream (the stream was
/// deleted and re-created) is ignored: the projection is then rebuilt from the
/// streams alone.
///
/// Format: the magic line, then records `tag (1 byte) · length (varint) ·
/// payload`, closed by an END record carrying the record count. A file without
/// its END record (torn) is rejected as a whole. Payloads are the protobuf
/// contracts' own bytes, so the snapshot follows the proto's evolution rules.
public struct ProjectionSnapshot: Sendable {
    public var sequences: [String: UInt64] = [:]
    var state = OrderProjection.State()
    public var instruments: [Oms_V1_Instrument] = []

    public var orderCount: Int { state.orders.count }

    static let magic = Array("OMSPROJ1\n".utf8)

    enum Tag: UInt8 {
        case sequence = 1, order = 2, event = 3, fill = 4, risk = 5, routing = 6, meta = 7
        case position = 8, balance = 9, earlyFill = 10, instrument = 11, end = 255
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    // MARK: encode

    public func encoded() throws -> Data {
        var w = Writer()
        w.out.append(contentsOf: Self.magic)
        for (stream, seq) in sequences.sorted(by: { $0.key < $1.key }) {
            var p = Writer()
            p.string(stream)
            p.varint(seq)
            w.record(.sequence, p.out)
        }
        for (_, r) in state.orders {
            // A reservation not yet seen on COMMANDS (its publish may still fail and be released):
            // if it was published, the tail replay brings it back; if not, it must not come back.
            if r.lastSequence == 0 && r.events.isEmpty && r.fills.isEmpty && r.riskDecision == nil { continue }
            w.record(.order, try r.order.serializedBytes())
            for e in r.events { w.record(.event, try e.serializedBytes()) }
            for f in r.fills { w.record(.fill, try f.serializedBytes()) }
            if let d = r.riskDecision { w.record(.risk, try d.serializedBytes()) }
            if let d = r.routingDecision { w.record(.routing, try d.serializedBytes()) }
            var m = Writer()
            m.string(r.fingerprint)
            m.varint(UInt64(bitPattern: r.terminalAtNs))
            m.varint(r.lastSequence)
            m.varint(UInt64(r.childIDs.count))
            for c in r.childIDs { m.string(c) }
            w.record(.meta, m.out)
        }
        for (_, p) in state.positions { w.record(.position, try p.serializedBytes()) }
        for (_, b) in state.balances { w.record(.balance, try b.serializedBytes()) }
        for id in state.earlyFillOrder {
            for f in state.earlyFills[id] ?? [] { w.record(.earlyFill, try f.serializedBytes()) }
        }
        for i in instruments { w.record(.instrument, try i.serializedBytes()) }
        var end = Writer()
        end.varint(UInt64(w.records))
        w.record(.end, end.out)
        return Data(w.out)
    }

    // MARK: decode

    public static func decode(_ data: Data) throws -> ProjectionSnapshot {
        let bytes = [UInt8](data)
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw FormatError(description: "not a projection snapshot (bad magic)")
        }
        var r = Reader(bytes: bytes[...])
        r.at = magic.count
        var snap = ProjectionSnapshot()
        var current: OrderRecord?
        var records = 0
        func flush() {
            if let c = current { snap.state.orders[c.order.orderID] = c }
            current = nil
        }
        while true {
            guard let (tag, payload) = try r.record() else {
                throw FormatError(description: "snapshot ends without its END record (torn write)")
            }
            guard let kind = Tag(rawValue: tag) else { throw FormatError(description: "unknown record tag \(tag)") }
            if kind == .end {
                var p = Reader(bytes: payload)
                guard try p.varint() == UInt64(records) else { throw FormatError(description: "record count mismatch") }
                break
            }
            records += 1
            switch kind {
            case .sequence:
                var p = Reader(bytes: payload)
                let name = try p.string()
                snap.sequences[name] = try p.varint()
            case .order:
                flush()
                current = OrderRecord(order: try Oms_V1_Order(serializedBytes: payload))
            case .event:
                guard current != nil else { throw FormatError(description: "event outside an order record") }
                current!.events.append(try Oms_V1_OrderEvent(serializedBytes: payload))
            case .fill:
                guard current != nil else { throw FormatError(description: "fill outside an order record") }
                current!.fills.append(try Oms_V1_Fill(serializedBytes: payload))
            case .risk:
                guard current != nil else { throw FormatError(description: "risk decision outside an order record") }
                current!.riskDecision = try Oms_V1_RiskDecision(serializedBytes: payload)
            case .routing:
                guard current != nil else { throw FormatError(description: "routing decision outside an order record") }
                current!.routingDecision = try Oms_V1_RoutingDecision(serializedBytes: payload)
            case .meta:
                guard current != nil else { throw FormatError(description: "meta outside an order record") }
                var p = Reader(bytes: payload)
                current!.fingerprint = try p.string()
                current!.terminalAtNs = Int64(bitPattern: try p.varint())
                current!.lastSequence = try p.varint()
                let n = try p.varint()
                guard n <= UInt64(payload.count) else { throw FormatError(description: "bad child count") }
                current!.childIDs = try (0..<Int(n)).map { _ in try p.string() }
            case .position:
                flush()
                let p = try Oms_V1_Position(serializedBytes: payload)
                snap.state.positions[OrderProjection.positionKey(p)] = p
            case .balance:
                flush()
                let b = try Oms_V1_Balance(serializedBytes: payload)
                snap.state.balances[OrderProjection.balanceKey(b)] = b
            case .earlyFill:
                flush()
                let f = try Oms_V1_Fill(serializedBytes: payload)
                if snap.state.earlyFills[f.orderID] == nil { snap.state.earlyFillOrder.append(f.orderID) }
                snap.state.earlyFills[f.orderID, default: []].append(f)
            case .instrument:
                flush()
                snap.instruments.append(try Oms_V1_Instrument(serializedBytes: payload))
            case .end:
                break
            }
        }
        flush()
        snap.state.rebuildIndexes()
        return snap
    }

    // MARK: files

    public static func path(dataDir: String) -> String { "\(dataDir)/oms-server/projection.snap" }

    public func write(to path: String) throws {
        try DurableFile.writeAtomically(try encoded(), to: path)
    }

    /// nil when there is no snapshot; throws when there is one that cannot be read.
    public static func load(from path: String) throws -> ProjectionSnapshot? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try decode(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    // MARK: wire helpers

    struct Writer {
        var out: [UInt8] = []
        var records = 0
        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        mutating func string(_ s: String) {
            let u = Array(s.utf8)
            varint(UInt64(u.count))
            out.append(contentsOf: u)
        }
        mutating func record(_ tag: Tag, _ payload: [UInt8]) {
            out.append(tag.rawValue)
            varint(UInt64(payload.count))
            out.append(contentsOf: payload)
            if tag != .end { records += 1 }
        }
    }

    struct Reader {
        let bytes: ArraySlice<UInt8>
        var at: Int
        init(bytes: ArraySlice<UInt8>) { self.bytes = bytes; at = bytes.startIndex }
        mutating func varint() throws -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while at < bytes.endIndex {
                let b = bytes[at]
                at += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
                if shift > 63 { break }
            }
            throw FormatError(description: "truncated or bad varint at byte \(at)")
        }
        /// A view of the next `n` bytes (no copy: protobuf decodes straight from it).
        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, at + n <= bytes.endIndex else { throw FormatError(description: "truncated record at byte \(at)") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }
        mutating func string() throws -> String {
            let n = try varint()
            guard n <= UInt64(bytes.count) else { throw FormatError(description: "bad string length") }
            return String(decoding: try take(Int(n)), as: UTF8.self)
        }
        /// nil at the end of the bytes.
        mutating func record() throws -> (UInt8, ArraySlice<UInt8>)? {
            guard at < bytes.endIndex else { return nil }
            let tag = bytes[at]
            at += 1
            let n = try varint()
            guard n <= UInt64(bytes.count) else { throw FormatError(description: "bad record length") }
            return (tag, try take(Int(n)))
        }
    }
}
