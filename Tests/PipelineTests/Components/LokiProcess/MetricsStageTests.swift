import Prometheus
import Testing
@testable import Pipeline
import Wire

@Suite struct MetricsStageTests {
    /// Runs `stages` over `lines` (labels `app="shop"`) with metrics in a registry of its own; the exposition text.
    static func exposition(_ stages: String, _ lines: [String]) throws -> String {
        let registry = PrometheusCollectorRegistry()
        var pipeline = ProcessPipeline(
            try Stages.arguments(stages).stages, environment: StageEnvironment(registry: registry, componentID: "loki.process.t"))
        var context = StageContext(now: Stages.now)
        _ = pipeline.run(lines.map { Stages.entry($0, labels: ["app": "shop"]) }, &context)
        return registry.emitToString()
    }

    /// The value of the series written exactly as `series` (name and labels) in `text`.
    static func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func countersFromAlloysDocs() throws {
        let text = try Self.exposition("""
            stage.metrics {
              metric.counter {
                name              = "log_lines_total"
                description       = "total number of log lines"
                prefix            = "my_custom_tracking_"
                match_all         = true
                action            = "inc"
                max_idle_duration = "24h"
              }
              metric.counter {
                name              = "log_bytes_total"
                prefix            = "my_custom_tracking_"
                match_all         = true
                count_entry_bytes = true
                action            = "add"
              }
            }
            stage.regex {
              expression = "^.* order_status=(?P<order_status>.*?) .*$"
            }
            stage.metrics {
              metric.counter {
                name        = "successful_orders_total"
                description = "successful orders"
                source      = "order_status"
                value       = "success"
                action      = "inc"
              }
            }
            """, ["a order_status=success x", "b order_status=failed x", "c order_status=success x"])
        #expect(Self.value(text, #"my_custom_tracking_log_lines_total{app="shop",component_id="loki.process.t"}"#) == 3)
        #expect(Self.value(text, #"my_custom_tracking_log_bytes_total{app="shop",component_id="loki.process.t"}"#) == 71)
        #expect(Self.value(text, #"loki_process_custom_successful_orders_total{app="shop",component_id="loki.process.t"}"#) == 2)
        #expect(text.contains("# HELP my_custom_tracking_log_lines_total total number of log lines"))
    }

    @Test func gaugesAndHistograms() throws {
        let text = try Self.exposition("""
            stage.logfmt {
              mapping = { queue = "", took = "" }
            }
            stage.metrics {
              metric.gauge {
                name   = "queue_length"
                source = "queue"
                action = "set"
              }
              metric.gauge {
                name   = "queue_sum"
                source = "queue"
                action = "add"
              }
              metric.histogram {
                name    = "response_seconds"
                source  = "took"
                buckets = [0.01, 0.1, 1]
              }
            }
            """, ["queue=5 took=0.05", "queue=3 took=0.5", "took=2", "queue=notanumber took=x"])
        #expect(Self.value(text, #"loki_process_custom_queue_length{app="shop",component_id="loki.process.t"}"#) == 3)
        #expect(Self.value(text, #"loki_process_custom_queue_sum{app="shop",component_id="loki.process.t"}"#) == 8)
        #expect(Self.value(text, #"loki_process_custom_response_seconds_bucket{app="shop",component_id="loki.process.t",le="0.1"}"#) == 1)
        #expect(Self.value(text, #"loki_process_custom_response_seconds_bucket{app="shop",component_id="loki.process.t",le="1.0"}"#) == 2)
        #expect(Self.value(text, #"loki_process_custom_response_seconds_count{app="shop",component_id="loki.process.t"}"#) == 3)
    }

    @Test func seriesIdleForMaxIdleDurationGoAway() throws {
        let registry = PrometheusCollectorRegistry()
        var pipeline = ProcessPipeline(try Stages.arguments("""
            stage.metrics {
              metric.counter {
                name              = "lines"
                match_all         = true
                action            = "inc"
                max_idle_duration = "1s"
              }
            }
            """).stages, environment: StageEnvironment(registry: registry, componentID: "c"))
        var context = StageContext(now: Stages.now)
        _ = pipeline.run([Stages.entry("x", labels: ["pod": "a"])], &context)
        #expect(registry.emitToString().contains(#"loki_process_custom_lines{component_id="c",pod="a"}"#))
        context = StageContext(now: Stages.now + 3_000_000_000)
        _ = pipeline.run([Stages.entry("y", labels: ["pod": "b"])], &context)
        let text = registry.emitToString()
        #expect(!text.contains(#"pod="a""#))
        #expect(text.contains(#"loki_process_custom_lines{component_id="c",pod="b"}"#))
    }

    @Test(arguments: [
        ("stage.metrics {\n}", "needs at least one metric"),
        ("stage.metrics {\n metric.counter {\n name = \"x\"\n action = \"set\"\n }\n}", "expected \"inc\" or \"add\""),
        ("stage.metrics {\n metric.gauge {\n name = \"x\"\n action = \"inc2\"\n }\n}", "for a gauge"),
        ("stage.metrics {\n metric.counter {\n name = \"bad-name\"\n action = \"inc\"\n }\n}", "not a valid metric name"),
        ("stage.metrics {\n metric.summary {\n name = \"x\"\n }\n}", "expected metric.counter"),
        ("stage.metrics {\n metric.counter {\n name = \"x\"\n action = \"add\"\n count_entry_bytes = true\n }\n}", "needs match_all"),
    ])
    func badMetricsAreRefused(stages: String, message: String) {
        let problem = Stages.problem(stages)
        #expect(problem?.contains(message) == true, "\(problem ?? "accepted")")
    }
}
