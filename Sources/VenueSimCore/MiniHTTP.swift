// Tiny blocking HTTP/1.1 keep-alive client over a POSIX socket (tests and the benchmark; no extra deps).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public final class MiniHTTP {
    public struct Reply: Sendable { public var status: Int; public var headers: [String: String]; public var body: String }
    public enum Failure: Error { case connect, io, parse }
    let fd: Int32
    var buffer: [UInt8] = []

    public init(host: String = "127.0.0.1", port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure.connect }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw Failure.connect }
    }
    deinit { close(fd) }

    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: String = "") throws -> Reply {
        var req = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { req += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" {
            req += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n"
        }
        req += "\r\n" + body
        var bytes = Array(req.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress! + off, $0.count - off, 0) }
            if n <= 0 { throw Failure.io }
            off += n
        }
        // headers
        var headerEnd = -1
        while true {
            if let r = findCRLFCRLF() { headerEnd = r; break }
            try fill()
        }
        let head = String(decoding: buffer[0..<headerEnd], as: UTF8.self)
        buffer.removeFirst(headerEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure.parse }
        var h: [String: String] = [:]
        for l in lines {
            guard let c = l.firstIndex(of: ":") else { continue }
            h[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        var bodyBytes: [UInt8] = []
        if let cl = h["content-length"].flatMap({ Int($0) }) {
            while buffer.count < cl { try fill() }
            bodyBytes = Array(buffer[0..<cl])
            buffer.removeFirst(cl)
        } else if h["transfer-encoding"]?.lowercased() == "chunked" {
            while true {
                var lineEnd: Int? = nil
                while lineEnd == nil {
                    lineEnd = findCRLF()
                    if lineEnd == nil { try fill() }
                }
                let size = Int(String(decoding: buffer[0..<lineEnd!], as: UTF8.self).trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
                buffer.removeFirst(lineEnd! + 2)
                while buffer.count < size + 2 { try fill() }
                bodyBytes += buffer[0..<size]
                buffer.removeFirst(size + 2)
                if size == 0 { break }
            }
        }
        _ = bytes.count; bytes = []
        return Reply(status: status, headers: h, body: String(decoding: bodyBytes, as: UTF8.self))
    }

    func findCRLFCRLF() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
        return nil
    }
    func findCRLF() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for i in 0...(buffer.count - 2) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
        return nil
    }
    func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n <= 0 { throw Failure.io }
        buffer += chunk[0..<n]
    }

    /// `params&timestamp=..&signature=<hmac>`
    public static func sign(_ params: String, secret: String, timestamp: Int64 = nowMs()) -> String {
        let p = (params.isEmpty ? "" : params + "&") + "timestamp=\(timestamp)"
        return p + "&signature=" + Signer.hmacHex(secret: secret, payload: p)
    }
}

/// Runs blocking work on a dedicated thread (keeps the Swift concurrency pool free for the server).
public func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
        let t = Thread { do { c.resume(returning: try work()) } catch { c.resume(throwing: error) } }
        t.stackSize = 1 << 22
        t.start()
    }
}
