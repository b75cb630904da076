import Foundation
import GRPCCore
import OMSAPI
import OMSCore
import OMSTestSupport
import Testing
@testable import OMSServerCore

/// UpdateRiskLimits changes the limits oms-core loads (the config file's
/// `risk:` section) and asks it to reload, with the new section in the
/// message; GetRiskLimits then returns the new values.
@Suite(.serialized) struct RiskLimitsTests {
    static func limit(_ scope: String, _ name: String, _ value: String) -> Oms_Api_V1_RiskLimit {
        var l = Oms_Api_V1_RiskLimit(); l.scope = scope; l.name = name; l.value = value; return l
    }

    static func repoConfig() throws -> String {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return try String(contentsOf: dir.appendingPathComponent("configs/config.yaml"), encoding: .utf8)
    }

    @Test func updateAppliesToTheFileReloadsAndGetReturnsTheEffectiveLimits() async throws {
        guard NATSServerFixture.binary != nil else { return }
        let original = try Self.repoConfig()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("risk-\(UUID().uuidString).yaml").path
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let h = try await Harness()
        try await h.startServer(instance: "risk", configSource: path)
        let A = Harness.tokenA, admin = Harness.tokenAdmin
        func get(_ token: String) async throws -> [String: String] {
            let limits = try await h.client(token) { c, md in try await c.getRiskLimits(Oms_Api_V1_GetRiskLimitsRequest(), metadata: md).limits }
            return Dictionary(limits.map { ("\($0.scope)/\($0.name)", $0.value) }, uniquingKeysWith: { _, b in b })
        }
        func update(_ token: String, _ limits: [Oms_Api_V1_RiskLimit]) async throws -> Oms_Api_V1_UpdateRiskLimitsResponse {
            try await h.client(token) { c, md in
                var r = Oms_Api_V1_UpdateRiskLimitsRequest(); r.limits = limits
                return try await c.updateRiskLimits(r, metadata: md)
            }
        }
        let before = try await get(A)
        #expect(before["symbol:BTCUSDT/max_order_qty"] == "5")
        #expect(before["defaults/max_open_orders"] == "200")
        #expect(before["symbol:binance.futures.BTCUSDT/max_order_qty"] == "10")

        // Not an admin: refused.
        await #expect { try await update(A, [Self.limit("defaults", "max_order_qty", "1")]) } throws: { e in (e as? RPCError)?.code == .permissionDenied }
        // Bad input: INVALID_ARGUMENT naming the field, nothing changed.
        for (bad, field) in [(Self.limit("defaults", "max_order_qtty", "1"), "limits[0].name:"),
                             (Self.limit("defaults", "max_order_qty", "-1"), "limits[0].value:"),
                             (Self.limit("defaults", "max_order_qty", "abc"), "limits[0].value:"),
                             (Self.limit("defaults", "max_open_orders", "1.5"), "limits[0].value:"),
                             (Self.limit("venue:x", "max_order_qty", "1"), "limits[0].scope:"),
                             (Self.limit("global", "max_order_qty", "1"), "limits[0].name:"),
                             (Self.limit("global", "allow_missing_reference", "maybe"), "limits[0].value:")] {
            await #expect { try await update(admin, [bad]) } throws: { e in
                guard let e = e as? RPCError else { return false }
                return e.code == .invalidArgument && e.message.hasPrefix(field)
            }
        }
        await #expect { try await update(admin, []) } throws: { e in (e as? RPCError)?.code == .invalidArgument }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == original)

        // Set, change, add and remove.
        let resp = try await update(admin, [Self.limit("symbol:BTCUSDT", "max_order_qty", "2"),
                                            Self.limit("defaults", "max_open_orders", "50"),
                                            Self.limit("account:alice-1", "daily_loss_limit", "1000.5"),
                                            Self.limit("symbol:binance.futures.BTCUSDT", "max_order_qty", ""),
                                            Self.limit("global", "reference_max_age_ms", "3000")])
        #expect(resp.reloadRequested)
        let after = try await get(A)
        #expect(after["symbol:BTCUSDT/max_order_qty"] == "2")
        #expect(after["defaults/max_open_orders"] == "50")
        #expect(after["account:alice-1/daily_loss_limit"] == "1000.5")
        #expect(after["symbol:binance.futures.BTCUSDT/max_order_qty"] == nil)
        #expect(after["global/reference_max_age_ms"] == "3000")
        #expect(after["symbol:BTCUSDT/max_position_long"] == "20")   // untouched limits stay
        #expect(after["defaults/max_order_notional"] == "1000000")

        // The file: only the risk: block changed; it still loads.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let head = original.components(separatedBy: "\nrisk:")[0]
        let tail = original.components(separatedBy: "# Static instrument rules")[1]
        #expect(text.hasPrefix(head + "\nrisk:"))
        #expect(text.hasSuffix("# Static instrument rules" + tail))
        #expect(text.contains("    BTCUSDT:\n      max_order_qty: \"2\"\n"))
        let reloaded = try OMSConfig.load(path: path, environment: [:])
        #expect(reloaded.omsServer.riskLimits.count == before.count)   // +1 account limit, -1 futures limit

        // oms-core was told to reload, with the new section in the message.
        let consumer = try h.js.pullConsumer(stream: "COMMANDS", ConsumerSpec(durable: "reload-check", filterSubject: "cmd.control.reload"))
        let msgs = try await consumer.fetch(batch: 10, timeout: .seconds(2))
        #expect(msgs.count == 1)
        let payload = String(decoding: msgs.first?.payload ?? [], as: UTF8.self)
        #expect(payload.hasPrefix("risk:\n  reference_max_age_ms: 3000\n"))
        #expect(payload.contains("      max_order_qty: \"2\"\n"))
        #expect(text.contains(payload))
        await h.shutdown()
    }

    @Test func riskBlockReplacementKeepsTheRestOfTheFile() {
        let text = "a: 1\n# about risk\nrisk:\n  defaults:\n    max_order_qty: \"1\"   # note\n\n# next\nb:\n  c: 2\n"
        let out = RiskLimitsFile.replaceRiskBlock(in: text, with: "risk:\n  defaults:\n    max_order_qty: \"3\"\n")
        #expect(out == "a: 1\n# about risk\nrisk:\n  defaults:\n    max_order_qty: \"3\"\n\n# next\nb:\n  c: 2\n")
        #expect(RiskLimitsFile.replaceRiskBlock(in: "a: 1\n", with: "risk:\n  defaults: {}\n") == "a: 1\nrisk:\n  defaults: {}\n")
    }

    /// Futures brackets are a nested block, not flat limits: a rewrite of `risk:` keeps them as written.
    @Test func bracketsSurviveARewrite() {
        let text = "risk:\n  defaults:\n    max_leverage: 50\n  brackets:\n    BTCUSDT:\n      - { cap: \"50000\", max_leverage: 125 }\n"
            + "  symbols: {}\nb: 1\n"
        #expect(RiskLimitsFile.keptBlocks(in: text) == "  brackets:\n    BTCUSDT:\n      - { cap: \"50000\", max_leverage: 125 }\n")
        #expect(RiskLimitsFile.keptBlocks(in: "risk:\n  defaults: {}\nbrackets: 1\n") == "")
    }
}
