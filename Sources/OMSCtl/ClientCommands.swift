import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import OMSAPI
import OMSCore
import SwiftProtobuf

/// Options shared by the commands that talk to oms-server over gRPC.
struct APIOptions: ParsableArguments {
    @Option(name: .long, help: "Path to the YAML config file (for oms_server.grpc_host/grpc_port).")
    var config: String = "configs/config.yaml"
    @Option(name: .long, help: "oms-server address host:port (default: from config).")
    var api: String?
    @Option(name: .long, help: "API token (default: $OMS_TOKEN).")
    var token: String?
    @Flag(name: .long, help: "Use TLS.") var tls = false
    @Option(name: .long, help: "PEM file with the CA that signed the server's certificate (implies --tls).") var ca: String?
    @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

    func target() -> (String, Int) {
        if let api, let i = api.lastIndex(of: ":"), let port = Int(api[api.index(after: i)...]) {
            return (String(api[..<i]), port)
        }
        let cfg = (try? OMSConfig.load(path: config)) ?? OMSConfig()
        return (cfg.omsServer.grpcHost == "0.0.0.0" ? "127.0.0.1" : cfg.omsServer.grpcHost, cfg.omsServer.grpcPort)
    }

    var metadata: Metadata {
        var md = Metadata()
        if let t = token ?? ProcessInfo.processInfo.environment["OMS_TOKEN"] { md.addString("Bearer \(t)", forKey: "authorization") }
        return md
    }

    func withClient<T: Sendable>(_ body: @Sendable @escaping (Oms_Api_V1_OmsService.Client<HTTP2ClientTransport.Posix>, Metadata) async throws -> T) async throws -> T {
        let (host, port) = target()
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if let ca {
            security = .tls(configure: { $0.trustRoots = .certificates([.file(path: ca, format: .pem)]) })
        } else if tls {
            security = .tls
        } else {
            security = .plaintext
        }
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: host, port: port), transportSecurity: security)
        let md = metadata
        do {
            return try await withGRPCClient(transport: transport) { client in
                try await body(Oms_Api_V1_OmsService.Client(wrapping: client), md)
            }
        } catch let e as RPCError {
            FileHandle.standardError.write(Data("omsctl: \(e.code): \(e.message)\n".utf8))
            throw ExitCode(e.code == .invalidArgument || e.code == .notFound || e.code == .alreadyExists ? 2 : 1)
        }
    }

    func output(_ message: some SwiftProtobuf.Message, table: () -> String) {
        if json {
            var o = JSONEncodingOptions()
            o.preserveProtoFieldNames = true
            print((try? message.jsonString(options: o)) ?? "{}")
        } else {
            print(table(), terminator: "")
        }
    }
}

func dec(_ text: String, _ name: String) throws -> Oms_V1_Decimal {
    guard let d = DecimalText.parse(text) else { throw ValidationError("\(name): \"\(text)\" is not a decimal number") }
    return d
}

func fmt(_ d: Oms_V1_Decimal) -> String { d.mantissa == 0 && d.scale == 0 ? "0" : DecimalText.format(d) }

/// FILLED, PARTIALLY_FILLED, ... from the generated Swift case name (partiallyFilled).
func enumName<E: SwiftProtobuf.Enum>(_ e: E) -> String {
    var out = ""
    for ch in String(describing: e) {
        if ch.isUppercase, !out.isEmpty { out.append("_") }
        out.append(contentsOf: ch.uppercased())
    }
    return out
}

/// A plain text table.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ r: [String]) -> String {
        r.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "\n"
    }
    return line(header) + line(widths.map { String(repeating: "-", count: $0) }) + rows.map(line).joined()
}

func orderRows(_ orders: [Oms_V1_Order]) -> String {
    table(["ORDER", "CLIENT ID", "ACCOUNT", "VENUE", "SYMBOL", "SIDE", "TYPE", "QTY", "PRICE", "FILLED", "AVG", "STATUS", "REASON"],
          orders.map { o in
              [o.orderID, o.clientOrderID, o.account, "\(o.instrument.exchange).\(o.instrument.market)", o.instrument.symbol,
               enumName(o.side), enumName(o.orderType), fmt(o.quantity), o.hasPrice ? fmt(o.price) : "-", fmt(o.filledQuantity),
               o.hasAveragePrice ? fmt(o.averagePrice) : "-", enumName(o.status), o.rejectReason == .unspecified ? "" : enumName(o.rejectReason) + (o.rejectText.isEmpty ? "" : " " + o.rejectText)]
          })
}

func parseEnum<E: SwiftProtobuf.Enum>(_ text: String, _ type: E.Type, prefix: String, field: String) throws -> E {
    var want = text.uppercased().replacingOccurrences(of: "-", with: "_")
    if want.hasPrefix(prefix) { want = String(want.dropFirst(prefix.count)) }
    for raw in 1...20 {
        if let e = E(rawValue: raw), enumName(e) == want { return e }
    }
    throw ValidationError("\(field): unknown value \"\(text)\"")
}

func instrument(_ venue: String, _ symbol: String) throws -> Oms_V1_InstrumentId {
    var i = Oms_V1_InstrumentId()
    let p = venue.split(separator: ".").map(String.init)
    if venue == "auto" { i.exchange = "auto"; i.market = "spot" } else if p.count == 2 { i.exchange = p[0]; i.market = p[1] } else if p.count == 1 && p[0] == "auto" {
        i.exchange = "auto"; i.market = "spot"
    } else { throw ValidationError("--venue: expected exchange.market (binance.spot) or auto / auto.spot") }
    if p.count == 2 && p[0] == "auto" { i.exchange = "auto"; i.market = p[1] }
    i.symbol = symbol
    return i
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit an order: omsctl submit buy BTCUSDT 0.01 --price 60000 [--venue binance.spot|auto]")
    @OptionGroup var api: APIOptions
    @Argument(help: "buy or sell") var side: String
    @Argument(help: "Symbol, e.g. BTCUSDT") var symbol: String
    @Argument(help: "Quantity (base asset)") var quantity: String
    @Option(help: "Limit price (omit for a market order)") var price: String?
    @Option(help: "limit, market, limit-maker, stop-limit, stop-market, take-profit-limit, take-profit-market") var type: String?
    @Option(help: "gtc, ioc, fok, gtx, day") var tif: String?
    @Option(help: "Stop / trigger price") var stopPrice: String?
    @Option(help: "exchange.market, or auto for smart routing") var venue = "binance.spot"
    @Option(help: "Routing strategy for auto: depth-split or best-price") var strategy: String?
    @Option(parsing: .upToNextOption, help: "Venues auto may use") var allow: [String] = []
    @Option(help: "Account (default: the token's only account)") var account = ""
    @Option(help: "Client order id (default: generated)") var clientId: String?
    @Flag(help: "Post-only (maker)") var postOnly = false
    @Flag(help: "Reduce-only") var reduceOnly = false

    func run() async throws {
        var r = Oms_Api_V1_SubmitOrderRequest()
        r.clientOrderID = clientId ?? "cli-\(UUID().uuidString.prefix(13).lowercased())"
        r.account = account
        r.instrument = try instrument(venue, symbol)
        r.side = try parseEnum(side, Oms_V1_Side.self, prefix: "SIDE_", field: "side")
        r.quantity = try dec(quantity, "quantity")
        if let price { r.price = try dec(price, "price") }
        if let stopPrice { r.stopPrice = try dec(stopPrice, "stop-price") }
        r.orderType = try type.map { try parseEnum($0, Oms_V1_OrderType.self, prefix: "ORDER_TYPE_", field: "type") } ?? (price == nil ? .market : .limit)
        if let tif { r.timeInForce = try parseEnum(tif, Oms_V1_TimeInForce.self, prefix: "TIME_IN_FORCE_", field: "tif") }
        r.postOnly = postOnly
        r.reduceOnly = reduceOnly
        if let strategy { r.routing.strategy = try parseEnum(strategy, Oms_V1_RoutingStrategy.self, prefix: "ROUTING_STRATEGY_", field: "strategy") }
        r.routing.allowedVenues = allow
        let req = r
        let resp = try await api.withClient { c, md in try await c.submitOrder(req, metadata: md) }
        api.output(resp) {
            "\(resp.duplicate ? "duplicate of" : "accepted") order \(resp.order.orderID) (client id \(resp.order.clientOrderID), command seq \(resp.streamSequence))\n" + orderRows([resp.order])
        }
    }
}

func ref(_ id: String, account: String) -> Oms_Api_V1_OrderRef {
    var r = Oms_Api_V1_OrderRef()
    if id.hasPrefix("o") && id.count == 25 { r.orderID = id } else { r.clientOrderID = id; r.account = account }
    return r
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel an order by order id or client order id; --all cancels every live order of the account.")
    @OptionGroup var api: APIOptions
    @Argument(help: "Order id or client order id") var id: String?
    @Option(help: "Account") var account = ""
    @Flag(help: "Cancel all live orders (optionally --venue/--symbol)") var all = false
    @Option(help: "With --all: exchange.market") var venue: String?
    @Option(help: "With --all: symbol") var symbol: String?

    func run() async throws {
        if all {
            var r = Oms_Api_V1_CancelAllRequest()
            r.account = account
            if let venue { let p = venue.split(separator: "."); r.exchange = String(p[0]); if p.count > 1 { r.market = String(p[1]) } }
            r.symbol = symbol ?? ""
            r.reason = "omsctl cancel --all"
            let req = r
            let resp = try await api.withClient { c, md in try await c.cancelAll(req, metadata: md) }
            api.output(resp) { "cancel-all sent (\(resp.liveOrders) live orders matched, command \(resp.commandID))\n" }
            return
        }
        guard let id else { throw ValidationError("an order id (or --all) is required") }
        var r = Oms_Api_V1_CancelOrderRequest()
        r.ref = ref(id, account: account)
        r.reason = "omsctl cancel"
        let req = r
        let resp = try await api.withClient { c, md in try await c.cancelOrder(req, metadata: md) }
        api.output(resp) { "cancel sent for \(resp.order.orderID) (command \(resp.commandID))\n" }
    }
}

struct Amend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Amend price and/or quantity of a live order.")
    @OptionGroup var api: APIOptions
    @Argument var id: String
    @Option var account = ""
    @Option var price: String?
    @Option var quantity: String?
    func run() async throws {
        var r = Oms_Api_V1_AmendOrderRequest()
        r.ref = ref(id, account: account)
        if let price { r.newPrice = try dec(price, "price") }
        if let quantity { r.newQuantity = try dec(quantity, "quantity") }
        let req = r
        let resp = try await api.withClient { c, md in try await c.amendOrder(req, metadata: md) }
        api.output(resp) { "amend sent for \(resp.order.orderID) (command \(resp.commandID))\n" }
    }
}

struct Orders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List orders (newest first).")
    @OptionGroup var api: APIOptions
    @Option var account = ""
    @Option var symbol = ""
    @Flag(help: "Only live orders") var live = false
    @Option(help: "Page size") var limit: UInt32 = 50
    @Flag(help: "Follow next_page_token to the end") var allPages = false
    func run() async throws {
        var r = Oms_Api_V1_ListOrdersRequest()
        r.account = account; r.symbol = symbol; r.liveOnly = live; r.pageSize = limit
        let req = r
        let all = allPages
        let orders = try await api.withClient { c, md in
            var out: [Oms_V1_Order] = []
            var q = req
            repeat {
                let resp = try await c.listOrders(q, metadata: md)
                out += resp.orders
                q.pageToken = resp.nextPageToken
            } while all && !q.pageToken.isEmpty
            return out
        }
        var resp = Oms_Api_V1_ListOrdersResponse()
        resp.orders = orders
        api.output(resp) { orderRows(orders) }
    }
}

struct Order: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one order with its lifecycle events, fills and decisions.")
    @OptionGroup var api: APIOptions
    @Argument var id: String
    @Option var account = ""
    func run() async throws {
        var r = Oms_Api_V1_GetOrderRequest()
        r.ref = ref(id, account: account)
        let req = r
        let resp = try await api.withClient { c, md in try await c.getOrder(req, metadata: md) }
        api.output(resp) {
            var s = orderRows([resp.order]) + "\nevents:\n"
            s += table(["EVENT", "STATUS", "FILLED", "LAST QTY", "LAST PX", "SOURCE", "REASON"], resp.events.map { e in
                [enumName(e.eventType), enumName(e.order.status), fmt(e.order.filledQuantity), e.hasLastQuantity ? fmt(e.lastQuantity) : "",
                 e.hasLastPrice ? fmt(e.lastPrice) : "", e.source, e.reasonCode == .unspecified ? "" : "\(enumName(e.reasonCode)) \(e.reasonText)"]
            })
            if !resp.fills.isEmpty {
                s += "\nfills:\n" + table(["TRADE", "VENUE", "QTY", "PRICE", "FEE"], resp.fills.map { f in
                    [f.tradeID, "\(f.instrument.exchange).\(f.instrument.market)", fmt(f.quantity), fmt(f.price), "\(fmt(f.commission)) \(f.commissionAsset)"]
                })
            }
            if resp.hasRiskDecision { s += "\nrisk: \(enumName(resp.riskDecision.result)) \(resp.riskDecision.reasonText)\n" }
            if resp.hasRoutingDecision { s += "routing: \(resp.routingDecision.allocations.count) children \(resp.routingDecision.reasonText)\n" }
            if !resp.children.isEmpty { s += "\nchildren:\n" + orderRows(resp.children) }
            return s
        }
    }
}

struct Positions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Positions as the venues report them.")
    @OptionGroup var api: APIOptions
    @Option var account = ""
    func run() async throws {
        var r = Oms_Api_V1_GetPositionsRequest(); r.account = account
        let req = r
        let resp = try await api.withClient { c, md in try await c.getPositions(req, metadata: md) }
        api.output(resp) {
            // Leverage, margin type, liquidation price and margin ratio exist for derivatives only ("-" on spot).
            table(["ACCOUNT", "VENUE", "SYMBOL", "QTY", "ENTRY", "MARK", "UNREALIZED", "REALIZED", "LEV", "MARGIN", "LIQ PRICE", "MARGIN RATIO"],
                  resp.positions.map { p in
                let derivative = p.leverage > 0
                let marginType = p.marginType == .isolated ? "isolated" : p.marginType == .crossed ? "cross" : "-"
                return [p.account, "\(p.instrument.exchange).\(p.instrument.market)", p.instrument.symbol, fmt(p.quantity), fmt(p.averageEntryPrice),
                        fmt(p.markPrice), fmt(p.unrealizedPnl), fmt(p.realizedPnl), derivative ? "\(p.leverage)x" : "-", marginType,
                        derivative && p.liquidationPrice.mantissa != 0 ? fmt(p.liquidationPrice) : "-",
                        derivative ? fmt(p.marginRatio) : "-"]
            })
        }
    }
}

struct Balances: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Balances as the venues report them.")
    @OptionGroup var api: APIOptions
    @Option var account = ""
    func run() async throws {
        var r = Oms_Api_V1_GetBalancesRequest(); r.account = account
        let req = r
        let resp = try await api.withClient { c, md in try await c.getBalances(req, metadata: md) }
        api.output(resp) {
            table(["ACCOUNT", "VENUE", "ASSET", "FREE", "LOCKED"], resp.balances.map { b in
                [b.account, "\(b.exchange).\(b.market)", b.asset, fmt(b.free), fmt(b.locked)]
            })
        }
    }
}

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Engage (or --release) a kill switch: global (admin), --account, --venue or --symbol.")
    @OptionGroup var api: APIOptions
    @Option var account: String?
    @Option(help: "exchange.market") var venue: String?
    @Option var symbol: String?
    @Flag(help: "Clear the kill switch instead") var release = false
    @Option var reason = "omsctl kill"
    func run() async throws {
        var r = Oms_Api_V1_SetKillSwitchRequest()
        if let symbol { r.scope = .symbol; r.symbol = symbol } else if venue != nil { r.scope = .venue } else if let account { r.scope = .account; r.account = account } else { r.scope = .global }
        if let venue { let p = venue.split(separator: "."); r.exchange = String(p[0]); if p.count > 1 { r.market = String(p[1]) } }
        r.engaged = !release
        r.reason = reason
        let req = r
        let resp = try await api.withClient { c, md in try await c.setKillSwitch(req, metadata: md) }
        api.output(resp) { "kill switch \(req.engaged ? "engaged" : "released") (\(enumName(req.scope))), command \(resp.commandID)\n" }
    }
}

struct Risk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show oms-core's risk limits; --set changes them (admin), --reload asks oms-core to re-read config risk: (admin).",
        discussion: """
            omsctl risk                                              # the limits oms-core loaded
            omsctl risk --set symbol:BTCUSDT/max_order_qty=2         # change one (admin token)
            omsctl risk --set defaults/max_open_orders=50 --set account:demo-1/daily_loss_limit=1000
            omsctl risk --set symbol:BTCUSDT/max_order_qty=          # remove it (back to the defaults)
            Scopes: global (reference_max_age_ms, allow_missing_reference), defaults, account:<a>, symbol:<SYMBOL>.
            """)
    @OptionGroup var api: APIOptions
    @Option var account = ""
    @Flag var reload = false
    @Option(name: .customLong("set"), help: "scope/name=value (repeatable; empty value removes the limit)") var set: [String] = []
    func run() async throws {
        if reload || !set.isEmpty {
            var r = Oms_Api_V1_UpdateRiskLimitsRequest()
            r.reload = reload
            for s in set {
                guard let slash = s.firstIndex(of: "/"), let eq = s[slash...].firstIndex(of: "=") else {
                    throw ValidationError("--set: expected scope/name=value, got \"\(s)\"")
                }
                var l = Oms_Api_V1_RiskLimit()
                l.scope = String(s[..<slash]); l.name = String(s[s.index(after: slash)..<eq]); l.value = String(s[s.index(after: eq)...])
                r.limits.append(l)
            }
            let req = r
            let resp = try await api.withClient { c, md in try await c.updateRiskLimits(req, metadata: md) }
            api.output(resp) { req.limits.isEmpty ? "reload requested\n" : "risk limits updated (\(req.limits.count)); oms-core reload requested\n" }
            return
        }
        var r = Oms_Api_V1_GetRiskLimitsRequest(); r.account = account
        let req = r
        let resp = try await api.withClient { c, md in try await c.getRiskLimits(req, metadata: md) }
        api.output(resp) { "source: \(resp.source)\n" + table(["SCOPE", "LIMIT", "VALUE"], resp.limits.map { [$0.scope, $0.name, $0.value] }) }
    }
}
