import Crypto
import Foundation
import Testing
@testable import VenueSimCore

@Suite struct SignatureTests {
    static let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    static let apiKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"

    @Test func hmacRESTExampleFromDocs() {
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        #expect(Signer.hmacHex(secret: Self.secret, payload: payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
        #expect(Signer.verifyHMAC(secret: Self.secret, payload: payload, signature: "C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71"))
        #expect(!Signer.verifyHMAC(secret: Self.secret, payload: payload + "0", signature: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"))
    }

    @Test func hmacNonASCIIExample() {
        let payload = "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        #expect(Signer.hmacHex(secret: Self.secret, payload: payload) == "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3")
    }

    @Test func restPayloadIsQueryPlusBodyWithoutSignature() {
        let q = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
        let b = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=abc"
        let (payload, sig) = Signer.restPayload(query: q, body: b)
        #expect(payload == "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
        #expect(sig == "abc")
        // documented "mixed" example signature for this exact concatenation
        #expect(Signer.hmacHex(secret: Self.secret, payload: payload) == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77")
    }

    @Test func wsAPIExamples() {
        var p = Params([("symbol", "BTCUSDT"), ("side", "SELL"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "0.01000000"),
                        ("price", "52000.00"), ("recvWindow", "100"), ("timestamp", "1645423376532"), ("apiKey", Self.apiKey),
                        ("signature", "x")])
        #expect(Signer.hmacHex(secret: Self.secret, payload: Signer.wsPayload(p)) == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24")
        p = Params([("apiKey", Self.apiKey), ("timestamp", "1649729878532")])
        #expect(Signer.hmacHex(secret: Self.secret, payload: Signer.wsPayload(p)) == "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed")
        p = Params([("symbol", "１２３４５６"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "1.00000000"),
                    ("price", "0.10000000"), ("recvWindow", "5000"), ("timestamp", "1645423376532"), ("apiKey", Self.apiKey)])
        #expect(Signer.hmacHex(secret: Self.secret, payload: Signer.wsPayload(p)) == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd")
    }

    @Test func ed25519WithGeneratedKey() throws {
        let priv = Curve25519.Signing.PrivateKey()
        let pem = Signer.pem(priv.publicKey)
        let pub = try #require(Signer.ed25519PublicKey(pem))
        let payload = "apiKey=abc&timestamp=1649729878532"
        let sig = try priv.signature(for: Data(payload.utf8)).base64EncodedString()
        #expect(Signer.verifyEd25519(publicKey: pub, payload: payload, signatureBase64: sig))
        #expect(!Signer.verifyEd25519(publicKey: pub, payload: payload + "1", signatureBase64: sig))
        #expect(!Signer.verifyEd25519(publicKey: pub, payload: payload, signatureBase64: "not base64!"))
        // raw base64 key form
        #expect(Signer.ed25519PublicKey(priv.publicKey.rawRepresentation.base64EncodedString()) != nil)
    }
}
