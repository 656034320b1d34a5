import Testing
import TestSupport
import Wire
@testable import Pipeline

@Suite struct FilterStageTests {
    @Test func dropConditionsAreAnded() throws {
        // Alloy's example: contains "debug" and longer than 1KB.
        let stages = "stage.drop {\n expression = \".*debug.*\"\n longer_than = \"1KB\"\n}"
        let long = String(repeating: "x", count: 1100)
        let out = try Stages.run(stages, [Stages.entry("debug " + long), Stages.entry("debug short"), Stages.entry("info " + long)])
        #expect(out.entries.map { String($0.text.prefix(11)) } == ["debug short", "info xxxxxx"])
        #expect(out.context.dropped == ["drop_stage": 1])
    }

    @Test func separateDropBlocksAreOred() throws {
        let stages = """
            stage.regex { expression = "app=(?P<app>\\\\w+)" }
            stage.drop {
              older_than          = "24h"
              drop_counter_reason = "too old"
            }
            stage.drop {
              longer_than         = "8KB"
              drop_counter_reason = "too long"
            }
            stage.drop {
              source = "app"
              value  = "example"
            }
            """
        let day: Int64 = 86_400_000_000_000
        let out = try Stages.run(stages, [
            Stages.entry("app=old", timestamp: Stages.now - 2 * day),
            Stages.entry("app=ok " + String(repeating: "y", count: 9000), timestamp: Stages.now),
            Stages.entry("app=example", timestamp: Stages.now),
            Stages.entry("app=examples", timestamp: Stages.now),
        ])
        #expect(out.entries.map(\.text) == ["app=examples"])
        #expect(out.context.dropped == ["too old": 1, "too long": 1, "drop_stage": 1])
    }

    @Test func dropOnSeveralSourcesJoinsThemWithTheSeparator() throws {
        let stages = """
            stage.regex { expression = "(?P<a>\\\\w+) (?P<b>\\\\w+)" }
            stage.drop {
              source     = "a,b"
              separator  = "|"
              expression = "^x\\\\|y$"
            }
            stage.drop { source = "nothere" }
            """
        let out = try Stages.run(stages, [Stages.entry("x y"), Stages.entry("x z")])
        #expect(out.entries.map(\.text) == ["x z"])
    }

    @Test func dropArgumentsAreChecked() {
        #expect(Stages.problem("stage.drop {}")?.contains("needs at least one of source, expression, older_than or longer_than") == true)
        #expect(Stages.problem("stage.drop {\n value = \"x\"\n}")?.contains("value needs source") == true)
        #expect(Stages.problem("stage.drop {\n source = \"a\"\n value = \"x\"\n expression = \"y\"\n}")?.contains("cannot both be set") == true)
        #expect(Stages.problem("stage.drop { longer_than = \"lots\" }")?.contains("longer_than: invalid size") == true)
    }

    @Test func tenantFromValueSourceOrLabel() throws {
        let fixed = try Stages.run(#"stage.tenant { value = "team-a" }"#, line: "x")
        #expect(fixed?.labels["__tenant_id__"] == "team-a")
        let fromSource = try Stages.run("stage.json { expressions = { customer_id = \"\" } }\nstage.tenant { source = \"customer_id\" }", line: #"{"customer_id": "c-9"}"#)
        #expect(fromSource?.labels["__tenant_id__"] == "c-9")
        let fromLabel = try Stages.run(#"stage.tenant { label = "namespace" }"#, line: "x", labels: ["namespace": "ns1"])
        #expect(fromLabel?.labels["__tenant_id__"] == "ns1")
        let missing = try Stages.run(#"stage.tenant { label = "namespace" }"#, line: "x")
        #expect(missing?.labels["__tenant_id__"] == nil)
        #expect(Stages.problem("stage.tenant {\n value = \"a\"\n label = \"b\"\n}")?.contains("mutually exclusive") == true)
    }

    @Test func logfmtDocumentedExample() throws {
        let stages = """
            stage.logfmt {
                mapping = { "extra" = "" }
            }
            stage.logfmt {
                mapping = { "username" = "user" }
                source  = "extra"
            }
            """
        let extracted = try Stages.extracted(stages, line: #"time=2012-11-01T22:08:41+00:00 app=loki level=WARN duration=125 message="this is a log line" extra="user=example_name""#)
        #expect(extracted["extra"] == .string("user=example_name"))
        #expect(extracted["username"] == .string("example_name"))
        #expect(extracted["app"] == nil)
        let byRegex = try Stages.extracted(#"stage.logfmt { regex = "^(app|level)$" }"#, line: "app=loki level=WARN other=1")
        #expect(byRegex["app"] == .string("loki") && byRegex["level"] == .string("WARN") && byRegex["other"] == nil)
    }

    @Test func logfmtFuzzNeverCrashes() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x10F))
        var pipeline = try Stages.pipeline("stage.logfmt {\n mapping = { a = \"\", b = \"k\" }\n regex = \"^x\"\n}")
        let alphabet = Array(#"ak=x " \\n\u00=é"#.utf8) + [0x0A, 0x0D, 0xFF]
        for _ in 0..<FuzzBudget.scaled(3000) {
            let bytes = (0..<random.int(0...30)).map { _ in alphabet[random.int(0...alphabet.count - 1)] }
            var context = StageContext(now: Stages.now)
            _ = pipeline.run([LogEntry(timestamp: 0, line: bytes, labels: LabelSet([]))], &context)
        }
    }

    @Test func packDocumentedExample() throws {
        let out = try #require(try Stages.run(#"stage.pack { labels = ["env", "user_id"] }"#, [
            Stages.entry("something went wrong", labels: ["level": "error", "env": "dev", "user_id": "f8fas0r"], timestamp: 5),
        ]).entries.first)
        #expect(out.text == #"{"env":"dev","user_id":"f8fas0r","_entry":"something went wrong"}"#)
        #expect(out.labelText == #"{level="error"}"#)
        #expect(out.timestamp == Stages.now)
        let kept = try Stages.run("stage.pack {\n labels = [\"nope\"]\n ingest_timestamp = false\n}", [Stages.entry("a\"b", timestamp: 5)]).entries.first
        #expect(kept?.text == #"{"_entry":"a\"b"}"#)
        #expect(kept?.timestamp == 5)
    }

    @Test func decolorizeDocumentedExample() throws {
        let out = try Stages.run("stage.decolorize {}", line: "[2022-11-04 22:17:57.811] \u{1B}[0;32mhttp\u{1B}[0m: GET /_health (0 ms) 204")
        #expect(out?.text == "[2022-11-04 22:17:57.811] http: GET /_health (0 ms) 204")
        #expect(try Stages.run("stage.decolorize {}", line: "plain")?.text == "plain")
    }
}
