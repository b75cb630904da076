import Foundation
import OMSCore

/// One line of `logs/YYYY/MM/DD/funding.jsonl`: a funding fee settled on a
/// perpetual position. `amount` is an exact decimal string, signed as the
/// venue books it (> 0 received, < 0 paid). `stream_seq` is the POSITIONS
/// stream sequence and `line_index` the payment's place in its message, which
/// together identify the line for exactly-once recovery.
public struct FundingRecord: ArchiveRecord, Equatable {
    public static let fileName = "funding.jsonl"
    public static let checkpointName = "funding"

    public var venue: String
    public var market: String
    public var account: String
    public var symbol: String
    public var asset: String
    public var amount: String
    public var venueTransactionID: String
    public var time: String
    public var timeNs: Int64
    public var streamSeq: UInt64
    public var lineIndex: Int

    enum CodingKeys: String, CodingKey {
        case venue, market, account, symbol, asset, amount, time
        case venueTransactionID = "venue_transaction_id", timeNs = "time_ns", streamSeq = "stream_seq", lineIndex = "line_index"
    }

    public init(venue: String, market: String, account: String, symbol: String, asset: String, amount: String,
                venueTransactionID: String, timeNs: Int64, streamSeq: UInt64, lineIndex: Int) {
        self.venue = venue
        self.market = market
        self.account = account
        self.symbol = symbol
        self.asset = asset
        self.amount = amount
        self.venueTransactionID = venueTransactionID
        self.timeNs = timeNs
        self.time = UTCTime.iso8601(nanos: timeNs)
        self.streamSeq = streamSeq
        self.lineIndex = lineIndex
    }

    /// The payments an account update carries (none for updates of other reasons).
    public static func records(of u: Oms_V1_AccountUpdate, streamSequence: UInt64) -> [FundingRecord] {
        u.funding.enumerated().map { i, f in
            // Settlement time decides the file; without it, the update's event time.
            let t = f.tsNs != 0 ? f.tsNs : (u.tsEventNs != 0 ? u.tsEventNs : u.tsInitNs)
            return FundingRecord(venue: f.instrument.exchange.isEmpty ? u.exchange : f.instrument.exchange,
                                 market: f.instrument.market.isEmpty ? u.market : f.instrument.market,
                                 account: f.account.isEmpty ? u.account : f.account, symbol: f.instrument.symbol, asset: f.asset,
                                 amount: FixedPoint.format(f.amount), venueTransactionID: f.venueTransactionID, timeNs: t,
                                 streamSeq: streamSequence, lineIndex: i)
        }
    }

    /// The payment's identity at the venue (Binance: tranId is unique per user and income type), or nil
    /// when the venue gave none.
    public var transactionKey: String? {
        venueTransactionID.isEmpty ? nil : "\(venue).\(market)|\(account)|\(venueTransactionID)"
    }

    /// Transaction keys of every payment in the archive: a payment published again after JetStream's
    /// duplicate window (a reconnect re-reading the income history) is still written once.
    public static func archivedTransactionKeys(dataDir: String) -> Set<String> {
        let logs = "\(dataDir)/logs"
        guard let e = FileManager.default.enumerator(atPath: logs) else { return [] }
        let decoder = JSONDecoder()
        var keys: Set<String> = []
        for case let rel as String in e where rel.hasSuffix("/" + fileName) {
            for line in AppendOnlyLog.readLines("\(logs)/\(rel)") {
                if let k = (try? decoder.decode(FundingRecord.self, from: Data(line.utf8)))?.transactionKey { keys.insert(k) }
            }
        }
        return keys
    }
}
