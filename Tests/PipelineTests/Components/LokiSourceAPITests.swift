@testable import AlloyLanguage
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Prometheus
import Synchronization
import Testing
import PipelineTestSupport
import TestSupport
import Wire
@testable import Pipeline

/// `loki.source.api` over real HTTP on 127.0.0.1: pushes in every format Loki takes, raw lines, labels, tenants,
/// timestamps, refusals (400, 413, 503 + Retry-After), reloads that keep or move the listener, and config errors.
@Suite struct LokiSourceAPITests {
    // MARK: Helpers

    /// Decodes one `loki.source.api` block with `out` (a receiver) in scope, as the graph would.
    static func decode(_ config: String, out: any LogsReceiver = CollectingReceiver()) throws -> LokiSourceAPI.Arguments {
        try ComponentHarness.decode(LokiSourceAPI.Arguments.self, config, scope: scope(out)).arguments
    }

    static func problem(_ config: String) -> String? {
        ComponentHarness.problem(LokiSourceAPI.Arguments.self, config, scope: scope(CollectingReceiver()))
    }

    private static func scope(_ out: any LogsReceiver) -> Scope {
        ComponentHarness.scope(receivers: ["out": out])
    }

    /// A `loki.source.api` block listening on a free loopback port, forwarding to `out`.
    static func config(_ body: String = "", http: String = "") -> String {
        """
        loki.source.api "test" {
          http {
            listen_address = "127.0.0.1"
            listen_port    = 0
            \(http)
          }
          forward_to = [out]
          \(body)
        }
        """
    }

    /// The component running on a loopback port.
    final class Harness: Sendable {
        let api: LokiSourceAPI
        let receiver: CollectingReceiver
        let registry = PrometheusCollectorRegistry()
        private let task = Mutex<Task<Void, any Error>?>(nil)

        /// `out`, when given, is the `forward_to` receiver instead of `receiver`.
        init(_ config: String, receiver: CollectingReceiver = CollectingReceiver(), out: (any LogsReceiver)? = nil) async throws {
            self.receiver = receiver
            let context = ComponentHarness.context(id: "loki.source.api.test", registry: registry)
            api = try LokiSourceAPI(context: context, arguments: try LokiSourceAPITests.decode(config, out: out ?? receiver))
            let api = self.api
            task.withLock { $0 = Task { try await api.run() } }
            _ = try await port()
        }

        /// The bound port, waiting (bounded) for the listener.
        func port() async throws -> Int {
            let api = self.api
            #expect(await eventually { api.boundPort != nil })
            guard let port = api.boundPort else { throw ComponentHarness.Problem("the listener did not start") }
            return port
        }

        func update(_ config: String) throws {
            try api.update(LokiSourceAPITests.decode(config, out: receiver))
        }

        /// Cancels `run()` and returns what it ended with.
        func stop() async -> Result<Void, any Error> {
            guard let running = task.withLock({ $0 }) else { return .success(()) }
            running.cancel()
            return await running.result
        }

        func url(_ path: String) async throws -> String {
            "http://127.0.0.1:\(try await port())\(path)"
        }

        func metric(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            registry.sample(name, labels.merging(["component_id": "loki.source.api.test"]) { $1 })
        }
    }

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let text: String
    }

    static func send(
        _ url: String, method: HTTPMethod = .POST, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 1 << 20)
        return Reply(
            status: Int(response.status.code), headers: response.headers,
            text: String(decoding: collected.readableBytesView, as: UTF8.self))
    }

    static func pushRequest(_ streams: [(labels: String, lines: [String])], metadata: [LabelPair] = []) -> PushRequest {
        PushRequest(streams: streams.map { stream in
            PushStream(labels: stream.labels, entries: stream.lines.enumerated().map { index, line in
                PushEntry(
                    timestamp: 1_700_000_000_000_000_000 + Int64(index), line: Array(line.utf8)[...],
                    structuredMetadata: metadata)
            })
        })
    }

    static let protobuf = [("Content-Type", "application/x-protobuf")]

    static func protobufBody(_ request: PushRequest) -> [UInt8] {
        Snappy.compress(PushProtobufEncoder.encode(request))
    }

    // MARK: Push

    @Test func protobufPushIsForwardedWithReceiveTimeLabelsAndMetadata() async throws {
        let harness = try await Harness(Self.config())
        let request = Self.pushRequest(
            [(#"{job="api", env="prod"}"#, ["one", "two", "two"])], metadata: [LabelPair(name: "trace_id", value: "abc")])
        let before = LokiTranslator.wallClock()
        let reply = try await Self.send(try await harness.url("/loki/api/v1/push"), headers: Self.protobuf, body: Self.protobufBody(request))
        let after = LokiTranslator.wallClock()
        #expect(reply.status == 204)
        let entries = harness.receiver.entries
        #expect(harness.receiver.batches.count == 1)
        #expect(harness.receiver.lines == ["one", "two", "two"])
        #expect(entries.allSatisfy { $0.labels.description == #"{env="prod", job="api"}"# })
        #expect(entries.allSatisfy { $0.structuredMetadata == [LabelPair(name: "trace_id", value: "abc")] })
        // Receive time, strictly increasing so that the two identical lines stay two entries downstream.
        #expect(entries.allSatisfy { $0.timestamp >= before && $0.timestamp <= after + 10 })
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp })
        #expect(harness.metric("loki_source_api_entries_written") == 3)
        #expect(harness.metric("loki_source_api_request_duration_seconds_count", ["route": "loki_api_v1_push", "status_code": "204"]) == 1)
        _ = await harness.stop()
    }

    @Test func jsonPushGzippedKeepsIncomingTimestamps() async throws {
        let harness = try await Harness(Self.config("use_incoming_timestamp = true"))
        let request = Self.pushRequest([(#"{job="json"}"#, ["a", "b"])], metadata: [LabelPair(name: "user", value: "u1")])
        let reply = try await Self.send(
            try await harness.url("/loki/api/v1/push"),
            headers: [("Content-Type", "application/json; charset=utf-8"), ("Content-Encoding", "gzip")],
            body: Gzip.compress(PushJSONEncoder.encode(request)))
        #expect(reply.status == 204)
        #expect(harness.receiver.lines == ["a", "b"])
        #expect(harness.receiver.entries.map(\.timestamp) == [1_700_000_000_000_000_000, 1_700_000_000_000_000_001])
        #expect(harness.receiver.entries.allSatisfy { $0.structuredMetadata == [LabelPair(name: "user", value: "u1")] })
        _ = await harness.stop()
    }

    @Test func fixedLabelsReplacePushedOnesInternalLabelsGoAndTheTenantStays() async throws {
        let harness = try await Harness(Self.config(#"labels = { forwarded = "true", job = "gateway", env = "" }"#))
        let request = Self.pushRequest([(#"{job="api", env="prod", __path__="/x", pod="p1"}"#, ["line"])])
        let reply = try await Self.send(
            try await harness.url("/api/v1/push"), headers: Self.protobuf + [("X-Scope-OrgID", "team-a")],
            body: Self.protobufBody(request))
        #expect(reply.status == 204)
        #expect(harness.receiver.entries.map(\.labels.description)
            == [#"{__tenant_id__="team-a", forwarded="true", job="gateway", pod="p1"}"#])
        // Without the header no tenant label is added: loki.write then uses its own tenant_id.
        _ = try await Self.send(try await harness.url("/api/v1/push"), headers: Self.protobuf, body: Self.protobufBody(request))
        #expect(harness.receiver.entries.last?.labels.description == #"{forwarded="true", job="gateway", pod="p1"}"#)
        _ = await harness.stop()
    }

    @Test func rawLinesBecomeEntriesWithTheFixedLabels() async throws {
        let harness = try await Harness(Self.config(#"labels = { source = "raw" }"# + "\nuse_incoming_timestamp = true"))
        let before = LokiTranslator.wallClock()
        var reply = try await Self.send(
            try await harness.url("/loki/api/v1/raw"), headers: [("X-Scope-OrgID", "ignored")],
            body: Array("{\"msg\":\"one\"}\r\ntwo\n\n\r\nthree".utf8))
        #expect(reply.status == 204)
        reply = try await Self.send(try await harness.url("/api/v1/raw"), body: Array("four\n".utf8))
        #expect(reply.status == 204)
        #expect(harness.receiver.lines == [#"{"msg":"one"}"#, "two", "three", "four"])
        #expect(harness.receiver.entries.allSatisfy { $0.labels.description == #"{source="raw"}"# })
        #expect(harness.receiver.entries.allSatisfy { $0.timestamp >= before })
        #expect(harness.metric("loki_source_api_entries_written") == 4)
        _ = await harness.stop()
    }

    @Test func anotherAgentsLokiWritePushesThrough() async throws {
        let harness = try await Harness(Self.config(#"labels = { via = "gateway" }"# + "\nuse_incoming_timestamp = true"))
        let writer = try LokiWriteHarness("""
            loki.write "edge" {
              endpoint {
                url        = "\(try await harness.url("/loki/api/v1/push"))"
                tenant_id  = "team-b"
                batch_wait = "10ms"
              }
            }
            """)
        writer.start()
        try await writer.receiver.receive(logBatch(["first", "second"], labels: ["job": "edge"]))
        #expect(await eventually { harness.receiver.entries.count == 2 })
        #expect(harness.receiver.lines == ["first", "second"])
        #expect(harness.receiver.entries.map(\.timestamp) == [1_000_000_000, 2_000_000_000])
        #expect(harness.receiver.entries.allSatisfy {
            $0.labels.description == #"{__tenant_id__="team-b", job="edge", via="gateway"}"#
        })
        await writer.stop()
        _ = await harness.stop()
    }

    @Test func readyAnswers200() async throws {
        let harness = try await Harness(Self.config())
        let reply = try await Self.send(try await harness.url("/ready"), method: .GET)
        #expect(reply.status == 200)
        #expect(reply.text == "ready\n")
        #expect(try await Self.send(try await harness.url("/loki/api/v1/push"), method: .GET).status == 404)
        _ = await harness.stop()
    }

    // MARK: Refusals

    @Test func malformedBodiesGet400WithAReasonAndNothingIsForwarded() async throws {
        let harness = try await Harness(Self.config())
        let url = try await harness.url("/loki/api/v1/push")
        var reply = try await Self.send(url, headers: Self.protobuf, body: Array("not snappy at all".utf8))
        #expect(reply.status == 400)
        #expect(reply.text.contains("snappy"))
        reply = try await Self.send(url, headers: [("Content-Type", "application/json")], body: Array(#"{"streams": [{"#.utf8))
        #expect(reply.status == 400)
        #expect(reply.text.contains("json"))
        reply = try await Self.send(url, headers: Self.protobuf + [("Content-Encoding", "br")], body: [1, 2, 3])
        #expect(reply.status == 400)
        #expect(reply.text.contains(#"Content-Encoding "br" not supported"#))
        #expect(harness.receiver.entries.isEmpty)
        #expect(harness.metric("loki_source_api_request_duration_seconds_count", ["status_code": "400"]) == 3)
        _ = await harness.stop()
    }

    @Test func aStreamWithBadLabelsIsRefusedWhileTheOthersLand() async throws {
        let harness = try await Harness(Self.config())
        let request = Self.pushRequest([(#"{job="good"}"#, ["kept"]), (#"{job="bad""#, ["lost"])])
        let reply = try await Self.send(try await harness.url("/loki/api/v1/push"), headers: Self.protobuf, body: Self.protobufBody(request))
        #expect(reply.status == 400)
        #expect(reply.text.contains("1 of 2 streams have invalid labels"))
        #expect(reply.text.contains(#"{job=\"bad\""#))
        #expect(harness.receiver.lines == ["kept"])
        _ = await harness.stop()
    }

    @Test func bodiesPastMaxSendMessageSizeGet413() async throws {
        let harness = try await Harness(Self.config(#"max_send_message_size = "1KiB""#))
        let big = Self.pushRequest([(#"{job="big"}"#, [String(repeating: "x", count: 4096)])])
        // Snappy compresses the repeated line well below 1KiB; decompressed it is larger.
        var reply = try await Self.send(try await harness.url("/loki/api/v1/push"), headers: Self.protobuf, body: Self.protobufBody(big))
        #expect(reply.status == 413)
        #expect(reply.text.contains("1024"))
        let random = { var rng = SeededRandom(seed: 7); return rng.bytes(2048) }()
        reply = try await Self.send(try await harness.url("/loki/api/v1/push"), headers: Self.protobuf, body: random)
        #expect(reply.status == 413)
        #expect(reply.text.contains("max_send_message_size (1024 bytes)"))
        reply = try await Self.send(try await harness.url("/loki/api/v1/raw"), body: random)
        #expect(reply.status == 413)
        #expect(harness.receiver.entries.isEmpty)
        _ = await harness.stop()
    }

    @Test func backpressureAnswers503WithRetryAfterAndTheRetryLandsOnce() async throws {
        let receiver = CollectingReceiver(refusing: [
            .backpressure(retryAfter: .milliseconds(1500), reason: "queue full"),
            .backpressure(retryAfter: nil, reason: "still full"),
        ])
        let harness = try await Harness(Self.config(), receiver: receiver)
        let url = try await harness.url("/loki/api/v1/push")
        let body = Self.protobufBody(Self.pushRequest([(#"{job="retry"}"#, ["a", "b", "c"])]))
        var reply = try await Self.send(url, headers: Self.protobuf, body: body)
        #expect(reply.status == 503)
        #expect(reply.headers.first(name: "Retry-After") == "2")
        #expect(reply.text.contains("queue full"))
        reply = try await Self.send(url, headers: Self.protobuf, body: body)
        #expect(reply.status == 503)
        #expect(reply.headers.first(name: "Retry-After") == "1")
        reply = try await Self.send(url, headers: Self.protobuf, body: body)
        #expect(reply.status == 204)
        #expect(receiver.lines == ["a", "b", "c"])
        #expect(harness.metric("loki_source_api_entries_written") == 3)
        #expect(harness.metric("loki_source_api_request_duration_seconds_count", ["status_code": "503"]) == 2)
        _ = await harness.stop()
    }

    @Test func rejectionsFromThePipelineAre400() async throws {
        let harness = try await Harness(Self.config(), receiver: CollectingReceiver(refusing: [.rejected("every entry too old")]))
        let body = Self.protobufBody(Self.pushRequest([(#"{job="old"}"#, ["a"])]))
        let reply = try await Self.send(try await harness.url("/loki/api/v1/push"), headers: Self.protobuf, body: body)
        #expect(reply.status == 400)
        #expect(reply.text.contains("every entry too old"))
        #expect(reply.headers.first(name: "Retry-After") == nil)
        _ = await harness.stop()
    }

    // MARK: Lifecycle

    @Test func reloadWithTheSameHTTPBlockKeepsTheListener() async throws {
        let harness = try await Harness(Self.config())
        let port = try await harness.port()
        try harness.update(Self.config(#"labels = { reloaded = "yes" }"#))
        #expect(try await harness.port() == port)
        #expect(harness.api.bindCount == 1)
        let body = Self.protobufBody(Self.pushRequest([(#"{job="a"}"#, ["after reload"])]))
        let reply = try await Self.send("http://127.0.0.1:\(port)/loki/api/v1/push", headers: Self.protobuf, body: body)
        #expect(reply.status == 204)
        #expect(harness.receiver.entries.map(\.labels.description) == [#"{job="a", reloaded="yes"}"#])
        _ = await harness.stop()
    }

    @Test func reloadWithAChangedHTTPBlockRebinds() async throws {
        let harness = try await Harness(Self.config(http: #"server_idle_timeout = "5s""#))
        let old = try await harness.port()
        try harness.update(Self.config(#"graceful_shutdown_timeout = "1s""#, http: #"server_idle_timeout = "6s""#))
        let api = harness.api
        #expect(await eventually { api.bindCount == 2 && api.boundPort != nil })
        let new = try await harness.port()
        let reply = try await Self.send("http://127.0.0.1:\(new)/ready", method: .GET)
        #expect(reply.status == 200)
        if new != old {
            await #expect(throws: (any Error).self) {
                // The client retries a refused connection until its deadline: keep that short.
                try await Self.send("http://127.0.0.1:\(old)/ready", method: .GET, timeout: .milliseconds(300))
            }
        }
        _ = await harness.stop()
    }

    @Test func stoppingClosesTheListener() async throws {
        let harness = try await Harness(Self.config(#"graceful_shutdown_timeout = "5m""#))
        let url = try await harness.url("/ready")
        #expect(try await Self.send(url, method: .GET).status == 200)
        let started = ContinuousClock.now
        let result = await harness.stop()
        #expect(throws: Never.self) { try result.get() }
        #expect(ContinuousClock.now - started < .seconds(120), "stopping with nothing in flight waited out the grace period")
        await #expect(throws: (any Error).self) { try await Self.send(url, method: .GET, timeout: .milliseconds(300)) }
    }

    @Test func connectionsAndRequestSizesAreMeasured() async throws {
        let harness = try await Harness(Self.config(http: "conn_limit = 5"))
        let body = Array("one\ntwo\n".utf8)
        #expect(try await Self.send(try await harness.url("/loki/api/v1/raw"), body: body).status == 204)
        #expect(harness.metric("loki_source_api_tcp_connections_limit") == 5)
        // The client keeps its connection open for the next request.
        #expect(await eventually { harness.metric("loki_source_api_tcp_connections") == 1 })
        #expect(harness.metric("loki_source_api_request_message_bytes_sum", ["route": "loki_api_v1_raw"]) == Double(body.count))
        #expect(harness.metric("loki_source_api_request_message_bytes_count", ["route": "loki_api_v1_raw"]) == 1)
        #expect(harness.metric("loki_source_api_inflight_requests", ["route": "loki_api_v1_raw"]) == 0)
        _ = await harness.stop()
        #expect(await eventually { harness.metric("loki_source_api_tcp_connections") == 0 })
    }

    @Test func stoppingLetsARequestInFlightFinish() async throws {
        let gate = CallGate()
        let receiver = CollectingReceiver(gate: gate)
        let harness = try await Harness(Self.config(#"graceful_shutdown_timeout = "20s""#), receiver: receiver)
        let url = try await harness.url("/loki/api/v1/push")
        let body = Self.protobufBody(Self.pushRequest([(#"{job="slow"}"#, ["in flight"])]))
        let push = Task { try await Self.send(url, headers: Self.protobuf, body: body) }
        #expect(await eventually { receiver.arrivals == 1 })
        let stopping = Task { await harness.stop() }
        #expect(await refusesConnections(try await harness.url("/ready")))
        gate.pass()
        let reply = try await push.value
        #expect(reply.status == 204)
        #expect(receiver.lines == ["in flight"])
        let stopped = await stopping.value
        #expect(throws: Never.self) { try stopped.get() }
    }

    @Test func stoppingCutsRequestsThatOutliveTheGracePeriod() async throws {
        let gate = CallGate()
        let receiver = CollectingReceiver(gate: gate)
        let harness = try await Harness(Self.config(#"graceful_shutdown_timeout = "300ms""#), receiver: receiver)
        let url = try await harness.url("/loki/api/v1/push")
        let body = Self.protobufBody(Self.pushRequest([(#"{job="stuck"}"#, ["never acknowledged"])]))
        let push = Task { try await Self.send(url, headers: Self.protobuf, body: body) }
        #expect(await eventually { receiver.arrivals == 1 })
        let started = ContinuousClock.now
        _ = await harness.stop()
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(300) && took < .seconds(120))  // the request never ends by itself
        // The client never gets a success for what was not accepted.
        let reply = try? await push.value
        #expect(reply?.status != 204)
        #expect(receiver.lines.isEmpty)
        gate.open()
    }

    @Test func aPortInUseMakesRunFail() async throws {
        let first = try await Harness(Self.config())
        let port = try await first.port()
        let context = ComponentHarness.context(id: "loki.source.api.second")
        var arguments = try Self.decode(Self.config())
        arguments.http.listenPort = port
        let second = try LokiSourceAPI(context: context, arguments: arguments)
        let error = await #expect(throws: HTTPListenerLoop.ListenerError.self) { try await second.run() }
        #expect(error?.message.contains("listening on 127.0.0.1:\(port) failed") == true)
        _ = await first.stop()
    }

    // MARK: Arguments

    @Test func defaultsAreAlloys() throws {
        let arguments = try Self.decode(#"loki.source.api "x" { forward_to = [out] }"#)
        #expect(arguments.http.listenAddress == "")
        #expect(arguments.http.bindHost == "0.0.0.0")
        #expect(arguments.http.listenPort == 8080)
        #expect(arguments.http.connLimit == 0)
        #expect(arguments.http.serverIdleTimeout == .seconds(120))
        #expect(arguments.gracefulShutdownTimeout == .seconds(30))
        #expect(arguments.maxSendMessageSize == 100 << 20)
        #expect(arguments.useIncomingTimestamp == false)
        #expect(arguments.labels.isEmpty)
        #expect(arguments.forwardTo.items.count == 1)
        let full = try Self.decode(Self.config(
            #"labels = { b = "2", a = "1" }"# + "\nmax_send_message_size = \"2MiB\"\ngraceful_shutdown_timeout = \"5s\"",
            http: "conn_limit = 10\nserver_read_timeout = \"1s\"\nserver_write_timeout = \"2s\""))
        #expect(full.labels == [LabelPair(name: "a", value: "1"), LabelPair(name: "b", value: "2")])
        #expect(full.maxSendMessageSize == 2 << 20)
        #expect(full.gracefulShutdownTimeout == .seconds(5))
        #expect(full.http.connLimit == 10)
        #expect(full.http.serverReadTimeout == .seconds(1))
    }

    @Test(arguments: [
        (#"loki.source.api "x" { }"#, #"missing required attribute "forward_to" in loki.source.api.x"#),
        ("loki.source.api \"x\" {\n forward_to = [out]\n grpc { listen_port = 9095 }\n}", "the grpc block is not supported yet"),
        ("loki.source.api \"x\" {\n forward_to = [out]\n http {\n tls { cert_file = \"c\" }\n }\n}", "the http > tls block is not supported yet"),
        ("loki.source.api \"x\" {\n forward_to = [out]\n http {\n tls_config { cert_file = \"c\" }\n }\n}", "the http > tls_config block is not supported yet"),
        ("loki.source.api \"x\" {\n forward_to = [out]\n relabel_rules = []\n}", "relabel_rules: not supported yet"),
        ("loki.source.api \"x\" {\n forward_to = [out]\n labels = { \"bad-name\" = \"v\" }\n}", #"labels: invalid label name "bad-name""#),
        ("loki.source.api \"x\" {\n forward_to = [out]\n http { listen_port = 70000 }\n}", "http.listen_port must be between 0 and 65535, got 70000"),
        ("loki.source.api \"x\" {\n forward_to = [out]\n max_send_message_size = \"lots\"\n}", #"max_send_message_size: invalid size "lots""#),
        ("loki.source.api \"x\" {\n forward_to = [out]\n graceful_shutdown_timeout = \"0s\"\n}", "graceful_shutdown_timeout must be greater than zero, got 0s"),
        ("loki.source.api \"x\" {\n forward_to = [out]\n http { listen_addres = \"a\" }\n}", #"unrecognized attribute name "listen_addres""#),
        ("loki.source.api \"x\" {\n forward_to = [\"loki\"]\n}", "forward_to[0]: expected loki.LogsReceiver, got string"),
    ])
    func refusesBadConfigs(config: String, expected: String) {
        let problem = Self.problem(config)
        #expect(problem?.contains(expected) == true, "\(problem ?? "accepted")")
    }

    @Test func isRegisteredUnderAlloysName() {
        #expect(LokiSourceAPI.name == "loki.source.api")
        #expect(ComponentRegistry.standard.names.contains("loki.source.api"))
    }
}

/// The request-to-entries conversions on their own, over random and mutated input.
@Suite struct LokiSourceAPIConversionTests {
    typealias API = LokiSourceAPI

    @Test func rawSplittingMatchesPromtail() {
        var rng = SeededRandom(seed: 42)
        let alphabet: [UInt8] = Array("ab \r\n\t{}".utf8) + [0, 0xFF]
        for _ in 0..<2000 {
            let body = (0..<rng.int(0...40)).map { _ in alphabet[rng.int(0...(alphabet.count - 1))] }
            let batch = API.rawEntries(body[...], options: .init(), now: { 1000 })
            // Go: ReadString('\n'), TrimRight("\r\n"), skip empty lines.
            var expected: [[UInt8]] = []
            for piece in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                var line = Array(piece)
                while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: "\n") { line.removeLast() }
                if !line.isEmpty { expected.append(line) }
            }
            #expect(batch.entries.map(\.line) == expected)
            #expect(batch.entries.map(\.timestamp) == batch.entries.indices.map { 1000 + Int64($0) })
        }
    }

    @Test func randomLabelTextsNeverCrashAndGoodStreamsAlwaysLand() {
        var rng = SeededRandom(seed: 9)
        let pieces = ["{", "}", "job", "=", "\"", "a", ",", "__x", " ", "\\", "é", "'", "`", "!="]
        let options = API.EntryOptions(fixedLabels: [LabelPair(name: "fixed", value: "1")], tenantID: "t")
        let started = ContinuousClock.now
        for _ in 0..<3000 {
            let text = (0..<rng.int(0...12)).map { _ in pieces[rng.int(0...(pieces.count - 1))] }.joined()
            let request = PushRequest(streams: [
                PushStream(labels: text, entries: [PushEntry(timestamp: 5, line: [1, 2][...])]),
                PushStream(labels: #"{job="ok"}"#, entries: [PushEntry(timestamp: 6, line: [3][...])]),
            ])
            let conversion = API.convert(request, options: options, now: { 77 })
            #expect(conversion.batch.entries.last?.line == [3])
            #expect(conversion.batch.entries.last?.labels.description == #"{__tenant_id__="t", fixed="1", job="ok"}"#)
            #expect(conversion.batch.entries.allSatisfy { entry in
                entry.labels.pairs.allSatisfy { !$0.name.hasPrefix("__") || $0.name == API.tenantLabel }
            })
            #expect((conversion.labelProblem == nil) == (conversion.rejectedStreams == 0))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func duplicateAndEmptyLabelsFollowThePrometheusBuilder() {
        let options = API.EntryOptions(fixedLabels: [LabelPair(name: "drop", value: "")])
        #expect(API.streamLabels(
            [LabelPair(name: "a", value: "1"), LabelPair(name: "a", value: "2"), LabelPair(name: "drop", value: "x")],
            options: options)?.description == #"{a="2"}"#)
        // A stream with no labels at all is skipped; one with only internal labels is kept, unlabelled.
        #expect(API.streamLabels([], options: .init()) == nil)
        #expect(API.streamLabels([LabelPair(name: "__name__", value: "m")], options: .init()) == LabelSet([]))
    }
}

/// Mutated push bodies against the real listener: every answer is 204, 400 or 413, never a crash or a hang.
@Suite struct LokiSourceAPIFuzzTests {
    @Test func mutatedBodiesGetAnAnswer() async throws {
        let harness = try await LokiSourceAPITests.Harness(LokiSourceAPITests.config(#"max_send_message_size = "64KiB""#))
        let url = try await harness.url("/loki/api/v1/push")
        let request = LokiSourceAPITests.pushRequest(
            [(#"{job="fuzz", env="x"}"#, ["alpha", "beta"]), ("{a=\"b\"}", ["gamma"])],
            metadata: [LabelPair(name: "k", value: "v")])
        let seeds: [(contentType: String, body: [UInt8])] = [
            ("application/x-protobuf", PushProtobufEncoder.encode(request)),
            ("application/json", PushJSONEncoder.encode(request)),
        ]
        var rng = SeededRandom(seed: 2024)
        let started = ContinuousClock.now
        var statuses: Set<Int> = []
        for round in 0..<150 {
            let seed = seeds[round % 2]
            var body = seed.body
            for _ in 0..<rng.int(1...4) where !body.isEmpty {
                let index = rng.int(0...(body.count - 1))
                switch rng.int(0...2) {
                case 0: body[index] = UInt8(truncatingIfNeeded: rng.next())
                case 1: body.remove(at: index)
                default: body.insert(contentsOf: rng.bytes(rng.int(1...8)), at: index)
                }
            }
            let wire = seed.contentType == "application/json" ? body : Snappy.compress(body)
            let reply = try await LokiSourceAPITests.send(url, headers: [("Content-Type", seed.contentType)], body: wire)
            statuses.insert(reply.status)
            #expect([204, 400, 413].contains(reply.status), "status \(reply.status): \(reply.text)")
        }
        #expect(statuses.contains(400))
        #expect(ContinuousClock.now - started < .seconds(120))
        _ = await harness.stop()
    }
}

