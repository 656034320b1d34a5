import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Logging
import ServiceLifecycle
import Wire

/// OTLP over gRPC: `opentelemetry.proto.collector.logs.v1.LogsService/Export`.
///
/// A request goes through the same decode → consumers → metrics path as an OTLP/HTTP protobuf body
/// (``OTelColReceiverOTLP/ingest(_:json:metadata:metrics:)``); only the framing and the answer differ. Status codes
/// are the collector's: a payload that is not an OTLP logs request, or data the pipeline refuses for good, gets
/// INVALID_ARGUMENT; a full pipeline gets UNAVAILABLE with a `google.rpc.RetryInfo` detail carrying the delay, which
/// OTLP exporters honour before retrying; a message over `max_recv_msg_size` (before or after decompression) gets
/// RESOURCE_EXHAUSTED (one over twice that has its stream reset by the transport, see
/// ``OTelColReceiverOTLP/Arguments/GRPC/transportPayloadLimit``). Messages being handed on are bounded together by
/// ``OTelColReceiverOTLP/Arguments/GRPC/inFlightLimit``; one that does not fit gets UNAVAILABLE with RetryInfo, and
/// the refusals are counted in `otelcol_receiver_refused_requests_total{transport="grpc",reason}`. A success carries an `ExportLogsServiceResponse` whose `partial_success`
/// is empty, as on the HTTP path.
extension OTelColReceiverOTLP {
    func grpcListener(generation: Int) -> HTTPListenerLoop.Listener {
        guard let grpc = grpcArguments else { return .idle }
        let address: GRPCNIOTransportCore.SocketAddress
        do {
            address = try grpc.listenAddress()
        } catch {
            return HTTPListenerLoop.Listener(service: FailedListener(error: error), address: grpc.endpoint)
        }
        let maxRecvMsgSize = grpc.maxRecvMsgSize
        var router = RPCRouter<HTTP2ServerTransport.Posix>()
        router.registerHandler(
            forMethod: Opentelemetry_Proto_Collector_Logs_V1_LogsService.Method.Export.descriptor,
            deserializer: OTLPGRPCBytes(), serializer: OTLPGRPCBytes()
        ) { [self] request, context in
            let single = try await ServerRequest(stream: request)
            guard single.message.count <= maxRecvMsgSize else {
                grpcBudget.countRefusal(.tooLarge)
                // grpc-go's words for it.
                throw RPCError(
                    code: .resourceExhausted,
                    message: "grpc: received message larger than max (\(single.message.count) vs. \(maxRecvMsgSize)); max_recv_msg_size is \(maxRecvMsgSize) bytes")
            }
            // Messages being decoded and handed on hold memory well beyond their bytes: bound them together.
            let count = single.message.count
            guard grpcBudget.reserve(count) else {
                grpcBudget.countRefusal(.inFlightLimit)
                throw GoogleRPCStatus(
                    code: .unavailable,
                    message: "the receiver already holds \(grpcBudget.inUse) bytes of messages (limit \(grpcBudget.limit), four times max_recv_msg_size); retry later",
                    details: [.retryInfo(delay: .seconds(1))])
            }
            defer { grpcBudget.release(count) }
            let reply = try await export(single.message, metadata: single.metadata,
                                         address: ClientMetadata.address(ofGRPCPeer: context.remotePeer))
            return StreamingServerResponse(single: ServerResponse(message: reply))
        }
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: .plaintext, config: grpc.transportConfig)
        let server = GRPCServer(transport: transport, router: router)
        let service = GRPCListener(server: server, logger: context.logger) { [self] port in
            grpcBound(port: port, generation: generation)
        }
        return HTTPListenerLoop.Listener(service: service, address: grpc.endpoint)
    }

    /// Answers one `Export` call: the encoded `ExportLogsServiceResponse`, or the error the client gets.
    func export(_ payload: [UInt8], metadata: Metadata, address: String? = nil) async throws -> [UInt8] {
        var clientMetadata = ClientMetadata(address: address)
        if grpcArguments?.includeMetadata == true {
            // The collector's `client.Info` for gRPC: the request's metadata (text values; keys are lowercase).
            clientMetadata = ClientMetadata(metadata.compactMap { entry -> (String, String)? in
                if case .string(let value) = entry.value { return (entry.key, value) }
                return nil
            }, address: address)
        }
        switch await ingest(payload, json: false, metadata: clientMetadata, metrics: grpcMetrics) {
        case .accepted:
            return OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 0, errorMessage: "")
        case .malformed(let message), .rejected(let message):
            throw RPCError(code: .invalidArgument, message: message)
        case .backpressure(let retryAfter, let reason):
            throw GoogleRPCStatus(
                code: .unavailable, message: "pipeline is backpressured: \(reason)",
                details: [.retryInfo(delay: retryAfter)])
        case .failed(let message):
            throw RPCError(code: .internalError, message: message)
        }
    }
}

/// gRPC message bytes as they are: OTLP is decoded and encoded by `Wire`'s codec (the HTTP path's), not by
/// SwiftProtobuf's generated types, so the receiver and the exporter take and give raw bytes.
struct OTLPGRPCBytes: MessageSerializer, MessageDeserializer {
    typealias Message = [UInt8]

    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// A bound gRPC server as a `Service`: serves until graceful shutdown, which stops accepting and lets RPCs in
/// flight finish (the listener loop cancels what is left after its grace period).
private struct GRPCListener: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let logger: Logger
    /// Told the bound port once the socket listens.
    let bound: @Sendable (Int?) -> Void

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                // Throws when binding failed, which ends `serve()` with the reason too.
                let address = try await server.transport.listeningAddress
                bound(address.ipv4?.port ?? address.ipv6?.port)
                logger.info("otlp grpc receiver listening", metadata: ["address": "\(address)"])
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// A listener that could not be built (its host did not resolve): ends at once with why.
private struct FailedListener: Service {
    let error: any Error

    func run() async throws { throw error }
}
