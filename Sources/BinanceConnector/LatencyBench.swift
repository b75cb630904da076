import Foundation
import Logging
import OMSCore

/// Connector added latency for `make bench`: a command is published on JetStream,
/// the connector pulls it ("received"), signs it and writes the request; the time
/// between is what the connector adds on top of NATS and the venue. Runs the real
/// BinanceExecutionClient against a running venue-sim and nats-server, one order
/// at a time (no queueing in the figure), over the WebSocket API and over REST.
public enum ConnectorLatencyBench {
    public struct Result: Sendable {
        public var path: BinanceVenueConfig.OrderPath
        public var samples: Int
        public var p50Ns: Int64
        public var p99Ns: Int64
        public var maxNs: Int64
    }

    public static func run(natsURL: String, venueURL: String, credentials: BinanceCredentials, orders: Int,
                           path: BinanceVenueConfig.OrderPath, logger: Logger) async throws -> Result {
        let nats = try NATSConnection.connect(NATSConnectionOptions(url: natsURL, name: "binance-spot-latency-bench"), logger: logger)
        defer { nats.close() }
        let js = try nats.jetStream()
        for spec in OMSConfig.defaultStreams(retentionDays: 1, replicas: 1, storage: .file, duplicateWindow: .seconds(120)) {
            try js.ensureStream(spec)
        }
        let wsURL = venueURL.replacingOccurrences(of: "http://", with: "ws://")
        let yaml = """
        exchanges:
          binance:
            spot:
              enabled: true
              rest_url: "\(venueURL)"
              ws_url: "\(wsURL)"
              recv_window: "5s"
              rate_limits: { weight_per_minute: 6000, orders_per_second: 10000, orders_per_10s: 100000, orders_per_day: 200000 }
        """
        guard let venue = try OMSConfig.parse(yaml: yaml).venue("binance", "spot") else { throw BenchFailure("no venue config") }
        let config = BinanceVenueConfig(product: .spot, venue: venue, extra: .init(symbols: ["BTCUSDT"], apiMode: path, account: "demo"))
        let limiter = BinanceRateLimiter(limits: config.rateLimits)
        let clock = ServerClock()
        let rest = BinanceRESTClient(config: config, credentials: credentials, limiter: limiter, clock: clock, logger: logger)
        let ws = path == .websocket ? BinanceWSAPIClient(config: config, credentials: credentials, clock: clock, limiter: limiter, logger: logger) : nil
        let exec = BinanceExecutionClient(config: config, rest: rest, ws: ws, jetStream: js, logger: logger, health: nil, producer: "binance-spot-bench")
        let running = Task { try await exec.run() }
        defer { running.cancel() }
        if let ws {
            let deadline = ContinuousClock.now + .seconds(15)
            while !ws.isReady {
                guard ContinuousClock.now < deadline else { throw BenchFailure("ws-api session never became ready") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        try await Task.sleep(for: .milliseconds(500))  // start-up reconcile out of the way
        let run = UInt32.random(in: 0...UInt32.max)
        let warmup = min(50, orders / 10)
        for i in 0..<(warmup + orders) {
            if i == warmup { exec.latency.reset() }
            let cmd = Oms_V1_OrderCommand.with { c in
                c.commandID = "lat-\(run)-\(path)-\(i)"
                c.newOrder = .with { n in
                    n.orderID = "lat\(run)\(path == .websocket ? "w" : "r")\(i)"
                    n.account = "demo"
                    n.instrument = .with { $0.exchange = "binance"; $0.market = "spot"; $0.symbol = "BTCUSDT" }
                    n.side = i % 2 == 0 ? .buy : .sell
                    n.orderType = .market
                    n.quantity = Oms_V1_Decimal(mantissa: 1, scale: 3)
                }
            }
            _ = try await js.publish(cmd, subject: "cmd.venue.binance.spot.BTCUSDT", id: cmd.commandID, producer: "bench")
            // One at a time, on an idle connector: wait until this command was handled (its events
            // published, its message acked), so no sample queues behind another.
            let deadline = ContinuousClock.now + .seconds(5)
            while !(exec.store.withLock { $0.doneCommands.contains(cmd.commandID) } && exec.sequencer.inFlight == 0)
                    && ContinuousClock.now < deadline {
                try await Task.sleep(for: .microseconds(200))
            }
            try await Task.sleep(for: .milliseconds(2))  // the user-data events of this fill, too
        }
        // Let the last commands be acked, so the next run's consumer does not see them again.
        let drain = ContinuousClock.now + .seconds(10)
        while exec.sequencer.inFlight > 0 && ContinuousClock.now < drain { try await Task.sleep(for: .milliseconds(20)) }
        running.cancel()
        await rest.shutdown()
        return Result(path: path, samples: exec.latency.count, p50Ns: exec.latency.percentile(0.5) ?? 0,
                      p99Ns: exec.latency.percentile(0.99) ?? 0, maxNs: exec.latency.percentile(1.0) ?? 0)
    }

    struct BenchFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
