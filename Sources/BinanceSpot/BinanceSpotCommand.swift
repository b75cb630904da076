import ArgumentParser
import OMSCore

@main
struct BinanceSpotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binance-spot",
        abstract: "mExOms Binance spot connector: orders, user data, books and reconciliation for binance.spot.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await OMSServiceRunner.run(service: "binance-spot", options: options)
    }
}
