@testable import Pipeline
import Testing
import Wire

/// The hints and labels beyond the Go test tables: where hints are read from, what odd hint values mean, how
/// names are sanitised, and where Estuary deliberately differs (always-valid label names, no empty values).
@Suite struct LokiTranslatorHintTests {
    typealias T = LokiTest

    static func record(_ attributes: [OTLPKeyValue], severity: Int32 = 0) -> OTLPLogRecord {
        OTLPLogRecord(timeUnixNano: 1, severityNumber: severity, attributes: attributes)
    }

    @Test func labelNamesArePrometheusNames() {
        #expect(PrometheusLabelName.normalize("service.name") == "service_name")
        #expect(PrometheusLabelName.normalize("k8s.pod-name/x") == "k8s_pod_name_x")
        #expect(PrometheusLabelName.normalize("_test") == "key_test")
        #expect(PrometheusLabelName.normalize("0test") == "key_0test")
        #expect(PrometheusLabelName.normalize("test_/") == "test__")
        #expect(PrometheusLabelName.normalize("__test") == "__test")
        #expect(PrometheusLabelName.normalize("_") == "key_")
        #expect(PrometheusLabelName.normalize("") == "")
        // Go would keep the letters of "café" and "имя"; Loki refuses such names, so they become underscores.
        #expect(PrometheusLabelName.normalize("café") == "caf_")
        #expect(PrometheusLabelName.normalize("имя") == "___")
        #expect(PrometheusLabelName.normalize("🎉x") == "key_x")
    }

    @Test func hintNamesAreTrimmedAndMayBeMissing() {
        let record = Self.record([
            T.kv("a", T.str("1")), T.kv("b", T.str("2")),
            T.kv(LokiTranslator.attributeLabelsHint, T.str(" a ,\u{3000}b\t, missing,,")),
        ])
        #expect(T.labels(record) == #"{a="1", b="2", exporter="OTLP"}"#)
        #expect(T.line(record) == "{}")
    }

    @Test func hintValuesOfOtherTypes() {
        // A list element is printed as Go's %v prints it; a number hint names the attribute spelled like it.
        let list = Self.record([T.kv("5", T.str("five")), T.kv("true", T.str("yes")), T.kv("1.5", T.str("x")),
                                T.kv(LokiTranslator.attributeLabelsHint, .array([.int(5), .bool(true), .double(1.5)]))])
        #expect(T.labels(list) == #"{exporter="OTLP", key_1_5="x", key_5="five", true="yes"}"#)
        let number = Self.record([T.kv("7", T.str("seven")), T.kv(LokiTranslator.attributeLabelsHint, .int(7))])
        #expect(T.labels(number) == #"{exporter="OTLP", key_7="seven"}"#)
        #expect(LokiAttributes.printed(.bytes([1, 2])) == "[1 2]")
        #expect(LokiAttributes.printed(.kvlist([T.kv("b", .int(2)), T.kv("a", T.str("x"))])) == "map[a:x b:2]")
        #expect(LokiAttributes.printed(.array([.string("a"), .array([.int(1)])])) == "[a [1]]")
        #expect(LokiAttributes.printed(nil) == "<nil>")
        // An empty hint names nothing (unless an attribute is called ""), and is removed all the same.
        let empty = Self.record([T.kv(LokiTranslator.attributeLabelsHint, nil), T.kv("x", .int(1))])
        #expect(T.labels(empty) == #"{exporter="OTLP"}"#)
        #expect(T.line(empty) == #"{"attributes":{"x":1}}"#)
    }

    /// Nested names: `a.b.c` resolves through maps, longest prefix first, and the first map found decides.
    @Test func nestedLookup() {
        let attributes: [OTLPKeyValue] = [
            T.kv("k8s", .kvlist([T.kv("pod", .kvlist([T.kv("name", T.str("web-1"))])), T.kv("pod.uid", T.str("u-1"))])),
            T.kv("k8s.pod", .kvlist([T.kv("name", T.str("shadow"))])),
            T.kv("flat.name", T.str("flat")),
        ]
        #expect(LokiAttributes.lookup("k8s.pod.name", in: attributes) == .some(T.str("shadow")))
        #expect(LokiAttributes.lookup("k8s.pod.uid", in: attributes) == nil)
        // `k8s.pod` resolves to the inner map `pod`, so `pod.uid` beside it is never tried, as in Go.
        #expect(LokiAttributes.lookup("k8s.pod.uid", in: Array(attributes.prefix(1))) == nil)
        #expect(LokiAttributes.lookup("k8s.pod.uid", in: [T.kv("k8s", .kvlist([T.kv("pod.uid", T.str("u-1"))]))])
            == .some(T.str("u-1")))
        #expect(LokiAttributes.lookup("flat.name", in: attributes) == .some(T.str("flat")))
        #expect(LokiAttributes.lookup("flat", in: attributes) == nil)
        #expect(LokiAttributes.lookup("", in: attributes) == nil)
        #expect(LokiAttributes.lookup("k8s.", in: attributes) == nil)
    }

    /// A name with many dots resolves quickly: every prefix is looked up once (Go's recursion is exponential).
    @Test(.timeLimit(.minutes(1)))
    func manyDotsStayFast() {
        var nested: OTLPAnyValue = T.str("deep")
        for _ in 0..<40 { nested = .kvlist([T.kv("a", nested)]) }
        let name = Array(repeating: "a", count: 41).joined(separator: ".")
        #expect(LokiAttributes.lookup(name, in: [T.kv("a", nested)]) == .some(T.str("deep")))
        let missing = Array(repeating: "b", count: 200).joined(separator: ".")
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(LokiAttributes.lookup(missing, in: [T.kv("b", .kvlist([T.kv("b", .int(1))]))]) == nil)
        }
        #expect(elapsed < .seconds(30))  // exponential backtracking over 200 dots would never finish
    }

    /// The format hint: the resource's wins over the record's; an unknown or empty one fails the record.
    @Test func formatHintPrecedence() {
        let record = Self.record([T.kv(LokiTranslator.formatHint, T.str("logfmt")), T.kv("x", .int(1))])
        #expect(T.line(record) == "attribute_x=1")
        #expect(T.line(record, resource: T.rawResource) == "")
        #expect(T.convert(Self.record([T.kv(LokiTranslator.formatHint, nil)])) == .failure(.invalidFormat("")))
        #expect(T.convert(Self.record([T.kv(LokiTranslator.formatHint, T.str("JSON"))])) == .failure(.invalidFormat("JSON")))
    }

    /// `level` comes from the severity number (all 24 names), is added to the attribute hint in whatever form the
    /// hint has, and never replaces a `level` attribute already set.
    @Test func levelFromSeverity() {
        let names = (1...24).map { T.labels(Self.record([], severity: Int32($0))) }
        #expect(names[0] == #"{exporter="OTLP", level="TRACE"}"#)
        #expect(names[8] == #"{exporter="OTLP", level="INFO"}"#)
        #expect(names[13] == #"{exporter="OTLP", level="WARN2"}"#)
        #expect(names[23] == #"{exporter="OTLP", level="FATAL4"}"#)
        // Numbers OTLP does not define give an empty level, which is no label at all.
        #expect(T.labels(Self.record([], severity: 99)) == #"{exporter="OTLP"}"#)
        #expect(T.labels(Self.record([], severity: -3)) == #"{exporter="OTLP"}"#)
        // A hint of another type is left alone, so `level` is only a label when the hint is a string or a list.
        let oddHint = Self.record([T.kv(LokiTranslator.attributeLabelsHint, .int(0))], severity: 17)
        #expect(T.labels(oddHint) == #"{exporter="OTLP"}"#)
        #expect(T.line(oddHint) == #"{"attributes":{"level":"ERROR"}}"#)
        let listHint = Self.record([T.kv("a", T.str("1")), T.kv(LokiTranslator.attributeLabelsHint, .array([T.str("a")]))],
                                   severity: 13)
        #expect(T.labels(listHint) == #"{a="1", exporter="OTLP", level="WARN"}"#)
    }

    /// Attributes named like any label are removed, wherever the label came from (Go's `removeAttributes`).
    @Test func attributesNamedLikeLabelsAreRemoved() {
        let resource = OTLPResource(attributes: [T.kv("service.name", T.str("api")), T.kv("job", T.str("resource-job")),
                                                 T.kv(LokiTranslator.resourceLabelsHint, T.str("service.name"))])
        let record = Self.record([T.kv("service.name", T.str("dup")), T.kv("exporter", T.str("x")), T.kv("instance", T.str("i")),
                                  T.kv("keep", T.str("k"))])
        #expect(T.labels(record, resource: resource) == #"{exporter="OTLP", job="api", service_name="api"}"#)
        #expect(T.line(record, resource: resource) == #"{"attributes":{"instance":"i","keep":"k"}}"#)
    }

    /// Two attribute names that sanitise alike keep one label, the same one every time.
    @Test func collidingNamesAreDeterministic() {
        let record = Self.record([T.kv("a.b", T.str("dotted")), T.kv("a_b", T.str("underscored")),
                                  T.kv(LokiTranslator.attributeLabelsHint, T.str("a.b,a_b"))])
        for _ in 0..<5 { #expect(T.labels(record) == #"{a_b="underscored", exporter="OTLP"}"#) }
    }

    /// Hint values look up the first attribute of a repeated key, as pdata's `Get` does.
    @Test func repeatedKeysUseTheFirstForLookups() {
        let record = Self.record([T.kv("host", T.str("first")), T.kv("host", T.str("second")),
                                  T.kv(LokiTranslator.attributeLabelsHint, T.str("host"))])
        #expect(T.labels(record) == #"{exporter="OTLP", host="first"}"#)
        #expect(T.line(record) == "{}")
    }
}
