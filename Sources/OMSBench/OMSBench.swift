import ArgumentParser
import Foundation
import Histogram
import Logging
import OMSCore

/// `make bench`'s Swift half: the NATS floor that every later latency figure
/// is compared with, measured in the same run. Prints p50/p99/p99.9
/// (HdrHistogram, 3 significant digits) and throughput.
@main
struct OMSBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oms-bench",
        abstract: "NATS floor from Swift: core request/reply RTT (with and without SendAsap), JetStream publish-ack latency, async publish throughput.")

    @Option(help: "NATS server URL (a nats-server with JetStream).") var server = "nats://127.0.0.1:4222"
    @Option(help: "Round trips / publishes per latency measurement.") var iterations = 20_000
    @Option(help: "Messages for the async publish throughput run.") var throughputMessages = 100_000
    @Option(help: "Payload size in bytes.") var payloadSize = 128
    @Flag(help: "Print one JSON line per result instead of a table.") var json = false
    @Flag(help: "Skip the core request/reply runs (JetStream only, e.g. to compare server durability settings).") var jetstreamOnly = false
    @Option(help: "Label printed in the heading (e.g. the server's version and sync setting).") var label = ""
    @Flag(help: "Measure smart order routing decision latency instead (no NATS needed).") var routing = false
    @Option(help: "Venues in the routing benchmark.") var routingVenues = 5
    @Option(help: "Book levels per venue in the routing benchmark.") var routingLevels = 50

    func run() async throws {
        if routing {
            _ = RoutingBench.run(iterations: iterations, venues: routingVenues, levels: routingLevels, json: json)
            return
        }
        var logger = Logger(label: "oms-bench")
        logger.logLevel = .warning
        let payload = [UInt8](repeating: 0x42, count: payloadSize)
        var results: [BenchResult] = []

        for sendAsap in (jetstreamOnly ? [] : [true, false]) {
            var opts = NATSConnectionOptions(url: server, name: "bench-requester")
            opts.sendAsap = sendAsap
            var responderOpts = NATSConnectionOptions(url: server, name: "bench-responder")
            responderOpts.sendAsap = sendAsap
            let requester = try NATSConnection.connect(opts, logger: logger)
            let responder = try NATSConnection.connect(responderOpts, logger: logger)
            let subject = "bench.rtt.\(sendAsap ? "asap" : "batched")"
            let sub = try responder.subscribe(subject) { [responder] m in
                if let reply = m.reply { try? responder.publish(reply, payload: m.payload) }
            }
            try responder.flush()
            let n = sendAsap ? iterations : min(iterations, 2_000)  // the batched path is ~1 ms per trip
            let r = try measure(name: "core request/reply RTT (SendAsap \(sendAsap ? "on" : "off"))", count: n, warmup: 200) {
                _ = try requester.requestBlocking(subject, payload: payload, timeout: .seconds(2))
            }
            results.append(r)
            sub.unsubscribe()
            requester.close()
            responder.close()
        }

        let nats = try NATSConnection.connect(NATSConnectionOptions(url: server, name: "bench-js"), logger: logger)
        let js = try nats.jetStream()
        var spec = StreamSpec(name: "BENCH", subjects: ["bench.js.>"])
        spec.maxAge = .seconds(600)
        try? js.deleteStream("BENCH")
        try js.ensureStream(spec)
        var seq = 0
        results.append(try measure(name: "JetStream sync publish -> ack (file store)", count: iterations, warmup: 200) {
            seq += 1
            _ = try js.publishBlocking("bench.js.sync", payload: payload, msgID: "sync-\(seq)")
        })

        // Async publish throughput: keep a window of publishes in flight.
        let total = throughputMessages
        let window = 4_096
        let t0 = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for i in 0..<total {
                if inFlight >= window {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask { _ = try await js.publish("bench.js.async", payload: payload, msgID: "async-\(i)") }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - t0
        let rate = Double(total) / (Double(elapsed.nanoseconds) / 1e9)
        results.append(BenchResult(name: "JetStream async publish throughput (window \(window))", count: total,
                                   p50: 0, p99: 0, p999: 0, max: 0, throughput: rate))
        let state = try js.streamState("BENCH")
        try? js.deleteStream("BENCH")
        nats.close()

        if json {
            for r in results { print(r.json) }
        } else {
            print("== NATS floor from Swift (nats.c via OMSCore), payload \(payloadSize) B, server \(server) \(label)==")
            print("benchmark".padding(toLength: 58, withPad: " ", startingAt: 0) + "      n     p50 µs    p99 µs  p99.9 µs    max µs      ops/s")
            for r in results { print(r.row) }
            print("(stream BENCH held \(state.messages) messages at the end: \(iterations + 200) sync + \(total) async expected)")
        }
    }

    func measure(name: String, count: Int, warmup: Int, _ body: () throws -> Void) throws -> BenchResult {
        for _ in 0..<warmup { try body() }
        var h = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<count {
            let t = clock.now
            try body()
            _ = h.record(UInt64((clock.now - t).nanoseconds))
        }
        let total = clock.now - start
        return BenchResult(name: name, count: count, p50: h.valueAtPercentile(50), p99: h.valueAtPercentile(99),
                           p999: h.valueAtPercentile(99.9), max: h.maxRecorded,
                           throughput: Double(count) / (Double(total.nanoseconds) / 1e9))
    }
}

struct BenchResult {
    var name: String
    var count: Int
    var p50, p99, p999, max: UInt64
    var throughput: Double

    var row: String {
        func us(_ ns: UInt64) -> String { ns == 0 ? "-" : String(format: "%.1f", Double(ns) / 1000) }
        return name.padding(toLength: 58, withPad: " ", startingAt: 0)
            + String(format: "%7d %10@ %9@ %9@ %9@ %10.0f", count, us(p50) as NSString, us(p99) as NSString,
                     us(p999) as NSString, us(max) as NSString, throughput)
    }

    var json: String {
        "{\"name\":\"\(name)\",\"n\":\(count),\"p50_ns\":\(p50),\"p99_ns\":\(p99),\"p999_ns\":\(p999),\"max_ns\":\(max),\"ops_per_s\":\(Int(throughput))}"
    }
}
