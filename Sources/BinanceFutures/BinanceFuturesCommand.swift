import ArgumentParser
import BinanceConnector
import OMSCore

@main
struct BinanceFuturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binance-futures",
        abstract: "mExOms Binance USD-M futures connector: orders, positions, margin and books for binance.futures.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await OMSServiceRunner.run(service: "binance-futures", options: options) { runtime in
            try await BinanceFuturesAdapter.run(runtime: runtime)
        }
    }
}
