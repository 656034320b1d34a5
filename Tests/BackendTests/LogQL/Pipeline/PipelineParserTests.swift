import Testing
import Wire
@testable import Backend

/// Cases from Loki's `pkg/logql/log/parser_test.go`, rewritten as data.
@Suite struct PipelineParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var line: String
        var stream: [String: String] = [:]
        var want: [String: String]
        var testDescription: String { name }
    }

    static let jsonCases: [Case] = [
        Case(name: "multi depth", line: #"{"app":"foo","namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar"}}}"#,
             want: ["app": "foo", "namespace": "prod", "pod_uuid": "foo", "pod_deployment_ref": "foobar"]),
        Case(name: "numeric", line: #"{"counter":1, "price": {"_net_":5.56909}}"#,
             want: ["counter": "1", "price__net_": "5.56909"]),
        Case(name: "whitespace key value", line: #"{" ": {"foo":"bar"}}"#, want: ["foo": "bar"]),
        Case(name: "whitespace key and whitespace subkey values", line: #"{" ": {" ":"bar"}}"#, want: ["": "bar"]),
        Case(name: "empty key and empty subkey values", line: #"{"": {"":"bar"}}"#, want: ["": "bar"]),
        Case(name: "escaped", line: #"{"counter":1,"foo":"foo\\\"bar", "price": {"_net_":5.56909}}"#,
             want: ["counter": "1", "price__net_": "5.56909", "foo": #"foo\"bar"#]),
        Case(name: "utf8 error rune", line: "{\"counter\":1,\"foo\":\"\u{FFFD}\", \"price\": {\"_net_\":5.56909}}",
             want: ["counter": "1", "price__net_": "5.56909", "foo": " "]),
        Case(name: "skip arrays", line: #"{"counter":1, "price": {"net_":["10","20"]}}"#, want: ["counter": "1"]),
        Case(name: "bad key replaced", line: #"{"cou-nter":1}"#, want: ["cou_nter": "1"]),
        Case(name: "errors", line: #"{n}"#,
             want: ["__error__": "JSONParserErr", "__error_details__": "Value looks like object, but can't find closing '}' symbol"]),
        Case(name: "errors hints", line: #"{n}"#,
             want: ["__error__": "JSONParserErr", "__error_details__": "Value looks like object, but can't find closing '}' symbol"]),
        Case(name: "duplicate extraction", line: #"{"app":"foo","namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar"}}}"#,
             stream: ["app": "bar"],
             want: ["app": "bar", "app_extracted": "foo", "namespace": "prod", "pod_uuid": "foo", "pod_deployment_ref": "foobar"]),
        Case(name: "not json", line: "level=info msg=hello",
             want: ["__error__": "JSONParserErr", "__error_details__": "Value looks like object, but can't find closing '}' symbol"]),
        Case(name: "booleans and nulls", line: #"{"ok":true,"bad":false,"none":null}"#, want: ["ok": "true", "bad": "false"]),
        Case(name: "unicode escape", line: #"{"a":"\u00e9\ud83d\ude00"}"#, want: ["a": "é😀"]),
        Case(name: "digit key", line: #"{"1a":"x","b":{"2c":"y"}}"#, want: ["_1a": "x", "b_2c": "y"]),
    ]

    @Test(arguments: jsonCases)
    func json(_ test: Case) throws {
        let result = try runPipeline([.json([])], line: test.line, stream: test.stream)
        #expect(labelsOf(result) == test.want)
    }

    static let logfmtCases: [Case] = [
        Case(name: "multiple fields", line: "app=foo namespace=prod pod_uuid=foo pod_deployment_ref=foobar",
             want: ["app": "foo", "namespace": "prod", "pod_uuid": "foo", "pod_deployment_ref": "foobar"]),
        Case(name: "quoted", line: #"app="foo bar" level=info"#, want: ["app": "foo bar", "level": "info"]),
        Case(name: "escaped quotes", line: #"msg="say \"hi\"" n=1"#, want: ["msg": #"say "hi""#, "n": "1"]),
        Case(name: "duplicate with stream label", line: "app=foo level=error", stream: ["app": "bar"],
             want: ["app": "bar", "app_extracted": "foo", "level": "error"]),
        Case(name: "bad key", line: "foo.bar=baz", want: ["foo_bar": "baz"]),
        Case(name: "empty values dropped", line: "a= b=1 c", want: ["b": "1"]),
        Case(name: "non-strict skips garbage", line: #"foo="foo bar" =bar bar=baz"#, want: ["foo": "foo bar", "bar": "baz"]),
        Case(name: "last value wins", line: "level=info level=error", want: ["level": "error"]),
        Case(name: "utf8 error rune", line: "foo=\u{FFFD}x bar=1", want: ["foo": " x", "bar": "1"]),
    ]

    @Test(arguments: logfmtCases)
    func logfmt(_ test: Case) throws {
        let result = try runPipeline([.logfmt(strict: false, keepEmpty: false, [])], line: test.line, stream: test.stream)
        #expect(labelsOf(result) == test.want)
    }

    @Test func logfmtStrictReportsTheFirstError() throws {
        let result = try runPipeline([.logfmt(strict: true, keepEmpty: false, [])], line: #"foo="foo bar" =bar bar=baz"#)
        #expect(labelsOf(result) == [
            "foo": "foo bar", "__error__": "LogfmtParserErr",
            "__error_details__": "logfmt syntax error at pos 15 : unexpected '='",
        ])
        let unterminated = try runPipeline([.logfmt(strict: true, keepEmpty: false, [])], line: #"a=1 b="open"#)
        #expect(labelsOf(unterminated)["__error_details__"] == "logfmt syntax error at pos 12 : unterminated quoted value")
    }

    @Test func logfmtKeepEmpty() throws {
        let result = try runPipeline([.logfmt(strict: false, keepEmpty: true, [])], line: "a= b=1 c")
        #expect(labelsOf(result) == ["a": "", "b": "1", "c": ""])
    }

    @Test func logfmtParameters() throws {
        let stage = PipelineStage.logfmt(strict: false, keepEmpty: false,
                                         [ExtractionParameter(label: "lvl", expression: "level"), ExtractionParameter(label: "missing")])
        let result = try runPipeline([stage], line: "level=info msg=hi")
        #expect(labelsOf(result) == ["lvl": "info", "missing": ""])
    }

    static let jsonExpressionLine = #"{"app":"foo","field with space":"value","field with ÜFT8👌":"value","null_field":null,"bool_field":false,"namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar", "params": [1,2,3]}}}"#

    static let jsonExpressionCases: [(String, String, [String: String], [String: String])] = [
        ("app", "app", [:], ["app": "foo"]),
        ("test", #"["field with space"]"#, [:], ["test": "value"]),
        ("utf8", #"["field with ÜFT8👌"]"#, [:], ["utf8": "value"]),
        ("uuid", "pod.uuid", [:], ["uuid": "foo"]),
        ("uuid", #"pod["uuid"]"#, [:], ["uuid": "foo"]),
        ("uuid", #"["pod"]["uuid"]"#, [:], ["uuid": "foo"]),
        ("uuid", #"["pod"].uuid"#, [:], ["uuid": "foo"]),
        ("param", "pod.deployment.params[0]", [:], ["param": "1"]),
        ("params", "pod.deployment.params", [:], ["params": "[1,2,3]"]),
        ("deployment", "pod.deployment", [:], ["deployment": #"{"ref":"foobar", "params": [1,2,3]}"#]),
        ("nope", "pod.nope", [:], ["nope": ""]),
        ("nf", "null_field", [:], ["nf": ""]),
        ("bool", "bool_field", [:], ["bool": "false"]),
        ("uuid", "pod.uuid", ["uuid": "bar"], ["uuid": "bar", "uuid_extracted": "foo"]),
        ("request_size", "request.size.invalid", ["uuid": "bar"], ["uuid": "bar", "request_size": ""]),
    ]

    @Test func jsonExpressions() throws {
        for (label, expression, stream, want) in Self.jsonExpressionCases {
            let result = try runPipeline([.json([ExtractionParameter(label: label, expression: expression)])],
                                         line: Self.jsonExpressionLine, stream: stream)
            #expect(labelsOf(result) == want, "\(label)=\(expression)")
        }
        let invalid = try runPipeline([.json([ExtractionParameter(label: "uuid", expression: "will.not.work")])],
                                      line: "invalid json", stream: ["foo": "bar"])
        #expect(labelsOf(invalid) == ["foo": "bar", "__error__": "JSONParserErr"])
        let empty = try runPipeline([.json([ExtractionParameter(label: "uuid", expression: "will.not.work")])],
                                    line: "", stream: ["foo": "bar"])
        #expect(labelsOf(empty) == ["foo": "bar"])
    }

    @Test func regexpParser() throws {
        let none = try runPipeline([.regexp("(?P<foo>foo|bar)buzz")], line: "blah", stream: ["app": "foo"])
        #expect(labelsOf(none) == ["app": "foo"])
        let double = try runPipeline([.regexp("(?P<foo>.*)buzz")], line: "matchebuzz barbuzz", stream: ["app": "bar"])
        #expect(labelsOf(double) == ["app": "bar", "foo": "matchebuzz bar"])
        let duplicate = try runPipeline([.regexp("(?P<bar>bar)buzz")], line: "barbuzz", stream: ["bar": "foo"])
        #expect(labelsOf(duplicate) == ["bar": "foo", "bar_extracted": "bar"])
        let multiple = try runPipeline([.regexp("(?P<foo>.*)buzz(?P<bar>.*)")], line: "matchebuzzbar", stream: ["app": "foo"])
        #expect(labelsOf(multiple) == ["app": "foo", "foo": "matche", "bar": "bar"])
    }

    @Test(arguments: [
        ("w.*", "at least one named capture must be supplied"),
        ("f(.*) (foo|bar|buzz)", "at least one named capture must be supplied"),
        ("blah (.*) (?P<foo>foo)(?P<foo>barr)", "duplicate extracted label name 'foo'"),
    ])
    func regexpErrors(_ source: String, _ message: String) {
        #expect(throws: LogQLError(line: 0, column: 0, message: message)) { try LogPipeline([.regexp(source)]) }
    }

    @Test func regexpValid() throws {
        _ = try LogPipeline([.regexp("blah (.*) (?P<foo>)")])
        _ = try LogPipeline([.regexp("blah (.*) (?P<foo>foo)(?P<bar>barr)")])
        #expect(throws: LogQLError.self) { try LogPipeline([.regexp("blah (.*) (?P<foo$>foo)(?P<bar>barr)")]) }
    }

    static let nginx = #"10.1.0.88 - - [14/Dec/2020:22:56:24 +0000] "GET /static/img/about/bob.jpg HTTP/1.1" 200 60755 "https://grafana.com" "Mozilla/5.0""#

    @Test func patternParser() throws {
        let result = try runPipeline([.pattern(#"<ip> - <user> [<_>] "<method> <path> <_>" <status> <size> <url> <user_agent>"#)],
                                     line: Self.nginx, stream: ["foo": "bar"])
        #expect(labelsOf(result) == [
            "foo": "bar", "ip": "10.1.0.88", "user": "-", "method": "GET", "path": "/static/img/about/bob.jpg",
            "status": "200", "size": "60755", "url": "\"https://grafana.com\"", "user_agent": "\"Mozilla/5.0\"",
        ])
        let partial = try runPipeline([.pattern("<ip> <userid> <user> [<_>] <missing>")], line: "127.0.0.1 user-identifier frank",
                                      stream: ["foo": "bar"])
        #expect(labelsOf(partial) == ["foo": "bar", "ip": "127.0.0.1", "userid": "user-identifier", "user": "frank"])
        let duplicate = try runPipeline([.pattern("<foo> <bar>")], line: "a b", stream: ["foo": "x"])
        #expect(labelsOf(duplicate) == ["foo": "x", "foo_extracted": "a", "bar": "b"])
    }

    @Test func patternErrors() {
        #expect(throws: LogQLError(line: 0, column: 0, message: "at least one capture is required")) {
            try LogPipeline([.pattern("foo <_> bar")])
        }
        #expect(throws: LogQLError(line: 0, column: 0, message: "found consecutive capture '<a><b>': invalid expression")) {
            try LogPipeline([.pattern("<a><b>")])
        }
        #expect(throws: LogQLError(line: 0, column: 0, message: "duplicate capture name (a): invalid expression")) {
            try LogPipeline([.pattern("<a> <a>")])
        }
    }

    @Test func unpack() throws {
        let packed = #"{"job":"123","pod":"someuid123","app":"foo","_entry":"10.1.0.88 - - [14/Dec/2020:22:56:24 +0000] \"GET\""}"#
        let result = try runPipeline([.unpack], line: packed, stream: ["cluster": "us-central1"])
        #expect(labelsOf(result) == ["cluster": "us-central1", "job": "123", "pod": "someuid123", "app": "foo"])
        #expect(lineOf(result, original: packed) == #"10.1.0.88 - - [14/Dec/2020:22:56:24 +0000] "GET""#)
        let notPacked = try runPipeline([.unpack], line: #"{"a":"b"}"#)
        #expect(labelsOf(notPacked).isEmpty)
        let duplicate = try runPipeline([.unpack], line: #"{"app":"foo","_entry":"x"}"#, stream: ["app": "bar"])
        #expect(labelsOf(duplicate) == ["app": "bar", "app_extracted": "foo"])
        let notObject = try runPipeline([.unpack], line: "[1]")
        #expect(labelsOf(notObject) == ["__error__": "JSONParserErr", "__error_details__": "expecting json object(6), but it is not"])
    }
}
