import Crypto
import Foundation
import Testing
@testable import BinanceConnector

/// The documented worked examples (binance-spot-api-docs rest-api.md / web-socket-api.md,
/// futures general-info.md), re-verified in the fact sheet with openssl.
@Suite struct SigningTests {
    static let spotSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    static let spotKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"

    @Test func h1SpotREST() {
        let params = [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "1"),
                      ("price", "0.1"), ("recvWindow", "5000"), ("timestamp", "1499827319559")]
        let payload = SignaturePayload.rest(params)
        #expect(payload == "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
        #expect(BinanceSigner.hmac(secret: Self.spotSecret).sign(payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
    }

    @Test func h2SpotRESTNonASCIIPercentEncoded() {
        let params = [("symbol", "１２３４５６"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "1"),
                      ("price", "0.1"), ("recvWindow", "5000"), ("timestamp", "1499827319559")]
        let payload = SignaturePayload.rest(params)
        #expect(payload.hasPrefix("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY"))
        #expect(BinanceSigner.hmac(secret: Self.spotSecret).sign(payload) == "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3")
    }

    @Test func h3SpotWebSocketSortedParams() {
        // Given in any order; the WebSocket API signs them sorted by name.
        let params = [("symbol", "BTCUSDT"), ("side", "SELL"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "0.01000000"),
                      ("price", "52000.00"), ("recvWindow", "100"), ("timestamp", "1645423376532"), ("apiKey", Self.spotKey)]
        let payload = SignaturePayload.webSocket(params)
        #expect(payload == "apiKey=\(Self.spotKey)&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT")
        #expect(BinanceSigner.hmac(secret: Self.spotSecret).sign(payload) == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24")
    }

    @Test func h4SpotWebSocketRawUTF8() {
        let params = [("apiKey", Self.spotKey), ("price", "0.10000000"), ("quantity", "1.00000000"), ("recvWindow", "5000"),
                      ("side", "BUY"), ("symbol", "１２３４５６"), ("timeInForce", "GTC"), ("timestamp", "1645423376532"), ("type", "LIMIT")]
        #expect(BinanceSigner.hmac(secret: Self.spotSecret).sign(SignaturePayload.webSocket(params)) == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd")
    }

    @Test func h5SessionLogon() {
        let payload = SignaturePayload.webSocket([("timestamp", "1649729878532"), ("apiKey", Self.spotKey)])
        #expect(BinanceSigner.hmac(secret: Self.spotSecret).sign(payload) == "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed")
    }

    @Test func f1Futures() {
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
        #expect(BinanceSigner.hmac(secret: "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9").sign(payload)
                == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9")
    }

    /// Binance publishes no Ed25519 private key, so the RFC 8032 vectors stand in
    /// (Ed25519 is deterministic: the same key and message give the same signature).
    @Test func ed25519RFC8032() throws {
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        let signer = try BinanceSigner.ed25519(privateKey: seed)
        let sig = signer.sign([UInt8]())
        let expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        #expect(Data(base64Encoded: sig).map { Hex.encode($0) } == expected)
        #expect(signer.publicKeyBase64.flatMap { Data(base64Encoded: $0) }.map { Hex.encode($0) }
                == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    }

    @Test func ed25519FromPKCS8PEMVerifies() throws {
        let key = Curve25519.Signing.PrivateKey()
        let der = Ed25519KeyParser.pkcs8Prefix + Array(key.rawRepresentation)
        let pem = "-----BEGIN PRIVATE KEY-----\n\(Data(der).base64EncodedString())\n-----END PRIVATE KEY-----\n"
        let signer = try BinanceSigner.ed25519(privateKey: pem)
        let payload = SignaturePayload.webSocket([("apiKey", "k"), ("timestamp", "1649729878532")])
        let sig = try #require(Data(base64Encoded: signer.sign(payload)))
        #expect(sig.count == 64)
        #expect(key.publicKey.isValidSignature(sig, for: Data(payload.utf8)))
    }

    @Test func credentialsNeverPrintSecrets() throws {
        let provider = StaticSecretsProvider(["binance-spot.api_key": Self.spotKey, "binance-spot.api_secret": Self.spotSecret])
        let creds = try #require(try BinanceCredentials.load(prefix: "binance-spot", from: provider))
        let text = "\(creds) \(String(describing: creds)) \(String(reflecting: creds))"
        #expect(!text.contains(Self.spotSecret))
        #expect(!text.contains(Self.spotKey))
        #expect(creds.signer.keyType == .hmac)
    }

    @Test func environmentProviderNames() throws {
        let p = EnvironmentSecretsProvider(environment: ["BINANCE_SPOT_API_KEY": "abc"])
        #expect(try p.secret("binance-spot.api_key") == "abc")
        #expect(try p.secret("binance-spot.api_secret") == nil)
    }
}

@Suite struct FixedPointTests {
    @Test func parseAndFormat() {
        #expect(FixedPoint.parse(Array("0.01000000".utf8))! == (1_000_000, 8))
        #expect(FixedPoint.parse(Array("-12.5".utf8))! == (-125, 1))
        #expect(FixedPoint.parse(Array("1e5".utf8)) == nil)
        #expect(FixedPoint.string(mantissa: 1_000_000, scale: 8) == "0.01")
        #expect(FixedPoint.string(mantissa: 5_200_000, scale: 2) == "52000")
        #expect(FixedPoint.string(mantissa: -5, scale: 3) == "-0.005")
        #expect(FixedPoint.string(mantissa: 12, scale: -2) == "1200")
        let d = FixedPoint.divide(Oms_V1_DecimalLiteral.make(1500, 2), Oms_V1_DecimalLiteral.make(3, 0), scale: 4)!
        #expect(d.mantissa == 50_000 && d.scale == 4)  // 15.00 / 3 = 5.0000
    }

    @Test func parseAtScale() {
        let bytes = Array("4.00000200".utf8)
        bytes.withUnsafeBytes { p in
            #expect(FixedPoint.parse(p, start: 0, end: p.count, scale: 8) == 400_000_200)
            #expect(FixedPoint.parse(p, start: 0, end: p.count, scale: 2) == 400)
        }
    }
}

import OMSCore
enum Oms_V1_DecimalLiteral {
    static func make(_ m: Int64, _ s: Int32) -> Oms_V1_Decimal { Oms_V1_Decimal(mantissa: m, scale: s) }
}
