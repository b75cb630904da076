import Foundation
import Logging
import Metrics
import OMSCore
import RouterCore
import Synchronization

/// The router's behaviour: keeps the consolidated view (md.book/md.tob/
/// md.instruments, connector heartbeats, balances from positions.*), consumes
/// risk-accepted commands from cmd.route.> (durable "router"), publishes venue
/// commands and routing decisions, and follows child orders on orders.>
/// (durable "router-orders") so a parent cancel reaches its live children.
/// After a restart the parent/child table is rebuilt from DECISIONS + ORDERS
/// (`ParentRecovery`) before the first command is handled.
enum RouterService {
    static func run(_ rt: OMSRuntime) async throws {
        let settings = rt.config.router
        var policy = RoutingPolicy()
        policy.heartbeatTimeoutNs = settings.heartbeatTimeout.nanoseconds
        policy.maxBookAgeNs = settings.maxBookAge.nanoseconds
        policy.minRateLimitHeadroom = settings.minRateLimitHeadroom
        policy.requireHeartbeat = settings.requireHeartbeat
        var planner = RoutingPlanner(router: SmartRouter(policy: policy),
                                     defaultStrategy: settings.defaultStrategy == .bestPrice ? .bestPrice : .depthSplit,
                                     venues: settings.venues)
        // Static rules until connectors publish md.instruments.
        var seed = Oms_V1_InstrumentList()
        seed.instruments = rt.config.staticInstruments
        planner.view.apply(seed)
        let state = PlannerBox(planner)
        let log = rt.logger
        let decisions = Counter(label: "oms_router_decisions_total")
        let noRoute = Counter(label: "oms_router_no_route_total")
        let latency = Timer(label: "oms_router_decision_latency")

        let subs = [
            try rt.nats.subscribe("md.>") { m in
                let now = wallClockNanos()
                let type = m.headers[OMSHeader.type] ?? ""
                state.withLock { p in
                    switch type {
                    case Oms_V1_BookSnapshot.protoMessageName: if let x = try? Oms_V1_BookSnapshot(serializedBytes: m.payload) { p.view.apply(x, receivedNs: now) }
                    case Oms_V1_BookDelta.protoMessageName: if let x = try? Oms_V1_BookDelta(serializedBytes: m.payload) { p.view.apply(x, receivedNs: now) }
                    case Oms_V1_TopOfBook.protoMessageName: if let x = try? Oms_V1_TopOfBook(serializedBytes: m.payload) { p.view.apply(x, receivedNs: now) }
                    case Oms_V1_InstrumentList.protoMessageName: if let x = try? Oms_V1_InstrumentList(serializedBytes: m.payload) { p.view.apply(x) }
                    default: break
                    }
                }
            },
            try rt.nats.subscribe("hb.>") { m in
                guard let hb = try? Oms_V1_Heartbeat(serializedBytes: m.payload) else { return }
                let now = wallClockNanos()
                state.withLock { $0.view.apply(hb, receivedNs: now) }
            },
            try rt.nats.subscribe("positions.>") { m in
                guard let u = try? Oms_V1_AccountUpdate(serializedBytes: m.payload) else { return }
                state.withLock { $0.view.apply(u) }
            },
        ]
        defer { subs.forEach { $0.unsubscribe() } }

        // Instrument lists published before this router started (MARKETDATA keeps them for a while).
        await replayInstruments(rt, state)

        // The parent/child table of routed orders, from DECISIONS + ORDERS, before any command is handled.
        rt.health.set("router", ok: false, detail: "recovering routed parents")
        var wait = Duration.milliseconds(200)
        while true {
            do {
                let t0 = ContinuousClock.now
                let stats = try await ParentRecovery(jetStream: rt.jetStream, instanceID: rt.instanceID).run { body in state.withLock { body(&$0.tracker) } }
                log.info("parents recovered", metadata: ["decisions": "\(stats.decisions)", "parents": "\(stats.parents)",
                                                         "child_events": "\(stats.childEvents)", "live_parents": "\(stats.liveParents)",
                                                         "ms": "\((ContinuousClock.now - t0).milliseconds)"])
                break
            } catch {
                log.warning("parent recovery failed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(5))
            }
        }

        // Direct orders are refused for a venue without a recent heartbeat: give the connectors
        // one heartbeat timeout to be heard from before the first command is judged.
        if settings.requireHeartbeat {
            let deadline = ContinuousClock.now + settings.heartbeatTimeout
            while ContinuousClock.now < deadline {
                let heard = state.withLock { p in settings.venues.allSatisfy { (p.view.venues[$0]?.lastHeartbeatNs ?? 0) != 0 } }
                if heard { break }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        // Commands stored before this moment may have been handled by the previous router process.
        let startedNs = wallClockNanos()
        var commandSpec = ConsumerSpec(durable: "router", filterSubject: "cmd.route.>")
        commandSpec.ackWait = .seconds(10)
        commandSpec.resumeInOrder = true  // a cancel must never overtake its order after a restart
        let commands = try await rt.jetStream.pullConsumerWhenAvailable(stream: "COMMANDS", commandSpec)
        var orderSpec = ConsumerSpec(durable: "router-orders", filterSubject: "orders.>")
        orderSpec.deliverFrom = .new
        let orders = try await rt.jetStream.pullConsumerWhenAvailable(stream: "ORDERS", orderSpec)
        rt.health.set("router", ok: true, detail: "venues \(settings.venues.joined(separator: ","))")
        log.info("routing", metadata: ["venues": "\(settings.venues)", "strategy": "\(settings.defaultStrategy.rawValue)"])

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await msg in orders.messages() {
                    if let e = try? Oms_V1_OrderEvent(serializedBytes: msg.payload), !e.order.parentOrderID.isEmpty {
                        state.withLock { p in
                            p.tracker.apply(e)
                            p.tracker.removeFinished()
                        }
                    }
                    try? msg.ack()
                }
            }
            group.addTask {
                for try await msg in commands.messages() {
                    guard let cmd = try? Oms_V1_OrderCommand(serializedBytes: msg.payload) else {
                        log.error("undecodable command; terminating it", metadata: ["subject": "\(msg.subject)", "seq": "\(msg.delivery.streamSequence)"])
                        try? msg.term()
                        continue
                    }
                    let handledBefore = msg.delivery.mayHaveBeenHandled(processStartedNs: startedNs)
                    // A direct order an earlier incarnation may have refused: its stored refusal decides.
                    var priorRejection: Oms_V1_RoutingDecision?
                    if handledBefore, case .newOrder(let o) = cmd.command, !RoutingPlanner.isRouted(o) {
                        priorRejection = await Self.storedRefusal(rt, orderID: o.orderID, log: log)
                    }
                    let now = wallClockNanos()
                    let outputs: [RoutingPlanner.Output]
                    do {
                        outputs = try state.withLock { p in try p.handle(cmd, nowNs: now, handledBefore: handledBefore, priorRejection: priorRejection) }
                    } catch {
                        log.error("command cannot be routed; terminating it", metadata: ["command_id": "\(cmd.commandID)", "error": "\(error)"])
                        try? msg.term()
                        continue
                    }
                    // Publish failures (JetStream down) retry in place, never nak: a nak would let
                    // the next command (a cancel) overtake this one.
                    var attempt = 0
                    while true {
                    do {
                        for o in outputs {
                            switch o {
                            case .venueCommand(let s, let id, let c):
                                _ = try await rt.jetStream.publish(c, subject: s, id: id, producer: "router")
                            case .decision(let s, let id, let d):
                                _ = try await rt.jetStream.publish(d, subject: s, id: id, producer: "router")
                                decisions.increment()
                                latency.recordNanoseconds(d.decisionLatencyNs)
                                if d.allocations.isEmpty { noRoute.increment() }
                                log.info("routed", metadata: ["parent": "\(d.parentOrderID)", "children": "\(d.allocations.count)",
                                                              "reason": "\(d.reasonText)", "latency_ns": "\(d.decisionLatencyNs)"])
                            case .orderEvent(let s, let id, let e):
                                _ = try await rt.jetStream.publish(e, subject: s, id: id, producer: "router")
                            }
                        }
                        try? msg.ack()
                        break
                    } catch {
                        // Ids make the republish idempotent.
                        attempt += 1
                        log.warning("publish failed; retrying", metadata: ["command_id": "\(cmd.commandID)", "attempt": "\(attempt)", "error": "\(error)"])
                        try? msg.inProgress()
                        try await Task.sleep(for: .milliseconds(min(50 << min(attempt, 6), 2000)))
                    }
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The refusal record of `orderID` (routing.rejected.<id> in DECISIONS), retried while JetStream does not answer:
    /// routing a refused order would give it two terminal states.
    static func storedRefusal(_ rt: OMSRuntime, orderID: String, log: Logger) async -> Oms_V1_RoutingDecision? {
        guard let subject = try? Subjects.routingRejection(orderID: orderID) else { return nil }
        var wait = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                guard let m = try await rt.jetStream.lastMessage(stream: "DECISIONS", subject: subject) else { return nil }
                return try? Oms_V1_RoutingDecision(serializedBytes: m.payload)
            } catch {
                log.warning("cannot read an earlier refusal yet; retrying", metadata: ["order_id": "\(orderID)", "error": "\(error)"])
                try? await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(2))
            }
        }
        return nil
    }

    static func replayInstruments(_ rt: OMSRuntime, _ state: PlannerBox) async {
        let durable = "router-instr-\(rt.instanceID)"
        do {
            var spec = ConsumerSpec(durable: durable, filterSubject: "md.instruments.>")
            spec.inactiveThreshold = .seconds(30)  // removed by the server if this process dies mid-replay
            let consumer = try rt.jetStream.pullConsumer(stream: "MARKETDATA", spec)
            while true {
                let batch = try await consumer.fetch(batch: 256, timeout: .milliseconds(200))
                if batch.isEmpty { break }
                for m in batch {
                    if let l = try? Oms_V1_InstrumentList(serializedBytes: m.payload) { state.withLock { $0.view.apply(l) } }
                    try? m.ack()
                }
            }
            consumer.close()
        } catch {
            rt.logger.info("no instrument lists to replay", metadata: ["error": "\(error)"])
        }
        try? rt.jetStream.deleteConsumer(stream: "MARKETDATA", durable: durable)
    }
}

/// The planner behind a lock, shared by the NATS callbacks and the consumers.
final class PlannerBox: Sendable {
    let mutex: Mutex<RoutingPlanner>
    init(_ p: RoutingPlanner) { mutex = Mutex(p) }
    func withLock<T>(_ body: (inout RoutingPlanner) throws -> T) rethrows -> T { try mutex.withLock { try body(&$0) } }
}
