import Foundation
import CNATS

/// A received NATS message, copied out of nats.c memory so it can cross threads.
public struct NATSMessage: Sendable {
    public var subject: String
    public var reply: String?
    public var headers: MessageHeaders
    public var payload: [UInt8]

    public init(subject: String, reply: String? = nil, headers: MessageHeaders = [:], payload: [UInt8]) {
        self.subject = subject
        self.reply = reply
        self.headers = headers
        self.payload = payload
    }

    /// Copies subject, reply, headers and payload out of a `natsMsg*` (does not destroy it).
    init(copying msg: OpaquePointer) {
        subject = String(cString: natsMsg_GetSubject(msg))
        if let r = natsMsg_GetReply(msg) { reply = String(cString: r) } else { reply = nil }
        headers = NATSMessage.readHeaders(msg)
        let length = Int(natsMsg_GetDataLength(msg))
        if length > 0, let data = natsMsg_GetData(msg) {
            payload = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
        } else {
            payload = []
        }
    }

    static func readHeaders(_ msg: OpaquePointer) -> MessageHeaders {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK, let keys else { return [:] }
        defer { free(keys) }
        var fields: [(String, String)] = []
        fields.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            guard let key = keys[i] else { continue }
            var value: UnsafePointer<CChar>?
            if natsMsgHeader_Get(msg, key, &value) == NATS_OK, let value {
                fields.append((String(cString: key), String(cString: value)))
            }
        }
        // nats.c returns keys in hash order; sort for deterministic output.
        fields.sort { $0.0 < $1.0 }
        return MessageHeaders(fields)
    }
}

/// Creates a `natsMsg*` with headers; the caller owns the result.
func makeNatsMsg(subject: String, reply: String?, headers: MessageHeaders, payload: UnsafeRawBufferPointer) throws -> OpaquePointer {
    var msg: OpaquePointer?
    let base = payload.baseAddress?.assumingMemoryBound(to: CChar.self)
    try check(natsMsg_Create(&msg, subject, reply, base, Int32(payload.count)), "create message on \(subject)")
    guard let msg else { throw NATSError(status: NATS_NO_MEMORY, operation: "create message") }
    for (name, value) in headers.fields {
        let s = natsMsgHeader_Add(msg, name, value)
        if s != NATS_OK {
            natsMsg_Destroy(msg)
            throw NATSError(status: s, operation: "set header \(name)")
        }
    }
    return msg
}
