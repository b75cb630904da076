import Foundation
import Logging
import OMSCore

/// Feeds the projection from JetStream: replays each stream from its start
/// (rebuild after a restart) and then follows it live. Consumers are per
/// instance ("oms-server-<instance>-<stream>", recreated at start so the
/// replay is always complete) with an inactive threshold: after a crash (no
/// graceful `cleanup()`) the server deletes them once nobody has pulled for
/// `inactiveThreshold`, so a kill -9 leaks nothing.
public struct ProjectionFeeder: Sendable {
    public let jetStream: JetStream
    public let projection: OrderProjection
    public let instruments: InstrumentRegistry
    public let instanceID: String
    public let logger: Logger
    public let health: HealthState?
    /// How long the server keeps this instance's consumers once it stops pulling (it pulls every 250 ms while alive).
    public var inactiveThreshold: Duration = .seconds(30)

    public init(jetStream: JetStream, projection: OrderProjection, instruments: InstrumentRegistry, instanceID: String, logger: Logger, health: HealthState?) {
        self.jetStream = jetStream; self.projection = projection; self.instruments = instruments
        self.instanceID = instanceID; self.logger = logger; self.health = health
    }

    static let feeds: [(stream: String, filter: String?)] = [
        ("COMMANDS", "cmd.risk.>"), ("ORDERS", nil), ("TRADES", nil), ("DECISIONS", nil), ("POSITIONS", nil), ("MARKETDATA", "md.instruments.>"),
    ]

    public func durableName(_ stream: String) -> String { "oms-server-\(instanceID)-\(stream.lowercased())" }

    /// Runs until cancelled. `caughtUp` is called once every stream has been replayed.
    public func run(caughtUp: @escaping @Sendable () -> Void = {}) async throws {
        let pending = Synchronization.Mutex(Set(Self.feeds.map(\.stream)))
        let done: @Sendable (String) -> Void = { stream in
            let empty = pending.withLock { p -> Bool in
                guard p.remove(stream) != nil else { return false }
                return p.isEmpty
            }
            if empty {
                health?.set("projection", ok: true, detail: "\(projection.count) orders cached")
                logger.info("projection rebuilt", metadata: ["orders": "\(projection.count)"])
                caughtUp()
            }
        }
        health?.set("projection", ok: false, detail: "replaying streams")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for feed in Self.feeds {
                group.addTask { try await follow(stream: feed.stream, filter: feed.filter, done: done) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    projection.expire(nowNs: wallClockNanos())
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Deletes this instance's consumers (graceful shutdown).
    public func cleanup() {
        for f in Self.feeds { try? jetStream.deleteConsumer(stream: f.stream, durable: durableName(f.stream)) }
    }

    func follow(stream: String, filter: String?, done: @escaping @Sendable (String) -> Void) async throws {
        let durable = durableName(stream)
        var consumer: PullConsumer?
        var wait = Duration.milliseconds(200)
        while consumer == nil {
            do {
                try? jetStream.deleteConsumer(stream: stream, durable: durable)
                let state = try jetStream.streamState(stream)
                var spec = ConsumerSpec(durable: durable, filterSubject: filter)
                spec.deliverFrom = .all
                spec.maxAckPending = 50_000
                spec.inactiveThreshold = inactiveThreshold
                consumer = try jetStream.pullConsumer(stream: stream, spec)
                if state.messages == 0 { done(stream) }
            } catch {
                logger.warning("cannot follow stream yet; retrying", metadata: ["stream": "\(stream)", "error": "\(error)"])
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(5))
            }
        }
        while !Task.isCancelled {
            let batch: [JetStreamMessage]
            do {
                batch = try await consumer!.fetch(batch: 512, timeout: .milliseconds(250))
            } catch {
                if Task.isCancelled { break }
                logger.debug("fetch failed; retrying", metadata: ["stream": "\(stream)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            if batch.isEmpty { done(stream); continue }
            for msg in batch {
                apply(msg)
                try? msg.ack()
            }
            if batch.last?.delivery.numPending == 0 { done(stream) }
        }
    }

    func apply(_ msg: JetStreamMessage) {
        let type = msg.headers[OMSHeader.type] ?? ""
        let now = wallClockNanos()
        let seq = msg.delivery.streamSequence
        let subject = msg.subject
        do {
            if type == Oms_V1_OrderEvent.protoMessageName || (type.isEmpty && subject.hasPrefix("orders.")) {
                projection.apply(event: try Oms_V1_OrderEvent(serializedBytes: msg.payload), sequence: seq, nowNs: now)
            } else if type == Oms_V1_Fill.protoMessageName || (type.isEmpty && subject.hasPrefix("trades.")) {
                projection.apply(fill: try Oms_V1_Fill(serializedBytes: msg.payload), sequence: seq)
            } else if type == Oms_V1_OrderCommand.protoMessageName || (type.isEmpty && subject.hasPrefix("cmd.risk.")) {
                let c = try Oms_V1_OrderCommand(serializedBytes: msg.payload)
                if case .newOrder(let o) = c.command {
                    projection.apply(command: c, fingerprint: OMSService.fingerprint(o), sequence: seq, nowNs: now)
                }
            } else if type == Oms_V1_RiskDecision.protoMessageName || (type.isEmpty && subject.hasPrefix("risk.")) {
                projection.apply(risk: try Oms_V1_RiskDecision(serializedBytes: msg.payload))
            } else if type == Oms_V1_RoutingDecision.protoMessageName || (type.isEmpty && subject.hasPrefix("routing.")) {
                projection.apply(routing: try Oms_V1_RoutingDecision(serializedBytes: msg.payload), nowNs: now)
            } else if type == Oms_V1_AccountUpdate.protoMessageName || (type.isEmpty && subject.hasPrefix("positions.")) {
                projection.apply(account: try Oms_V1_AccountUpdate(serializedBytes: msg.payload))
            } else if type == Oms_V1_InstrumentList.protoMessageName || (type.isEmpty && subject.hasPrefix("md.instruments.")) {
                instruments.apply(try Oms_V1_InstrumentList(serializedBytes: msg.payload))
            }
        } catch {
            logger.warning("undecodable message skipped", metadata: ["subject": "\(subject)", "seq": "\(seq)", "error": "\(error)"])
        }
    }
}

import Synchronization
