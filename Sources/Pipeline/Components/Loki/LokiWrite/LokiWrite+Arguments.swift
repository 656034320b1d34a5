import AlloyLanguage
import Wire

extension LokiWrite {
    /// The arguments of a `loki.write` block, with Alloy's names and defaults.
    ///
    /// ```alloy
    /// loki.write "default" {
    ///   endpoint {
    ///     url = "http://loki:3100/loki/api/v1/push"
    ///   }
    ///   external_labels = { cluster = "prod" }
    /// }
    /// ```
    public struct Arguments: ComponentArguments {
        /// `endpoint` blocks: every location the entries are sent to, each with its own queue and sender. None is
        /// allowed (entries are then discarded), as in Alloy.
        public var endpoints: [EndpointOptions]
        /// `external_labels`: labels added to every entry sent; an entry's own label of the same name wins.
        public var externalLabels: [String: String]
        /// `max_streams`: the most distinct streams one batch may hold; entries of further streams are dropped
        /// (reason `stream_limited`). 0, the default, is no limit.
        public var maxStreams: Int
        public static let defaultMaxStreams = 0

        public init(
            endpoints: [EndpointOptions] = [], externalLabels: [String: String] = [:], maxStreams: Int = defaultMaxStreams
        ) {
            self.endpoints = endpoints
            self.externalLabels = externalLabels
            self.maxStreams = maxStreams
        }

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            externalLabels = try reader.stringMap("external_labels")
            for name in externalLabels.keys.sorted() where !LabelName.isValid(name) {
                throw reader.error(
                    "external_labels",
                    "external_labels: invalid label name \(GoQuote.quote(name)); a label name starts with a letter or _ and holds only letters, digits and _")
            }
            maxStreams = try reader.int("max_streams", default: Self.defaultMaxStreams)
            if maxStreams < 0 {
                throw reader.error("max_streams", "max_streams: must be 0 (no limit) or more, got \(maxStreams)")
            }
            var endpoints: [EndpointOptions] = []
            for block in reader.blocks("endpoint") {
                endpoints.append(try EndpointOptions(block))
            }
            self.endpoints = endpoints
            if let wal = try reader.block("wal") {
                // Accepted so that Alloy configs carrying a disabled `wal` block load unchanged.
                for name in ["max_segment_age", "min_read_frequency", "max_read_frequency", "drain_timeout"] {
                    _ = try wal.duration(name, default: .zero)
                }
                if try wal.bool("enabled", default: false) {
                    throw wal.error(
                        "enabled",
                        "enabled: loki.write's write-ahead log is not supported by Estuary; remove the wal block or set enabled = false (entries are queued in memory, bounded by queue_config.capacity)")
                }
            }
        }

        /// Endpoints must be told apart: two with the same `name`, or two identical ones, are an error (Alloy's rule).
        public func validate() throws(ArgumentError) {
            for (index, endpoint) in endpoints.enumerated() {
                for earlier in 0..<index {
                    let other = endpoints[earlier]
                    if let name = endpoint.name, name == other.name {
                        throw ArgumentError(
                            "endpoint[\(index)]: name \(GoQuote.quote(name)) is already used by endpoint[\(earlier)]; give each endpoint its own name")
                    }
                    if endpoint == other {
                        throw ArgumentError(
                            "endpoint[\(index)] is identical to endpoint[\(earlier)] (url \(GoQuote.quote(endpoint.url))); every entry would be sent twice, remove one")
                    }
                }
            }
        }
    }

    /// One `endpoint` block: where to send, how to batch and retry, and the bounded queue in front of it.
    public struct EndpointOptions: Sendable, Hashable {
        /// `name`: identifies the endpoint in logs.
        public var name: String?
        /// `url` (required): the push URL, `http://` or `https://`, e.g. `http://loki:3100/loki/api/v1/push`.
        public var url: String
        /// `tenant_id`: sent as `X-Scope-OrgID`; without it no tenant header is sent (single-tenant Loki). An
        /// entry's `__tenant_id__` label overrides it.
        public var tenantID: String?
        /// `headers`: extra HTTP headers; they never replace the ones loki.write sets itself.
        public var headers: [String: String]
        /// `batch_size`: bytes of log lines gathered before a batch is sent (default `"1MiB"`).
        public var batchSize: Int
        /// `batch_wait`: the longest a batch waits to fill before it is sent (default `"1s"`).
        public var batchWait: Duration
        /// `remote_timeout`: the longest one push request may take (default `"10s"`).
        public var remoteTimeout: Duration
        /// `min_backoff_period`: the first wait before a retry (default `"500ms"`); it doubles on every retry.
        public var minBackoff: Duration
        /// `max_backoff_period`: the longest wait between retries (default `"5m"`).
        public var maxBackoff: Duration
        /// `max_backoff_retries`: how many attempts a batch gets before it is dropped (default 10); 0 retries
        /// forever.
        public var maxBackoffRetries: Int
        /// `retry_on_http_429`: whether `429 Too Many Requests` is retried (default true); when false the batch is
        /// dropped with reason `rate_limited`.
        public var retryOnHTTP429: Bool
        /// `bearer_token`: sent as `Authorization: Bearer …`.
        public var bearerToken: String?
        /// `bearer_token_file`: a file holding the bearer token, read for every request (so a rotated token, such
        /// as a Kubernetes service account's, is picked up).
        public var bearerTokenFile: String?
        /// `basic_auth { username, password, password_file }`.
        public var basicAuth: BasicAuth?
        /// `authorization { type, credentials, credentials_file }`: `Authorization: <type> <credentials>`.
        public var authorization: AuthorizationOptions?
        /// `queue_config { capacity, drain_timeout }`.
        public var queue: QueueOptions

        /// The push URL split into what the sender needs; derived from `url`.
        var target: HTTPEndpointURL

        /// An endpoint for `url` with every other option at its default.
        public init(url: String) throws(ArgumentError) {
            switch HTTPEndpointURL.parse(url) {
            case .success(let target): self.init(url: url, target: target)
            case .failure(let problem): throw ArgumentError("url: invalid URL \(GoQuote.quote(url)): \(problem)")
            }
        }

        private init(url: String, target: HTTPEndpointURL) {
            self.url = url
            self.target = target
            name = nil
            tenantID = nil
            headers = [:]
            batchSize = Defaults.batchSize
            batchWait = Defaults.batchWait
            remoteTimeout = Defaults.remoteTimeout
            minBackoff = Defaults.minBackoff
            maxBackoff = Defaults.maxBackoff
            maxBackoffRetries = Defaults.maxBackoffRetries
            retryOnHTTP429 = Defaults.retryOnHTTP429
            bearerToken = nil
            bearerTokenFile = nil
            basicAuth = nil
            authorization = nil
            queue = QueueOptions()
        }

        /// Alloy's defaults (`GetDefaultEndpointOptions`), in one place.
        public enum Defaults {
            public static let batchSize = 1 << 20
            public static let batchWait = Duration.seconds(1)
            public static let remoteTimeout = Duration.seconds(10)
            public static let minBackoff = Duration.milliseconds(500)
            public static let maxBackoff = Duration.seconds(300)
            public static let maxBackoffRetries = 10
            public static let retryOnHTTP429 = true
            public static let queueCapacity = 10 << 20
            public static let drainTimeout = Duration.seconds(15)
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let url = try reader.requiredString("url")
            switch HTTPEndpointURL.parse(url) {
            case .success(let target): self.init(url: url, target: target)
            case .failure(let problem):
                throw reader.error(
                    "url", "url: invalid URL \(GoQuote.quote(url)): \(problem); expected e.g. \"http://loki:3100/loki/api/v1/push\"")
            }
            name = try reader.string("name")
            tenantID = try reader.string("tenant_id")
            if let tenantID, !HeaderText.isValidValue(tenantID) {
                throw reader.error("tenant_id", "tenant_id: must not contain control characters such as line breaks")
            }
            headers = try HeaderText.headers(reader)
            batchSize = try reader.byteSize("batch_size", default: Defaults.batchSize)
            if batchSize <= 0 {
                throw reader.error("batch_size", "batch_size: must be greater than 0, got \(batchSize)")
            }
            batchWait = try Self.positive(reader, "batch_wait", default: Defaults.batchWait)
            remoteTimeout = try Self.positive(reader, "remote_timeout", default: Defaults.remoteTimeout)
            minBackoff = try Self.positive(reader, "min_backoff_period", default: Defaults.minBackoff)
            maxBackoff = try Self.positive(reader, "max_backoff_period", default: Defaults.maxBackoff)
            if maxBackoff < minBackoff {
                throw reader.error(
                    "max_backoff_period",
                    "max_backoff_period: must be at least min_backoff_period (\(Self.text(minBackoff))), got \(Self.text(maxBackoff))")
            }
            maxBackoffRetries = try reader.int("max_backoff_retries", default: Defaults.maxBackoffRetries)
            if maxBackoffRetries < 0 {
                throw reader.error(
                    "max_backoff_retries", "max_backoff_retries: must be 0 (retry forever) or more, got \(maxBackoffRetries)")
            }
            retryOnHTTP429 = try reader.bool("retry_on_http_429", default: Defaults.retryOnHTTP429)
            try readCredentials(reader)
            if let queueBlock = try reader.block("queue_config") {
                queue.capacity = try queueBlock.byteSize("capacity", default: Defaults.queueCapacity)
                if queue.capacity <= 0 {
                    throw queueBlock.error("capacity", "capacity: must be greater than 0, got \(queue.capacity)")
                }
                queue.drainTimeout = try queueBlock.duration("drain_timeout", default: Defaults.drainTimeout)
                if queue.drainTimeout < .zero {
                    throw queueBlock.error("drain_timeout", "drain_timeout: must not be negative")
                }
            }
        }

        /// The HTTP client's credentials, as Prometheus' `HTTPClientConfig` has them: at most one way to
        /// authenticate, and a secret either inline or in a file, never both.
        private mutating func readCredentials(_ reader: ArgumentReader) throws(Diagnostic) {
            var given: [String] = []
            bearerToken = try reader.secret("bearer_token")
            if bearerToken != nil { given.append("bearer_token") }
            bearerTokenFile = try reader.string("bearer_token_file")
            if bearerTokenFile != nil { given.append("bearer_token_file") }
            if let block = try reader.block("basic_auth") {
                given.append("basic_auth")
                let password = try block.secret("password")
                let passwordFile = try block.string("password_file")
                if password != nil && passwordFile != nil {
                    throw block.blockError("at most one of basic_auth password and password_file may be given; remove one")
                }
                basicAuth = BasicAuth(
                    username: try block.string("username", default: ""), password: password ?? "", passwordFile: passwordFile)
            }
            if let block = try reader.block("authorization") {
                given.append("authorization")
                let type = try block.string("type", default: "Bearer")
                if type.lowercased() == "basic" {
                    throw block.error("type", "type: authorization type cannot be set to \"basic\", use the basic_auth block instead")
                }
                let credentials = try block.secret("credentials")
                let credentialsFile = try block.string("credentials_file")
                if credentials != nil && credentialsFile != nil {
                    throw block.blockError("at most one of authorization credentials and credentials_file may be given; remove one")
                }
                authorization = AuthorizationOptions(type: type, credentials: credentials, credentialsFile: credentialsFile)
            }
            if given.count > 1 {
                throw reader.blockError(
                    "at most one of \(given.joined(separator: ", ")) may be given in \(reader.name); remove all but one")
            }
            for name in ["oauth2", "tls_config"] where try reader.block(name) != nil {
                throw reader.blockError("\(name): not supported by Estuary's loki.write yet; remove the block (use https:// with the system's trust store, or bearer_token / basic_auth / authorization)")
            }
        }

        private static func positive(_ reader: ArgumentReader, _ name: String, default fallback: Duration)
            throws(Diagnostic) -> Duration
        {
            let value = try reader.duration(name, default: fallback)
            if value <= .zero {
                throw reader.error(name, "\(name): must be greater than 0, got \(text(value))")
            }
            return value
        }

        private static func text(_ duration: Duration) -> String {
            DurationText.goString(DurationText.nanoseconds(duration))
        }

        /// `host:port` as written in the URL: the `host` label of the endpoint's metrics (Go's `URL.Host`).
        public var host: String { target.host }
    }

    /// `basic_auth`: sent as `Authorization: Basic base64(username:password)`.
    public struct BasicAuth: Sendable, Hashable {
        public var username: String
        public var password: String
        /// `password_file`: read for every request instead of `password`.
        public var passwordFile: String?

        public init(username: String, password: String, passwordFile: String? = nil) {
            self.username = username
            self.password = password
            self.passwordFile = passwordFile
        }
    }

    /// `authorization`: sent as `Authorization: <type> <credentials>`.
    public struct AuthorizationOptions: Sendable, Hashable {
        /// `type` (default `Bearer`).
        public var type: String
        public var credentials: String?
        /// `credentials_file`: read for every request instead of `credentials`.
        public var credentialsFile: String?
    }

    /// `queue_config`: the endpoint's bounded in-memory queue.
    public struct QueueOptions: Sendable, Hashable {
        /// `capacity`: the bytes the endpoint holds, queued, being batched and in flight together (default
        /// `"10MiB"`), counted as ``LogEntry/heldBytes``. When it is full the endpoint drops new batches (reason
        /// `queue_is_full`), or, when every endpoint is full, loki.write refuses them with backpressure so the
        /// source can retry. Alloy's documentation calls it the worst-case memory of the queue; here it is that.
        public var capacity: Int
        /// `drain_timeout`: on shutdown, how long the endpoint keeps sending what is queued (default `"15s"`); what
        /// is left after that is dropped (reason `drain_timeout`).
        public var drainTimeout: Duration

        public init(
            capacity: Int = EndpointOptions.Defaults.queueCapacity,
            drainTimeout: Duration = EndpointOptions.Defaults.drainTimeout
        ) {
            self.capacity = capacity
            self.drainTimeout = drainTimeout
        }
    }
}

/// Prometheus' label name rule: `[a-zA-Z_][a-zA-Z0-9_]*`.
private enum LabelName {
    static func isValid(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let letter = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F
            let digit = byte >= 0x30 && byte <= 0x39
            if !(letter || (!first && digit)) { return false }
            first = false
        }
        return !first
    }
}
