import Prometheus
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// `loki.process` as the graph runs it: decoded from Alloy text, receiving batches, forwarding to a receiver.
@Suite struct LokiProcessComponentTests {
    static func make(_ stages: String, out: CollectingReceiver, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) throws -> LokiProcess {
        let context = ComponentHarness.context(id: "loki.process.test", registry: registry)
        return try LokiProcess(context: context, arguments: try Stages.arguments(stages, out: out), clock: { Stages.now })
    }

    static func metric(_ registry: PrometheusCollectorRegistry, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        registry.sample(name, labels.merging(["component_id": "loki.process.test"]) { $1 })
    }

    @Test func daemonSetPipelineEndToEnd() async throws {
        let out = CollectingReceiver()
        let stages = """
            stage.cri {}
            stage.regex { expression = "level=(?P<level>\\\\w+)" }
            stage.labels { values = { level = "" } }
            stage.static_labels { values = { cluster = "dev" } }
            stage.label_drop { values = ["filename"] }
            """
        let process = try Self.make(stages, out: out)
        #expect(process.exports["receiver"] != nil)
        let labels = ["job": "pods", "filename": "/var/log/pods/x/0.log"]
        try await process.receive(LogBatch(entries: [
            Stages.entry("2024-05-01T10:00:00Z stdout F level=info started", labels: labels),
            Stages.entry("2024-05-01T10:00:01Z stderr P level=error par", labels: labels),
            Stages.entry("2024-05-01T10:00:02Z stderr F tial", labels: labels),
        ]))
        #expect(out.lines == ["level=info started", "level=error partial"])
        #expect(out.entries.map(\.labelText) == [
            #"{cluster="dev", job="pods", level="info", stream="stdout"}"#,
            // The joined line is what later stages see.
            #"{cluster="dev", job="pods", level="error", stream="stderr"}"#,
        ])
        #expect(out.entries.map(\.timestamp) == [utc(2024, 5, 1, 10), utc(2024, 5, 1, 10, 0, 2)])
    }

    @Test func noStagesForwardsUnchanged() async throws {
        let out = CollectingReceiver()
        let process = try Self.make("", out: out)
        let batch = LogBatch(entries: [Stages.entry("a", labels: ["x": "1"]), Stages.entry("b")])
        try await process.receive(batch)
        #expect(out.batches == [batch])
    }

    @Test func backpressureReachesTheSenderUnchanged() async throws {
        let refusal = PipelineError.backpressure(retryAfter: .seconds(2), reason: "queue full")
        let out = CollectingReceiver(refusing: [refusal])
        let process = try Self.make("stage.static_labels { values = { a = \"b\" } }", out: out)
        await #expect(throws: refusal) { try await process.receive(LogBatch(entries: [Stages.entry("x")])) }
        try await process.receive(LogBatch(entries: [Stages.entry("y")]))
        #expect(out.lines == ["y"])
    }

    @Test func droppedEntriesAreCountedByReason() async throws {
        let out = CollectingReceiver()
        let registry = PrometheusCollectorRegistry()
        let process = try Self.make("stage.json {\n expressions = { a = \"\" }\n drop_malformed = true\n}", out: out, registry: registry)
        try await process.receive(LogBatch(entries: [Stages.entry("{}"), Stages.entry("bad"), Stages.entry("worse")]))
        #expect(out.lines == ["{}"])
        #expect(Self.metric(registry, "loki_process_dropped_lines_total", ["reason": "malformed_json"]) == 2)
        // Everything dropped: nothing is sent.
        try await process.receive(LogBatch(entries: [Stages.entry("bad")]))
        #expect(out.batches.count == 1)
    }

    @Test func reloadKeepsHeldPartialLinesWhenTheCRIStageIsUnchanged() async throws {
        let out = CollectingReceiver()
        let process = try Self.make("stage.cri {}", out: out)
        try await process.receive(LogBatch(entries: [Stages.entry("2024-05-01T10:00:00Z stdout P held ")]))
        try process.update(try Stages.arguments("stage.cri {}\nstage.static_labels { values = { v = \"2\" } }", out: out))
        try await process.receive(LogBatch(entries: [Stages.entry("2024-05-01T10:00:01Z stdout F joined")]))
        #expect(out.lines == ["held joined"])
        #expect(out.entries.first?.labels["v"] == "2")
        // A changed CRI stage starts afresh.
        try await process.receive(LogBatch(entries: [Stages.entry("2024-05-01T10:00:00Z stdout P lost? ")]))
        try process.update(try Stages.arguments("stage.cri { max_partial_lines = 5 }", out: out))
        try await process.receive(LogBatch(entries: [Stages.entry("2024-05-01T10:00:01Z stdout F fresh")]))
        #expect(out.lines == ["held joined", "fresh"])
    }

    @Test func partialFlushAndTruncationMetrics() async throws {
        let out = CollectingReceiver()
        let registry = PrometheusCollectorRegistry()
        let process = try Self.make("stage.cri {\n max_partial_lines = 1\n max_partial_line_size = 2\n max_partial_line_size_truncate = true\n}", out: out, registry: registry)
        try await process.receive(LogBatch(entries: [
            Stages.entry("2024-05-01T10:00:00Z stdout P aaaa", labels: ["p": "1"]),
            Stages.entry("2024-05-01T10:00:00Z stdout P bbbb", labels: ["p": "2"]),
        ]))
        #expect(out.lines == ["aa"])
        #expect(Self.metric(registry, "loki_process_cri_partial_lines_flushed_total") == 1)
        #expect(Self.metric(registry, "loki_process_cri_lines_truncated_total") == 2)
    }

    @Test func isRegisteredAsLokiProcess() {
        #expect(ComponentRegistry.standard.names.contains("loki.process"))
    }
}
