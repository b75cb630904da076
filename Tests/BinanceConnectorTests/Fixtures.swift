import Foundation
import Logging
import OMSCore

/// A real nats-server with JetStream on a free port and a temp store (pattern of IntegrationTests/NATSServerFixture).
final class NATSServer: @unchecked Sendable {
    let port: Int
    let storeDir: URL
    private var process: Process?
    var url: String { "nats://127.0.0.1:\(port)" }

    init() throws {
        port = try freeTCPPort()
        storeDir = FileManager.default.temporaryDirectory.appendingPathComponent("bn-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true)
        guard let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw FixtureFailure("nats-server not installed")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["-js", "-a", "127.0.0.1", "-p", "\(port)", "-sd", storeDir.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        try waitForTCPPort(port, timeout: 5)
    }

    deinit {
        process?.terminate()
        process?.waitUntilExit()
        try? FileManager.default.removeItem(at: storeDir)
    }

    func connect() throws -> NATSConnection {
        var o = NATSConnectionOptions(url: url, name: "bn-test")
        o.reconnectWait = .milliseconds(50)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try NATSConnection.connect(o, logger: logger)
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func freeTCPPort() throws -> Int {
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
    guard ok else { throw FixtureFailure("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func waitForTCPPort(_ port: Int, timeout: TimeInterval) throws {
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
    throw FixtureFailure("port \(port) did not open within \(timeout)s")
}

/// Finds the repository root (for configs/) from this file's location.
func repoRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
