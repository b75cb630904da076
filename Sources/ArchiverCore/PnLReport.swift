import Foundation
import OMSCore

/// Instrument facts the P&L needs: scales and which assets are base and quote.
public struct InstrumentInfo: Sendable, Equatable {
    public var priceScale: Int
    public var qtyScale: Int
    public var baseAsset: String
    public var quoteAsset: String

    public init(priceScale: Int, qtyScale: Int, baseAsset: String, quoteAsset: String) {
        self.priceScale = priceScale
        self.qtyScale = qtyScale
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
    }

    static let knownQuotes = ["USDT", "USDC", "FDUSD", "BUSD", "USD", "KRW", "EUR", "BTC", "ETH", "BNB"]

    /// Best effort when no instrument list was seen: scales from the fill,
    /// quote asset from the symbol's suffix.
    public static func guess(symbol: String, price: String, quantity: String) -> InstrumentInfo {
        let quote = knownQuotes.first { symbol.hasSuffix($0) && symbol.count > $0.count } ?? ""
        return InstrumentInfo(priceScale: decimals(price), qtyScale: decimals(quantity),
                              baseAsset: quote.isEmpty ? symbol : String(symbol.dropLast(quote.count)), quoteAsset: quote)
    }

    static func decimals(_ s: String) -> Int {
        guard let dot = s.firstIndex(of: ".") else { return 0 }
        return s.distance(from: s.index(after: dot), to: s.endIndex)
    }
}

/// One row of `reports/YYYY/MM/pnl.csv`.
public struct PnLRow: Sendable, Equatable {
    public var day: UTCDay
    public var venue: String      // exchange.market
    public var account: String
    public var symbol: String
    public var realisedPnL: Int64 // quote scale 8
    public var fees: Int64
    public var volume: Int64
    public var trades: Int
    public var endingPosition: Int64 // qty scale
    public var qtyScale: Int
    public var unrealisedPnL: Int64
    public var referencePrice: Int64 // price scale
    public var priceScale: Int
    public var quoteAsset: String
    /// Funding fees settled that day (quote scale 8, > 0 received, < 0 paid).
    public var funding: Int64 = 0
    /// realised − fees + funding.
    public var netWithFunding: Int64 { FixedPoint.satAdd(realisedPnL - fees, funding) }
}

/// Per day, venue, account and symbol: realised P&L, fees, volume, trade
/// count, ending position and unrealised P&L at the day's last reference
/// price (the last fill price of the day), with the position carried across
/// days, and the funding fees settled on the position that day (a day with
/// funding but no trades still gets a row). The arithmetic is
/// `PositionLedger`, oms-core's definition.
public struct PnLCalculator {
    struct Key: Hashable { var venue: String; var account: String; var symbol: String }
    private var ledgers: [Key: PositionLedger] = [:]
    private var dayStart: [Key: PositionLedger] = [:]
    private var lastPrice: [Key: Int64] = [:]
    private var info: [Key: InstrumentInfo] = [:]
    private var dayFunding: [Key: Int64] = [:]
    private var fundingSeen: Set<String> = []
    private var currentDay: UTCDay?
    public private(set) var rows: [PnLRow] = []
    public var instruments: [String: InstrumentInfo] = [:]  // "exchange.market.SYMBOL"

    public init() {}

    public mutating func add(_ r: TradeRecord) {
        let day = r.day
        if let d = currentDay, d != day { closeDay(d) }
        currentDay = day
        let key = Key(venue: "\(r.venue).\(r.market)", account: r.account, symbol: r.symbol)
        let inst = info[key] ?? instruments["\(key.venue).\(r.symbol)"] ?? .guess(symbol: r.symbol, price: r.price, quantity: r.quantity)
        info[key] = inst
        guard let px = FixedPoint.parse(r.price, scale: inst.priceScale) ?? truncated(r.price, inst.priceScale),
              let qty = FixedPoint.parse(r.quantity, scale: inst.qtyScale) ?? truncated(r.quantity, inst.qtyScale), qty > 0 else { return }
        let feeScale = InstrumentInfo.decimals(r.fee)
        let fee = FixedPoint.parse(r.fee, scale: feeScale).map {
            feeInQuote(commission: $0, commissionScale: feeScale, commissionAsset: r.feeAsset, baseAsset: inst.baseAsset,
                       quoteAsset: inst.quoteAsset, price: px, priceScale: inst.priceScale)
        } ?? 0
        if dayStart[key] == nil { dayStart[key] = ledgers[key] ?? PositionLedger() }
        var ledger = ledgers[key] ?? PositionLedger()
        ledger.apply(signedQty: r.side == "SELL" ? -qty : qty, price: px, priceScale: inst.priceScale, qtyScale: inst.qtyScale, feeQuote: fee)
        ledgers[key] = ledger
        lastPrice[key] = px
    }

    /// A funding payment: counted in the row of its day when it is paid in the
    /// instrument's quote asset (USDⓈ-M: the margin asset, as the P&L columns are).
    public mutating func add(_ f: FundingRecord) {
        // A payment is counted once even if the log holds it twice (the archiver also skips it when writing).
        if let k = f.transactionKey, !fundingSeen.insert(k).inserted { return }
        let day = f.day
        if let d = currentDay, d != day { closeDay(d) }
        currentDay = day
        let key = Key(venue: "\(f.venue).\(f.market)", account: f.account, symbol: f.symbol)
        let quote = (info[key] ?? instruments["\(key.venue).\(f.symbol)"] ?? .guess(symbol: f.symbol, price: "0", quantity: "0")).quoteAsset
        guard f.asset == quote, let amount = FixedPoint.parse(f.amount, scale: FixedPoint.quoteScale)
                ?? truncated(f.amount, FixedPoint.quoteScale) else { return }
        if dayStart[key] == nil { dayStart[key] = ledgers[key] ?? PositionLedger() }
        if ledgers[key] == nil { ledgers[key] = PositionLedger() }
        dayFunding[key] = FixedPoint.satAdd(dayFunding[key] ?? 0, amount)
    }

    /// Mirrors oms-core's rescale toward zero when a fill has more decimals than the instrument.
    private func truncated(_ s: String, _ scale: Int) -> Int64? {
        let d = InstrumentInfo.decimals(s)
        guard let m = FixedPoint.parse(s, scale: d) else { return nil }
        return FixedPoint.rescale(m, from: d, to: scale)
    }

    private mutating func closeDay(_ day: UTCDay) {
        for key in dayStart.keys.sorted(by: { ($0.venue, $0.account, $0.symbol) < ($1.venue, $1.account, $1.symbol) }) {
            // A symbol seen only through funding so far: no fills to take scales from.
            let start = dayStart[key]!, end = ledgers[key]!
            let inst = info[key] ?? instruments["\(key.venue).\(key.symbol)"] ?? .guess(symbol: key.symbol, price: "0", quantity: "0")
            let mark = lastPrice[key] ?? 0
            rows.append(PnLRow(day: day, venue: key.venue, account: key.account, symbol: key.symbol,
                               realisedPnL: end.realised - start.realised, fees: end.fees - start.fees,
                               volume: end.volume - start.volume, trades: end.trades - start.trades,
                               endingPosition: end.qty, qtyScale: inst.qtyScale,
                               unrealisedPnL: end.unrealised(mark: mark, priceScale: inst.priceScale, qtyScale: inst.qtyScale),
                               referencePrice: mark, priceScale: inst.priceScale, quoteAsset: inst.quoteAsset,
                               funding: dayFunding[key] ?? 0))
        }
        dayStart = [:]
        dayFunding = [:]
    }

    /// Closes the current day and returns every row.
    public mutating func finish() -> [PnLRow] {
        if let d = currentDay { closeDay(d) }
        currentDay = nil
        return rows
    }

    public static let csvHeader =
        "date,venue,account,symbol,realised_pnl,fees,net_pnl,volume,trades,ending_position,reference_price,unrealised_pnl,quote_asset,"
        + "funding,net_pnl_incl_funding"

    public static func csv(_ rows: [PnLRow]) -> String {
        var out = csvHeader + "\n"
        for r in rows {
            let q = FixedPoint.quoteScale
            out += [r.day.description, r.venue, r.account, r.symbol, FixedPoint.format(r.realisedPnL, scale: q),
                    FixedPoint.format(r.fees, scale: q), FixedPoint.format(r.realisedPnL - r.fees, scale: q),
                    FixedPoint.format(r.volume, scale: q), String(r.trades), FixedPoint.format(r.endingPosition, scale: r.qtyScale),
                    FixedPoint.format(r.referencePrice, scale: r.priceScale), FixedPoint.format(r.unrealisedPnL, scale: q),
                    r.quoteAsset, FixedPoint.format(r.funding, scale: q),
                    FixedPoint.format(r.netWithFunding, scale: q)].map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Feeds a month of the archive (fills and funding, in time order; a fill
    /// before a funding payment of the same instant) into the calculator.
    public mutating func replay(dataDir: String, year: Int, month: Int) {
        let trades = TradeArchive.records(dataDir: dataDir, year: year, month: month)
        let funding = FundingArchive.records(dataDir: dataDir, year: year, month: month)
        var i = 0, j = 0
        while i < trades.count || j < funding.count {
            if j == funding.count || (i < trades.count && trades[i].timeNs <= funding[j].timeNs) {
                add(trades[i]); i += 1
            } else {
                add(funding[j]); j += 1
            }
        }
    }

    /// Regenerates `reports/YYYY/MM/pnl.csv` for a month from the trade and funding logs.
    /// Positions carry over from earlier months in the archive.
    @discardableResult
    public static func writeMonthlyReport(dataDir: String, year: Int, month: Int, instruments: [String: InstrumentInfo] = [:]) throws -> (path: String, rows: Int) {
        var calc = PnLCalculator()
        calc.instruments = instruments
        // Carry positions: replay earlier months first, keep only this month's rows.
        for (y, m) in monthsBefore(dataDir: dataDir, year: year, month: month) {
            calc.replay(dataDir: dataDir, year: y, month: m)
        }
        _ = calc.finish()
        let carried = calc.rows.count
        calc.replay(dataDir: dataDir, year: year, month: month)
        let rows = Array(calc.finish().dropFirst(carried))
        let path = String(format: "%@/reports/%04d/%02d/pnl.csv", dataDir, year, month)
        try DurableFile.writeAtomically(Data(csv(rows).utf8), to: path)
        return (path, rows.count)
    }

    static func monthsBefore(dataDir: String, year: Int, month: Int) -> [(Int, Int)] {
        let logs = "\(dataDir)/logs"
        var out: [(Int, Int)] = []
        for y in ((try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []).compactMap(Int.init).sorted() {
            for m in ((try? FileManager.default.contentsOfDirectory(atPath: "\(logs)/\(y)")) ?? []).compactMap(Int.init).sorted()
            where (y, m) < (year, month) {
                out.append((y, m))
            }
        }
        return out
    }
}
