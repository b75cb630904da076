import OMSCore

/// Rebuilds the router's parent/child table after a restart, from JetStream
/// alone: every audited routing decision (DECISIONS, `routing.decisions.>`)
/// names a parent and its children, and the children's order events (ORDERS,
/// `orders.>`, from the oldest such decision on) give each child's cumulative
/// state. Parents whose children are all done are dropped at the end, so what
/// remains is exactly the live parents: their fills keep rolling up and a
/// parent cancel still reaches every live child.
///
/// Both replays use short-lived consumers (`router-recover-<instance>-*`) that
/// are deleted when done and, should the router die mid-replay, removed by the
/// server after `inactiveThreshold`.
public struct ParentRecovery: Sendable {
    public struct Stats: Sendable, Equatable {
        public var decisions = 0
        public var parents = 0
        public var childEvents = 0
        public var liveParents = 0
    }

    public let jetStream: JetStream
    public let instanceID: String
    public var inactiveThreshold: Duration = .seconds(30)
    public var fetchTimeout: Duration = .milliseconds(300)

    public init(jetStream: JetStream, instanceID: String) {
        self.jetStream = jetStream
        self.instanceID = instanceID
    }

    /// Replays into `tracker` through `apply` (the caller's lock). Throws only
    /// when JetStream cannot be reached at all.
    public func run(_ apply: @Sendable (_ body: (inout ParentTracker) -> Void) -> Void) async throws -> Stats {
        var stats = Stats()
        var oldestNs: Int64 = .max
        try await replay(stream: "DECISIONS", filter: "routing.decisions.>", from: .all, suffix: "decisions") { m in
            guard let d = try? Oms_V1_RoutingDecision(serializedBytes: m.payload) else { return }
            stats.decisions += 1
            var added = false
            apply { added = $0.recover(d) }
            if added {
                stats.parents += 1
                oldestNs = min(oldestNs, d.tsNs > 0 ? d.tsNs : m.delivery.timestampNs)
            }
        }
        if stats.parents > 0 {
            // Children's events are published after their parent's decision; start a little earlier for clock skew.
            let start = max(0, oldestNs - 60_000_000_000)
            try await replay(stream: "ORDERS", filter: "orders.>", from: .startTime(start), suffix: "orders") { m in
                guard let e = try? Oms_V1_OrderEvent(serializedBytes: m.payload), !e.order.parentOrderID.isEmpty else { return }
                var hit = false
                apply { hit = $0.apply(e) != nil }
                if hit { stats.childEvents += 1 }
            }
        }
        apply { t in
            t.removeFinished()
            stats.liveParents = t.parents.count
        }
        return stats
    }

    func replay(stream: String, filter: String, from: DeliverFrom, suffix: String,
                _ body: (JetStreamMessage) -> Void) async throws {
        let durable = "router-recover-\(instanceID)-\(suffix)"
        try? jetStream.deleteConsumer(stream: stream, durable: durable)
        let state = try jetStream.streamState(stream)
        guard state.messages > 0 else { return }
        var spec = ConsumerSpec(durable: durable, filterSubject: filter)
        spec.deliverFrom = from
        spec.inactiveThreshold = inactiveThreshold
        spec.maxAckPending = 50_000
        let consumer = try jetStream.pullConsumer(stream: stream, spec)
        defer {
            consumer.close()
            try? jetStream.deleteConsumer(stream: stream, durable: durable)
        }
        while true {
            let batch: [JetStreamMessage]
            do { batch = try await consumer.fetch(batch: 512, timeout: fetchTimeout) } catch { break }  // timeout: nothing left
            if batch.isEmpty { break }
            for m in batch {
                body(m)
                try? m.ack()
            }
            // Stop at the end of what was stored when the replay began; later messages reach the live consumers.
            if batch.last?.delivery.numPending == 0 || (batch.last?.delivery.streamSequence ?? 0) >= state.lastSequence { break }
        }
    }
}
