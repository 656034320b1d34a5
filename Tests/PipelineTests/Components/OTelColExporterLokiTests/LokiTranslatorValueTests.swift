@testable import GoCompat
@testable import Pipeline
import Testing
import Wire

/// Every kind of OTLP value in the body and the attributes, in each line format, byte for byte as Go writes it.
@Suite struct LokiTranslatorValueTests {
    typealias T = LokiTest

    static func body(_ value: OTLPAnyValue?) -> OTLPLogRecord { OTLPLogRecord(timeUnixNano: 1, body: value) }
    static func attribute(_ value: OTLPAnyValue?) -> OTLPLogRecord {
        OTLPLogRecord(timeUnixNano: 1, attributes: [T.kv("k", value)])
    }

    /// (value, JSON, logfmt of an attribute `k`, raw text / label value).
    static let kinds: [(value: OTLPAnyValue?, json: String, logfmt: String, text: String)] = [
        (.string("plain"), #""plain""#, "attribute_k=plain", "plain"),
        (.string(""), #""""#, "attribute_k=", ""),
        (.bool(false), "false", "attribute_k=false", "false"),
        (.int(-42), "-42", "attribute_k=-42", "-42"),
        (.int(.max), "9223372036854775807", "attribute_k=9223372036854775807", "9223372036854775807"),
        (.int(.min), "-9223372036854775808", "attribute_k=-9223372036854775808", "-9223372036854775808"),
        (.double(2.5), "2.5", "attribute_k=2.5", "2.5"),
        (.double(3), "3", "attribute_k=3", "3"),
        (.double(1e6), "1000000", "attribute_k=1e+06", "1000000"),
        (.double(-0.0), "-0", "attribute_k=-0", "-0"),
        (.bytes([0xFF, 0x00, 0x61]), #""/wBh""#, #"attribute_k="\ufffd\u0000a""#, "/wBh"),
        (.bytes([]), #""""#, "attribute_k=", ""),
        (.array([.int(1), .string("two"), .array([])]), #"[1,"two",[]]"#, "attribute_k_0=1 attribute_k_1=two",
         #"[1,"two",[]]"#),
        (.kvlist([T.kv("z", .int(1)), T.kv("a", nil)]), #"{"a":null,"z":1}"#, "attribute_k_z=1", #"{"a":null,"z":1}"#),
        (.kvlist([]), "{}", "", "{}"),
        (nil, "null", "", ""),
    ]

    @Test(arguments: kinds.indices)
    func valueKind(_ index: Int) {
        let (value, json, logfmt, text) = Self.kinds[index]
        #expect(T.line(Self.body(value)) == (value == nil ? "{}" : #"{"body":\#(json)}"#))
        #expect(T.line(Self.attribute(value)) == #"{"attributes":{"k":\#(json)}}"#)
        #expect(T.line(Self.attribute(value), resource: T.logfmtResource) == logfmt)
        #expect(T.line(Self.body(value), resource: T.rawResource) == text)
        // As a label: the value's text, left out when empty.
        let hinted = OTLPLogRecord(timeUnixNano: 1, attributes: [T.kv("k", value),
                                                                 T.kv(LokiTranslator.attributeLabelsHint, T.str("k"))])
        let expectedLabels = text.isEmpty ? #"{exporter="OTLP"}"# : #"{exporter="OTLP", k=\#(GoQuote.quote(text))}"#
        #expect(T.labels(hinted) == expectedLabels)
    }

    /// Bodies that are not strings in logfmt: scalars as `msg`, lists under `body_`.
    @Test func logfmtScalarBodies() {
        #expect(T.line(Self.body(.int(7)), resource: T.logfmtResource) == "msg=7")
        #expect(T.line(Self.body(.double(0.00001)), resource: T.logfmtResource) == "msg=1e-05")
        #expect(T.line(Self.body(.double(.nan)), resource: T.logfmtResource) == "msg=NaN")
        #expect(T.line(Self.body(.double(-.infinity)), resource: T.logfmtResource) == "msg=-Inf")
        #expect(T.line(Self.body(.bytes(Array("a b".utf8))), resource: T.logfmtResource) == #"msg="a b""#)
        #expect(T.line(Self.body(.array([.kvlist([T.kv("x", .int(1))])])), resource: T.logfmtResource) == "body_0_x=1")
    }

    /// Doubles: `encoding/json` switches to exponents below 1e-6 and from 1e21; `%v` (logfmt) below 1e-4 and from
    /// 1e6, with two-digit exponents.
    static let doubles: [(Double, json: String, print: String)] = [
        (0, "0", "0"), (1.1, "1.1", "1.1"), (0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"),
        (123456, "123456", "123456"), (1234567, "1234567", "1.234567e+06"), (1e20, "100000000000000000000", "1e+20"),
        (1e21, "1e+21", "1e+21"), (1.5e300, "1.5e+300", "1.5e+300"), (0.0001, "0.0001", "0.0001"),
        (0.000001, "0.000001", "1e-06"), (1e-7, "1e-7", "1e-07"), (1.5e-10, "1.5e-10", "1.5e-10"),
        (.leastNonzeroMagnitude, "5e-324", "5e-324"), (.greatestFiniteMagnitude, "1.7976931348623157e+308", "1.7976931348623157e+308"),
        (-2.5e-5, "-0.000025", "-2.5e-05"), (100, "100", "100"),
    ]

    @Test(arguments: doubles.indices)
    func doubleLayout(_ index: Int) {
        let (value, json, print) = Self.doubles[index]
        var out: [UInt8] = []
        GoFloatFormat.appendJSON(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == json)
        out = []
        GoFloatFormat.appendPrint(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == print)
    }

    /// NaN and infinities have no JSON form: the record fails, as `json.Marshal` fails in Go.
    @Test func nonFiniteNumbersFailJSON() {
        #expect(T.line(Self.body(.double(.nan))) == "<\(LokiTranslationError.unsupportedJSONValue("json: unsupported value: NaN"))>")
        let nested = Self.attribute(.array([.kvlist([T.kv("x", .double(.infinity))])]))
        #expect(T.convert(nested) == .failure(.unsupportedJSONValue("json: unsupported value: +Inf")))
        // In logfmt and as label text they are written out.
        #expect(T.line(Self.attribute(.double(.nan)), resource: T.logfmtResource) == "attribute_k=NaN")
        #expect(LokiAttributes.asString(.double(.infinity)) == "json: unsupported value: +Inf")
        #expect(LokiAttributes.asString(.array([.double(.nan)])) == "")
    }

    /// Go's JSON escaping: HTML characters, U+2028/2029, controls; everything else as it is, unicode included.
    @Test func jsonStringEscaping() {
        #expect(T.line(Self.body(T.str("<a href=\"x\">&</a>"))) == #"{"body":"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e"}"#)
        #expect(T.line(Self.body(T.str("tab\tnew\nret\rbs\\ bell\u{07} bs\u{08} ff\u{0C} del\u{7F}")))
            == #"{"body":"tab\tnew\nret\rbs\\ bell\u0007 bs\b ff\f del\#u{7F}"}"#)
        #expect(T.line(Self.body(T.str("line\u{2028}para\u{2029}end"))) == #"{"body":"line\u2028para\u2029end"}"#)
        #expect(T.line(Self.body(T.str("héllo 世界 🎉 \u{FFFD} \u{2027}"))) == "{\"body\":\"héllo 世界 🎉 \u{FFFD} \u{2027}\"}")
        #expect(T.line(Self.attribute(T.str("ünïcödé"))) == #"{"attributes":{"k":"ünïcödé"}}"#)
    }

    /// Map keys are sorted by their bytes and a repeated key keeps its last value (a Go map built by `AsRaw`).
    @Test func jsonKeysSortedBytewiseLastWins() {
        let record = OTLPLogRecord(timeUnixNano: 1, attributes: [
            T.kv("b", .int(1)), T.kv("é", .int(2)), T.kv("e\u{301}", .int(3)), T.kv("B", .int(4)), T.kv("b", .int(5)),
            T.kv("", .int(6)),
        ])
        // "é" precomposed (C3 A9) and decomposed (65 CC 81) are different keys, as in Go.
        #expect(T.line(record) == "{\"attributes\":{\"\":6,\"B\":4,\"b\":5,\"e\u{301}\":3,\"é\":2}}")
    }

    /// logfmt quoting: spaces, `=`, quotes, controls, DEL and U+FFFD quote a value; `null` is quoted; keys lose
    /// the characters they cannot hold.
    @Test func logfmtQuoting() {
        func logfmt(_ attributes: [OTLPKeyValue]) -> String {
            T.line(OTLPLogRecord(timeUnixNano: 1, attributes: attributes), resource: T.logfmtResource)
        }
        #expect(logfmt([T.kv("a", T.str("x y")), T.kv("b", T.str("x=y")), T.kv("c", T.str("say \"hi\""))])
            == #"attribute_a="x y" attribute_b="x=y" attribute_c="say \"hi\"""#)
        #expect(logfmt([T.kv("n", T.str("null")), T.kv("e", T.str("")), T.kv("u", T.str("ünï\\"))])
            == #"attribute_n="null" attribute_e= attribute_u=ünï\"#)
        #expect(logfmt([T.kv("t", T.str("a\tb\n\u{01}\u{7F}\u{FFFD}"))]) == #"attribute_t="a\tb\n\u0001\u007f\ufffd""#)
        #expect(logfmt([T.kv("my key=\"x\"", T.str("v"))]) == "attribute_mykeyx=v")
    }

    /// A string body is read as logfmt when it is logfmt (first line only), else kept whole as `msg`.
    @Test func logfmtBodyParsing() {
        func logfmt(_ body: String) -> String { T.line(Self.body(T.str(body)), resource: T.logfmtResource) }
        #expect(logfmt(#"level=info msg="started server" port=8080"#) == #"level=info msg="started server" port=8080"#)
        #expect(logfmt("first=1\nsecond=2") == "first=1")
        #expect(logfmt("a=1\r\n") == "a=1")
        #expect(logfmt(#"k="\u00e9\n""#) == #"k="é\n""#)
        #expect(logfmt("GET /index.html 200") == "GET= /index.html= 200=")
        #expect(logfmt("x=1 y=2=3") == #"msg="x=1 y=2=3""#)
        #expect(logfmt(#"unterminated="quote"#) == #"msg="unterminated=\"quote""#)
        #expect(logfmt("=value") == #"msg="=value""#)
        #expect(logfmt("bad\u{FFFD}key=1") == "msg=\"bad\\ufffdkey=1\"")
        #expect(logfmt("") == "")
        #expect(logfmt("   ") == "")
        #expect(logfmt("\nk=v") == "")
        // A first line of 64 KiB or more is more than Go's scanner reads: kept whole.
        let long = String(repeating: "a", count: LogfmtDecoder.maximumLineLength)
        #expect(logfmt(long) == "msg=" + long)
        let justFits = String(repeating: "a", count: LogfmtDecoder.maximumLineLength - 1)
        #expect(logfmt(justFits) == justFits + "=")
    }

    /// Parsed body keys are never replaced by the trace id or severity (Go compares `[]byte` with `string`);
    /// map body keys are.
    @Test func logfmtReplacementOnlyForMapKeys() {
        let id = T.traceID(0xAB)
        let parsed = OTLPLogRecord(timeUnixNano: 1, severityText: "warn", body: T.str("severity=low traceID=x"), traceID: id)
        #expect(T.line(parsed, resource: T.logfmtResource)
            == "severity=low traceID=x traceID=ab000000000000000000000000000000 severity=warn")
        let map = OTLPLogRecord(timeUnixNano: 1, severityText: "warn",
                                body: .kvlist([T.kv("severity", T.str("low")), T.kv("msg", T.str("m"))]), flags: 1, traceID: id)
        #expect(T.line(map, resource: T.logfmtResource) == "severity=warn msg=m traceID=ab000000000000000000000000000000 flags=1")
    }

    /// A key left empty (a body map key `""` or `=`) fails the logfmt line.
    @Test func emptyLogfmtKeyFails() {
        let record = Self.body(.kvlist([T.kv("=", T.str("v"))]))
        #expect(T.convert(record, resource: T.logfmtResource) == .failure(.invalidLogfmtKey("=")))
        #expect(T.convert(Self.body(.kvlist([T.kv("", T.str("v"))])), resource: T.logfmtResource) == .failure(.invalidLogfmtKey("")))
    }

    @Test func flagsAndIDs() {
        let record = OTLPLogRecord(timeUnixNano: 1, flags: 257, traceID: [UInt8](repeating: 0, count: 16),
                                   spanID: [0, 0, 0, 0, 0, 0, 0, 0xFF])
        // An all-zero trace id counts as absent.
        #expect(T.line(record) == #"{"spanid":"00000000000000ff","flags":257}"#)
        #expect(T.line(record, resource: T.logfmtResource) == "spanID=00000000000000ff flags=257")
    }

    /// Missing resource, empty scope, no body: the smallest line, `{}`, with the default label only.
    @Test func emptyRecord() {
        #expect(T.convert(OTLPLogRecord()) == .success(T.Converted(labels: #"{exporter="OTLP"}"#, line: "{}", timestamp: T.now)))
        #expect(T.line(OTLPLogRecord(), resource: T.logfmtResource) == "")
        #expect(T.line(OTLPLogRecord(), resource: T.rawResource) == "")
        // A scope with a version but no name is left out; scope attributes appear under the name.
        #expect(T.line(OTLPLogRecord(), scope: OTLPInstrumentationScope(version: "v2")) == "{}")
        let scope = OTLPInstrumentationScope(name: "lib", attributes: [T.kv("team", T.str("core"))])
        #expect(T.line(OTLPLogRecord(), scope: scope) == #"{"instrumentation_scope":{"name":"lib","attributes":{"team":"core"}}}"#)
        #expect(T.line(OTLPLogRecord(), resource: T.logfmtResource, scope: scope)
            == "instrumentation_scope_name=lib instrumentation_scope_attribute_team=core")
    }

    /// The time: the record's, else its observed time, else the clock. A time past Int64 counts as unset (Go's
    /// `int64(...)` would wrap it into a negative time that Loki refuses, losing the record).
    @Test func timestamps() {
        #expect(T.translator.timestamp(of: OTLPLogRecord(timeUnixNano: 5, observedTimeUnixNano: 9)) == 5)
        #expect(T.translator.timestamp(of: OTLPLogRecord(observedTimeUnixNano: 9)) == 9)
        #expect(T.translator.timestamp(of: OTLPLogRecord()) == T.now)
        #expect(T.translator.timestamp(of: OTLPLogRecord(timeUnixNano: .max)) == T.now)
        #expect(T.translator.timestamp(of: OTLPLogRecord(timeUnixNano: 1 << 63, observedTimeUnixNano: 9)) == 9)
        let wall = LokiTranslator.wallClock()
        #expect(wall > 1_600_000_000_000_000_000)
    }
}
