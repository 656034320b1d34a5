@testable import Pipeline
import Testing
import Wire

/// Expected lines and labels taken from the Go tests of `pkg/translator/loki` (`encode_test.go`,
/// `convert_test.go`, `logs_to_loki_test.go`) and of Alloy's `otelcol.exporter.loki` converter (`convert_test.go`).
@Suite struct LokiTranslatorGoldenTests {
    typealias T = LokiTest

    // MARK: encode_test.go

    @Test func jsonWithStringBody() {
        let (record, resource, scope) = T.exampleLog()
        #expect(T.line(record, resource: resource, scope: scope) == #"{"body":"Example log","traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}"#)
    }

    @Test func jsonWithMapBody() {
        var (record, resource, scope) = T.exampleLog()
        record.body = .kvlist([T.kv("key1", T.str("value")), T.kv("key2", T.str("value"))])
        #expect(T.line(record, resource: resource, scope: scope) == #"{"body":{"key1":"value","key2":"value"},"traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}"#)
    }

    /// `TestSerializeComplexBody`: each body alone, as JSON and as logfmt.
    static let complexBodies: [(body: OTLPAnyValue?, json: String, logfmt: String)] = [
        (nil, "{}", ""),
        (.string("a"), #"{"body":"a"}"#, "a="),
        (.int(1), #"{"body":1}"#, "msg=1"),
        (.double(1.1), #"{"body":1.1}"#, "msg=1.1"),
        (.bool(true), #"{"body":true}"#, "msg=true"),
        (.kvlist([LokiTest.kv("key", .string("val"))]), #"{"body":{"key":"val"}}"#, "key=val"),
        (.kvlist([
            LokiTest.kv("keystr", .string("val")), LokiTest.kv("keyint", .double(1)), LokiTest.kv("keybool", .bool(true)),
            LokiTest.kv("keynull", nil), LokiTest.kv("keyarr", .array([.string("a"), .string("b")])),
            LokiTest.kv("keymap", .kvlist([LokiTest.kv("key", .string("val"))])), LokiTest.kv("keyempty", nil),
        ]),
         #"{"body":{"keyarr":["a","b"],"keybool":true,"keyempty":null,"keyint":1,"keymap":{"key":"val"},"keynull":null,"keystr":"val"}}"#,
         "keystr=val keyint=1 keybool=true keyarr_0=a keyarr_1=b keymap_key=val"),
        (.array([.string("a"), .string("b")]), #"{"body":["a","b"]}"#, "body_0=a body_1=b"),
        (.bytes(Array("abc".utf8)), #"{"body":"YWJj"}"#, "msg=abc"),
    ]

    @Test(arguments: complexBodies.indices)
    func complexBody(_ index: Int) {
        let (body, json, logfmt) = Self.complexBodies[index]
        let record = OTLPLogRecord(timeUnixNano: 1, body: body)
        #expect(T.line(record) == json)
        #expect(T.line(record, resource: T.logfmtResource) == logfmt)
    }

    @Test func logfmtWithStringBody() {
        var (record, resource, scope) = T.exampleLog()
        record.body = T.str(#"msg="hello world""#)
        resource.attributes.append(T.kv(LokiTranslator.formatHint, T.str("logfmt")))
        #expect(T.line(record, resource: resource, scope: scope) == #"msg="hello world" traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#)
    }

    @Test func logfmtWithMapBody() {
        var (record, resource, scope) = T.exampleLog()
        record.body = .kvlist([T.kv("key1", T.str("value")), T.kv("key2", T.str("value"))])
        resource.attributes.append(T.kv(LokiTranslator.formatHint, T.str("logfmt")))
        #expect(T.line(record, resource: resource, scope: scope) == "key1=value key2=value traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1")
    }

    @Test func logfmtWithSliceBody() {
        var (record, resource, scope) = T.exampleLog()
        record.body = .array([T.str("value"), .bool(true), .int(123)])
        resource.attributes.append(T.kv(LokiTranslator.formatHint, T.str("logfmt")))
        #expect(T.line(record, resource: resource, scope: scope) == "body_0=value body_1=true body_2=123 traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1")
    }

    @Test func logfmtWithComplexAttributes() {
        var (record, resource, scope) = T.exampleLog()
        let slice = OTLPAnyValue.array([
            T.str("fooo"),
            .kvlist([T.kv("slice", .array([.bool(true)])), T.kv("foo", T.str("bar"))]),
            .kvlist([T.kv("nested", T.str("deeply nested")), T.kv("uint", .int(123))]),
        ])
        record.attributes.append(T.kv("aslice", slice))
        resource.attributes.append(T.kv("bslice", slice))
        resource.attributes.append(T.kv(LokiTranslator.formatHint, T.str("logfmt")))
        #expect(T.line(record, resource: resource, scope: scope) == #"Example= log= traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 attribute_aslice_0=fooo attribute_aslice_1_slice_0=true attribute_aslice_1_foo=bar attribute_aslice_2_nested="deeply nested" attribute_aslice_2_uint=123 resource_host.name=something resource_bslice_0=fooo resource_bslice_1_slice_0=true resource_bslice_1_foo=bar resource_bslice_2_nested="deeply nested" resource_bslice_2_uint=123 instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#)
    }

    /// `TestConvertLogToLogRawEntry`.
    @Test func rawLine() {
        let (record, _, _) = T.exampleLog()
        #expect(T.line(record, resource: T.rawResource) == "Example log")
    }

    // MARK: logs_to_loki_test.go: TestLogsToLokiRequestWithoutTenant

    struct RequestCase: Sendable, CustomTestStringConvertible {
        var name: String
        var attributes: [OTLPKeyValue] = []
        var resource: [OTLPKeyValue] = []
        var severity: Int32 = 0
        var labels: String
        var line: @Sendable (Int) -> String = { _ in "" }

        var testDescription: String { name }
    }

    static let requestCases: [RequestCase] = [
        RequestCase(
            name: "with attribute to label and regular attribute",
            attributes: [T.kv("host.name", T.str("guarana")), T.kv("http.status", .int(200)),
                         T.kv(LokiTranslator.attributeLabelsHint, T.str("host.name"))],
            labels: #"{exporter="OTLP", host_name="guarana"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000","attributes":{"http.status":200}}"# }),
        RequestCase(
            name: "with resource to label and regular resource",
            resource: [T.kv("host.name", T.str("guarana")), T.kv("region.az", T.str("eu-west-1a")),
                       T.kv(LokiTranslator.resourceLabelsHint, T.str("host.name"))],
            labels: #"{exporter="OTLP", host_name="guarana"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000","resources":{"region.az":"eu-west-1a"}}"# }),
        RequestCase(
            name: "with logfmt format",
            attributes: [T.kv("host.name", T.str("guarana")), T.kv("http.status", .int(200)),
                         T.kv(LokiTranslator.attributeLabelsHint, T.str("host.name")),
                         T.kv(LokiTranslator.formatHint, T.str("logfmt"))],
            labels: #"{exporter="OTLP", host_name="guarana"}"#,
            line: { "traceID=0\($0)000000000000000000000000000000 attribute_http.status=200" }),
        RequestCase(
            name: "with severity to label", severity: 8, labels: #"{exporter="OTLP", level="DEBUG4"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000"}"# }),
        RequestCase(
            name: "with severity, already existing level", attributes: [T.kv("level", T.str("dummy"))], severity: 8,
            labels: #"{exporter="OTLP", level="dummy"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000"}"# }),
        RequestCase(
            name: "with severity, already existing level and hint attribute",
            attributes: [T.kv("host.name", T.str("guarana")), T.kv("level", T.str("dummy")),
                         T.kv(LokiTranslator.attributeLabelsHint, T.str("host.name"))],
            severity: 8, labels: #"{exporter="OTLP", host_name="guarana", level="dummy"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000"}"# }),
        RequestCase(
            name: "with existing level and hint attributes contain level",
            attributes: [T.kv("host.name", T.str("guarana")), T.kv("level", T.str("dummy")),
                         T.kv(LokiTranslator.attributeLabelsHint, T.str("level, host.name"))],
            labels: #"{exporter="OTLP", host_name="guarana", level="dummy"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000"}"# }),
        RequestCase(
            name: "with hint attributes and resource attributes as string",
            attributes: [T.kv("host.name", T.str("guarana")), T.kv("host.ip", T.str("127.0.0.1")),
                         T.kv(LokiTranslator.attributeLabelsHint, T.str("host.name, host.ip"))],
            resource: [T.kv("service.name", T.str("my-service")), T.kv("service.namespace", T.str("my-namespace")),
                       T.kv(LokiTranslator.resourceLabelsHint, T.str("service.name, service.namespace"))],
            severity: 8,
            labels: #"{exporter="OTLP", host_ip="127.0.0.1", host_name="guarana", job="my-namespace/my-service", level="DEBUG4", service_name="my-service", service_namespace="my-namespace"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000"}"# }),
        RequestCase(
            name: "with hint attributes as slice",
            attributes: [T.kv("host.name", T.str("guarana")), T.kv("host.ip", T.str("127.0.0.1")),
                         T.kv(LokiTranslator.attributeLabelsHint, .array([T.str("host.name"), T.str("host.ip")]))],
            resource: [T.kv("service.name", T.str("my-service")), T.kv("service.namespace", T.str("my-namespace")),
                       T.kv(LokiTranslator.resourceLabelsHint,
                            .array([T.str("service.name"), T.str("service.namespace")]))],
            severity: 8,
            labels: #"{exporter="OTLP", host_ip="127.0.0.1", host_name="guarana", job="my-namespace/my-service", level="DEBUG4", service_name="my-service", service_namespace="my-namespace"}"#,
            line: { #"{"traceid":"0\#($0)000000000000000000000000000000"}"# }),
    ]

    @Test(arguments: requestCases)
    func logsToLokiRequest(_ testCase: RequestCase) {
        // Three scopes of one record each, trace ids 1, 2, 3, as the Go test builds them.
        let scopes = (1...3).map { index in
            OTLPScopeLogs(logRecords: [OTLPLogRecord(
                severityNumber: testCase.severity, attributes: testCase.attributes, traceID: T.traceID(UInt8(index)))])
        }
        let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(
            resource: OTLPResource(attributes: testCase.resource), scopeLogs: scopes)])
        let result = T.translator.translate(logs)
        #expect(result.failedCount == 0)
        #expect(result.entries.map(\.labels.description) == Array(repeating: testCase.labels, count: 3))
        #expect(result.entries.map { String(decoding: $0.line, as: UTF8.self) } == (1...3).map(testCase.line))
    }

    // MARK: logs_to_loki_test.go: TestLogToLokiEntry (hints set on both the record and the resource)

    static func hinted(_ attributes: [OTLPKeyValue], resource: [OTLPKeyValue] = [], hints: [(String, String)],
                       severity: Int32 = 0, scope: OTLPInstrumentationScope = OTLPInstrumentationScope())
        -> Result<LokiTest.Converted, LokiTranslationError>
    {
        let hintPairs = hints.map { LokiTest.kv($0.0, .string($0.1)) }
        let record = OTLPLogRecord(timeUnixNano: 1_677_592_916_000_000_000, severityNumber: severity,
                                   attributes: attributes + hintPairs)
        return LokiTest.convert(record, resource: OTLPResource(attributes: resource + hintPairs), scope: scope)
    }

    @Test func logToLokiEntry() {
        let time: Int64 = 1_677_592_916_000_000_000
        #expect(Self.hinted([T.kv("host.name", T.str("guarana")), T.kv("http.status", .int(200))],
                            hints: [(LokiTranslator.attributeLabelsHint, "host.name")])
            == .success(T.Converted(labels: #"{exporter="OTLP", host_name="guarana"}"#,
                                    line: #"{"attributes":{"http.status":200}}"#, timestamp: time)))
        #expect(Self.hinted([], resource: [T.kv("host.name", T.str("guarana")), T.kv("region.az", T.str("eu-west-1a"))],
                            hints: [(LokiTranslator.resourceLabelsHint, "host.name")])
            == .success(T.Converted(labels: #"{exporter="OTLP", host_name="guarana"}"#,
                                    line: #"{"resources":{"region.az":"eu-west-1a"}}"#, timestamp: time)))
        #expect(Self.hinted([T.kv("host.name", T.str("guarana")), T.kv("http.status", .int(200))],
                            hints: [(LokiTranslator.attributeLabelsHint, "host.name"), (LokiTranslator.formatHint, "logfmt")])
            == .success(T.Converted(labels: #"{exporter="OTLP", host_name="guarana"}"#,
                                    line: "attribute_http.status=200", timestamp: time)))
        #expect(Self.hinted([], hints: [], severity: 8)
            == .success(T.Converted(labels: #"{exporter="OTLP", level="DEBUG4"}"#, line: "{}", timestamp: time)))
        #expect(Self.hinted([T.kv("level", T.str("dummy"))], hints: [], severity: 8)
            == .success(T.Converted(labels: #"{exporter="OTLP", level="dummy"}"#, line: "{}", timestamp: time)))
        #expect(Self.hinted([], hints: [], scope: OTLPInstrumentationScope(name: "otlp", version: "v1"))
            == .success(T.Converted(labels: #"{exporter="OTLP"}"#,
                                    line: #"{"instrumentation_scope":{"name":"otlp","version":"v1"}}"#, timestamp: time)))
        #expect(Self.hinted([], hints: [(LokiTranslator.formatHint, "my-format")]) == .failure(.invalidFormat("my-format")))
    }

    /// `TestGetTenantFromTenantHint`.
    @Test func tenantFromHint() {
        let tenantAttributes = { (id: String) in [T.kv(LokiTranslator.tenantHint, T.str("tenant.id")), T.kv("tenant.id", T.str(id))] }
        #expect(LokiTranslator.tenant(record: OTLPLogRecord(attributes: tenantAttributes("1")), resource: OTLPResource()) == "1")
        #expect(LokiTranslator.tenant(record: OTLPLogRecord(), resource: OTLPResource(attributes: tenantAttributes("1"))) == "1")
        #expect(LokiTranslator.tenant(record: OTLPLogRecord(attributes: tenantAttributes("2")),
                                      resource: OTLPResource(attributes: tenantAttributes("1"))) == "1")
        #expect(LokiTranslator.tenant(record: OTLPLogRecord(attributes: [T.kv(LokiTranslator.tenantHint, T.str("tenant.id"))]),
                                      resource: OTLPResource()) == "")
    }

    /// The tenant hint is removed from the line and, unlike older translators, does not become a label.
    @Test func tenantHintIsRemovedNotLabelled() {
        let record = OTLPLogRecord(attributes: [T.kv(LokiTranslator.tenantHint, T.str("tenant.id")), T.kv("tenant.id", T.str("1")),
                                                T.kv("http.status", .int(200))])
        #expect(T.labels(record) == #"{exporter="OTLP"}"#)
        #expect(T.line(record) == #"{"attributes":{"http.status":200,"tenant.id":"1"}}"#)
    }

    // MARK: convert_test.go: TestConvertAttributesAndMerge, TestConvertAttributesToLabels

    @Test func convertAttributesAndMerge() {
        func labelsOf(_ attributes: [OTLPKeyValue], _ resource: [OTLPKeyValue] = []) -> String {
            T.labels(OTLPLogRecord(attributes: attributes), resource: OTLPResource(attributes: resource))
        }
        #expect(labelsOf([]) == #"{exporter="OTLP"}"#)
        #expect(labelsOf([T.kv("host.name", T.str("guarana")), T.kv("pod.name", T.str("should-be-ignored")),
                          T.kv(LokiTranslator.attributeLabelsHint, T.str("host.name"))])
            == #"{exporter="OTLP", host_name="guarana"}"#)
        #expect(labelsOf([T.kv(LokiTranslator.resourceLabelsHint, T.str("host.name"))],
                         [T.kv("host.name", T.str("guarana")), T.kv("pod.name", T.str("should-be-ignored"))])
            == #"{exporter="OTLP", host_name="guarana"}"#)
        #expect(labelsOf([], [T.kv(LokiTranslator.resourceLabelsHint, T.str("host.name")),
                              T.kv("host.name", T.str("hostname-from-resources")), T.kv("pod.name", T.str("should-be-ignored"))])
            == #"{exporter="OTLP", host_name="hostname-from-resources"}"#)
        #expect(labelsOf([T.kv("host.name", T.str("hostname-from-attributes")),
                          T.kv(LokiTranslator.attributeLabelsHint, T.str("host.name")),
                          T.kv(LokiTranslator.resourceLabelsHint, T.str("host.name"))],
                         [T.kv("host.name", T.str("hostname-from-resources")), T.kv("pod.name", T.str("should-be-ignored"))])
            == #"{exporter="OTLP", host_name="hostname-from-attributes"}"#)
        #expect(labelsOf([T.kv(LokiTranslator.attributeLabelsHint, T.str("exporter")), T.kv("exporter", T.str("overridden"))])
            == #"{exporter="overridden"}"#)
        #expect(labelsOf([], [T.kv("service.namespace", T.str("my-service-namespace")), T.kv("service.name", T.str("my-service-name"))])
            == #"{exporter="OTLP", job="my-service-namespace/my-service-name"}"#)
        #expect(labelsOf([], [T.kv("service.name", T.str("my-service-name"))]) == #"{exporter="OTLP", job="my-service-name"}"#)
        #expect(labelsOf([], [T.kv("service.namespace", T.str("my-service-namespace"))]) == #"{exporter="OTLP"}"#)
        #expect(labelsOf([], [T.kv("service.instance.id", T.str("my-service-instance-id"))])
            == #"{exporter="OTLP", instance="my-service-instance-id"}"#)
    }

    @Test func nestedAttributesBecomeLabels() {
        let record = OTLPLogRecord(attributes: [
            T.kv("host", .kvlist([T.kv("name", T.str("guarana"))])), T.kv("pod.name", T.str("pod-123")),
            T.kv(LokiTranslator.attributeLabelsHint, .array([T.str("host.name"), T.str("pod.name")])),
        ])
        #expect(T.labels(record) == #"{exporter="OTLP", host_name="guarana", pod_name="pod-123"}"#)
        // Only an attribute named exactly like a label is removed: the map `host` stays in the line.
        #expect(T.line(record) == #"{"attributes":{"host":{"name":"guarana"}}}"#)
    }

    // MARK: Alloy: internal/component/otelcol/exporter/loki/internal/convert/convert_test.go

    @Test func alloyConsumeLogs() {
        let time: UInt64 = 1_581_452_773_000_000_111
        func record(_ body: String, _ attributes: [OTLPKeyValue], time: UInt64 = time) -> OTLPLogRecord {
            OTLPLogRecord(timeUnixNano: time, severityNumber: 9, severityText: "Info", body: T.str(body), attributes: attributes)
        }
        let plain = [T.kv("attr.1", T.str("12345")), T.kv("attr.2", T.str("fake_token"))]
        // LabelHint
        #expect(T.convert(record("AUTH log message", plain + [T.kv("loki.attribute.labels", T.str("attr.1"))]))
            == .success(T.Converted(labels: #"{attr_1="12345", exporter="OTLP", level="INFO"}"#,
                                    line: #"{"body":"AUTH log message","severity":"Info","attributes":{"attr.2":"fake_token"}}"#,
                                    timestamp: Int64(time))))
        // NoLabelHint
        #expect(T.convert(record("AUTH log message", plain))
            == .success(T.Converted(labels: #"{exporter="OTLP", level="INFO"}"#,
                                    line: #"{"body":"AUTH log message","severity":"Info","attributes":{"attr.1":"12345","attr.2":"fake_token"}}"#,
                                    timestamp: Int64(time))))
        // ScopeAttributeWhenResourceAttributeHasSameName: the record's attribute wins and both are removed.
        let resource = OTLPResource(attributes: [T.kv("attr.1", T.str("77777"))])
        #expect(T.convert(record("AUTH log message", [T.kv("attr.1", T.str("11111")), T.kv("attr.2", T.str("fake_token")),
                                                      T.kv("loki.attribute.labels", T.str("attr.1"))]), resource: resource)
            == .success(T.Converted(labels: #"{attr_1="11111", exporter="OTLP", level="INFO"}"#,
                                    line: #"{"body":"AUTH log message","severity":"Info","attributes":{"attr.2":"fake_token"}}"#,
                                    timestamp: Int64(time))))
        // ResourceAttributeWhenScopeAttributeHasSameName
        #expect(T.convert(record("AUTH log message", [T.kv("attr.1", T.str("11111")), T.kv("attr.2", T.str("fake_token")),
                                                      T.kv("loki.resource.labels", T.str("attr.1"))]), resource: resource)
            == .success(T.Converted(labels: #"{attr_1="77777", exporter="OTLP", level="INFO"}"#,
                                    line: #"{"body":"AUTH log message","severity":"Info","attributes":{"attr.2":"fake_token"}}"#,
                                    timestamp: Int64(time))))
        // ResourceAttributeOnly
        #expect(T.convert(record("AUTH log message", [T.kv("attr.2", T.str("fake_token")),
                                                      T.kv("loki.resource.labels", T.str("attr.1"))]), resource: resource)
            == .success(T.Converted(labels: #"{attr_1="77777", exporter="OTLP", level="INFO"}"#,
                                    line: #"{"body":"AUTH log message","severity":"Info","attributes":{"attr.2":"fake_token"}}"#,
                                    timestamp: Int64(time))))
        // MultipleLogs: two scopes, two entries in order.
        let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
            OTLPScopeLogs(logRecords: [record("AUTH log message", plain)]),
            OTLPScopeLogs(logRecords: [record("Another AUTH log message", plain, time: time + 100)]),
        ])])
        let result = T.translator.translate(logs)
        #expect(result.entries.map { String(decoding: $0.line, as: UTF8.self) } == [
            #"{"body":"AUTH log message","severity":"Info","attributes":{"attr.1":"12345","attr.2":"fake_token"}}"#,
            #"{"body":"Another AUTH log message","severity":"Info","attributes":{"attr.1":"12345","attr.2":"fake_token"}}"#,
        ])
        #expect(result.entries.map(\.timestamp) == [Int64(time), Int64(time + 100)])
    }
}
