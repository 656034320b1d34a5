@testable import AlloyLanguage
import Foundation
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// The documented mapping (docs/agent.md) of OTel severities to Loki's `detected_level`, end to end:
/// `otelcol.processor.transform` → `otelcol.exporter.loki` → the entries `loki.write` would push.
@Suite struct SeverityToDetectedLevelTests {
    typealias T = OTTLTest

    /// The example block of docs/agent.md, sending to the test's exporter: the documentation is what is tested.
    static func documentedConfig() throws -> String {
        let docs = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/agent.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let heading = try #require(text.range(of: "**Severity to Loki's `detected_level`.**"))
        let open = try #require(text.range(of: "```alloy\n", range: heading.upperBound..<text.endIndex))
        let close = try #require(text.range(of: "```", range: open.upperBound..<text.endIndex))
        let block = String(text[open.upperBound..<close.lowerBound])
        #expect(block.contains("otelcol.exporter.loki.default.input"))
        return block.replacingOccurrences(of: "otelcol.exporter.loki.default.input", with: "exporter")
    }

    @Test func everySeverityRangeReachesLokiAsALabel() async throws {
        let receiver = CollectingReceiver()
        let exporter = try ComponentHarness.make(
            OTelColExporterLoki.self, #"otelcol.exporter.loki "default" { forward_to = [out] }"#,
            scope: ComponentHarness.scope(receivers: ["out": receiver]))
        let processor = try ComponentHarness.make(
            OTelColProcessorTransform.self, try Self.documentedConfig(), scope: ComponentHarness.scope(consumers: ["exporter": exporter]))
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

    @Test func theExampleLoadsInAGatewayGraphWithTheStandardComponents() throws {
        #expect(ComponentRegistry.standard.names.contains("otelcol.processor.transform"))
        #expect(ComponentRegistry.standard.names.contains("otelcol.processor.attributes"))
        let text = """
            otelcol.receiver.otlp "default" {
              http {}
              output { logs = [otelcol.processor.attributes.default.input] }
            }
            otelcol.processor.attributes "default" {
              action {
                key    = "user.email"
                action = "hash"
              }
              output { logs = [otelcol.processor.transform.levels.input] }
            }
            \(try Self.documentedConfig().replacingOccurrences(of: "[exporter]", with: "[otelcol.exporter.loki.default.input]"))
            otelcol.exporter.loki "default" {
              forward_to = [loki.echo.default.receiver]
            }
            loki.echo "default" {}
            """
        let file = try AlloyParser.parse(name: "gateway.alloy", text: text)
        let plan = try GraphPlan.build(file, registry: .standard)
        #expect(plan.order.last == "otelcol.receiver.otlp.default")
    }
}
