import TestSupport
import Testing
import Wire

@Suite("Push JSON codec")
struct PushJSONCodecTests {
    private func decode(_ json: String) throws -> PushRequest {
        try PushJSONDecoder.decode(Array(json.utf8))
    }

    private func line(_ request: PushRequest, _ stream: Int = 0, _ entry: Int = 0) -> String {
        String(decoding: request.streams[stream].entries[entry].line, as: UTF8.self)
    }

    @Test func lokiExample() throws {
        let request = try decode("""
            {"streams": [{"stream": {"job": "api", "env": "prod"},
              "values": [["1700000000000000001", "first line"],
                         ["1700000000000000002", "second", {"trace_id": "abc", "user": "x"}]]}]}
            """)
        #expect(request.streams.count == 1)
        #expect(request.streams[0].labels == #"{env="prod", job="api"}"#)
        #expect(request.streams[0].entries.map(\.timestamp) == [1_700_000_000_000_000_001, 1_700_000_000_000_000_002])
        #expect(line(request) == "first line")
        #expect(request.streams[0].entries[1].structuredMetadata ==
            [LabelPair(name: "trace_id", value: "abc"), LabelPair(name: "user", value: "x")])
        #expect(request.streams[0].entries[0].structuredMetadata.isEmpty)
    }

    @Test func escapesAreUnescaped() throws {
        let request = try decode(#"""
            {"streams":[{"stream":{"a":"q\"b\\s\/\n"},"values":[["1","\"\\\/\b\f\n\r\t\u0041\u00e9\u65e5\ud83d\ude00 end"]]}]}
            """#)
        #expect(line(request) == "\"\\/\u{8}\u{C}\n\r\tAé日😀 end")
        #expect(request.streams[0].labels == #"{a="q\"b\\s/\n"}"#)
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        let request = try decode(#"""
            {"streams":[{"values":[["1","x\ud800y\udc00z\ud83d\u0041"]]}]}
            """#)
        #expect(line(request) == "x\u{FFFD}y\u{FFFD}z\u{FFFD}A")
    }

    @Test func timestampsAsStringsOrIntegers() throws {
        let request = try decode("""
            {"streams":[{"values":[[1700000000000000000,"a"],["-5","b"],[0,"c"],["+7","d"],
              ["9223372036854775807","e"],[-9223372036854775808,"f"]]}]}
            """)
        #expect(request.streams[0].entries.map(\.timestamp) == [1_700_000_000_000_000_000, -5, 0, 7, .max, .min])
    }

    @Test func unknownKeysWithAnyValueAreSkipped() throws {
        let request = try decode("""
            {"meta": {"a": [1, -2.5e+3, true, false, null, {"x": [[], {}]}], "b": "s\\u0041"},
             "streams": [{"extra": [{"deep": [[[["v"]]]]}], "stream": {"job": "x"}, "n": 0.5,
                          "values": [["1", "l", {"k": "v"}, "ignored", {"more": 1}]]}],
             "trailing": null}
            """)
        #expect(request.streams[0].labels == #"{job="x"}"#)
        #expect(request.streams[0].entries.count == 1)
        #expect(request.streams[0].entries[0].structuredMetadata == [LabelPair(name: "k", value: "v")])
    }

    @Test func whitespaceEverywhere() throws {
        let request = try decode(" \n\t{ \"streams\" :\r\n [ { \"values\" : [ [ \"1\" , \"a\" ] ] , \"stream\" : { \"b\" : \"2\" , \"a\" : \"1\" } } ] } \n")
        #expect(request.streams[0].labels == #"{a="1", b="2"}"#)
        #expect(line(request) == "a")
    }

    @Test func labelTextMatchesLokisLabelsString() throws {
        let request = try decode(#"""
            {"streams":[{"stream":{"z":"1","a":"tab\there","m":"日本","a":"dup wins","B":"\u0007"}}]}
            """#)
        // Sorted bytewise ("B" before "a"), last duplicate wins, values quoted like Go.
        #expect(request.streams[0].labels == #"{B="\a", a="dup wins", m="日本", z="1"}"#)
    }

    @Test func invalidLabelNamesAreQuotedSoTheyCannotForgeLabels() throws {
        let request = try decode(#"{"streams":[{"stream":{"a=\"x\", b":"y","0x":"1","":"e"}}]}"#)
        #expect(request.streams[0].labels == #"{""="e", "0x"="1", "a=\"x\", b"="y"}"#)
    }

    @Test func missingOrNullPartsAreEmpty() throws {
        #expect(try decode("{}").streams.isEmpty)
        #expect(try decode("null").streams.isEmpty)
        #expect(try decode(#"{"streams":null}"#).streams.isEmpty)
        #expect(try decode(#"{"streams":[]}"#).streams.isEmpty)
        let request = try decode(#"{"streams":[{}, {"stream":null,"values":null}, {"stream":{},"values":[]}]}"#)
        #expect(request.streams.map(\.labels) == ["{}", "{}", "{}"])
        #expect(request.streams.allSatisfy { $0.entries.isEmpty })
        let withNullMetadata = try decode(#"{"streams":[{"values":[["1","x",null]]}]}"#)
        #expect(withNullMetadata.streams[0].entries[0].structuredMetadata.isEmpty)
    }

    @Test func emptyLineAndOrderOfKeys() throws {
        let request = try decode(#"{"streams":[{"values":[["5",""]],"stream":{"a":"b"}}]}"#)
        #expect(request.streams[0].labels == #"{a="b"}"#)
        #expect(request.streams[0].entries[0].line.isEmpty)
    }

    @Test func linesShareOneArena() throws {
        let request = try decode(#"{"streams":[{"values":[["1","one"],["2","t\u0077o"]]},{"values":[["3","three"]]}]}"#)
        let lines = request.streams.flatMap { $0.entries.map(\.line) }
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["one", "two", "three"])
        // Consecutive slices of one buffer: each starts where the previous ended.
        #expect(lines[1].startIndex == lines[0].endIndex)
        #expect(lines[2].startIndex == lines[1].endIndex)
    }

    @Test func rawUTF8InStringsIsKept() throws {
        let request = try decode("{\"streams\":[{\"stream\":{\"k\":\"ü\"},\"values\":[[\"1\",\"😀 日本\"]]}]}")
        #expect(line(request) == "😀 日本")
        #expect(request.streams[0].labels == "{k=\"ü\"}")
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var json: String
        var expected: String
        var description: String { json }
    }

    static let malformed: [Malformed] = [
        Malformed(json: "", expected: "json: unexpected end of input at byte 0"),
        Malformed(json: #"{"streams":[{"#, expected: "json: unexpected end of input at byte 13"),
        Malformed(json: "[]", expected: "expected the push request object, found '[' at byte 0"),
        Malformed(json: #"{"streams":{}}"#, expected: "expected an array of streams"),
        Malformed(json: #"{"streams":[{"values":[["1","a"]]}]} x"#, expected: "unexpected 'x' after the end"),
        Malformed(json: #"{"streams" []}"#, expected: "expected ':' after an object key"),
        Malformed(json: #"{"streams":[] "x":1}"#, expected: "expected ',' or '}'"),
        Malformed(json: #"{"streams":[{"values":[["1","a"] ["2","b"]]}]}"#,
                  expected: "expected ',' or ']' after an array element, found '[' at byte 33 (in streams[0].values[0])"),
        Malformed(json: #"{"streams":[{"values":[["abc","a"]]}]}"#,
                  expected: #"timestamp "abc" is not an integer number of nanoseconds"#),
        Malformed(json: #"{"streams":[{"values":[[1.5,"a"]]}]}"#, expected: "timestamp 1.5 is not an integer"),
        Malformed(json: #"{"streams":[{"values":[["99999999999999999999","a"]]}]}"#, expected: "fitting in 64 bits"),
        Malformed(json: #"{"streams":[{"values":[[true,"a"]]}]}"#, expected: "timestamp must be a string"),
        Malformed(json: #"{"streams":[{"values":[["1"]]}]}"#, expected: "entry has a timestamp but no log line"),
        Malformed(json: #"{"streams":[{"values":[[]]}]}"#, expected: "entry is an empty array"),
        Malformed(json: #"{"streams":[{"values":[["1",5]]}]}"#, expected: "log line must be a string"),
        Malformed(json: #"{"streams":[{"values":[["1","a",[]]]}]}"#, expected: "expected an object of structured metadata"),
        Malformed(json: #"{"streams":[{"values":[["1","a",{"k":1}]]}]}"#, expected: #"structured metadata "k" must have a string value"#),
        Malformed(json: #"{"streams":[{"stream":{"k":1}}]}"#, expected: #"label "k" must have a string value"#),
        Malformed(json: #"{"streams":[{"stream":[]}]}"#, expected: "expected an object of labels"),
        Malformed(json: #"{"streams":[{"values":[["1","a\qb"]]}]}"#, expected: "invalid escape sequence"),
        Malformed(json: #"{"streams":[{"values":[["1","a\u12G4"]]}]}"#, expected: "invalid \\u escape"),
        Malformed(json: "{\"streams\":[{\"values\":[[\"1\",\"a\nb\"]]}]}", expected: "control character byte 0x0a in a string"),
        Malformed(json: #"{"streams":[{"values":[["1","abc"#, expected: "unexpected end of input in the string starting at byte 28"),
        Malformed(json: #"{"x":tru}"#, expected: "invalid literal, expected 'true'"),
        Malformed(json: #"{"x":-}"#, expected: "invalid number"),
        Malformed(json: #"{"x":1.}"#, expected: "expected a digit after '.'"),
        Malformed(json: #"{"x":1e}"#, expected: "expected a digit in the exponent"),
        Malformed(json: #"{"x":[1,]}"#, expected: "expected a JSON value"),
        Malformed(json: #"{"x":{"a":1,}}"#, expected: "expected a string object key"),
        Malformed(json: #"{"x":[1}"#, expected: "expected ',' or ']'"),
        Malformed(json: String(repeating: "{\"x\":[", count: 50_000), expected: "unexpected end of input"),
    ]

    @Test(arguments: malformed)
    func malformedInputThrowsJSONErrors(_ input: Malformed) {
        let error = #expect(throws: PushDecodeError.self) {
            _ = try PushJSONDecoder.decode(Array(input.json.utf8))
        }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("json: "), "\(message)")
        #expect(message.contains(input.expected), "\(message)")
    }

    @Test func invalidUTF8InLabelsIsRejectedButLinesKeepTheirBytes() throws {
        let badLabel: [UInt8] = Array(#"{"streams":[{"stream":{"k":""#.utf8) + [0xFF] + Array(#""}}]}"#.utf8)
        let error = #expect(throws: PushDecodeError.self) { _ = try PushJSONDecoder.decode(badLabel) }
        #expect(error?.message.contains("invalid UTF-8 in a label value") == true)

        let badLine: [UInt8] = Array(#"{"streams":[{"values":[["1",""#.utf8) + [0xFF, 0x41] + Array(#""]]}]}"#.utf8)
        let request = try PushJSONDecoder.decode(badLine)
        #expect(Array(request.streams[0].entries[0].line) == [0xFF, 0x41])
    }

    // MARK: Encoder

    @Test func encoderWritesLokiJSON() {
        let request = PushRequest(streams: [
            PushStream(labels: #"{job="api", env="a\"b"}"#, entries: [
                PushEntry(timestamp: 1_700_000_000_000_000_001, line: Array("plain".utf8)[...]),
                PushEntry(timestamp: -3, line: Array("q\"\\\n\u{1}é".utf8)[...],
                          structuredMetadata: [LabelPair(name: "trace_id", value: "t")]),
            ]),
            PushStream(labels: "not labels", entries: []),
        ])
        let json = String(decoding: PushJSONEncoder.encode(request), as: UTF8.self)
        #expect(json == #"{"streams":[{"stream":{"job":"api","env":"a\"b"},"values":[["1700000000000000001","plain"],["-3","q\"\\\n\u0001é",{"trace_id":"t"}]]},{"stream":{},"values":[]}]}"#)
    }

    @Test func encoderReplacesInvalidUTF8() {
        let request = PushRequest(streams: [PushStream(labels: "{}", entries: [
            PushEntry(timestamp: 1, line: [0x41, 0xFF, 0xC3, 0xA9, 0xED, 0xA0, 0x80][...]),
        ])])
        let json = String(decoding: PushJSONEncoder.encode(request), as: UTF8.self)
        #expect(json == #"{"streams":[{"stream":{},"values":[["1","A\ufffdé\ufffd\ufffd\ufffd"]]}]}"#)
    }

    @Test func propertyRandomRequestsRoundTripThroughJSON() throws {
        var random = SeededRandom(seed: 0x5EED_0003)
        for _ in 0..<400 {
            let request = random.request()
            let decoded = try PushJSONDecoder.decode(PushJSONEncoder.encode(request))
            #expect(PushSnapshot(decoded) == PushSnapshot(request))
        }
    }

    @Test func propertyJSONAndProtobufAgree() throws {
        var random = SeededRandom(seed: 0x5EED_0004)
        for _ in 0..<200 {
            let request = random.request()
            let viaJSON = try PushJSONDecoder.decode(PushJSONEncoder.encode(request))
            let viaProtobuf = try PushProtobufDecoder.decode(PushProtobufEncoder.encode(request))
            #expect(PushSnapshot(viaJSON) == PushSnapshot(viaProtobuf))
        }
    }
}
