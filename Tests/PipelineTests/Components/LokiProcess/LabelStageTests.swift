import Testing
import Wire
@testable import Pipeline

@Suite struct LabelStageTests {
    @Test func labelsFromExtractedValues() throws {
        // Alloy's documented example: an empty source means the label's own name.
        let stages = """
            stage.regex { expression = "^level=(?P<env>\\\\w+) user=(?P<username>\\\\w+)" }
            stage.labels {
              values = { env = "", user = "username", missing = "" }
            }
            """
        let out = try #require(try Stages.run(stages, line: "level=prod user=alice rest", labels: ["job": "app"]))
        #expect(out.labelText == #"{env="prod", job="app", user="alice"}"#)
        #expect(out.text == "level=prod user=alice rest")
    }

    @Test func labelsFromStructuredMetadata() throws {
        var entry = Stages.entry("x")
        entry.structuredMetadata = [LabelPair(name: "trace_id", value: "abc")]
        let out = try Stages.run(#"stage.labels { values = { trace = "trace_id" }\n source_type = "structured_metadata" }"#.replacingOccurrences(of: "\\n", with: "\n"), [entry]).entries
        #expect(out.first?.labels["trace"] == "abc")
    }

    @Test func staticDropAndKeep() throws {
        let labels = ["kubernetes_node_name": "n1", "kubernetes_namespace": "ns", "kubernetes_pod_name": "p", "app": "a"]
        let dropped = try #require(try Stages.run(#"stage.label_drop { values = [ "kubernetes_node_name", "kubernetes_namespace" ] }"#, line: "x", labels: labels))
        #expect(dropped.labelText == #"{app="a", kubernetes_pod_name="p"}"#)
        let kept = try #require(try Stages.run(#"stage.label_keep { values = [ "kubernetes_pod_name", "app" ] }"#, line: "x", labels: labels))
        #expect(kept.labelText == #"{app="a", kubernetes_pod_name="p"}"#)
        let fixed = try #require(try Stages.run(#"stage.static_labels { values = { foo = "fooval", bar = "barval", app = "b" } }"#, line: "x", labels: ["app": "a"]))
        #expect(fixed.labelText == #"{app="b", bar="barval", foo="fooval"}"#)
    }

    @Test func structuredMetadataFromExtractedValuesAndLabels() throws {
        let stages = """
            stage.regex { expression = "user=(?P<username>\\\\w+)" }
            stage.structured_metadata {
              values = { user = "username", pod = "" }
            }
            """
        let out = try #require(try Stages.run(stages, line: "user=bob", labels: ["pod": "p-1", "job": "j"]))
        #expect(out.structuredMetadata == [LabelPair(name: "pod", value: "p-1"), LabelPair(name: "user", value: "bob")])
        // A label named as a source moves to structured metadata.
        #expect(out.labelText == #"{job="j"}"#)
    }

    @Test func outputReplacesTheLine() throws {
        let stages = """
            stage.json { expressions = { user = "user", message = "message" } }
            stage.labels { values = { user = "user" } }
            stage.output { source = "message" }
            """
        let out = try #require(try Stages.run(stages, line: #"{"user": "John Doe", "message": "hello, world!"}"#))
        #expect(out.text == "hello, world!")
        #expect(out.labelText == #"{user="John Doe"}"#)
        // A missing source leaves the line.
        #expect(try Stages.run(#"stage.output { source = "nope" }"#, line: "keep")?.text == "keep")
    }

    @Test func regexOnSourceAndLabelsFromGroups() throws {
        let stages = """
            stage.json { expressions = { time = "timestamp" } }
            stage.regex {
              expression = "^(?P<year>\\\\d+)"
              source     = "time"
              labels_from_groups = true
            }
            """
        let extracted = try Stages.extracted(stages, line: #"{"timestamp":"2022-01-01T01:00:00.000000001Z"}"#)
        #expect(extracted["year"] == .string("2022"))
        #expect(try Stages.run(stages, line: #"{"timestamp":"2022-01-01T01:00:00.000000001Z"}"#)?.labels["year"] == "2022")
        // Alloy's CRI regex from the docs, as a regex stage.
        let cri = try Stages.extracted(#"stage.regex { expression = "^(?s)(?P<time>\\S+?) (?P<stream>stdout|stderr) (?P<flags>\\S+?) (?P<content>.*)$" }"#, line: "2019-01-01T01:00:00.000000001Z stderr P i'm a log message!")
        #expect(cri["content"] == .string("i'm a log message!"))
        #expect(cri["flags"] == .string("P"))
    }

    @Test func labelSetsAreSharedAcrossEntriesOfOneStream() throws {
        var pipeline = try Stages.pipeline(#"stage.cri {}\#nstage.static_labels { values = { cluster = "c1" } }"#)
        var context = StageContext(now: Stages.now)
        let labels = LabelSet([LabelPair(name: "job", value: "pods")])
        let entries = (0..<50).map { LogEntry(timestamp: 0, line: Array("2024-05-01T10:00:00Z stdout F line \($0)".utf8), labels: labels) }
        let out = pipeline.run(entries, &context)
        #expect(out.count == 50)
        #expect(out.allSatisfy { $0.labels.description == #"{cluster="c1", job="pods", stream="stdout"}"# })
        let buffers = Set(out.map { $0.labels.pairs.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) } })
        #expect(buffers.count == 1)
    }

    @Test func invalidArgumentsNameStageAndAttribute() {
        #expect(Stages.problem(#"stage.labels { values = { "bad-name" = "" } }"#)?.contains("values: invalid label name \"bad-name\"") == true)
        #expect(Stages.problem(#"stage.regex { expression = "(unclosed" }"#)?.contains("expression: invalid regular expression") == true)
        #expect(Stages.problem(#"stage.output {}"#)?.contains("missing required attribute \"source\" in loki.process.test > stage.output") == true)
        #expect(Stages.problem(#"stage.labels {}"#)?.contains("missing required attribute \"values\"") == true)
        #expect(Stages.problem(#"stage.bogus {}"#)?.contains("unrecognized block name \"stage.bogus\"") == true)
        #expect(Stages.problem(#"stage.geoip {}"#)?.contains("stage.geoip is not supported yet") == true)
        #expect(Stages.problem(#"stage.cri "x" {}"#)?.contains("take no label") == true)
    }
}
