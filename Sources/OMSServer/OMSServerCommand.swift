import ArgumentParser
import OMSCore
import OMSServerCore

@main
struct OMSServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oms-server",
        abstract: "mExOms client API: accepts orders durably and follows each one through its lifecycle.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await OMSServiceRunner.run(service: "oms-server", options: options, behaviour: OMSServerRunner.run)
    }
}
