import Crypto
import Foundation
import OMSCore

/// Who is calling: the token's name, its accounts, and whether it is an admin.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var accounts: Set<String>
    public var admin: Bool
    public init(name: String, accounts: Set<String>, admin: Bool = false) {
        self.name = name; self.accounts = accounts; self.admin = admin
    }
    public func owns(_ account: String) -> Bool { accounts.contains(account) }
}

/// Bearer tokens checked against their SHA-256 hashes (config `oms_server.tokens`).
public struct TokenAuthenticator: Sendable {
    let byHash: [String: Principal]

    public init(tokens: [OMSServerSettings.APIToken]) {
        var m: [String: Principal] = [:]
        for t in tokens { m[t.sha256.lowercased()] = Principal(name: t.name, accounts: Set(t.accounts), admin: t.admin) }
        byHash = m
    }

    public static func sha256Hex(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }

    /// `authorization` metadata value ("Bearer <token>" or the bare token).
    public func authenticate(authorization: String?) -> Principal? {
        guard var token = authorization?.trimmingCharacters(in: .whitespaces), !token.isEmpty else { return nil }
        if token.lowercased().hasPrefix("bearer ") { token = String(token.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        return byHash[Self.sha256Hex(token)]
    }
}

/// Deterministic ids: a duplicate submit (same account and client order id)
/// produces the same command id (the JetStream Nats-Msg-Id) and order id.
public enum OrderIDs {
    static func digest(_ parts: String...) -> String {
        let h = SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8))
        return Hex.encode(h.prefix(12))
    }
    public static func commandID(account: String, clientOrderID: String) -> String { "new-" + digest("new", account, clientOrderID) }
    public static func orderID(account: String, clientOrderID: String) -> String { "o" + digest("order", account, clientOrderID) }
    public static func fingerprint(_ bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }
}
