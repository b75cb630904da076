import ArgumentParser
import OMSCore

@main
struct ArchiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archiver",
        abstract: "mExOms archiver: JetStream streams into trade logs, hourly snapshots and P&L reports.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await OMSServiceRunner.run(service: "archiver", options: options)
    }
}
