import Foundation
import Testing
import Yams

/// No Docker engine runs here, so the deployment files are checked by parsing:
/// every service has a container and a systemd unit, and the broker is pinned
/// to a release with `sync_interval` (2.12.3 or later) and uses it.
@Suite struct DeployTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let services = ["oms-core", "oms-server", "router", "binance-spot", "binance-futures", "archiver"]

    @Test func composeHasEveryServiceAndAPinnedClusteredBroker() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/docker-compose.yml"), encoding: .utf8)
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        let services = try #require(doc["services"] as? [String: Any])
        for s in Self.services + ["nats-1", "nats-2", "nats-3"] { #expect(services[s] != nil, "compose lacks \(s)") }
        for n in ["nats-1", "nats-2", "nats-3"] {
            let image = try #require((services[n] as? [String: Any])?["image"] as? String)
            let version = image.split(separator: ":").last.map { $0.split(separator: "-")[0] } ?? ""
            let parts = version.split(separator: ".").compactMap { Int($0) }
            #expect(parts.count == 3 && (parts[0], parts[1], parts[2]) >= (2, 12, 3), "\(n) image \(image)")
            let conf = try String(contentsOf: Self.root.appendingPathComponent("deploy/nats/\(n).conf"), encoding: .utf8)
            #expect(conf.contains("sync_interval: always"))
        }
        let core = try #require(services["oms-core"] as? [String: Any])
        #expect((core["environment"] as? [String: Any])?["OMS_JS_REPLICAS"] as? String == "3")
    }

    @Test func everyServiceHasASystemdUnitThatChecksItsConfig() throws {
        for s in Self.services {
            let unit = try String(contentsOf: Self.root.appendingPathComponent("deploy/systemd/mexoms-\(s).service"), encoding: .utf8)
            #expect(unit.contains("ExecStart=/opt/mexoms/bin/\(s) --config"))
            #expect(unit.contains("--check-config"))
            #expect(unit.contains("Restart=always"))
        }
    }
}
