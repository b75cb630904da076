import ArchiverCore
import Foundation
import OMSCore
import Testing

func tempDir() -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("archiver-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func fill(_ id: String, side: Oms_V1_Side, px: Int64, pxScale: Int32 = 2, qty: Int64, qtyScale: Int32 = 5,
          fee: Int64 = 0, feeScale: Int32 = 8, feeAsset: String = "USDT", ts: Int64, symbol: String = "BTCUSDT") -> Oms_V1_Fill {
    var f = Oms_V1_Fill()
    f.tradeID = id
    f.orderID = "O-\(id)"
    f.account = "acct-main"
    f.instrument.exchange = "binance"
    f.instrument.market = "spot"
    f.instrument.symbol = symbol
    f.side = side
    f.price.mantissa = px
    f.price.scale = pxScale
    f.quantity.mantissa = qty
    f.quantity.scale = qtyScale
    f.commission.mantissa = fee
    f.commission.scale = feeScale
    f.commissionAsset = feeAsset
    f.liquidity = .taker
    f.tsEventNs = ts
    f.tsInitNs = ts + 150_000
    return f
}

// 2026-11-25T10:00:00Z
let t0: Int64 = 1_795_600_800 * 1_000_000_000

@Suite struct PositionLedgerTests {
    /// Vectors shared with oms-core (proto/testdata/pnl_vectors.json): the C++
    /// engine test checks the same numbers, so both use one definition.
    @Test func sharedVectorsMatchOMSCoreArithmetic() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../proto/testdata/pnl_vectors.json")
        let cases = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        #expect(cases.count >= 5)
        for c in cases {
            let name = c["name"] as! String
            let ps = c["price_scale"] as! Int, qs = c["qty_scale"] as! Int
            var p = PositionLedger()
            for f in c["fills"] as! [[String: Any]] {
                p.apply(signedQty: Int64(f["qty"] as! Int), price: Int64(f["px"] as! Int), priceScale: ps, qtyScale: qs,
                        feeQuote: Int64(f["fee"] as? Int ?? 0))
            }
            let e = c["expect"] as! [String: Any]
            #expect(p.qty == Int64(e["qty"] as! Int), "\(name) qty")
            #expect(p.cost == Int64(e["cost"] as! Int), "\(name) cost")
            #expect(p.realised == Int64(e["realised"] as! Int), "\(name) realised")
            #expect(p.fees == Int64(e["fees"] as! Int), "\(name) fees")
            #expect(p.volume == Int64(e["volume"] as! Int), "\(name) volume")
            #expect(p.averagePrice(priceScale: ps, qtyScale: qs) == Int64(e["avg_price"] as! Int), "\(name) avg")
            let mark = Int64(e["mark"] as! Int)
            #expect(p.unrealised(mark: mark, priceScale: ps, qtyScale: qs) == Int64(e["unrealised"] as! Int), "\(name) unrealised")
        }
    }

    @Test func flipLongToShortRealisesClosedPart() {
        var p = PositionLedger()
        p.apply(signedQty: 100_000, price: 6_000_000, priceScale: 2, qtyScale: 5)   // buy 1 @ 60000
        let pnl = p.apply(signedQty: -150_000, price: 6_100_000, priceScale: 2, qtyScale: 5)  // sell 1.5 @ 61000
        #expect(pnl == 1000 * 100_000_000)  // +1000 USDT at scale 8
        #expect(p.qty == -50_000)
        #expect(p.averagePrice(priceScale: 2, qtyScale: 5) == 6_100_000)
    }

    @Test func decimalsFormatAndParseExactly() {
        #expect(FixedPoint.format(12345, scale: 2) == "123.45")
        #expect(FixedPoint.format(-5, scale: 3) == "-0.005")
        #expect(FixedPoint.format(7, scale: 0) == "7")
        #expect(FixedPoint.parse("123.45", scale: 4) == 1_234_500)
        #expect(FixedPoint.parse("0.00100", scale: 3) == 1)
        #expect(FixedPoint.parse("0.0015", scale: 3) == nil)  // would lose a digit
        #expect(FixedPoint.parse("abc", scale: 2) == nil)
    }
}

@Suite struct TradeArchiveTests {
    @Test func writesOneLinePerFillUnderUTCTradeDate() throws {
        let dir = tempDir()
        let archive = try TradeArchive(dataDir: dir)
        let late = t0 + 14 * 3600 * 1_000_000_000  // 2026-11-26T00:00Z
        try archive.append([TradeRecord(fill: fill("1", side: .buy, px: 6_000_000, qty: 10_000, ts: t0), streamSequence: 1),
                            TradeRecord(fill: fill("2", side: .sell, px: 6_010_000, qty: 10_000, ts: late), streamSequence: 2)])
        try archive.commit(upTo: 2)
        let day1 = AppendOnlyLog.readLines("\(dir)/logs/2026/11/25/trades.jsonl")
        let day2 = AppendOnlyLog.readLines("\(dir)/logs/2026/11/26/trades.jsonl")
        #expect(day1.count == 1 && day2.count == 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(day1[0].utf8)) as? [String: Any])
        #expect(obj["venue"] as? String == "binance" && obj["market"] as? String == "spot" && obj["symbol"] as? String == "BTCUSDT")
        #expect(obj["price"] as? String == "60000.00" && obj["quantity"] as? String == "0.10000")
        #expect(obj["side"] as? String == "BUY" && obj["liquidity"] as? String == "TAKER" && obj["trade_id"] as? String == "1")
        #expect(obj["venue_time"] as? String == "2026-11-25T10:00:00.000000000Z")
        #expect(obj["stream_seq"] as? Int == 1)
    }

    @Test func crashBetweenFsyncAndCheckpointDoesNotDuplicate() throws {
        let dir = tempDir()
        do {
            let a = try TradeArchive(dataDir: dir)
            try a.append((1...3).map { TradeRecord(fill: fill("\($0)", side: .buy, px: 100, qty: 1, ts: t0), streamSequence: UInt64($0)) })
            try a.commit(upTo: 3)
            // Lines 4 and 5 reach the disk, then the process dies before the checkpoint.
            try a.append((4...5).map { TradeRecord(fill: fill("\($0)", side: .buy, px: 100, qty: 1, ts: t0), streamSequence: UInt64($0)) })
        }
        let b = try TradeArchive(dataDir: dir)
        #expect(b.checkpoint.lastSequence == 3)
        #expect(b.contains(sequence: 4) && b.contains(sequence: 5) && !b.contains(sequence: 6))
        // JetStream redelivers 4, 5 (never acked) and delivers 6.
        let written = try b.append((4...6).map { TradeRecord(fill: fill("\($0)", side: .buy, px: 100, qty: 1, ts: t0), streamSequence: UInt64($0)) })
        try b.commit(upTo: 6)
        #expect(written == 1)
        let seqs = AppendOnlyLog.readLines("\(dir)/logs/2026/11/25/trades.jsonl").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["stream_seq"] as? Int
        }
        #expect(seqs == [1, 2, 3, 4, 5, 6])
    }

    @Test func tornLastLineIsRepaired() throws {
        let dir = tempDir()
        do {
            let a = try TradeArchive(dataDir: dir)
            try a.append([TradeRecord(fill: fill("1", side: .buy, px: 100, qty: 1, ts: t0), streamSequence: 1)])
            try a.commit(upTo: 1)
        }
        let path = "\(dir)/logs/2026/11/25/trades.jsonl"
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data("{\"venue\":\"binance\",\"trunc".utf8))  // kill -9 mid-write
        h.closeFile()
        let b = try TradeArchive(dataDir: dir)
        try b.append([TradeRecord(fill: fill("2", side: .buy, px: 100, qty: 1, ts: t0), streamSequence: 2)])
        try b.commit(upTo: 2)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 2)
        #expect(!text.contains("trunc"))
        #expect(text.hasSuffix("\n"))
    }
}

@Suite struct PnLReportTests {
    @Test func monthlyReportFromTradeLogs() throws {
        let dir = tempDir()
        let a = try TradeArchive(dataDir: dir)
        let day2 = t0 + 86_400 * 1_000_000_000
        try a.append([
            // Day 1: buy 0.2 @ 60000 (fee 0.0002 BTC), sell 0.1 @ 61000 (fee 6.1 USDT)
            TradeRecord(fill: fill("1", side: .buy, px: 6_000_000, qty: 20_000, fee: 20_000, feeScale: 8, feeAsset: "BTC", ts: t0), streamSequence: 1),
            TradeRecord(fill: fill("2", side: .sell, px: 6_100_000, qty: 10_000, fee: 610_000_000, feeScale: 8, ts: t0 + 1), streamSequence: 2),
            // Day 2: sell 0.1 @ 59000, flat
            TradeRecord(fill: fill("3", side: .sell, px: 5_900_000, qty: 10_000, ts: day2), streamSequence: 3),
        ])
        try a.commit(upTo: 3)
        let (path, rows) = try PnLCalculator.writeMonthlyReport(dataDir: dir, year: 2026, month: 11)
        #expect(rows == 2)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 3)
        #expect(lines[0] == Substring(PnLCalculator.csvHeader))
        // realised +100, fees 12 (0.0002 BTC at 60000) + 6.1, volume 12000 + 6100, position 0.1 marked at 61000 -> unrealised +100
        #expect(lines[1] == "2026-11-25,binance.spot,acct-main,BTCUSDT,100.00000000,18.10000000,81.90000000,18100.00000000,2,0.10000,61000.00,100.00000000,USDT,0.00000000,81.90000000")
        #expect(lines[2] == "2026-11-26,binance.spot,acct-main,BTCUSDT,-100.00000000,0.00000000,-100.00000000,5900.00000000,1,0.00000,59000.00,0.00000000,USDT,0.00000000,-100.00000000")
    }

    @Test func retentionKeepsCurrentFiles() throws {
        let dir = tempDir()
        for p in ["logs/2026/09/01", "logs/2026/11/25", "snapshots/2026/09/01/10", "reports/2026/08", "reports/2026/11"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(p)", withIntermediateDirectories: true)
        }
        let removed = Retention.apply(dataDir: dir, retentionDays: 30, nowNs: t0)
        #expect(removed.count == 3)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/logs/2026/11/25"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/reports/2026/11"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/logs/2026/09/01"))
    }

    @Test func snapshotHoldsOpenOrdersBalancesAndSequences() throws {
        let dir = tempDir()
        var s = ArchiveState()
        var ev = Oms_V1_OrderEvent()
        ev.order.orderID = "O-1"
        ev.order.status = .accepted
        ev.order.instrument.exchange = "binance"
        ev.order.instrument.market = "spot"
        ev.order.instrument.symbol = "BTCUSDT"
        s.apply(ev, sequence: 7)
        var done = ev
        done.order.orderID = "O-2"
        done.order.status = .filled
        s.apply(done, sequence: 8)
        var u = Oms_V1_AccountUpdate()
        u.exchange = "binance"
        u.market = "spot"
        var b = Oms_V1_Balance()
        b.account = "acct-main"
        b.asset = "USDT"
        b.free.mantissa = 100_000
        b.free.scale = 2
        u.balances = [b]
        s.apply(u, sequence: 3)
        let path = try s.writeSnapshot(dataDir: dir, nowNs: t0)
        #expect(path.hasSuffix("snapshots/2026/11/25/10/state.json"))
        let restored = try #require(ArchiveState.latest(dataDir: dir))
        #expect(restored.state.openOrders.keys.sorted() == ["O-1"])
        #expect(restored.state.balances.values.first?.free == "1000.00")
        #expect(restored.state.sequences == ["ORDERS": 8, "POSITIONS": 3])
    }
}

/// An AccountUpdate carrying funding payments, as binance-futures publishes them.
func fundingUpdate(_ payments: [(symbol: String, amount: Int64, tranId: String)], ts: Int64) -> Oms_V1_AccountUpdate {
    var u = Oms_V1_AccountUpdate()
    u.account = "acct-main"
    u.exchange = "binance"
    u.market = "futures"
    u.reason = .funding
    u.tsEventNs = ts
    u.funding = payments.map { p in
        var f = Oms_V1_FundingPayment()
        f.account = "acct-main"
        f.instrument.exchange = "binance"
        f.instrument.market = "futures"
        f.instrument.symbol = p.symbol
        f.asset = "USDT"
        f.amount.mantissa = p.amount
        f.amount.scale = 8
        f.venueTransactionID = p.tranId
        f.tsNs = ts
        return f
    }
    return u
}

@Suite struct FundingArchiveTests {
    @Test func fundingLineCarriesSignedAmountAndTransactionID() throws {
        let dir = tempDir()
        let a = try FundingArchive(dataDir: dir)
        let records = FundingRecord.records(of: fundingUpdate([("BTCUSDT", -1_234_567, "9689322392")], ts: t0), streamSequence: 41)
        #expect(try a.append(records) == 1)
        try a.commit(upTo: 41)
        let lines = AppendOnlyLog.readLines("\(dir)/logs/2026/11/25/funding.jsonl")
        try #require(lines.count == 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(obj["amount"] as? String == "-0.01234567" && obj["asset"] as? String == "USDT")
        #expect(obj["symbol"] as? String == "BTCUSDT" && obj["venue"] as? String == "binance" && obj["market"] as? String == "futures")
        #expect(obj["venue_transaction_id"] as? String == "9689322392" && obj["stream_seq"] as? Int == 41 && obj["line_index"] as? Int == 0)
        #expect(obj["time"] as? String == "2026-11-25T10:00:00.000000000Z")
        // An update without funding (a trade or snapshot) writes nothing.
        var plain = Oms_V1_AccountUpdate()
        plain.reason = .trade
        #expect(FundingRecord.records(of: plain, streamSequence: 42).isEmpty)
    }

    @Test func crashAfterFsyncThenTornLineThenRedeliveryWritesEachPaymentOnce() throws {
        let dir = tempDir()
        let path = "\(dir)/logs/2026/11/25/funding.jsonl"
        let two = fundingUpdate([("BTCUSDT", -500, "t-1"), ("ETHUSDT", 700, "t-2")], ts: t0)
        do {
            let a = try FundingArchive(dataDir: dir)
            try a.append(FundingRecord.records(of: fundingUpdate([("BTCUSDT", -100, "t-0")], ts: t0), streamSequence: 1))
            try a.commit(upTo: 1)
            // Message 2 (two payments) reaches the disk; the process dies before the checkpoint, with the
            // second payment's line torn.
            try a.append(FundingRecord.records(of: two, streamSequence: 2))
        }
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text.removeLast(20)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let b = try FundingArchive(dataDir: dir)
        #expect(b.checkpoint.lastSequence == 1)
        #expect(b.contains(sequence: 2, index: 0) && !b.contains(sequence: 2, index: 1))
        // JetStream redelivers message 2 (never acked) and delivers 3; message 1 comes again too.
        var again = FundingRecord.records(of: two, streamSequence: 2)
        again += FundingRecord.records(of: fundingUpdate([("BTCUSDT", -300, "t-3")], ts: t0 + 1), streamSequence: 3)
        again += FundingRecord.records(of: fundingUpdate([("BTCUSDT", -100, "t-0")], ts: t0), streamSequence: 1)
        #expect(try b.append(again) == 2)
        try b.commit(upTo: 3)
        let ids = AppendOnlyLog.readLines(path).compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["venue_transaction_id"] as? String
        }
        #expect(ids == ["t-0", "t-1", "t-2", "t-3"])
        // A restart after the checkpoint skips all of it.
        let c = try FundingArchive(dataDir: dir)
        #expect(try c.append(again) == 0)
        #expect(FundingArchive.records(dataDir: dir, year: 2026, month: 11).map(\.amount) == ["-0.00000100", "-0.00000500", "0.00000700", "-0.00000300"])
    }

    @Test func reportHasFundingAndNetPerDayVenueSymbol() throws {
        let dir = tempDir()
        let trades = try TradeArchive(dataDir: dir)
        let funding = try FundingArchive(dataDir: dir)
        let day2 = t0 + 86_400 * 1_000_000_000
        var buy = fill("1", side: .buy, px: 6_000_000, qty: 10_000, fee: 240_000_000, ts: t0)  // 0.1 @ 60000, fee 2.4 USDT
        buy.instrument.market = "futures"
        try trades.append([TradeRecord(fill: buy, streamSequence: 1)])
        try trades.commit(upTo: 1)
        // Day 1: the long pays 0.6 USDT at 16:00; day 2 (no trades): pays 0.6 at 00:00 and receives 0.25 at 08:00.
        let h = Int64(3_600) * 1_000_000_000
        try funding.append(FundingRecord.records(of: fundingUpdate([("BTCUSDT", -60_000_000, "f1")], ts: t0 + 6 * h), streamSequence: 10))
        try funding.append(FundingRecord.records(of: fundingUpdate([("BTCUSDT", -60_000_000, "f2")], ts: day2 - 10 * h), streamSequence: 11))
        try funding.append(FundingRecord.records(of: fundingUpdate([("BTCUSDT", 25_000_000, "f3")], ts: day2 - 2 * h), streamSequence: 12))
        try funding.commit(upTo: 12)
        let (path, rows) = try PnLCalculator.writeMonthlyReport(dataDir: dir, year: 2026, month: 11)
        #expect(rows == 2)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 3)
        #expect(lines[0].hasSuffix(",quote_asset,funding,net_pnl_incl_funding"))
        // net_pnl keeps its meaning (realised − fees); net_pnl_incl_funding = realised − fees + funding.
        #expect(lines[1] == "2026-11-25,binance.futures,acct-main,BTCUSDT,0.00000000,2.40000000,-2.40000000,6000.00000000,1,0.10000,60000.00,0.00000000,USDT,-0.60000000,-3.00000000")
        #expect(lines[2] == "2026-11-26,binance.futures,acct-main,BTCUSDT,0.00000000,0.00000000,0.00000000,0.00000000,0,0.10000,60000.00,0.00000000,USDT,-0.35000000,-0.35000000")
    }

    /// A payment published again after JetStream's duplicate window arrives under a new stream sequence:
    /// the archive knows its tranId, and the report counts it once even if a log held it twice.
    @Test func sameVenueTransactionCountsOnce() throws {
        let dir = tempDir()
        let a = try FundingArchive(dataDir: dir)
        try a.append(FundingRecord.records(of: fundingUpdate([("BTCUSDT", -60_000_000, "f1")], ts: t0), streamSequence: 5))
        try a.append(FundingRecord.records(of: fundingUpdate([("BTCUSDT", -60_000_000, "f1")], ts: t0), streamSequence: 9))  // as if not filtered
        try a.commit(upTo: 9)
        #expect(FundingRecord.archivedTransactionKeys(dataDir: dir) == ["binance.futures|acct-main|f1"])
        let (path, _) = try PnLCalculator.writeMonthlyReport(dataDir: dir, year: 2026, month: 11)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 2)
        #expect(lines[1].hasSuffix(",USDT,-0.60000000,-0.60000000"))
    }
}
