@testable import AlloyLanguage
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport
import TestSupport

/// The receiver's listener: it stops gracefully, rebinds on a changed endpoint, and fails `run()` when it cannot bind.
@Suite struct OTelColReceiverOTLPTests {
    static func config(endpoint: String = "127.0.0.1:0") -> String {
        """
        otelcol.receiver.otlp "test" {
          http {
            endpoint = "\(endpoint)"
          }
          output {
            logs = [sink]
          }
        }
        """
    }

    static func make(_ config: String, sink: some OTLPLogsConsumer) throws -> OTelColReceiverOTLP {
        try ComponentHarness.make(OTelColReceiverOTLP.self, config, scope: ComponentHarness.scope(consumers: ["sink": sink]))
    }

    static func decode(_ config: String, sink: some OTLPLogsConsumer) throws -> OTelColReceiverOTLP.Arguments {
        try ComponentHarness.decode(
            OTelColReceiverOTLP.Arguments.self, config, scope: ComponentHarness.scope(consumers: ["sink": sink])
        ).arguments
    }

    static func send(_ port: Int, _ line: String) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/logs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
            OTLPScopeLogs(logRecords: [OTLPLogRecord(timeUnixNano: 1, body: .string(line))]),
        ])])
        request.body = .bytes(ByteBuffer(bytes: OTLPProtobuf.encodeLogsRequest(logs)))
        return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code)
    }

    /// The client's address travels with every request, as the collector's `client.Info.Addr`, headers or not.
    @Test func theClientsAddressIsHandedOn() async throws {
        let sink = CollectingConsumer()
        let receiver = try Self.make(Self.config(), sink: sink)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        #expect(try await Self.send(try #require(receiver.listeningPort), "from loopback") == 200)
        #expect(sink.calls.first?.metadata.address == "127.0.0.1")
        #expect(sink.calls.first?.metadata.isEmpty == true, "no headers without include_metadata")
        running.cancel()
        _ = await running.result
    }

    @Test func stoppingLetsARequestInFlightFinish() async throws {
        let gate = CallGate()
        let sink = CollectingConsumer(gate: gate)
        let receiver = try Self.make(Self.config(), sink: sink)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        let port = try #require(receiver.listeningPort)
        let push = Task { try await Self.send(port, "in flight") }
        #expect(await eventually { sink.arrivals == 1 })
        // What the graph does when the component is removed or the agent stops.
        running.cancel()
        #expect(await refusesConnections("http://127.0.0.1:\(port)/v1/logs"))
        gate.pass()
        #expect(try await push.value == 200)
        #expect(sink.bodies == ["in flight"])
        let outcome = await running.result
        #expect(throws: Never.self) { try outcome.get() }
        #expect(receiver.listeningPort == nil)
        gate.open()
    }

    @Test func aChangedEndpointRebindsAndTheOldPortCloses() async throws {
        let gate = CallGate()
        let sink = CollectingConsumer(gate: gate)
        let receiver = try Self.make(Self.config(), sink: sink)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        let old = try #require(receiver.listeningPort)
        try receiver.update(Self.decode(Self.config(endpoint: "127.0.0.2:0"), sink: sink))
        #expect(await eventually { receiver.listeningPort != nil && receiver.listeningPort != old })
        let new = try #require(receiver.listeningPort)
        gate.pass()
        var request = HTTPClientRequest(url: "http://127.0.0.2:\(new)/v1/logs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"moved"}}]}]}]}"#))
        #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code == 200)
        #expect(sink.bodies == ["moved"])
        #expect(await refusesConnections("http://127.0.0.1:\(old)/v1/logs"))
        running.cancel()
        _ = await running.result
        gate.open()
    }

    /// A receiver with `http` settings `extra`, running, with a consumer that lets everything through.
    static func running(_ extra: String) async throws -> (OTelColReceiverOTLP, Task<Void, any Error>, Int) {
        let config = """
            otelcol.receiver.otlp "test" {
              http {
                endpoint = "127.0.0.1:0"
                \(extra)
              }
              output {
                logs = [sink]
              }
            }
            """
        let receiver = try Self.make(config, sink: CollectingConsumer())
        let task = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        return (receiver, task, try #require(receiver.listeningPort))
    }

    static func request(_ port: Int, _ path: String, method: HTTPMethod = .POST, headers: [(String, String)],
                        body: [UInt8] = []) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    }

    static let oneRecord = OTLPProtobuf.encodeLogsRequest(OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
        OTLPScopeLogs(logRecords: [OTLPLogRecord(timeUnixNano: 1, body: .string("x"))]),
    ])]))

    @Test func corsAnswersBrowsersFromAllowedOriginsOnly() async throws {
        let (_, task, port) = try await Self.running("""
            cors {
                  allowed_origins = ["https://app.example.com", "https://*.test.io"]
                  allowed_headers = ["X-Tenant"]
                  max_age = 600
                }
            """)
        let preflight = try await Self.request(port, "/v1/logs", method: .OPTIONS, headers: [
            ("Origin", "https://a.test.io"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type, x-tenant"),
        ])
        #expect(preflight.status.code == 204)
        #expect(preflight.headers["Access-Control-Allow-Origin"] == ["https://a.test.io"])
        #expect(preflight.headers["Access-Control-Allow-Methods"] == ["POST"])
        #expect(preflight.headers["Access-Control-Allow-Headers"] == ["content-type, x-tenant"])
        #expect(preflight.headers["Access-Control-Max-Age"] == ["600"])
        // A header not allowed, or an origin not allowed: no CORS headers, so the browser does not send.
        for headers in [
            [("Origin", "https://a.test.io"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "x-secret")],
            [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")],
        ] {
            let refused = try await Self.request(port, "/v1/logs", method: .OPTIONS, headers: headers)
            #expect(refused.headers["Access-Control-Allow-Origin"].isEmpty)
        }
        let contentType = ("Content-Type", "application/x-protobuf")
        let allowed = try await Self.request(port, "/v1/logs", headers: [("Origin", "https://app.example.com"), contentType],
                                             body: Self.oneRecord)
        #expect(allowed.status.code == 200)
        #expect(allowed.headers["Access-Control-Allow-Origin"] == ["https://app.example.com"])
        let other = try await Self.request(port, "/v1/logs", headers: [("Origin", "https://evil.example"), contentType],
                                           body: Self.oneRecord)
        #expect(other.headers["Access-Control-Allow-Origin"].isEmpty)
        task.cancel()
        _ = await task.result
    }

    @Test func otherMethodsGet405AsFromTheCollector() async throws {
        let (_, task, port) = try await Self.running("")
        // Without a cors block a preflight is no different: the handler takes POST alone.
        for method in [HTTPMethod.OPTIONS, .GET, .PUT, .DELETE, .PATCH] {
            let answer = try await Self.request(port, "/v1/logs", method: method, headers: [
                ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
            ])
            #expect(answer.status.code == 405, "\(method)")
            #expect(answer.headers["Access-Control-Allow-Origin"].isEmpty)
        }
        task.cancel()
        _ = await task.result
        // With one, only a preflight is answered 204; a plain OPTIONS still gets 405.
        let (_, corsTask, corsPort) = try await Self.running(#"cors { allowed_origins = ["*"] }"#)
        let preflight = try await Self.request(corsPort, "/v1/logs", method: .OPTIONS, headers: [
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
        ])
        #expect(preflight.status.code == 204)
        let plain = try await Self.request(corsPort, "/v1/logs", method: .OPTIONS, headers: [])
        #expect(plain.status.code == 405)
        corsTask.cancel()
        _ = await corsTask.result
    }

    @Test func compressionAlgorithmsLimitTheEncodingsTaken() async throws {
        let (_, task, port) = try await Self.running(#"compression_algorithms = ["gzip"]"#)
        let contentType = ("Content-Type", "application/x-protobuf")
        let gzip = try await Self.request(port, "/v1/logs", headers: [contentType, ("Content-Encoding", "gzip")],
                                          body: Gzip.compress(Self.oneRecord))
        #expect(gzip.status.code == 200)
        let deflate = try await Self.request(port, "/v1/logs", headers: [contentType, ("Content-Encoding", "deflate")],
                                             body: Deflate.compress(Self.oneRecord))
        #expect(deflate.status.code == 400)
        let plain = try await Self.request(port, "/v1/logs", headers: [contentType], body: Self.oneRecord)
        #expect(plain.status.code == 200)
        task.cancel()
        _ = await task.result
    }

    @Test func tracesAndMetricsGetA404SayingSo() async throws {
        let (_, task, port) = try await Self.running(#"traces_url_path = "/t""#)
        let traces = try await Self.request(port, "/t", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(traces.status.code == 404)
        let text = String(buffer: try await traces.body.collect(upTo: 1 << 16))
        #expect(text.contains("this receiver takes logs only; traces are not supported"))
        let metrics = try await Self.request(port, "/v1/metrics", headers: [("Content-Type", "application/x-protobuf")])
        #expect(metrics.status.code == 404)
        task.cancel()
        _ = await task.result
    }

    @Test(arguments: [
        (#"compression_algorithms = ["brotli"]"#, #"compression_algorithms: unsupported compression algorithm "brotli""#),
        (#"metrics_url_path = "/v1/logs""#, "must differ"),
        (#"traces_url_path = "t""#, "http.traces_url_path must start with /"),
    ])
    func badHTTPSettingsAreRefused(extra: String, message: String) throws {
        let config = "otelcol.receiver.otlp \"x\" {\n  http {\n    \(extra)\n  }\n  output {\n    logs = [sink]\n  }\n}"
        let sink = CollectingConsumer()
        do {
            _ = try Self.make(config, sink: sink)
            Issue.record("expected an error for \(extra)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func aPortInUseMakesRunFail() async throws {
        let gate = CallGate()
        defer { gate.open() }
        let sink = CollectingConsumer(gate: gate)
        let first = try Self.make(Self.config(), sink: sink)
        let running = Task { try await first.run() }
        #expect(await eventually { first.listeningPort != nil })
        let port = try #require(first.listeningPort)
        let second = try Self.make(Self.config(endpoint: "127.0.0.1:\(port)"), sink: sink)
        let error = await #expect(throws: HTTPListenerLoop.ListenerError.self) { try await second.run() }
        #expect(error?.message.contains("listening on 127.0.0.1:\(port) failed") == true)
        running.cancel()
        _ = await running.result
    }
}
