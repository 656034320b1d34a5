import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
@_spi(WSInternal) import WSCore

/// The context a websocket handler of the backend runs with.
public struct WebSocketRequestContext: WebSocketContext {
    public let logger: Logger
}

/// What to do with a websocket handshake: run the socket with a handler, or answer plain HTTP with a status and
/// a reason.
public enum WebSocketUpgradeDecision: Sendable {
    case accept(WebSocketDataHandler<WebSocketRequestContext>)
    case refuse(status: Int, message: String)
}

/// HTTP/1.1 with a websocket upgrade (Loki's `/loki/api/v1/tail`).
///
/// HummingbirdWebSocket's own channel answers a handshake it declines with an empty 400 (NIO's upgrade handler has
/// consumed the request by then, so the router cannot see it); Loki answers a tail request with bad parameters with
/// a 400 that says why. So here `upgrade` decides from the request line and headers, and a refusal is written as
/// its status and reason, then the connection is closed. An accepted socket runs with no auto-ping: the handler
/// pings as Loki does. Requests without an upgrade go to the router as usual.
public struct WebSocketUpgradeChannel: ServerChildChannel, HTTPChannelHandler {
    public typealias Upgrade = @Sendable (_ target: String, _ headers: HTTPFields) -> WebSocketUpgradeDecision

    public enum UpgradeResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, WebSocketDataHandler<WebSocketRequestContext>)
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, status: Int, message: String)
    }

    public struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        public let channel: any Channel
    }

    public let responder: HTTPChannelHandler.Responder
    let upgrade: Upgrade
    /// The largest frame a client may send (tail clients send only control frames).
    let maxFrameSize = 1 << 16

    public init(responder: @escaping HTTPChannelHandler.Responder, upgrade: @escaping Upgrade) {
        self.responder = responder
        self.upgrade = upgrade
    }

    /// A builder for `Application(router:server:...)`.
    public static func builder(upgrade: @escaping Upgrade) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in WebSocketUpgradeChannel(responder: responder, upgrade: upgrade) }
    }

    private static func fields(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgrade = self.upgrade
            // The decision on this connection's handshake: set by `shouldUpgrade`, read by the handlers after it.
            let decision = NIOLoopBoundBox<WebSocketUpgradeDecision?>(nil, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { channel, head in
                    let decided = upgrade(head.uri, Self.fields(head.headers))
                    decision.value = decided
                    guard case .accept = decided else { return channel.eventLoop.makeSucceededFuture(nil) }
                    return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        guard case .accept(let handler) = decision.value else {
                            preconditionFailure("NIO upgrades only a handshake shouldUpgrade accepted")
                        }
                        return UpgradeResult.websocket(asyncChannel, handler)
                    }
                })
            let configuration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .refuse(let status, let message) = decision.value {
                            return UpgradeResult.refused(http, status: status, message: message)
                        }
                        return UpgradeResult.http(http)
                    }
                })
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: configuration)
            pipeline.enablePipelining = false  // NIOAsyncChannel handles HTTP pipelining
            // A request NIO cannot decode (a header list past its limits, a malformed request line) fails before the
            // upgrade decision, where neither the upgrader nor Hummingbird would answer it: NIO's error handler
            // answers 400 and closes, so the client is never left waiting.
            pipeline.enableErrorHandling = true
            pipeline.enableResponseHeaderValidation = false  // HTTPTypes validates headers
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .http(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .refused(let http1, let status, let message):
                try await http1.executeThenClose { _, outbound in
                    let body = ByteBuffer(string: message.hasSuffix("\n") ? message : message + "\n")
                    var headers: HTTPFields = [.connection: "close", .contentLength: String(body.readableBytes)]
                    headers[.contentType] = "text/plain; charset=utf-8"
                    headers[.secWebSocketVersion] = "13"
                    try await outbound.write(contentsOf: [
                        .head(HTTPResponse(status: .init(code: status), headerFields: headers)), .body(body), .end(nil),
                    ])
                }
            case .websocket(let asyncChannel, let handler):
                _ = try await WebSocketHandler.handle(
                    type: .server,
                    configuration: .init(extensions: [], autoPing: .disabled, validateUTF8: false,
                                         maxFrameSize: maxFrameSize),
                    asyncChannel: asyncChannel, context: WebSocketRequestContext(logger: logger), handler: handler)
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }
}
