import Testing
import Wire
@testable import Backend

/// OTLP records become Loki streams as Loki's `otlpToLokiPushRequest` makes them: default resource attributes as
/// index labels, everything else as structured metadata under Loki's names.
@Suite struct OTLPPushMapperTests {
    static let now: Int64 = 1_750_000_000_000_000_000

    static func kv(_ key: String, _ value: OTLPAnyValue?) -> OTLPKeyValue { OTLPKeyValue(key: key, value: value) }

    static func map(
        _ resources: [OTLPResourceLogs], config: OTLPConfig = OTLPConfig(),
        discover: [String] = Limits.lokiDiscoverServiceName
    ) -> [(labels: String, entries: [(Int64, String, [String: String])])] {
        let request = OTLPPushMapper.pushRequest(OTLPLogsData(resourceLogs: resources), config: config,
                                                 discoverServiceName: discover, now: now)
        return request.streams.map { stream in
            (stream.labels, stream.entries.map { entry in
                (entry.timestamp, String(decoding: entry.line, as: UTF8.self),
                 Dictionary(entry.structuredMetadata.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
            })
        }
    }

    static func resource(_ attributes: [OTLPKeyValue], scope: OTLPInstrumentationScope = .init(),
                         _ records: [OTLPLogRecord]) -> OTLPResourceLogs {
        OTLPResourceLogs(resource: OTLPResource(attributes: attributes),
                         scopeLogs: [OTLPScopeLogs(scope: scope, logRecords: records)])
    }

    @Test func defaultResourceAttributesAreIndexLabelsAndTheRestStructuredMetadata() {
        let record = OTLPLogRecord(
            timeUnixNano: 100, observedTimeUnixNano: 200, severityNumber: 17, severityText: "ERROR",
            body: .string("disk full"), attributes: [Self.kv("http.method", .string("GET")), Self.kv("code", .int(500))],
            droppedAttributesCount: 2, flags: 1, traceID: Array(0..<16), spanID: Array(0..<8))
        let streams = Self.map([Self.resource(
            [Self.kv("service.name", .string("checkout")), Self.kv("k8s.pod.name", .string("pod-1")),
             Self.kv("host.name", .string("node-a")), Self.kv("deployment.environment.name", .string("prod"))],
            scope: OTLPInstrumentationScope(name: "lib", version: "1.2", attributes: [Self.kv("s.a", .bool(true))],
                                            droppedAttributesCount: 3),
            [record])])
        #expect(streams.count == 1)
        #expect(streams[0].labels == #"{deployment_environment_name="prod", k8s_pod_name="pod-1", service_name="checkout"}"#)
        let (timestamp, line, metadata) = streams[0].entries[0]
        #expect(timestamp == 100)
        #expect(line == "disk full")
        #expect(metadata == [
            "http_method": "GET", "code": "500", "observed_timestamp": "200", "severity_number": "17",
            "severity_text": "ERROR", "dropped_attributes_count": "2", "flags": "1",
            "trace_id": "000102030405060708090a0b0c0d0e0f", "span_id": "0001020304050607", "host_name": "node-a",
            "s_a": "true", "scope_name": "lib", "scope_version": "1.2", "scope_dropped_attributes_count": "3",
        ])
    }

    @Test func serviceNameIsDiscoveredFromIndexLabelsElseUnknownService() {
        var config = OTLPConfig()
        config.resourceAttributes = [OTLPAttributeRule(action: .indexLabel, attributes: ["app"])]
        let discovered = Self.map([Self.resource([Self.kv("app", .string("shop"))], [OTLPLogRecord(body: .string("x"))])],
                                  config: config)
        #expect(discovered[0].labels == #"{app="shop", service_name="shop"}"#)
        let unknown = Self.map([Self.resource([Self.kv("team", .string("a"))], [OTLPLogRecord(body: .string("x"))])])
        #expect(unknown[0].labels == #"{service_name="unknown_service"}"#)
        #expect(unknown[0].entries[0].2["team"] == "a")
        let off = Self.map([Self.resource([Self.kv("team", .string("a"))], [OTLPLogRecord(body: .string("x"))])],
                           discover: [])
        #expect(off[0].labels == "{}")
    }

    @Test func timestampFallsBackToObservedThenNow() {
        let streams = Self.map([Self.resource([Self.kv("service.name", .string("s"))], [
            OTLPLogRecord(observedTimeUnixNano: 42, body: .string("observed")),
            OTLPLogRecord(body: .string("none")),
        ])])
        #expect(streams[0].entries.map(\.0) == [42, Self.now])
        // With only an observed time it is the timestamp and not repeated as metadata.
        #expect(streams[0].entries[0].2["observed_timestamp"] == nil)
    }

    @Test func bodiesAndValuesAreTextAsPdataWritesThem() {
        let body: OTLPAnyValue = .kvlist([Self.kv("z", .int(1)), Self.kv("a", .array([.string("<b>"), .double(1.5), .bool(false)]))])
        let streams = Self.map([Self.resource([], [
            OTLPLogRecord(body: body, attributes: [
                Self.kv("list", .array([.int(1), .int(2)])), Self.kv("bytes", .bytes([1, 2, 3])),
                Self.kv("map", .kvlist([Self.kv("inner.key", .string("v")), Self.kv("deep", .kvlist([Self.kv("x", .double(0.000001))]))])),
            ]),
            OTLPLogRecord(body: .double(3.0)),
            OTLPLogRecord(body: nil),
        ])])
        let entries = streams[0].entries
        #expect(entries[0].1 == #"{"a":["\u003cb\u003e",1.5,false],"z":1}"#)
        #expect(entries[0].2["list"] == "[1,2]")
        #expect(entries[0].2["bytes"] == "AQID")
        #expect(entries[0].2["map_inner_key"] == "v")
        #expect(entries[0].2["map_deep_x"] == "0.000001")
        #expect(entries[1].1 == "3")
        #expect(entries[2].1 == "")
    }

    @Test(arguments: [
        ("service.name", "service_name"), ("k8s.pod.name", "k8s_pod_name"), ("http-status", "http_status"),
        ("2xx", "key_2xx"), ("_private", "key_private"), ("__reserved", "__reserved"), ("héllo", "h_llo"),
        ("plain_name", "plain_name"), ("", ""),
    ])
    func labelNamesAreNormalisedAsPrometheusDoes(_ name: String, _ expected: String) {
        #expect(OTLPPushMapper.normalizeLabel(name) == expected)
    }

    @Test func rulesDropPromoteAndDemoteAttributes() throws {
        var config = OTLPConfig()
        config.ignoreDefaults = true
        config.resourceAttributes = [
            OTLPAttributeRule(action: .drop, regex: try OTLPAttributeRegex("secret\\..*")),
            OTLPAttributeRule(action: .indexLabel, attributes: ["team"]),
        ]
        config.scopeAttributes = [OTLPAttributeRule(action: .drop, attributes: ["noise"])]
        config.logAttributes = [
            OTLPAttributeRule(action: .drop, attributes: ["password"]),
            OTLPAttributeRule(action: .indexLabel, attributes: ["tier"]),
        ]
        config.severityTextAsLabel = true
        let streams = Self.map([Self.resource(
            [Self.kv("service.name", .string("api")), Self.kv("team", .string("core")),
             Self.kv("secret.token", .string("x")), Self.kv("secretive", .string("kept"))],
            scope: OTLPInstrumentationScope(attributes: [Self.kv("noise", .int(1)), Self.kv("keep", .int(2))]),
            [OTLPLogRecord(severityText: "WARN", body: .string("a"),
                           attributes: [Self.kv("password", .string("p")), Self.kv("tier", .string("gold"))]),
             OTLPLogRecord(body: .string("b"))])], config: config)
        // service.name is not an index label with ignore_defaults, and since it is set no service_name is made up.
        #expect(streams.map(\.labels) == [#"{team="core"}"#, #"{severity_text="WARN", team="core", tier="gold"}"#])
        let promoted = streams[1].entries[0].2
        #expect(promoted["password"] == nil && promoted["tier"] == nil)
        #expect(promoted["service_name"] == "api" && promoted["secretive"] == "kept" && promoted["secret_token"] == nil)
        #expect(promoted["keep"] == "2" && promoted["noise"] == nil)
        #expect(streams[0].entries.map(\.1) == ["b"])
    }

    @Test func defaultIndexLabelsComeFromTheDistributorSetting() {
        var config = OTLPConfig()
        config.defaultIndexLabels = ["custom.attr"]
        let streams = Self.map([Self.resource(
            [Self.kv("custom.attr", .string("v")), Self.kv("service.name", .string("s"))],
            [OTLPLogRecord(body: .string("x"))])], config: config)
        #expect(streams[0].labels == #"{custom_attr="v"}"#)
        #expect(streams[0].entries[0].2["service_name"] == "s")
    }

    @Test func resourcesWithTheSameLabelsShareAStream() {
        let records = [OTLPLogRecord(body: .string("x"))]
        let streams = Self.map([
            Self.resource([Self.kv("service.name", .string("a"))], records),
            Self.resource([Self.kv("service.name", .string("a")), Self.kv("pid", .int(1))], records),
            Self.resource([Self.kv("service.name", .string("b"))], []),
        ])
        #expect(streams.count == 1)
        #expect(streams[0].entries.count == 2)
    }

    /// Whatever the request, every record becomes exactly one entry and every label name is a valid one.
    @Test func everyRecordBecomesOneEntryWithValidLabelNames() {
        var random = SystemRandomNumberGenerator()
        let names = ["service.name", "k8s.pod.name", "a-b", "9x", "_y", "é", "", "app", "level"]
        func value(_ depth: Int) -> OTLPAnyValue? {
            switch Int.random(in: 0..<(depth > 2 ? 5 : 7), using: &random) {
            case 0: return nil
            case 1: return .string(names.randomElement(using: &random) ?? "")
            case 2: return .int(Int64.random(in: -5...5, using: &random))
            case 3: return .double([0.5, .nan, .infinity, 1e30].randomElement(using: &random) ?? 0)
            case 4: return .bytes([1, 2])
            case 5: return .array((0..<2).compactMap { _ in value(depth + 1) })
            default: return .kvlist((0..<2).map { _ in Self.kv(names.randomElement(using: &random) ?? "", value(depth + 1)) })
            }
        }
        func attributes() -> [OTLPKeyValue] {
            (0..<Int.random(in: 0...4, using: &random)).map { _ in
                Self.kv(names.randomElement(using: &random) ?? "", value(0))
            }
        }
        for _ in 0..<300 {
            let resources = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                Self.resource(attributes(), scope: OTLPInstrumentationScope(attributes: attributes()),
                              (0..<Int.random(in: 0...3, using: &random)).map { _ in
                                  OTLPLogRecord(timeUnixNano: UInt64.random(in: 0...UInt64.max, using: &random),
                                                body: value(0), attributes: attributes())
                              })
            }
            let logs = OTLPLogsData(resourceLogs: resources)
            let request = OTLPPushMapper.pushRequest(logs, config: OTLPConfig(),
                                                     discoverServiceName: Limits.lokiDiscoverServiceName, now: Self.now)
            #expect(request.streams.reduce(0) { $0 + $1.entries.count } == logs.recordCount)
            for stream in request.streams {
                // Empty only in a degenerate request (service.name repeated, the last one empty): the distributor
                // then refuses the stream with missing_labels, as Loki would refuse `{service_name=""}`.
                let parsed = try? LabelParser.parse(stream.labels)
                #expect(parsed != nil, "\(stream.labels)")
                let pairs = parsed ?? []
                for pair in pairs + stream.entries.flatMap(\.structuredMetadata) where !pair.name.isEmpty {
                    #expect(pair.name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 0x30 && $0 <= 0x39)
                        || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }, "\(pair.name)")
                }
            }
        }
    }
}
