import AlloyLanguage
import Wire

extension LokiSourceAPI {
    /// `loki.source.api`'s arguments, with Alloy's names and defaults:
    ///
    ///     loki.source.api "default" {
    ///       http {
    ///         listen_address = "0.0.0.0"
    ///         listen_port    = 3500
    ///       }
    ///       forward_to = [loki.write.default.receiver]
    ///       labels     = { forwarded = "true" }
    ///     }
    public struct Arguments: ComponentArguments {
        /// The `http` block: Alloy's server settings (dskit's `server` config) that make sense for this listener.
        public struct HTTP: Sendable, Equatable {
            /// `listen_address`: the address to listen on; empty (the default) means every interface.
            public var listenAddress = ""
            /// `listen_port`: the port to listen on; 0 picks a free one.
            public var listenPort = 8080
            /// `conn_limit`: most connections open at once, 0 for no limit. Further clients wait to be accepted.
            public var connLimit = 0
            /// `server_idle_timeout`: a keep-alive connection idle for this long is closed.
            public var serverIdleTimeout: Duration = .seconds(120)
            /// `server_read_timeout` and `server_write_timeout`: accepted for compatibility; the listener does not
            /// enforce them (`server_idle_timeout` and `max_send_message_size` bound what a slow client can hold).
            public var serverReadTimeout: Duration = .seconds(30)
            public var serverWriteTimeout: Duration = .seconds(30)

            public init() {}

            /// The host to bind: `listen_address`, or every IPv4 interface when it is empty.
            var bindHost: String { listenAddress.isEmpty ? "0.0.0.0" : listenAddress }
        }

        public var http = HTTP()
        /// `graceful_shutdown_timeout`: how long requests in flight may take to finish when the listener stops
        /// (the component is removed, the agent stops, or the address changes on reload).
        public var gracefulShutdownTimeout: Duration = .seconds(30)
        /// `forward_to` (required): where received entries go.
        public var forwardTo = LogsReceivers()
        /// `labels`: added to every entry, replacing a pushed label of the same name. Sorted by name.
        public var labels: [LabelPair] = []
        /// `use_incoming_timestamp`: keep the timestamps pushed with the entries. When false (the default), each
        /// entry gets the time it was received. `/loki/api/v1/raw` always uses the receive time.
        public var useIncomingTimestamp = false
        /// `max_send_message_size`: the largest request body, and the largest it may decompress to (413 beyond).
        public var maxSendMessageSize = 100 << 20
        /// `max_in_flight_body_size` (Estuary's own; Alloy has no such limit): the most bytes of request bodies
        /// the listener holds at once, across all requests. A request that does not fit gets 503 with
        /// `Retry-After`. Unset, it is four times `max_send_message_size`, at most 256MiB, and never less than
        /// `max_send_message_size`.
        public var maxInFlightBodySize: Int?

        /// `max_in_flight_body_size`, or its default for `max_send_message_size`.
        var inFlightBodyLimit: Int {
            maxInFlightBodySize ?? RequestBody.defaultInFlightLimit(perRequest: maxSendMessageSize)
        }

        public init() {}

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            if let block = try reader.block("http") {
                http.listenAddress = try block.string("listen_address", default: http.listenAddress)
                http.listenPort = try block.int("listen_port", default: http.listenPort)
                http.connLimit = try block.int("conn_limit", default: http.connLimit)
                http.serverIdleTimeout = try block.duration("server_idle_timeout", default: http.serverIdleTimeout)
                http.serverReadTimeout = try block.duration("server_read_timeout", default: http.serverReadTimeout)
                http.serverWriteTimeout = try block.duration("server_write_timeout", default: http.serverWriteTimeout)
                for name in ["tls_config", "tls"] {
                    guard let tls = try block.block(name) else { continue }
                    throw tls.blockError("\(LokiSourceAPI.name): the http > \(name) block is not supported yet; terminate TLS in front of the agent (an ingress or a sidecar) and listen on plain HTTP")
                }
            }
            if let grpc = try reader.block("grpc") {
                throw grpc.blockError("\(LokiSourceAPI.name): the grpc block is not supported yet; push over HTTP (the http block, /loki/api/v1/push)")
            }
            gracefulShutdownTimeout = try reader.duration("graceful_shutdown_timeout", default: gracefulShutdownTimeout)
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
            let labels = try reader.stringMap("labels")
            for name in labels.keys.sorted() where !PrometheusLabelName.isValid(name) {
                throw reader.error(
                    "labels",
                    "labels: invalid label name \(GoQuote.quote(name)); a label name starts with a letter or _ and holds only letters, digits and _")
            }
            self.labels = labels.map { LabelPair(name: $0.key, value: $0.value) }.sorted()
            if try reader.value("relabel_rules") != nil {
                throw reader.error(
                    "relabel_rules",
                    "relabel_rules: not supported yet (there is no loki.relabel component yet); set fixed labels with the labels attribute")
            }
            useIncomingTimestamp = try reader.bool("use_incoming_timestamp", default: useIncomingTimestamp)
            maxSendMessageSize = try reader.byteSize("max_send_message_size", default: maxSendMessageSize)
            maxInFlightBodySize = try reader.byteSize("max_in_flight_body_size")
        }

        public func validate() throws(ArgumentError) {
            guard (0...65_535).contains(http.listenPort) else {
                throw ArgumentError("http.listen_port must be between 0 and 65535, got \(http.listenPort)")
            }
            guard !http.listenAddress.contains("/") && !http.listenAddress.contains(" ") else {
                throw ArgumentError("http.listen_address must be a host name or IP address, got \(GoQuote.quote(http.listenAddress))")
            }
            guard http.connLimit >= 0 else {
                throw ArgumentError("http.conn_limit must be 0 (no limit) or more, got \(http.connLimit)")
            }
            guard http.serverIdleTimeout > .zero else {
                throw ArgumentError("http.server_idle_timeout must be greater than zero, got \(Self.text(http.serverIdleTimeout))")
            }
            guard gracefulShutdownTimeout > .zero else {
                throw ArgumentError("graceful_shutdown_timeout must be greater than zero, got \(Self.text(gracefulShutdownTimeout))")
            }
            // Alloy falls back to 100MiB for a size of 0 or less; say so instead of guessing.
            guard maxSendMessageSize > 0 else {
                throw ArgumentError("max_send_message_size must be greater than zero, got \(maxSendMessageSize)")
            }
            // Smaller than one body, a request of the largest allowed size could never be accepted.
            if let maxInFlightBodySize, maxInFlightBodySize < maxSendMessageSize {
                throw ArgumentError(
                    "max_in_flight_body_size (\(maxInFlightBodySize) bytes) must be at least max_send_message_size (\(maxSendMessageSize) bytes)")
            }
        }

        /// A duration as Alloy writes it (`30s`).
        private static func text(_ duration: Duration) -> String {
            DurationText.goString(DurationText.nanoseconds(duration))
        }
    }
}
