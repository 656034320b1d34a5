import Foundation

/// The endpoint families `loadgen hostile` attacks, one at a time, in this order.
enum HostileFamily: String, CaseIterable, Sendable {
    /// Backend `POST /loki/api/v1/push`, protobuf + snappy.
    case pushProtobuf = "push-protobuf"
    /// Backend `POST /loki/api/v1/push`, JSON (plain, gzip, deflate).
    case pushJSON = "push-json"
    /// Every parameter of `query_range`, `query`, `labels`, `label/<name>/values` and `series`.
    case queryParameters = "query-params"
    /// LogQL strings: mutations, unbalanced syntax, pathological regexes, deep nesting.
    case logQL = "logql"
    /// OTLP/HTTP logs to the agent's `otelcol.receiver.otlp`.
    case otlp
    /// The agent's `loki.source.api`: the backend's push families again.
    case sourceAPI = "source-api"
    /// Headers: tenants, Content-Type / Content-Encoding, Content-Length lies, huge headers.
    case headers

    /// Mixed into the seed so that each family draws its own sequence.
    var salt: UInt64 {
        UInt64((HostileFamily.allCases.firstIndex(of: self) ?? 0) + 1) &* 0xA24B_AED4_963E_E407
    }
}

/// One header as sent: the value is bytes, so it can hold control characters or invalid UTF-8.
struct HeaderField: Sendable, Equatable {
    var name: String
    var value: [UInt8]

    init(_ name: String, _ value: String) {
        self.name = name
        self.value = Array(value.utf8)
    }

    init(_ name: String, bytes: [UInt8]) {
        self.name = name
        self.value = bytes
    }
}

/// One hostile HTTP/1.1 request, written to the socket byte for byte as described (nothing is normalised).
struct HostileRequest: Sendable, Equatable {
    /// Which listener receives it.
    enum Target: String, Sendable {
        case backend
        case sourceAPI = "agent loki.source.api"
        case otlp = "agent otlp receiver"
    }

    /// What `Content-Length` says.
    enum BodyLength: Sendable, Equatable {
        /// The body's real length.
        case exact
        /// This value, whatever the body's length (a lie, or not a number).
        case declared(String)
        /// No `Content-Length` header (the request's own headers say how the body ends, or nothing does).
        case absent
    }

    var target: Target
    var method: String
    /// The request target (`/loki/api/v1/push`, `/loki/api/v1/query?query=...`), sent as is.
    var path: String
    var headers: [HeaderField]
    var body: [UInt8]
    var bodyLength: BodyLength = .exact
    /// Shut down the sending side after the body, so a server waiting for bytes a lying `Content-Length`
    /// promised sees the end of the stream instead of waiting for the client's timeout.
    var halfClose: Bool = false
    /// A query endpoint, for which 504 (Loki's `query_timeout`) is an answer, not a failure.
    var isQuery: Bool = false
    /// What is hostile about it, for the report.
    var summary: String

    init(target: Target, method: String = "POST", path: String, headers: [HeaderField] = [], body: [UInt8] = [],
         isQuery: Bool = false, summary: String) {
        self.target = target
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.isQuery = isQuery
        self.summary = summary
    }

    /// The bytes on the wire: request line, headers (`Host`, the given ones, `Content-Length` as ``bodyLength``
    /// says, `Connection: close`), blank line, body.
    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 512 + path.utf8.count)
        out.append(contentsOf: Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8))
        for header in headers {
            out.append(contentsOf: Array(header.name.utf8))
            out.append(contentsOf: [0x3A, 0x20])
            out.append(contentsOf: header.value)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        switch bodyLength {
        case .exact: out.append(contentsOf: Array("Content-Length: \(body.count)\r\n".utf8))
        case .declared(let value): out.append(contentsOf: Array("Content-Length: \(value)\r\n".utf8))
        case .absent: break
        }
        out.append(contentsOf: Array("Connection: close\r\n\r\n".utf8))
        out.append(contentsOf: body)
        return out
    }

    /// A one-line description for reports: target, method, the start of the path, body size, the headers that
    /// matter, and the summary.
    var description: String {
        let shownPath = path.count > 160 ? String(path.prefix(160)) + "…(\(path.utf8.count) B)" : path
        let shownHeaders = headers.map { header -> String in
            let text = String(decoding: header.value.prefix(60), as: UTF8.self)
            let escaped = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F
                ? String(format: "\\x%02X", $0.value) : String($0) }.joined()
            return "\(header.name): \(escaped)\(header.value.count > 60 ? "…(\(header.value.count) B)" : "")"
        }.joined(separator: "; ")
        let length: String
        switch bodyLength {
        case .exact: length = ""
        case .declared(let value): length = " Content-Length: \(value.prefix(40))"
        case .absent: length = " no Content-Length"
        }
        return "\(target.rawValue) \(method) \(shownPath) [\(shownHeaders)] body \(body.count) B\(length)"
            + "\(halfClose ? " half-closed" : ""): \(summary)"
    }
}
