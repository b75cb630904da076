// Request signing exactly as Binance verifies it.
import Crypto
import Foundation

public enum Signer {
    /// HMAC-SHA256 hex of `payload` with `secret`.
    public static func hmacHex(secret: String, payload: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    public static func verifyHMAC(secret: String, payload: String, signature: String) -> Bool {
        let expected = hmacHex(secret: secret, payload: payload)
        let got = signature.lowercased()
        guard expected.utf8.count == got.utf8.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(expected.utf8, got.utf8) { diff |= a ^ b }
        return diff == 0
    }

    /// Ed25519: signature is base64 (already URL-decoded by the parameter parser).
    public static func verifyEd25519(publicKey: Curve25519.Signing.PublicKey, payload: String, signatureBase64: String) -> Bool {
        guard let sig = Data(base64Encoded: signatureBase64) else { return false }
        return publicKey.isValidSignature(sig, for: Data(payload.utf8))
    }

    /// Accepts a PEM SubjectPublicKeyInfo (what Binance asks users to upload) or raw base64 / hex 32 bytes.
    public static func ed25519PublicKey(_ text: String) -> Curve25519.Signing.PublicKey? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var der: Data?
        if t.contains("-----BEGIN") {
            let body = t.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            der = Data(base64Encoded: body)
        } else if t.count == 64, let d = hexData(t) {
            der = d
        } else {
            der = Data(base64Encoded: t)
        }
        guard let d = der else { return nil }
        let raw = d.count == 44 ? d.suffix(32) : d
        guard raw.count == 32 else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    /// PEM for a public key (tests and docs).
    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        let prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
        let der = Data(prefix) + key.rawRepresentation
        return "-----BEGIN PUBLIC KEY-----\n\(der.base64EncodedString())\n-----END PUBLIC KEY-----\n"
    }

    static func hexData(_ s: String) -> Data? {
        var d = Data()
        var it = s.utf8.makeIterator()
        while let a = it.next() {
            guard let b = it.next(), let h = UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16) else { return nil }
            d.append(h)
        }
        return d
    }

    /// REST: totalParams = query string + request body, with the `signature` parameter removed.
    public static func restPayload(query: String, body: String) -> (payload: String, signature: String?) {
        var sig: String?
        func strip(_ s: String) -> String {
            if s.isEmpty { return s }
            var kept: [Substring] = []
            for part in s.split(separator: "&", omittingEmptySubsequences: false) {
                if part.hasPrefix("signature=") { sig = String(part.dropFirst("signature=".count)); continue }
                kept.append(part)
            }
            return kept.joined(separator: "&")
        }
        let q = strip(query)
        let b = strip(body)
        return (q + b, sig.flatMap { $0.removingPercentEncoding })
    }

    /// WS API: all params except signature, sorted by name, `k=v&...`, no percent-encoding.
    public static func wsPayload(_ p: Params) -> String {
        p.items.filter { $0.0 != "signature" }.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }
}
