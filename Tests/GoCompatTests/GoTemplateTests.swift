import Testing
import TestSupport
@testable import GoCompat

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

    /// `fromJson` reads label values, so its decoder takes any text: random pieces of JSON decode or are refused,
    /// never crash, and what decodes prints; nesting past the depth bound is refused rather than overflowing the stack.
    @Test func randomJSONNeverCrashes() {
        var random = SeededRandom(seed: 29)
        let pieces = ["{", "}", "[", "]", ",", ":", "\"k\"", "\"\\u00e9\"", "\"\\ud83d\"", "\"\\x\"", "-", "0", "12",
                      ".5", "e+3", "1e400", "true", "nul", "null", " ", "\"", "\u{1}"]
        var decoded = 0
        for _ in 0..<20_000 {
            let text = (0..<Int(random.next() % 10)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            if let value = GoJSONValue.decode(text) {
                decoded += 1
                _ = value.goText
            }
        }
        #expect(decoded > 100)
        #expect(GoJSONValue.decode(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)) == nil)
        #expect(GoJSONValue.decode(String(repeating: "[", count: 500) + String(repeating: "]", count: 500)) != nil)
        #expect(GoJSONValue.decode(#"{"a":1e400,"b":2}"#) == .object(["a": .null, "b": .number(2)]))
    }
}
