import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Connects to NATS (retrying with backoff until told to stop), provisions the
/// JetStream streams from config, publishes heartbeats, keeps health current,
/// runs the service's behaviour, and on graceful shutdown publishes a final
/// STOPPING heartbeat and drains the connection.
final class ServiceHost: Service, @unchecked Sendable {
    let service: String
    let instanceID: String
    let config: OMSConfig
    let logger: Logger
    let health: HealthState
    let behaviour: ServiceBehaviour
    let started = ContinuousClock.now
    let startedAtWall = Date()
    private let heartbeats = Counter(label: "oms_heartbeats_total")
    private let natsConnected = Gauge(label: "oms_nats_connected")
    private let jetStreamOK = Gauge(label: "oms_jetstream_ok")
    private let reconnects = Counter(label: "oms_nats_reconnects_total")
    private let provisionSeconds = Gauge(label: "oms_stream_provision_seconds")

    init(service: String, instanceID: String, config: OMSConfig, logger: Logger, health: HealthState, behaviour: @escaping ServiceBehaviour) {
        self.service = service
        self.instanceID = instanceID
        self.config = config
        self.logger = logger
        self.health = health
        self.behaviour = behaviour
    }

    func run() async throws {
        health.set("nats", ok: false, detail: "connecting")
        health.set("jetstream", ok: false, detail: "not checked")
        guard let nats = try await connectWithRetry() else { return }  // shutdown before connecting
        nats.onEvent { [health, reconnects] event in
            switch event {
            case .disconnected: health.set("nats", ok: false, detail: "disconnected")
            case .reconnected:
                health.set("nats", ok: true, detail: "reconnected")
                reconnects.increment()
            case .closed: health.set("nats", ok: false, detail: "closed")
            }
        }
        health.set("nats", ok: true, detail: redactedURL(config.nats.url))
        let js = try nats.jetStream()
        let runtime = OMSRuntime(service: service, instanceID: instanceID, config: config, logger: logger,
                                 nats: nats, jetStream: js, health: health)
        await provisionStreams(runtime)
        let hbSubject = (try? Subjects.heartbeat(service: service, instance: instanceID)) ?? "?"
        logger.info("ready", metadata: ["instance": "\(instanceID)", "nats": "\(redactedURL(config.nats.url))",
                                        "heartbeat": "\(hbSubject)"])
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await self.heartbeatLoop(runtime) }
                    group.addTask {
                        try await self.behaviour(runtime)
                        // Behaviour finished: keep serving health until shutdown.
                        try await Task.sleep(for: .seconds(365 * 86_400))
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
        } catch {
            logger.error("service failed", metadata: ["error": "\(error)"])
            publishHeartbeat(runtime, status: .stopping)
            nats.drainAndClose(timeout: .milliseconds(500))
            throw error
        }
        logger.info("stopping")
        publishHeartbeat(runtime, status: .stopping)
        try? nats.flush(timeout: .milliseconds(200))
        nats.drainAndClose(timeout: .milliseconds(500))
        logger.info("stopped")
    }

    private func connectWithRetry() async throws -> NATSConnection? {
        var options = config.natsConnectionOptions
        options.name = "\(service)@\(instanceID)"
        var wait = config.nats.reconnectWait
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try NATSConnection.connect(options, logger: logger)
            } catch {
                health.set("nats", ok: false, detail: "connect failed: \(error)")
                logger.warning("nats connect failed; retrying", metadata: [
                    "attempt": "\(attempt)", "error": "\(error)", "retry_in": "\(DurationParser.format(wait))"])
            }
            do {
                let delay = wait
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            } catch { return nil }
            if Task.isCancelled || Task.isShuttingDownGracefully { return nil }
            wait = min(wait * 2, config.nats.reconnectWaitMax)
        }
    }

    private func provisionStreams(_ rt: OMSRuntime) async {
        let t0 = ContinuousClock.now
        do {
            try await rt.nats.runBlocking { [config] in
                for spec in config.jetstream.streams { try rt.jetStream.ensureStream(spec) }
            }
            provisionSeconds.record(Double((ContinuousClock.now - t0).nanoseconds) / 1e9)
            health.set("jetstream", ok: true, detail: "\(config.jetstream.streams.count) streams")
            jetStreamOK.record(1)
        } catch {
            // Not fatal: the heartbeat loop re-checks and readiness says why.
            health.set("jetstream", ok: false, detail: "provisioning failed: \(error)")
            logger.error("stream provisioning failed", metadata: ["error": "\(error)"])
        }
    }

    private func heartbeatLoop(_ rt: OMSRuntime) async {
        var tick: UInt64 = 0
        while !Task.isCancelled {
            tick += 1
            natsConnected.record(rt.nats.isConnected ? 1 : 0)
            // JetStream reachability: every ~2 s, with a short timeout.
            if tick % max(1, UInt64(2_000 / max(config.heartbeatInterval.milliseconds, 1))) == 1 || !health.isReady {
                await checkJetStream(rt)
            }
            publishHeartbeat(rt, status: health.isReady ? .ready : .degraded)
            try? await Task.sleep(for: config.heartbeatInterval)
        }
    }

    private func checkJetStream(_ rt: OMSRuntime) async {
        guard rt.nats.isConnected, let first = config.jetstream.streams.first else {
            health.set("jetstream", ok: false, detail: "nats not connected")
            jetStreamOK.record(0)
            return
        }
        do {
            _ = try await rt.nats.runBlocking { try rt.jetStream.streamState(first.name) }
            health.set("jetstream", ok: true, detail: "\(config.jetstream.streams.count) streams")
            jetStreamOK.record(1)
        } catch let e as NATSError where e.isNotFound || e.jetStreamCode == 10059 {
            await provisionStreams(rt)  // server restarted with an empty store: re-create
        } catch {
            health.set("jetstream", ok: false, detail: "\(error)")
            jetStreamOK.record(0)
        }
    }

    private var sequence: UInt64 = 0

    func publishHeartbeat(_ rt: OMSRuntime, status: Oms_V1_ServiceStatus) {
        sequence += 1
        var hb = Oms_V1_Heartbeat()
        hb.service = service
        hb.instanceID = instanceID
        hb.version = OMSVersion.current
        hb.status = status
        hb.tsNs = wallClockNanos()
        hb.uptimeMs = UInt64((ContinuousClock.now - started).milliseconds)
        hb.sequence = sequence
        hb.pid = getpid()
        hb.details = health.report.map {
            var d = Oms_V1_HeartbeatDetail()
            d.key = $0.name
            d.value = $0.ok ? "ok" : "fail: \($0.detail)"
            return d
        }
        do {
            let subject = try Subjects.heartbeat(service: service, instance: instanceID)
            try rt.nats.publish(hb, subject: subject, id: "\(instanceID):\(sequence)", producer: service)
            heartbeats.increment()
        } catch {
            logger.debug("heartbeat publish failed", metadata: ["error": "\(error)"])
        }
    }
}

public enum OMSVersion {
    public static let current = "0.1.0"
}

/// Unix time in nanoseconds (wall clock, for message timestamps).
public func wallClockNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
