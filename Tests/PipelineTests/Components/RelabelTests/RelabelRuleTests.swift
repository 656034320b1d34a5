@testable import GoCompat
import Testing
import PipelineTestSupport
import TestSupport
@testable import Pipeline
import Wire

@Suite struct RelabelRuleTests {
    /// Relabels `labels` with the `rule` blocks in `rules`, through `discovery.relabel` as a user writes it.
    static func relabel(_ labels: [String: String], _ rules: String) throws -> [String: String]? {
        let (_, arguments) = try ComponentHarness.decode(
            DiscoveryRelabel.Arguments.self, "discovery.relabel \"t\" {\n targets = []\n\(rules)\n}")
        guard let pairs = RelabelRule.process(arguments.rules, Target(labels).pairs) else { return nil }
        return Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) })
    }

    static func problem(_ rules: String) -> String? {
        ComponentHarness.problem(DiscoveryRelabel.Arguments.self, "discovery.relabel \"t\" {\n targets = []\n\(rules)\n}")
    }

    // Cases drawn from Alloy's discovery.relabel docs and Prometheus' relabel_test.go.
    @Test(arguments: [
        // replace: the docs' example joins two labels and extracts the host.
        (["__address__": "localhost:9100", "instance": "one"],
         "rule {\n source_labels = [\"__address__\", \"instance\"]\n separator = \"/\"\n regex = \"(.*)/(.*)\"\n target_label = \"destination\"\n replacement = \"$1\"\n action = \"replace\"\n}",
         ["__address__": "localhost:9100", "instance": "one", "destination": "localhost:9100"] as [String: String]?),
        // The regex is anchored: "a" does not match "bab".
        (["a": "bab"], "rule {\n source_labels = [\"a\"]\n regex = \"a\"\n target_label = \"b\"\n replacement = \"x\"\n}", ["a": "bab"]),
        // ${1}x versus $1x (the group named "1x", empty): an empty result deletes the target.
        (["a": "foo", "b": "keep"], "rule {\n source_labels = [\"a\"]\n regex = \"(f)oo\"\n target_label = \"b\"\n replacement = \"$1x\"\n}", ["a": "foo"]),
        (["a": "foo"], "rule {\n source_labels = [\"a\"]\n regex = \"(f)oo\"\n target_label = \"b\"\n replacement = \"${1}x\"\n}", ["a": "foo", "b": "fx"]),
        // Named groups and references in target_label.
        (["path": "/var/log/pods/ns_pod_uid/app/0.log"],
         "rule {\n source_labels = [\"path\"]\n regex = \"/var/log/pods/(?P<ns>[^_]+)_.*\"\n target_label = \"namespace\"\n replacement = \"$ns\"\n}",
         ["path": "/var/log/pods/ns_pod_uid/app/0.log", "namespace": "ns"]),
        (["a": "env_prod"], "rule {\n source_labels = [\"a\"]\n regex = \"(\\\\w+)_(\\\\w+)\"\n target_label = \"${1}\"\n replacement = \"$2\"\n}", ["a": "env_prod", "env": "prod"]),
        // Missing source labels join as empty strings; the fast path sets a constant.
        ([:] as [String: String], "rule {\n target_label = \"job\"\n replacement = \"static\"\n}", ["job": "static"]),
        // keep / drop.
        (["app": "web"], "rule {\n source_labels = [\"app\"]\n regex = \"web|api\"\n action = \"keep\"\n}", ["app": "web"]),
        (["app": "db"], "rule {\n source_labels = [\"app\"]\n regex = \"web|api\"\n action = \"keep\"\n}", nil),
        (["app": "db"], "rule {\n source_labels = [\"app\"]\n regex = \"db\"\n action = \"drop\"\n}", nil),
        // keepequal / dropequal compare with target_label's value.
        (["a": "1", "b": "1"], "rule {\n source_labels = [\"a\"]\n target_label = \"b\"\n action = \"keepequal\"\n}", ["a": "1", "b": "1"]),
        (["a": "1", "b": "2"], "rule {\n source_labels = [\"a\"]\n target_label = \"b\"\n action = \"keepequal\"\n}", nil),
        (["a": "1", "b": "1"], "rule {\n source_labels = [\"a\"]\n target_label = \"b\"\n action = \"dropequal\"\n}", nil),
        // hashmod: Prometheus' relabel_test.go gives 976 for "baz" modulo 1000 (md5, last 8 bytes big-endian).
        (["c": "baz"], "rule {\n source_labels = [\"c\"]\n modulus = 1000\n target_label = \"d\"\n action = \"hashmod\"\n}", ["c": "baz", "d": "976"]),
        // labelmap copies matching labels under new names.
        (["__meta_kubernetes_pod_label_app": "web", "__meta_kubernetes_pod_label_tier": "front", "x": "y"],
         "rule {\n regex = \"__meta_kubernetes_pod_label_(.+)\"\n action = \"labelmap\"\n}",
         ["__meta_kubernetes_pod_label_app": "web", "__meta_kubernetes_pod_label_tier": "front", "x": "y", "app": "web", "tier": "front"]),
        // labeldrop / labelkeep by name.
        (["a": "1", "b_tmp": "2"], "rule {\n regex = \".*_tmp\"\n action = \"labeldrop\"\n}", ["a": "1"]),
        (["a": "1", "b_tmp": "2"], "rule {\n regex = \".*_tmp\"\n action = \"labelkeep\"\n}", ["b_tmp": "2"]),
        // lowercase / uppercase.
        (["a": "MiXeD"], "rule {\n source_labels = [\"a\"]\n target_label = \"lower\"\n action = \"lowercase\"\n}", ["a": "MiXeD", "lower": "mixed"]),
        (["a": "MiXeD"], "rule {\n source_labels = [\"a\"]\n target_label = \"upper\"\n action = \"uppercase\"\n}", ["a": "MiXeD", "upper": "MIXED"]),
        // $$ is a literal dollar.
        (["a": "x"], "rule {\n source_labels = [\"a\"]\n target_label = \"b\"\n replacement = \"$$1\"\n}", ["a": "x", "b": "$1"]),
    ])
    func relabels(input: [String: String], rules: String, expected: [String: String]?) throws {
        #expect(try Self.relabel(input, rules) == expected)
    }

    @Test func rulesApplyInOrderAndAnEmptySetIsDropped() throws {
        let rules = """
            rule {
              source_labels = ["__path__"]
              regex = "/var/log/pods/([^_]+)_([^_]+)_[^/]+/([^/]+)/.*"
              target_label = "namespace"
              replacement = "$1"
            }
            rule {
              source_labels = ["__path__"]
              regex = "/var/log/pods/([^_]+)_([^_]+)_[^/]+/([^/]+)/.*"
              target_label = "container"
              replacement = "$3"
            }
            rule {
              source_labels = ["namespace"]
              regex = "kube-.*"
              action = "drop"
            }
            """
        #expect(try Self.relabel(["__path__": "/var/log/pods/web_api-1_u/srv/0.log"], rules)
            == ["__path__": "/var/log/pods/web_api-1_u/srv/0.log", "namespace": "web", "container": "srv"])
        #expect(try Self.relabel(["__path__": "/var/log/pods/kube-system_dns_u/c/0.log"], rules) == nil)
        #expect(try Self.relabel(["a": "b"], "rule {\n regex = \"a\"\n action = \"labeldrop\"\n}") == nil)
    }

    @Test(arguments: [
        ("rule {\n action = \"replace\"\n}", "relabel configuration for replace action requires 'target_label' value"),
        ("rule {\n action = \"hashmod\"\n target_label = \"x\"\n}", "relabel configuration for hashmod requires non-zero modulus"),
        ("rule {\n action = \"labeldrop\"\n regex = \"x\"\n source_labels = [\"a\"]\n}", "labeldrop action requires only 'regex', and no other fields"),
        ("rule {\n action = \"keepequal\"\n target_label = \"x\"\n regex = \"y\"\n}", "keepequal action requires only 'source_labels' and `target_label`, and no other fields"),
        ("rule {\n action = \"replace\"\n target_label = \"0bad\"\n}", "\"0bad\" is invalid 'target_label' for replace action"),
        ("rule {\n action = \"explode\"\n}", "unknown relabel action \"explode\""),
        ("rule {\n regex = \"(\"\n target_label = \"x\"\n}", "error parsing regexp: missing closing )"),
    ])
    func invalidRulesAreRefusedWithPrometheusMessages(rules: String, message: String) {
        let problem = Self.problem(rules)
        #expect(problem?.contains(message) == true, "\(problem ?? "accepted")")
    }

    @Test func templateExpansionNeverCrashesOnRandomTemplates() throws {
        let regex = try AnchoredRegex("(?P<a>x)(y)?")
        let groups = try #require(regex.groups("x"))
        var random = SeededRandom(seed: 3)
        let alphabet = Array("$${}a1_x-".unicodeScalars)
        for _ in 0..<5_000 {
            var template = ""
            for _ in 0..<Int(random.next() % 12) { template.unicodeScalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
            _ = regex.expand(template, groups: groups)
        }
        #expect(regex.expand("$a-${2}-$9-${a}", groups: groups) == "x---x")
    }
}
