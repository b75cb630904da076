import Foundation
import OMSCore

/// One line of `logs/YYYY/MM/DD/trades.jsonl`: a fill as the desk reads it.
/// Amounts are decimal strings (exact); `stream_seq` is the TRADES stream
/// sequence, which makes every line identifiable for exactly-once recovery.
public struct TradeRecord: ArchiveRecord, Equatable {
    public static let fileName = "trades.jsonl"
    public static let checkpointName = "trades"
    public var lineIndex: Int { 0 }
    public var timeNs: Int64 { venueTimeNs }

    public var venue: String
    public var market: String
    public var symbol: String
    public var tradeID: String
    public var orderID: String
    public var clientOrderID: String
    public var venueOrderID: String
    public var parentOrderID: String
    public var account: String
    public var side: String
    public var price: String
    public var quantity: String
    public var fee: String
    public var feeAsset: String
    public var liquidity: String
    public var venueTime: String
    public var venueTimeNs: Int64
    public var receiveTime: String
    public var receiveTimeNs: Int64
    public var streamSeq: UInt64

    enum CodingKeys: String, CodingKey {
        case venue, market, symbol, account, side, price, quantity, fee, liquidity
        case tradeID = "trade_id", orderID = "order_id", clientOrderID = "client_order_id"
        case venueOrderID = "venue_order_id", parentOrderID = "parent_order_id", feeAsset = "fee_asset"
        case venueTime = "venue_time", venueTimeNs = "venue_time_ns", receiveTime = "receive_time"
        case receiveTimeNs = "receive_time_ns", streamSeq = "stream_seq"
    }

    public init(fill f: Oms_V1_Fill, streamSequence: UInt64) {
        venue = f.instrument.exchange
        market = f.instrument.market
        symbol = f.instrument.symbol
        tradeID = f.tradeID
        orderID = f.orderID
        clientOrderID = f.clientOrderID
        venueOrderID = f.venueOrderID
        parentOrderID = f.parentOrderID
        account = f.account
        side = f.side == .buy ? "BUY" : f.side == .sell ? "SELL" : "UNSPECIFIED"
        price = FixedPoint.format(f.price)
        quantity = FixedPoint.format(f.quantity)
        fee = FixedPoint.format(f.commission)
        feeAsset = f.commissionAsset
        liquidity = f.liquidity == .maker ? "MAKER" : f.liquidity == .taker ? "TAKER" : "UNKNOWN"
        // Trade time decides the file; a fill without venue time falls back to receive time.
        venueTimeNs = f.tsEventNs != 0 ? f.tsEventNs : f.tsInitNs
        venueTime = UTCTime.iso8601(nanos: venueTimeNs)
        receiveTimeNs = f.tsInitNs
        receiveTime = UTCTime.iso8601(nanos: f.tsInitNs)
        streamSeq = streamSequence
    }
}

/// A calendar day in UTC (file layout is by UTC trade date).
public struct UTCDay: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public init(nanos: Int64) {
        var t = time_t(nanos / 1_000_000_000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        self.init(year: Int(tmv.tm_year) + 1900, month: Int(tmv.tm_mon) + 1, day: Int(tmv.tm_mday))
    }

    public var path: String { String(format: "%04d/%02d/%02d", year, month, day) }
    public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }
    public var monthPath: String { String(format: "%04d/%02d", year, month) }

    public static func < (a: UTCDay, b: UTCDay) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    /// Midnight UTC in seconds since the epoch.
    public var epochSeconds: Int64 {
        var tmv = tm()
        tmv.tm_year = Int32(year - 1900)
        tmv.tm_mon = Int32(month - 1)
        tmv.tm_mday = Int32(day)
        return Int64(timegm(&tmv))
    }
}

public enum UTCTime {
    public static func iso8601(nanos: Int64) -> String {
        var t = time_t(nanos / 1_000_000_000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let frac = nanos % 1_000_000_000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
                      tmv.tm_hour, tmv.tm_min, tmv.tm_sec, Int(frac < 0 ? 0 : frac))
    }
}
