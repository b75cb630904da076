import Foundation
import Logging
import OMSCore
import OMSTestSupport
import Testing
@testable import OMSServerCore

/// oms-server restarts from its projection snapshot plus the streams' tail:
/// the snapshot must carry everything the projection knows, a torn one must
/// be refused, and snapshot + tail must equal a full replay.
@Suite(.serialized) struct ProjectionSnapshotTests {

    static func instrument(_ symbol: String = "BTCUSDT") -> Oms_V1_InstrumentId {
        var i = Oms_V1_InstrumentId(); i.exchange = "binance"; i.market = "spot"; i.symbol = symbol; return i
    }

    static func command(_ n: Int) -> Oms_V1_OrderCommand {
        var o = Oms_V1_NewOrder()
        o.orderID = "O-\(n)"; o.clientOrderID = "c-\(n)"; o.account = "acct"; o.instrument = instrument()
        o.side = n % 2 == 0 ? .buy : .sell; o.orderType = .limit; o.timeInForce = .gtc
        o.quantity.mantissa = 1000 + Int64(n); o.quantity.scale = 5
        o.price.mantissa = 6_500_000; o.price.scale = 2; o.tsNs = 1_000 + Int64(n)
        var c = Oms_V1_OrderCommand(); c.commandID = "cmd-\(n)"; c.newOrder = o
        return c
    }

    static func event(_ n: Int, _ status: Oms_V1_OrderStatus, at ns: Int64) -> Oms_V1_OrderEvent {
        let o = command(n).newOrder
        var e = Oms_V1_OrderEvent()
        e.eventID = "O-\(n):\(status)"; e.eventType = status == .filled ? .filled : status == .canceled ? .canceled : .accepted
        e.order = OrderProjection.pendingOrder(o)
        e.order.status = status; e.order.updatedNs = ns
        if status == .filled { e.order.filledQuantity = o.quantity; e.order.averagePrice = o.price; e.order.leavesQuantity.mantissa = 0 }
        e.tsInitNs = ns
        return e
    }

    static func fill(_ n: Int, trade: String) -> Oms_V1_Fill {
        var f = Oms_V1_Fill()
        f.tradeID = trade; f.orderID = "O-\(n)"; f.account = "acct"; f.instrument = instrument()
        f.side = .buy; f.price.mantissa = 6_500_000; f.price.scale = 2; f.quantity.mantissa = 1000 + Int64(n); f.quantity.scale = 5
        return f
    }

    /// A projection with something of every kind it holds.
    static func populated() -> OrderProjection {
        let now = wallClockNanos()
        let p = OrderProjection(ttl: .seconds(3600), maxSize: 1000)
        p.apply(command: command(1), fingerprint: "fp-1", sequence: 1, nowNs: now)                  // pending
        p.apply(command: command(2), fingerprint: "fp-2", sequence: 2, nowNs: now)
        p.apply(event: event(2, .accepted, at: now), sequence: 10, nowNs: now)                    // live
        p.apply(command: command(3), fingerprint: "fp-3", sequence: 3, nowNs: now)
        p.apply(event: event(3, .filled, at: now + 1), sequence: 11, nowNs: now)                   // terminal
        p.apply(fill: fill(3, trade: "t-3"), sequence: 20)
        var d = Oms_V1_RiskDecision(); d.orderID = "O-3"; d.commandID = "cmd-3"; d.result = .accepted
        p.apply(risk: d)
        p.apply(fill: fill(9, trade: "t-9"), sequence: 21)                                         // early fill, order unknown yet
        var u = Oms_V1_AccountUpdate(); u.account = "acct"; u.exchange = "binance"; u.market = "spot"
        var pos = Oms_V1_Position(); pos.instrument = instrument(); pos.quantity.mantissa = 1003; pos.quantity.scale = 5
        var bal = Oms_V1_Balance(); bal.asset = "USDT"; bal.free.mantissa = 12_345; bal.free.scale = 2
        u.positions = [pos]; u.balances = [bal]
        p.apply(account: u)
        return p
    }

    @Test func snapshotCarriesEverythingTheProjectionHolds() throws {
        let p = Self.populated()
        var inst = Oms_V1_Instrument(); inst.id = Self.instrument(); inst.priceScale = 2; inst.qtyScale = 5
        let data = try p.snapshot(sequences: ["ORDERS": 11, "TRADES": 21, "COMMANDS": 3], instruments: [inst]).encoded()
        let back = try ProjectionSnapshot.decode(data)
        #expect(back.sequences == ["ORDERS": 11, "TRADES": 21, "COMMANDS": 3])
        #expect(back.instruments == [inst])
        let q = OrderProjection(ttl: .seconds(3600), maxSize: 1000)
        q.restore(back)
        #expect(q.count == p.count && q.count == 3)
        for id in ["O-1", "O-2", "O-3"] {
            let a = try #require(p.order(id: id)), b = try #require(q.order(id: id))
            #expect(a.order == b.order)
            #expect(a.events == b.events && a.fills == b.fills && a.riskDecision == b.riskDecision)
            #expect(a.fingerprint == b.fingerprint && a.terminalAtNs == b.terminalAtNs && a.lastSequence == b.lastSequence)
        }
        // Indexes rebuilt: client order id lookup (duplicate detection) and the expiry queue.
        #expect(q.order(account: "acct", clientOrderID: "c-2")?.order.orderID == "O-2")
        #expect(q.state.withLock { $0.terminalQueue.map(\.0) } == ["O-3"])
        #expect(q.positions { _ in true } == p.positions { _ in true })
        #expect(q.balances { _ in true } == p.balances { _ in true })
        // The early fill waits in the restored projection too, and joins its order when it appears.
        q.apply(command: Self.command(9), nowNs: wallClockNanos())
        #expect(q.order(id: "O-9")?.fills.map(\.tradeID) == ["t-9"])
    }

    @Test func unpublishedReservationIsNotSnapshotted() throws {
        let p = Self.populated()
        #expect(p.reserve(Self.command(7).newOrder, fingerprint: "fp-7").isReserved)
        let q = OrderProjection(ttl: .seconds(3600), maxSize: 1000)
        q.restore(try ProjectionSnapshot.decode(try p.snapshot(sequences: [:], instruments: []).encoded()))
        #expect(q.order(id: "O-7") == nil && q.order(account: "acct", clientOrderID: "c-7") == nil)
        // Once COMMANDS has it, it is durable and belongs in the snapshot.
        p.apply(command: Self.command(7), fingerprint: "fp-7", sequence: 42, nowNs: wallClockNanos())
        q.restore(try ProjectionSnapshot.decode(try p.snapshot(sequences: [:], instruments: []).encoded()))
        #expect(q.order(id: "O-7")?.fingerprint == "fp-7")
    }

    @Test func tornOrForeignSnapshotIsRefused() throws {
        let data = try Self.populated().snapshot(sequences: ["ORDERS": 1], instruments: []).encoded()
        for cut in [1, 5, data.count / 2] {
            #expect(throws: ProjectionSnapshot.FormatError.self) { try ProjectionSnapshot.decode(data.prefix(data.count - cut)) }
        }
        var foreign = data
        foreign[0] = UInt8(ascii: "X")
        #expect(throws: ProjectionSnapshot.FormatError.self) { try ProjectionSnapshot.decode(foreign) }
        #expect(throws: ProjectionSnapshot.FormatError.self) { try ProjectionSnapshot.decode(Data()) }
    }

    // MARK: - on a real nats-server

    func publishOrders(_ js: JetStream, _ range: Range<Int>) async throws {
        let now = wallClockNanos()
        for n in range {
            _ = try await js.publish(Self.command(n), subject: "cmd.risk.binance.spot.BTCUSDT", id: "cmd-\(n)", producer: "test")
            _ = try await js.publish(Self.event(n, .accepted, at: now + Int64(n)), subject: "orders.binance.spot.BTCUSDT", id: "O-\(n):acc", producer: "test")
            if n % 2 == 0 {
                _ = try await js.publish(Self.fill(n, trade: "t-\(n)"), subject: "trades.binance.spot.BTCUSDT", id: "t-\(n)", producer: "test")
                _ = try await js.publish(Self.event(n, .filled, at: now + Int64(n) + 1), subject: "orders.binance.spot.BTCUSDT", id: "O-\(n):fill", producer: "test")
            }
        }
    }

    /// Runs a feeder until it has caught up; returns it with its task (cancel to stop).
    func startFeeder(_ conn: NATSConnection, _ name: String, snapshot: String?) async throws -> (ProjectionFeeder, OrderProjection, Task<Void, Error>) {
        var l = Logger(label: "test")
        l.logLevel = .critical
        let projection = OrderProjection(ttl: .seconds(3600), maxSize: 10_000)
        var feeder = ProjectionFeeder(jetStream: try conn.jetStream(publishTimeout: .seconds(2)), projection: projection,
                                      instruments: InstrumentRegistry([]), instanceID: name, logger: l, health: nil)
        feeder.snapshotPath = snapshot
        feeder.snapshotInterval = .zero  // written by the test when it wants one
        let ready = AsyncStream<Void>.makeStream()
        let task = Task { [feeder] in try await feeder.run { ready.continuation.yield() } }
        for await _ in ready.stream { break }
        return (feeder, projection, task)
    }

    func statuses(_ p: OrderProjection) -> [String: Oms_V1_OrderStatus] {
        Dictionary(uniqueKeysWithValues: p.list { _ in true }.map { ($0.orderID, $0.status) })
    }

    @Test func restartFromSnapshotReplaysOnlyTheTailAndEqualsAFullReplay() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let nats = try NATSServerFixture()
        let conn = try nats.connect(name: "snapshot-test")
        let js = try conn.jetStream(publishTimeout: .seconds(2))
        for spec in OMSConfig().jetstream.streams { try js.ensureStream(spec) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proj-snap-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = ProjectionSnapshot.path(dataDir: dir)

        try await publishOrders(js, 0..<200)
        let (a, pa, ta) = try await startFeeder(conn, "a", snapshot: path)
        #expect(pa.count == 200)
        #expect(a.writeSnapshot())
        ta.cancel()
        _ = try? await ta.value
        a.cleanup()

        // While "down": 50 more orders (150 messages) arrive.
        try await publishOrders(js, 200..<250)
        let (b, pb, tb) = try await startFeeder(conn, "b", snapshot: path)
        let tail = b.applied.messagesApplied
        #expect(tail == 50 + 50 + 25 + 25, "only the tail after the snapshot is replayed (\(tail) messages)")
        // A third instance without a snapshot replays everything: same projection.
        let (c, pc, tc) = try await startFeeder(conn, "c", snapshot: nil)
        #expect(c.applied.messagesApplied == 250 * 2 + 125 * 2)
        #expect(pb.count == 250)
        #expect(statuses(pb) == statuses(pc))
        for n in [0, 1, 199, 200, 248, 249] {
            let x = try #require(pb.order(id: "O-\(n)")), y = try #require(pc.order(id: "O-\(n)"))
            #expect(x.order == y.order && x.fills == y.fills && x.fingerprint == y.fingerprint)
        }
        tb.cancel(); tc.cancel()
        _ = try? await tb.value
        _ = try? await tc.value
        b.cleanup(); c.cleanup()
        conn.close()
    }

    @Test func snapshotAheadOfTheStreamsIsIgnored() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let nats = try NATSServerFixture()
        let conn = try nats.connect(name: "snapshot-ahead")
        let js = try conn.jetStream(publishTimeout: .seconds(2))
        for spec in OMSConfig().jetstream.streams { try js.ensureStream(spec) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proj-ahead-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = ProjectionSnapshot.path(dataDir: dir)
        // A snapshot from another history (the streams were re-created since).
        try Self.populated().snapshot(sequences: ["ORDERS": 1_000_000], instruments: []).write(to: path)
        try await publishOrders(js, 0..<3)
        let (f, p, t) = try await startFeeder(conn, "x", snapshot: path)
        #expect(Set(p.list { _ in true }.map(\.orderID)) == ["O-0", "O-1", "O-2"])
        t.cancel()
        _ = try? await t.value
        f.cleanup()
        conn.close()
    }
}

extension OrderProjection.Reservation {
    var isReserved: Bool { if case .reserved = self { return true } else { return false } }
}
