import Testing
import TestSupport
@testable import Pipeline
import Wire

@Suite struct GoTemplateTests {
    static func render(_ template: String, _ fields: [String: String] = [:], value: String? = nil) throws -> String {
        try GoTemplate(template).render({ name in
            if name == "Value" { return value.map { .string($0) } ?? .missing }
            return fields[name].map { .string($0) } ?? .missing
        }, dot: .missing)
    }

    @Test(arguments: [
        ("hello world!", "loki", "hello world!"),
        ("{{ .Value }}_some_suffix", "loki", "loki_some_suffix"),
        ("{{ ToLower .Value }}", "LOKI", "loki"),
        ("{{ .Value | ToUpper }}", "loki", "LOKI"),
        ("{{ Replace .Value \"lo\" \"blo\" 1 }}", "loki", "bloki"),
        ("{{ if eq .Value \"loki\" }}yes{{ else }}no{{ end }}", "loki", "yes"),
        ("{{ if eq .Value \"x\" }}x{{ else if eq .Value \"loki\" }}second{{ else }}no{{ end }}", "loki", "second"),
        ("{{ .app }}-{{ .level }}", "loki", "web-<no value>"),
        ("{{ default \"none\" .level }}", "loki", "none"),
        ("a  {{- .Value -}}  b", "loki", "alokib"),
        ("{{ TrimPrefix .Value \"lo\" }}{{ TrimSuffix \"xx.log\" \".log\" }}", "loki", "kixx"),
        ("{{ regexReplaceAll \"(o)\" .Value \"[$1]\" }}", "loki", "l[o]ki"),
        ("{{ printf \"%s=%q\" .app .Value }}", "loki", "web=\"loki\""),
        ("{{ len .Value }}", "loki", "4"),
        ("{{ Hash .Value \"salt\" }}", "loki", "53ddc627682ed26d0e68af30eb180182ca15b5827126282dd0f76f3af49d742b"),
        ("{{ Hash \"\" \"\" }}", "loki", "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"),
        ("{{ Hash .Value \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" }}", "", "cce34485baf2bf2aca99b94833892a4f52896d3d153f7b840cc4f9fe695f1387"),
        ("{{ Sha2Hash .Value \"salt\" }}", "loki", "45a238ce9fdf019798e5c5e994198143baee0947d0c9d5c616e0b8f9ddacdc0f"),
    ])
    func rendersAsGo(template: String, value: String, expected: String) throws {
        #expect(try Self.render(template, ["app": "web"], value: value) == expected)
    }

    @Test(arguments: [
        ("{{ .Value ", "unclosed action"),
        ("{{ if .Value }}x", "missing {{end}}"),
        ("{{ Nope .Value }}", "function \"Nope\" not defined"),
        ("{{ range .Value }}{{ end }}", "is not supported"),
    ])
    func malformedTemplatesAreRefused(template: String, message: String) {
        do {
            _ = try GoTemplate(template)
            Issue.record("accepted \(template)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}

extension GoTemplateTests {
    @Test func randomTemplatesNeverCrashOrHang() {
        var random = SeededRandom(seed: 23)
        let pieces = ["{{", "}}", "{{-", "-}}", " ", ".Value", ".x", "|", "(", ")", "\"a\"", "`b`", "if", "else", "end",
                      "ToUpper", "eq", "printf", "\"%s%d%q%\"", "1", "true", "text", "Replace", "-1"]
        for _ in 0..<5_000 {
            let text = (0..<Int(random.next() % 14)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            if let template = try? GoTemplate(text) {
                _ = try? template.render({ _ in .string("v") }, dot: .missing)
            }
        }
    }
}

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
}
