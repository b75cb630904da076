import Foundation
import Logging

/// What a running service gets once it is connected: its config, logger,
/// NATS connection, JetStream context and health state. Behaviour added by
/// later issues is written against this.
public struct OMSRuntime: Sendable {
    public let service: String
    public let instanceID: String
    public let config: OMSConfig
    public let logger: Logger
    public let nats: NATSConnection
    public let jetStream: JetStream
    public let health: HealthState
}

/// A service's own behaviour: runs until the task is cancelled (graceful
/// shutdown cancels it) or throws. Returning early is fine; the process stays
/// up serving health and heartbeats until it is told to stop.
public typealias ServiceBehaviour = @Sendable (OMSRuntime) async throws -> Void

/// hostname-pid, sanitised into a subject token.
public func defaultInstanceID() -> String {
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
    let safe = String(host.map { SubjectToken.isValid(String($0)) ? $0 : "_" }.prefix(40))
    return "\(safe.isEmpty ? "host" : safe)-\(getpid())"
}
