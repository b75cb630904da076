import ArgumentParser

/// Flags every mExOms executable takes.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "Path to the YAML config file.")
    public var config: String = "configs/config.yaml"

    @Flag(name: .long, help: "Validate the config, print any problems and exit (0 when valid) without connecting anywhere.")
    public var checkConfig = false

    public init() {}
}
