import AlloyLanguage
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Prometheus
import Synchronization
import Wire

/// `otelcol.receiver.otlp`: accepts OTLP/HTTP logs (`POST /v1/logs`, protobuf or JSON, optionally gzip or deflate)
/// and OTLP/gRPC logs (`LogsService/Export`, see `OTelColReceiverOTLP+GRPC.swift`) and forwards them to
/// `output { logs = [...] }`.
///
/// Responses follow the OTLP/HTTP specification: 200 with an `ExportLogsServiceResponse` in the request's encoding;
/// 400 with a `google.rpc.Status`-shaped message for a malformed body; 413 past `max_request_body_size`; 415 for an
/// unknown content type or encoding; 503 with `Retry-After` when the pipeline is backpressured, so a well-behaved
/// client retries instead of data being queued without bound.
///
/// A changed `endpoint` or `logs_url_path` rebinds; the old listener, like the one of a receiver being removed or
/// of an agent shutting down, stops accepting at once and gives requests in flight ``shutdownGrace`` to finish.
/// A listener that cannot bind (a port in use) ends `run()` with the error, so the component shows unhealthy.
public final class OTelColReceiverOTLP: Component {
    public static let name = "otelcol.receiver.otlp"

    public struct Arguments: ComponentArguments {
        public struct HTTP: Sendable, Equatable {
            /// `host:port` to listen on.
            public var endpoint = Self.defaultEndpoint.description
            static let defaultEndpoint = HostPort(host: "0.0.0.0", port: 4318)
            /// `max_request_body_size`: the largest request body, and the largest it may decompress to (413).
            public var maxRequestBodySize = 20 << 20
            /// `max_in_flight_body_size` (Estuary's own; the collector has no such limit): the most bytes of
            /// request bodies the listener holds at once, across all requests; a request that does not fit gets
            /// 503 with `Retry-After`. Unset, it is four times `max_request_body_size` (at most 256MiB, never less
            /// than `max_request_body_size`).
            public var maxInFlightBodySize: Int?

            /// `max_in_flight_body_size`, or its default for `max_request_body_size`.
            var inFlightBodyLimit: Int {
                maxInFlightBodySize ?? RequestBody.defaultInFlightLimit(perRequest: maxRequestBodySize)
            }
            public var logsURLPath = "/v1/logs"
            /// `traces_url_path` and `metrics_url_path`: where the collector takes traces and metrics. This
            /// receiver takes logs only; requests there get 404 saying so, not an anonymous not-found.
            public var tracesURLPath = "/v1/traces"
            public var metricsURLPath = "/v1/metrics"
            public var includeMetadata = false
            /// The `cors` block: which browser origins may send (none without it, and no preflight is answered).
            var cors: CORSPolicy?
            /// `compression_algorithms`: the `Content-Encoding`s accepted (the collector's default list); another
            /// gets 400. Of these, gzip and deflate are decoded; the others get 415.
            public var compressionAlgorithms = Self.knownCompressionAlgorithms

            /// The collector's names, `""` standing for no encoding.
            static let knownCompressionAlgorithms = ["", "gzip", "zstd", "zlib", "snappy", "deflate", "lz4"]

            /// The paths the listener serves; a change rebinds it.
            var paths: [String] { [logsURLPath, tracesURLPath, metricsURLPath] }
        }

        /// The `http` block; nil when absent (the receiver then serves nothing over HTTP).
        public var http: HTTP?
        /// The `grpc` block; nil when absent (the receiver then serves nothing over gRPC).
        public var grpc: GRPC?
        public var logs = OTLPLogsConsumers()

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            if let block = try reader.block("http") {
                var http = HTTP()
                http.endpoint = try block.string("endpoint", default: http.endpoint)
                http.maxRequestBodySize = try block.byteSize("max_request_body_size", default: http.maxRequestBodySize)
                http.maxInFlightBodySize = try block.byteSize("max_in_flight_body_size")
                http.logsURLPath = try block.string("logs_url_path", default: http.logsURLPath)
                http.tracesURLPath = try block.string("traces_url_path", default: http.tracesURLPath)
                http.metricsURLPath = try block.string("metrics_url_path", default: http.metricsURLPath)
                http.includeMetadata = try block.bool("include_metadata", default: http.includeMetadata)
                if let cors = try block.block("cors") {
                    http.cors = CORSPolicy(
                        allowedOrigins: try cors.stringList("allowed_origins"),
                        allowedHeaders: try cors.stringList("allowed_headers"),
                        maxAge: try cors.int("max_age", default: CORSPolicy.defaultMaxAge))
                }
                if block.has("compression_algorithms") {
                    http.compressionAlgorithms = try block.stringList("compression_algorithms")
                    for name in http.compressionAlgorithms where !HTTP.knownCompressionAlgorithms.contains(name) {
                        throw block.error(
                            "compression_algorithms",
                            "compression_algorithms: unsupported compression algorithm \(GoQuote.quote(name)); known: "
                                + HTTP.knownCompressionAlgorithms.map(GoQuote.quote).joined(separator: ", "))
                    }
                }
                self.http = http
            }
            if let block = try reader.block("grpc") { grpc = try GRPC(block) }
            logs = try reader.otelcolOutput()
        }

        public func validate() throws(ArgumentError) {
            // As the collector: "must specify at least one protocol when using the OTLP receiver".
            guard http != nil || grpc != nil else {
                throw ArgumentError("an http or grpc block (or both) is required: the receiver serves nothing without one")
            }
            try grpc?.validate()
            guard let http else { return }
            guard HostPort(http.endpoint) != nil else {
                throw ArgumentError("http.endpoint \(GoQuote.quote(http.endpoint)) is not host:port")
            }
            for (name, path) in [("logs_url_path", http.logsURLPath), ("traces_url_path", http.tracesURLPath),
                                 ("metrics_url_path", http.metricsURLPath)] where !path.hasPrefix("/") {
                throw ArgumentError("http.\(name) must start with /, got \(GoQuote.quote(path))")
            }
            guard Set(http.paths).count == http.paths.count else {
                throw ArgumentError("http.logs_url_path, traces_url_path and metrics_url_path must differ")
            }
            if let cors = http.cors, cors.maxAge < 0 { throw ArgumentError("http.cors.max_age must be 0 or more") }
            guard http.maxRequestBodySize > 0 else { throw ArgumentError("http.max_request_body_size must be positive") }
            // Smaller than one body, a request of the largest allowed size could never be accepted.
            if let total = http.maxInFlightBodySize, total < http.maxRequestBodySize {
                throw ArgumentError(
                    "http.max_in_flight_body_size (\(total) bytes) must be at least http.max_request_body_size (\(http.maxRequestBodySize) bytes)")
            }
        }
    }

    private struct State: Sendable {
        var arguments: Arguments
        /// Bumped when the listener must be rebuilt (endpoint or path changed); `run()` watches it.
        var generation: Int
        /// The port the listener is bound to once it runs (`endpoint` may ask for port 0).
        var boundPort: Int?
        /// The same for the gRPC listener, rebuilt when any `grpc` setting changes.
        var grpcGeneration = 0
        var grpcBoundPort: Int?
    }

    /// How long requests in flight may take to finish once the listener stops.
    static let shutdownGrace: Duration = .seconds(5)

    let context: ComponentContext
    private let state: Mutex<State>
    private let metrics: ReceiverMetrics
    /// The same metrics for requests that came over gRPC.
    let grpcMetrics: ReceiverMetrics
    /// The bytes of request bodies held at once, bounded by `http.max_in_flight_body_size`.
    let bodyBudget: RequestBodyBudget
    /// The same for gRPC messages being handed on, bounded by four times `grpc.max_recv_msg_size`.
    let grpcBudget: RequestBodyBudget
    private let listenerLoop = HTTPListenerLoop()
    private let grpcListenerLoop = HTTPListenerLoop()
    public let exports = ValueObject()
    /// The port the listener is bound to once it runs (`endpoint` may ask for port 0).
    var listeningPort: Int? { state.withLock { $0.boundPort } }
    /// The port the gRPC listener is bound to once it runs.
    var grpcListeningPort: Int? { state.withLock { $0.grpcBoundPort } }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments, generation: 0))
        metrics = ReceiverMetrics(registry: context.metrics, componentID: context.id, transport: "http")
        grpcMetrics = ReceiverMetrics(registry: context.metrics, componentID: context.id, transport: "grpc")
        bodyBudget = metrics.bodyBudget(limit: arguments.http?.inFlightBodyLimit ?? 0)
        grpcBudget = grpcMetrics.bodyBudget(limit: arguments.grpc?.inFlightLimit ?? 0)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        let (restart, restartGRPC) = state.withLock { state -> (Int?, Int?) in
            let old = state.arguments
            state.arguments = arguments
            bodyBudget.setLimit(arguments.http?.inFlightBodyLimit ?? 0)
            grpcBudget.setLimit(arguments.grpc?.inFlightLimit ?? 0)
            var restart: Int?
            var restartGRPC: Int?
            if old.http?.endpoint != arguments.http?.endpoint || old.http?.paths != arguments.http?.paths
                || (old.http == nil) != (arguments.http == nil) {
                state.generation += 1
                restart = state.generation
            }
            // `include_metadata` is read per request; every other gRPC setting is the server's.
            if old.grpc?.serverSettings != arguments.grpc?.serverSettings {
                state.grpcGeneration += 1
                restartGRPC = state.grpcGeneration
            }
            return (restart, restartGRPC)
        }
        if let restart { listenerLoop.rebind(to: restart) }
        if let restartGRPC { grpcListenerLoop.rebind(to: restartGRPC) }
    }

    /// Serves until cancelled, rebuilding a listener when its settings change (a block that is absent serves
    /// nothing until a reload adds it). Throws when a listener cannot bind or stops on its own.
    public func run() async throws {
        let (generation, grpcGeneration) = state.withLock { ($0.generation, $0.grpcGeneration) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                try await listenerLoop.run(
                    from: generation, logger: context.logger, grace: { Self.shutdownGrace },
                    stopped: { state.withLock { $0.boundPort = nil } },
                    make: listener(generation:))
            }
            group.addTask { [self] in
                try await grpcListenerLoop.run(
                    from: grpcGeneration, logger: context.logger, grace: { Self.shutdownGrace },
                    stopped: { state.withLock { $0.grpcBoundPort = nil } },
                    make: grpcListener(generation:))
            }
            // Either loop failing (a port in use) ends the component; cancellation ends both.
            while try await group.next() != nil {}
        }
    }

    /// Records the port the gRPC listener of `generation` bound, unless a newer one has replaced it.
    func grpcBound(port: Int?, generation: Int) {
        state.withLock { state in
            guard state.grpcGeneration == generation else { return }
            state.grpcBoundPort = port
        }
    }

    /// The current `grpc` block.
    var grpcArguments: Arguments.GRPC? { state.withLock { $0.arguments.grpc } }

    private func listener(generation: Int) -> HTTPListenerLoop.Listener {
        guard let http = state.withLock({ $0.arguments.http }) else { return .idle }
        // `validate()` makes sure the endpoint is host:port.
        let address = HostPort(http.endpoint) ?? Arguments.HTTP.defaultEndpoint
        let router = Router(context: ReceiverRequestContext.self)
        router.post(RouterPath(http.logsURLPath)) { [self] request, context in
            await withCORS(request, handle(request, from: context.remoteAddress?.ipAddress))
        }
        for (signal, path) in [("traces", http.tracesURLPath), ("metrics", http.metricsURLPath)] {
            router.post(RouterPath(path)) { [self] request, _ in
                let format: BodyFormat = Self.mediaType(request.headers[.contentType]) == "application/json" ? .json : .protobuf
                return withCORS(request, status(format, 404, "this receiver takes logs only; \(signal) are not supported"))
            }
        }
        for path in http.paths {
            // As the collector: with a cors block a preflight is answered 204 (with CORS headers when allowed);
            // anything else reaches the OTLP handler, which takes POST alone.
            router.on(RouterPath(path), method: .options) { [self] request, _ in
                guard let policy = state.withLock({ $0.arguments.http?.cors ?? nil }),
                      request.headers[.accessControlRequestMethod] != nil
                else { return Self.methodNotAllowed() }
                return Response(status: .noContent, headers: policy.preflightHeaders(request.headers))
            }
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                router.on(RouterPath(path), method: method) { _, _ in Self.methodNotAllowed() }
            }
        }
        let logger = context.logger
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { [self] channel in
                state.withLock { state in
                    guard state.generation == generation else { return }
                    state.boundPort = channel.localAddress?.port
                }
                logger.info("otlp receiver listening", metadata: ["address": "\(channel.localAddress?.description ?? "")"])
            },
            logger: logger)
        return HTTPListenerLoop.Listener(service: app, address: http.endpoint)
    }

    // MARK: Requests

    /// The collector's answer to a method other than POST on a signal's path.
    static func methodNotAllowed() -> Response {
        Response(
            status: .methodNotAllowed, headers: [.contentType: "text/plain"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: "405 method not allowed, supported: [POST]")))
    }

    private enum BodyFormat { case protobuf, json }

    /// `response` with the `cors` block's headers for the request's origin.
    private func withCORS(_ request: Request, _ response: Response) -> Response {
        var response = response
        let policy = state.withLock { $0.arguments.http?.cors ?? CORSPolicy() }
        for field in policy.responseHeaders(request.headers) { response.headers[field.name] = field.value }
        return response
    }

    private func handle(_ request: Request, from address: String?) async -> Response {
        let http = state.withLock { $0.arguments.http ?? Arguments.HTTP() }
        let format: BodyFormat
        switch Self.mediaType(request.headers[.contentType]) {
        case "application/x-protobuf", "application/protobuf": format = .protobuf
        case "application/json": format = .json
        case let other:
            return Self.plain(415, "unsupported content type \(GoQuote.quote(other)); use application/x-protobuf or application/json")
        }

        // The body's bytes stay reserved in the budget until the answer is ready.
        let held: RequestBody.Held
        do {
            held = try await RequestBody.read(
                request, limit: http.maxRequestBodySize, attribute: "max_request_body_size", budget: bodyBudget,
                budgetAttribute: "max_in_flight_body_size")
        } catch let error as RequestBody.TooLarge {
            return status(format, 413, error.message)
        } catch let error as RequestBody.Overloaded {
            // What the collector answers when its memory limiter refuses data: retryable, 503 (UNAVAILABLE).
            var response = status(format, 503, error.message)
            response.headers[.retryAfter] = String(error.retryAfterSeconds)
            return response
        } catch {
            return status(format, 400, "reading the request body: \(error)")
        }
        defer { held.release() }
        let body = held.bytes

        let payload: [UInt8]
        var encoding = Self.mediaType(request.headers[.contentEncoding])
        if encoding == "identity" { encoding = "" }
        if encoding == "x-gzip" { encoding = "gzip" }
        guard encoding.isEmpty || http.compressionAlgorithms.contains(encoding) else {
            return status(format, 400, "unsupported Content-Encoding: \(encoding)")
        }
        switch encoding {
        case "":
            payload = body
        case "gzip", "deflate":
            let isGzip = encoding != "deflate"
            do throws(CodecError) {
                payload = isGzip ? try Gzip.decompress(body, maxLength: http.maxRequestBodySize)
                                 : try Deflate.decompress(body, maxLength: http.maxRequestBodySize)
            } catch {
                if error.kind == .tooLarge {
                    return status(format, 413, "decompressed body larger than max_request_body_size (\(http.maxRequestBodySize) bytes)")
                }
                return status(format, 400, "\(error)")
            }
        case let other:
            return status(format, 415, "unsupported Content-Encoding \(GoQuote.quote(other)); use gzip, deflate or none")
        }

        let metadata = http.includeMetadata
            // The collector's `client.Info`: every header of the request, for `metadata_keys` downstream.
            ? ClientMetadata(request.headers.map { ($0.name.canonicalName, $0.value) }, address: address)
            : ClientMetadata(address: address)
        switch await ingest(payload, json: format == .json, metadata: metadata, metrics: metrics) {
        case .accepted:
            let bytes = format == .protobuf
                ? OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 0, errorMessage: "")
                : OTLPJSON.encodeLogsResponse(rejectedLogRecords: 0, errorMessage: "")
            return Self.response(200, bytes, contentType: format == .protobuf ? "application/x-protobuf" : "application/json")
        case .malformed(let message), .rejected(let message):
            return status(format, 400, message)
        case .backpressure(let retryAfter, let reason):
            var response = status(format, 503, "pipeline is backpressured: \(reason)")
            response.headers[.retryAfter] = String(max(1, Int(retryAfter.components.seconds)))
            return response
        case .failed(let message):
            return status(format, 500, message)
        }
    }

    /// What became of one export request's payload.
    enum Ingested: Sendable, Equatable {
        /// Every record was handed on.
        case accepted
        /// The payload is not an OTLP logs request; nothing was handed on.
        case malformed(String)
        /// The pipeline is full: the client should send the same data again after `retryAfter`.
        case backpressure(retryAfter: Duration, reason: String)
        /// The pipeline refused the data for good.
        case rejected(String)
        /// Something else went wrong downstream.
        case failed(String)
    }

    /// The part of an export both transports share: decode the (decompressed) payload, hand it to the consumers
    /// with the client's metadata, and count it under the transport's metrics.
    func ingest(
        _ payload: [UInt8], json: Bool, metadata: ClientMetadata, metrics: ReceiverMetrics
    ) async -> Ingested {
        let consumers = state.withLock { $0.arguments.logs }
        let logs: OTLPLogsData
        do throws(OTLPDecodeError) {
            logs = json ? try OTLPJSON.decodeLogsRequest(payload) : try OTLPProtobuf.decodeLogsRequest(payload)
        } catch {
            return .malformed("\(error)")
        }
        let count = logs.recordCount
        do {
            try await ClientMetadata.$current.withValue(metadata) { try await consumers.send(logs) }
        } catch let error as PipelineError {
            metrics.refused(count)
            switch error {
            case .backpressure(let retryAfter, let reason):
                return .backpressure(retryAfter: retryAfter ?? .seconds(1), reason: reason)
            case .rejected(let reason):
                return .rejected(reason)
            }
        } catch {
            metrics.refused(count)
            return .failed("\(error)")
        }
        metrics.accepted(count)
        return .accepted
    }

    /// An error response in the request's encoding: a `google.rpc.Status` with `code` and `message`, as OTLP/HTTP
    /// asks. For the protobuf form, field 1 is the code (varint) and field 2 the message.
    private func status(_ format: BodyFormat, _ code: Int, _ message: String) -> Response {
        let grpcCode = Self.grpcCode(httpStatus: code)
        switch format {
        case .json:
            var json = JSONWriter(capacity: message.utf8.count + 32)
            json.raw(#"{"code":"#)
            json.number(Int(grpcCode))
            json.raw(#","message":"#)
            json.string(message)
            json.raw("}")
            return Self.response(code, json.bytes, contentType: "application/json")
        case .protobuf:
            let bytes = RPCStatus(code: grpcCode, message: message).encode()
            return Self.response(code, bytes, contentType: "application/x-protobuf")
        }
    }

    /// The gRPC status code that OTLP/HTTP pairs with an HTTP status.
    private static func grpcCode(httpStatus: Int) -> Int32 {
        switch httpStatus {
        case 400, 415: 3  // INVALID_ARGUMENT
        case 413: 8  // RESOURCE_EXHAUSTED
        case 429, 503: 14  // UNAVAILABLE
        default: 13  // INTERNAL
        }
    }

    /// A header value lowercased, without parameters or surrounding spaces (`application/json; charset=utf-8`).
    private static func mediaType(_ value: String?) -> String {
        let type = (value ?? "").split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingCharacters(in: .whitespaces).lowercased()
    }

    private static func plain(_ status: Int, _ message: String) -> Response {
        response(status, Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8")
    }

    private static func response(_ status: Int, _ bytes: [UInt8], contentType: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The receiver's metrics for one transport (`http` or `grpc`), under the OpenTelemetry Collector's names.
struct ReceiverMetrics: Sendable {
    let acceptedCounter: Counter
    let refusedCounter: Counter
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]

    init(registry: PrometheusCollectorRegistry, componentID: String, transport: String) {
        let labels = [("component_id", componentID), ("receiver", "otlp"), ("transport", transport)]
        self.registry = registry
        self.labels = labels
        acceptedCounter = registry.makeCounter(
            descriptor: .init("otelcol_receiver_accepted_log_records_total", help: "Number of log records successfully pushed into the pipeline."),
            labels: labels)
        refusedCounter = registry.makeCounter(
            descriptor: .init("otelcol_receiver_refused_log_records_total", help: "Number of log records that could not be pushed into the pipeline."),
            labels: labels)
    }

    /// The budget for request bodies held at once, with Estuary's metrics for it (labelled as the collector's
    /// receiver metrics): `otelcol_receiver_request_body_bytes_in_flight` and
    /// `otelcol_receiver_refused_requests_total{reason}` (`too_large`: 413; `in_flight_limit`: 503).
    func bodyBudget(limit: Int) -> RequestBodyBudget {
        RequestBodyBudget(
            limit: limit,
            inFlightBytes: registry.makeGauge(
                descriptor: .init("otelcol_receiver_request_body_bytes_in_flight", help: "Bytes of request bodies held by the receiver now."),
                labels: labels),
            refusedInFlight: registry.makeCounter(
                descriptor: .init("otelcol_receiver_refused_requests_total", help: "Requests refused before their body was read, by reason."),
                labels: labels + [("reason", RequestBody.RefusalReason.inFlightLimit.rawValue)]),
            refusedTooLarge: registry.makeCounter(
                descriptor: .init("otelcol_receiver_refused_requests_total", help: "Requests refused before their body was read, by reason."),
                labels: labels + [("reason", RequestBody.RefusalReason.tooLarge.rawValue)]))
    }

    func accepted(_ count: Int) { acceptedCounter.increment(by: Int64(count)) }
    func refused(_ count: Int) { refusedCounter.increment(by: Int64(count)) }
}

/// `host:port` as OpenTelemetry endpoints are written (`0.0.0.0:4318`, `[::1]:4318`, `localhost:0`).
struct HostPort: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }
}

/// The receiver's request context: Hummingbird's, plus the client's address for `client.Info.Addr`.
struct ReceiverRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
