import Testing
@testable import Pipeline
import Wire

@Suite struct TemplateAndReplaceStageTests {
    @Test func templateSetsTheExtractedValueAsAlloysDocsShow() throws {
        let extracted = try Stages.extracted("""
            stage.template {
              source   = "new_key"
              template = "hello world!"
            }
            stage.template {
              source   = "app"
              template = "{{ ToLower .Value }}_some_suffix"
            }
            """, line: "x", labels: ["app": "LOKI"])
        #expect(extracted["new_key"] == .string("hello world!"))
        #expect(extracted["app"] == .string("loki_some_suffix"))
    }

    @Test func replaceMasksASecretInTheLine() throws {
        let entry = try Stages.run("""
            stage.replace {
              expression = "password (\\\\S+)"
              replace    = "****"
            }
            """, line: "i'm a log message who has sensitive information with password xyz!")
        #expect(entry?.text == "i'm a log message who has sensitive information with password ****")
    }

    @Test func replaceRendersEachGroupAsInAlloysAccessLogExample() throws {
        let stages = #"""
            stage.replace {
              expression = "^(?P<ip>\\S+) (?P<identd>\\S+) (?P<user>\\S+) \\[(?P<timestamp>[\\w:/]+\\s[+\\-]\\d{4})\\] \"(?P<action>\\S+)\\s?(?P<path>\\S+)?\\s?(?P<protocol>\\S+)?\" (?P<status>\\d{3}|-) (\\d+|-)\\s?\"?(?P<referer>[^\"]*)\"?\\s?\"?(?P<useragent>[^\"]*)?\"?$"
              replace    = "{{ if eq .Value \"200\" }}{{ Replace .Value \"200\" \"HttpStatusOk\" -1 }}{{ else }}{{ .Value | ToUpper }}{{ end }}"
            }
            """#
        let line = #"11.11.11.11 - frank [25/Jan/2000:14:00:01 -0500] "GET /1986.js HTTP/1.1" 200 932 "-" "Mozilla/5.0 (Windows; U; Windows NT 5.1; de; rv:1.9.1.7) Gecko/20091221 Firefox/3.5.7 GTB6""#
        let entry = try Stages.run(stages, line: line)
        #expect(entry?.text == #"11.11.11.11 - FRANK [25/JAN/2000:14:00:01 -0500] "GET /1986.JS HTTP/1.1" HttpStatusOk 932 "-" "MOZILLA/5.0 (WINDOWS; U; WINDOWS NT 5.1; DE; RV:1.9.1.7) GECKO/20091221 FIREFOX/3.5.7 GTB6""#)
        let extracted = try Stages.extracted(stages, line: line)
        #expect(extracted["user"] == .string("FRANK"))
        #expect(extracted["status"] == .string("HttpStatusOk"))
    }

    @Test func matchRunsNestedStagesOnMatchingEntriesAndDropsWithAReason() throws {
        let stages = """
            stage.match {
              selector = "{app=\\"web\\"} |= \\"error\\""
              stage.static_labels {
                values = { alert = "yes" }
              }
            }
            stage.match {
              selector            = "{app=\\"web\\"} |~ \\"health(check)?\\""
              action              = "drop"
              drop_counter_reason = "healthchecks"
            }
            """
        let (out, context) = try Stages.run(stages, [
            Stages.entry("an error", labels: ["app": "web"]), Stages.entry("fine", labels: ["app": "web"]),
            Stages.entry("healthcheck ok", labels: ["app": "web"]), Stages.entry("error", labels: ["app": "db"]),
        ])
        #expect(out.map(\.text) == ["an error", "fine", "error"])
        #expect(out.map { $0.labels["alert"] } == ["yes", nil, nil])
        #expect(context.dropped == ["healthchecks": 1])
        #expect(Stages.problem("stage.match {\n selector = \"{app=\\\"x\\\"}\"\n action = \"drop\"\n stage.labels {\n values = { a = \"\" }\n }\n}")?
            .contains("takes no nested stages") == true)
    }

    /// As in Alloy, an empty `action` is `keep` and an empty `drop_counter_reason` is `match_stage`.
    @Test func emptyActionAndReasonMeanTheDefaults() throws {
        let keep = try Stages.run("""
            stage.match {
              selector = "{app=\\"web\\"}"
              action   = ""
              stage.static_labels {
                values = { seen = "yes" }
              }
            }
            """, [Stages.entry("a", labels: ["app": "web"])])
        #expect(keep.entries.map { $0.labels["seen"] } == ["yes"])
        let drop = try Stages.run("""
            stage.match {
              selector            = "{app=\\"web\\"}"
              action              = "drop"
              drop_counter_reason = ""
            }
            """, [Stages.entry("a", labels: ["app": "web"])])
        #expect(drop.entries.isEmpty)
        #expect(drop.context.dropped == ["match_stage": 1])
    }
}
