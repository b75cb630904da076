import Foundation
/// Header names every mExOms message carries, so `nats sub 'orders.>'` shows
/// what a message is without decoding it.
public enum OMSHeader {
    /// JetStream de-duplication id (server-side, within the stream's duplicate window).
    public static let msgID = "Nats-Msg-Id"
    /// Fully-qualified protobuf type, e.g. `oms.v1.OrderEvent`.
    public static let type = "Oms-Type"
    /// The message's own id (order event id, trade id, command id ...).
    public static let id = "Oms-Id"
    /// Correlates everything caused by one client request.
    public static let traceID = "Oms-Trace-Id"
    /// The service that produced the message.
    public static let producer = "Oms-Producer"
    /// Content encoding of the payload; always `application/protobuf` for oms.v1.
    public static let contentType = "Content-Type"
    public static let protobufContentType = "application/protobuf"
}

/// An ordered list of header fields (NATS headers may repeat; we keep it simple
/// and ordered so publishes are deterministic).
public struct MessageHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var fields: [(String, String)]

    public init(_ fields: [(String, String)] = []) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, String)...) { self.fields = elements }

    public subscript(name: String) -> String? {
        get { fields.first { $0.0.equalsIgnoringCase(name) }?.1 }
        set {
            fields.removeAll { $0.0.equalsIgnoringCase(name) }
            if let newValue { fields.append((name, newValue)) }
        }
    }

    public var isEmpty: Bool { fields.isEmpty }

    public static func == (lhs: MessageHeaders, rhs: MessageHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

extension String {
    fileprivate func equalsIgnoringCase(_ other: String) -> Bool {
        self.lowercased() == other.lowercased()
    }
}
