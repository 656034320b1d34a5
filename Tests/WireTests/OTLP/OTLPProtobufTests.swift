import Foundation
import TestSupport
import Testing
import Wire

@Suite("OTLP protobuf codec")
struct OTLPProtobufTests {
    static let sample = OTLPLogsData(resourceLogs: [
        OTLPResourceLogs(
            resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string("api"))]),
            scopeLogs: [
                OTLPScopeLogs(
                    scope: OTLPInstrumentationScope(name: "app.logger", version: "2.0"),
                    logRecords: [
                        OTLPLogRecord(timeUnixNano: 1_700_000_000_123_456_789, observedTimeUnixNano: 1_700_000_000_2,
                                      severityNumber: 9, severityText: "INFO", body: .string("GET /health 200"),
                                      attributes: [OTLPKeyValue(key: "http.status", value: .int(200)),
                                                   OTLPKeyValue(key: "ratio", value: .double(0.5)),
                                                   OTLPKeyValue(key: "ok", value: .bool(false)),
                                                   OTLPKeyValue(key: "none", value: nil)],
                                      flags: 1, traceID: Array(0..<16), spanID: Array(100..<108),
                                      eventName: "request.done"),
                        OTLPLogRecord(severityNumber: -3, body: .array([.string(""), .int(-1),
                                                                        .kvlist([OTLPKeyValue(key: "k", value: .bytes([0, 255]))]),
                                                                        .array([])])),
                        OTLPLogRecord(),
                    ],
                    schemaURL: "https://opentelemetry.io/schemas/1.21.0"),
                OTLPScopeLogs(),
            ],
            schemaURL: "https://opentelemetry.io/schemas/1.20.0"),
        OTLPResourceLogs(),
    ])

    @Test func roundTripsThroughOurCodec() throws {
        let bytes = OTLPProtobuf.encodeLogsRequest(Self.sample)
        #expect(try OTLPProtobuf.decodeLogsRequest(bytes) == Self.sample)
        #expect(Self.sample.recordCount == 3)
    }

    @Test func encoderWritesTheGeneratedCodesBytes() throws {
        let generated: [UInt8] = try OTLPReference.message(Self.sample).serializedBytes()
        #expect(OTLPProtobuf.encodeLogsRequest(Self.sample) == generated)
    }

    @Test func generatedBytesDecodeByHandAndOursParseWithGeneratedCode() throws {
        let generated: [UInt8] = try OTLPReference.message(Self.sample).serializedBytes()
        #expect(try OTLPProtobuf.decodeLogsRequest(generated) == Self.sample)
        let parsed = try ReferenceRequest(serializedBytes: OTLPProtobuf.encodeLogsRequest(Self.sample))
        #expect(OTLPReference.model(parsed) == Self.sample)
        #expect(parsed.resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber == .info)
    }

    @Test func randomMessagesAgreeWithTheGeneratedCode() throws {
        var random = SeededRandom(seed: 0x07_1F_0001)
        for _ in 0..<400 {
            let logs = random.otlpLogs()
            let ours = OTLPProtobuf.encodeLogsRequest(logs)
            let reference: [UInt8] = try OTLPReference.message(logs).serializedBytes()
            #expect(ours == reference)
            #expect(OTLPReference.model(try ReferenceRequest(serializedBytes: ours)) == logs)
            #expect(try OTLPProtobuf.decodeLogsRequest(reference) == logs)
        }
    }

    @Test func emptyInputIsAnEmptyRequest() throws {
        #expect(try OTLPProtobuf.decodeLogsRequest([]) == OTLPLogsData())
        #expect(OTLPProtobuf.encodeLogsRequest(OTLPLogsData()).isEmpty)
        let empty = OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [OTLPScopeLogs()])])
        #expect(OTLPProtobuf.encodeLogsRequest(empty) == [0x0A, 0x02, 0x12, 0x00])
    }

    @Test func decodesFromARawBuffer() throws {
        let bytes = OTLPProtobuf.encodeLogsRequest(Self.sample)
        let decoded = try bytes.withUnsafeBytes { raw in try OTLPProtobuf.decodeLogsRequest(raw) }
        #expect(decoded == Self.sample)
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        var body = PushProtoBuilder()
        body.unknownFields(base: 100)
        body.messageField(1) { resourceLogs in
            resourceLogs.unknownFields()
            resourceLogs.messageField(1) { resource in
                resource.unknownFields(base: 20)
                resource.messageField(1) { pair in
                    pair.stringField(1, "service.name")
                    pair.unknownFields(base: 40)
                    pair.messageField(2) { value in
                        value.unknownFields(base: 30)
                        value.stringField(1, "api")
                    }
                }
                resource.messageField(3) { $0.stringField(1, "entity") }   // entity_refs: not modelled
            }
            resourceLogs.messageField(1000) { $0.stringField(1, "deprecated instrumentation_library_logs") }
            resourceLogs.messageField(2) { scopeLogs in
                scopeLogs.unknownFields(base: 50)
                scopeLogs.messageField(2) { record in
                    record.unknownFields(base: 60)
                    record.stringField(4, "removed LogRecord.name")
                    record.fixed64Field(1, 42)
                    record.messageField(5) { value in
                        value.messageField(5) { array in
                            array.unknownFields(base: 70)
                            array.messageField(1) { $0.varintField(3, 7) }
                        }
                    }
                }
            }
        }
        let decoded = try OTLPProtobuf.decodeLogsRequest(body.bytes)
        #expect(decoded == OTLPReference.model(try ReferenceRequest(serializedBytes: body.bytes)))
        #expect(decoded.resourceLogs[0].resource.attributes == [OTLPKeyValue(key: "service.name", value: .string("api"))])
        #expect(decoded.resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano == 42)
        #expect(decoded.resourceLogs[0].scopeLogs[0].logRecords[0].body == .array([.int(7)]))
    }

    @Test func repeatedScalarsLastOneWinsAndMessagesMerge() throws {
        var valid = PushProtoBuilder()
        valid.messageField(1) { resourceLogs in
            resourceLogs.messageField(1) { resource in
                resource.messageField(1) { $0.stringField(1, "a") }
                resource.varintField(2, 5)
            }
            resourceLogs.stringField(3, "first")
            resourceLogs.messageField(1) { resource in
                resource.messageField(1) { $0.stringField(1, "b") }
                resource.varintField(2, 6)
            }
            resourceLogs.stringField(3, "second")
            resourceLogs.messageField(2) { scopeLogs in
                scopeLogs.messageField(1) { $0.stringField(1, "scope") }
                scopeLogs.messageField(1) { $0.stringField(2, "1.0") }
                scopeLogs.messageField(2) { record in
                    record.varintField(2, 9)
                    record.messageField(5) { $0.stringField(1, "text") }
                    record.messageField(5) { $0.varintField(3, 12) }
                    record.messageField(5) { _ in }   // an empty AnyValue merges as nothing
                    record.messageField(6) { pair in
                        pair.messageField(2) { $0.messageField(5) { $0.messageField(1) { $0.varintField(2, 1) } } }
                        pair.messageField(2) { $0.messageField(5) { $0.messageField(1) { $0.varintField(3, 2) } } }
                        pair.stringField(1, "list")
                    }
                    record.varintField(2, 13)
                    record.bytesField(9, Array(repeating: 1, count: 16))
                    record.bytesField(9, Array(repeating: 2, count: 16))
                }
            }
        }
        let decoded = try OTLPProtobuf.decodeLogsRequest(valid.bytes)
        #expect(decoded == OTLPReference.model(try ReferenceRequest(serializedBytes: valid.bytes)))
        let resourceLogs = decoded.resourceLogs[0]
        #expect(resourceLogs.resource == OTLPResource(attributes: [OTLPKeyValue(key: "a", value: nil),
                                                                   OTLPKeyValue(key: "b", value: nil)],
                                                      droppedAttributesCount: 6))
        #expect(resourceLogs.schemaURL == "second")
        #expect(resourceLogs.scopeLogs[0].scope == OTLPInstrumentationScope(name: "scope", version: "1.0"))
        let record = resourceLogs.scopeLogs[0].logRecords[0]
        #expect(record.severityNumber == 13)
        #expect(record.body == .int(12))
        #expect(record.attributes == [OTLPKeyValue(key: "list", value: .array([.bool(true), .int(2)]))])
        #expect(record.traceID == Array(repeating: 2, count: 16))
    }

    @Test func nonMinimalVarintsAndNegativeEnumsAreAccepted() throws {
        // resource_logs (length 5 written in 3 bytes) > scope_logs > log_records > severity_number -1 (10 bytes).
        var record = PushProtoBuilder()
        record.varintField(2, UInt64(bitPattern: -1))
        var scopeLogs = PushProtoBuilder()
        scopeLogs.bytesField(2, record.bytes)
        var resourceLogs = PushProtoBuilder()
        resourceLogs.bytesField(2, scopeLogs.bytes)
        let bytes: [UInt8] = [0x0A, 0x80 | UInt8(resourceLogs.bytes.count), 0x80, 0x00] + resourceLogs.bytes
        let decoded = try OTLPProtobuf.decodeLogsRequest(bytes)
        #expect(decoded.resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber == -1)
        let encoded = OTLPProtobuf.encodeLogsRequest(decoded)
        #expect(try ReferenceRequest(serializedBytes: encoded).resourceLogs[0].scopeLogs[0].logRecords[0]
            .severityNumber == .UNRECOGNIZED(-1))
    }

    @Test func utf8ValidationAgreesWithTheStandardLibrary() throws {
        var random = SeededRandom(seed: 0x07_1F_0003)
        // Lead bytes, continuation bytes and the edges of the valid ranges, mixed with ASCII.
        let pool: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
                             0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var valid = 0
        for _ in 0..<4_000 {
            var text: [UInt8] = []
            for _ in 0..<random.int(0...24) {
                text.append(random.chance(55) ? UInt8(random.int(0x20...0x7E)) : pool[random.int(0...pool.count - 1)])
            }
            let request = Self.requestWithRecord { $0.messageField(5) { $0.bytesField(1, text) } }
            let expected = String(validating: text, as: UTF8.self)
            do throws(OTLPDecodeError) {
                let body = try OTLPProtobuf.decodeLogsRequest(request).resourceLogs[0].scopeLogs[0].logRecords[0].body
                #expect(expected != nil && body == .string(expected ?? ""), "\(text)")
                valid += 1
            } catch {
                #expect(expected == nil, "\(text): \(error)")
            }
        }
        #expect(valid > 200)
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        /// Substrings the error's description must contain.
        var expected: [String]
        var description: String { name }
    }

    /// Wraps a log record's bytes into a request (resource_logs[0].scope_logs[0].log_records[0]).
    static func requestWithRecord(_ build: (inout PushProtoBuilder) -> Void) -> [UInt8] {
        var body = PushProtoBuilder()
        body.messageField(1) { $0.messageField(2) { $0.messageField(2, build) } }
        return body.bytes
    }

    static let malformed: [Malformed] = [
        Malformed(name: "truncated tag", bytes: [0x80], expected: ["proto: unexpected EOF in a field tag of ExportLogsServiceRequest",
                                                                   "at byte 0"]),
        Malformed(name: "resource_logs longer than the body", bytes: [0x0A, 0x05, 0x12],
                  expected: ["unexpected EOF in field 1 of ExportLogsServiceRequest: length 5 exceeds the 1 bytes left", "at byte 1"]),
        Malformed(name: "field number 0", bytes: [0x02, 0x00], expected: ["illegal tag 2 (field number 0)"]),
        Malformed(name: "wire type 6", bytes: [0x0E], expected: ["illegal wire type 6 for field 1"]),
        Malformed(name: "resource_logs as a varint", bytes: [0x08, 0x01],
                  expected: ["wrong wire type 0 for field 1 (resource_logs) of ExportLogsServiceRequest, expected 2"]),
        Malformed(name: "varint longer than 10 bytes", bytes: [0x50] + Array(repeating: 0xFF, count: 11),
                  expected: ["varint overflows 64 bits (longer than 10 bytes) in field 10"]),
        Malformed(name: "unterminated group", bytes: [0x53, 0x08, 0x01], expected: ["no end-group tag"]),
        Malformed(name: "stray end-group", bytes: [0x54], expected: ["unexpected end-group tag for field 10"]),
        Malformed(name: "short trace_id",
                  bytes: requestWithRecord { $0.bytesField(9, [1, 2, 3]) },
                  expected: ["trace_id is 3 bytes, expected 16",
                             "(at resourceLogs[0].scopeLogs[0].logRecords[0].traceId)"]),
        Malformed(name: "long span_id",
                  bytes: requestWithRecord { $0.bytesField(10, Array(repeating: 7, count: 16)) },
                  expected: ["span_id is 16 bytes, expected 8", "logRecords[0].spanId"]),
        Malformed(name: "time as a varint",
                  bytes: requestWithRecord { $0.varintField(1, 5) },
                  expected: ["wrong wire type 0 for field 1 (time_unix_nano) of LogRecord, expected 1",
                             "(at resourceLogs[0].scopeLogs[0].logRecords[0])"]),
        Malformed(name: "truncated fixed64 time",
                  bytes: requestWithRecord { $0.bytes += [0x09, 0x01, 0x02] },
                  expected: ["unexpected EOF in field 1 of LogRecord: needs 8 bytes, 2 left"]),
        Malformed(name: "truncated flags",
                  bytes: requestWithRecord { $0.bytes += [0x45, 0x01] },
                  expected: ["unexpected EOF in field 8 of LogRecord: needs 4 bytes, 1 left"]),
        Malformed(name: "invalid UTF-8 in a body string",
                  bytes: requestWithRecord { $0.messageField(5) { $0.bytesField(1, [0x61, 0xFF]) } },
                  expected: ["invalid UTF-8 in field 1 (string_value) of AnyValue", "logRecords[0].body)"]),
        Malformed(name: "invalid UTF-8 in a nested attribute key",
                  bytes: requestWithRecord { record in
                      record.messageField(6) { pair in
                          pair.stringField(1, "outer")
                          pair.messageField(2) { value in
                              value.messageField(6) { list in
                                  list.messageField(1) { $0.stringField(1, "fine") }
                                  list.messageField(1) { $0.bytesField(1, [0xC0, 0x80]) }
                              }
                          }
                      }
                  },
                  expected: ["invalid UTF-8 in field 1 (key) of KeyValue",
                             "logRecords[0].attributes[0].value.kvlistValue.values[1])"]),
        Malformed(name: "double_value as fixed32",
                  bytes: requestWithRecord { $0.messageField(5) { $0.fixed32Field(4, 1) } },
                  expected: ["wrong wire type 5 for field 4 (double_value) of AnyValue, expected 1"]),
        Malformed(name: "truncated record inside a valid scope",
                  bytes: [0x0A, 0x04, 0x12, 0x02, 0x12, 0x05],
                  expected: ["unexpected EOF in field 2 of ScopeLogs: length 5 exceeds the 0 bytes left",
                             "(at resourceLogs[0].scopeLogs[0])"]),
    ]

    @Test(arguments: malformed)
    func malformedInputSaysWhatAndWhere(_ input: Malformed) {
        do throws(OTLPDecodeError) {
            _ = try OTLPProtobuf.decodeLogsRequest(input.bytes)
            Issue.record("decoded without an error")
        } catch {
            #expect(error.format == .protobuf)
            for expected in input.expected {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }

    /// A request whose body is `depth` AnyValues nested through arrays around an int, built front to back.
    static func nestedValues(_ depth: Int) -> [UInt8] {
        func varint(_ value: Int) -> [UInt8] {
            var builder = PushProtoBuilder()
            builder.varint(UInt64(value))
            return builder.bytes
        }
        // sizes[k]: the size of the k-th AnyValue from the inside (0: the innermost int).
        var sizes = [2]
        for _ in 1..<depth {
            let array = 1 + varint(sizes[sizes.count - 1]).count + sizes[sizes.count - 1]
            sizes.append(1 + varint(array).count + array)
        }
        var value: [UInt8] = []
        value.reserveCapacity(sizes[sizes.count - 1])
        for k in stride(from: depth - 1, through: 1, by: -1) {
            let inner = sizes[k - 1]
            value += [0x2A] + varint(1 + varint(inner).count + inner) + [0x0A] + varint(inner)
        }
        value += [0x18, 0x01]
        return requestWithRecord { $0.bytesField(5, value) }
    }

    @Test func valuesNestedTooDeeplyAreAnErrorNotACrash() throws {
        let nested = Self.nestedValues
        let deepest = try OTLPProtobuf.decodeLogsRequest(nested(OTLPProtobuf.maxValueDepth))
        #expect(deepest.recordCount == 1)
        let error = #expect(throws: OTLPDecodeError.self) {
            try OTLPProtobuf.decodeLogsRequest(nested(OTLPProtobuf.maxValueDepth + 1))
        }
        #expect(error?.reason == "AnyValue nested deeper than 64 levels")
        #expect(throws: OTLPDecodeError.self) { try OTLPProtobuf.decodeLogsRequest(nested(50_000)) }
    }

    @Test func responseIsEmptyWhenNothingWasRejected() throws {
        #expect(OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 0, errorMessage: "").isEmpty)
        #expect(try OTLPProtobuf.decodeLogsResponse([]) == OTLPLogsResponse())
        #expect(try ReferenceResponse(serializedBytes: [UInt8]()).hasPartialSuccess == false)
    }

    @Test(arguments: [(Int64(3), "3 records too old"), (0, "warning: clock skew"), (Int64.max, ""), (-1, "ü")])
    func responseRoundTripsAndMatchesTheGeneratedCode(rejected: Int64, message: String) throws {
        let bytes = OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: rejected, errorMessage: message)
        var reference = ReferenceResponse()
        reference.partialSuccess.rejectedLogRecords = rejected
        reference.partialSuccess.errorMessage = message
        #expect(bytes == (try reference.serializedBytes()))
        #expect(try OTLPProtobuf.decodeLogsResponse(bytes) == OTLPLogsResponse(rejectedLogRecords: rejected,
                                                                                  errorMessage: message))
    }
}
