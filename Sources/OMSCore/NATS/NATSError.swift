import Foundation
import CNATS

/// An error from nats.c, carrying the library's status and its last error text.
public struct NATSError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let operation: String
    public var detail: String
    /// JetStream API error code (e.g. 10058 stream name in use), 0 if none.
    public let jetStreamCode: Int32

    public init(status: natsStatus, operation: String, jsErr: jsErrCode = jsErrCode(0)) {
        self.status = Int32(status.rawValue)
        self.operation = operation
        var text = String(cString: natsStatus_GetText(status))
        var lastStatus = NATS_OK
        if let last = nats_GetLastError(&lastStatus), lastStatus == status {
            let s = String(cString: last)
            if !s.isEmpty { text = s }
        }
        self.detail = text
        self.jetStreamCode = Int32(jsErr.rawValue)
    }

    public var isTimeout: Bool { status == Int32(NATS_TIMEOUT.rawValue) }
    public var isNotFound: Bool { status == Int32(NATS_NOT_FOUND.rawValue) }
    public var isConnectionClosed: Bool {
        status == Int32(NATS_CONNECTION_CLOSED.rawValue) || status == Int32(NATS_NO_SERVER.rawValue)
    }

    public var description: String {
        jetStreamCode != 0
            ? "\(operation): \(detail) (nats status \(status), jetstream error \(jetStreamCode))"
            : "\(operation): \(detail) (nats status \(status))"
    }
}

@inline(__always)
func check(_ status: natsStatus, _ operation: @autoclosure () -> String, jsErr: jsErrCode = jsErrCode(0)) throws(NATSError) {
    if status != NATS_OK { throw NATSError(status: status, operation: operation(), jsErr: jsErr) }
}
