import Foundation
import Logging
import OMSCore

/// The whole connector for one Binance product, run as an OMS service behaviour:
/// config -> REST + rate limiter + clock -> instruments -> market data + execution.
public enum BinanceAdapter {
    public static func run(runtime rt: OMSRuntime, product: BinanceVenueConfig.Product,
                           secrets: (any SecretsProvider)? = nil) async throws {
        let market = product == .spot ? "spot" : "futures"
        guard let venue = rt.config.venue("binance", market), venue.enabled else {
            rt.logger.warning("exchanges.binance.\(market) is not enabled; the connector stays idle")
            rt.health.set("venue_session", ok: true, detail: "disabled by config")
            return
        }
        let extra = BinanceVenueConfig.Extra.load(path: rt.config.sourcePath, exchange: "binance", market: market)
        var config = BinanceVenueConfig(product: product, venue: venue, extra: extra)
        let provider = secrets ?? defaultSecretsProvider()
        let credentials: BinanceCredentials?
        do { credentials = try BinanceCredentials.load(prefix: config.credentialsName, from: provider) } catch {
            rt.logger.error("credentials unusable", metadata: ["error": "\(error)"])
            throw error
        }
        rt.logger.info("binance connector", metadata: [
            "rest": "\(config.restBaseURL)", "ws_api": "\(config.wsAPIURL)", "streams": "\(config.streamBaseURL)",
            "order_path": "\(config.orderPath.rawValue)", "test_net": "\(config.testNet)",
            "credentials": "\(credentials.map { "\($0)" } ?? "none (market data only)")"])
        let limiter = BinanceRateLimiter(limits: config.rateLimits)
        let clock = ServerClock()
        let rest = BinanceRESTClient(config: config, credentials: credentials, limiter: limiter, clock: clock, logger: rt.logger)
        defer { Task { await rest.shutdown() } }

        // Instruments and exchange rate limits (retry until the venue answers).
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
        if config.symbols.isEmpty {
            config.symbols = Array(info.symbols.filter { $0.status == "TRADING" }.map(\.symbol).prefix(20))
        }
        await publishInstruments(info, config: config, rt: rt)

        let md = BinanceMarketDataClient(config: config, symbols: config.symbols, rest: rest, nats: rt.nats, logger: rt.logger, producer: rt.service)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await md.run() }
            if let credentials {
                // The WebSocket API session also carries the user data stream, so it runs whatever the order path.
                let ws = BinanceWSAPIClient(config: config, credentials: credentials, clock: clock, limiter: limiter, logger: rt.logger)
                let exec = BinanceExecutionClient(config: config, rest: rest, ws: ws, jetStream: rt.jetStream, logger: rt.logger,
                                                  health: rt.health, producer: rt.service)
                group.addTask { try await exec.run() }
            } else {
                rt.logger.warning("no API credentials (env \(EnvironmentSecretsProvider.variableName(config.credentialsName + ".api_key"))): orders are not consumed")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    public static func defaultSecretsProvider() -> any SecretsProvider {
        var providers: [any SecretsProvider] = [EnvironmentSecretsProvider()]
        if let dir = ProcessInfo.processInfo.environment["OMS_SECRETS_DIR"], !dir.isEmpty {
            providers.append(FileSecretsProvider(directory: dir))
        }
        return ChainedSecretsProvider(providers)
    }

    static func publishInstruments(_ info: ExchangeInfo, config: BinanceVenueConfig, rt: OMSRuntime) async {
        func units(_ s: String?, scale: Int32) -> Int64 { s.flatMap { FixedPoint.decimal($0) }.map { FixedPoint.rescale($0, to: scale) } ?? 0 }
        let list = Oms_V1_InstrumentList.with { l in
            l.instruments = info.symbols.filter { config.symbols.contains($0.symbol) }.map { s in
                Oms_V1_Instrument.with { i in
                    i.id = .with { $0.exchange = config.exchange; $0.market = config.market; $0.symbol = s.symbol }
                    i.baseAsset = s.baseAsset
                    i.quoteAsset = s.quoteAsset
                    i.priceScale = 8
                    i.qtyScale = 8
                    let pf = s.filters?.first { $0.filterType == "PRICE_FILTER" }
                    let lot = s.filters?.first { $0.filterType == "LOT_SIZE" }
                    let notional = s.filters?.first { $0.filterType == "NOTIONAL" || $0.filterType == "MIN_NOTIONAL" }
                    i.tickSize = units(pf?.tickSize, scale: 8)
                    i.lotSize = units(lot?.stepSize, scale: 8)
                    i.minQty = units(lot?.minQty, scale: 8)
                    i.maxQty = units(lot?.maxQty, scale: 8)
                    if let n = (notional?.minNotional ?? notional?.notional).flatMap({ FixedPoint.decimal($0) }) { i.minNotional = n }
                    i.status = s.status == "TRADING" ? .trading : .halted
                }
            }
            l.tsNs = Int64(Date().timeIntervalSince1970 * 1e9)
        }
        guard let subject = try? Subjects.instruments(exchange: config.exchange, market: config.market) else { return }
        do {
            _ = try await rt.jetStream.publish(list, subject: subject, id: "\(config.exchange).\(config.market).instruments.\(list.tsNs / 1_000_000_000)", producer: rt.service)
        } catch {
            rt.logger.warning("instrument publish failed", metadata: ["error": "\(error)"])
        }
    }
}
