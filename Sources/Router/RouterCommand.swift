import ArgumentParser
import OMSCore

@main
struct RouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "mExOms smart order router: turns risk-accepted orders into venue orders.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await OMSServiceRunner.run(service: "router", options: options, behaviour: RouterService.run)
    }
}
