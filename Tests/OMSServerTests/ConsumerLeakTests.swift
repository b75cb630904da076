import Foundation
import Logging
import OMSCore
import OMSTestSupport
import Testing
@testable import OMSServerCore

/// oms-server's per-instance consumers ("oms-server-<instance>-<stream>" and
/// the per-call "oms-server-call-*" ones) carry an inactive threshold, so an
/// instance that dies without its graceful cleanup (kill -9, OOM) leaves
/// nothing behind on a real nats-server.
@Suite(.serialized) struct ConsumerLeakTests {
    @Test func crashedInstanceConsumersAreRemovedByTheServer() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let nats = try NATSServerFixture()
        let admin = try nats.connect(name: "admin")
        let js = try admin.jetStream(publishTimeout: .seconds(2))
        for spec in OMSConfig().jetstream.streams { try js.ensureStream(spec) }
        var l = Logger(label: "test")
        l.logLevel = .critical

        // The "process": its own connection, as oms-server has.
        let conn = try nats.connect(name: "oms-server-crash")
        let jsA = try conn.jetStream(publishTimeout: .seconds(2))
        var feeder = ProjectionFeeder(jetStream: jsA, projection: OrderProjection(ttl: .seconds(60), maxSize: 100),
                                      instruments: InstrumentRegistry([]), instanceID: "crash", logger: l, health: nil)
        feeder.inactiveThreshold = .seconds(1)
        let ready = AsyncStream<Void>.makeStream()
        let feederTask = Task { [feeder] in try await feeder.run { ready.continuation.yield() } }
        for await _ in ready.stream { break }
        var events = JetStreamEventSource(jetStream: jsA)
        events.inactiveThreshold = .seconds(1)
        let callTask = Task { [events] in try await events.follow(stream: "TRADES", filter: "trades.>", fromSequence: 0) { _, _, _ in } }
        // A consumer of the old kind (no threshold) on the same connection: the control that shows what leaked before.
        _ = try jsA.pullConsumer(stream: "ORDERS", ConsumerSpec(durable: "old-style-leak", filterSubject: "orders.>"))

        let streams = ProjectionFeeder.feeds.map(\.stream)
        func consumers() throws -> [String: Int64] {
            Dictionary(uniqueKeysWithValues: try streams.map { ($0, try js.streamState($0).consumers) })
        }
        try await waitFor("the call's consumer") { try js.streamState("TRADES").consumers == 2 }
        let live = try consumers()
        #expect(live.values.allSatisfy { $0 >= 1 }, "\(live)")
        #expect(live["ORDERS"] == 2 && live["TRADES"] == 2)

        // Crash: no cleanup(), no deleteConsumer, the connection just goes away.
        conn.close()
        feederTask.cancel()
        callTask.cancel()

        try await waitFor("the server to drop the crashed instance's consumers", timeout: .seconds(20)) {
            let c = try consumers()
            return c["ORDERS"] == 1 && streams.filter { $0 != "ORDERS" }.allSatisfy { c[$0] == 0 }
        }
        let after = try consumers()
        #expect(after["ORDERS"] == 1, "only the consumer without a threshold is left: \(after)")
        #expect(after["TRADES"] == 0 && after["COMMANDS"] == 0 && after["DECISIONS"] == 0, "\(after)")
        try? js.deleteConsumer(stream: "ORDERS", durable: "old-style-leak")
        admin.close()
    }
}
