import Foundation
import HTTPTypes

/// The `cors` block of the collector's HTTP server settings (`allowed_origins`, `allowed_headers`, `max_age`), and
/// the headers it answers with, as the collector's (rs/cors) do: a browser's preflight `OPTIONS` from an allowed
/// origin gets 204 with the allowed method and headers; an actual request from one gets
/// `Access-Control-Allow-Origin` naming it. An origin not allowed gets no CORS headers, so the browser refuses.
struct CORSPolicy: Sendable, Equatable {
    /// Origins allowed: `*` for any, a pattern with one `*` (`https://*.example.com`), or an exact origin.
    var allowedOrigins: [String] = []
    /// Request headers a preflight may ask for besides the always allowed `Origin`, `Accept`, `Content-Type` and
    /// `X-Requested-With`; `*` allows any.
    var allowedHeaders: [String] = []
    /// Seconds a browser may cache a preflight answer (0: not sent).
    var maxAge = Self.defaultMaxAge
    static let defaultMaxAge = 0

    private static let alwaysAllowedHeaders: Set<String> = ["origin", "accept", "content-type", "x-requested-with"]

    func allows(origin: String) -> Bool {
        let origin = origin.lowercased()
        return allowedOrigins.contains { pattern in
            let pattern = pattern.lowercased()
            if pattern == "*" { return true }
            guard let star = pattern.firstIndex(of: "*") else { return pattern == origin }
            let prefix = pattern[..<star]
            let suffix = pattern[pattern.index(after: star)...]
            return origin.count >= prefix.count + suffix.count && origin.hasPrefix(prefix) && origin.hasSuffix(suffix)
        }
    }

    private func allows(header: String) -> Bool {
        let header = header.lowercased()
        return Self.alwaysAllowedHeaders.contains(header)
            || allowedHeaders.contains { $0 == "*" || $0.lowercased() == header }
    }

    /// The headers answering a preflight request (`OPTIONS` with `Access-Control-Request-Method`): empty when the
    /// origin, method or a requested header is not allowed.
    func preflightHeaders(_ request: HTTPFields) -> HTTPFields {
        var answer = HTTPFields()
        answer[.vary] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        guard let origin = request[.origin], allows(origin: origin),
              let method = request[.accessControlRequestMethod]?.uppercased(), method == "POST"
        else { return answer }
        let requested = (request[.accessControlRequestHeaders] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard requested.allSatisfy(allows(header:)) else { return answer }
        answer[.accessControlAllowOrigin] = origin
        answer[.accessControlAllowMethods] = method
        if !requested.isEmpty { answer[.accessControlAllowHeaders] = requested.joined(separator: ", ") }
        answer[.accessControlAllowCredentials] = "true"
        if maxAge > 0 { answer[.accessControlMaxAge] = String(maxAge) }
        return answer
    }

    /// The headers added to the answer of an actual request.
    func responseHeaders(_ request: HTTPFields) -> HTTPFields {
        var answer = HTTPFields()
        answer[.vary] = "Origin"
        guard let origin = request[.origin], allows(origin: origin) else { return answer }
        answer[.accessControlAllowOrigin] = origin
        answer[.accessControlAllowCredentials] = "true"
        return answer
    }
}
