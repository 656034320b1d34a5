import Testing
import Wire

/// Messages encoded by the real Python `opentelemetry-proto` package (`testdata/make_golden.py`; versions in
/// `testdata/golden-versions.txt`, text dumps in `*.txtpb`): an encoder independent of ours and of SwiftProtobuf.
@Suite("OTLP golden bytes")
struct OTLPGoldenTests {
    static func string(_ text: String) -> OTLPAnyValue { .string(text) }

    /// `make_golden.py`'s `request()`, spelled in our model.
    static let request = OTLPLogsData(resourceLogs: [
        OTLPResourceLogs(
            resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: string("checkout")),
                                                OTLPKeyValue(key: "host.name", value: string("node-1"))],
                                   droppedAttributesCount: 1),
            scopeLogs: [OTLPScopeLogs(
                scope: OTLPInstrumentationScope(
                    name: "io.opentelemetry.python", version: "1.2.3",
                    attributes: [OTLPKeyValue(key: "scope.enabled", value: .bool(true))], droppedAttributesCount: 2),
                logRecords: [
                    OTLPLogRecord(
                        timeUnixNano: 1_700_000_000_123_456_789, observedTimeUnixNano: 1_700_000_000_223_456_789,
                        severityNumber: 9, severityText: "INFO",
                        body: string("user logged in: naïve 日本語 😀 \"quoted\"\n"),
                        attributes: [
                            OTLPKeyValue(key: "http.method", value: string("GET")),
                            OTLPKeyValue(key: "http.status_code", value: .int(200)),
                            OTLPKeyValue(key: "duration", value: .double(0.25)),
                            OTLPKeyValue(key: "cached", value: .bool(false)),
                            OTLPKeyValue(key: "tags", value: .array([string("a"), string("b")])),
                            OTLPKeyValue(key: "payload", value: .bytes([0x00, 0x01, 0xFE, 0xFF])),
                        ],
                        droppedAttributesCount: 3, flags: 1,
                        traceID: [0x5B, 0x8E, 0xFF, 0xF7, 0x98, 0x03, 0x81, 0x03, 0xD2, 0x69, 0xB6, 0x33, 0x81, 0x3F,
                                  0xC6, 0x0C],
                        spanID: [0xEE, 0xE1, 0x9B, 0x7E, 0xC3, 0xC1, 0xB1, 0x74],
                        eventName: "user.login"),
                    OTLPLogRecord(
                        severityNumber: 24,
                        body: .kvlist([
                            OTLPKeyValue(key: "nested", value: .array([.int(-1), .double(-0.5), .array([]), .kvlist([])])),
                            OTLPKeyValue(key: "empty", value: string("")),
                            OTLPKeyValue(key: "no.value", value: nil),
                        ])),
                    OTLPLogRecord(
                        timeUnixNano: UInt64.max, severityNumber: 99, body: .bytes([]),
                        attributes: [
                            OTLPKeyValue(key: "max", value: .int(Int64.max)),
                            OTLPKeyValue(key: "min", value: .int(Int64.min)),
                            OTLPKeyValue(key: "zero", value: .int(0)),
                            OTLPKeyValue(key: "double.zero", value: .double(0)),
                            OTLPKeyValue(key: "infinity", value: .double(.infinity)),
                            OTLPKeyValue(key: "", value: string("empty key")),
                        ],
                        flags: UInt32.max),
                    OTLPLogRecord(),
                ],
                schemaURL: "https://opentelemetry.io/schemas/1.21.0")],
            schemaURL: "https://opentelemetry.io/schemas/1.20.0"),
        OTLPResourceLogs(scopeLogs: [OTLPScopeLogs(logRecords: [
            OTLPLogRecord(severityText: "warn", body: string("second resource")),
        ])]),
    ])

    @Test func pythonRequestDecodesToTheSameModel() throws {
        let golden = try OTLPTestData.bytes("logs-request.binpb")
        #expect(try OTLPProtobuf.decodeLogsRequest(golden) == Self.request)
        #expect(OTLPReference.model(try ReferenceRequest(serializedBytes: golden)) == Self.request)
    }

    @Test func ourEncoderWritesPythonsBytes() throws {
        #expect(OTLPProtobuf.encodeLogsRequest(Self.request) == (try OTLPTestData.bytes("logs-request.binpb")))
    }

    @Test func pythonRequestSurvivesJSON() throws {
        let json = OTLPJSON.encodeLogsRequest(try OTLPProtobuf.decodeLogsRequest(OTLPTestData.bytes("logs-request.binpb")))
        #expect(try OTLPJSON.decodeLogsRequest(json) == Self.request)
    }

    @Test func pythonResponse() throws {
        let golden = try OTLPTestData.bytes("logs-response-partial.binpb")
        let message = "5 log records are older than the retention period"
        #expect(try OTLPProtobuf.decodeLogsResponse(golden)
            == OTLPLogsResponse(rejectedLogRecords: 5, errorMessage: message))
        #expect(OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 5, errorMessage: message) == golden)
    }
}
