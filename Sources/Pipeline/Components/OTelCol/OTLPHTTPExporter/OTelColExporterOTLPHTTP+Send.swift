import AsyncHTTPClient
import NIOCore
import Wire

extension OTelColExporterOTLPHTTP {
    /// What one POST came back with, sorted the collector's way.
    enum Attempt: Sendable, Equatable {
        /// 2xx. A partial-success response names the records the server refused (logged, not retried).
        case delivered(rejected: Int64, message: String)
        /// 429, 502, 503, 504 or no response at all (connection refused or reset, timeout): worth retrying.
        /// `retryAfter` is the server's `Retry-After` on 429 and 503.
        case retryable(String, retryAfter: Duration?)
        /// Any other status: the same request would fail again.
        case permanent(String)
    }

    /// Why an attempt failed, and whether the same batch could succeed later (for the caller's backpressure).
    struct Failure: Sendable {
        var message: String
        var retryable: Bool
    }

    /// How one batch ended.
    enum Delivery: Sendable, Equatable {
        case sent
        case failed(String, retryable: Bool)
    }

    /// The largest response body read, as the collector's `maxHTTPResponseReadBytes`.
    static let maxResponseBytes = 64 * 1024

    /// Sends `item` with retries as `retry_on_failure` says, and counts it as sent or failed: the one place a
    /// batch's outcome is recorded. Each attempt reads the current arguments, so a reload that changes the
    /// endpoint or headers applies to batches already queued. Cancellation (the drain deadline) ends it as failed.
    func deliver(_ item: SendItem) async -> Delivery {
        let retry = current.retry
        var encoded: (key: BodyKey, body: ByteBuffer)?
        let outcome = await RetryingSend<Failure>.run(retry.policy) {
            let arguments = current
            let key = BodyKey(encoding: arguments.encoding, compression: arguments.client.compression)
            if encoded?.key != key { encoded = (key, ByteBuffer(bytes: Self.encode(item.logs, key))) }
            switch await post(encoded?.body ?? ByteBuffer(), key: key, arguments: arguments) {
            case .delivered(let rejected, let message):
                if rejected != 0 || !message.isEmpty { partialSuccess(rejected: rejected, message: message) }
                return .succeeded
            case .permanent(let message):
                return .permanent(Failure(message: "\(message) (not retried: the server refused the request)", retryable: false))
            case .retryable(let message, _) where !arguments.retry.enabled:
                return .permanent(Failure(message: "\(message) (retry_on_failure is disabled)", retryable: true))
            case .retryable(let message, let retryAfter):
                return .retryable(Failure(message: message, retryable: true), retryAfter: retryAfter)
            }
        } willRetry: { failure, wait, _ in
            logger.debug(
                "otlphttp export failed, will retry", metadata: ["error": "\(failure.message)", "interval": "\(wait)"])
        }
        switch outcome {
        case .sent:
            metrics.sent.increment(by: Int64(item.records))
            return .sent
        case .refused(let failure):
            return failed(item, failure.message, retryable: failure.retryable)
        case .gaveUp(let failure, .pastMaxElapsed(let wait), _):
            return failed(
                item,
                "\(failure.message) (no more retries left: the next one, in \(RetryOptions.text(wait)), would pass max_elapsed_time = \(RetryOptions.text(retry.maxElapsedTime)))",
                retryable: true)
        case .gaveUp(let failure, _, _):
            return failed(item, "\(failure.message) (no more retries left)", retryable: true)
        case .cancelled(let failure, _):
            return failed(item, "\(failure.message) (stopping: no time left to retry)", retryable: true)
        }
    }

    /// What a request body depends on.
    struct BodyKey: Equatable, Sendable {
        let encoding: Encoding
        let compression: Compression
    }

    static func encode(_ logs: OTLPLogsData, _ key: BodyKey) -> [UInt8] {
        let raw = key.encoding == .proto ? OTLPProtobuf.encodeLogsRequest(logs) : OTLPJSON.encodeLogsRequest(logs)
        switch key.compression {
        case .none: return raw
        case .gzip(let level): return Gzip.compress(raw, level: level)
        }
    }

    /// Headers the exporter owns: `headers` never replace them.
    private static let framingHeaders: Set<String> = ["content-length", "content-encoding", "transfer-encoding", "connection"]

    /// One POST of an encoded body to the logs URL.
    func post(_ body: ByteBuffer, key: BodyKey, arguments: Arguments) async -> Attempt {
        let url = arguments.logsURL
        var request = HTTPClientRequest(url: url.requestURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: key.encoding.contentType)
        request.headers.add(name: "User-Agent", value: AgentHTTP.userAgent)
        if case .gzip = key.compression { request.headers.add(name: "Content-Encoding", value: "gzip") }
        for (name, value) in arguments.client.headers.sorted(by: { $0.key < $1.key })
        where !Self.framingHeaders.contains(name.lowercased()) {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        if let username = url.username, !request.headers.contains(name: "Authorization") {
            let credentials = Array("\(username):\(url.password ?? "")".utf8)
            request.headers.add(name: "Authorization", value: "Basic " + Base64Codec.encoded(credentials))
        }
        request.body = .bytes(body)
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(
                request, timeout: .nanoseconds(DurationText.nanoseconds(arguments.client.timeout)))
        } catch {
            return .retryable("sending to \(url.requestURL) failed: \(error)", retryAfter: nil)
        }
        let status = Int(response.status.code)
        let contentType = response.headers.first(name: "Content-Type") ?? ""
        var bytes: [UInt8] = []
        do {
            for try await chunk in response.body {
                bytes.append(contentsOf: chunk.readableBytesView.prefix(Self.maxResponseBytes - bytes.count))
                if bytes.count >= Self.maxResponseBytes { break }
            }
        } catch {
            // A 2xx was sent whatever happens to its body; an error keeps what arrived for the message.
        }
        if (200..<300).contains(status) {
            return Self.partialSuccess(bytes, contentType: contentType)
        }
        let message = "request to \(url.requestURL) responded with HTTP status \(status)"
            + (Self.errorDetail(bytes, contentType: contentType).map { ": \($0)" } ?? "")
        switch status {
        case 429, 503:
            let retryAfter = response.headers.first(name: "Retry-After").flatMap {
                RetryAfter.parse($0, nowSeconds: AgentHTTP.wallClockSeconds())
            }
            return .retryable(message, retryAfter: retryAfter)
        case 502, 504:
            return .retryable(message, retryAfter: nil)
        default:
            return .permanent(message)
        }
    }

    /// The partial success in a 2xx body (`ExportLogsServiceResponse`), read by its content type. An empty body,
    /// another content type or a body that does not decode counts as full success: the server took the request.
    static func partialSuccess(_ body: [UInt8], contentType: String) -> Attempt {
        let type = mediaType(contentType)
        guard !body.isEmpty else { return .delivered(rejected: 0, message: "") }
        let response: OTLPLogsResponse?
        switch type {
        case "application/x-protobuf", "application/protobuf": response = try? OTLPProtobuf.decodeLogsResponse(body)
        case "application/json": response = try? OTLPJSON.decodeLogsResponse(body)
        default: response = nil
        }
        return .delivered(rejected: response?.rejectedLogRecords ?? 0, message: response?.errorMessage ?? "")
    }

    /// What an error body says: the `message` of a protobuf `google.rpc.Status`, else the body's first line as
    /// text (at most 256 bytes); nil for an empty body.
    static func errorDetail(_ body: [UInt8], contentType: String) -> String? {
        let type = mediaType(contentType)
        if type == "application/x-protobuf" || type == "application/protobuf",
           let status = RPCStatus(protobuf: body) {
            return status.message.isEmpty ? nil : status.message
        }
        let line = body.prefix(256).split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: true).first
        guard let line, !line.isEmpty else { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    /// A header value lowercased, without parameters (`application/json; charset=utf-8`).
    static func mediaType(_ value: String) -> String {
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(type.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            .lowercased()
    }
}

extension OTelColExporterOTLPHTTP {
    /// The `sending_queue`: batches between `consume` and the senders (numbered consumers, as many as
    /// `num_consumers`), bounded by `queue_size` in batches or log records (`sizer`); taking a batch frees its room.
    typealias SendQueue = BoundedQueue<SendItem>

    /// A batch of the sending queue, and how many log records it holds.
    struct SendItem: Sendable {
        let logs: OTLPLogsData
        let records: Int
    }
}
