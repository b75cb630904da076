// venue-sim: a protocol-faithful Binance venue (spot and USDⓈ-M futures) for tests, demos and benchmarks.
import ArgumentParser
import Foundation
import Logging
import VenueSimCore

@main
struct VenueSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venue-sim",
        abstract: "Simulated Binance venue: spot (REST /api/v3, WebSocket API /ws-api/v3, streams /ws and /stream) and USDⓈ-M futures (REST /fapi, streams /public /market /private).",
        subcommands: [Serve.self, Bench.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the venue (default).")
    @Option(name: .long, help: "YAML config (port, accounts, symbols, liquidity, rate limits).")
    var config: String = "configs/venue-sim.yaml"
    @Option(name: .long, help: "Override the port from the config (0 = ephemeral).")
    var port: Int?
    @Option(name: .long, help: "Write the bound port to this file once listening.")
    var portFile: String?
    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func run() async throws {
        var cfg = try SimConfig.load(path: config)
        if let p = port { cfg.port = p }
        var logger = Logger(label: "venue-sim")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let server = VenueServer(config: cfg, logger: logger)
        let pf = portFile
        let log = logger
        let names = cfg.symbols.map(\.symbol)
        try await server.run { port in
            log.info("venue-sim listening", metadata: ["port": "\(port)", "symbols": "\(names)"])
            if let pf { try? String(port).write(toFile: pf, atomically: true, encoding: .utf8) }
        }
        logger.info("venue-sim stopped")
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Engine orders/s on one thread and REST order round-trip latency p50/p99.")
    @Option(help: "Orders for the in-process engine run.") var engineOrders: Int = 300_000
    @Option(help: "Orders sent over HTTP for the round-trip run.") var httpOrders: Int = 5_000

    func run() async throws {
        var cfg = SimConfig()
        cfg.port = 0
        cfg.liquidity.enabled = true
        cfg.liquidity.levels = 20
        cfg.liquidity.quantity = "5"
        cfg.liquidity.intervalMs = 1000
        cfg.rateLimits.requestWeightPerMinute = 100_000_000
        cfg.rateLimits.ordersPer10s = 100_000_000
        cfg.rateLimits.ordersPerDay = 1_000_000_000
        cfg.symbols = [SymbolConfig(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", mid: "50000", tickSize: "0.01",
                                    stepSize: "0.00001", minNotional: "1", defaultSelfTradePreventionMode: "NONE")]
        cfg.accounts = (0..<2).map { i in
            AccountConfig(name: "bench\(i)", apiKey: "benchkey\(i)", secretKey: "benchsecret\(i)",
                          balances: ["BTC": "100000000", "USDT": "90000000000"])
        }
        // 1) engine only, one thread
        let engine = Engine(config: cfg)
        var rng = SimRNG(seed: 7)
        let n = engineOrders
        let t0 = DispatchTime.now().uptimeNanoseconds
        var fills = 0
        for i in 0..<n {
            let side: Side = rng.next() & 1 == 0 ? .BUY : .SELL
            let px = Fixed(raw: (50_000 * 100 + Int64(rng.int(in: -1000...1000))) * 1_000_000)
            let r = NewOrderRequest(symbol: "BTCUSDT", side: side, type: .LIMIT, tif: .GTC, quantity: Fixed(raw: 10_000),
                                    price: px, respType: .ACK)
            if (try? engine.place(account: i & 1, r)) != nil { fills += 1 }
        }
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        print(String(format: "engine: %d orders in %.2fs = %.0f orders/s (one thread, accepted %d)", n, dt, Double(n) / dt, fills))

        // 2) REST round trip over loopback
        let server = VenueServer(config: cfg)
        let (portStream, portCont) = AsyncStream<Int>.makeStream()
        let serverTask = Task { try await server.run { portCont.yield($0) } }
        var it = portStream.makeAsyncIterator()
        guard let port = await it.next() else { return }
        let count = httpOrders
        let lat: [Double] = try await onThread {
            let c = try MiniHTTP(port: port)
            var out: [Double] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                let side = i & 1 == 0 ? "BUY" : "SELL"
                let px = i & 1 == 0 ? "49000.00" : "51000.00"
                let body = MiniHTTP.sign("symbol=BTCUSDT&side=\(side)&type=LIMIT&timeInForce=GTC&quantity=0.00100&price=\(px)&newOrderRespType=RESULT",
                                         secret: "benchsecret0")
                let s = DispatchTime.now().uptimeNanoseconds
                let r = try c.request("POST", "/api/v3/order", headers: [("X-MBX-APIKEY", "benchkey0")], body: body)
                out.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1000)
                if r.status != 200 { print("unexpected \(r.status) \(r.body)"); break }
            }
            return out
        }
        serverTask.cancel()
        let sorted = lat.sorted()
        let total = lat.reduce(0, +) / 1e6
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print(String(format: "rest: %d signed POST /api/v3/order round trips, p50 %.0f us, p99 %.0f us, max %.0f us, %.0f orders/s sequential",
                     sorted.count, pct(0.5), pct(0.99), sorted.last ?? 0, Double(sorted.count) / total))
    }
}
