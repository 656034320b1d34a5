import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Prometheus
import Synchronization
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport
import TestSupport

/// `otelcol.exporter.otlp` against real gRPC servers on loopback: another Estuary `otelcol.receiver.otlp` with a
/// `grpc` block (plaintext), and a grpc-swift server with a throwaway certificate for TLS.
@Suite struct OTelColExporterOTLPTests {
    typealias Exporter = OTelColExporterOTLP

    static func config(
        endpoint: String, client: String = "tls {\n insecure = true\n }",
        retry: String = "initial_interval = \"10ms\"\nmax_interval = \"50ms\""
    ) -> String {
        """
        otelcol.exporter.otlp "default" {
          client {
            endpoint = "\(endpoint)"
            \(client)
          }
          retry_on_failure {
            \(retry)
          }
        }
        """
    }

    /// An Estuary receiver with a `grpc` block on an ephemeral port, handing what it takes to `sink`.
    static func receiver(_ sink: CollectingConsumer) async throws -> (OTelColReceiverOTLP, Task<Void, any Error>, Int) {
        let config = """
            otelcol.receiver.otlp "peer" {
              grpc {
                endpoint = "127.0.0.1:0"
                include_metadata = true
              }
              output {
                logs = [sink]
              }
            }
            """
        let receiver = try ComponentHarness.make(
            OTelColReceiverOTLP.self, config, scope: ComponentHarness.scope(consumers: ["sink": sink]))
        let task = Task { try await receiver.run() }
        #expect(await eventually { receiver.grpcListeningPort != nil })
        return (receiver, task, try #require(receiver.grpcListeningPort))
    }

    /// The exporter built from `config`, running, with its registry.
    final class Harness: Sendable {
        let component: Exporter
        let registry = PrometheusCollectorRegistry()
        let task: Task<Void, any Error>

        init(_ config: String) throws {
            let arguments = try ComponentHarness.decode(Exporter.Arguments.self, config).arguments
            component = try Exporter(
                context: ComponentHarness.context(id: "otelcol.exporter.otlp.default", registry: registry),
                arguments: arguments, drainTimeout: .seconds(5))
            let component = self.component
            task = Task { try await component.run() }
        }

        func metric(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            registry.sample(name, labels.merging(["component_id": "otelcol.exporter.otlp.default"]) { $1 })
        }

        func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    static func logs(_ lines: [String]) -> OTLPLogsData {
        OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
            OTLPScopeLogs(logRecords: lines.map { OTLPLogRecord(timeUnixNano: 1, body: .string($0)) }),
        ])])
    }

    @Test(arguments: ["gzip", "none"])
    func logsReachAnotherEstuaryReceiver(compression: String) async throws {
        let sink = CollectingConsumer()
        let (_, receiverTask, port) = try await Self.receiver(sink)
        let harness = try Harness(Self.config(
            endpoint: "127.0.0.1:\(port)",
            client: "compression = \"\(compression)\"\nheaders = {\"X-Tenant\" = \"acme\"}\ntls {\n insecure = true\n }"))
        try await harness.component.consume(Self.logs(["one", "two"]))
        try await harness.component.consume(Self.logs(["three"]))
        #expect(await eventually { sink.recordCount == 3 })
        #expect(Set(sink.bodies) == ["one", "two", "three"])
        #expect(sink.calls.allSatisfy { $0.metadata["x-tenant"] == ["acme"] })
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total", ["exporter": "otlp/otelcol.exporter.otlp.default"]) == 3 })
        await harness.stop()
        receiverTask.cancel()
        _ = await receiverTask.result
    }

    @Test func aReloadWithANewEndpointSendsThereAndKeepsTheQueue() async throws {
        let first = CollectingConsumer()
        let second = CollectingConsumer()
        let (_, firstTask, firstPort) = try await Self.receiver(first)
        let (_, secondTask, secondPort) = try await Self.receiver(second)
        let harness = try Harness(Self.config(endpoint: "127.0.0.1:\(firstPort)"))
        try await harness.component.consume(Self.logs(["before"]))
        #expect(await eventually { first.bodies == ["before"] })
        try harness.component.update(
            ComponentHarness.decode(Exporter.Arguments.self, Self.config(endpoint: "127.0.0.1:\(secondPort)")).arguments)
        try await harness.component.consume(Self.logs(["after"]))
        #expect(await eventually { second.bodies == ["after"] })
        #expect(first.bodies == ["before"])
        // Counted once the reply is back, a moment after the receiver handed the batch on.
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total") == 2 })
        await harness.stop()
        for task in [firstTask, secondTask] {
            task.cancel()
            _ = await task.result
        }
    }

    @Test func unavailableIsRetriedUntilDelivered() async throws {
        // The receiver's pipeline is full twice: it answers UNAVAILABLE with RetryInfo, then takes the batch.
        let sink = CollectingConsumer(refusing: .backpressure(2))
        let (_, receiverTask, port) = try await Self.receiver(sink)
        let harness = try Harness(Self.config(endpoint: "127.0.0.1:\(port)"))
        try await harness.component.consume(Self.logs(["eventually"]))
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total") == 1 })
        #expect(sink.arrivals == 3)
        #expect(sink.bodies == ["eventually"])
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 0)
        await harness.stop()
        receiverTask.cancel()
        _ = await receiverTask.result
    }

    @Test func anUnreachableServerIsRetriedUntilItListens() async throws {
        // A port nobody listens on yet: connection failures are UNAVAILABLE, retried until the receiver is there.
        let sink = CollectingConsumer()
        let (receiver, receiverTask, port) = try await Self.receiver(sink)
        receiverTask.cancel()
        _ = await receiverTask.result
        #expect(receiver.grpcListeningPort == nil)
        let harness = try Harness(Self.config(endpoint: "127.0.0.1:\(port)"))
        try await harness.component.consume(Self.logs(["patient"]))
        let config = """
            otelcol.receiver.otlp "peer" {
              grpc {
                endpoint = "127.0.0.1:\(port)"
              }
              output {
                logs = [sink]
              }
            }
            """
        let again = try ComponentHarness.make(
            OTelColReceiverOTLP.self, config, scope: ComponentHarness.scope(consumers: ["sink": sink]))
        let againTask = Task { try await again.run() }
        #expect(await eventually { sink.bodies == ["patient"] })
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 0)
        await harness.stop()
        againTask.cancel()
        _ = await againTask.result
    }

    @Test func waitForReadyWaitsForTheServerInsteadOfFailing() async throws {
        let sink = CollectingConsumer()
        let (_, receiverTask, port) = try await Self.receiver(sink)
        receiverTask.cancel()
        _ = await receiverTask.result
        // One attempt only: without wait_for_ready it would fail at once against the closed port.
        let harness = try Harness(Self.config(
            endpoint: "127.0.0.1:\(port)", client: "wait_for_ready = true\ntls {\n insecure = true\n }",
            retry: "enabled = false"))
        let delivered = Task { try await harness.component.consume(Self.logs(["waited"])) }
        let config = """
            otelcol.receiver.otlp "peer" {
              grpc {
                endpoint = "127.0.0.1:\(port)"
              }
              output {
                logs = [sink]
              }
            }
            """
        let again = try ComponentHarness.make(
            OTelColReceiverOTLP.self, config, scope: ComponentHarness.scope(consumers: ["sink": sink]))
        let againTask = Task { try await again.run() }
        try await delivered.value
        #expect(await eventually { sink.bodies == ["waited"] })
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total") == 1 })
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 0)
        await harness.stop()
        againTask.cancel()
        _ = await againTask.result
    }

    @Test func withoutWaitForReadyAClosedPortFailsTheAttempt() async throws {
        let sink = CollectingConsumer()
        let (_, receiverTask, port) = try await Self.receiver(sink)
        receiverTask.cancel()
        _ = await receiverTask.result
        let harness = try Harness(Self.config(endpoint: "127.0.0.1:\(port)", retry: "enabled = false"))
        try await harness.component.consume(Self.logs(["lost"]))
        #expect(await eventually { harness.metric("otelcol_exporter_send_failed_log_records_total") == 1 })
        await harness.stop()
    }

    @Test func invalidArgumentIsPermanent() async throws {
        let sink = CollectingConsumer(refusing: [.rejected("every entry is too old")])
        let (_, receiverTask, port) = try await Self.receiver(sink)
        let harness = try Harness(Self.config(endpoint: "127.0.0.1:\(port)"))
        try await harness.component.consume(Self.logs(["old", "older"]))
        #expect(await eventually { harness.metric("otelcol_exporter_send_failed_log_records_total") == 2 })
        #expect(sink.arrivals == 1)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 0)
        await harness.stop()
        receiverTask.cancel()
        _ = await receiverTask.result
    }

    @Test(arguments: [
        (RPCError.Code.unavailable, false, true), (.deadlineExceeded, false, true), (.aborted, false, true),
        (.cancelled, false, true), (.outOfRange, false, true), (.dataLoss, false, true),
        (.resourceExhausted, true, true), (.resourceExhausted, false, false),
        (.invalidArgument, false, false), (.internalError, false, false), (.unimplemented, false, false),
        (.permissionDenied, false, false), (.unauthenticated, false, false),
    ])
    func statusCodesAreSortedAsTheCollectorDoes(code: RPCError.Code, withRetryInfo: Bool, retryable: Bool) {
        let error: RPCError = withRetryInfo
            ? RPCError(GoogleRPCStatus(code: code, message: "busy", details: [.retryInfo(delay: .seconds(2))]))
            : RPCError(code: code, message: "no")
        switch Exporter.classify(error, target: "peer:4317") {
        case .retryable(let message, let retryAfter):
            #expect(retryable, "\(code)")
            #expect(retryAfter == (withRetryInfo ? .seconds(2) : nil))
            #expect(message.contains("peer:4317"))
        case .permanent:
            #expect(!retryable, "\(code)")
        case .delivered:
            Issue.record("an error is never delivered")
        }
    }

    @Test func defaultsAreAlloys() throws {
        let arguments = try ComponentHarness.decode(
            Exporter.Arguments.self, "otelcol.exporter.otlp \"x\" {\n client {\n endpoint = \"gw:4317\"\n }\n}").arguments
        #expect(arguments.timeout == .seconds(5))
        #expect(arguments.client.endpoint == Exporter.GRPCTarget(host: "gw", port: 4317))
        #expect(arguments.client.compression == .gzip)
        #expect(arguments.client.tls == Exporter.ClientOptions.TLS())  // TLS on, system trust roots
        #expect(arguments.client.balancer == .roundRobin)
        #expect(arguments.retry == OTLPExporterRetryOptions())
        #expect(arguments.queue == OTLPExporterQueueOptions())
        let insecure = try ComponentHarness.decode(Exporter.Arguments.self, Self.config(endpoint: "dns:///gw:4317")).arguments
        #expect(insecure.client.tls == nil)
        #expect(insecure.client.endpoint == Exporter.GRPCTarget(host: "gw", port: 4317))
    }

    @Test(arguments: [
        (#"endpoint = "http://gw:4317""#, "is not a gRPC target"),
        (#"endpoint = "gw:4317"\#ncompression = "zstd""#, #"compression: "zstd" is not supported"#),
        (#"endpoint = "gw:4317"\#ntls {\#n cert_file = "/c.pem"\#n }"#, "cert_file: not supported"),
        (#"endpoint = "gw:4317"\#nread_buffer_size = "1MiB""#, "read_buffer_size: not supported"),
        (#"endpoint = "gw:4317"\#nbalancer_name = "weighted""#, #"balancer_name: "weighted" is not supported"#),
        (#"endpoint = "gw:4317"\#nheaders = {"grpc-timeout" = "1S"}"#, "is set by the gRPC transport itself"),
        (#"endpoint = "gw:4317"\#nauthority = "a"\#ntls {\#n server_name = "b"\#n }"#, "differs from client.authority"),
    ])
    func unsupportedOrBadClientSettingsAreRefused(client: String, message: String) {
        let problem = ComponentHarness.problem(
            Exporter.Arguments.self, "otelcol.exporter.otlp \"x\" {\n client {\n \(client)\n }\n}")
        #expect(problem?.contains(message) == true, "\(problem ?? "accepted")")
    }

    // MARK: TLS

    /// A self-signed certificate for `localhost` and 127.0.0.1, made with openssl in a temporary folder.
    static func certificate() throws -> (cert: String, key: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("estuary-otlp-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let cert = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        return (cert, key)
    }

    /// A TLS gRPC server that takes `LogsService/Export` and records the requests it decodes.
    final class TLSServer: Sendable {
        let server: GRPCServer<HTTP2ServerTransport.Posix>
        let task: Task<Void, any Error>
        let received = CollectingConsumer()

        init(cert: String, key: String) {
            var router = RPCRouter<HTTP2ServerTransport.Posix>()
            let received = self.received
            router.registerHandler(
                forMethod: Opentelemetry_Proto_Collector_Logs_V1_LogsService.Method.Export.descriptor,
                deserializer: OTLPGRPCBytes(), serializer: OTLPGRPCBytes()
            ) { request, _ in
                let single = try await ServerRequest(stream: request)
                let logs = try OTLPProtobuf.decodeLogsRequest(single.message)
                try await received.consume(logs)
                return StreamingServerResponse(single: ServerResponse(message: []))
            }
            server = GRPCServer(
                transport: HTTP2ServerTransport.Posix(
                    address: .ipv4(host: "127.0.0.1", port: 0),
                    transportSecurity: .tls(
                        certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem)),
                    config: .defaults { $0.compression.enabledAlgorithms = [.gzip] }),
                router: router)
            let server = self.server
            task = Task { try await server.serve() }
        }

        func port() async throws -> Int {
            try #require(try await server.transport.listeningAddress.ipv4?.port)
        }

        func stop() async {
            server.beginGracefulShutdown()
            _ = await task.result
        }
    }

    @Test func tlsWithCAFileDeliversAndTheSystemRootsRefuseASelfSignedServer() async throws {
        let (cert, key) = try Self.certificate()
        let server = TLSServer(cert: cert, key: key)
        let port = try await server.port()

        let trusting = try Harness(Self.config(endpoint: "localhost:\(port)", client: "tls {\n ca_file = \"\(cert)\"\n }"))
        try await trusting.component.consume(Self.logs(["over tls"]))
        #expect(await eventually { trusting.metric("otelcol_exporter_sent_log_records_total") == 1 })
        #expect(server.received.calls.count == 1)
        await trusting.stop()

        // Without the CA, the handshake fails; retries end (retry disabled here) with the batch counted as failed.
        let doubting = try Harness(Self.config(
            endpoint: "localhost:\(port)", client: "", retry: "enabled = false"))
        try await doubting.component.consume(Self.logs(["refused"]))
        #expect(await eventually { doubting.metric("otelcol_exporter_send_failed_log_records_total") == 1 })
        #expect(server.received.calls.count == 1)
        await doubting.stop()

        // The same root given inline, and no verification at all, also reach the server.
        let pem = try String(contentsOfFile: cert, encoding: .utf8).replacingOccurrences(of: "\n", with: "\\n")
        for tls in ["ca_pem = \"\(pem)\"", "insecure_skip_verify = true"] {
            let other = try Harness(Self.config(endpoint: "localhost:\(port)", client: "tls {\n \(tls)\n }"))
            try await other.component.consume(Self.logs(["via \(tls.prefix(8))"]))
            #expect(await eventually { other.metric("otelcol_exporter_sent_log_records_total") == 1 }, "\(tls)")
            await other.stop()
        }
        #expect(server.received.bodies == ["over tls", "via ca_pem =", "via insecure"])

        // By address, the certificate is checked against server_name (sent as the authority and SNI).
        let named = try Harness(Self.config(
            endpoint: "127.0.0.1:\(port)", client: "tls {\n ca_file = \"\(cert)\"\n server_name = \"localhost\"\n }"))
        try await named.component.consume(Self.logs(["by address"]))
        #expect(await eventually { named.metric("otelcol_exporter_sent_log_records_total") == 1 })
        #expect(server.received.bodies == ["over tls", "via ca_pem =", "via insecure", "by address"])
        await named.stop()

        let reading = ComponentHarness.problem(
            Exporter.Arguments.self, Self.config(endpoint: "localhost:\(port)", client: "tls {\n ca_file = \"/nonexistent/ca.pem\"\n }"))
        #expect(reading == nil)  // a path is only read when the client is built
        #expect(throws: (any Error).self) {
            _ = try Harness(Self.config(endpoint: "localhost:\(port)", client: "tls {\n ca_file = \"/nonexistent/ca.pem\"\n }"))
        }
        await server.stop()
    }
}
