@testable import AlloyLanguage
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Prometheus
import Testing
import PipelineTestSupport
import TestSupport
import Wire
@testable import Pipeline

/// The total of request bodies a listener holds at once is bounded (`max_in_flight_body_size`): requests past it
/// get 503 with `Retry-After` and are counted, what was accepted is delivered, and small requests keep working.
@Suite struct RequestBodyBudgetTests {
    /// `count` lines of 1023 printable bytes and a newline: 1KiB each, a raw body that does not shrink.
    static func rawBody(kib count: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        var body: [UInt8] = []
        body.reserveCapacity(count * 1024)
        for _ in 0..<count {
            for _ in 0..<1023 { body.append(UInt8(0x61 + rng.int(0...25))) }
            body.append(0x0A)
        }
        return body
    }

    @Test func bodiesPastTheInFlightBudgetGet503AndTheTotalStaysBounded() async throws {
        let gate = CallGate()
        let receiver = CollectingReceiver(gate: gate)
        let harness = try await LokiSourceAPITests.Harness(
            LokiSourceAPITests.config("max_send_message_size = \"1MiB\"\nmax_in_flight_body_size = \"2MiB\""),
            out: receiver)
        defer { gate.open() }
        let url = try await harness.url("/loki/api/v1/raw")
        let limit = 2 << 20
        #expect(harness.api.bodyBudget.limit == limit)

        // Two 700KiB bodies are held by the pipeline: 1.4MiB of the 2MiB.
        let held = (0..<2).map { index in
            Task { try await LokiSourceAPITests.send(url, body: Self.rawBody(kib: 700, seed: UInt64(index))) }
        }
        #expect(await eventually { receiver.arrivals == 2 })
        #expect(harness.api.bodyBudget.inUse == 2 * 700 * 1024)

        // Eight more at once: none fits next to them.
        let refused = try await withThrowingTaskGroup(of: LokiSourceAPITests.Reply.self) { group in
            for index in 0..<8 {
                group.addTask { try await LokiSourceAPITests.send(url, body: Self.rawBody(kib: 700, seed: 10 + UInt64(index))) }
            }
            return try await group.reduce(into: [LokiSourceAPITests.Reply]()) { $0.append($1) }
        }
        for reply in refused {
            #expect(reply.status == 503)
            #expect(reply.headers.first(name: "Retry-After") == "1")
            #expect(reply.text.contains("max_in_flight_body_size (2097152 bytes)"), "\(reply.text)")
        }
        #expect(harness.metric("loki_source_api_refused_requests_total", ["reason": "in_flight_limit"]) == 8)
        #expect(harness.metric("loki_source_api_request_body_bytes_in_flight")! <= Double(limit))
        #expect(harness.api.bodyBudget.inUse == 2 * 700 * 1024)
        #expect(receiver.arrivals == 2, "a refused body never reaches the pipeline")

        // What was accepted is delivered, the budget is given back, and requests fit again.
        gate.open()
        for task in held { #expect(try await task.value.status == 204) }
        #expect(receiver.entryCount == 2 * 700)
        #expect(harness.api.bodyBudget.inUse == 0)
        #expect(harness.metric("loki_source_api_request_body_bytes_in_flight") == 0)
        let small = try await LokiSourceAPITests.send(url, body: Array("small\nrequest\n".utf8))
        #expect(small.status == 204)
        let big = try await LokiSourceAPITests.send(url, body: Self.rawBody(kib: 1000, seed: 99))
        #expect(big.status == 204)
        #expect(receiver.entryCount == 2 * 700 + 2 + 1000)
        #expect(harness.metric("loki_source_api_refused_requests_total", ["reason": "in_flight_limit"]) == 8)
        _ = await harness.stop()
    }

    /// Without `Content-Length` the bytes are reserved as they arrive: a chunked body that outgrows the budget is
    /// refused part-way, and nothing of it stays reserved.
    @Test func chunkedBodiesAreBoundedAsTheyArrive() async throws {
        let gate = CallGate()
        let receiver = CollectingReceiver(gate: gate)
        let harness = try await LokiSourceAPITests.Harness(
            LokiSourceAPITests.config("max_send_message_size = \"1MiB\"\nmax_in_flight_body_size = \"1MiB\""),
            out: receiver)
        defer { gate.open() }
        let url = try await harness.url("/loki/api/v1/raw")
        let first = Task { try await LokiSourceAPITests.send(url, body: Self.rawBody(kib: 600, seed: 1)) }
        #expect(await eventually { receiver.arrivals == 1 })

        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let chunks = (0..<60).map { ByteBuffer(bytes: Self.rawBody(kib: 10, seed: UInt64(100 + $0))) }
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        for chunk in chunks { continuation.yield(chunk) }
        continuation.finish()
        request.body = .stream(stream, length: .unknown)
        let status: Int? = await {
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                return Int(response.status.code)
            } catch {
                return nil  // the server may close the connection while the client is still sending
            }
        }()
        #expect(status == nil || status == 503, "\(status.map(String.init) ?? "closed")")
        #expect(await eventually { harness.metric("loki_source_api_refused_requests_total", ["reason": "in_flight_limit"]) == 1 })
        #expect(await eventually { harness.api.bodyBudget.inUse == 600 * 1024 })
        #expect(receiver.arrivals == 1)
        gate.open()
        #expect(try await first.value.status == 204)
        #expect(await eventually { harness.api.bodyBudget.inUse == 0 })
        _ = await harness.stop()
    }

    @Test func theDefaultTotalIsFourBodiesAtMost256MiB() throws {
        #expect(RequestBody.defaultInFlightLimit(perRequest: 100 << 20) == 256 << 20)
        #expect(RequestBody.defaultInFlightLimit(perRequest: 20 << 20) == 80 << 20)
        #expect(RequestBody.defaultInFlightLimit(perRequest: 300 << 20) == 300 << 20)
        #expect(RequestBody.defaultInFlightLimit(perRequest: Int.max) == Int.max)
        #expect(RequestBody.defaultInFlightLimit(perRequest: 1) == 4)
        let defaults = try LokiSourceAPITests.decode(#"loki.source.api "x" { forward_to = [out] }"#)
        #expect(defaults.inFlightBodyLimit == 256 << 20)
        let set = try LokiSourceAPITests.decode(LokiSourceAPITests.config(#"max_in_flight_body_size = "1GiB""#))
        #expect(set.inFlightBodyLimit == 1 << 30)
    }

    @Test(arguments: [
        ("max_in_flight_body_size = \"1MiB\"", "max_in_flight_body_size (1048576 bytes) must be at least max_send_message_size (104857600 bytes)"),
        ("max_in_flight_body_size = \"lots\"", #"max_in_flight_body_size: invalid size "lots""#),
        ("max_in_flight_body_size = -5", "max_in_flight_body_size (-5 bytes) must be at least"),
    ])
    func badTotalsAreConfigErrors(attribute: String, expected: String) {
        let problem = LokiSourceAPITests.problem("loki.source.api \"x\" {\n forward_to = [out]\n \(attribute)\n}")
        #expect(problem?.contains(expected) == true, "\(problem ?? "accepted")")
    }

    @Test func otlpBodiesPastTheInFlightBudgetGet503WithRetryAfter() async throws {
        let gate = CallGate()
        let consumer = CollectingConsumer(gate: gate)
        defer { gate.open() }
        let registry = PrometheusCollectorRegistry()
        let receiver = try ComponentHarness.make(OTelColReceiverOTLP.self, """
            otelcol.receiver.otlp "budget" {
              http {
                endpoint                = "127.0.0.1:0"
                max_request_body_size   = "1MiB"
                max_in_flight_body_size = "1MiB"
              }
              output {
                logs = [sink]
              }
            }
            """, scope: ComponentHarness.scope(consumers: ["sink": consumer]), registry: registry)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        let url = "http://127.0.0.1:\(try #require(receiver.listeningPort))/v1/logs"
        func post(_ line: String) async throws -> (status: Int, retryAfter: String?) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-protobuf")
            let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
                OTLPScopeLogs(logRecords: [OTLPLogRecord(timeUnixNano: 1, body: .string(line))]),
            ])])
            request.body = .bytes(ByteBuffer(bytes: OTLPProtobuf.encodeLogsRequest(logs)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), response.headers.first(name: "Retry-After"))
        }
        func refusals() -> Double? {
            registry.sample("otelcol_receiver_refused_requests_total", ["reason": "in_flight_limit"])
        }
        let big = String(repeating: "x", count: 600 * 1024)
        let held = Task { try await post(big) }
        #expect(await eventually { consumer.arrivals == 1 })
        for _ in 0..<4 {
            let reply = try await post(big)
            #expect(reply.status == 503)
            #expect(reply.retryAfter == "1")
        }
        #expect(refusals() == 4)
        #expect(receiver.bodyBudget.inUse <= receiver.bodyBudget.limit)
        gate.open()
        #expect(try await held.value.status == 200)
        #expect(try await post("small").status == 200)
        #expect(consumer.recordCount == 2)
        #expect(receiver.bodyBudget.inUse == 0)
        running.cancel()
        _ = await running.result
    }
}

/// What a push body may decompress to is reserved before it is decompressed, from what the body says of its size.
@Suite struct DecompressionBoundTests {
    @Test func gzipIsBoundByItsTrailerAndReservedTwice() {
        let line = Array(repeating: UInt8(ascii: "a"), count: 100_000)
        let body = Gzip.compress(line)
        let bound = LokiSourceAPI.decompressionBound(body, contentType: "application/json", contentEncoding: "gzip",
                                                     limit: 10_000_000)
        #expect(bound.limit == 100_000)
        #expect(bound.reserve == 200_000)
        // A trailer claiming more than the limit is held to the limit.
        #expect(LokiSourceAPI.decompressionBound(body, contentType: nil, contentEncoding: "gzip", limit: 50_000)
            == (limit: 50_000, reserve: 100_000))
    }

    @Test func snappyIsBoundByItsHeaderDeflateByTheLimitPlainJSONByNothing() {
        let snappy = Snappy.compress(Array(repeating: 7, count: 70_000))
        #expect(LokiSourceAPI.decompressionBound(snappy, contentType: "application/x-protobuf", contentEncoding: nil,
                                                 limit: 1_000_000) == (limit: 1_000_000, reserve: 140_000))
        #expect(LokiSourceAPI.decompressionBound([1, 2, 3], contentType: nil, contentEncoding: "deflate",
                                                 limit: 4096) == (limit: 4096, reserve: 8192))
        #expect(LokiSourceAPI.decompressionBound(Array("{}".utf8), contentType: "application/json",
                                                 contentEncoding: nil, limit: 4096).reserve == 0)
    }
}
