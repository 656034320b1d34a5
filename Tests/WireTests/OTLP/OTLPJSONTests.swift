import TestSupport
import Testing
import Wire

@Suite("OTLP JSON codec")
struct OTLPJSONTests {
    static func decode(_ text: String) throws(OTLPDecodeError) -> OTLPLogsData {
        try OTLPJSON.decodeLogsRequest(Array(text.utf8))
    }

    /// A request with one record whose members are `members` (JSON object text without the braces).
    static func record(_ members: String) -> String {
        #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"# + members + "}]}]}]}"
    }

    static func decodeRecord(_ members: String) throws(OTLPDecodeError) -> OTLPLogRecord {
        let logs = try decode(record(members))
        return logs.resourceLogs[0].scopeLogs[0].logRecords[0]
    }

    @Test func specificationExample() throws {
        let logs = try OTLPJSON.decodeLogsRequest(OTLPTestData.bytes("otlp-spec-logs.json"))
        let expected = OTLPLogsData(resourceLogs: [OTLPResourceLogs(
            resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string("my.service"))]),
            scopeLogs: [OTLPScopeLogs(
                scope: OTLPInstrumentationScope(
                    name: "my.library", version: "1.0.0",
                    attributes: [OTLPKeyValue(key: "my.scope.attribute", value: .string("some scope attribute"))]),
                logRecords: [OTLPLogRecord(
                    timeUnixNano: 1_544_712_660_300_000_000, observedTimeUnixNano: 1_544_712_660_300_000_000,
                    severityText: "Information", body: .string("Example log record"),
                    attributes: [
                        OTLPKeyValue(key: "string.attribute", value: .string("some string")),
                        OTLPKeyValue(key: "boolean.attribute", value: .bool(true)),
                        OTLPKeyValue(key: "int.attribute", value: .int(10)),
                        OTLPKeyValue(key: "double.attribute", value: .double(637.704)),
                        OTLPKeyValue(key: "array.attribute", value: .array([.string("many"), .string("values")])),
                        OTLPKeyValue(key: "map.attribute",
                                     value: .kvlist([OTLPKeyValue(key: "some.map.key", value: .string("some value"))])),
                    ],
                    traceID: [0x5B, 0x8E, 0xFF, 0xF7, 0x98, 0x03, 0x81, 0x03, 0xD2, 0x69, 0xB6, 0x33, 0x81, 0x3F, 0xC6,
                              0x0C],
                    spanID: [0xEE, 0xE1, 0x9B, 0x7E, 0xC3, 0xC1, 0xB1, 0x74])])])])
        #expect(logs == expected)
        #expect(try OTLPJSON.decodeLogsRequest(OTLPJSON.encodeLogsRequest(logs)) == logs)
    }

    @Test func encoderOutputIsCompactOTLPJSON() {
        let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(
            resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string("api"))]),
            scopeLogs: [OTLPScopeLogs(
                scope: OTLPInstrumentationScope(name: "lib"),
                logRecords: [
                    OTLPLogRecord(timeUnixNano: 1_700_000_000_000_000_001, severityNumber: 17, severityText: "ERROR",
                                  body: .string("line \"1\"\n\u{1}"),
                                  attributes: [OTLPKeyValue(key: "n", value: .int(-5)),
                                               OTLPKeyValue(key: "d", value: .double(1.5)),
                                               OTLPKeyValue(key: "nan", value: .double(.nan)),
                                               OTLPKeyValue(key: "b", value: .bytes([0xFF, 0x00])),
                                               OTLPKeyValue(key: "a", value: .array([.bool(true)])),
                                               OTLPKeyValue(key: "m", value: .kvlist([])),
                                               OTLPKeyValue(key: "none", value: nil)],
                                  flags: 1, traceID: Array(repeating: 0xAB, count: 16),
                                  spanID: [0, 1, 2, 3, 4, 5, 6, 255], eventName: "e"),
                    OTLPLogRecord(),
                ])])])
        let expected = #"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"#
            + #""scopeLogs":[{"scope":{"name":"lib"},"logRecords":[{"timeUnixNano":"1700000000000000001","#
            + #""severityNumber":17,"severityText":"ERROR","body":{"stringValue":"line \"1\"\n\u0001"},"#
            + #""attributes":[{"key":"n","value":{"intValue":"-5"}},{"key":"d","value":{"doubleValue":1.5}},"#
            + #"{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"b","value":{"bytesValue":"/wA="}},"#
            + #"{"key":"a","value":{"arrayValue":{"values":[{"boolValue":true}]}}},{"key":"m","value":{"kvlistValue":{}}},"#
            + #"{"key":"none"}],"flags":1,"traceId":"abababababababababababababababab","spanId":"00010203040506ff","#
            + #""eventName":"e"},{}]}]}]}"#
        #expect(String(decoding: OTLPJSON.encodeLogsRequest(logs), as: UTF8.self) == expected)
        #expect(OTLPJSON.encodeLogsRequest(OTLPLogsData()) == Array("{}".utf8))
    }

    @Test func randomMessagesRoundTripAndAgreeWithProtobuf() throws {
        var random = SeededRandom(seed: 0x07_1F_0002)
        for _ in 0..<300 {
            let logs = random.otlpLogs()
            let json = OTLPJSON.encodeLogsRequest(logs)
            #expect(try OTLPJSON.decodeLogsRequest(json) == logs)
            #expect(try OTLPJSON.decodeLogsRequest(json) == OTLPProtobuf.decodeLogsRequest(OTLPProtobuf.encodeLogsRequest(logs)))
        }
    }

    @Test func protoFieldNamesAreAcceptedToo() throws {
        let text = #"{"resource_logs":[{"resource":{"attributes":[],"dropped_attributes_count":2},"schema_url":"s","#
            + #""scope_logs":[{"scope":{"name":"n","dropped_attributes_count":"3"},"schema_url":"t","log_records":[{"#
            + #""time_unix_nano":"5","observed_time_unix_nano":6,"severity_number":"SEVERITY_NUMBER_WARN","#
            + #""severity_text":"w","dropped_attributes_count":1,"trace_id":"000102030405060708090a0b0c0d0e0f","#
            + #""span_id":"0001020304050607","event_name":"ev","attributes":[{"key":"k","value":{"#
            + #""string_value":"s","int_value":"1","bool_value":true,"double_value":2.5,"bytes_value":"AQ==","#
            + #""array_value":{"values":[]},"kvlist_value":{"values":[{"key":"x","value":{"int_value":7}}]}}}]}]}]}]}"#
        let logs = try Self.decode(text)
        let resourceLogs = logs.resourceLogs[0]
        #expect(resourceLogs.resource.droppedAttributesCount == 2)
        #expect(resourceLogs.schemaURL == "s")
        #expect(resourceLogs.scopeLogs[0].scope == OTLPInstrumentationScope(name: "n", droppedAttributesCount: 3))
        #expect(resourceLogs.scopeLogs[0].schemaURL == "t")
        let record = resourceLogs.scopeLogs[0].logRecords[0]
        #expect(record == OTLPLogRecord(
            timeUnixNano: 5, observedTimeUnixNano: 6, severityNumber: 13, severityText: "w",
            attributes: [OTLPKeyValue(key: "k", value: .kvlist([OTLPKeyValue(key: "x", value: .int(7))]))],
            droppedAttributesCount: 1, traceID: Array(0..<16), spanID: Array(0..<8), eventName: "ev"))
    }

    @Test(arguments: [
        (#""severityNumber":9"#, Int32(9)), (#""severityNumber":"SEVERITY_NUMBER_INFO""#, 9),
        (#""severityNumber":"SEVERITY_NUMBER_FATAL4""#, 24), (#""severityNumber":"SEVERITY_NUMBER_UNSPECIFIED""#, 0),
        (#""severityNumber":-2"#, -2), (#""severityNumber":99"#, 99), (#""severityNumber":"17""#, 17),
        (#""severityNumber":2147483647"#, Int32.max), (#""severityNumber":-2147483648"#, Int32.min),
    ])
    func severityNumbersAsNumbersOrNames(member: String, expected: Int32) throws {
        #expect(try Self.decodeRecord(member).severityNumber == expected)
    }

    @Test(arguments: [
        (#""timeUnixNano":"1700000000000000000""#, UInt64(1_700_000_000_000_000_000)),
        (#""timeUnixNano":1700000000000000000"#, 1_700_000_000_000_000_000),
        (#""timeUnixNano":"18446744073709551615""#, UInt64.max), (#""timeUnixNano":18446744073709551615"#, UInt64.max),
        (#""timeUnixNano":1.7e18"#, 1_700_000_000_000_000_000), (#""timeUnixNano":"1e3""#, 1000),
        (#""timeUnixNano":10.000"#, 10), (#""timeUnixNano":0"#, 0), (#""timeUnixNano":"-0""#, 0),
        (#""timeUnixNano":null"#, 0), (#""timeUnixNano":"00042""#, 42),
    ])
    func unsigned64BitTimesAsStringsOrNumbers(member: String, expected: UInt64) throws {
        #expect(try Self.decodeRecord(member).timeUnixNano == expected)
    }

    @Test(arguments: [
        (#"{"intValue":"-9223372036854775808"}"#, Int64.min), (#"{"intValue":9223372036854775807}"#, Int64.max),
        (#"{"intValue":-1}"#, -1), (#"{"intValue":"42"}"#, 42), (#"{"intValue":-1.0e1}"#, -10),
    ])
    func intValuesAsStringsOrNumbers(value: String, expected: Int64) throws {
        #expect(try Self.decodeRecord(#""body":"# + value).body == .int(expected))
    }

    @Test(arguments: [
        (#"{"doubleValue":1.5}"#, 1.5), (#"{"doubleValue":-2e-3}"#, -0.002), (#"{"doubleValue":"Infinity"}"#, Double.infinity),
        (#"{"doubleValue":"-Infinity"}"#, -Double.infinity), (#"{"doubleValue":"3.25"}"#, 3.25), (#"{"doubleValue":7}"#, 7),
    ])
    func doubleValues(value: String, expected: Double) throws {
        #expect(try Self.decodeRecord(#""body":"# + value).body == .double(expected))
    }

    @Test func nanAndAbsentValues() throws {
        guard case .double(let nan) = try Self.decodeRecord(#""body":{"doubleValue":"NaN"}"#).body else {
            Issue.record("not a double")
            return
        }
        #expect(nan.isNaN)
        #expect(try Self.decodeRecord(#""body":{}"#).body == nil)
        #expect(try Self.decodeRecord(#""body":null"#).body == nil)
        #expect(try Self.decodeRecord(#""body":{"stringValue":null}"#).body == nil)
        #expect(try Self.decodeRecord(#""body":{"arrayValue":{"values":[{},{"boolValue":false},{}]}}"#).body
            == .array([.bool(false)]))
        #expect(try Self.decodeRecord(#""attributes":[{"key":"k"}, {"key":"v","value":{}}]"#).attributes
            == [OTLPKeyValue(key: "k", value: nil), OTLPKeyValue(key: "v", value: nil)])
    }

    @Test func idsInEitherCaseAndEmptyMeansAbsent() throws {
        let record = try Self.decodeRecord(#""traceId":"0123456789ABCDEFabcdef0123456789","spanId":"""#)
        #expect(record.traceID == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45,
                                   0x67, 0x89])
        #expect(record.spanID.isEmpty)
    }

    @Test func stringsWithEscapesAndUnicode() throws {
        let record = try Self.decodeRecord(
            #""severityText":"tab\tquote\"slash\/nl\n","body":{"stringValue":"\u00e9\u65e5\ud83d\ude00 \ud800 ü 😀"},"#
            + #""eventName":"plain""#)
        #expect(record.severityText == "tab\tquote\"slash/nl\n")
        #expect(record.body == .string("é日😀 \u{FFFD} ü 😀"))
        #expect(record.eventName == "plain")
    }

    @Test func specialCharactersAtEveryPositionOfAString() throws {
        // The string scanner reads eight bytes at a time: put each special character at each offset around that.
        for special in ["\"", "\\", "\n", "\u{1}", "\u{1F}", "é", "😀", " "] {
            for length in 0..<20 {
                for position in 0...length {
                    var text = String(repeating: "a", count: length)
                    text.insert(contentsOf: special, at: text.index(text.startIndex, offsetBy: position))
                    let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [OTLPScopeLogs(
                        logRecords: [OTLPLogRecord(body: .string(text), eventName: text + "x")])])])
                    #expect(try OTLPJSON.decodeLogsRequest(OTLPJSON.encodeLogsRequest(logs)) == logs)
                }
            }
        }
        let unescapedControl = Array(Self.record("\"severityText\":\"abcdefghij\u{1}klm\"").utf8)
        #expect(throws: OTLPDecodeError.self) { try OTLPJSON.decodeLogsRequest(unescapedControl) }
    }

    @Test func unknownFieldsAreSkippedWhateverTheirValue() throws {
        let record = try Self.decodeRecord(
            #""future":{"a":[1,2,{"b":null}],"c":"\u0041"},"other":[[[]]],"n":-1.5e3,"t":true,"severityText":"ok""#)
        #expect(record.severityText == "ok")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(try Self.decodeRecord(#""deep":"# + deep + #","flags":3"#).flags == 3)
    }

    @Test func repeatedMembersMergeLikeProtobuf() throws {
        let record = try Self.decodeRecord(
            #""severityText":"a","severity_text":"b","attributes":[{"key":"x"}],"attributes":[{"key":"y"}],"#
            + #""body":{"arrayValue":{"values":[{"intValue":1}]}},"body":{"arrayValue":{"values":[{"intValue":2}]}}"#)
        #expect(record.severityText == "b")
        #expect(record.attributes.map(\.key) == ["x", "y"])
        #expect(record.body == .array([.int(1), .int(2)]))
    }

    @Test func whitespaceAndAnEmptyRequest() throws {
        #expect(try Self.decode(" \n\t{ } \r\n") == OTLPLogsData())
        #expect(try Self.decode(#"{"resourceLogs":[]}"#) == OTLPLogsData())
        #expect(try Self.decode(#"{"resourceLogs":null}"#) == OTLPLogsData())
        #expect(try Self.decode(#"{ "resourceLogs" : [ { } ] }"#) == OTLPLogsData(resourceLogs: [OTLPResourceLogs()]))
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var name: String
        var json: String
        var expected: [String]
        var description: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "empty body", json: "", expected: ["json: empty body"]),
        Malformed(name: "not an object", json: "[]", expected: ["expected an ExportLogsServiceRequest object, found an array"]),
        Malformed(name: "trailing garbage", json: "{} x", expected: ["unexpected 'x' after the end", "at byte 3"]),
        Malformed(name: "truncated", json: #"{"resourceLogs":[{"scopeLogs":[{"#, expected: ["unexpected end of input"]),
        Malformed(name: "resourceLogs not an array", json: #"{"resourceLogs":{}}"#,
                  expected: ["expected an array of ResourceLogs objects for resourceLogs, found an object",
                             "(at resourceLogs)"]),
        Malformed(name: "short trace id", json: record(#""traceId":"abcd""#),
                  expected: [#"traceId "abcd" has 4 characters, expected 32 hex digits (16 bytes)"#,
                             "(at resourceLogs[0].scopeLogs[0].logRecords[0].traceId)"]),
        Malformed(name: "non-hex span id", json: record(#""spanId":"000102030405060g""#),
                  expected: ["is not hex: 'g' at character 15", "logRecords[0].spanId"]),
        Malformed(name: "base64 trace id", json: record(#""traceId":"W47/95gDgQPSabYzgT/GDA==""#),
                  expected: ["has 24 characters, expected 32 hex digits", "traceId"]),
        Malformed(name: "numeric trace id", json: record(#""traceId":5"#),
                  expected: ["expected a hex string for traceId, found a number"]),
        Malformed(name: "negative time", json: record(#""timeUnixNano":"-5""#),
                  expected: [#""-5" is not an unsigned 64-bit integer for timeUnixNano"#, "logRecords[0].timeUnixNano"]),
        Malformed(name: "time too large", json: record(#""timeUnixNano":18446744073709551616"#),
                  expected: ["is not an unsigned 64-bit integer for timeUnixNano"]),
        Malformed(name: "fractional int", json: record(#""body":{"intValue":1.5}"#),
                  expected: ["\"1.5\" is not a 64-bit integer for intValue", "logRecords[0].body.intValue"]),
        Malformed(name: "int as bool", json: record(#""body":{"intValue":true}"#),
                  expected: ["expected a 64-bit integer (number or string) for intValue, found a boolean"]),
        Malformed(name: "bool as string", json: record(#""attributes":[{"key":"k","value":{"boolValue":"true"}}]"#),
                  expected: ["expected true or false for boolValue, found a string",
                             "logRecords[0].attributes[0].value.boolValue"]),
        Malformed(name: "string as number", json: record(#""severityText":5"#),
                  expected: ["expected a string for severityText, found a number"]),
        Malformed(name: "unknown severity name", json: record(#""severityNumber":"INFO""#),
                  expected: [#""INFO" is not a SeverityNumber"#, "severityNumber"]),
        Malformed(name: "severity out of int32", json: record(#""severityNumber":2147483648"#),
                  expected: ["is not a SeverityNumber"]),
        Malformed(name: "dropped count negative", json: record(#""droppedAttributesCount":-1"#),
                  expected: ["is not an unsigned 32-bit integer for droppedAttributesCount"]),
        Malformed(name: "flags too large", json: record(#""flags":4294967296"#),
                  expected: ["is not an unsigned 32-bit integer for flags"]),
        Malformed(name: "bad base64", json: record(#""body":{"bytesValue":"ab$d"}"#),
                  expected: ["invalid base64 for bytesValue: '$' at character 2", "body.bytesValue"]),
        Malformed(name: "base64 of impossible length", json: record(#""body":{"bytesValue":"abcde"}"#),
                  expected: ["invalid base64 for bytesValue"]),
        Malformed(name: "double as word", json: record(#""body":{"doubleValue":"fast"}"#),
                  expected: [#""fast" is not a number for doubleValue"#]),
        Malformed(name: "null array element", json: record(#""attributes":[null]"#),
                  expected: ["expected a KeyValue object, found null", "logRecords[0].attributes[0]"]),
        Malformed(name: "nested array value of wrong type",
                  json: record(#""body":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[1]}}}]}}"#),
                  expected: ["expected an AnyValue object, found a number",
                             "body.kvlistValue.values[0].value.arrayValue.values[0]"]),
        Malformed(name: "bad escape", json: record(#""severityText":"\x""#),
                  expected: ["invalid escape sequence: backslash followed by 'x'"]),
        Malformed(name: "control character", json: record("\"severityText\":\"a\u{1}\""),
                  expected: ["control character byte 0x01 in a string"]),
        Malformed(name: "missing colon", json: #"{"resourceLogs" []}"#, expected: ["expected ':' after an object key"]),
        Malformed(name: "missing comma", json: record(#""flags":1 "severityText":"x""#),
                  expected: ["expected ',' or '}' after an object member, found '\"'"]),
        Malformed(name: "bad literal", json: record(#""body":{"boolValue":tru}"#), expected: ["invalid literal, expected 'true'"]),
        Malformed(name: "bad number", json: record(#""flags":01"#), expected: ["expected ',' or '}'"]),
    ]

    @Test(arguments: malformed)
    func malformedInputSaysWhatAndWhere(_ input: Malformed) {
        do throws(OTLPDecodeError) {
            _ = try Self.decode(input.json)
            Issue.record("decoded without an error")
        } catch {
            #expect(error.format == .json)
            #expect(error.description.hasPrefix("json: "))
            for expected in input.expected {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }

    @Test func invalidUTF8InAStringIsAnError() {
        var bytes = Array(Self.record(#""severityText":"ab""#).utf8)
        guard let index = bytes.firstIndex(of: UInt8(ascii: "b")) else { return }
        bytes[index] = 0xFF
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPJSON.decodeLogsRequest(bytes) }
        #expect(error?.description.contains("invalid UTF-8 in the string for severityText") == true)
        #expect(error?.path == "resourceLogs[0].scopeLogs[0].logRecords[0].severityText")
    }

    @Test func valuesNestedTooDeeplyAreAnError() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: #"{"arrayValue":{"values":["#, count: depth - 1) + #"{"intValue":1}"#
                + String(repeating: "]}}", count: depth - 1)
        }
        #expect(try Self.decodeRecord(#""body":"# + nested(OTLPJSON.maxValueDepth)).body != nil)
        let error = #expect(throws: OTLPDecodeError.self) {
            try Self.decodeRecord(#""body":"# + nested(OTLPJSON.maxValueDepth + 1))
        }
        #expect(error?.reason == "AnyValue nested deeper than 64 levels")
        #expect(throws: OTLPDecodeError.self) { try Self.decodeRecord(#""body":"# + nested(20_000)) }
    }

    @Test func responses() throws {
        #expect(OTLPJSON.encodeLogsResponse(rejectedLogRecords: 0, errorMessage: "") == Array("{}".utf8))
        let partial = OTLPJSON.encodeLogsResponse(rejectedLogRecords: 3, errorMessage: "too \"old\"")
        #expect(String(decoding: partial, as: UTF8.self)
            == #"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"too \"old\""}}"#)
        #expect(try OTLPJSON.decodeLogsResponse(partial) == OTLPLogsResponse(rejectedLogRecords: 3, errorMessage: "too \"old\""))
        #expect(try OTLPJSON.decodeLogsResponse(Array(#"{"partial_success":{"rejected_log_records":7},"x":1}"#.utf8))
            == OTLPLogsResponse(rejectedLogRecords: 7))
        #expect(try OTLPJSON.decodeLogsResponse(Array("{}".utf8)) == OTLPLogsResponse())
        #expect(throws: OTLPDecodeError.self) {
            try OTLPJSON.decodeLogsResponse(Array(#"{"partialSuccess":{"rejectedLogRecords":"x"}}"#.utf8))
        }
    }
}
