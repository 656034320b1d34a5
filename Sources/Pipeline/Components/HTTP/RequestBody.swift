import Hummingbird
import NIOCore

/// Reading a request body for the agent's HTTP listeners (`otelcol.receiver.otlp`, `loki.source.api`): at most
/// `limit` bytes, refused before reading when `Content-Length` already says more.
enum RequestBody {
    /// The body is larger than the listener's limit; `message` names the limit's argument (`attribute`).
    struct TooLarge: Error {
        let message: String
    }

    static func read(_ request: Request, limit: Int, attribute: String) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw TooLarge(message: "request body of \(declared) bytes is larger than \(attribute) (\(limit) bytes)")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw TooLarge(message: "request body is larger than \(attribute) (\(limit) bytes)")
        }
    }
}
