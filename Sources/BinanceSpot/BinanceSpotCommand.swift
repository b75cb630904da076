import ArgumentParser
import BinanceConnector
import Foundation
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

    func run() async throws {
        if bench {
            runBench()
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
        let r = BookBenchmark.run(msgs, rounds: 5)
        print("binance-spot book benchmark: \(r.messages) depthUpdate messages (combined-stream JSON, 3+3 levels, avg \(bytes / max(msgs.count, 1)) B), book seeded with 1000 levels/side")
        print(String(format: "  parse only:        %.2f M msg/s  (%.0f ns/msg)", r.parseRate / 1e6, 1e9 / r.parseRate))
        print(String(format: "  parse + apply:     %.2f M msg/s  (%.0f ns/msg)  gaps=%d", r.rate / 1e6, 1e9 / r.rate, r.gaps))
        print(String(format: "  apply (by diff):   %.0f ns/msg", 1e9 / r.rate - 1e9 / r.parseRate))
    }
}
