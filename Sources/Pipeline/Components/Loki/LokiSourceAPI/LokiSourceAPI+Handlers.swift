import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Wire

extension LokiSourceAPI {
    /// A request that is answered with an error status and a plain-text reason, as Loki's `http.Error` does.
    struct Refusal: Error {
        var status: Int
        var message: String
        /// Whole seconds for `Retry-After`, set when the client should retry (backpressure).
        var retryAfterSeconds: Int?

        var response: Response {
            var response = LokiSourceAPI.text(status, message)
            if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
            return response
        }
    }

    /// The listener's routes: Loki's push API, Promtail's raw endpoint (each also under Alloy's `/api/v1/...`
    /// alias), and `/ready`.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        for route in [Route.lokiPush, .push] {
            router.post(RouterPath(route.rawValue)) { [self] request, _ in
                await metrics.instrument(route) { await handlePush(request) }
            }
        }
        for route in [Route.lokiRaw, .raw] {
            router.post(RouterPath(route.rawValue)) { [self] request, _ in
                await metrics.instrument(route) { await handleRaw(request) }
            }
        }
        router.get(RouterPath(Route.ready.rawValue)) { [self] _, _ in
            await metrics.instrument(.ready) { (Self.text(200, "ready"), 0) }
        }
        return router
    }

    /// `POST /loki/api/v1/push`: a Loki push body (protobuf+snappy or JSON; gzip or deflate as Loki accepts).
    /// 204 once every entry is handed on; 400 naming what is malformed (streams with good labels are still
    /// forwarded, as Alloy does); 413 past `max_send_message_size`; 503 with `Retry-After` when `forward_to` is
    /// backpressured, in which case the request should be sent again.
    func handlePush(_ request: Request) async -> (response: Response, bodyBytes: Int) {
        await respond(to: request) { arguments, body throws(Refusal) in
            // What the body decompresses to is held too: reserve it in the same budget before decompressing, so
            // that concurrent compression bombs are refused (503) instead of taking the agent's memory.
            let expansion = Self.decompressionBound(
                body, contentType: request.headers[.contentType], contentEncoding: request.headers[.contentEncoding],
                limit: arguments.maxSendMessageSize)
            guard bodyBudget.reserve(expansion.reserve) else {
                bodyBudget.countRefusal(.inFlightLimit)
                throw Refusal(
                    status: 503,
                    message: "the listener already holds \(bodyBudget.inUse) bytes of request bodies, the most max_in_flight_body_size (\(bodyBudget.limit) bytes) allows, and this body decompresses to up to \(expansion.reserve) bytes; retry later",
                    retryAfterSeconds: 1)
            }
            defer { bodyBudget.release(expansion.reserve) }
            let options = EntryOptions(
                fixedLabels: arguments.labels, useIncomingTimestamp: arguments.useIncomingTimestamp,
                tenantID: request.headers[Self.scopeOrgID])
            // The decoded request is let go of before forwarding: only its entries, which share its lines, are held
            // while loki.write takes them.
            let (conversion, streamCount) = try Self.decodePush(
                body, contentType: request.headers[.contentType], contentEncoding: request.headers[.contentEncoding],
                maxDecompressedSize: expansion.limit, options: options)
            try await forward(conversion.batch, to: arguments.forwardTo)
            if let problem = conversion.labelProblem {
                throw Refusal(
                    status: 400,
                    message: "\(conversion.rejectedStreams) of \(streamCount) streams have invalid labels and were not accepted; the last: \(problem)")
            }
        }
    }

    /// A push body decoded and converted to entries, with the number of streams it had; 413 or 400 when it
    /// cannot be decoded.
    static func decodePush(
        _ body: [UInt8], contentType: String?, contentEncoding: String?, maxDecompressedSize: Int,
        options: EntryOptions
    ) throws(Refusal) -> (Conversion, streams: Int) {
        do throws(PushDecodeError) {
            let decoded = try PushBodyDecoder.decode(
                body: body, contentType: contentType, contentEncoding: contentEncoding,
                maxDecompressedSize: maxDecompressedSize)
            return (convert(decoded, options: options, now: LokiTranslator.wallClock), decoded.streams.count)
        } catch {
            throw Refusal(status: error.isBodyTooLarge ? 413 : 400, message: error.message)
        }
    }

    /// How far a push body may decompress (`limit`, passed to the decoder) and the bytes to reserve for it while it
    /// is decoded: a gzip body says its size in its trailer (a body that lies is refused at that size with 413,
    /// as one past `max_send_message_size` is), a snappy body in its header; deflate says nothing, so it gets the
    /// whole limit. The decompressor's output buffer grows by doubling and is copied once, hence twice the size.
    static func decompressionBound(
        _ body: [UInt8], contentType: String?, contentEncoding: String?, limit: Int
    ) -> (limit: Int, reserve: Int) {
        let encoding = (contentEncoding ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let declared: Int?
        switch encoding {
        case "gzip", "x-gzip":
            // ISIZE: the uncompressed size modulo 2^32, little-endian, in the last four bytes.
            declared = body.count >= 18
                ? body.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
                : 0
        case "deflate":
            declared = nil
        default:
            let isJSON = (contentType ?? "").lowercased().hasPrefix("application/json")
            guard !isJSON else { return (limit, 0) }
            // Snappy's block format starts with the uncompressed length as a varint.
            var length = 0
            var shift = 0
            for byte in body.prefix(5) {
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            declared = length
        }
        let bound = min(limit, max(declared ?? limit, 0))
        return (encoding.isEmpty ? limit : max(bound, 1), bound.saturatingMultiplied(by: 2))
    }

    /// `POST /loki/api/v1/raw`: newline-separated lines, each an entry with `labels` and the receive time.
    func handleRaw(_ request: Request) async -> (response: Response, bodyBytes: Int) {
        await respond(to: request) { arguments, body throws(Refusal) in
            let batch = Self.rawEntries(body[...], options: EntryOptions(fixedLabels: arguments.labels), now: LokiTranslator.wallClock)
            try await forward(batch, to: arguments.forwardTo)
        }
    }

    /// Reads the body (bounded by `max_send_message_size`, and with the other requests' bodies by
    /// `max_in_flight_body_size`) and runs `work` with it and one snapshot of the arguments: 204 when it returns,
    /// else the refusal (or 400 for a body that could not be read). The body's bytes stay reserved until then.
    private func respond(
        to request: Request, _ work: (Arguments, [UInt8]) async throws(Refusal) -> Void
    ) async -> (response: Response, bodyBytes: Int) {
        let arguments = state.withLock { $0.arguments }
        var bodyBytes = 0
        do {
            let body = try await readBody(request, limit: arguments.maxSendMessageSize)
            defer { body.release() }
            bodyBytes = body.bytes.count
            try await work(arguments, body.bytes)
            return (Response(status: .noContent), bodyBytes)
        } catch {
            return (refused(error, route: request.uri.path), bodyBytes)
        }
    }

    /// Hands a request's entries to `forward_to` and counts them; a refusal becomes the answer to the client.
    private func forward(_ batch: LogBatch, to receivers: LogsReceivers) async throws(Refusal) {
        guard !batch.isEmpty else { return }
        do {
            try await receivers.send(batch)
        } catch let error as PipelineError {
            switch error {
            case .backpressure(let retryAfter, let reason):
                let seconds = retryAfter.map { Int(($0 + .nanoseconds(999_999_999)).components.seconds) } ?? 1
                throw Refusal(
                    status: 503, message: "the pipeline is backpressured, retry later (\(batch.count) entries not accepted): \(reason)",
                    retryAfterSeconds: max(1, seconds))
            case .rejected(let reason):
                throw Refusal(status: 400, message: "entries rejected by the pipeline: \(reason)")
            }
        } catch {
            throw Refusal(status: 500, message: "forwarding \(batch.count) entries failed: \(error)")
        }
        metrics.entriesWritten.increment(by: Int64(batch.count))
    }

    /// The response for a failed request, logged as Alloy logs a push it could not take.
    private func refused(_ error: any Error, route: String) -> Response {
        let refusal = error as? Refusal ?? Refusal(status: 400, message: "reading the request body: \(error)")
        let level: Logger.Level = refusal.status >= 500 && refusal.retryAfterSeconds == nil ? .error : .warning
        context.logger.log(
            level: level, "push request refused",
            metadata: ["route": "\(route)", "status": "\(refusal.status)", "reason": "\(refusal.message)"])
        return refusal.response
    }

    /// The tenant header of Loki's API.
    static let scopeOrgID: HTTPField.Name = {
        guard let name = HTTPField.Name("X-Scope-OrgID") else {
            preconditionFailure("X-Scope-OrgID is a valid HTTP field name")
        }
        return name
    }()

    /// The request body, at most `max_send_message_size` bytes (413 beyond), within the listener's budget (503
    /// with `Retry-After` when it is spent, as for a backpressured pipeline: the client sends it again later).
    func readBody(_ request: Request, limit: Int) async throws -> RequestBody.Held {
        do {
            return try await RequestBody.read(
                request, limit: limit, attribute: "max_send_message_size", budget: bodyBudget,
                budgetAttribute: "max_in_flight_body_size")
        } catch let error as RequestBody.TooLarge {
            throw Refusal(status: 413, message: error.message)
        } catch let error as RequestBody.Overloaded {
            throw Refusal(status: 503, message: error.message, retryAfterSeconds: error.retryAfterSeconds)
        }
    }

    static func text(_ status: Int, _ message: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
