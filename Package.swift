// swift-tools-version:6.2
// mExOms: the Swift half of the suite. Each executable is its own process;
// they share OMSCore (NATS/JetStream over nats.c, config, contracts, service
// lifecycle, observability). The C++20 engine lives in cpp-core/ (CMake).
import PackageDescription

let package = Package(
    name: "mExOms",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "OMSCore", targets: ["OMSCore"]),
        .executable(name: "oms-server", targets: ["OMSServer"]),
        .executable(name: "binance-spot", targets: ["BinanceSpot"]),
        .executable(name: "binance-futures", targets: ["BinanceFutures"]),
        .executable(name: "router", targets: ["Router"]),
        .executable(name: "archiver", targets: ["Archiver"]),
        .executable(name: "omsctl", targets: ["OMSCtl"]),
        .executable(name: "oms-bench", targets: ["OMSBench"]),
        .executable(name: "venue-sim", targets: ["VenueSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        // nats.c (Debian libnats-dev) as a system library.
        .systemLibrary(name: "CNATS", path: "Sources/CNATS", pkgConfig: "libnats",
                       providers: [.apt(["libnats-dev"])]),
        .target(
            name: "OMSCore",
            dependencies: [
                "CNATS",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Client API contract (proto/oms/api/v1) and its generated gRPC code, shared by
        // oms-server and omsctl.
        .target(
            name: "OMSAPI",
            dependencies: [
                "OMSCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "OMSServerCore",
            dependencies: [
                "OMSCore", "OMSAPI", "RouterCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "OMSServer", dependencies: ["OMSCore", "OMSServerCore"]),
        // Smart order routing: pure logic (books, fees, splits, parent/child) kept apart from I/O.
        .target(name: "RouterCore", dependencies: ["OMSCore"]),
        // One adapter shape for every venue (config, HTTP client, WebSocket client, parsers,
        // execution client, market-data client); Binance spot and futures share it.
        .target(
            name: "BinanceConnector",
            dependencies: [
                "OMSCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(name: "BinanceSpot", dependencies: ["OMSCore", "BinanceConnector"]),
        .executableTarget(name: "BinanceFutures", dependencies: ["OMSCore", "BinanceConnector"]),
        .executableTarget(name: "Router", dependencies: ["OMSCore", "RouterCore"]),
        // Archive logic (exactly-once trade logs, snapshots, P&L with oms-core's arithmetic, retention).
        .target(name: "ArchiverCore", dependencies: ["OMSCore"]),
        .executableTarget(name: "Archiver", dependencies: ["OMSCore", "ArchiverCore"]),
        .executableTarget(
            name: "OMSCtl",
            dependencies: [
                "OMSCore", "OMSAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
        .executableTarget(
            name: "OMSBench",
            dependencies: ["OMSCore", "RouterCore", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        // Protocol-faithful simulated venues (Binance first); independent of OMSCore on purpose:
        // it plays the exchange, and must be checkable by third-party clients alone.
        .target(
            name: "VenueSimCore",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .executableTarget(
            name: "VenueSim",
            dependencies: [
                "VenueSimCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "VenueSimTests", dependencies: ["VenueSimCore"]),
        .testTarget(name: "BinanceConnectorTests", dependencies: ["BinanceConnector", "VenueSimCore", "OMSTestSupport",
                                                            .product(name: "NIOCore", package: "swift-nio")]),
        // A real nats-server per test (free port, temp store), shared by the test targets.
        .target(name: "OMSTestSupport", dependencies: ["OMSCore"], path: "Tests/OMSTestSupport"),
        .testTarget(name: "OMSServerTests", dependencies: ["OMSServerCore", "OMSAPI", "OMSCore", "OMSTestSupport"]),
        .testTarget(name: "RouterTests", dependencies: ["RouterCore", "OMSCore", "OMSTestSupport"]),
        .testTarget(name: "ArchiverTests", dependencies: ["ArchiverCore", "OMSCore"]),
        .testTarget(name: "OMSCoreTests", dependencies: ["OMSCore", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "IntegrationTests", dependencies: ["OMSCore", "OMSTestSupport"]),
    ]
)
