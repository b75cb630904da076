import Foundation
import OMSCore
import SwiftProtobuf
import Testing

/// proto/testdata holds vectors encoded by protoc (Google's reference
/// encoder). Swift must decode each and re-encode it byte for byte; the C++
/// side runs the same check with protobuf-c (cpp-core/tests), so the two
/// languages can never drift apart on the wire.
@Suite struct GoldenVectorTests {
    static let testdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../proto/testdata").standardized

    static func manifest() throws -> [(name: String, type: String)] {
        let text = try String(contentsOf: testdata.appendingPathComponent("MANIFEST"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            return (String(parts[0]), String(parts[1]))
        }
    }

    @Test func manifestCoversEveryTopLevelWireMessage() throws {
        let types = Set(try Self.manifest().map(\.type))
        for wire in ["oms.v1.OrderCommand", "oms.v1.OrderEvent", "oms.v1.Fill", "oms.v1.AccountUpdate", "oms.v1.RiskDecision",
                     "oms.v1.RiskControl", "oms.v1.RoutingDecision", "oms.v1.BookSnapshot", "oms.v1.BookDelta",
                     "oms.v1.TopOfBook", "oms.v1.Heartbeat", "oms.v1.InstrumentList", "oms.v1.Instrument"] {
            #expect(types.contains(wire), "no golden vector for \(wire)")
        }
        #expect(try Self.manifest().count >= 25)
    }

    @Test(arguments: try GoldenVectorTests.manifest().map(\.name))
    func decodesAndReencodesByteIdentically(name: String) throws {
        let entry = try #require(try Self.manifest().first { $0.name == name })
        let bytes = try [UInt8](Data(contentsOf: Self.testdata.appendingPathComponent("\(name).bin")))
        let message = try MessageRegistry.decode(typeName: entry.type, bytes: bytes)
        let reencoded: [UInt8] = try message.serializedBytes()
        #expect(reencoded == bytes, "\(name) (\(entry.type)): \(reencoded.count) bytes re-encoded vs \(bytes.count) golden")
        // And the text source decodes to the same message (the vector really is what the .txtpb says).
        let text = try String(contentsOf: Self.testdata.appendingPathComponent("\(name).txtpb"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        let type = try #require(MessageRegistry.types[entry.type])
        let fromText = try type.init(textFormatString: text, extensions: nil)
        #expect(fromText.isEqualTo(message: message))
    }

    @Test func edgeValuesSurvive() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.testdata.appendingPathComponent("command_new_routed_edge.bin")))
        let cmd = try Oms_V1_OrderCommand(serializedBytes: bytes)
        #expect(cmd.commandID == "cmd-ünïcødé-注文-🚀")
        #expect(cmd.newOrder.quantity.mantissa == Int64.max)
        #expect(cmd.newOrder.price.mantissa == -1)
        #expect(cmd.newOrder.tsNs == -1)
        #expect(cmd.newOrder.routing.allowedVenues == ["binance.spot", "okx.spot", "", "bybit.spot"])
        // proto3 "optional" modelled as a one-field oneof: presence of a zero value is kept.
        #expect(cmd.newOrder.expireAt == .expireTimeNs(0))
    }

    @Test func unknownTypeIsAClearError() {
        #expect(throws: MessageRegistry.UnknownType.self) {
            try MessageRegistry.decode(typeName: "oms.v1.Nope", bytes: [])
        }
    }
}

/// Fails when a .proto changed without `make proto`: the generated Swift and C
/// code record the SHA-256 of the contracts they were generated from.
@Suite struct GeneratedCodeFreshnessTests {
    @Test func generatedCodeMatchesProtoSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let recorded = try String(contentsOf: root.appendingPathComponent("proto/GENERATED_FROM"), encoding: .utf8)
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("proto/oms/v1").path)
            .filter { $0.hasSuffix(".proto") }.sorted().map { "proto/oms/v1/\($0)" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = files
        p.currentDirectoryURL = root
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(recorded.split(separator: "\n").map(String.init) == lines,
                "proto sources changed since code generation: run `make proto` and commit the result")
    }
}
