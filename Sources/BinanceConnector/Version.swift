public enum BinanceConnectorVersion { public static let current = "0.1.0" }
