import Foundation

/// File operations that survive `kill -9` and power loss: write a temp file,
/// fsync it, rename over the target, fsync the directory.
public enum DurableFile {
    public struct IOError: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var errno: Int32
        public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
        public init(path: String, operation: String, errno: Int32) {
            self.path = path; self.operation = operation; self.errno = errno
        }
    }

    public static func writeAtomically(_ data: Data, to path: String) throws {
        try ensureDirectory((path as NSString).deletingLastPathComponent)
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw IOError(path: tmp, operation: "open", errno: errno) }
        do {
            try writeAll(fd, data, path: tmp)
            guard fsync(fd) == 0 else { throw IOError(path: tmp, operation: "fsync", errno: errno) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        guard rename(tmp, path) == 0 else { throw IOError(path: path, operation: "rename", errno: errno) }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    public static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buf.count {
                let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw IOError(path: path, operation: "write", errno: errno)
                }
                offset += n
            }
        }
    }

    public static func ensureDirectory(_ dir: String) throws {
        guard !dir.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    public static func syncDirectory(_ dir: String) {
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
