import AlloyLanguage
import Wire

extension OTelColExporterOTLPHTTP {
    /// The arguments of an `otelcol.exporter.otlphttp` block, with Alloy's names and defaults.
    ///
    /// ```alloy
    /// otelcol.exporter.otlphttp "loki" {
    ///   client {
    ///     endpoint = "http://loki:3100/otlp"   // logs go to http://loki:3100/otlp/v1/logs
    ///   }
    /// }
    /// ```
    public struct Arguments: ComponentArguments {
        /// `client { ... }` (required): where and how requests are sent.
        public var client: ClientOptions
        /// `logs_endpoint`: the full URL logs are sent to; default `client.endpoint + "/v1/logs"`.
        public var logsEndpoint: String?
        /// `encoding`: `"proto"` (default, `application/x-protobuf`) or `"json"` (`application/json`).
        public var encoding: Encoding
        /// `retry_on_failure { ... }`: how failed requests are retried.
        public var retry: RetryOptions
        /// `sending_queue { ... }`: the bounded in-memory queue in front of the senders.
        public var queue: QueueOptions

        /// Where logs are POSTed: `logs_endpoint`, or `client.endpoint` joined with `/v1/logs`, checked.
        var logsURL: HTTPEndpointURL

        /// Arguments for `endpoint` with every other option at its default.
        public init(endpoint: String) throws(ArgumentError) {
            client = ClientOptions(endpoint: endpoint)
            logsEndpoint = nil
            encoding = .default
            retry = RetryOptions()
            queue = QueueOptions()
            logsURL = try Self.resolve(endpoint: endpoint, logsEndpoint: nil).get()
        }

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            guard let clientBlock = try reader.block("client") else {
                throw reader.blockError("missing required block \"client\" in \(reader.name)")
            }
            client = try ClientOptions(clientBlock)
            logsEndpoint = try reader.string("logs_endpoint")
            // Accepted so that Alloy configs exporting every signal load unchanged; only logs are exported.
            _ = try reader.string("metrics_endpoint")
            _ = try reader.string("traces_endpoint")
            let encodingText = try reader.string("encoding", default: Encoding.default.rawValue)
            guard let encoding = Encoding(rawValue: encodingText) else {
                throw reader.error(
                    "encoding", "encoding: must be \"proto\" or \"json\", got \(GoQuote.quote(encodingText))")
            }
            self.encoding = encoding
            retry = try reader.block("retry_on_failure").map { block throws(Diagnostic) in try RetryOptions(block) }
                ?? RetryOptions()
            queue = try reader.block("sending_queue").map { block throws(Diagnostic) in try QueueOptions(block) }
                ?? QueueOptions()
            if let debug = try reader.block("debug_metrics") {
                // Accepted for compatibility; Estuary's metrics have no high-cardinality attributes to drop.
                _ = try debug.bool("disable_high_cardinality_metrics", default: true)
                _ = try debug.string("level")
            }
            switch Self.resolve(endpoint: client.endpoint, logsEndpoint: logsEndpoint) {
            case .success(let url): logsURL = url
            case .failure(let problem):
                throw logsEndpoint == nil
                    ? clientBlock.error("endpoint", "endpoint: \(problem.message)")
                    : reader.error("logs_endpoint", "logs_endpoint: \(problem.message)")
            }
        }

        /// The collector's rule: an explicit `logs_endpoint` wins; otherwise `/v1/logs` is appended to the endpoint,
        /// without doubling a trailing `/`.
        static func resolve(endpoint: String, logsEndpoint: String?) -> Result<HTTPEndpointURL, ArgumentError> {
            let text = logsEndpoint ?? (endpoint.hasSuffix("/") ? endpoint + "v1/logs" : endpoint + "/v1/logs")
            let written = logsEndpoint ?? endpoint
            switch HTTPEndpointURL.parse(text) {
            case .success(let url): return .success(url)
            case .failure(let problem):
                return .failure(ArgumentError(
                    "invalid URL \(GoQuote.quote(written)): \(problem); expected e.g. \"http://loki:3100/otlp\" or \"https://otlp.example.com:4318\""))
            }
        }
    }

    /// `encoding`: how request bodies are written.
    public enum Encoding: String, Sendable {
        case proto
        case json

        public static let `default` = Encoding.proto

        var contentType: String { self == .proto ? "application/x-protobuf" : "application/json" }
    }

    /// `client.compression`: how request bodies are compressed.
    public enum Compression: Sendable, Equatable {
        case none
        /// gzip at zlib's `level` (-1 is zlib's default, 6).
        case gzip(level: Int32)

        /// zlib's default level, what `compression_params.level` is when not set.
        public static let defaultGzipLevel: Int32 = -1
        public static let `default` = Compression.gzip(level: defaultGzipLevel)
    }

    /// The `client` block. Connection-pool and buffer settings of Alloy's HTTP client are accepted and ignored:
    /// every component shares the agent's one HTTP client.
    public struct ClientOptions: Sendable, Equatable {
        /// `endpoint` (required): the base URL, `http://` or `https://`; `/v1/logs` is appended unless
        /// `logs_endpoint` is set.
        public var endpoint: String
        /// `compression`: `"gzip"` (default) or `"none"` (also `""`).
        public var compression: Compression
        /// `headers`: extra HTTP headers sent with every request; they replace the exporter's own
        /// (`Content-Type`, `User-Agent`), as the collector's header round tripper does, but never the framing
        /// headers (`Content-Length`, `Content-Encoding`, `Transfer-Encoding`, `Connection`).
        public var headers: [String: String]
        /// `timeout`: the longest one request may take (default `"30s"`).
        public var timeout: Duration

        public init(endpoint: String) {
            self.endpoint = endpoint
            compression = .default
            headers = [:]
            timeout = .seconds(30)
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            self.init(endpoint: try reader.requiredString("endpoint"))
            let compressionText = try reader.string("compression", default: "gzip")
            var level = Compression.defaultGzipLevel
            if let params = try reader.block("compression_params") {
                let value = try params.int("level", default: Int(level))
                guard (-1...9).contains(value) else {
                    throw params.error("level", "level: gzip levels are -1 (default) and 0 to 9, got \(value)")
                }
                level = Int32(value)
            }
            switch compressionText {
            case "gzip": compression = .gzip(level: level)
            case "none", "": compression = .none
            case "zlib", "deflate", "snappy", "zstd", "lz4", "x-snappy-framed":
                throw reader.error(
                    "compression",
                    "compression: \(GoQuote.quote(compressionText)) is not supported by Estuary yet; use \"gzip\" (the default) or \"none\"")
            default:
                throw reader.error(
                    "compression",
                    "compression: unknown compression \(GoQuote.quote(compressionText)); use \"gzip\" (the default) or \"none\"")
            }
            headers = try HeaderText.headers(reader)
            timeout = try reader.duration("timeout", default: timeout)
            if timeout <= .zero {
                throw reader.error("timeout", "timeout: must be greater than 0, got \(DurationText.goString(DurationText.nanoseconds(timeout)))")
            }
            if try reader.value("auth") != nil {
                throw reader.error(
                    "auth", "auth: otelcol.auth components are not supported by Estuary yet; set an Authorization header in headers instead")
            }
            if let proxy = try reader.string("proxy_url"), !proxy.isEmpty {
                throw reader.error("proxy_url", "proxy_url: HTTP proxies are not supported by Estuary yet")
            }
            // Alloy's connection-pool and buffer settings: accepted, not applied (the agent shares one client).
            for name in ["read_buffer_size", "write_buffer_size"] { _ = try reader.byteSize(name, default: 0) }
            for name in ["max_idle_conns", "max_idle_conns_per_host", "max_conns_per_host"] {
                _ = try reader.int(name, default: 0)
            }
            for name in ["idle_conn_timeout", "http2_read_idle_timeout", "http2_ping_timeout"] {
                _ = try reader.duration(name, default: .zero)
            }
            _ = try reader.bool("disable_keep_alives", default: false)
            if let cookies = try reader.block("cookies"), try cookies.bool("enabled", default: false) {
                throw cookies.error("enabled", "enabled: storing cookies is not supported by Estuary yet")
            }
            if let tls = try reader.block("tls") {
                try Self.checkTLS(tls)
            }
        }

        /// `tls`: only the defaults are supported (the system's trust store for `https://`).
        private static func checkTLS(_ tls: ArgumentReader) throws(Diagnostic) {
            _ = try tls.bool("insecure", default: false)
            if try tls.bool("insecure_skip_verify", default: false) {
                throw tls.error("insecure_skip_verify", "insecure_skip_verify: skipping certificate checks is not supported by Estuary")
            }
            for name in [
                "ca_file", "ca_pem", "cert_file", "cert_pem", "key_file", "key_pem", "server_name", "min_version",
                "max_version", "reload_interval", "cipher_suites", "include_system_ca_certs_pool", "curve_preferences",
            ] where tls.has(name) {
                throw tls.error(
                    name, "\(name): custom TLS settings are not supported by Estuary yet; https:// endpoints use the system's trust store")
            }
        }
    }

    /// `retry_on_failure`, shared with `otelcol.exporter.otlp`.
    public typealias RetryOptions = OTLPExporterRetryOptions
    /// `sending_queue`, shared with `otelcol.exporter.otlp`.
    public typealias QueueOptions = OTLPExporterQueueOptions
}
