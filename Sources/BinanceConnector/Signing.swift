@preconcurrency import Crypto
import Foundation
import OMSCore

/// How a request is signed. HMAC-SHA256 gives lower-case hex; Ed25519 gives
/// base64 (percent-encoded when it travels in a query string). `session.logon`
/// on the WebSocket API accepts Ed25519 keys only.
public enum BinanceSigner: @unchecked Sendable {
    case hmac(SymmetricKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    public enum KeyType: String, Sendable { case hmac, ed25519 }

    public var keyType: KeyType {
        switch self {
        case .hmac: .hmac
        case .ed25519: .ed25519
        }
    }

    public static func hmac(secret: String) -> BinanceSigner {
        .hmac(SymmetricKey(data: Array(secret.utf8)))
    }

    /// Ed25519 from a PEM "PRIVATE KEY" (PKCS#8, as Binance's key generator writes it),
    /// from base64 of the PKCS#8 DER, or from a 32-byte raw seed in hex or base64.
    public static func ed25519(privateKey text: String) throws -> BinanceSigner {
        let seed = try Ed25519KeyParser.seed(from: text)
        return .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: seed))
    }

    /// The signature text Binance expects: hex for HMAC, base64 for Ed25519.
    public func sign(_ payload: String) -> String {
        sign(Array(payload.utf8))
    }

    public func sign(_ payload: [UInt8]) -> String {
        switch self {
        case .hmac(let key):
            let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
            return Hex.encode(mac)
        case .ed25519(let key):
            let sig = (try? key.signature(for: payload)) ?? Data()
            return Data(sig).base64EncodedString()
        }
    }

    /// Ed25519's public key (base64 of the raw 32 bytes), for registering with a venue (or venue-sim).
    public var publicKeyBase64: String? {
        if case .ed25519(let k) = self { return k.publicKey.rawRepresentation.base64EncodedString() }
        return nil
    }
}

extension Hex {
    static func encode(_ mac: HashedAuthenticationCode<SHA256>) -> String {
        mac.withUnsafeBytes { encode($0) }
    }
}

public struct SigningError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

enum Ed25519KeyParser {
    /// PKCS#8 prefix of an Ed25519 private key (RFC 8410): SEQUENCE, version 0, OID 1.3.101.112, OCTET STRING(OCTET STRING(32)).
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    static func seed(from text: String) throws -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, let raw = Hex.decode(trimmed) { return raw }
        let body = trimmed.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body.trimmingCharacters(in: .whitespaces)).map(Array.init) else {
            throw SigningError(description: "Ed25519 private key is neither PEM/PKCS#8, base64 nor 64 hex digits")
        }
        if der.count == 32 { return der }
        if der.count >= 48, Array(der.prefix(16)) == pkcs8Prefix { return Array(der[16..<48]) }
        throw SigningError(description: "Ed25519 private key: unsupported encoding (\(der.count) bytes; expected PKCS#8 Ed25519)")
    }
}

/// Request payloads exactly as Binance signs them.
public enum SignaturePayload {
    /// REST: the query string (or form body) in the order given, values
    /// percent-encoded (RFC 3986 unreserved characters kept), as sent.
    public static func rest(_ params: [(String, String)]) -> String {
        params.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    /// WebSocket API: every parameter except `signature`, sorted by name, `k=v`
    /// joined with `&`, raw UTF-8 without percent-encoding.
    public static func webSocket(_ params: [(String, String)]) -> String {
        params.filter { $0.0 != "signature" }.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))

    public static func percentEncode(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        let hex = Array("0123456789ABCDEF")
        for b in s.utf8 {
            if unreserved.contains(b) {
                out.unicodeScalars.append(UnicodeScalar(b))
            } else {
                out.append("%")
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return out
    }
}
