import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import NIOCore
import NIOPosix
import Prometheus
import Synchronization
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport
import TestSupport

/// `otelcol.receiver.otlp`'s `grpc` block, driven by a real grpc-swift client over loopback: the generated
/// `LogsService` client with SwiftProtobuf's messages (an encoder independent of the receiver's) for the happy
/// paths, raw bytes for hostile ones.
@Suite struct OTelColReceiverOTLPGRPCTests {
    typealias LogsService = Opentelemetry_Proto_Collector_Logs_V1_LogsService
    typealias Request = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest

    static func config(grpc extra: String = "", http: Bool = false) -> String {
        """
        otelcol.receiver.otlp "test" {
          grpc {
            endpoint = "127.0.0.1:0"
            \(extra)
          }
          \(http ? "http {\n    endpoint = \"127.0.0.1:0\"\n  }" : "")
          output {
            logs = [sink]
          }
        }
        """
    }

    /// A running receiver with `grpc` settings `extra`, its registry and its gRPC port.
    struct Running {
        let receiver: OTelColReceiverOTLP
        let task: Task<Void, any Error>
        let registry: PrometheusCollectorRegistry
        let port: Int

        func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    static func start(_ config: String, sink: some OTLPLogsConsumer) async throws -> Running {
        let registry = PrometheusCollectorRegistry()
        let receiver = try ComponentHarness.make(
            OTelColReceiverOTLP.self, config, scope: ComponentHarness.scope(consumers: ["sink": sink]), registry: registry)
        let task = Task { try await receiver.run() }
        #expect(await eventually { receiver.grpcListeningPort != nil })
        return Running(receiver: receiver, task: task, registry: registry, port: try #require(receiver.grpcListeningPort))
    }

    static func withClient<Result: Sendable>(
        port: Int, compression: CompressionAlgorithm = .none,
        _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
    ) async throws -> Result {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
            config: .defaults { config in
                config.compression.algorithm = compression
                config.compression.enabledAlgorithms = .all
            })
        return try await withGRPCClient(transport: transport) { try await body($0) }
    }

    static func request(_ lines: [String], service: String = "checkout") -> Request {
        Request.with { request in
            request.resourceLogs = [.with { resource in
                resource.resource.attributes = [.with { $0.key = "service.name"; $0.value.stringValue = service }]
                resource.scopeLogs = [.with { scope in
                    scope.logRecords = lines.enumerated().map { index, line in
                        .with {
                            $0.timeUnixNano = 1_700_000_000_000_000_000 + UInt64(index)
                            $0.body.stringValue = line
                        }
                    }
                }]
            }]
        }
    }

    /// Sends `payload` as the `Export` message, bytes as they are; the status code the call ends with.
    static func exportRaw(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ payload: [UInt8]) async throws -> RPCError.Code? {
        do {
            _ = try await client.unary(
                request: ClientRequest(message: payload), descriptor: LogsService.Method.Export.descriptor,
                serializer: OTLPGRPCBytes(), deserializer: OTLPGRPCBytes(), options: .defaults
            ) { try $0.message }
            return nil
        } catch let error as RPCError {
            return error.code
        }
    }

    @Test(arguments: [CompressionAlgorithm.none, .gzip, .deflate])
    func exportsReachTheConsumersAndAreCounted(compression: CompressionAlgorithm) async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(), sink: sink)
        let response = try await Self.withClient(port: running.port, compression: compression) { client in
            try await LogsService.Client(wrapping: client).export(Self.request(["first", "second"]))
        }
        #expect(response.hasPartialSuccess == false || response.partialSuccess.rejectedLogRecords == 0)
        #expect(sink.bodies == ["first", "second"])
        #expect(running.registry.sample("otelcol_receiver_accepted_log_records_total", ["transport": "grpc"]) == 2)
        #expect(running.registry.sample("otelcol_receiver_accepted_log_records_total", ["transport": "http"]) == 0)
        await running.stop()
        #expect(running.receiver.grpcListeningPort == nil)
    }

    @Test func backpressureIsUnavailableWithRetryInfo() async throws {
        let sink = CollectingConsumer(refusing: [.backpressure(retryAfter: .seconds(7), reason: "queue full")])
        let running = try await Self.start(Self.config(), sink: sink)
        let error = try await Self.withClient(port: running.port) { client -> RPCError? in
            do {
                _ = try await LogsService.Client(wrapping: client).export(Self.request(["later"]))
                return nil
            } catch let error as RPCError {
                return error
            }
        }
        let refused = try #require(error)
        #expect(refused.code == .unavailable)
        #expect(refused.message.contains("queue full"))
        let status = try #require(try refused.unpackGoogleRPCStatus())
        #expect(status.details.compactMap(\.retryInfo).map(\.delay) == [.seconds(7)])
        #expect(running.registry.sample("otelcol_receiver_refused_log_records_total", ["transport": "grpc"]) == 1)
        // The same data sent again once the pipeline has room goes through.
        _ = try await Self.withClient(port: running.port) { client in
            try await LogsService.Client(wrapping: client).export(Self.request(["later"]))
        }
        #expect(sink.bodies == ["later"])
        await running.stop()
    }

    @Test func dataRefusedForGoodIsInvalidArgument() async throws {
        let sink = CollectingConsumer(refusing: [.rejected("every entry is too old")])
        let running = try await Self.start(Self.config(), sink: sink)
        let code = try await Self.withClient(port: running.port) { client in
            try await Self.exportRaw(client, OTLPProtobuf.encodeLogsRequest(OTLPLogsData(resourceLogs: [
                OTLPResourceLogs(scopeLogs: [OTLPScopeLogs(logRecords: [OTLPLogRecord(timeUnixNano: 1, body: .string("x"))])]),
            ])))
        }
        #expect(code == .invalidArgument)
        await running.stop()
    }

    @Test func messagesOverMaxRecvMsgSizeAreResourceExhausted() async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(grpc: #"max_recv_msg_size = "1KiB""#), sink: sink)
        let big = Self.request([String(repeating: "a", count: 1500)])
        let small = Self.request(["fits"])
        // Over the limit as sent, and (gzip) small on the wire but over the limit once decompressed.
        for compression in [CompressionAlgorithm.none, .gzip] {
            let code = try await Self.withClient(port: running.port, compression: compression) { client in
                try await Self.exportRaw(client, try big.serializedBytes())
            }
            #expect(code == .resourceExhausted, "\(compression)")
        }
        // Far over it (more than twice): the transport resets the stream; the call fails and nothing arrives.
        let huge = try await Self.withClient(port: running.port) { client in
            try await Self.exportRaw(client, try Self.request([String(repeating: "b", count: 10_000)]).serializedBytes())
        }
        #expect(huge != nil)
        let code = try await Self.withClient(port: running.port) { client in
            try await Self.exportRaw(client, try small.serializedBytes())
        }
        #expect(code == nil)
        #expect(sink.bodies == ["fits"])
        await running.stop()
    }

    @Test func messagesHandedOnAreBoundedTogether() async throws {
        let gate = CallGate()
        defer { gate.open() }
        let sink = CollectingConsumer(gate: gate)
        // 1KiB messages: at most 4KiB of them are handed on at once.
        let running = try await Self.start(Self.config(grpc: #"max_recv_msg_size = "1KiB""#), sink: sink)
        let message = try Self.request([String(repeating: "m", count: 850)]).serializedBytes() as [UInt8]
        #expect((900...1024).contains(message.count))
        let held = (0..<4).map { _ in
            Task { try await Self.withClient(port: running.port) { try await Self.exportRaw($0, message) } }
        }
        #expect(await eventually { sink.arrivals == 4 })
        let error = try await Self.withClient(port: running.port) { client -> RPCError? in
            do {
                _ = try await client.unary(
                    request: ClientRequest(message: message), descriptor: LogsService.Method.Export.descriptor,
                    serializer: OTLPGRPCBytes(), deserializer: OTLPGRPCBytes(), options: .defaults
                ) { try $0.message }
                return nil
            } catch let error as RPCError {
                return error
            }
        }
        let refused = try #require(error)
        #expect(refused.code == .unavailable)
        #expect(try refused.unpackGoogleRPCStatus()?.details.compactMap(\.retryInfo).isEmpty == false)
        #expect(running.registry.sample("otelcol_receiver_refused_requests_total", ["transport": "grpc", "reason": "in_flight_limit"]) == 1)
        gate.open()
        for call in held { #expect(try await call.value == nil) }
        #expect(sink.recordCount == 4)
        #expect(running.registry.sample("otelcol_receiver_request_body_bytes_in_flight", ["transport": "grpc"]) == 0)
        await running.stop()
    }

    /// Hostile input: whatever bytes arrive as the message, the answer is INVALID_ARGUMENT exactly when the shared
    /// OTLP decoder refuses them (and success when they happen to be a valid request), and the server keeps serving.
    @Test func randomPayloadsAreInvalidArgumentAndNeverCrash() async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(), sink: sink)
        let seed = FuzzBudget.seed(0x6772_7063)
        var generator = SplitMix64(seed: seed)
        let valid = try Self.request(["a line", "another"]).serializedBytes() as [UInt8]
        var invalid = 0
        try await Self.withClient(port: running.port) { client in
            for round in 0..<FuzzBudget.scaled(400) {
                var payload: [UInt8]
                switch round % 3 {
                case 0:  // bytes from nowhere
                    payload = (0..<Int.random(in: 1...256, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 1:  // a valid request cut short
                    payload = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &generator)))
                default:  // a valid request with bytes flipped
                    payload = valid
                    for _ in 0..<Int.random(in: 1...4, using: &generator) {
                        payload[Int.random(in: 0..<payload.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                    }
                }
                let decodes: Bool
                do throws(OTLPDecodeError) {
                    _ = try OTLPProtobuf.decodeLogsRequest(payload)
                    decodes = true
                } catch {
                    decodes = false
                }
                let code = try await Self.exportRaw(client, payload)
                #expect(code == (decodes ? nil : .invalidArgument), "seed \(seed) round \(round): \(payload)")
                if !decodes { invalid += 1 }
            }
            // Still serving after all that.
            _ = try await LogsService.Client(wrapping: client).export(Self.request(["after the storm"]))
        }
        #expect(invalid > 100)
        #expect(sink.bodies.last == "after the storm")
        await running.stop()
    }

    @Test func includeMetadataHandsTheRequestMetadataOn() async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(grpc: "include_metadata = true"), sink: sink)
        _ = try await Self.withClient(port: running.port) { client in
            try await LogsService.Client(wrapping: client).export(Self.request(["tagged"]), metadata: ["x-tenant": "acme"])
        }
        #expect(sink.calls.first?.metadata["X-Tenant"] == ["acme"])
        #expect(sink.calls.first?.metadata.address == "127.0.0.1", "the peer's address, for k8sattributes")
        await running.stop()
    }

    @Test func httpAndGRPCServeSideBySideWithTheirOwnTransportLabel() async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(http: true), sink: sink)
        #expect(await eventually { running.receiver.listeningPort != nil })
        let httpPort = try #require(running.receiver.listeningPort)
        #expect(try await OTelColReceiverOTLPTests.send(httpPort, "over http") == 200)
        _ = try await Self.withClient(port: running.port) { client in
            try await LogsService.Client(wrapping: client).export(Self.request(["over grpc", "and again"]))
        }
        #expect(Set(sink.bodies) == ["over http", "over grpc", "and again"])
        #expect(running.registry.sample("otelcol_receiver_accepted_log_records_total", ["transport": "http"]) == 1)
        #expect(running.registry.sample("otelcol_receiver_accepted_log_records_total", ["transport": "grpc"]) == 2)
        await running.stop()
    }

    @Test func aChangedGRPCSettingRebinds() async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(), sink: sink)
        let old = running.port
        let changed = try ComponentHarness.decode(
            OTelColReceiverOTLP.Arguments.self, Self.config(grpc: #"max_recv_msg_size = "2MiB""#),
            scope: ComponentHarness.scope(consumers: ["sink": sink])).arguments
        try running.receiver.update(changed)
        #expect(await eventually { running.receiver.grpcListeningPort != nil && running.receiver.grpcListeningPort != old })
        let port = try #require(running.receiver.grpcListeningPort)
        _ = try await Self.withClient(port: port) { client in
            try await LogsService.Client(wrapping: client).export(Self.request(["rebound"]))
        }
        #expect(sink.bodies == ["rebound"])
        await running.stop()
    }

    /// `keepalive.server_parameters`: `max_connection_idle` closes a connection with no RPC, `max_connection_age`
    /// any connection, `time` + `timeout` one whose client does not answer the server's ping; each by sending
    /// GOAWAY (seen here by a bare HTTP/2 client that only says hello and never answers a ping).
    @Test(arguments: [
        #"max_connection_idle = "200ms""#, #"max_connection_age = "200ms""#, "time = \"100ms\"\n timeout = \"100ms\"",
    ])
    func serverParametersCloseConnections(setting: String) async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(
            Self.config(grpc: "keepalive {\n server_parameters {\n \(setting)\n }\n }"), sink: sink)
        let frames = HTTP2FrameRecorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.pipeline.addHandler(frames) }
            .connect(host: "127.0.0.1", port: running.port).get()
        // The HTTP/2 client preface and an empty SETTINGS frame.
        var hello = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        hello.writeBytes([0, 0, 0, 0x04, 0, 0, 0, 0, 0])
        try await channel.writeAndFlush(hello).get()
        #expect(await eventually(within: .seconds(30)) { frames.types.contains(HTTP2FrameRecorder.goAway) }, "\(frames.types)")
        if setting.hasPrefix("time") {
            // The server pinged first (a PING it sent, not an answer).
            #expect(frames.types.contains(HTTP2FrameRecorder.ping))
            #expect(frames.pingAcks == 0)
        }
        try? await channel.close().get()
        await running.stop()
    }

    /// `max_concurrent_streams` is announced in the server's SETTINGS (SETTINGS_MAX_CONCURRENT_STREAMS, id 3).
    @Test func maxConcurrentStreamsIsAnnounced() async throws {
        let running = try await Self.start(Self.config(grpc: "max_concurrent_streams = 7"), sink: CollectingConsumer())
        let frames = HTTP2FrameRecorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.pipeline.addHandler(frames) }
            .connect(host: "127.0.0.1", port: running.port).get()
        var hello = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        hello.writeBytes([0, 0, 0, 0x04, 0, 0, 0, 0, 0])
        try await channel.writeAndFlush(hello).get()
        #expect(await eventually { frames.settings[3] != nil }, "\(frames.types) \(frames.settings)")
        #expect(frames.settings[3] == 7)
        try? await channel.close().get()
        await running.stop()
    }

    /// `keepalive.enforcement_policy`: by default a client pinging with no RPC open is cut off (GOAWAY after a few
    /// strikes, as grpc-go's ENHANCE_YOUR_CALM); `permit_without_stream` with a short `min_time` lets it ping.
    @Test(arguments: [
        ("", true),
        ("enforcement_policy {\n min_time = \"1ns\"\n permit_without_stream = true\n }", false),
    ])
    func enforcementPolicyDecidesWhetherIdlePingsAreTolerated(policy: String, cutOff: Bool) async throws {
        let sink = CollectingConsumer()
        let running = try await Self.start(Self.config(grpc: "keepalive {\n \(policy)\n }"), sink: sink)
        let frames = HTTP2FrameRecorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.pipeline.addHandler(frames) }
            .connect(host: "127.0.0.1", port: running.port).get()
        var hello = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        hello.writeBytes([0, 0, 0, 0x04, 0, 0, 0, 0, 0])
        try await channel.writeAndFlush(hello).get()
        for number in 1...5 {
            // Each ping after the answer to the previous one (or the GOAWAY that ends it all).
            var ping = ByteBuffer(bytes: [0, 0, 8, HTTP2FrameRecorder.ping, 0, 0, 0, 0, 0])
            ping.writeInteger(UInt64(number))
            try? await channel.writeAndFlush(ping).get()
            #expect(await eventually(within: .seconds(30)) {
                frames.pingAcks >= number || frames.types.contains(HTTP2FrameRecorder.goAway)
            })
            if frames.types.contains(HTTP2FrameRecorder.goAway) { break }
        }
        #expect(frames.types.contains(HTTP2FrameRecorder.goAway) == cutOff, "\(frames.types)")
        if !cutOff { #expect(frames.pingAcks == 5) }
        try? await channel.close().get()
        await running.stop()
    }

    @Test(arguments: [
        ("tls {\n}", "grpc.tls is not supported"),
        (#"read_buffer_size = "512KiB""#, "grpc.read_buffer_size is not supported"),
        (#"transport = "unix""#, #"only "tcp" is supported"#),
        (#"max_concurrent_streams = -1"#, "grpc.max_concurrent_streams must be 0"),
        (#"endpoint = "nowhere""#, "is not host:port"),
        ("keepalive {\n server_parameters {\n time = \"0s\"\n }\n }", "grpc.keepalive.server_parameters.time must be positive"),
        ("frobnicate = 1", #"unrecognized attribute name "frobnicate""#),
    ])
    func unsupportedOrBadGRPCSettingsAreRefused(extra: String, message: String) {
        let config = "otelcol.receiver.otlp \"x\" {\n  grpc {\n    \(extra)\n  }\n  output {\n    logs = [sink]\n  }\n}"
        let problem = ComponentHarness.problem(
            OTelColReceiverOTLP.Arguments.self, config, scope: ComponentHarness.scope(consumers: ["sink": CollectingConsumer()]))
        #expect(problem?.contains(message) == true, "\(problem ?? "accepted")")
    }

    @Test func aReceiverWithoutAnyProtocolIsRefused() {
        let problem = ComponentHarness.problem(
            OTelColReceiverOTLP.Arguments.self, "otelcol.receiver.otlp \"x\" {\n  output {\n    logs = [sink]\n  }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": CollectingConsumer()]))
        #expect(problem?.contains("an http or grpc block (or both) is required") == true, "\(problem ?? "accepted")")
    }

    @Test func theDefaultsAreTheCollectors() throws {
        let arguments = try ComponentHarness.decode(
            OTelColReceiverOTLP.Arguments.self, "otelcol.receiver.otlp \"x\" {\n  grpc {}\n  output {\n    logs = [sink]\n  }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": CollectingConsumer()])).arguments
        let grpc = try #require(arguments.grpc)
        #expect(grpc.endpoint == "0.0.0.0:4317")
        #expect(grpc.maxRecvMsgSize == 4 << 20)
        #expect(grpc.transportConfig.rpc.maxRequestPayloadSize == 8 << 20)
        #expect(grpc.transportConfig.http2.maxConcurrentStreams == nil)
        #expect(arguments.http == nil)
    }
}

/// The types of the HTTP/2 frames a raw connection receives.
final class HTTP2FrameRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    static let goAway: UInt8 = 0x7

    static let ping: UInt8 = 0x6

    private let state = Mutex<(buffer: ByteBuffer, types: [UInt8], pingAcks: Int, settings: [UInt16: UInt32])>(
        (ByteBuffer(), [], 0, [:]))

    /// The values of the SETTINGS frames received, by identifier.
    var settings: [UInt16: UInt32] { state.withLock { $0.settings } }

    var types: [UInt8] { state.withLock { $0.types } }
    /// PING frames with the ACK flag: answers to the client's pings.
    var pingAcks: Int { state.withLock { $0.pingAcks } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        state.withLock { state in
            state.buffer.writeBuffer(&incoming)
            // A frame: 24-bit length, type, flags, 32-bit stream id, payload.
            while state.buffer.readableBytes >= 9,
                  let header = state.buffer.getBytes(at: state.buffer.readerIndex, length: 9) {
                let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                guard state.buffer.readableBytes >= 9 + length,
                      let payload = state.buffer.getBytes(at: state.buffer.readerIndex + 9, length: length)
                else { break }
                state.buffer.moveReaderIndex(forwardBy: 9 + length)
                state.types.append(header[3])
                if header[3] == Self.ping && header[4] & 0x1 != 0 { state.pingAcks += 1 }
                if header[3] == 0x4, header[4] & 0x1 == 0 {
                    // Six bytes a setting: a 16-bit identifier and a 32-bit value.
                    for offset in stride(from: 0, to: payload.count - 5, by: 6) {
                        let id = UInt16(payload[offset]) << 8 | UInt16(payload[offset + 1])
                        let value = payload[(offset + 2)..<(offset + 6)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                        state.settings[id] = value
                    }
                }
            }
        }
    }
}
