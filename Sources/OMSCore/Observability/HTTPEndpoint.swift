import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// A response from an observability route.
public struct HTTPRouteResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]

    public init(status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8", body: String) {
        self.status = status
        self.contentType = contentType
        self.body = Array(body.utf8)
    }

    public init(status: HTTPResponseStatus = .ok, contentType: String, bytes: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = bytes
    }
}

public typealias HTTPRoute = @Sendable () -> HTTPRouteResponse

/// A small HTTP/1.1 server for `/metrics`, `/healthz`, `/readyz`: GET only,
/// no request bodies. Runs as a `Service`; closes on graceful shutdown.
public struct HTTPEndpoint: Service {
    let host: String
    let port: Int
    let routes: [String: HTTPRoute]
    let logger: Logger
    let boundPort: @Sendable (Int) -> Void

    public init(host: String, port: Int, routes: [String: HTTPRoute], logger: Logger, boundPort: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.routes = routes
        self.logger = logger
        self.boundPort = boundPort
    }

    public func run() async throws {
        let routes = self.routes
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandler(RouteHandler(routes: routes))
                }
            }
            .bind(host: host, port: port).get()
        let actualPort = channel.localAddress?.port ?? port
        boundPort(actualPort)
        logger.info("http endpoint listening", metadata: ["address": "\(host):\(actualPort)", "routes": "\(routes.keys.sorted())"])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

private final class RouteHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let routes: [String: HTTPRoute]
    var head: HTTPRequestHead?

    init(routes: [String: HTTPRoute]) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let response: HTTPRouteResponse
            if head.method != .GET && head.method != .HEAD {
                response = HTTPRouteResponse(status: .methodNotAllowed, body: "method not allowed\n")
            } else if let route = routes[path] {
                response = route()
            } else {
                response = HTTPRouteResponse(status: .notFound, body: "not found; try \(routes.keys.sorted().joined(separator: ", "))\n")
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: "\(response.body.count)")
            headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                var buffer = context.channel.allocator.buffer(capacity: response.body.count)
                buffer.writeBytes(response.body)
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let keepAlive = head.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
            self.head = nil
        }
    }
}
