@testable import AlloyLanguage
import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport
import TestSupport

/// Builds a component from one Alloy block, with `sink` in scope as an `otelcol.Consumer`.
private func make<C: Component>(_ type: C.Type, _ config: String, sink: CollectingConsumer) throws -> C {
    try ComponentHarness.make(type, config, scope: ComponentHarness.scope(consumers: ["sink": sink]))
}

private func logs(_ bodies: [String]) -> OTLPLogsData {
    OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
        OTLPScopeLogs(logRecords: bodies.map { OTLPLogRecord(timeUnixNano: 1, body: .string($0)) }),
    ])])
}

private func batchConfig(_ extra: String...) -> String {
    "otelcol.processor.batch \"test\" {\n" + extra.map { "  \($0)\n" }.joined() + "  output {\n    logs = [sink]\n  }\n}\n"
}

@Suite struct OTelColBatchAndMetadataTests {
    @Test func batchesAreCutBySizeAndTimeoutAndNothingIsLost() async throws {
        let sink = CollectingConsumer()
        let batch = try make(
            OTelColProcessorBatch.self,
            batchConfig("send_batch_size = 100", "send_batch_max_size = 150", #"timeout = "50ms""#), sink: sink)
        let running = Task { try await batch.run() }
        let sent = (0..<420).map { "line \($0)" }
        for start in stride(from: 0, to: sent.count, by: 70) {
            try await batch.consume(logs(Array(sent[start..<min(start + 70, sent.count)])))
        }
        #expect(await eventually { sink.bodies.count == sent.count })
        #expect(sink.bodies == sent)
        #expect(sink.calls.allSatisfy { $0.bodies.count <= 150 })
        // 420 records: full batches while at least 100 wait, the rest after the timeout.
        #expect(sink.calls.dropLast().allSatisfy { $0.bodies.count >= 100 })
        running.cancel()
        _ = await running.result
    }

    @Test func aBatchRefusedDownstreamIsOfferedAgain() async throws {
        let sink = CollectingConsumer(refusing: .backpressure(3))
        let batch = try make(OTelColProcessorBatch.self, batchConfig(#"timeout = "1ms""#), sink: sink)
        let running = Task { try await batch.run() }
        try await batch.consume(logs(["kept"]))
        #expect(await eventually { sink.bodies == ["kept"] })
        running.cancel()
        _ = await running.result
    }

    @Test func metadataKeysKeepBatchesApartAndTravelWithThem() async throws {
        let sink = CollectingConsumer()
        let batch = try make(
            OTelColProcessorBatch.self,
            batchConfig(#"metadata_keys = ["X-Tenant"]"#, #"timeout = "20ms""#), sink: sink)
        let running = Task { try await batch.run() }
        for index in 0..<6 {
            let tenant = index.isMultiple(of: 2) ? "a" : "b"
            let metadata = ClientMetadata([("x-tenant", tenant), ("authorization", "secret")])
            try await ClientMetadata.$current.withValue(metadata) {
                try await batch.consume(logs(["\(tenant)-\(index)"]))
            }
        }
        try await batch.consume(logs(["none"]))
        #expect(await eventually { sink.bodies.count == 7 })
        for call in sink.calls {
            let tenants = Set(call.bodies.map { $0.split(separator: "-").first.map(String.init) ?? "" })
            #expect(tenants.count == 1, "a batch mixes metadata values: \(call.bodies)")
            // Only the key asked for goes on, under its lowercased name, with the call's value.
            let expected = tenants.first == "none" ? [] : [tenants.first ?? ""]
            #expect(call.metadata.values == ["x-tenant": expected])
        }
        #expect(Set(sink.bodies) == ["a-0", "b-1", "a-2", "b-3", "a-4", "b-5", "none"])
        running.cancel()
        _ = await running.result
    }

    @Test func metadataCardinalityIsBounded() async throws {
        let sink = CollectingConsumer()
        let batch = try make(
            OTelColProcessorBatch.self,
            batchConfig(#"metadata_keys = ["tenant"]"#, "metadata_cardinality_limit = 2"), sink: sink)
        for tenant in ["a", "b"] {
            try await ClientMetadata.$current.withValue(ClientMetadata([("tenant", tenant)])) {
                try await batch.consume(logs([tenant]))
            }
        }
        await #expect(throws: PipelineError.self) {
            try await ClientMetadata.$current.withValue(ClientMetadata([("tenant", "c")])) {
                try await batch.consume(logs(["c"]))
            }
        }
        // A known combination is still accepted.
        try await ClientMetadata.$current.withValue(ClientMetadata([("tenant", "a")])) {
            try await batch.consume(logs(["a again"]))
        }
    }

    @Test func duplicateMetadataKeysAreRefused() throws {
        #expect(throws: ComponentHarness.Problem.self) {
            _ = try make(OTelColProcessorBatch.self, batchConfig(#"metadata_keys = ["Tenant", "tenant"]"#), sink: CollectingConsumer())
        }
    }

    /// `include_metadata` puts the request's headers in the client metadata the pipeline sees; without it, none.
    @Test(arguments: [true, false]) func receiverIncludesRequestHeadersWhenAsked(include: Bool) async throws {
        let sink = CollectingConsumer()
        let receiver = try make(OTelColReceiverOTLP.self, """
            otelcol.receiver.otlp "test" {
              http {
                endpoint = "127.0.0.1:0"
                include_metadata = \(include)
              }
              output {
                logs = [sink]
              }
            }
            """, sink: sink)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        let port = try #require(receiver.listeningPort)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/logs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.headers.add(name: "X-Tenant", value: "team-a")
        request.body = .bytes(ByteBuffer(bytes: OTLPProtobuf.encodeLogsRequest(logs(["hello"]))))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        #expect(response.status.code == 200)
        #expect(sink.bodies == ["hello"])
        #expect(sink.calls.first?.metadata["x-tenant"] == (include ? ["team-a"] : []))
        running.cancel()
        _ = await running.result
    }
}
