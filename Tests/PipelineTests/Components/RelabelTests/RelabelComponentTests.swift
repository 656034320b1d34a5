import Prometheus
@testable import AlloyLanguage
import Testing
@testable import Pipeline
import PipelineTestSupport
import Wire

@Suite struct RelabelComponentTests {
    @Test func discoveryRelabelExportsTheKeptTargetsAndItsRules() throws {
        let config = """
            discovery.relabel "pods" {
              targets = [{__path__ = "/var/log/pods/web_api_u/srv/0.log"}, {__path__ = "/var/log/pods/kube-system_dns_u/c/0.log"}]
              rule {
                source_labels = ["__path__"]
                regex         = "/var/log/pods/([^_]+)_.*"
                target_label  = "namespace"
              }
              rule {
                source_labels = ["namespace"]
                regex         = "kube-system"
                action        = "drop"
              }
            }
            """
        let (_, arguments) = try ComponentHarness.decode(DiscoveryRelabel.Arguments.self, config)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let component = try DiscoveryRelabel(context: FileTailHarness.context(storage: dir.path), arguments: arguments)
        let output = component.exports["output"]?.arrayValue ?? []
        #expect(output.count == 1)
        #expect(output.first?.objectValue?["namespace"]?.stringValue == "web")
        guard case .capsule(let capsule) = component.exports["rules"], let rules = capsule.payload(RelabelRules.self) else {
            Issue.record("rules is not a RelabelRules capsule")
            return
        }
        #expect(rules.rules.count == 2)
    }

    @Test func lokiRelabelRewritesEntriesDropsEmptyOnesAndCountsThem() async throws {
        let receiver = CollectingReceiver()
        let scope = ComponentHarness.scope(receivers: ["out": receiver])
        let config = """
            loki.relabel "t" {
              forward_to = [out]
              rule {
                source_labels = ["level"]
                regex         = "debug"
                action        = "drop"
              }
              rule {
                regex  = "level"
                action = "labeldrop"
              }
            }
            """
        let (_, arguments) = try ComponentHarness.decode(LokiRelabel.Arguments.self, config, scope: scope)
        let registry = PrometheusCollectorRegistry()
        let relabel = try LokiRelabel(context: ComponentHarness.context(id: "loki.relabel.t", registry: registry), arguments: arguments)
        func entry(_ level: String, _ line: String) -> LogEntry {
            LogEntry(timestamp: 1, line: Array(line.utf8), labels: LabelSet([LabelPair(name: "app", value: "a"), LabelPair(name: "level", value: level)]))
        }
        try await relabel.receive(LogBatch(entries: [entry("info", "1"), entry("debug", "2"), entry("info", "3"), entry("warn", "4")]))
        #expect(receiver.lines == ["1", "3", "4"])
        #expect(receiver.entries.allSatisfy { $0.labels == LabelSet([LabelPair(name: "app", value: "a")]) })
        #expect(registry.sample("loki_relabel_entries_processed", ["component_id": "loki.relabel.t"]) == 4)
        #expect(registry.sample("loki_relabel_entries_written", ["component_id": "loki.relabel.t"]) == 3)
        #expect(registry.sample("loki_relabel_cache_misses", ["component_id": "loki.relabel.t"]) == 3)
    }
}
