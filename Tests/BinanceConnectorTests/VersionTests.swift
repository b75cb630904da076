import BinanceConnector
import Testing
@Test func version() { #expect(!BinanceConnectorVersion.current.isEmpty) }
