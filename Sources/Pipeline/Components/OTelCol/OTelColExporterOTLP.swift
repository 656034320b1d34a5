import AlloyLanguage
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Synchronization
import Wire

/// `otelcol.exporter.otlp`: sends the OTLP logs it is given over gRPC
/// (`opentelemetry.proto.collector.logs.v1.LogsService/Export`), for example to another agent's
/// `otelcol.receiver.otlp { grpc { ... } }` on port 4317. Exports `input`, an `otelcol.Consumer`.
///
/// The sending queue, senders, retries and metrics are ``OTLPExporterCore``'s, shared with
/// `otelcol.exporter.otlphttp`. Status codes are sorted as the collector's OTLP exporter does: CANCELLED,
/// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the
/// server sent a `google.rpc.RetryInfo` (whose delay is honoured, as is any RetryInfo on a retried code); every
/// other code is permanent and the batch is counted as failed.
///
/// One gRPC client (its connections, with TLS unless `tls { insecure = true }`) serves the component; a reload
/// that changes the `client` block builds a new one and lets the old one finish the calls it has.
public final class OTelColExporterOTLP: Component, OTLPLogsConsumer, OTLPExportTransport {
    public static let name = "otelcol.exporter.otlp"
    /// How long stopping waits for the queue to drain (as `otelcol.exporter.otlphttp`).
    public static let defaultDrainTimeout = OTelColExporterOTLPHTTP.defaultDrainTimeout

    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    /// A client for one `client` block, and the task running its connections.
    private struct Connection: Sendable {
        let options: ClientOptions
        let client: Client
        let connections: Task<Void, Never>
    }

    private struct State: Sendable {
        var arguments: Arguments
        var connection: Connection?
    }

    let core: OTLPExporterCore
    private let state: Mutex<State>

    /// The arguments in force now.
    var current: Arguments { state.withLock { $0.arguments } }

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    public convenience init(context: ComponentContext, arguments: Arguments) throws {
        try self.init(context: context, arguments: arguments, drainTimeout: Self.defaultDrainTimeout)
    }

    /// `drainTimeout` is for tests that stop against an endpoint that never recovers.
    init(context: ComponentContext, arguments: Arguments, drainTimeout: Duration) throws {
        core = OTLPExporterCore(
            context: context, kind: "otlp", options: .init(retry: arguments.retry, queue: arguments.queue),
            drainTimeout: drainTimeout)
        state = Mutex(State(arguments: arguments))
        try update(arguments)
    }

    /// Applies new arguments; a changed `client` block gets a new client (an unusable TLS setting, such as a
    /// `ca_file` that cannot be read, fails the update with the reason).
    public func update(_ arguments: Arguments) throws {
        let fresh: Connection? = try state.withLock { state in
            guard state.connection?.options != arguments.client else { return nil }
            return try Self.connect(arguments.client)
        }
        let replaced = state.withLock { state -> Connection? in
            state.arguments = arguments
            guard let fresh else { return nil }
            defer { state.connection = fresh }
            return state.connection
        }
        // Calls already made on the old client finish there; new ones use the new client.
        replaced?.client.beginGracefulShutdown()
        core.update(.init(retry: arguments.retry, queue: arguments.queue))
    }

    /// Runs the senders until cancelled, then drains (see ``OTLPExporterCore/run(_:)``) and closes the client.
    public func run() async throws {
        await core.run(self)
        guard let connection = state.withLock({ $0.connection }) else { return }
        connection.client.beginGracefulShutdown()
        await connection.connections.value
    }

    /// Queues `logs` for sending (see ``OTLPExporterCore/consume(_:via:)``).
    public func consume(_ logs: OTLPLogsData) async throws {
        try await core.consume(logs, via: self)
    }

    // MARK: Sending

    private static func connect(_ options: ClientOptions) throws -> Connection {
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if let tls = options.tls {
            security = .tls { config in
                if tls.insecureSkipVerify { config.serverCertificateVerification = .noVerification }
                if let file = tls.caFile {
                    config.trustRoots = .certificates([.file(path: file, format: .pem)])
                } else if let pem = tls.caPEM {
                    config.trustRoots = .certificates([.bytes(Array(pem.utf8), format: .pem)])
                }
            }
        } else {
            security = .plaintext
        }
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: options.endpoint.host, port: options.endpoint.port),
            transportSecurity: security,
            config: .defaults { config in
                config.compression.enabledAlgorithms = [.gzip, .deflate]
                config.http2.authority = options.authority
                if let keepalive = options.keepalive {
                    config.connection.keepalive = .init(
                        time: keepalive.pingWait, timeout: keepalive.pingResponseTimeout,
                        allowWithoutCalls: keepalive.pingWithoutStream)
                }
            },
            serviceConfig: ServiceConfig(
                loadBalancingConfig: [options.balancer == .roundRobin ? .roundRobin : .pickFirst(shuffleAddressList: false)]))
        let client = GRPCClient(transport: transport)
        // Ends once the client is shut down (on reload or stop); a transport failure shows in the calls' errors.
        let connections = Task<Void, Never> { _ = try? await client.runConnections() }
        return Connection(options: options, client: client, connections: connections)
    }

    /// One `Export` call of `item` with the current arguments; the request is encoded once per batch.
    func attempt(_ item: OTLPExportItem, prepared: inout [UInt8]?) async -> OTLPExportAttempt {
        let (arguments, connection) = state.withLock { ($0.arguments, $0.connection) }
        let target = "\(arguments.client.endpoint.host):\(arguments.client.endpoint.port)"
        guard let connection else {
            preconditionFailure("update(), run by init, always leaves a connection")
        }
        let body = prepared ?? OTLPProtobuf.encodeLogsRequest(item.logs)
        prepared = body
        var options = CallOptions.defaults
        options.timeout = arguments.timeout
        options.compression = arguments.client.compression == .gzip ? .gzip : CompressionAlgorithm.none
        options.waitForReady = arguments.client.waitForReady
        var metadata = Metadata()
        for (name, value) in arguments.client.headers.sorted(by: { $0.key < $1.key }) {
            metadata.addString(value, forKey: name)
        }
        do {
            let reply = try await connection.client.unary(
                request: ClientRequest(message: body, metadata: metadata),
                descriptor: Opentelemetry_Proto_Collector_Logs_V1_LogsService.Method.Export.descriptor,
                serializer: OTLPGRPCBytes(), deserializer: OTLPGRPCBytes(), options: options
            ) { try $0.message }
            // A reply that does not decode still means the server took the request.
            let response = try? OTLPProtobuf.decodeLogsResponse(reply)
            return .delivered(rejected: response?.rejectedLogRecords ?? 0, message: response?.errorMessage ?? "")
        } catch let error as RPCError {
            return Self.classify(error, target: target)
        } catch {
            return .retryable("export to \(target) failed: \(error)", retryAfter: nil)
        }
    }

    /// The collector's `shouldRetry`: which status codes are worth another try, and the server's delay.
    static func classify(_ error: RPCError, target: String) -> OTLPExportAttempt {
        let retryInfo = (try? error.unpackGoogleRPCStatus())?.details.compactMap(\.retryInfo).first
        let message = "export to \(target) failed with \(error.code): \(error.message)"
        switch error.code {
        case .cancelled, .deadlineExceeded, .aborted, .outOfRange, .unavailable, .dataLoss:
            return .retryable(message, retryAfter: retryInfo?.delay)
        case .resourceExhausted where retryInfo != nil:
            return .retryable(message, retryAfter: retryInfo?.delay)
        default:
            return .permanent(message)
        }
    }
}
