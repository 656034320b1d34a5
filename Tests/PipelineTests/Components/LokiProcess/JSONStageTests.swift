@testable import AlloyLanguage
import Testing
import TestSupport
import Wire
@testable import Pipeline

@Suite struct JSONStageTests {
    @Test func documentedTwoStageExample() throws {
        let stages = """
            stage.json { expressions = { output = "log", extra = "" } }
            stage.json {
              source      = "extra"
              expressions = { username = "user" }
            }
            """
        let extracted = try Stages.extracted(stages, line: #"{"log":"log message\n","extra":"{\"user\":\"alloy\"}"}"#)
        #expect(extracted["output"] == .string("log message\n"))
        #expect(extracted["extra"] == .string(#"{"user":"alloy"}"#))
        #expect(extracted["username"] == .string("alloy"))
    }

    struct Case: Sendable, CustomStringConvertible {
        var expression: String
        var expected: ExtractedValue
        var description: String { expression }
    }

    static let document = #"{"a":{"b":[{"c":1},{"c":2},{"d":3}]},"request_User-Agent":"curl","n":1.5,"t":true,"z":null,"list":[[1,2],[3]],"o":{"x":"1","y":"2"}}"#

    static let cases: [Case] = [
        Case(expression: "a.b[0].c", expected: .number(1)),
        Case(expression: "a.b[-1].d", expected: .number(3)),
        Case(expression: "a.b[*].c", expected: .string("[1,2]")),
        Case(expression: #""request_User-Agent""#, expected: .string("curl")),
        Case(expression: "n", expected: .number(1.5)),
        Case(expression: "t", expected: .bool(true)),
        Case(expression: "z", expected: .null),
        Case(expression: "missing.deeper", expected: .null),
        Case(expression: "list[]", expected: .string("[1,2,3]")),
        Case(expression: "o.*", expected: .string(#"["1","2"]"#)),
        Case(expression: "a.b[*].c | [1]", expected: .number(2)),
        Case(expression: "a", expected: .string(#"{"b":[{"c":1},{"c":2},{"d":3}]}"#)),
    ]

    @Test(arguments: cases) func jmespathSubset(_ example: Case) throws {
        let stage = "stage.json { expressions = { v = \(GoQuote.quote(example.expression)) } }"
        #expect(try Stages.extracted(stage, line: Self.document)["v"] == example.expected)
    }

    @Test func numbersBecomeLabelsAsGoFormatsThem() throws {
        let out = try Stages.run("stage.json { expressions = { n = \"\", big = \"\" } }\nstage.labels { values = { n = \"\", big = \"\" } }", line: #"{"n": 1.50, "big": 1e21}"#)
        #expect(out?.labels["n"] == "1.5")
        #expect(out?.labels["big"] == "1000000000000000000000")
    }

    @Test func malformedInputIsKeptOrDropped() throws {
        let kept = try Stages.run("stage.json { expressions = { a = \"\" } }", [Stages.entry("not json"), Stages.entry("[1]")])
        #expect(kept.entries.count == 2)
        let dropped = try Stages.run("stage.json {\n expressions = { a = \"\" }\n drop_malformed = true\n}", [Stages.entry("not json"), Stages.entry(#"{"a":1}"#)])
        #expect(dropped.entries.map(\.text) == [#"{"a":1}"#])
        #expect(dropped.context.dropped == ["malformed_json": 1])
    }

    @Test func badExpressionsAreRefused() {
        #expect(Stages.problem(#"stage.json { expressions = { ua = "request_User-Agent" } }"#)?.contains("tNumber") == true)
        #expect(Stages.problem(#"stage.json { expressions = { ua = "a[?b]" } }"#)?.contains("could not compile JMES expression") == true)
        #expect(Stages.problem(#"stage.json { expressions = {} }"#)?.contains("JMES expression is required") == true)
    }

    @Test func dockerLines() throws {
        let out = try Stages.run("stage.docker {}", [
            Stages.entry(#"{"log":"log message\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z"}"#, labels: ["job": "d"]),
            Stages.entry("not docker", labels: ["job": "d"], timestamp: 9),
        ]).entries
        #expect(out.map(\.text) == ["log message\n", "not docker"])
        #expect(out[0].labelText == #"{job="d", stream="stderr"}"#)
        #expect(out[0].timestamp == utc(2019, 4, 30, 2, 12, 41, nanos: 844_351_500))
        #expect(out[1].labelText == #"{job="d"}"#)
    }

    /// Random and mutated JSON and docker lines and expressions: errors, never crashes.
    @Test func fuzzedInputNeverCrashes() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x7501))
        var pipeline = try Stages.pipeline("stage.docker {}\nstage.json { expressions = { a = \"a.b[0]\", s = \"[*].x\" } }")
        let seed = Array(#"{"log":"hi \u00e9\n","stream":"stdout","time":"2019-04-30T02:12:41Z","a":{"b":[1,{"x":null}]}}"#.utf8)
        let alphabet = Array(#"{}[]":,.0123456789eE+-\u truefalsnl"#.utf8) + [0xFF, 0xC3]
        for _ in 0..<FuzzBudget.scaled(2000) {
            var bytes = seed
            for _ in 0...random.int(0...8) where !bytes.isEmpty {
                let at = random.int(0...bytes.count - 1)
                switch random.int(0...2) {
                case 0: bytes[at] = alphabet[random.int(0...alphabet.count - 1)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[random.int(0...alphabet.count - 1)], at: at)
                }
            }
            var context = StageContext(now: Stages.now)
            _ = pipeline.run([LogEntry(timestamp: 1, line: bytes, labels: LabelSet([]))], &context)
            let symbols = Array("ab.[]*|@\"-0 9".utf8)
            let expression = String(decoding: (0..<random.int(0...12)).map { _ in symbols[random.int(0...symbols.count - 1)] }, as: UTF8.self)
            if let path = try? JMESPath(expression) { _ = path.search(.object(ValueObject([("a", .array([.number(.int(1))]))]))) }
        }
    }
}
