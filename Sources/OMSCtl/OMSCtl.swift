import ArgumentParser
import Foundation
import Logging
import OMSCore

@main
struct OMSCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omsctl",
        abstract: "Inspect a running mExOms suite (decode any subject to JSON, list streams, see service heartbeats) and trade through oms-server (submit, cancel, orders, ...).",
        subcommands: [Tail.self, Decode.self, Streams.self, Services.self,
                      Submit.self, Cancel.self, Amend.self, Orders.self, Order.self, Positions.self, Balances.self, Kill.self, Risk.self])
}

struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Path to the YAML config file.")
    var config: String = "configs/config.yaml"
    @Option(name: .long, help: "NATS URL (overrides config and OMS_NATS_URL).")
    var server: String?

    func connect(name: String) throws -> (OMSConfig, NATSConnection) {
        var cfg = (try? OMSConfig.load(path: config)) ?? OMSConfig()
        if let server { cfg.nats.url = server }
        var logger = Logger(label: "omsctl")
        logger.logLevel = .error
        var o = cfg.natsConnectionOptions
        o.name = "omsctl-\(name)"
        o.maxReconnect = 10
        return (cfg, try NATSConnection.connect(o, logger: logger))
    }
}

/// Renders one message: subject, headers, and the payload as JSON when its
/// `Oms-Type` header names a contract type.
func render(_ m: NATSMessage, pretty: Bool, showHeaders: Bool) -> String {
    var out = ["subject": m.subject] as [String: Any]
    if showHeaders { out["headers"] = Dictionary(m.headers.fields, uniquingKeysWith: { a, _ in a }) }
    if let type = m.headers[OMSHeader.type] {
        out["type"] = type
        do {
            let json = try MessageRegistry.json(typeName: type, bytes: m.payload)
            out["message"] = try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            out["error"] = "cannot decode as \(type): \(error)"
            out["payload_base64"] = Data(m.payload).base64EncodedString()
        }
    } else if let text = String(bytes: m.payload, encoding: .utf8), !text.isEmpty {
        out["text"] = text
    } else {
        out["payload_base64"] = Data(m.payload).base64EncodedString()
    }
    let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
    let data = (try? JSONSerialization.data(withJSONObject: out, options: options)) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every message on a subject (wildcards allowed) as JSON, e.g. omsctl tail 'orders.>'.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject or filter, e.g. 'orders.>' or 'hb.*.*'.") var subject: String
    @Option(name: .shortAndLong, help: "Stop after this many messages.") var count: Int?
    @Flag(help: "Pretty-print.") var pretty = false
    @Flag(help: "Include headers.") var headers = false

    func run() async throws {
        guard SubjectToken.isValidFilter(subject) else {
            throw ValidationError("\"\(subject)\" is not a valid subject filter")
        }
        let (_, nats) = try connection.connect(name: "tail")
        let (sub, stream) = try nats.messages(subject)
        var seen = 0
        for await m in stream {
            print(render(m, pretty: pretty, showHeaders: headers))
            fflush(nil)
            seen += 1
            if let count, seen >= count { break }
        }
        sub.unsubscribe()
        nats.close()
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode a binary protobuf file (or - for stdin) as JSON.")
    @Option(name: .long, help: "Message type, e.g. oms.v1.OrderEvent.") var type: String
    @Argument(help: "File path, or - for stdin.") var file: String
    @Flag(help: "Pretty-print.") var pretty = false

    func run() throws {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        print(try MessageRegistry.json(typeName: type, bytes: Array(data), pretty: pretty))
    }
}

struct Streams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the JetStream streams from config with their message counts and sequences.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (cfg, nats) = try connection.connect(name: "streams")
        let js = try nats.jetStream()
        print("STREAM      SUBJECTS                 STORAGE  MESSAGES    FIRST_SEQ   LAST_SEQ")
        for spec in cfg.jetstream.streams {
            if let s = try? js.streamState(spec.name) {
                print(spec.name.padding(12), spec.subjects.joined(separator: ",").padding(24), spec.storage.rawValue.padding(8),
                      String(s.messages).padding(11), String(s.firstSequence).padding(11), String(s.lastSequence))
            } else {
                print(spec.name.padding(12), spec.subjects.joined(separator: ",").padding(24), "(missing)")
            }
        }
        nats.close()
    }
}

struct Services: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Listen to heartbeats for a while and list the services seen.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "How long to listen, in seconds.") var seconds: Double = 2.5

    func run() async throws {
        let (_, nats) = try connection.connect(name: "services")
        let (sub, stream) = try nats.messages(Subjects.allHeartbeats)
        var latest: [String: Oms_V1_Heartbeat] = [:]
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let task = Task { try? await Task.sleep(until: deadline); sub.unsubscribe() }
        for await m in stream {
            if let hb = try? Oms_V1_Heartbeat(serializedBytes: m.payload) { latest["\(hb.service)/\(hb.instanceID)"] = hb }
        }
        task.cancel()
        print("SERVICE          INSTANCE                 STATUS    UPTIME_S  DETAILS")
        for key in latest.keys.sorted() {
            let hb = latest[key]!
            print(hb.service.padding(16), hb.instanceID.padding(24), "\(hb.status)".padding(9), String(hb.uptimeMs / 1000).padding(9),
                  hb.details.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        nats.close()
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
