import Foundation
import Logging
import OMSCore

/// The Binance USDⓈ-M futures connector as an OMS service behaviour: config → REST + rate limiter + clock →
/// instruments → market data (diff depth with the `pu` procedure on /public) + execution (REST /fapi, listenKey
/// user data on /private, settings applied and verified, positions and margin on positions.binance.futures).
public enum BinanceFuturesAdapter {
    public static func run(runtime rt: OMSRuntime, secrets: (any SecretsProvider)? = nil) async throws {
        guard let venue = rt.config.venue("binance", "futures"), venue.enabled else {
            rt.logger.warning("exchanges.binance.futures is not enabled; the connector stays idle")
            rt.health.set("venue_session", ok: true, detail: "disabled by config")
            return
        }
        let extra = BinanceVenueConfig.Extra.load(path: rt.config.sourcePath, exchange: "binance", market: "futures")
        var config = BinanceVenueConfig(product: .futures, venue: venue, extra: extra)
        let settings = try FuturesSettings.load(path: rt.config.sourcePath)
        let provider = secrets ?? BinanceAdapter.defaultSecretsProvider()
        let credentials = try BinanceCredentials.load(prefix: config.credentialsName, from: provider)
        rt.logger.info("binance futures connector", metadata: [
            "rest": "\(config.restBaseURL)", "streams": "\(config.streamBaseURL)", "test_net": "\(config.testNet)",
            "credentials": "\(credentials.map { "\($0)" } ?? "none (market data only)")"])
        let limiter = BinanceRateLimiter(limits: config.rateLimits)
        let rest = BinanceRESTClient(config: config, credentials: credentials, limiter: limiter, clock: ServerClock(), logger: rt.logger)
        defer { Task { await rest.shutdown() } }
        var info: ExchangeInfo?
        var delay: Duration = .milliseconds(200)
        while info == nil && !Task.isCancelled {
            do { info = try await rest.exchangeInfo() } catch {
                rt.health.set("venue_rest", ok: false, detail: "\(error)")
                rt.logger.warning("exchangeInfo failed, retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
        guard let info else { return }
        rt.health.set("venue_rest", ok: true, detail: config.restBaseURL)
        limiter.apply(exchangeLimits: (info.rateLimits ?? []).map { ($0.rateLimitType, $0.interval, $0.intervalNum, $0.limit) })
        if config.symbols.isEmpty { config.symbols = Array(info.symbols.filter { $0.status == "TRADING" }.map(\.symbol).prefix(20)) }
        await BinanceAdapter.publishInstruments(info, config: config, rt: rt)

        let md = BinanceMarketDataClient(config: config, symbols: config.symbols, rest: rest, nats: rt.nats, logger: rt.logger, producer: rt.service)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await md.run() }
            if credentials != nil {
                let exec = BinanceFuturesExecutionClient(config: config, settings: settings, rest: rest, jetStream: rt.jetStream,
                                                         logger: rt.logger, health: rt.health, producer: rt.service)
                group.addTask { try await exec.run() }
            } else {
                rt.logger.warning("no API credentials (env \(EnvironmentSecretsProvider.variableName(config.credentialsName + ".api_key"))): orders are not consumed")
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
