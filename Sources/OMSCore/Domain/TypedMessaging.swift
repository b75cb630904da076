import Foundation
import SwiftProtobuf

/// Standard headers for a contract message: its type and id, the producer and
/// the trace id, so `nats sub` shows what each message is.
public func omsHeaders<M: SwiftProtobuf.Message>(for type: M.Type, id: String, producer: String, traceID: String? = nil) -> MessageHeaders {
    var h = MessageHeaders([
        (OMSHeader.type, M.protoMessageName),
        (OMSHeader.id, id),
        (OMSHeader.producer, producer),
        (OMSHeader.contentType, OMSHeader.protobufContentType),
    ])
    if let traceID { h[OMSHeader.traceID] = traceID }
    return h
}

extension NATSConnection {
    /// Core NATS publish of a contract message (heartbeats, replies).
    public func publish<M: SwiftProtobuf.Message>(_ message: M, subject: String, id: String, producer: String, traceID: String? = nil) throws {
        let bytes: [UInt8] = try message.serializedBytes()
        try publish(subject, payload: bytes, headers: omsHeaders(for: M.self, id: id, producer: producer, traceID: traceID))
    }
}

extension JetStream {
    /// Durable publish of a contract message; `id` is also the `Nats-Msg-Id`,
    /// so a retry after a crash is dropped by the stream as a duplicate.
    public func publish<M: SwiftProtobuf.Message>(_ message: M, subject: String, id: String, producer: String, traceID: String? = nil) async throws -> PubAck {
        let bytes: [UInt8] = try message.serializedBytes()
        return try await publish(subject, payload: bytes, headers: omsHeaders(for: M.self, id: id, producer: producer, traceID: traceID), msgID: id)
    }
}

/// Every oms.v1 message type by its full name, for tools that decode any
/// subject (omsctl) and for the golden-vector tests.
public enum MessageRegistry {
    public static let types: [String: any SwiftProtobuf.Message.Type] = {
        let all: [any SwiftProtobuf.Message.Type] = [
            Oms_V1_Decimal.self, Oms_V1_InstrumentId.self, Oms_V1_Instrument.self, Oms_V1_InstrumentList.self,
            Oms_V1_RoutingInstruction.self, Oms_V1_NewOrder.self, Oms_V1_CancelOrder.self, Oms_V1_AmendOrder.self,
            Oms_V1_CancelAll.self, Oms_V1_OrderCommand.self, Oms_V1_Order.self, Oms_V1_OrderEvent.self,
            Oms_V1_Fill.self, Oms_V1_Position.self, Oms_V1_Balance.self, Oms_V1_AccountUpdate.self,
            Oms_V1_RiskDecision.self, Oms_V1_KillSwitch.self, Oms_V1_SetTradingState.self, Oms_V1_RiskControl.self, Oms_V1_Alert.self,
            Oms_V1_VenueQuote.self, Oms_V1_ChildAllocation.self, Oms_V1_RoutingDecision.self,
            Oms_V1_BookLevel.self, Oms_V1_BookSnapshot.self, Oms_V1_BookDelta.self, Oms_V1_TopOfBook.self,
            Oms_V1_HeartbeatDetail.self, Oms_V1_Heartbeat.self,
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.protoMessageName, $0) })
    }()

    public struct UnknownType: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "unknown message type \"\(name)\" (expected one of oms.v1.*)" }
    }

    public static func decode(typeName: String, bytes: [UInt8]) throws -> any SwiftProtobuf.Message {
        guard let type = types[typeName] else { throw UnknownType(name: typeName) }
        return try type.init(serializedBytes: bytes, extensions: nil, partial: false, options: BinaryDecodingOptions())
    }

    /// Readable JSON of any contract message (proto3 JSON mapping, field names as in .proto).
    public static func json(typeName: String, bytes: [UInt8], pretty: Bool = false) throws -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        options.alwaysPrintEnumsAsInts = false
        let text = try decode(typeName: typeName, bytes: bytes).jsonString(options: options)
        guard pretty, let data = text.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: data),
              let out = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) else { return text }
        return String(decoding: out, as: UTF8.self)
    }
}
