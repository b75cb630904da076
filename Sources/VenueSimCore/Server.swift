// HTTP + WebSocket front end (Hummingbird): REST under /api/v3, WS API at /ws-api/v3,
// market streams at /ws/<stream> and /stream?streams=, admin/fault endpoints under /sim.
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

public final class VenueServer: @unchecked Sendable {
    public let api: VenueAPI
    public let config: SimConfig
    let logger: Logger

    public init(config: SimConfig, logger: Logger = Logger(label: "venue-sim")) {
        self.config = config
        self.api = VenueAPI(config: config)
        self.logger = logger
    }

    static let jsonType = "application/json;charset=UTF-8"

    func response(_ status: Int, _ body: String, _ headers: [(String, String)]) -> Response {
        var h = HTTPFields()
        h[.contentType] = VenueServer.jsonType
        for (k, v) in headers { if let n = HTTPField.Name(k) { h[n] = v } }
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func errorResponse(_ e: APIError, _ headers: [(String, String)]) -> Response {
        var h = headers
        if let r = e.retryAfter { h.append(("Retry-After", String(r))) }
        return response(e.http, e.json.text, h)
    }

    /// One REST call, end to end.
    func handleREST(_ request: Request, _ ep: Endpoint) async -> Response {
        var req = request
        var headers: [(String, String)] = []
        let limiter = request.uri.path.hasPrefix("/fapi") ? api.flimiter : api.limiter
        if let f = api.faults.nextREST() {
            switch f {
            case .error(let status):
                return response(status, APIError(-1001, "Internal error; unable to process your request. Please try again.", http: status).json.text, [])
            case .timeout(let ms):
                try? await Task.sleep(for: .milliseconds(ms))
                return errorResponse(APIError.timeout, [])
            case .delay(let ms):
                try? await Task.sleep(for: .milliseconds(ms))
            case .ban(let seconds):
                let until = Int64(Date().timeIntervalSince1970 * 1000) + Int64(seconds) * 1000
                return errorResponse(APIError.banned(untilMs: until, retryAfter: seconds), [])
            case .throttle:
                return errorResponse(APIError.tooMuchWeight(limit: limiter.cfg.requestWeightPerMinute, retryAfter: 1),
                                     [("X-MBX-USED-WEIGHT-1M", String(limiter.usedWeight()))])
            }
        }
        let query = request.uri.query ?? ""
        var bodyText = ""
        do {
            let buf = try await req.collectBody(upTo: config.maxBodyBytes)
            bodyText = String(buffer: buf)
        } catch {
            return errorResponse(APIError(-1101, "Too many parameters sent for this endpoint.", http: 413), [])
        }
        var params = Params()
        do throws(APIError) {
            try Params.parseForm(query, into: &params)
            if !bodyText.isEmpty { try Params.parseForm(bodyText, into: &params) }
        } catch {
            return errorResponse(error, [])
        }
        do throws(APIError) {
            let used = try limiter.consume(ep.weight(params))
            headers.append(("X-MBX-USED-WEIGHT-1M", String(used)))
        } catch {
            return errorResponse(error, [("X-MBX-USED-WEIGHT-1M", String(limiter.usedWeight()))])
        }
        var account = -1
        do throws(APIError) {
            if ep.security == .signed {
                let (payload, sig) = Signer.restPayload(query: query, body: bodyText)
                let key = request.headers[HTTPField.Name("X-MBX-APIKEY")!]
                // /fapi reports simulated time as serverTime (POST /sim/futures/advance moves it): a client synced
                // to it must pass the recvWindow check against the same clock.
                account = try api.authenticate(apiKey: key, payload: payload, signature: sig,
                                               timestamp: params["timestamp"], recvWindow: params["recvWindow"],
                                               clockMs: request.uri.path.hasPrefix("/fapi") ? api.futures.fnow() : nil)
            } else if ep.security == .apiKey {
                let key = request.headers[HTTPField.Name("X-MBX-APIKEY")!]
                guard let k = key, !k.isEmpty else { throw APIError.apiKeyFormat }
                guard let acc = api.engine.accountIndex(apiKey: k) else { throw APIError.rejectedKey }
                account = acc
            }
            if ep.isOrder {
                let (c10, cd) = try limiter.order(account: account)
                headers.append(("X-MBX-ORDER-COUNT-10S", String(c10)))
                headers.append(("X-MBX-ORDER-COUNT-1D", String(cd)))
            }
            let result = try ep.handler(params, account)
            return response(200, result.text, headers)
        } catch {
            if ep.isOrder && account >= 0 && headers.count == 1 {
                let (c10, cd) = limiter.orderCounts(account: account)
                headers.append(("X-MBX-ORDER-COUNT-10S", String(c10)))
                headers.append(("X-MBX-ORDER-COUNT-1D", String(cd)))
            }
            return errorResponse(error, headers)
        }
    }

    public func buildRouter() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        for (key, ep) in api.rest.merging(api.frest, uniquingKeysWith: { a, _ in a }) {
            let parts = key.split(separator: " ")
            let method: HTTPRequest.Method = parts[0] == "GET" ? .get : parts[0] == "POST" ? .post : parts[0] == "PUT" ? .put : .delete
            router.on(RouterPath(String(parts[1])), method: method) { [self] req, _ in await self.handleREST(req, ep) }
        }
        router.get("/sim/health") { [self] _, _ in self.response(200, #"{"status":"ok"}"#, []) }
        router.get("/sim/faults") { [self] _, _ in self.response(200, self.api.faults.json.text, []) }
        router.delete("/sim/faults") { [self] _, _ in
            self.api.faults.set { $0.errorCount = 0; $0.timeoutCount = 0; $0.delayCount = 0; $0.throttleCount = 0; $0.banCount = 0; $0.wsRefuseCount = 0; $0.wsUnknownCount = 0 }
            self.api.engine.depthPaused = false
            self.api.engine.gapsToInject = 0
            self.api.limiter.reset()
            self.api.flimiter.reset()
            return self.response(200, self.api.faults.json.text, [])
        }
        router.post("/sim/faults") { [self] req, _ in
            var r = req
            let text = String(buffer: (try? await r.collectBody(upTo: 65536)) ?? ByteBuffer())
            guard let obj = JSONReader.object(text) else { return self.errorResponse(.invalidJSON, []) }
            return self.response(200, await self.applyFaults(obj).text, [])
        }
        router.get("/sim/ledger") { [self] req, _ in
            guard let key = req.uri.queryParameters.get("apiKey"), let acc = self.api.engine.accountIndex(apiKey: key) else {
                return self.errorResponse(APIError(-2014, "API-key format invalid.", http: 400), [])
            }
            var doc = self.api.engine.ledger(account: acc)
            if self.api.futures.symbolCount > 0, case .obj(var kv) = doc {
                kv.append(("futures", self.api.futures.ledger(account: acc)))
                doc = .obj(kv)
            }
            return self.response(200, doc.text, [])
        }
        router.post("/sim/balance") { [self] req, _ in
            var r = req
            let text = String(buffer: (try? await r.collectBody(upTo: 65536)) ?? ByteBuffer())
            guard let obj = JSONReader.object(text), let key = obj["apiKey"] as? String, let asset = obj["asset"] as? String,
                  let dS = obj["delta"].flatMap(JSONReader.scalarString), let acc = self.api.engine.accountIndex(apiKey: key) else {
                return self.errorResponse(.invalidJSON, [])
            }
            let neg = dS.hasPrefix("-")
            guard let d = Fixed.parse(neg ? String(dS.dropFirst()) : dS) else { return self.errorResponse(.invalidJSON, []) }
            self.api.engine.adjustBalance(account: acc, asset: asset, delta: neg ? -d : d)
            return self.response(200, "{}", [])
        }
        router.post("/sim/mid") { [self] req, _ in
            var r = req
            let text = String(buffer: (try? await r.collectBody(upTo: 65536)) ?? ByteBuffer())
            guard let obj = JSONReader.object(text), let s = obj["symbol"] as? String, let sym = self.api.engine.symbol(s),
                  let m = obj["mid"].flatMap(JSONReader.scalarString).flatMap(Fixed.parse) else { return self.errorResponse(.invalidJSON, []) }
            self.api.engine.setMid(sym, m)
            return self.response(200, "{}", [])
        }
        // Market streams
        router.ws("/ws/{stream}") { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, ctx in
            let s = ctx.requestContext.parameters.get("stream") ?? ""
            try await self.runMarket(inbound, outbound, streams: s.split(separator: "/").map(String.init), combined: false)
        }
        router.ws("/ws") { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, _ in
            try await self.runMarket(inbound, outbound, streams: [], combined: false)
        }
        router.ws("/stream") { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, ctx in
            let q = ctx.request.uri.queryParameters.get("streams") ?? ""
            try await self.runMarket(inbound, outbound, streams: q.split(separator: "/").map(String.init), combined: true)
        }
        router.ws("/ws-api/v3") { _, _ in .upgrade([:]) } onUpgrade: { [self] inbound, outbound, _ in
            try await self.runWSAPI(inbound, outbound)
        }
        addFuturesRoutes(router)
        return router
    }

    func applyFaults(_ o: [String: Any]) async -> J {
        func num(_ v: Any?) -> Int? { v.flatMap(JSONReader.scalarString).flatMap { Int($0) } }
        var dropped = 0
        api.faults.set { f in
            if let e = o["restErrors"] as? [String: Any] { f.errorCount = num(e["count"]) ?? 1; f.errorStatus = num(e["status"]) ?? 503 }
            if let e = o["restTimeouts"] as? [String: Any] { f.timeoutCount = num(e["count"]) ?? 1; f.timeoutMs = num(e["ms"]) ?? 10_000 }
            if let e = o["restDelays"] as? [String: Any] { f.delayCount = num(e["count"]) ?? 1; f.delayMs = num(e["ms"]) ?? 1000 }
            if let e = o["throttle"] as? [String: Any] { f.throttleCount = num(e["count"]) ?? 1 }
            if let e = o["wsApiErrors"] as? [String: Any] { f.wsRefuseCount = num(e["count"]) ?? 1; f.wsRefuseStatus = num(e["status"]) ?? 503 }
            if let e = o["wsApiUnknown"] as? [String: Any] { f.wsUnknownCount = num(e["count"]) ?? 1 }
            if let e = o["ban"] as? [String: Any] { f.banCount = num(e["count"]) ?? 1; f.banSeconds = num(e["seconds"]) ?? 2 }
        }
        if let k = o["dropWebSockets"] {
            dropped = api.hub.drop(kind: (k as? String) ?? "all")
            if (k as? String) != "api" { dropped += api.fhub.drop(kind: "all") }
        }
        if let g = o["depthGap"] as? [String: Any] {
            api.engine.withLock { api.engine.gapsToInject += num(g["count"]) ?? 1 }
            api.futures.withLock { api.futures.gapsToInject += num(g["count"]) ?? 1 }
        }
        if let p = o["pauseDepth"] as? [String: Any] {
            let ms = num(p["ms"]) ?? 5000
            api.engine.withLock { api.engine.depthPaused = true }
            let eng = api.engine
            Task { try? await Task.sleep(for: .milliseconds(ms)); eng.withLock { eng.depthPaused = false } }
        }
        var j = api.faults.json
        if case .obj(var kv) = j { kv.append(("droppedWebSockets", .i(dropped))); j = .obj(kv) }
        return j
    }

    // MARK: WebSocket market streams

    static func validStream(_ s: String, _ e: Engine) -> Bool {
        let parts = s.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, e.symbol(String(parts[0])) != nil, parts[0] == parts[0].lowercased() else { return false }
        return ["depth", "depth@100ms", "bookTicker", "trade", "depth5", "depth10", "depth20", "depth5@100ms", "depth10@100ms",
                "depth20@100ms"].contains(String(parts[1]))
    }

    func runMarket(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, streams: [String], combined: Bool) async throws {
        let hub = api.hub
        let (id, stream) = hub.open(combined: combined, isAPI: false)
        hub.subscribe(id, streams.filter { VenueServer.validStream($0, api.engine) })
        defer { hub.close(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in stream { try await outbound.write(.text(text)) }
            }
            group.addTask { [self] in
                for try await msg in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = msg else { continue }
                    hub.send(id, self.marketControl(id, text))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func marketControl(_ conn: Int, _ text: String) -> String {
        guard let o = JSONReader.object(text) else {
            return J.obj([("error", .obj([("code", .int(3)), ("msg", .str("Invalid JSON: expected an object"))])), ("id", .null)]).text
        }
        let idJ: J = (o["id"]).flatMap(JSONReader.scalarString).map { Int64($0).map(J.int) ?? .str($0) } ?? .null
        guard let method = o["method"] as? String else {
            return J.obj([("error", .obj([("code", .int(2)), ("msg", .str("Invalid request: method not sent"))])), ("id", idJ)]).text
        }
        let params = (o["params"] as? [Any])?.compactMap { $0 as? String } ?? []
        switch method {
        case "SUBSCRIBE":
            let bad = params.filter { !VenueServer.validStream($0, api.engine) }
            if !bad.isEmpty {
                return J.obj([("error", .obj([("code", .int(2)), ("msg", .str("Invalid request: unknown stream \(bad[0])"))])), ("id", idJ)]).text
            }
            api.hub.subscribe(conn, params)
            return J.obj([("result", .null), ("id", idJ)]).text
        case "UNSUBSCRIBE":
            api.hub.unsubscribe(conn, params)
            return J.obj([("result", .null), ("id", idJ)]).text
        case "LIST_SUBSCRIPTIONS":
            return J.obj([("result", .arr(api.hub.list(conn).map { .str($0) })), ("id", idJ)]).text
        default:
            return J.obj([("error", .obj([("code", .int(2)), ("msg", .str("Invalid request: unknown method"))])), ("id", idJ)]).text
        }
    }

    // MARK: WebSocket API

    final class Session: @unchecked Sendable {
        var account: Int? = nil
        var apiKey: String? = nil
        var authorizedSince: Int64 = 0
        let connectedSince = nowMs()
    }

    func runWSAPI(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) async throws {
        let hub = api.hub
        let (id, stream) = hub.open(combined: false, isAPI: true)
        defer { hub.close(id) }
        let session = Session()
        _ = try? api.limiter.consume(2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in stream { try await outbound.write(.text(text)) }
            }
            group.addTask { [self] in
                for try await msg in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = msg else {
                        hub.send(id, self.wsError(.null, APIError(-1000, "Binary frames are not supported."), nil))
                        continue
                    }
                    hub.send(id, self.wsRequest(text, id, session))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func wsError(_ idJ: J, _ e: APIError, _ account: Int?) -> String {
        var kv: [(String, J)] = [("id", idJ), ("status", .i(e.http)), ("error", e.json)]
        kv.append(("rateLimits", api.limiter.rateLimitsJSON(account: account)))
        return J.obj(kv).text
    }

    /// One WS API request → one response text.
    func wsRequest(_ text: String, _ conn: Int, _ s: Session) -> String {
        guard let o = JSONReader.object(text) else {
            return wsError(.null, APIError(-2, "Invalid JSON: request is not a JSON object"), nil).replacingOccurrences(of: "\"status\":400", with: "\"status\":400")
        }
        let idJ: J = o["id"].flatMap(JSONReader.scalarString).map { v in (o["id"] is String) ? .str(v) : (Int64(v).map(J.int) ?? .str(v)) } ?? .null
        guard let method = o["method"] as? String else { return wsError(idJ, APIError.mandatory("method"), nil) }
        var p = Params()
        if let raw = o["params"] {
            guard let dict = raw as? [String: Any] else { return wsError(idJ, APIError(-1130, "Invalid data sent for a parameter."), nil) }
            for (k, v) in dict {
                guard let sv = JSONReader.scalarString(v) else { return wsError(idJ, APIError.illegal(k, "string or number"), nil) }
                p.items.append((k, sv))
            }
        }
        var account: Int? = nil
        do throws(APIError) {
            let result: J
            switch method {
            case "session.logon":
                _ = try api.limiter.consume(2)
                let key = p["apiKey"]
                guard let k = key, let acc = api.engine.accountIndex(apiKey: k) else { throw key == nil ? APIError.mandatory("apiKey") : APIError.rejectedKey }
                guard api.engine.edKey(of: acc) != nil else { throw APIError(-1002, "You are not authorized to execute this request. Only Ed25519 API keys can be used for session.logon.", http: 401) }
                account = try api.authenticate(apiKey: k, payload: Signer.wsPayload(p), signature: p["signature"],
                                               timestamp: p["timestamp"], recvWindow: p["recvWindow"])
                s.account = account; s.apiKey = k; s.authorizedSince = nowMs()
                result = sessionStatus(s)
            case "session.status":
                _ = try api.limiter.consume(2)
                result = sessionStatus(s)
            case "session.logout":
                _ = try api.limiter.consume(2)
                s.account = nil; s.apiKey = nil
                result = sessionStatus(s)
            case "userDataStream.subscribe":
                _ = try api.limiter.consume(2)
                guard let acc = s.account else { throw APIError(-2015, "Invalid API-key, IP, or permissions for action.", http: 401) }
                account = acc
                result = .obj([("subscriptionId", .i(api.hub.subscribeUser(conn, account: acc) ?? 0))])
            case "userDataStream.subscribe.signature":
                _ = try api.limiter.consume(2)
                account = try api.authenticate(apiKey: p["apiKey"], payload: Signer.wsPayload(p), signature: p["signature"],
                                               timestamp: p["timestamp"], recvWindow: p["recvWindow"])
                result = .obj([("subscriptionId", .i(api.hub.subscribeUser(conn, account: account!) ?? 0))])
            case "userDataStream.unsubscribe":
                _ = try api.limiter.consume(2)
                let sid = try p.int("subscriptionId").map { Int($0) }
                if !api.hub.unsubscribeUser(conn, subscriptionId: sid) { throw APIError(-1130, "Invalid data sent for a parameter.") }
                result = .obj([])
            default:
                guard let ep = api.ws[method] else { throw APIError(-1020, "Unknown method '\(method)'.") }
                _ = try api.limiter.consume(ep.weight(p))
                if ep.security == .signed {
                    if p["signature"] != nil {
                        account = try api.authenticate(apiKey: p["apiKey"], payload: Signer.wsPayload(p), signature: p["signature"],
                                                       timestamp: p["timestamp"], recvWindow: p["recvWindow"])
                    } else if let acc = s.account {
                        guard let ts = p["timestamp"] else { throw APIError.mandatory("timestamp") }
                        try api.checkTimestamp(ts, p["recvWindow"])
                        account = acc
                    } else {
                        throw APIError.mandatory("apiKey")
                    }
                }
                if ep.isOrder { _ = try api.limiter.order(account: account!) }
                // Fault injection on order requests: refused before execution, or executed with
                // the answer lost (-1007, "execution status unknown") — the case that tempts a resend.
                switch ep.isOrder ? api.faults.nextWSAPI() : nil {
                case .refuse(let status)?:
                    throw APIError(-1001, "Internal error; unable to process your request. Please try again.", http: status)
                case .unknownOutcome?:
                    _ = try? ep.handler(p, account ?? -1)
                    throw APIError.timeout
                case nil:
                    break
                }
                result = try ep.handler(p, account ?? -1)
            }
            return J.obj([("id", idJ), ("status", .int(200)), ("result", result),
                          ("rateLimits", api.limiter.rateLimitsJSON(account: account))]).text
        } catch {
            return wsError(idJ, error, account)
        }
    }

    func sessionStatus(_ s: Session) -> J {
        .obj([("apiKey", s.apiKey.map { .str($0) } ?? .null), ("authorizedSince", s.apiKey == nil ? .null : .int(s.authorizedSince)),
              ("connectedSince", .int(s.connectedSince)), ("returnRateLimits", .bool(true)), ("serverTime", .int(nowMs())),
              ("userDataStream", .bool(false))])
    }

    // MARK: lifecycle

    /// Background work: depth diffs every 100 ms (and 1 s), partial-depth streams, liquidity requotes.
    public func runTicker() async {
        var tick = 0
        let interval = max(100, config.liquidity.intervalMs)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            tick += 1
            let e = api.engine
            if config.liquidity.enabled && (tick * 100) % interval == 0 {
                for i in 0..<e.symbolCount { e.requote(i) }
            }
            e.flushDepth(tracker: 0)
            if tick % 10 == 0 { e.flushDepth(tracker: 1) }
            if api.futures.symbolCount > 0 { api.futures.tick(tick) }
            for s in api.hub.activeStreams() where s.contains("@depth5") || s.contains("@depth10") || s.contains("@depth20") {
                let parts = s.split(separator: "@")
                guard parts.count >= 2, let sym = e.symbol(String(parts[0])), let n = Int(parts[1].dropFirst(5)) else { continue }
                if parts.count == 2 && tick % 10 != 0 { continue }
                if !e.withLock({ e.depthPaused }) { api.hub.publish(stream: s, payload: e.partialDepth(sym, levels: n)) }
            }
        }
    }

    public func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            server: .http1WebSocketUpgrade(webSocketRouter: buildRouter()),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "venue-sim"),
            onServerRunning: { ch in await onRunning(ch.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Serves until SIGTERM/SIGINT (graceful shutdown) or task cancellation.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = makeApplication(onRunning: onRunning)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.runTicker() }
            group.addTask { try await app.runService() }
            try await group.next()
            group.cancelAll()
        }
    }
}

extension Engine {
    public func withLock<T>(_ f: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return f() }
}
