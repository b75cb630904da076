import ArgumentParser
import BinanceConnector
import Foundation
import Logging
import OMSCore

@main
struct BinanceSpotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binance-spot",
        abstract: "mExOms Binance spot connector: orders, user data, books and reconciliation for binance.spot.")

    @OptionGroup var options: ServiceOptions

    @Flag(name: .long, help: "Print the book benchmark (depth diff parse + apply rate) and exit.")
    var bench = false

    @Option(name: .long, help: "Messages in the benchmark set.")
    var benchMessages = 200_000

    @Flag(name: .long, help: "Measure connector added latency (command received -> request bytes written) against a running venue-sim and nats-server, then exit.")
    var benchLatency = false

    @Option(name: .long, help: "nats-server (JetStream) for --bench-latency.")
    var benchNats = "nats://127.0.0.1:4222"

    @Option(name: .long, help: "venue-sim base URL for --bench-latency.")
    var benchVenue = "http://127.0.0.1:8090"

    @Option(name: .long, help: "Orders per path for --bench-latency.")
    var benchOrders = 1_000

    func run() async throws {
        if bench {
            runBench()
            return
        }
        if benchLatency {
            try await runLatencyBench()
            return
        }
        try await OMSServiceRunner.run(service: "binance-spot", options: options) { runtime in
            try await BinanceAdapter.run(runtime: runtime, product: .spot)
        }
    }

    func runBench() {
        let msgs = BookBenchmark.messages(count: benchMessages, levels: 3)
        let bytes = msgs.reduce(0) { $0 + $1.count }
        _ = BookBenchmark.run(Array(msgs.prefix(10_000)), rounds: 1)  // warm-up
        // In the connector a message is parsed right after it was read from the socket, so its bytes
        // are in cache: the headline cycles a working set that fits in L2. The cold run reads every
        // message from memory (a 60 MB set) and shows what cache misses add.
        let hotSet = Array(msgs.prefix(1_500))
        let hotBytes = hotSet.reduce(0) { $0 + $1.count }
        let hot = BookBenchmark.run(hotSet, rounds: max(benchMessages / hotSet.count, 1), repeats: 5)
        let cold = BookBenchmark.run(msgs, rounds: 1, repeats: 3)
        print("binance-spot book benchmark: depthUpdate messages (combined-stream JSON, 3+3 levels, avg \(bytes / max(msgs.count, 1)) B), one core, fastest of several runs, book seeded with 1000 levels/side (\(hot.bookLevels.bids)/\(hot.bookLevels.asks) at the end)")
        for (label, r) in [("hot: \(hotSet.count) distinct messages (\(hotBytes / 1024) KB) cycled, \(hot.messages) per run", hot),
                           ("cold: \(msgs.count) distinct messages (\(bytes / 1_048_576) MB), each read from memory", cold)] {
            let parseNs = 1e9 / r.parseRate, totalNs = 1e9 / r.rate, encodeNs = 1e9 / r.withEncodeRate
            print("  \(label)")
            print(String(format: "    parse + apply:     %.2f M msg/s  (%.0f ns/msg)  gaps=%d   <- the hot path (target >= 1 M msg/s)", r.rate / 1e6, totalNs, r.gaps))
            print(String(format: "      parse            %5.0f ns  (byte-level, fixed-point straight to Int64 at scale 8, no allocation)", parseNs))
            print(String(format: "      apply            %5.0f ns  (sequence check + 6 levels into sorted flat arrays, branch-free search)", max(totalNs - parseNs, 0)))
            print(String(format: "      publish encode   %5.0f ns  (BookDelta proto build + serialize, swift-protobuf; allocates)", max(encodeNs - totalNs, 0)))
            print(String(format: "    parse + apply + encode: %.2f M msg/s (the NATS write itself: see the core publish figures of section 1)", r.withEncodeRate / 1e6))
        }
    }

    func runLatencyBench() async throws {
        // Demo credentials of venue-sim come from the environment like in `make run` (never logged).
        guard let credentials = try BinanceCredentials.load(prefix: "binance-spot", from: EnvironmentSecretsProvider()) else {
            print("binance-spot latency bench: no credentials (BINANCE_SPOT_API_KEY + ..._ED25519_PRIVATE_KEY_FILE)")
            return
        }
        var logger = Logger(label: "binance-spot-bench")
        logger.logLevel = .error
        print("binance-spot connector added latency, command received (pulled from JetStream) -> request bytes written, one order at a time, \(benchOrders) orders per path:")
        for path in [BinanceVenueConfig.OrderPath.websocket, .rest] {
            let r = try await ConnectorLatencyBench.run(natsURL: benchNats, venueURL: benchVenue, credentials: credentials,
                                                        orders: benchOrders, path: path, logger: logger)
            print(String(format: "  %-28@ n=%5d  p50 %7.1f µs  p99 %7.1f µs  max %8.1f µs",
                         (path == .websocket ? "WebSocket API order.place" : "REST POST /api/v3/order") as NSString,
                         r.samples, Double(r.p50Ns) / 1e3, Double(r.p99Ns) / 1e3, Double(r.maxNs) / 1e3))
        }
    }
}
