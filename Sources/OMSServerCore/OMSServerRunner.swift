import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import OMSAPI
import OMSCore

/// oms-server's behaviour: rebuild the projection from the streams, then serve
/// the gRPC API (TLS when `oms_server.tls` is set) until shutdown.
public enum OMSServerRunner {
    public static func run(_ rt: OMSRuntime) async throws {
        let settings = rt.config.omsServer
        let projection = OrderProjection(ttl: rt.config.cache.defaultTTL, maxSize: rt.config.cache.maxSize)
        let instruments = InstrumentRegistry(rt.config.staticInstruments)
        let instrumentSub = try rt.nats.subscribe("md.instruments.>") { m in
            if let l = try? Oms_V1_InstrumentList(serializedBytes: m.payload) { instruments.apply(l) }
        }
        defer { instrumentSub.unsubscribe() }
        var feeder = ProjectionFeeder(jetStream: rt.jetStream, projection: projection, instruments: instruments,
                                      instanceID: rt.instanceID, logger: rt.logger, health: rt.health)
        feeder.snapshotPath = ProjectionSnapshot.path(dataDir: rt.config.storage.dataDir)
        feeder.snapshotInterval = settings.snapshotInterval
        let feederRef = feeder
        defer {
            // Graceful stop: a fresh snapshot makes the next start a short tail replay.
            if settings.snapshotInterval > .zero { feederRef.writeSnapshot() }
            feederRef.cleanup()
        }
        if settings.tokens.isEmpty {
            rt.logger.warning("oms_server.tokens is empty: every call will be UNAUTHENTICATED")
        }
        let service = OMSService(projection: projection, instruments: instruments, auth: TokenAuthenticator(tokens: settings.tokens),
                                 publisher: JetStreamPublisher(jetStream: rt.jetStream, timeout: settings.submitTimeout),
                                 events: JetStreamEventSource(jetStream: rt.jetStream), health: rt.health, logger: rt.logger,
                                 riskLimits: settings.riskLimits.map { l in
                                     var x = Oms_Api_V1_RiskLimit(); x.scope = l.scope; x.name = l.name; x.value = l.value; return x
                                 }, configSource: rt.config.sourcePath)
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        if let cert = settings.tlsCertPath, let key = settings.tlsKeyPath {
            security = .tls(certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem))
        } else {
            security = .plaintext
        }
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: settings.grpcHost, port: settings.grpcPort), transportSecurity: security)
        let server = GRPCServer(transport: transport, services: [service])
        rt.health.set("grpc", ok: false, detail: "starting")
        // Not ready until the projection is restored and replayed (set here, before the listener can come up first).
        rt.health.set("projection", ok: false, detail: "restoring")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await feederRef.run() }
            group.addTask { try await server.serve() }
            group.addTask {
                if let addr = try? await transport.listeningAddress {
                    rt.health.set("grpc", ok: true, detail: "\(addr)\(settings.tlsCertPath == nil ? "" : " tls")")
                    rt.logger.info("grpc listening", metadata: ["address": "\(addr)", "tls": "\(settings.tlsCertPath != nil)"])
                }
                try await Task.sleep(for: .seconds(365 * 86_400))
            }
            do {
                try await group.next()
            } catch {
                server.beginGracefulShutdown()
                throw error
            }
            server.beginGracefulShutdown()
            group.cancelAll()
        }
    }
}
