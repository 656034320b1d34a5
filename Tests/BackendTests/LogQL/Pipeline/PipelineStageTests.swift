import Testing
import Wire
@testable import Backend

@Suite struct PipelineStageTests {
    // MARK: Label filters (Loki's label_filter_test.go)

    @Test func numericFilters() throws {
        let line = "status=500 latency=250ms size=20KB"
        let parse = PipelineStage.logfmt(strict: false, keepEmpty: false, [])
        #expect(try runPipeline([parse, .labelFilter(.number(name: "status", .greaterOrEqual, 500))], line: line) != nil)
        #expect(try runPipeline([parse, .labelFilter(.number(name: "status", .less, 500))], line: line) == nil)
        #expect(try runPipeline([parse, .labelFilter(.duration(name: "latency", .greater, 200_000_000))], line: line) != nil)
        #expect(try runPipeline([parse, .labelFilter(.duration(name: "latency", .greater, 300_000_000))], line: line) == nil)
        #expect(try runPipeline([parse, .labelFilter(.bytes(name: "size", .equal, 20_000))], line: line) != nil)
        // An absent label fails a numeric filter.
        #expect(try runPipeline([parse, .labelFilter(.number(name: "nope", .greaterOrEqual, 0))], line: line) == nil)
    }

    @Test func conversionErrorsKeepTheEntryWithAnError() throws {
        let parse = PipelineStage.logfmt(strict: false, keepEmpty: false, [])
        let result = try runPipeline([parse, .labelFilter(.number(name: "status", .greater, 1))], line: "status=abc")
        #expect(labelsOf(result) == [
            "status": "abc", "__error__": "LabelFilterErr",
            "__error_details__": #"strconv.ParseFloat: parsing "abc": invalid syntax"#,
        ])
        let duration = try runPipeline([parse, .labelFilter(.duration(name: "d", .greater, 1))], line: "d=abc")
        #expect(labelsOf(duration)["__error_details__"] == #"time: invalid duration "abc""#)
        // `| __error__=""` then removes it.
        let filtered = try runPipeline([parse, .labelFilter(.number(name: "status", .greater, 1)),
                                        .labelFilter(.string(matcher("__error__", .equal, "")))], line: "status=abc")
        #expect(filtered == nil)
    }

    @Test func numericFiltersKeepEntriesThatAlreadyHaveAnError() throws {
        let result = try runPipeline([.json([]), .labelFilter(.number(name: "status", .greater, 1))], line: "not json")
        #expect(labelsOf(result)["__error__"] == "JSONParserErr")
    }

    @Test func andOr() throws {
        let parse = PipelineStage.logfmt(strict: false, keepEmpty: false, [])
        let line = "a=1 b=2"
        let aIs1 = LabelFilterExpression.number(name: "a", .equal, 1)
        let bIs3 = LabelFilterExpression.number(name: "b", .equal, 3)
        #expect(try runPipeline([parse, .labelFilter(.and(aIs1, bIs3))], line: line) == nil)
        #expect(try runPipeline([parse, .labelFilter(.or(aIs1, bIs3))], line: line) != nil)
        #expect(try runPipeline([parse, .labelFilter(.or(bIs3, .string(matcher("b", .regex, "2|4"))))], line: line) != nil)
    }

    @Test func ipLabelFilter() throws {
        let parse = PipelineStage.logfmt(strict: false, keepEmpty: false, [])
        #expect(try runPipeline([parse, .labelFilter(.ip(name: "addr", equal: true, pattern: "192.168.0.0/16"))],
                                line: "addr=192.168.4.5") != nil)
        #expect(try runPipeline([parse, .labelFilter(.ip(name: "addr", equal: true, pattern: "192.168.0.0/16"))],
                                line: "addr=10.0.0.1") == nil)
        #expect(try runPipeline([parse, .labelFilter(.ip(name: "addr", equal: false, pattern: "10.0.0.1-10.0.0.9"))],
                                line: "addr=10.0.0.10") != nil)
        #expect(try runPipeline([parse, .labelFilter(.ip(name: "addr", equal: true, pattern: "2001:db8::/32"))], line: "addr=2001:db8::1") != nil)
    }

    // MARK: Formatting (Loki's fmt_test.go)

    @Test func lineFormat() throws {
        let stream = ["namespace": "prod", "app": "foo"]
        let simple = try runPipeline([.lineFormat("{{.app}}")], line: "x", stream: stream)
        #expect(lineOf(simple, original: "x") == "foo")
        let missing = try runPipeline([.lineFormat("{{.nope}}")], line: "x", stream: stream)
        #expect(lineOf(missing, original: "x") == "")
        let combined = try runPipeline([.lineFormat("{{.namespace}} => {{.app | ToUpper}} {{ __line__ }}")], line: "x",
                                       stream: stream)
        #expect(lineOf(combined, original: "x") == "prod => FOO x")
        let functions = try runPipeline([.lineFormat(#"{{ .app | replace "f" "b" }} {{ substr 0 2 .namespace }} {{ add 1 2 }} {{ mulf 1.5 2 }} {{ alignRight 5 .app }}|{{ trunc 2 .app }}"#)],
                                        line: "x", stream: stream)
        #expect(lineOf(functions, original: "x") == "boo pr 3 3   foo|fo")
        let timestamp = try runPipeline([.lineFormat(#"{{ __timestamp__ | date "2006-01-02T15:04:05.000Z07:00" }} {{ __timestamp__ | unixEpoch }}"#)],
                                        line: "x", timestamp: 1_609_459_200_123_000_000)
        #expect(lineOf(timestamp, original: "x") == "2021-01-01T00:00:00.123Z 1609459200")
        let conditional = try runPipeline([.lineFormat(#"{{ if eq .app "foo" }}yes{{ else }}no{{ end }}"#)], line: "x", stream: stream)
        #expect(lineOf(conditional, original: "x") == "yes")
        let regex = try runPipeline([.lineFormat(#"{{ regexReplaceAll "(\\w+)-(\\w+)" .v "${2}_$1" }}"#)], line: "x", stream: ["v": "ab-cd"])
        #expect(lineOf(regex, original: "x") == "cd_ab")
        let conversions = try runPipeline([.lineFormat(#"{{ bytes .s }} {{ duration .d }} {{ urlencode .u }}"#)], line: "x",
                                          stream: ["s": "2KiB", "d": "1m30s", "u": "a b&c"])
        #expect(lineOf(conversions, original: "x") == "2048 90 a+b%26c")
    }

    @Test func templateErrors() throws {
        #expect(throws: LogQLError.self) { try LogPipeline([.lineFormat("{{ .a")]) }
        #expect(throws: LogQLError.self) { try LogPipeline([.lineFormat("{{ Hash .a }}")]) }
        let failing = try runPipeline([.lineFormat(#"{{ div 1 0 }}"#)], line: "x")
        #expect(lineOf(failing, original: "x") == "x")
        #expect(labelsOf(failing)["__error__"] == "TemplateFormatErr")
    }

    /// sprig's `fromJson` as Loki's templates have it: the JSON becomes a map, a slice or a float64 to read with
    /// `index` or `(…).key`, printed as Go prints them; text that does not decode gives nil (`<no value>`).
    @Test(arguments: [
        (#"{{ (fromJson .j).msg }}"#, #"{"msg":"hi","n":1000000}"#, "hi"),
        (#"{{ index (fromJson .j) "n" }}"#, #"{"msg":"hi","n":1000000}"#, "1e+06"),
        (#"{{ fromJson .j }}"#, #"{"b":[1,"x",null,true],"a":{"c":2.5},"b":[1,"x",null,true]}"#,
         "map[a:map[c:2.5] b:[1 x <nil> true]]"),
        (#"{{ index (fromJson .j) 1 }}"#, "[10, 20]", "20"),
        (#"{{ (fromJson .j).a.b }}"#, #"{"a":{"b":"deep"}}"#, "deep"),
        (#"{{ (fromJson .j).missing }}"#, #"{"msg":"hi"}"#, "<no value>"),
        (#"{{ index (fromJson .j) "u" }}"#, #"{"u":"caf\u00e9 \ud83d\ude00 \n"}"#, "café 😀 \n"),
        (#"{{ if (fromJson .j).ok }}yes{{ else }}no{{ end }}"#, #"{"ok":false}"#, "no"),
        (#"{{ len (fromJson .j) }} {{ add (index (fromJson .j) 0) 1 }}"#, "[41,2,3]", "3 42"),
        (#"{{ fromJson .j }}"#, " 7.5e-7 ", "7.5e-07"),
        (#"{{ fromJson .j }}"#, "not json", "<no value>"),
        (#"{{ fromJson .j }}"#, #"{"a":1} trailing"#, "<no value>"),
        (#"{{ fromJson .j }}"#, "[1,]", "<no value>"),
        (#"{{ fromJson .j }}"#, "", "<no value>"),
        (#"{{ fromJson .j }}"#, "null", "<no value>"),
    ])
    func fromJson(template: String, json: String, expected: String) throws {
        let result = try runPipeline([.lineFormat(template)], line: "x", stream: ["j": json])
        #expect(lineOf(result, original: "x") == expected)
        #expect(labelsOf(result)["__error__"] == nil)
    }

    @Test(arguments: [
        (#"{{ (fromJson .j).a }}"#, "not json", "nil pointer evaluating interface {}.a"),
        (#"{{ (fromJson .j).a }}"#, "[1]", "can't evaluate field a in type []interface {}"),
        (#"{{ index (fromJson .j) 3 }}"#, "[1]", "error calling index: index out of range: 3"),
        (#"{{ index (fromJson .j) "k" }}"#, "bad", "error calling index: index of untyped nil"),
    ])
    func fromJsonMisuseIsATemplateError(template: String, json: String, details: String) throws {
        let result = try runPipeline([.lineFormat(template)], line: "x", stream: ["j": json])
        #expect(lineOf(result, original: "x") == "x")
        #expect(labelsOf(result)["__error__"] == "TemplateFormatErr")
        #expect(labelsOf(result)["__error_details__"]?.contains(details) == true)
    }

    @Test func labelFormat() throws {
        let stream = ["namespace": "prod", "app": "foo"]
        let rename = try runPipeline([.labelFormat([.rename(destination: "svc", source: "app")])], line: "x", stream: stream)
        #expect(labelsOf(rename) == ["namespace": "prod", "svc": "foo"])
        let template = try runPipeline([.labelFormat([.template(destination: "app", template: "{{.app}}-{{.namespace}}")])],
                                       line: "x", stream: stream)
        #expect(labelsOf(template) == ["namespace": "prod", "app": "foo-prod"])
        let missingRename = try runPipeline([.labelFormat([.rename(destination: "a", source: "nope")])], line: "x", stream: stream)
        #expect(labelsOf(missingRename) == stream)
        #expect(throws: LogQLError(line: 0, column: 0, message: "multiple label name 'a' not allowed in a single format operation")) {
            try LogPipeline([.labelFormat([.rename(destination: "a", source: "b"), .rename(destination: "a", source: "c")])])
        }
        #expect(throws: LogQLError(line: 0, column: 0, message: "__error__ cannot be formatted")) {
            try LogPipeline([.labelFormat([.rename(destination: "__error__", source: "b")])])
        }
    }

    // MARK: drop / keep / decolorize

    @Test func dropAndKeep() throws {
        let stream = ["app": "foo", "namespace": "prod", "pod": "p1"]
        let drop = try runPipeline([.drop([.name("pod"), .matcher(matcher("app", .equal, "foo")), .matcher(matcher("namespace", .equal, "dev"))])],
                                   line: "x", stream: stream)
        #expect(labelsOf(drop) == ["namespace": "prod"])
        let keep = try runPipeline([.keep([.name("app"), .matcher(matcher("pod", .equal, "nope"))])], line: "x", stream: stream)
        #expect(labelsOf(keep) == ["app": "foo"])
        let dropError = try runPipeline([.json([]), .drop([.name("__error__"), .name("__error_details__")])], line: "nope")
        #expect(labelsOf(dropError).isEmpty)
        let keepError = try runPipeline([.json([]), .keep([.name("x")])], line: "nope", stream: stream)
        #expect(labelsOf(keepError).keys.sorted() == ["__error__", "__error_details__"])
    }

    @Test func decolorize() throws {
        let line = "\u{1B}[31mred\u{1B}[0m plain"
        let result = try runPipeline([.decolorize], line: line)
        #expect(lineOf(result, original: line) == "red plain")
        let plain = try runPipeline([.decolorize], line: "plain")
        #expect(plain?.rewrittenLine == nil)
    }

    // MARK: Labels: precedence, metadata, errors

    @Test func structuredMetadataAndParsedPrecedence() throws {
        let metadata = [LabelPair(name: "trace_id", value: "abc"), LabelPair(name: "app", value: "meta")]
        let result = try runPipeline([.logfmt(strict: false, keepEmpty: false, [])], line: "trace_id=parsed level=info",
                                     stream: ["app": "foo"], metadata: metadata)
        // Metadata colliding with a stream label gets `_extracted`; parsed labels hide metadata of the same name.
        #expect(labelsOf(result) == ["app": "foo", "app_extracted": "meta", "trace_id": "parsed", "level": "info"])
    }

    @Test func errorLabelFilterRemovesParserFailures() throws {
        let stages: [PipelineStage] = [.json([]), .labelFilter(.string(matcher("__error__", .equal, "")))]
        #expect(try runPipeline(stages, line: #"{"a":"b"}"#) != nil)
        #expect(try runPipeline(stages, line: "not json") == nil)
    }

    // MARK: unwrap (Loki's metrics_extraction_test.go)

    @Test func unwrap() throws {
        let parse = PipelineStage.logfmt(strict: false, keepEmpty: false, [])
        let plain = try runPipeline([parse], line: "latency=1.5 app=x", unwrap: Unwrap(label: "latency"))
        #expect(plain?.value == 1.5)
        #expect(labelsOf(plain) == ["app": "x"])
        let duration = try runPipeline([parse], line: "latency=250ms", unwrap: Unwrap(label: "latency", conversion: .duration))
        #expect(duration?.value == 0.25)
        let bytes = try runPipeline([parse], line: "size=1KiB", unwrap: Unwrap(label: "size", conversion: .bytes))
        #expect(bytes?.value == 1024)
        // Absent or empty: the entry is skipped.
        #expect(try runPipeline([parse], line: "other=1", unwrap: Unwrap(label: "latency")) == nil)
        // Unconvertible: kept with an error, which a post-filter can remove.
        let bad = try runPipeline([parse], line: "latency=fast", unwrap: Unwrap(label: "latency"))
        #expect(labelsOf(bad) == ["__error__": "SampleExtractionErr",
                                  "__error_details__": #"strconv.ParseFloat: parsing "fast": invalid syntax"#])
        let filtered = try runPipeline([parse], line: "latency=fast",
                                       unwrap: Unwrap(label: "latency", filters: [.string(matcher("__error__", .equal, ""))]))
        #expect(filtered == nil)
    }

    // MARK: Hints and interning

    @Test func neededLabelsNeverChangeTheirValues() throws {
        let line = #"level=info msg="hello world" status=200 app=api"#
        let stages: [PipelineStage] = [.logfmt(strict: false, keepEmpty: false, []), .labelFilter(.number(name: "status", .equal, 200))]
        let full = try runPipeline(stages, line: line, stream: ["app": "x"])
        let hinted = try runPipeline(stages, line: line, stream: ["app": "x"], needed: ["level", "app"])
        #expect(labelsOf(hinted) == ["app": "x", "level": "info", "status": "200"])
        for (name, value) in labelsOf(hinted) { #expect(labelsOf(full)[name] == value) }
        let templated = try runPipeline(stages + [.lineFormat("{{.msg}}")], line: line, needed: ["level"])
        #expect(lineOf(templated, original: line) == "hello world")
    }

    @Test func noNeededLabelsSkipParsersUnlessErrorsAreFiltered() throws {
        let skipped = try runPipeline([.json([])], line: "not json", needed: [])
        #expect(labelsOf(skipped).isEmpty)
        let filtered = try runPipeline([.json([]), .labelFilter(.string(matcher("__error__", .equal, "")))], line: "not json",
                                       needed: [])
        #expect(filtered == nil)
    }

    @Test func labelsIDsAreStablePerDistinctSet() throws {
        let pipeline = try LogPipeline([.logfmt(strict: false, keepEmpty: false, [])], neededLabels: ["level"])
        let stream = pipeline.stream(labels: LabelSet([LabelPair(name: "app", value: "x")]))
        func run(_ line: String) -> PipelineResult? {
            Array(line.utf8).withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
        }
        let a = run("level=info msg=a")
        let b = run("level=error msg=b")
        let c = run("msg=c level=info other=1")
        let d = run("nothing=here")
        #expect(a?.labelsID == c?.labelsID)
        #expect(a?.labelsID != b?.labelsID)
        #expect(d?.labelsID == 0)
        #expect(stream.labelSets.count == 3)
        #expect(a.map { stream.labelSets[$0.labelsID] } == a?.labels)
    }

    @Test func lineFilterOnlyFastPath() throws {
        let pipeline = try LogPipeline([.lineFilters([.contains("err")]), .lineFilters([.notContains("debug")])])
        #expect(pipeline.isLineFilterOnly)
        #expect(try !LogPipeline([.lineFilters([.contains("err")]), .json([])]).isLineFilterOnly)
        let stream = pipeline.stream(labels: LabelSet([]))
        let kept = Array("an error".utf8).withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
        let dropped = Array("an error debug".utf8).withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
        #expect(kept != nil && dropped == nil)
    }

    // MARK: Line filters: patterns and ip()

    @Test func patternLineFilters() throws {
        let filter = try LineFilter(.pattern, "<_> error <_>")
        #expect(Array("level=x error here".utf8).withUnsafeBytes { filter.matches($0) })
        #expect(!Array("error here".utf8).withUnsafeBytes { filter.matches($0) })
        let negated = try LineFilter(.notPattern, "<_> error <_>")
        #expect(Array("error here".utf8).withUnsafeBytes { negated.matches($0) })
        let ending = try LineFilter(.pattern, "<_> bar")
        #expect(!Array("foo bar baz".utf8).withUnsafeBytes { ending.matches($0) })
        #expect(throws: LogQLError.self) { try LineFilter(.pattern, "<a><b>") }
    }

    @Test func ipLineFilters() throws {
        let filter = try LineFilter(.contains, operands: [.ip("192.168.0.0/16")])
        #expect(Array("client 192.168.1.7 connected".utf8).withUnsafeBytes { filter.matches($0) })
        #expect(!Array("client 10.1.1.7 connected".utf8).withUnsafeBytes { filter.matches($0) })
        let negated = try LineFilter(.notContains, operands: [.ip("192.168.1.7")])
        #expect(!Array("from 192.168.1.7 to".utf8).withUnsafeBytes { negated.matches($0) })
        // Loki reads `192.168.1.7.` as one candidate, which is not an address.
        #expect(Array("from 192.168.1.7.".utf8).withUnsafeBytes { negated.matches($0) })
        let v6 = try LineFilter(.contains, operands: [.ip("2001:db8::/32")])
        #expect(Array("peer [2001:db8::1]:443".utf8).withUnsafeBytes { v6.matches($0) })
        #expect(throws: LogQLError.self) { try LineFilter(.contains, operands: [.ip("not-an-ip")]) }
    }
}
