import AlloyLanguage
import GRPCNIOTransportHTTP2Posix
import NIOCore
import Wire

extension OTelColReceiverOTLP.Arguments {
    /// The `grpc` block: OTLP/gRPC (`opentelemetry.proto.collector.logs.v1.LogsService/Export`), Alloy's argument
    /// names and the collector's defaults. Settings Estuary cannot honour (`tls`, `auth`, `transport` other than
    /// `tcp`, `read_buffer_size`, `write_buffer_size`) are refused with an error naming them, never ignored.
    public struct GRPC: Sendable, Equatable {
        /// `endpoint`: `host:port` to listen on.
        public var endpoint = "0.0.0.0:4317"
        /// `max_recv_msg_size`: the largest request message, before and after decompression; a larger one gets
        /// RESOURCE_EXHAUSTED, as from the collector (whose default is also 4MiB). See ``transportPayloadLimit``.
        public var maxRecvMsgSize = 4 << 20

        /// The most bytes of messages the listener hands on at once (Estuary's own bound, as `http`'s
        /// `max_in_flight_body_size` defaults): four times `max_recv_msg_size`, at most 256MiB and never less than
        /// one message. A message that does not fit gets UNAVAILABLE with RetryInfo.
        var inFlightLimit: Int { RequestBody.defaultInFlightLimit(perRequest: maxRecvMsgSize) }

        /// What the transport itself takes: twice `max_recv_msg_size`. grpc-swift answers a message over its own
        /// limit by resetting the stream (a grpc-swift client sees UNAVAILABLE, which exporters retry), so
        /// the receiver checks `max_recv_msg_size` itself and answers RESOURCE_EXHAUSTED, as grpc-go does; only a
        /// message more than twice the limit (compressed or not) is cut off by a reset.
        var transportPayloadLimit: Int {
            let doubled = maxRecvMsgSize.multipliedReportingOverflow(by: 2)
            return doubled.overflow ? Int.max : doubled.partialValue
        }
        /// `max_concurrent_streams`: the most RPCs one connection may have open at once (0: no limit).
        public var maxConcurrentStreams = 0
        /// `include_metadata`: hand the request's gRPC metadata on as the client's metadata (for
        /// `otelcol.processor.batch`'s `metadata_keys`).
        public var includeMetadata = false
        /// `keepalive { server_parameters { ... } enforcement_policy { ... } }`.
        public var keepalive = Keepalive()

        public struct Keepalive: Sendable, Equatable {
            /// `max_connection_idle`: close a connection with no RPC open for this long (unset: never).
            public var maxConnectionIdle: Duration?
            /// `max_connection_age`: close (gracefully) a connection that has existed this long (unset: never).
            public var maxConnectionAge: Duration?
            /// `max_connection_age_grace`: how long RPCs of a connection past its age may take (unset: no bound).
            public var maxConnectionAgeGrace: Duration?
            /// `time`: ping a client after this long without activity.
            public var time: Duration = .seconds(2 * 60 * 60)
            /// `timeout`: close the connection when a ping is not answered within this.
            public var timeout: Duration = .seconds(20)
            /// `enforcement_policy.min_time`: clients pinging more often than this, without RPCs open, are cut off.
            public var minTime: Duration = .seconds(5 * 60)
            /// `enforcement_policy.permit_without_stream`: whether clients may ping with no RPC open.
            public var permitWithoutStream = false
        }

        /// Everything but `include_metadata` (read per request): a change rebuilds the listener.
        var serverSettings: GRPC {
            var settings = self
            settings.includeMetadata = false
            return settings
        }

        public init() {}

        init(_ block: ArgumentReader) throws(Diagnostic) {
            endpoint = try block.string("endpoint", default: endpoint)
            let transport = try block.string("transport", default: "tcp")
            guard transport == "tcp" else {
                throw block.error("transport", "grpc.transport: only \"tcp\" is supported, got \(GoQuote.quote(transport))")
            }
            maxRecvMsgSize = try block.byteSize("max_recv_msg_size", default: maxRecvMsgSize)
            maxConcurrentStreams = try block.int("max_concurrent_streams", default: maxConcurrentStreams)
            includeMetadata = try block.bool("include_metadata", default: includeMetadata)
            for name in ["read_buffer_size", "write_buffer_size", "auth"] where block.has(name) {
                throw block.error(name, "grpc.\(name) is not supported by Estuary; remove it")
            }
            if let tls = try block.block("tls") {
                throw tls.blockError("grpc.tls is not supported by Estuary: the gRPC listener serves plaintext only; remove the tls block (terminate TLS in front of the agent)")
            }
            if let block = try block.block("keepalive") {
                if let server = try block.block("server_parameters") {
                    keepalive.maxConnectionIdle = try Self.optionalDuration(server, "max_connection_idle")
                    keepalive.maxConnectionAge = try Self.optionalDuration(server, "max_connection_age")
                    keepalive.maxConnectionAgeGrace = try Self.optionalDuration(server, "max_connection_age_grace")
                    keepalive.time = try server.duration("time", default: keepalive.time)
                    keepalive.timeout = try server.duration("timeout", default: keepalive.timeout)
                }
                if let policy = try block.block("enforcement_policy") {
                    keepalive.minTime = try policy.duration("min_time", default: keepalive.minTime)
                    keepalive.permitWithoutStream = try policy.bool("permit_without_stream", default: keepalive.permitWithoutStream)
                }
            }
        }

        private static func optionalDuration(_ reader: ArgumentReader, _ name: String) throws(Diagnostic) -> Duration? {
            guard reader.has(name) else { return nil }
            let value = try reader.duration(name, default: .zero)
            // grpc-go reads 0 as "not set" for these.
            return value == .zero ? nil : value
        }

        func validate() throws(ArgumentError) {
            guard HostPort(endpoint) != nil else {
                throw ArgumentError("grpc.endpoint \(GoQuote.quote(endpoint)) is not host:port")
            }
            guard maxRecvMsgSize > 0 else { throw ArgumentError("grpc.max_recv_msg_size must be positive") }
            guard maxConcurrentStreams >= 0 else {
                throw ArgumentError("grpc.max_concurrent_streams must be 0 (no limit) or more, got \(maxConcurrentStreams)")
            }
            for (name, value) in [("max_connection_idle", keepalive.maxConnectionIdle),
                                  ("max_connection_age", keepalive.maxConnectionAge),
                                  ("max_connection_age_grace", keepalive.maxConnectionAgeGrace)] {
                if let value, value < .zero {
                    throw ArgumentError("grpc.keepalive.server_parameters.\(name) must not be negative")
                }
            }
            for (name, value) in [("server_parameters.time", keepalive.time), ("server_parameters.timeout", keepalive.timeout),
                                  ("enforcement_policy.min_time", keepalive.minTime)] where value <= .zero {
                throw ArgumentError("grpc.keepalive.\(name) must be positive")
            }
        }

        /// The transport settings these arguments stand for.
        var transportConfig: HTTP2ServerTransport.Posix.Config {
            .defaults { config in
                config.rpc.maxRequestPayloadSize = transportPayloadLimit
                config.http2.maxConcurrentStreams = maxConcurrentStreams == 0 ? nil : maxConcurrentStreams
                // What the collector decodes that grpc-swift can: gzip (and deflate); identity always.
                config.compression.enabledAlgorithms = [.gzip, .deflate]
                config.connection.maxIdleTime = keepalive.maxConnectionIdle
                config.connection.maxAge = keepalive.maxConnectionAge
                config.connection.maxGraceTime = keepalive.maxConnectionAgeGrace
                config.connection.keepalive = .init(
                    time: keepalive.time, timeout: keepalive.timeout,
                    clientBehavior: .init(
                        minPingIntervalWithoutCalls: keepalive.minTime, allowWithoutCalls: keepalive.permitWithoutStream))
            }
        }

        /// The address to bind: an IP literal as written, a host name resolved now (as Go's `net.Listen` does).
        func listenAddress() throws -> GRPCNIOTransportCore.SocketAddress {
            // `validate()` makes sure the endpoint is host:port.
            let hostPort = HostPort(endpoint) ?? HostPort(host: "0.0.0.0", port: 4317)
            let resolved = try NIOCore.SocketAddress.makeAddressResolvingHost(hostPort.host, port: hostPort.port)
            guard let ip = resolved.ipAddress else {
                throw ArgumentError("grpc.endpoint \(GoQuote.quote(endpoint)) does not resolve to an IP address")
            }
            switch resolved {
            case .v6: return .ipv6(host: ip, port: hostPort.port)
            default: return .ipv4(host: ip, port: hostPort.port)
            }
        }
    }
}
