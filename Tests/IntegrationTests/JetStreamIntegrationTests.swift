import Foundation
import OMSCore
import OMSTestSupport
import Testing

/// Against a real nats-server: the plumbing every service relies on.
@Suite(.serialized) struct JetStreamIntegrationTests {
    func stream(_ js: JetStream, _ name: String, _ subjects: [String]) throws {
        var spec = StreamSpec(name: name, subjects: subjects)
        spec.duplicateWindow = .seconds(60)
        try js.ensureStream(spec)
    }

    func publishFills(_ js: JetStream, _ range: ClosedRange<Int>) async throws {
        for i in range { _ = try await js.publish("trades.binance.spot.BTCUSDT", payload: Array("fill-\(i)".utf8), msgID: "f-\(i)") }
    }

    /// Fetches until `enough` says so or `within` passed.
    func collect(_ c: PullConsumer, within: Duration, until enough: ([JetStreamMessage]) -> Bool) async throws -> [JetStreamMessage] {
        var got: [JetStreamMessage] = []
        let deadline = ContinuousClock.now + within
        while !enough(got) && ContinuousClock.now < deadline {
            got += try await c.fetch(batch: 10, timeout: .milliseconds(500))
        }
        return got
    }

    /// Fetches until `count` messages arrived or `within` passed.
    func collect(_ c: PullConsumer, count: Int, within: Duration) async throws -> [JetStreamMessage] {
        try await collect(c, within: within) { $0.count >= count }
    }

    @Test func publishConsumeAck() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream()
        try stream(js, "ORDERS", ["orders.>"])
        var ev = Oms_V1_OrderEvent()
        ev.eventID = "e-1"
        ev.eventType = .accepted
        ev.order.orderID = "O-1"
        let ack = try await js.publish(ev, subject: "orders.binance.spot.BTCUSDT", id: ev.eventID, producer: "test", traceID: "t-1")
        #expect(ack.stream == "ORDERS" && ack.sequence == 1 && !ack.duplicate)

        let consumer = try js.pullConsumer(stream: "ORDERS", ConsumerSpec(durable: "c1"))
        let msgs = try await consumer.fetch(batch: 10, timeout: .seconds(2))
        #expect(msgs.count == 1)
        let m = try #require(msgs.first)
        #expect(m.headers[OMSHeader.type] == "oms.v1.OrderEvent")
        #expect(m.headers[OMSHeader.id] == "e-1")
        #expect(m.headers[OMSHeader.msgID] == "e-1")
        #expect(m.headers[OMSHeader.traceID] == "t-1")
        #expect(m.delivery.streamSequence == 1 && m.delivery.numDelivered == 1)
        #expect(try Oms_V1_OrderEvent(serializedBytes: m.payload) == ev)
        try m.ackSyncBlocking()
        // Acked: nothing more, even after the ack wait.
        #expect(try await consumer.fetch(batch: 10, timeout: .milliseconds(300)).isEmpty)
    }

    @Test func redeliveryAfterConsumerDiesBeforeAck() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream()
        try stream(js, "TRADES", ["trades.>"])
        try await publishFills(js, 1...3)
        var spec = ConsumerSpec(durable: "archiver")
        spec.ackWait = .seconds(1)
        do {
            // First incarnation: takes all three, acks only the first, then "dies".
            let c = try js.pullConsumer(stream: "TRADES", spec)
            let got = try await c.fetch(batch: 3, timeout: .seconds(2))
            #expect(got.count == 3)
            try got[0].ackSyncBlocking()
        }
        // The successor process starts here; the connectors and the router decide "may have been
        // handled before" with `DeliveryInfo.mayHaveBeenHandled`: delivered before, or stored
        // before this process started.
        let successorStartedNs = Int64(Date().timeIntervalSince1970 * 1e9)
        // JetStream promises at-least-once, not an exact redelivery pattern. nats-server 2.9 was
        // seen on CI (a) handing fill-3 out twice, when its ack wait ran out around the expiry of
        // a pull request, before fill-2, and (b) reporting numDelivered 1 on a redelivered
        // message. So the count alone is not trusted anywhere (hence the store-time clause); what
        // the services rely on, and what is asserted here, is that every unacked message comes
        // back, is recognised as possibly handled, and the acked one never comes back.
        // The consumer is a temporary: the messages must keep its subscription
        // alive for their acks below (acking through a released one crashed).
        let redelivered = try await collect(try js.pullConsumer(stream: "TRADES", spec), within: .seconds(5)) { Set($0.map(\.payload)).count >= 2 }
        let bodies = Set(redelivered.map { String(decoding: $0.payload, as: UTF8.self) })
        let seen = redelivered.map { "\(String(decoding: $0.payload, as: UTF8.self)) \($0.delivery)" }
        #expect(bodies == ["fill-2", "fill-3"], "\(seen)")
        #expect(redelivered.allSatisfy { [2, 3].contains($0.delivery.streamSequence) && $0.delivery.numDelivered >= 1 }, "\(seen)")
        #expect(redelivered.allSatisfy { $0.delivery.mayHaveBeenHandled(processStartedNs: successorStartedNs) }, "\(seen)")
        for m in redelivered { try m.ackSyncBlocking() }
        // All acked now: nothing comes back after another ack wait.
        #expect(try await collect(try js.pullConsumer(stream: "TRADES", spec), count: 1, within: .milliseconds(1500)).isEmpty)
    }

    /// The archiver's case (a fill missing from trades.jsonl in a fault-suite
    /// run): an incarnation fetched seq 2 and died unacked; newer messages
    /// arrived. Rebinding the durable would hand out 3 and 4 first and seq 2
    /// only after ackWait, behind a checkpoint that already passed it.
    /// `restartAt` delivers from the checkpoint, in order.
    @Test func restartAtDeliversInStreamOrderAfterACrash() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream()
        try stream(js, "TRADES", ["trades.>"])
        try await publishFills(js, 1...2)
        var spec = ConsumerSpec(durable: "archiver")
        spec.restartAt = 1
        do {
            let c = try js.pullConsumer(stream: "TRADES", spec)
            let got = try await c.fetch(batch: 1, timeout: .seconds(2))
            try #require(got.count == 1)
            try got[0].ackSyncBlocking()  // written, checkpoint 1
            #expect(try await c.fetch(batch: 1, timeout: .seconds(2)).count == 1)  // seq 2 fetched, then kill -9
        }
        try await publishFills(js, 3...4)
        spec.restartAt = 2  // checkpoint + 1
        let c2 = try js.pullConsumer(stream: "TRADES", spec)
        let got = try await collect(c2, count: 3, within: .seconds(5))
        #expect(got.map(\.delivery.streamSequence) == [2, 3, 4])
        for m in got { try m.ackSyncBlocking() }
    }

    /// The router's look-up of an earlier refusal: the last message on one subject, nil when there is none.
    @Test func lastMessageOnASubject() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream()
        try stream(js, "DECISIONS", ["routing.>"])
        #expect(try await js.lastMessage(stream: "DECISIONS", subject: "routing.rejected.O-1") == nil)
        _ = try await js.publish("routing.rejected.O-1", payload: Array("first".utf8), msgID: "r-1")
        _ = try await js.publish("routing.rejected.O-2", payload: Array("other".utf8), msgID: "r-2")
        let m = try #require(try await js.lastMessage(stream: "DECISIONS", subject: "routing.rejected.O-1"))
        #expect(m.payload == Array("first".utf8) && m.subject == "routing.rejected.O-1")
        #expect(try await js.lastMessage(stream: "DECISIONS", subject: "routing.rejected.O-3") == nil)
    }

    @Test func republishedMsgIDIsDeduplicated() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream()
        try stream(js, "ORDERS", ["orders.>"])
        let a = try await js.publish("orders.binance.spot.BTCUSDT", payload: [1, 2, 3], msgID: "venue-trade-42")
        let b = try await js.publish("orders.binance.spot.BTCUSDT", payload: [1, 2, 3], msgID: "venue-trade-42")
        let c = try js.publishBlocking("orders.binance.spot.BTCUSDT", payload: [1, 2, 3], msgID: "venue-trade-42")
        #expect(!a.duplicate && b.duplicate && c.duplicate)
        #expect(a.sequence == b.sequence)
        #expect(try js.streamState("ORDERS").messages == 1)
    }

    @Test func consumerSurvivesServerRestartAndResumesWithNothingLost() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream()
        try stream(js, "ORDERS", ["orders.>"])
        for i in 1...50 { _ = try await js.publish("orders.x.spot.A", payload: Array("\(i)".utf8), msgID: "m-\(i)") }
        let consumer = try js.pullConsumer(stream: "ORDERS", ConsumerSpec(durable: "core"))
        var seen: [UInt64] = []
        while seen.count < 20 {
            for m in try await consumer.fetch(batch: 20 - seen.count, timeout: .seconds(1)) {
                seen.append(m.delivery.streamSequence)
                try m.ackSyncBlocking()
            }
        }
        try server.restart()
        // The client reconnects on its own; publishing resumes once it has.
        let deadline = ContinuousClock.now + .seconds(10)
        // (isConnected can still read true before the client has noticed the restart: wait for the reconnect itself.)
        while !(nc.isConnected && nc.reconnectCount >= 1) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(nc.isConnected)
        #expect(nc.reconnectCount >= 1)
        var i = 51
        while i <= 100 {
            do {
                _ = try await js.publish("orders.x.spot.A", payload: Array("\(i)".utf8), msgID: "m-\(i)")
                i += 1
            } catch {
                try await Task.sleep(for: .milliseconds(100))  // JetStream may need a moment after restart
            }
        }
        for try await m in consumer.messages(batch: 50, pollTimeout: .milliseconds(500)) {
            seen.append(m.delivery.streamSequence)
            try m.ackSyncBlocking()
            if seen.count == 100 { break }
        }
        #expect(seen == Array(1...100), "every message exactly once, in order, across the restart")
        #expect(try js.streamState("ORDERS").messages == 100)
    }

    /// A service starting while the broker is down (or restarting) waits for it instead of failing:
    /// the archiver died this way in a fault-suite run (nats-server restarted during its start).
    @Test func consumerCreationWaitsOutABrokerOutage() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream(publishTimeout: .seconds(1))
        try stream(js, "TRADES", ["trades.>"])
        server.stop()
        #expect(throws: (any Error).self) { _ = try js.pullConsumer(stream: "TRADES", ConsumerSpec(durable: "plain")) }
        let created = Task { try await js.pullConsumerWhenAvailable(stream: "TRADES", ConsumerSpec(durable: "archiver-trades")) }
        try await Task.sleep(for: .milliseconds(800))
        try server.start()
        let consumer = try await created.value
        // It is a working consumer: a message published now reaches it.
        var published = false
        for _ in 0..<50 where !published {
            do { _ = try await js.publish("trades.x.spot.A", payload: Array("t".utf8), msgID: "t-1"); published = true } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(published)
        let got = try await consumer.fetch(batch: 1, timeout: .seconds(5))
        #expect(got.map { String(decoding: $0.payload, as: UTF8.self) } == ["t"])
        // Cancelling the wait ends it.
        server.stop()
        let waiting = Task { try await js.pullConsumerWhenAvailable(stream: "TRADES", ConsumerSpec(durable: "never")) }
        try await Task.sleep(for: .milliseconds(300))
        waiting.cancel()
        await #expect(throws: (any Error).self) { _ = try await waiting.value }
    }

    @Test func coreRequestReplyAndTypedHeaders() async throws {
        let server = try NATSServerFixture()
        let responder = try server.connect(name: "responder")
        let requester = try server.connect(name: "requester")
        let sub = try responder.subscribe("svc.echo") { [responder] m in
            if let r = m.reply { try? responder.publish(r, payload: m.payload.reversed(), headers: m.headers) }
        }
        try responder.flush()
        let reply = try await requester.request("svc.echo", payload: [1, 2, 3], headers: [OMSHeader.type: "oms.v1.Heartbeat"], timeout: .seconds(2))
        #expect(reply.payload == [3, 2, 1])
        #expect(reply.headers[OMSHeader.type] == "oms.v1.Heartbeat")
        sub.unsubscribe()
        await #expect(throws: NATSError.self) {
            _ = try await requester.request("svc.nobody", payload: [], timeout: .milliseconds(200))
        }
    }

    @Test func streamProvisioningIsIdempotentAndUpdates() async throws {
        let server = try NATSServerFixture()
        let js = try server.connect().jetStream()
        let cfg = OMSConfig()
        for spec in cfg.jetstream.streams { try js.ensureStream(spec) }
        for spec in cfg.jetstream.streams { try js.ensureStream(spec) }  // second time: update, no error
        var changed = cfg.jetstream.streams[0]
        changed.subjects.append("orders2.>")
        try js.ensureStream(changed)
        _ = try js.publishBlocking("orders2.x", payload: [0])
        #expect(try js.streamState(changed.name).messages == 1)
    }

    @Test func asyncPublishFailsCleanlyWhenNoStream() async throws {
        let server = try NATSServerFixture()
        let nc = try server.connect()
        let js = try nc.jetStream(publishTimeout: .milliseconds(500))
        await #expect(throws: NATSError.self) {
            _ = try await js.publish("nostream.subject", payload: [1], msgID: "x")
        }
    }
}
