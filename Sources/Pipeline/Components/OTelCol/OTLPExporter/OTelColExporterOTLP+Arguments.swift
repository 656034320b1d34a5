import AlloyLanguage
import Wire

extension OTelColExporterOTLP {
    /// The arguments of an `otelcol.exporter.otlp` block, with Alloy's names and defaults.
    ///
    /// ```alloy
    /// otelcol.exporter.otlp "gateway" {
    ///   client {
    ///     endpoint = "gateway.example:4317"
    ///     tls { insecure = true }      // plaintext; without it the connection uses TLS
    ///   }
    /// }
    /// ```
    ///
    /// Settings Estuary cannot honour are refused with an error naming them, never ignored.
    public struct Arguments: ComponentArguments {
        /// `client { ... }` (required): where and how RPCs are sent.
        public var client: ClientOptions
        /// `timeout`: the longest one `Export` call may take (default `"5s"`).
        public var timeout = Duration.seconds(5)
        /// `retry_on_failure { ... }`: how failed RPCs are retried (as `otelcol.exporter.otlphttp`).
        public var retry = OTLPExporterRetryOptions()
        /// `sending_queue { ... }`: the bounded in-memory queue in front of the senders (as `otelcol.exporter.otlphttp`).
        public var queue = OTLPExporterQueueOptions()

        /// Arguments for `endpoint` with every other option at its default (TLS on, as in Alloy).
        public init(endpoint: String) throws(ArgumentError) {
            client = ClientOptions(endpoint: try GRPCTarget.parse(endpoint).get())
        }

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            guard let clientBlock = try reader.block("client") else {
                throw reader.blockError("missing required block \"client\" in \(reader.name)")
            }
            client = try ClientOptions(clientBlock)
            timeout = try reader.duration("timeout", default: timeout)
            if timeout <= .zero {
                throw reader.error("timeout", "timeout: must be greater than 0, got \(OTLPExporterRetryOptions.text(timeout))")
            }
            retry = try reader.block("retry_on_failure").map { block throws(Diagnostic) in try OTLPExporterRetryOptions(block) }
                ?? OTLPExporterRetryOptions()
            queue = try reader.block("sending_queue").map { block throws(Diagnostic) in try OTLPExporterQueueOptions(block) }
                ?? OTLPExporterQueueOptions()
            if let debug = try reader.block("debug_metrics") {
                // Accepted for compatibility, as otelcol.exporter.otlphttp does: there are no high-cardinality
                // attributes to drop.
                _ = try debug.bool("disable_high_cardinality_metrics", default: true)
                _ = try debug.string("level")
            }
        }
    }

    /// `client.endpoint`: `host:port`, optionally written `dns:///host:port` (the form grpc-go also takes).
    public struct GRPCTarget: Sendable, Equatable {
        public var host: String
        public var port: Int

        static func parse(_ text: String) -> Result<GRPCTarget, ArgumentError> {
            var rest = Substring(text)
            if rest.hasPrefix("dns:///") { rest = rest.dropFirst("dns:///".count) }
            guard !rest.contains("/"), let hostPort = HostPort(String(rest)), !rest.hasPrefix(":"), hostPort.port > 0 else {
                return .failure(ArgumentError(
                    "\(GoQuote.quote(text)) is not a gRPC target; expected host:port such as \"gateway.example:4317\" (no scheme)"))
            }
            return .success(GRPCTarget(host: hostPort.host, port: hostPort.port))
        }
    }

    /// The `client` block.
    public struct ClientOptions: Sendable, Equatable {
        public var endpoint: GRPCTarget
        /// `compression`: `"gzip"` (default) or `"none"` (also `""`).
        public var compression = Compression.gzip
        /// `headers`: metadata sent with every call (names lowercased, as HTTP/2 has them).
        public var headers: [String: String] = [:]
        /// `tls`: nil with `insecure = true` (plaintext), else how the server is verified.
        public var tls: TLS? = TLS()
        /// `authority` (or `tls.server_name`): the `:authority` sent and the name the server's certificate is
        /// checked against (and sent as SNI); default the endpoint's host.
        public var authority: String?
        /// `wait_for_ready`: wait for the connection to be ready instead of failing a call at once while the
        /// server is unreachable.
        public var waitForReady = false
        /// `balancer_name`: `"round_robin"` (Alloy's default) or `"pick_first"`, over the addresses the host
        /// resolves to.
        public var balancer = Balancer.roundRobin
        /// `keepalive`: client pings (`ping_wait`, `ping_response_timeout`, `ping_without_stream`); nil: none.
        public var keepalive: Keepalive?

        public enum Compression: String, Sendable {
            case gzip
            case none
        }

        public enum Balancer: String, Sendable {
            case roundRobin = "round_robin"
            case pickFirst = "pick_first"
        }

        public struct TLS: Sendable, Equatable {
            /// `insecure_skip_verify`: accept any server certificate.
            public var insecureSkipVerify = false
            /// `ca_file` / `ca_pem`: the roots to trust instead of the system's.
            public var caFile: String?
            public var caPEM: String?
        }

        public struct Keepalive: Sendable, Equatable {
            public var pingWait: Duration
            public var pingResponseTimeout: Duration
            public var pingWithoutStream: Bool
        }

        init(endpoint: GRPCTarget) {
            self.endpoint = endpoint
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let text = try reader.requiredString("endpoint")
            switch GRPCTarget.parse(text) {
            case .success(let target): endpoint = target
            case .failure(let problem): throw reader.error("endpoint", "endpoint: \(problem.message)")
            }
            let compressionText = try reader.string("compression", default: "gzip")
            switch compressionText {
            case "gzip": compression = .gzip
            case "none", "": compression = .none
            case "zstd", "snappy", "zlib", "deflate", "lz4":
                throw reader.error(
                    "compression",
                    "compression: \(GoQuote.quote(compressionText)) is not supported by Estuary's gRPC client; use \"gzip\" (the default) or \"none\"")
            default:
                throw reader.error(
                    "compression", "compression: unknown compression \(GoQuote.quote(compressionText)); use \"gzip\" (the default) or \"none\"")
            }
            headers = Dictionary(
                try HeaderText.headers(reader).map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
            for name in headers.keys where name.hasPrefix("grpc-") || ["content-type", "te"].contains(name) {
                throw reader.error("headers", "headers: \(GoQuote.quote(name)) is set by the gRPC transport itself and cannot be sent as a header")
            }
            authority = try reader.string("authority")
            waitForReady = try reader.bool("wait_for_ready", default: waitForReady)
            let balancerText = try reader.string("balancer_name", default: balancer.rawValue)
            guard let balancer = Balancer(rawValue: balancerText) else {
                throw reader.error(
                    "balancer_name", "balancer_name: \(GoQuote.quote(balancerText)) is not supported; use \"round_robin\" or \"pick_first\"")
            }
            self.balancer = balancer
            for name in ["read_buffer_size", "write_buffer_size", "auth"] where reader.has(name) {
                throw reader.error(name, "\(name): not supported by Estuary's gRPC client; remove it")
            }
            if let block = try reader.block("keepalive") {
                let keepalive = Keepalive(
                    pingWait: try block.duration("ping_wait", default: .zero),
                    pingResponseTimeout: try block.duration("ping_response_timeout", default: .zero),
                    pingWithoutStream: try block.bool("ping_without_stream", default: false))
                // grpc-go's defaults for a zero: no pings, and a 20s answer time.
                if keepalive.pingWait > .zero {
                    self.keepalive = Keepalive(
                        pingWait: keepalive.pingWait,
                        pingResponseTimeout: keepalive.pingResponseTimeout > .zero ? keepalive.pingResponseTimeout : .seconds(20),
                        pingWithoutStream: keepalive.pingWithoutStream)
                }
            }
            if let block = try reader.block("tls") {
                try readTLS(block)
            }
        }

        private mutating func readTLS(_ tls: ArgumentReader) throws(Diagnostic) {
            var options = TLS()
            let insecure = try tls.bool("insecure", default: false)
            options.insecureSkipVerify = try tls.bool("insecure_skip_verify", default: false)
            options.caFile = try tls.string("ca_file")
            options.caPEM = try tls.string("ca_pem")
            if options.caFile != nil && options.caPEM != nil {
                throw tls.error("ca_pem", "ca_pem: set ca_file or ca_pem, not both")
            }
            if let serverName = try tls.string("server_name"), !serverName.isEmpty {
                if let authority, authority != serverName {
                    throw tls.error("server_name", "server_name: differs from client.authority (\(GoQuote.quote(authority))); set one of them")
                }
                authority = serverName
            }
            for name in [
                "cert_file", "cert_pem", "key_file", "key_pem", "min_version", "max_version", "reload_interval",
                "cipher_suites", "include_system_ca_certs_pool", "curve_preferences",
            ] where tls.has(name) {
                throw tls.error(name, "\(name): not supported by Estuary's gRPC client yet; remove it")
            }
            if try tls.block("tpm") != nil {
                throw tls.blockError("tls > tpm: not supported by Estuary")
            }
            self.tls = insecure ? nil : options
        }
    }
}
