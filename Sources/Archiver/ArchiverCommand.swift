import ArchiverCore
import ArgumentParser
import Foundation
import OMSCore

@main
struct ArchiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archiver",
        abstract: "mExOms archiver: JetStream streams into trade logs, hourly snapshots and P&L reports.",
        discussion: "Without a subcommand it runs the archiver service.",
        subcommands: [Report.self])

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await OMSServiceRunner.run(service: "archiver", options: options) { rt in
            try await ArchiverService().run(rt)
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Regenerate reports/YYYY/MM/pnl.csv for a month from the trade and funding logs.")
        @Option(help: "Path to the YAML config file.") var config: String = "configs/config.yaml"
        @Option(help: "Month as YYYY-MM, e.g. 2026-11.") var month: String

        func run() throws {
            let parts = month.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, (1...12).contains(parts[1]), parts[0] > 1970 else {
                throw ValidationError("--month must look like 2026-11, got \"\(month)\"")
            }
            let cfg = try OMSConfig.load(path: config)
            let (path, rows) = try PnLCalculator.writeMonthlyReport(dataDir: cfg.storage.dataDir, year: parts[0], month: parts[1])
            print("wrote \(path) (\(rows) rows)")
        }
    }
}
