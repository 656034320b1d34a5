import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

@testable import loadgen

/// A tiny real HTTP server on 127.0.0.1 (port 0) that takes whole POST bodies (push JSON or uncompressed OTLP
/// protobuf, where the record markers are verbatim), answers each with the status `answer` gives for its request
/// number (from 0), and, for 2xx answers, keeps every ``RecordMarker`` the body carried.
final class FakeIngestServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let state: State

    final class State: Sendable {
        let answer: @Sendable (Int) -> Int
        let requests = Atomic<Int>(0)
        let accepted = Mutex<[RecordMarker]>([])

        init(answer: @escaping @Sendable (Int) -> Int) { self.answer = answer }
    }

    var baseURL: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }
    /// The markers of every record in a request answered 2xx, in arrival order.
    var acceptedMarkers: [RecordMarker] { state.accepted.withLock { $0 } }
    var requests: Int { state.requests.load(ordering: .relaxed) }

    init(answer: @escaping @Sendable (Int) -> Int = { _ in 200 }) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let state = State(answer: answer)
        self.state = state
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func shutdown() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }

    /// Every marker in `body`, in order.
    static func markers(in body: [UInt8]) -> [RecordMarker] {
        var found: [RecordMarker] = []
        let key = Array(" run=".utf8)
        var cursor = 0
        body.withUnsafeBytes { raw in
            key.withUnsafeBytes { pin in
                while let position = RecordMarker.find(pin, in: raw, from: cursor) {
                    let end = min(body.count, position + RecordMarker.byteCount)
                    if let marker = RecordMarker.parse(body[position..<end]) { found.append(marker) }
                    cursor = position + 1
                }
            }
        }
        return found
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {  // confined to its channel's event loop
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let state: State
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: State) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.removeAll(keepingCapacity: true)
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                let number = state.requests.wrappingAdd(1, ordering: .relaxed).oldValue
                let status = state.answer(number)
                if (200..<300).contains(status) {
                    let markers = Self.markers(body)
                    state.accepted.withLock { $0.append(contentsOf: markers) }
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                let version = head?.version ?? .http1_1
                context.write(wrapOutboundOut(.head(HTTPResponseHead(
                    version: version, status: HTTPResponseStatus(statusCode: status), headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }

        private static func markers(_ body: [UInt8]) -> [RecordMarker] { FakeIngestServer.markers(in: body) }
    }
}
