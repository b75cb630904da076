import Foundation
import OMSCore

/// What an hourly snapshot holds: open orders, positions, balances, and the
/// stream sequences they reflect (so a reader knows exactly which events are in it).
public struct ArchiveState: Sendable {
    public struct OpenOrder: Codable, Sendable, Equatable {
        public var orderID: String
        public var clientOrderID: String
        public var venueOrderID: String
        public var account: String
        public var venue: String
        public var symbol: String
        public var side: String
        public var type: String
        public var status: String
        public var price: String
        public var quantity: String
        public var filledQuantity: String
        public var updatedNs: Int64
        enum CodingKeys: String, CodingKey {
            case account, venue, symbol, side, type, status, price, quantity
            case orderID = "order_id", clientOrderID = "client_order_id", venueOrderID = "venue_order_id"
            case filledQuantity = "filled_quantity", updatedNs = "updated_ns"
        }
    }

    public struct PositionEntry: Codable, Sendable, Equatable {
        public var account: String
        public var venue: String
        public var symbol: String
        public var side: String
        public var quantity: String
        public var entryPrice: String
        public var unrealisedPnL: String
        public var leverage: Int32
        enum CodingKeys: String, CodingKey {
            case account, venue, symbol, side, quantity, leverage
            case entryPrice = "entry_price", unrealisedPnL = "unrealised_pnl"
        }
    }

    public struct BalanceEntry: Codable, Sendable, Equatable {
        public var account: String
        public var venue: String
        public var asset: String
        public var free: String
        public var locked: String
    }

    public var openOrders: [String: OpenOrder] = [:]
    public var positions: [String: PositionEntry] = [:]
    public var balances: [String: BalanceEntry] = [:]
    /// Last applied stream sequence per stream name.
    public var sequences: [String: UInt64] = [:]

    public init() {}

    static let terminal: Set<Oms_V1_OrderStatus> = [.filled, .canceled, .rejected, .expired]

    public mutating func apply(_ ev: Oms_V1_OrderEvent, sequence: UInt64, stream: String = "ORDERS") {
        let o = ev.order
        if Self.terminal.contains(o.status) {
            openOrders[o.orderID] = nil
        } else if !o.orderID.isEmpty {
            openOrders[o.orderID] = OpenOrder(
                orderID: o.orderID, clientOrderID: o.clientOrderID, venueOrderID: o.venueOrderID, account: o.account,
                venue: "\(o.instrument.exchange).\(o.instrument.market)", symbol: o.instrument.symbol, side: "\(o.side)",
                type: "\(o.orderType)", status: "\(o.status)", price: FixedPoint.format(o.price), quantity: FixedPoint.format(o.quantity),
                filledQuantity: FixedPoint.format(o.filledQuantity), updatedNs: o.updatedNs)
        }
        sequences[stream] = max(sequences[stream] ?? 0, sequence)
    }

    public mutating func apply(_ u: Oms_V1_AccountUpdate, sequence: UInt64, stream: String = "POSITIONS") {
        let venue = "\(u.exchange).\(u.market)"
        for p in u.positions {
            let key = "\(p.account)|\(venue)|\(p.instrument.symbol)|\(p.positionSide)"
            if p.quantity.mantissa == 0 {
                positions[key] = nil
            } else {
                positions[key] = PositionEntry(account: p.account, venue: venue, symbol: p.instrument.symbol, side: "\(p.positionSide)",
                                               quantity: FixedPoint.format(p.quantity), entryPrice: FixedPoint.format(p.averageEntryPrice),
                                               unrealisedPnL: FixedPoint.format(p.unrealizedPnl), leverage: p.leverage)
            }
        }
        for b in u.balances {
            balances["\(b.account)|\(venue)|\(b.asset)"] = BalanceEntry(account: b.account, venue: venue, asset: b.asset,
                                                                        free: FixedPoint.format(b.free), locked: FixedPoint.format(b.locked))
        }
        sequences[stream] = max(sequences[stream] ?? 0, sequence)
    }

    public mutating func noteTrade(sequence: UInt64) {
        sequences["TRADES"] = max(sequences["TRADES"] ?? 0, sequence)
    }

    struct Document: Codable {
        var takenAt: String
        var takenAtNs: Int64
        var streamSequences: [String: UInt64]
        var openOrders: [OpenOrder]
        var positions: [PositionEntry]
        var balances: [BalanceEntry]
        enum CodingKeys: String, CodingKey {
            case positions, balances
            case takenAt = "taken_at", takenAtNs = "taken_at_ns", streamSequences = "stream_sequences", openOrders = "open_orders"
        }
    }

    /// Writes `snapshots/YYYY/MM/DD/HH/state.json` atomically; returns its path.
    @discardableResult
    public func writeSnapshot(dataDir: String, nowNs: Int64) throws -> String {
        var t = time_t(nowNs / 1_000_000_000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let path = String(format: "%@/snapshots/%04d/%02d/%02d/%02d/state.json", dataDir, tmv.tm_year + 1900, tmv.tm_mon + 1,
                          tmv.tm_mday, tmv.tm_hour)
        let doc = Document(takenAt: UTCTime.iso8601(nanos: nowNs), takenAtNs: nowNs, streamSequences: sequences,
                           openOrders: openOrders.values.sorted { $0.orderID < $1.orderID },
                           positions: positions.keys.sorted().map { positions[$0]! },
                           balances: balances.keys.sorted().map { balances[$0]! })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try DurableFile.writeAtomically(try encoder.encode(doc), to: path)
        return path
    }

    /// The newest snapshot on disk, to start from after a restart.
    public static func latest(dataDir: String) -> (state: ArchiveState, path: String)? {
        let root = "\(dataDir)/snapshots"
        guard let e = FileManager.default.enumerator(atPath: root) else { return nil }
        let newest = e.compactMap { $0 as? String }.filter { $0.hasSuffix("state.json") }.sorted().last
        guard let rel = newest, let data = FileManager.default.contents(atPath: "\(root)/\(rel)"),
              let doc = try? JSONDecoder().decode(Document.self, from: data) else { return nil }
        var s = ArchiveState()
        s.sequences = doc.streamSequences
        for o in doc.openOrders { s.openOrders[o.orderID] = o }
        for p in doc.positions { s.positions["\(p.account)|\(p.venue)|\(p.symbol)|\(p.side)"] = p }
        for b in doc.balances { s.balances["\(b.account)|\(b.venue)|\(b.asset)"] = b }
        return (s, "\(root)/\(rel)")
    }
}

/// Deletes day folders (logs, snapshots) and month reports older than the
/// retention period; never today's, this hour's or this month's files.
public enum Retention {
    @discardableResult
    public static func apply(dataDir: String, retentionDays: Int, nowNs: Int64) -> [String] {
        let today = UTCDay(nanos: nowNs)
        let cutoff = UTCDay(nanos: nowNs - Int64(retentionDays) * 86_400 * 1_000_000_000)
        var removed: [String] = []
        let fm = FileManager.default
        for kind in ["logs", "snapshots"] {
            let root = "\(dataDir)/\(kind)"
            for y in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
                for m in (try? fm.contentsOfDirectory(atPath: "\(root)/\(y)")) ?? [] {
                    for d in (try? fm.contentsOfDirectory(atPath: "\(root)/\(y)/\(m)")) ?? [] {
                        guard let yy = Int(y), let mm = Int(m), let dd = Int(d) else { continue }
                        let day = UTCDay(year: yy, month: mm, day: dd)
                        if day < cutoff && day != today {
                            let path = "\(root)/\(y)/\(m)/\(d)"
                            if (try? fm.removeItem(atPath: path)) != nil { removed.append(path) }
                        }
                    }
                    if ((try? fm.contentsOfDirectory(atPath: "\(root)/\(y)/\(m)")) ?? ["x"]).isEmpty { try? fm.removeItem(atPath: "\(root)/\(y)/\(m)") }
                }
            }
        }
        let reports = "\(dataDir)/reports"
        for y in (try? fm.contentsOfDirectory(atPath: reports)) ?? [] {
            for m in (try? fm.contentsOfDirectory(atPath: "\(reports)/\(y)")) ?? [] {
                guard let yy = Int(y), let mm = Int(m) else { continue }
                // A month's report goes when the whole month is past the cutoff.
                if (yy, mm) < (cutoff.year, cutoff.month) && (yy, mm) != (today.year, today.month) {
                    let path = "\(reports)/\(y)/\(m)"
                    if (try? fm.removeItem(atPath: path)) != nil { removed.append(path) }
                }
            }
        }
        return removed
    }
}
