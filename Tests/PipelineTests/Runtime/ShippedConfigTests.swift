@testable import AlloyLanguage
import Foundation
import Testing
@testable import Pipeline

/// The configurations shipped in config/ parse, plan and decode with the standard components, and the quickstart's
/// built-in copy is the file.
@Suite struct ShippedConfigTests {
    static let configDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config")

    @Test func quickstartRunsExactlyConfigLocalAlloy() throws {
        let file = try String(contentsOf: Self.configDirectory.appendingPathComponent("local.alloy"), encoding: .utf8)
        #expect(QuickstartConfig.localAlloy == file)
    }

    @Test(arguments: ["local.alloy", "gateway.alloy"])
    func shippedConfigsAreValid(name: String) throws {
        let text = try String(contentsOf: Self.configDirectory.appendingPathComponent(name), encoding: .utf8)
        let file = try AlloyParser.parse(name: name, text: text)
        let plan = try GraphPlan.build(file, registry: .standard)
        #expect(plan.order.last == "otelcol.receiver.otlp.default")
        #expect(AlloyFormatter.format(file) == text, "\(name) is not in canonical formatting (estuary fmt)")
    }
}
