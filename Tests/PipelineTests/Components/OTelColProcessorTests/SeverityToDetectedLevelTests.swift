@testable import AlloyLanguage
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// The documented mapping (docs/agent.md) of OTel severities to Loki's `detected_level`, end to end:
/// `otelcol.processor.transform` → `otelcol.exporter.loki` → the entries `loki.write` would push.
@Suite struct SeverityToDetectedLevelTests {
    typealias T = OTTLTest

    /// The statements exactly as docs/agent.md gives them.
    static let config = #"""
        otelcol.processor.transform "levels" {
          error_mode = "ignore"
          log_statements {
            context    = "log"
            statements = [
              `set(attributes["detected_level"], "trace") where severity_number >= SEVERITY_NUMBER_TRACE and severity_number < SEVERITY_NUMBER_DEBUG`,
              `set(attributes["detected_level"], "debug") where severity_number >= SEVERITY_NUMBER_DEBUG and severity_number < SEVERITY_NUMBER_INFO`,
              `set(attributes["detected_level"], "info") where severity_number >= SEVERITY_NUMBER_INFO and severity_number < SEVERITY_NUMBER_WARN`,
              `set(attributes["detected_level"], "warn") where severity_number >= SEVERITY_NUMBER_WARN and severity_number < SEVERITY_NUMBER_ERROR`,
              `set(attributes["detected_level"], "error") where severity_number >= SEVERITY_NUMBER_ERROR and severity_number < SEVERITY_NUMBER_FATAL`,
              `set(attributes["detected_level"], "fatal") where severity_number >= SEVERITY_NUMBER_FATAL`,
              `set(attributes["loki.attribute.labels"], "detected_level") where attributes["detected_level"] != nil`,
            ]
          }
          output { logs = [exporter] }
        }
        """#

    @Test func everySeverityRangeReachesLokiAsALabel() async throws {
        let receiver = CollectingReceiver()
        let exporter = try ComponentHarness.make(
            OTelColExporterLoki.self, #"otelcol.exporter.loki "default" { forward_to = [out] }"#,
            scope: ComponentHarness.scope(receivers: ["out": receiver]))
        let processor = try ComponentHarness.make(
            OTelColProcessorTransform.self, Self.config, scope: ComponentHarness.scope(consumers: ["exporter": exporter]))
        let numbers: [Int32] = [0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24]
        try await processor.consume(T.logs(
            numbers.map { OTLPLogRecord(timeUnixNano: UInt64($0) + 1, severityNumber: $0, body: .string("n=\($0)")) },
            resource: [T.kv("service.name", .string("checkout"))]))
        let levels = receiver.entries.map { $0.labels["detected_level"] }
        #expect(levels == [nil, "trace", "trace", "debug", "debug", "info", "info", "warn", "warn", "error", "error",
                           "fatal", "fatal"])
        // The attribute became a label, so it is no longer in the line; the record's other fields are.
        let warn = try #require(receiver.entries.first { $0.labels["detected_level"] == "warn" })
        let line = String(decoding: warn.line, as: UTF8.self)
        #expect(!line.contains("detected_level"), "\(line)")
        #expect(line.contains(#""body":"n=13""#), "\(line)")
        #expect(warn.labels["job"] == "checkout")
    }
}
