import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The common `main` of every Swift service: load and validate config
/// (`--check-config` stops there), set up logging and metrics, then run the
/// HTTP endpoint and the service host in a `ServiceGroup` that shuts down
/// gracefully on SIGTERM/SIGINT.
public enum OMSServiceRunner {
    public static func run(service: String, options: ServiceOptions, behaviour: @escaping ServiceBehaviour = { _ in }) async throws {
        let config: OMSConfig
        do {
            config = try OMSConfig.load(path: options.config)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("\(service): invalid config\n\(error)\n".utf8))
            throw ExitCode(2)
        }
        if options.checkConfig {
            print("\(service): config \(options.config) is valid")
            for w in config.warnings { print("  warning: \(w)") }
            print("  nats.url: \(redactedURL(config.nats.url))  streams: \(config.jetstream.streams.map(\.name).joined(separator: ","))  http_port: \(config.service(service).httpPort)")
            return
        }

        let level = config.logLevel
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, service: service, level: level) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: service)
        for w in config.warnings { logger.warning("config", metadata: ["warning": "\(w)"]) }

        let health = HealthState()
        let instanceID = defaultInstanceID()
        let settings = config.service(service)
        let up = Gauge(label: "oms_up")
        up.record(1)
        let http = HTTPEndpoint(
            host: settings.httpHost, port: settings.httpPort,
            routes: [
                "/metrics": { HTTPRouteResponse(contentType: "text/plain; version=0.0.4", bytes: registry.emitToBuffer()) },
                "/healthz": { HTTPRouteResponse(body: "ok\n") },
                "/readyz": {
                    HTTPRouteResponse(status: health.isReady ? .ok : .serviceUnavailable, body: health.render())
                },
            ],
            logger: logger)
        let host = ServiceHost(service: service, instanceID: instanceID, config: config, logger: logger,
                               health: health, behaviour: behaviour)
        var groupConfig = ServiceGroupConfiguration(
            services: [.init(service: http), .init(service: host)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(1.5)
        let group = ServiceGroup(configuration: groupConfig)
        logger.info("starting", metadata: ["config": "\(options.config)", "version": "\(OMSVersion.current)",
                                           "http": "\(settings.httpHost):\(settings.httpPort)"])
        try await group.run()
    }
}
