/// An error a handler answers with: Loki's status code and plain-text message.
struct APIError: Error {
    let status: Int
    let message: String
    /// `Retry-After` seconds for a refusal the client should retry (503, 429).
    var retryAfterSeconds: Int? = nil

    static func badRequest(_ message: String) -> APIError { APIError(status: 400, message: message) }
}
