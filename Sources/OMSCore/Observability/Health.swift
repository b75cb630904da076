import Synchronization

/// What `/readyz` reports: NATS connected, JetStream reachable, and whatever
/// the service itself adds (e.g. "venue session logged on").
public final class HealthState: Sendable {
    private let checks = Mutex<[String: (ok: Bool, detail: String)]>([:])

    public init() {}

    public func set(_ name: String, ok: Bool, detail: String = "") {
        checks.withLock { $0[name] = (ok, detail) }
    }

    public var isReady: Bool {
        checks.withLock { c in !c.isEmpty && c.values.allSatisfy(\.ok) }
    }

    public var report: [(name: String, ok: Bool, detail: String)] {
        checks.withLock { c in c.keys.sorted().map { (name: $0, ok: c[$0]!.ok, detail: c[$0]!.detail) } }
    }

    public func render() -> String {
        report.map { "\($0.name): \($0.ok ? "ok" : "FAIL")\($0.detail.isEmpty ? "" : " (\($0.detail))")" }.joined(separator: "\n") + "\n"
    }
}
