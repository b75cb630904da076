import Foundation
import Logging
import OMSCore

/// A real nats-server with JetStream on a free port and a temp store, started
/// and stopped by the test (and restartable on the same port and store).
/// Shared by every test target that needs a broker.
public final class NATSServerFixture: @unchecked Sendable {
    public let port: Int
    public let storeDir: URL
    private var process: Process?

    public static var binary: String? {
        for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return nil
    }

    public var url: String { "nats://127.0.0.1:\(port)" }

    public init() throws {
        port = try freePort()
        storeDir = FileManager.default.temporaryDirectory.appendingPathComponent("oms-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true)
        try start()
    }

    public func start() throws {
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

    public func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    public func restart() throws {
        stop()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: storeDir)
    }

    public func connect(name: String = "test", sendAsap: Bool = true) throws -> NATSConnection {
        var o = NATSConnectionOptions(url: url, name: name)
        o.sendAsap = sendAsap
        o.reconnectWait = .milliseconds(50)
        o.reconnectWaitMax = .milliseconds(200)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try NATSConnection.connect(o, logger: logger)
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

public func freePort() throws -> Int {
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

public func waitForPort(_ port: Int, timeout: TimeInterval) throws {
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

/// Minimal HTTP GET over a socket (no client library needed for two probes).
public func httpGet(port: Int, path: String) async throws -> (Int, String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard r == 0 else { throw FixtureError("connect to :\(port) failed") }
    let req = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _ = req.withCString { send(fd, $0, strlen($0), 0) }
    var data = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        data += buf[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    return (status, body)
}
