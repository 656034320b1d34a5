import AsyncHTTPClient
import NIOCore
import Wire

extension OTelColExporterOTLPHTTP {
    typealias Attempt = OTLPExportAttempt

    /// The largest response body read, as the collector's `maxHTTPResponseReadBytes`.
    static let maxResponseBytes = 64 * 1024

    /// One POST of `item` with the current arguments; the body is encoded once per encoding and compression.
    func attempt(_ item: OTLPExportItem, prepared: inout (key: BodyKey, body: ByteBuffer)?) async -> OTLPExportAttempt {
        let arguments = current
        let key = BodyKey(encoding: arguments.encoding, compression: arguments.client.compression)
        if prepared?.key != key { prepared = (key, ByteBuffer(bytes: Self.encode(item.logs, key))) }
        return await post(prepared?.body ?? ByteBuffer(), key: key, arguments: arguments)
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
