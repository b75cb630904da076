import Foundation
import OMSCore

/// An append-only JSONL file: appends are fsynced before they count, and a
/// torn last line (a crash mid-write) is cut off when the file is opened.
public final class AppendOnlyLog {
    public let path: String
    private let fd: Int32

    public init(path: String) throws {
        self.path = path
        try DurableFile.ensureDirectory((path as NSString).deletingLastPathComponent)
        let created = !FileManager.default.fileExists(atPath: path)
        fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw DurableFile.IOError(path: path, operation: "open", errno: errno) }
        try Self.repairTornTail(fd: fd, path: path)
        if created { DurableFile.syncDirectory((path as NSString).deletingLastPathComponent) }
    }

    deinit { close(fd) }

    /// Truncates everything after the last newline.
    static func repairTornTail(fd: Int32, path: String) throws {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return }
        var pos = size
        var byte: UInt8 = 0
        let chunk = 4096
        var buf = [UInt8](repeating: 0, count: chunk)
        // Scan backwards for the last '\n'.
        while pos > 0 {
            let start = max(0, pos - off_t(chunk))
            let n = pread(fd, &buf, Int(pos - start), start)
            guard n > 0 else { break }
            if let i = buf[0..<n].lastIndex(of: 0x0A) {
                let keep = start + off_t(i) + 1
                if keep < size {
                    guard ftruncate(fd, keep) == 0 else { throw DurableFile.IOError(path: path, operation: "truncate", errno: errno) }
                    fsync(fd)
                }
                return
            }
            pos = start
        }
        _ = byte
        // No newline at all: the whole file is one torn line.
        guard ftruncate(fd, 0) == 0 else { throw DurableFile.IOError(path: path, operation: "truncate", errno: errno) }
        fsync(fd)
    }

    public func append(_ data: Data) throws {
        try DurableFile.writeAll(fd, data, path: path)
    }

    public func sync() throws {
        guard fsync(fd) == 0 else { throw DurableFile.IOError(path: path, operation: "fsync", errno: errno) }
    }

    /// Every complete line in the file.
    public static func readLines(_ path: String) -> [Substring] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }  // torn tail
        return lines
    }
}
