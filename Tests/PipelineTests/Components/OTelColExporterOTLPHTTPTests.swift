@testable import AlloyLanguage
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import Synchronization
import PipelineTestSupport
import TestSupport
import Testing
import Wire
@testable import Pipeline

/// `otelcol.exporter.otlphttp` against a real OTLP/HTTP server on loopback (`swift test --filter OTLPHTTPExporterTests`).
@Suite struct OTLPHTTPExporterTests {
    typealias Exporter = OTelColExporterOTLPHTTP

    // MARK: Arguments

    @Test func defaultsAreAlloys() throws {
        let arguments = try Harness.decode(Self.config(endpoint: "http://loki:3100/otlp", retry: "", queue: ""))
        #expect(arguments.logsURL.requestURL == "http://loki:3100/otlp/v1/logs")
        #expect(arguments.encoding == .proto)
        #expect(arguments.client.compression == .gzip(level: -1))
        #expect(arguments.client.timeout == .seconds(30))
        #expect(arguments.client.headers.isEmpty)
        #expect(arguments.retry == Exporter.RetryOptions())
        #expect(arguments.retry.enabled && arguments.retry.initialInterval == .seconds(5))
        #expect(arguments.retry.randomizationFactor == 0.5 && arguments.retry.multiplier == 1.5)
        #expect(arguments.retry.maxInterval == .seconds(30) && arguments.retry.maxElapsedTime == .seconds(300))
        #expect(arguments.queue == Exporter.QueueOptions())
        #expect(arguments.queue.enabled && arguments.queue.numConsumers == 10 && arguments.queue.queueSize == 1000)
        #expect(!arguments.queue.blockOnOverflow && arguments.queue.sizer == .requests)
        #expect(try Exporter.Arguments(endpoint: "http://loki:3100/otlp") == arguments)
    }

    @Test(arguments: [
        ("http://loki:3100/otlp", nil, "http://loki:3100/otlp/v1/logs"),
        ("http://loki:3100/otlp/", nil, "http://loki:3100/otlp/v1/logs"),
        ("https://otlp.example.com:4318", nil, "https://otlp.example.com:4318/v1/logs"),
        ("http://ignored:1", "http://collector:4318/custom/logs", "http://collector:4318/custom/logs"),
    ] as [(String, String?, String)])
    func logsURL(endpoint: String, logsEndpoint: String?, expected: String) throws {
        let top = logsEndpoint.map { "logs_endpoint = \"\($0)\"" } ?? ""
        #expect(try Harness.decode(Self.config(endpoint: endpoint, top: top)).logsURL.requestURL == expected)
    }

    @Test func everyAlloyArgumentIsAccepted() throws {
        let arguments = try Harness.decode(
            """
            otelcol.exporter.otlphttp "default" {
              encoding = "json"
              metrics_endpoint = "http://x:4318/v1/metrics"
              traces_endpoint = "http://x:4318/v1/traces"
              client {
                endpoint = "http://x:4318"
                compression = "none"
                headers = { "X-Scope-OrgID" = "team-a" }
                timeout = "3s"
                read_buffer_size = "0"
                write_buffer_size = "512KiB"
                max_idle_conns = 100
                max_idle_conns_per_host = 0
                max_conns_per_host = 0
                idle_conn_timeout = "90s"
                disable_keep_alives = false
                http2_read_idle_timeout = "0s"
                http2_ping_timeout = "15s"
                tls {
                  insecure = true
                }
                cookies {
                  enabled = false
                }
              }
              retry_on_failure {
                enabled = false
                initial_interval = "1s"
                randomization_factor = 0
                multiplier = 2
                max_interval = "10s"
                max_elapsed_time = "0s"
              }
              sending_queue {
                enabled = true
                num_consumers = 4
                queue_size = 50
                blocking = true
                sizer = "items"
              }
              debug_metrics {
                disable_high_cardinality_metrics = true
              }
            }
            """)
        #expect(arguments.encoding == .json && arguments.client.compression == .none)
        #expect(arguments.client.headers == ["X-Scope-OrgID": "team-a"] && arguments.client.timeout == .seconds(3))
        #expect(!arguments.retry.enabled && arguments.retry.multiplier == 2 && arguments.retry.maxElapsedTime == .zero)
        #expect(arguments.queue.numConsumers == 4 && arguments.queue.queueSize == 50)
        #expect(arguments.queue.blockOnOverflow && arguments.queue.sizer == .items)
    }

    @Test(arguments: [
        ("", "missing required block \"client\""),
        ("client {\n}", "missing required attribute \"endpoint\""),
        ("client {\n endpoint = \"loki:3100\"\n}", "endpoint: invalid URL \"loki:3100\""),
        ("client {\n endpoint = \"ftp://loki\"\n}", "endpoint: invalid URL"),
        ("logs_endpoint = \"http://\"\nclient {\n endpoint = \"http://a:1\"\n}", "logs_endpoint: invalid URL"),
        ("encoding = \"xml\"\nclient {\n endpoint = \"http://a:1\"\n}", "encoding: must be \"proto\" or \"json\""),
        ("client {\n endpoint = \"http://a:1\"\n compression = \"zstd\"\n}", "compression: \"zstd\" is not supported"),
        ("client {\n endpoint = \"http://a:1\"\n compression = \"brotli\"\n}", "compression: unknown compression"),
        ("client {\n endpoint = \"http://a:1\"\n timeout = \"0s\"\n}", "timeout: must be greater than 0"),
        ("client {\n endpoint = \"http://a:1\"\n headers = { \"a b\" = \"1\" }\n}", "headers: invalid header name \"a b\""),
        ("client {\n endpoint = \"http://a:1\"\n headers = { \"X\" = \"a\\nb\" }\n}", "headers.X: the value must not"),
        ("client {\n endpoint = \"http://a:1\"\n tls {\n ca_file = \"/ca.pem\"\n }\n}", "ca_file: custom TLS settings"),
        ("client {\n endpoint = \"http://a:1\"\n urll = 1\n}", "unrecognized attribute name \"urll\""),
        ("client {\n endpoint = \"http://a:1\"\n}\nretry_on_failure {\n multiplier = 1\n}", "multiplier: must be greater than 1.0"),
        ("client {\n endpoint = \"http://a:1\"\n}\nretry_on_failure {\n randomization_factor = -1\n}", "randomization_factor: must be between 0 and 1"),
        ("client {\n endpoint = \"http://a:1\"\n}\nretry_on_failure {\n max_interval = \"1s\"\n}", "max_interval: must be at least initial_interval (5s)"),
        ("client {\n endpoint = \"http://a:1\"\n}\nretry_on_failure {\n initial_interval = \"soon\"\n}", "initial_interval: invalid duration \"soon\""),
        ("client {\n endpoint = \"http://a:1\"\n}\nsending_queue {\n queue_size = 0\n}", "queue_size: must be greater than zero"),
        ("client {\n endpoint = \"http://a:1\"\n}\nsending_queue {\n num_consumers = 0\n}", "num_consumers: must be at least 1"),
        ("client {\n endpoint = \"http://a:1\"\n}\nsending_queue {\n sizer = \"bytes\"\n}", "sizer: \"bytes\" is not supported"),
    ])
    func configErrorsNameTheAttribute(body: String, expected: String) {
        let problem = Harness.problem("otelcol.exporter.otlphttp \"default\" {\n\(body)\n}\n")
        #expect(problem?.contains(expected) == true, "got: \(problem ?? "no error")")
    }

    // MARK: Delivery

    @Test func protobufWithGzipArrivesAsTheSameRecords() async throws {
        let server = try await OTLPRecorder.start()
        let harness = try Harness(Self.config(endpoint: server.base))
        harness.start()
        let logs = Self.logs(["one", "two", "three"])
        try await harness.component.consume(logs)
        #expect(await eventually { server.requests.count == 1 })
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/logs")
        #expect(request.headers["content-type"] == "application/x-protobuf")
        #expect(request.headers["content-encoding"] == "gzip")
        #expect(request.headers["user-agent"] == AgentHTTP.userAgent)
        #expect(request.decoded == logs)
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total") == 3 })
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 0)
        await harness.stop()
        await server.stop()
    }

    @Test func jsonWithoutCompressionArrivesAsTheSameRecords() async throws {
        let server = try await OTLPRecorder.start()
        let harness = try Harness(Self.config(endpoint: server.base, top: "encoding = \"json\"", client: "compression = \"none\""))
        harness.start()
        let logs = Self.logs(["{\"json\": true}", "ünïcödé"])
        try await harness.component.consume(logs)
        #expect(await eventually { server.requests.count == 1 })
        let request = try #require(server.requests.first)
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["content-encoding"] == nil)
        #expect(request.decoded == logs)
        await harness.stop()
        await server.stop()
    }

    @Test func headersAndPathsAreSent() async throws {
        let server = try await OTLPRecorder.start()
        let harness = try Harness(Self.config(
            endpoint: server.base + "/otlp",
            client: #"headers = { "X-Scope-OrgID" = "team-a", "Authorization" = "Bearer s3cret", "Content-Length" = "1" }"#))
        let custom = try Harness(
            Self.config(endpoint: "http://127.0.0.1:1", top: "logs_endpoint = \"\(server.base)/custom/logs\""),
            id: "otelcol.exporter.otlphttp.custom")
        harness.start()
        custom.start()
        try await harness.component.consume(Self.logs(["a"]))
        try await custom.component.consume(Self.logs(["b"]))
        #expect(await eventually { server.requests.count == 2 })
        let byPath = Dictionary(server.requests.map { ($0.path, $0) }) { first, _ in first }
        let otlp = try #require(byPath["/otlp/v1/logs"])
        #expect(otlp.headers["x-scope-orgid"] == "team-a")
        #expect(otlp.headers["authorization"] == "Bearer s3cret")
        #expect(otlp.decoded?.recordCount == 1)
        #expect(byPath["/custom/logs"] != nil)
        await harness.stop()
        await custom.stop()
        await server.stop()
    }

    @Test(arguments: [429, 502, 503, 504])
    func retryableStatusIsRetriedAndDeliveredOnce(status: Int) async throws {
        let server = try await OTLPRecorder.start()
        server.script([.status(status, retryAfter: "0"), .status(status)])
        let harness = try Harness(Self.config(endpoint: server.base))
        harness.start()
        try await harness.component.consume(Self.logs(["retried", "twice"]))
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total") == 2 })
        #expect(server.attempts == 3)
        #expect(server.requests.count == 1)
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 0)
        await harness.stop()
        await server.stop()
    }

    @Test(arguments: [400, 401, 404, 413, 500])
    func otherStatusIsPermanent(status: Int) async throws {
        let server = try await OTLPRecorder.start()
        server.script([.status(status)])
        let harness = try Harness(Self.config(endpoint: server.base))
        harness.start()
        try await harness.component.consume(Self.logs(["refused", "too"]))
        #expect(await eventually { harness.metric("otelcol_exporter_send_failed_log_records_total") == 2 })
        #expect(server.attempts == 1)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 0)
        await harness.stop()
        await server.stop()
    }

    @Test func retryAfterIsHonoured() async throws {
        let server = try await OTLPRecorder.start()
        server.script([.status(503, retryAfter: "1")])
        let harness = try Harness(Self.config(endpoint: server.base))
        harness.start()
        try await harness.component.consume(Self.logs(["later"]))
        #expect(await eventually { server.requests.count == 1 })
        let times = server.attemptTimes
        #expect(times.count == 2)
        if times.count == 2 { #expect(times[1] - times[0] >= .milliseconds(950)) }
        await harness.stop()
        await server.stop()
    }

    @Test func retriesStopAtMaxElapsedTime() async throws {
        let server = try await OTLPRecorder.start(always: .status(503))
        // Retries 10–40 ms apart for at most 2 s: several attempts even when a loaded machine (a parallel test run
        // on two cores) takes most of a second for the first one, then it gives up for good.
        let harness = try Harness(Self.config(endpoint: server.base, retry: Self.fastRetry + "\nmax_elapsed_time = \"2s\""))
        harness.start()
        try await harness.component.consume(Self.logs(["given", "up"]))
        #expect(await eventually { harness.metric("otelcol_exporter_send_failed_log_records_total") == 2 })
        let attempts = server.attempts
        #expect(attempts >= 2)
        #expect(attempts <= 250)
        await harness.stop()
        await server.stop()
    }

    @Test func disabledRetryFailsAtOnce() async throws {
        let server = try await OTLPRecorder.start(always: .status(503))
        let harness = try Harness(Self.config(endpoint: server.base, retry: "enabled = false"))
        harness.start()
        try await harness.component.consume(Self.logs(["once"]))
        #expect(await eventually { harness.metric("otelcol_exporter_send_failed_log_records_total") == 1 })
        #expect(server.attempts == 1)
        await harness.stop()
        await server.stop()
    }

    @Test func partialSuccessCountsAsSentAndIsNotRetried() async throws {
        let server = try await OTLPRecorder.start(
            always: .respond(200, OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 1, errorMessage: "one bad"),
                             contentType: "application/x-protobuf"))
        let harness = try Harness(Self.config(endpoint: server.base))
        harness.start()
        try await harness.component.consume(Self.logs(["good", "bad"]))
        #expect(await eventually { harness.metric("otelcol_exporter_sent_log_records_total") == 2 })
        #expect(server.attempts == 1)
        await harness.stop()
        await server.stop()
    }

    @Test func attemptsAreClassifiedAndErrorBodiesRead() async throws {
        let status = [0x08, 0x03, 0x12, 0x0B] + Array("bad request".utf8)
        let server = try await OTLPRecorder.start(always: .respond(400, status, contentType: "application/x-protobuf"))
        let harness = try Harness(Self.config(endpoint: server.base))
        let arguments = harness.component.current
        let key = Exporter.BodyKey(encoding: .proto, compression: .none)
        let body = ByteBuffer(bytes: Exporter.encode(Self.logs(["x"]), key))
        let refused = await harness.component.post(body, key: key, arguments: arguments)
        guard case .permanent(let message) = refused else { Issue.record("expected permanent, got \(refused)"); return }
        #expect(message.contains("HTTP status 400: bad request"))
        await server.stop()
        // Nothing listens on port 1: a connection error, which is retried.
        let closed = try Harness.decode(Self.config(endpoint: "http://127.0.0.1:1", client: "timeout = \"500ms\""))
        let unreachable = await harness.component.post(body, key: key, arguments: closed)
        guard case .retryable(_, let retryAfter) = unreachable else { Issue.record("expected retryable, got \(unreachable)"); return }
        #expect(retryAfter == nil)
    }

    // MARK: Queue

    @Test func fullQueueThrowsBackpressureAtOnce() async throws {
        let server = try await OTLPRecorder.start(always: .hang)
        let harness = try Harness(Self.config(endpoint: server.base, queue: "num_consumers = 1\nqueue_size = 2"), drainTimeout: .milliseconds(100))
        harness.start()
        try await harness.component.consume(Self.logs(["in flight"]))
        #expect(await eventually { server.attempts == 1 })
        try await harness.component.consume(Self.logs(["queued 1"]))
        try await harness.component.consume(Self.logs(["queued 2", "and 3"]))
        #expect(harness.metric("otelcol_exporter_queue_size") == 2)
        #expect(harness.metric("otelcol_exporter_queue_capacity") == 2)
        let full = await #expect(throws: PipelineError.self) {
            try await harness.component.consume(Self.logs(["refused", "too", "many"]))
        }
        guard case .backpressure(let retryAfter, let reason)? = full else {
            Issue.record("expected backpressure, got \(String(describing: full))")
            return
        }
        #expect(retryAfter == .seconds(1) && reason.contains("sending queue is full"))
        #expect(harness.metric("otelcol_exporter_enqueue_failed_log_records_total") == 3)
        server.release()
        await harness.stop()
        await server.stop()
    }

    @Test func blockOnOverflowWaitsUntilCancelled() async throws {
        let server = try await OTLPRecorder.start(always: .hang)
        let harness = try Harness(
            Self.config(endpoint: server.base, queue: "num_consumers = 1\nqueue_size = 1\nblock_on_overflow = true"),
            drainTimeout: .milliseconds(100))
        harness.start()
        try await harness.component.consume(Self.logs(["in flight"]))
        #expect(await eventually { server.attempts == 1 })
        try await harness.component.consume(Self.logs(["queued"]))
        let component = harness.component
        let blocked = Task { try await component.consume(Self.logs(["waits"])) }
        blocked.cancel()
        let result = await blocked.result
        guard case .failure(let error) = result, case .backpressure = error as? PipelineError else {
            Issue.record("a cancelled blocked consume must throw backpressure, got \(result)")
            return
        }
        server.release()
        await harness.stop()
        await server.stop()
    }

    @Test func blockOnOverflowProceedsWhenRoomFrees() async throws {
        let server = try await OTLPRecorder.start()
        let harness = try Harness(Self.config(endpoint: server.base, queue: "num_consumers = 1\nqueue_size = 1\nblock_on_overflow = true"))
        try await harness.component.consume(Self.logs(["queued"]))
        let component = harness.component
        let blocked = Task { try await component.consume(Self.logs(["waits for room"])) }
        harness.start()
        try await blocked.value
        #expect(await eventually { server.requests.count == 2 })
        await harness.stop()
        await server.stop()
    }

    @Test func sendsConcurrentlyUpToNumConsumers() async throws {
        let server = try await OTLPRecorder.start(always: .hang)
        let harness = try Harness(Self.config(endpoint: server.base, queue: "num_consumers = 3"), drainTimeout: .milliseconds(100))
        harness.start()
        for index in 0..<5 { try await harness.component.consume(Self.logs(["batch \(index)"])) }
        #expect(await eventually { server.attempts == 3 })
        #expect(harness.component.queue.count == 2)
        // More consumers on reload: the queued batches start at once.
        try harness.update(Self.config(endpoint: server.base, queue: "num_consumers = 5"))
        #expect(await eventually { server.attempts == 5 })
        server.release()
        await harness.stop()
        await server.stop()
    }

    @Test func stopDrainsTheQueue() async throws {
        let server = try await OTLPRecorder.start()
        let harness = try Harness(Self.config(endpoint: server.base, queue: "num_consumers = 2"))
        // Queued before the senders start, so that everything is still queued when stopping begins.
        for index in 0..<6 { try await harness.component.consume(Self.logs(["drained \(index)"])) }
        #expect(harness.component.queue.count == 6)
        harness.start()
        await harness.stop()
        #expect(server.requests.count == 6)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 6)
        await #expect(throws: PipelineError.self) { try await harness.component.consume(Self.logs(["late"])) }
        await server.stop()
    }

    @Test func stopGivesUpAfterTheDrainTimeout() async throws {
        let server = try await OTLPRecorder.start(always: .hang)
        let harness = try Harness(
            Self.config(endpoint: server.base, client: #"timeout = "10m""#, queue: "num_consumers = 1"),
            drainTimeout: .milliseconds(200))
        for index in 0..<3 { try await harness.component.consume(Self.logs(["stuck \(index)", "x"])) }
        harness.start()
        #expect(await eventually { server.attempts == 1 })
        let took = await harness.stop()
        #expect(took < .seconds(120))  // not the hanging request's ten-minute timeout
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 6)
        #expect(harness.metric("otelcol_exporter_queue_size") == 0)
        server.release()
        await server.stop()
    }

    @Test func disabledQueueSendsBeforeReturning() async throws {
        let server = try await OTLPRecorder.start()
        server.script([.status(400)])
        let harness = try Harness(Self.config(endpoint: server.base, queue: "enabled = false"))
        let refused = await #expect(throws: PipelineError.self) {
            try await harness.component.consume(Self.logs(["refused"]))
        }
        guard case .rejected(let reason)? = refused else {
            Issue.record("expected rejected, got \(String(describing: refused))")
            return
        }
        #expect(reason.contains("HTTP status 400"))
        try await harness.component.consume(Self.logs(["accepted"]))
        #expect(server.requests.count == 1)
        await server.stop()
    }

    @Test func reloadKeepsTheQueueAndAppliesNewClientSettings() async throws {
        let server = try await OTLPRecorder.start()
        let harness = try Harness(Self.config(endpoint: server.base, queue: "num_consumers = 1"))
        for index in 0..<3 { try await harness.component.consume(Self.logs(["kept \(index)"])) }
        try harness.update(Self.config(
            endpoint: server.base + "/otlp", client: #"headers = { "X-Reloaded" = "yes" }"#,
            queue: "num_consumers = 2\nqueue_size = 10"))
        #expect(harness.component.queue.count == 3)
        #expect(harness.metric("otelcol_exporter_queue_capacity") == 10)
        harness.start()
        #expect(await eventually { server.requests.count == 3 })
        #expect(server.requests.allSatisfy { $0.path == "/otlp/v1/logs" && $0.headers["x-reloaded"] == "yes" })
        await harness.stop()
        await server.stop()
    }

    // MARK: Metrics

    @Test func metricsCarryTheCollectorsLabelsAndShareNamesWithTheLokiExporter() throws {
        let registry = PrometheusCollectorRegistry()
        let harness = try Harness(Self.config(endpoint: "http://127.0.0.1:1"), registry: registry)
        let context = ComponentHarness.context(id: "otelcol.exporter.loki.default", registry: registry)
        _ = try OTelColExporterLoki(context: context, arguments: .init(forwardTo: LogsReceivers()))
        let text = registry.emitToString()
        let labels = #"component_id="otelcol.exporter.otlphttp.default",exporter="otlphttp/otelcol.exporter.otlphttp.default""#
        #expect(text.contains("otelcol_exporter_sent_log_records_total{\(labels)}"))
        #expect(text.contains("otelcol_exporter_queue_capacity{\(labels),data_type=\"logs\"}"))
        #expect(harness.metric("otelcol_exporter_queue_capacity") == 1000)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 0)
        #expect(harness.metric("otelcol_exporter_enqueue_failed_log_records_total") == 0)
        guard case .capsule(let capsule) = harness.component.exports["input"] else {
            Issue.record("input must be a capsule")
            return
        }
        #expect(capsule.typeName == "otelcol.Consumer")
        #expect(capsule.payload(OTLPConsumerCapsule.self) != nil)
    }

    // MARK: Backoff and response parsing

    @Test func partialSuccessBodiesAreRead() {
        let proto = OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 3, errorMessage: "three bad")
        #expect(Exporter.partialSuccess(proto, contentType: "application/x-protobuf") == .delivered(rejected: 3, message: "three bad"))
        let json = OTLPJSON.encodeLogsResponse(rejectedLogRecords: 2, errorMessage: "two")
        #expect(Exporter.partialSuccess(json, contentType: "application/json; charset=utf-8") == .delivered(rejected: 2, message: "two"))
        #expect(Exporter.partialSuccess([], contentType: "application/x-protobuf") == .delivered(rejected: 0, message: ""))
        #expect(Exporter.partialSuccess([0xFF, 0xFF], contentType: "application/x-protobuf") == .delivered(rejected: 0, message: ""))
        #expect(Exporter.partialSuccess(Array("ok".utf8), contentType: "text/plain") == .delivered(rejected: 0, message: ""))
    }

    @Test func errorBodiesAreReadSafely() {
        let status: [UInt8] = [0x08, 0x0E, 0x12, 0x04] + Array("busy".utf8) + [0x1A, 0x00]
        #expect(Exporter.errorDetail(status, contentType: "application/x-protobuf") == "busy")
        #expect(Exporter.errorDetail(Array("line one\nline two".utf8), contentType: "text/plain") == "line one")
        #expect(Exporter.errorDetail([], contentType: "text/plain") == nil)
        // Not a well-formed Status (its message runs past the end): the body's first line, as text.
        #expect(Exporter.errorDetail([0x12, 0x10, 0x41], contentType: "application/x-protobuf") == "\u{12}\u{10}A")
    }

    @Test func statusParserSurvivesRandomAndMutatedInput() {
        var random = SeededRandom(seed: 7)
        let valid: [UInt8] = [0x08, 0x03, 0x12, 0x05] + Array("hello".utf8) + [0x1A, 0x03, 0x0A, 0x01, 0x41]
        let started = ContinuousClock.now
        for round in 0..<4_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = random.bytes(random.int(0...64))
            } else {
                bytes = valid
                for _ in 0..<random.int(1...4) {
                    switch random.int(0...2) {
                    case 0 where !bytes.isEmpty: bytes[random.int(0...(bytes.count - 1))] = UInt8(random.int(0...255))
                    case 1: bytes.insert(UInt8(random.int(0...255)), at: random.int(0...bytes.count))
                    default: if !bytes.isEmpty { bytes.removeLast(random.int(1...bytes.count)) }
                    }
                }
            }
            if let status = RPCStatus(protobuf: bytes) { #expect(status.message.unicodeScalars.count <= bytes.count) }
            _ = Exporter.errorDetail(bytes, contentType: round % 3 == 0 ? "text/plain" : "application/x-protobuf")
            _ = Exporter.partialSuccess(bytes, contentType: round % 3 == 0 ? "application/json" : "application/x-protobuf")
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    // MARK: Helpers

    static let fastRetry = "initial_interval = \"10ms\"\nmax_interval = \"40ms\"\nrandomization_factor = 0.2"

    static func config(
        endpoint: String, top: String = "", client: String = "", retry: String = fastRetry, queue: String = ""
    ) -> String {
        var text = "otelcol.exporter.otlphttp \"default\" {\n"
        if !top.isEmpty { text += "  \(top)\n" }
        text += "  client {\n    endpoint = \"\(endpoint)\"\n"
        if !client.isEmpty { text += "    \(client)\n" }
        text += "  }\n"
        if !retry.isEmpty { text += "  retry_on_failure {\n\(retry)\n  }\n" }
        if !queue.isEmpty { text += "  sending_queue {\n\(queue)\n  }\n" }
        return text + "}\n"
    }

    /// One resource and scope with a record per line, each with a timestamp, severity and an attribute.
    static func logs(_ lines: [String]) -> OTLPLogsData {
        let records = lines.enumerated().map { index, line in
            OTLPLogRecord(
                timeUnixNano: UInt64(index + 1) * 1_000_000_000, severityNumber: 9, severityText: "INFO",
                body: .string(line), attributes: [OTLPKeyValue(key: "index", value: .int(Int64(index)))])
        }
        return OTLPLogsData(resourceLogs: [
            OTLPResourceLogs(
                resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string("checkout"))]),
                scopeLogs: [OTLPScopeLogs(scope: OTLPInstrumentationScope(name: "test"), logRecords: records)])
        ])
    }

    /// Builds the component from Alloy text as the graph does, runs it, and reads its metrics back.
    final class Harness: Sendable {
        let component: Exporter
        let registry: PrometheusCollectorRegistry
        let id: String
        private let running = Mutex<Task<Void, any Error>?>(nil)

        init(
            _ config: String, id: String = "otelcol.exporter.otlphttp.default",
            registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
            drainTimeout: Duration = Exporter.defaultDrainTimeout
        ) throws {
            self.id = id
            self.registry = registry
            let context = ComponentHarness.context(id: id, dataPath: "/tmp/estuary-otlphttp-tests", registry: registry)
            component = try Exporter(context: context, arguments: Self.decode(config), drainTimeout: drainTimeout)
        }

        static func decode(_ config: String) throws -> Exporter.Arguments {
            try ComponentHarness.decode(Exporter.Arguments.self, config).arguments
        }

        static func problem(_ config: String) -> String? {
            ComponentHarness.problem(Exporter.Arguments.self, config)
        }

        func start() {
            let component = self.component
            running.withLock { $0 = Task { try await component.run() } }
        }

        /// Cancels `run()` and waits until it returned (drained); how long that took.
        @discardableResult
        func stop() async -> Duration {
            let started = ContinuousClock.now
            let task = running.withLock { task in
                defer { task = nil }
                return task
            }
            task?.cancel()
            _ = await task?.result
            return .now - started
        }

        func update(_ config: String) throws {
            try component.update(Self.decode(config))
        }

        /// The sum of the samples of `name` labelled with this component's id, or nil when there are none.
        func metric(_ name: String) -> Double? {
            registry.sample(name, ["component_id": id])
        }
    }
}

/// An OTLP/HTTP logs endpoint for the tests: a real HTTP server on 127.0.0.1 with an ephemeral port that records
/// every POST (path, headers, body decoded with Wire's OTLP decoders) and answers as scripted (200 by default).
final class OTLPRecorder: Sendable {
    enum Answer: Sendable {
        case accept
        case status(Int, retryAfter: String? = nil)
        case respond(Int, [UInt8], contentType: String)
        /// Holds the request until `release()` or `stop()`.
        case hang
    }

    struct Request: Sendable {
        let path: String
        /// Lower-cased names.
        let headers: [String: String]
        let decoded: OTLPLogsData?
    }

    private struct State {
        var script: [Answer] = []
        var always: Answer?
        var requests: [Request] = []
        var attemptTimes: [ContinuousClock.Instant] = []
        var released = false
        var hanging: [CheckedContinuation<Void, Never>] = []
    }

    private final class Box: Sendable {
        let state = Mutex(State())
    }

    let port: Int
    private let box: Box
    private let server: LoopbackServer

    var base: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, box: Box, server: LoopbackServer) {
        self.port = port
        self.box = box
        self.server = server
    }

    static func start(always: Answer? = nil) async throws -> OTLPRecorder {
        let box = Box()
        box.state.withLock { $0.always = always }
        let router = Router()
        router.post("**") { request, _ -> Response in
            var body: [UInt8] = []
            for try await buffer in request.body { body.append(contentsOf: buffer.readableBytesView) }
            let answer = box.state.withLock { state -> Answer in
                state.attemptTimes.append(.now)
                if let always = state.always { return always }
                return state.script.isEmpty ? .accept : state.script.removeFirst()
            }
            switch answer {
            case .hang:
                await withCheckedContinuation { continuation in
                    let resume = box.state.withLock { state -> Bool in
                        if !state.released { state.hanging.append(continuation) }
                        return state.released
                    }
                    if resume { continuation.resume() }
                }
                return Response(status: .serviceUnavailable)
            case .status(let code, let retryAfter):
                var headers = HTTPFields()
                if let retryAfter { headers[.retryAfter] = retryAfter }
                return Response(status: HTTPResponse.Status(code: code), headers: headers)
            case .respond(let code, let bytes, let contentType):
                return Response(
                    status: HTTPResponse.Status(code: code), headers: [.contentType: contentType],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            case .accept:
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let payload = headers["content-encoding"] == "gzip" ? try Gzip.decompress(body) : body
                let decoded = headers["content-type"] == "application/json"
                    ? try? OTLPJSON.decodeLogsRequest(payload) : try? OTLPProtobuf.decodeLogsRequest(payload)
                box.state.withLock {
                    $0.requests.append(Request(path: request.uri.path, headers: headers, decoded: decoded))
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/x-protobuf"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 0, errorMessage: ""))))
            }
        }
        let server = await LoopbackServer.start(router, label: "otlp-recorder")
        let port = server.port
        return OTLPRecorder(port: port, box: box, server: server)
    }

    func script(_ answers: [Answer]) {
        box.state.withLock { $0.script = answers }
    }

    /// Requests answered with 200 and recorded.
    var requests: [Request] { box.state.withLock { $0.requests } }
    /// Every request that arrived, whatever it was answered.
    var attempts: Int { box.state.withLock { $0.attemptTimes.count } }
    var attemptTimes: [ContinuousClock.Instant] { box.state.withLock { $0.attemptTimes } }

    /// Answers every hanging request (503) and every later `.hang` at once.
    func release() {
        let waiting = box.state.withLock { state in
            state.released = true
            defer { state.hanging = [] }
            return state.hanging
        }
        for continuation in waiting { continuation.resume() }
    }

    func stop() async {
        release()
        await server.stop()
    }
}
