import Foundation

/// API credentials. `description` never prints the secret parts.
public struct BinanceCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var apiKey: String
    public var signer: BinanceSigner

    public init(apiKey: String, signer: BinanceSigner) {
        self.apiKey = apiKey
        self.signer = signer
    }

    public var description: String {
        "BinanceCredentials(apiKey: \(apiKey.prefix(4))…(\(apiKey.count) chars), keyType: \(signer.keyType.rawValue))"
    }
    public var debugDescription: String { description }
}

/// Where secrets come from. Vault arrives with a later issue; environment
/// variables and files are enough until then. Implementations must never log values.
public protocol SecretsProvider: Sendable {
    /// The value of secret `name`, or nil when it is not set.
    func secret(_ name: String) throws -> String?
}

/// `NAME` upper-cased with non-alphanumerics as '_': `binance-spot.api_key` -> `BINANCE_SPOT_API_KEY`.
public struct EnvironmentSecretsProvider: SecretsProvider {
    let environment: [String: String]
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) { self.environment = environment }

    public static func variableName(_ name: String) -> String {
        String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    public func secret(_ name: String) throws -> String? {
        let key = Self.variableName(name)
        if let v = environment[key], !v.isEmpty { return v }
        // NAME_FILE points at a file holding the value (docker/k8s secrets style).
        if let path = environment[key + "_FILE"], !path.isEmpty {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }
}

/// A directory with one file per secret (`<dir>/<name>`), e.g. a mounted secrets volume.
public struct FileSecretsProvider: SecretsProvider {
    let directory: String
    public init(directory: String) { self.directory = directory }
    public func secret(_ name: String) throws -> String? {
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Tries each provider in turn.
public struct ChainedSecretsProvider: SecretsProvider {
    let providers: [any SecretsProvider]
    public init(_ providers: [any SecretsProvider]) { self.providers = providers }
    public func secret(_ name: String) throws -> String? {
        for p in providers { if let v = try p.secret(name) { return v } }
        return nil
    }
}

/// In-memory secrets (tests).
public struct StaticSecretsProvider: SecretsProvider {
    let values: [String: String]
    public init(_ values: [String: String]) { self.values = values }
    public func secret(_ name: String) throws -> String? { values[name] }
}

extension BinanceCredentials {
    /// Loads `<prefix>.api_key` and either `<prefix>.ed25519_private_key` (PEM, preferred:
    /// it allows `session.logon`) or `<prefix>.api_secret` (HMAC). `prefix` is the config's
    /// `credentials` name, e.g. `binance-spot` (env BINANCE_SPOT_API_KEY, BINANCE_SPOT_API_SECRET,
    /// BINANCE_SPOT_ED25519_PRIVATE_KEY or ..._FILE).
    public static func load(prefix: String, from provider: any SecretsProvider) throws -> BinanceCredentials? {
        guard let apiKey = try provider.secret("\(prefix).api_key") else { return nil }
        if let pem = try provider.secret("\(prefix).ed25519_private_key") {
            return BinanceCredentials(apiKey: apiKey, signer: try .ed25519(privateKey: pem))
        }
        if let secret = try provider.secret("\(prefix).api_secret") {
            return BinanceCredentials(apiKey: apiKey, signer: .hmac(secret: secret))
        }
        throw SigningError(description: "\(prefix): api_key is set but neither ed25519_private_key nor api_secret is")
    }
}
