import HTTPTypes
import Hummingbird
import NIOCore
import Wire

/// `POST /otlp/v1/logs`: Loki's OTLP/HTTP logs endpoint.
///
/// Bodies are OTLP protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`), optionally with
/// `Content-Encoding: gzip` (or `deflate`). Tenant, body limits, in-flight budget, validation, limits and metrics
/// are the push endpoint's (`receivePush`); records are mapped to streams as Loki maps them (`OTLPPushMapper`).
/// Success is 204, as in Loki. Errors carry the push endpoint's status and message, in the body OTLP/HTTP
/// clients read: a protobuf `google.rpc.Status` (`application/octet-stream`, as Loki writes it), with 500 sent
/// as 503 so that clients retry.
extension LokiAPI {
    func otlpPush(_ request: Request) async throws -> Response {
        try await receivePush(request, discoverServiceName: false, rejection: otlpError) { tenant, body in
            let logs = try decodeOTLP(tenant: tenant, body: body, contentType: request.headers[.contentType],
                                      contentEncoding: request.headers[.contentEncoding])
            let limits = settings.limits(tenant)
            return OTLPPushMapper.pushRequest(logs, config: limits.otlpConfig,
                                              discoverServiceName: limits.discoverServiceName, now: now())
        }
    }

    /// `handle` for the OTLP endpoint: every error answered as a `google.rpc.Status`.
    func handleOTLP(_ work: () async throws -> Response) async throws -> Response {
        do {
            return try await work()
        } catch let error as APIError {
            var response = otlpError(error.status, error.message)
            if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
            return response
        } catch is CancellationError {
            return otlpError(503, "the server is shutting down; retry the request")
        }
    }

    func otlpError(_ status: Int, _ message: String) -> Response {
        body(status == 500 ? 503 : status, RPCStatus(code: 0, message: message).encode(),
             contentType: "application/octet-stream")
    }

    private func decodeOTLP(
        tenant: String, body: [UInt8], contentType: String?, contentEncoding: String?
    ) throws -> OTLPLogsData {
        let limit = settings.maxRequestBytes
        let payload: [UInt8]
        switch (contentEncoding ?? "").trimmingSpaces.lowercased() {
        case "", "identity":
            payload = body
        case let encoding where encoding == "gzip" || encoding == "x-gzip" || encoding == "deflate":
            do {
                payload = encoding == "deflate" ? try Deflate.decompress(body, maxLength: limit)
                                                : try Gzip.decompress(body, maxLength: limit)
            } catch {
                let tooLarge = error.kind == .tooLarge
                throw refuseBody(tenant: tenant, body: body, tooLarge: tooLarge, message: tooLarge
                    ? "decompressed body larger than the limit (\(limit) bytes, server.grpc_server_max_recv_msg_size)"
                    : "\(encoding): \(error)")
            }
        case let other:
            throw refuseBody(tenant: tenant, body: body, tooLarge: false,
                             message: "Content-Encoding \(GoQuote.quote(other)) not supported; use gzip, deflate or none")
        }
        let type = (contentType ?? "").split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
            .first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        do {
            switch type {
            case "application/x-protobuf": return try OTLPProtobuf.decodeLogsRequest(payload)
            case "application/json": return try OTLPJSON.decodeLogsRequest(payload)
            default:
                throw refuseBody(tenant: tenant, body: body, tooLarge: false,
                                 message: "content type: \(contentType ?? "") is not supported; use application/x-protobuf or application/json")
            }
        } catch let error as OTLPDecodeError {
            throw refuseBody(tenant: tenant, body: body, tooLarge: false, message: error.description)
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
