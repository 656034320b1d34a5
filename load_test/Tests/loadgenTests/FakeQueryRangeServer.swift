import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny real HTTP server on 127.0.0.1 (port 0) answering `GET /loki/api/v1/query_range` as Loki does for a log
/// query over a fixed set of entries: entries with `start <= ts < end` whose line contains the query's `|= "…"`
/// string (and the selector's `stream="N"`, if any), oldest first, at most `limit`, grouped by stream. Counts the
/// queries it answered.
final class FakeQueryRangeServer: Sendable {
    struct Entry: Sendable {
        var labels: [String: String]
        var timestamp: Int64
        var line: String
    }

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    let entries: [Entry]

    var baseURL: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }

    init(entries: [Entry]) async throws {
        self.entries = entries
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let sorted = entries.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }
            .map(\.element)
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(entries: sorted))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func shutdown() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }

    /// The answer to one query string.
    static func answer(_ uri: String, entries: [Entry]) -> (status: HTTPResponseStatus, body: String) {
        guard let components = URLComponents(string: uri), components.path == "/loki/api/v1/query_range" else {
            return (.notFound, "not found")
        }
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] { parameters[item.name] = item.value ?? "" }
        guard let start = parameters["start"].flatMap({ Int64($0) }), let end = parameters["end"].flatMap({ Int64($0) }),
              let limit = parameters["limit"].flatMap({ Int($0) }), parameters["direction"] == "forward",
              let query = parameters["query"]
        else { return (.badRequest, "bad parameters: \(uri)") }
        var needle = ""
        if let filter = query.range(of: "|= \"") {
            needle = String(query[filter.upperBound...].dropLast())
        }
        // The one matcher besides job="gen" that loadgen sends: stream="N" (verify --streams).
        var stream: String?
        if let matcher = query.range(of: #"stream="[^"]*""#, options: .regularExpression) {
            stream = String(query[matcher].dropFirst("stream=\"".count).dropLast())
        }
        let selected = entries.filter {
            $0.timestamp >= start && $0.timestamp < end && (needle.isEmpty || $0.line.contains(needle))
                && (stream == nil || $0.labels["stream"] == stream)
        }.prefix(limit)
        var streams: [[String: String]: [[String]]] = [:]
        var order: [[String: String]] = []
        for entry in selected {
            if streams[entry.labels] == nil { order.append(entry.labels) }
            streams[entry.labels, default: []].append([String(entry.timestamp), entry.line])
        }
        let result = order.map { ["stream": $0, "values": streams[$0] ?? []] as [String: Any] }
        let root: [String: Any] = ["status": "success", "data": ["resultType": "streams", "result": result]]
        let data = (try? JSONSerialization.data(withJSONObject: root)) ?? Data()
        return (.ok, String(decoding: data, as: UTF8.self))
    }

    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let entries: [Entry]

        init(entries: [Entry]) { self.entries = entries }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            let (status, text) = FakeQueryRangeServer.answer(head.uri, entries: entries)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
