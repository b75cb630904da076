import Foundation
import Logging
import OMSCore

/// A real nats-server with JetStream on a free port and a temp store, started
/// and stopped by the test (and restartable on the same port and store).
final class NATSServerFixture: @unchecked Sendable {
    let port: Int
    let storeDir: URL
    private var process: Process?

    static var binary: String? {
        for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return nil
    }

    var url: String { "nats://127.0.0.1:\(port)" }

    init() throws {
        port = try freePort()
        storeDir = FileManager.default.temporaryDirectory.appendingPathComponent("oms-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true)
        try start()
    }

    func start() throws {
        guard let binary = Self.binary else { throw FixtureError("nats-server not installed (apt-get install nats-server)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["-js", "-a", "127.0.0.1", "-p", "\(port)", "-sd", storeDir.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        try waitForPort(port, timeout: 5)
    }

    func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    func restart() throws {
        stop()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: storeDir)
    }

    func connect(name: String = "test", sendAsap: Bool = true) throws -> NATSConnection {
        var o = NATSConnectionOptions(url: url, name: name)
        o.sendAsap = sendAsap
        o.reconnectWait = .milliseconds(50)
        o.reconnectWaitMax = .milliseconds(200)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try NATSConnection.connect(o, logger: logger)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw FixtureError("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func waitForPort(_ port: Int, timeout: TimeInterval) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        close(fd)
        if r == 0 { return }
        usleep(20_000)
    }
    throw FixtureError("port \(port) did not open within \(timeout)s")
}
