import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small HTTP client for integration tests: one request, whole body back.
public struct HTTPTestClient: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The body parsed as JSON (Foundation), for assertions.
        public func json() throws -> Any {
            try JSONSerialization.jsonObject(with: Data(body))
        }
    }

    public init() {}

    public func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), body: Array(collected.readableBytesView))
    }

    public func get(_ url: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(.GET, url, headers: headers)
    }

    public func post(_ url: String, headers: [(String, String)] = [], body: [UInt8]) async throws -> Reply {
        try await send(.POST, url, headers: headers, body: body)
    }

    /// Percent-encodes a query parameter value.
    public static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
