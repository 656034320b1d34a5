import TestSupport
import Testing
import Wire

@Suite("Push protobuf codec")
struct PushProtobufCodecTests {
    static let sample = PushRequest(streams: [
        PushStream(labels: #"{app="api", env="prod"}"#, entries: [
            PushEntry(timestamp: 1_700_000_000_123_456_789, line: Array("GET /health 200".utf8)[...]),
            PushEntry(timestamp: 1_700_000_001_000_000_000, line: Array("naïve 日本語 😀".utf8)[...],
                      structuredMetadata: [LabelPair(name: "trace_id", value: "abc"),
                                           LabelPair(name: "user", value: "ü")]),
            PushEntry(timestamp: 0, line: [][...]),
        ]),
        PushStream(labels: "{}", entries: []),
        PushStream(labels: "", entries: [PushEntry(timestamp: -1, line: Array("before 1970".utf8)[...])]),
    ])

    @Test func roundTripThroughHandCodec() throws {
        let bytes = PushProtobufEncoder.encode(Self.sample)
        let decoded = try PushProtobufDecoder.decode(bytes)
        #expect(PushSnapshot(decoded) == PushSnapshot(Self.sample))
    }

    @Test func encoderWritesTheGeneratedCodesBytes() throws {
        let generated: [UInt8] = try PushGenerated.message(Self.sample).serializedBytes()
        #expect(PushProtobufEncoder.encode(Self.sample) == generated)
    }

    @Test func generatedBytesDecodeByHand() throws {
        let generated: [UInt8] = try PushGenerated.message(Self.sample).serializedBytes()
        #expect(PushSnapshot(try PushProtobufDecoder.decode(generated)) == PushSnapshot(Self.sample))
    }

    @Test func handBytesParseWithGeneratedCode() throws {
        let message = try Logproto_PushRequest(serializedBytes: PushProtobufEncoder.encode(Self.sample))
        #expect(PushSnapshot(message) == PushSnapshot(Self.sample))
        #expect(message.streams[0].entries[1].structuredMetadata.map(\.value) == ["abc", "ü"])
    }

    @Test func linesAreSlicesOfTheInputBuffer() throws {
        let bytes = PushProtobufEncoder.encode(Self.sample)
        let decoded = try PushProtobufDecoder.decode(bytes)
        let line = decoded.streams[0].entries[0].line
        #expect(Array(bytes[line.indices]) == Array("GET /health 200".utf8))
    }

    @Test func emptyInputIsAnEmptyRequest() throws {
        #expect(try PushProtobufDecoder.decode([]).streams.isEmpty)
        #expect(PushProtobufEncoder.encode(PushRequest()).isEmpty)
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -1_000_000_001, -999_999_999, -1, 0, 1, 999_999_999, 1_000_000_000,
                      Int64.max])
    func timestampExtremesRoundTrip(timestamp: Int64) throws {
        let request = PushRequest(streams: [PushStream(labels: "{a=\"b\"}",
                                                       entries: [PushEntry(timestamp: timestamp, line: [0x41][...])])])
        let bytes = PushProtobufEncoder.encode(request)
        #expect(bytes == (try PushGenerated.message(request).serializedBytes()))
        #expect(try PushProtobufDecoder.decode(bytes).streams[0].entries[0].timestamp == timestamp)
        let generated = try Logproto_PushRequest(serializedBytes: bytes)
        #expect(PushSnapshot(generated) == PushSnapshot(request))
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        var body = PushProtoBuilder()
        body.unknownFields(base: 100)
        body.messageField(1) { stream in
            stream.unknownFields()
            stream.stringField(1, #"{job="x"}"#)
            stream.varintField(3, 12345)   // hash: known, ignored
            stream.messageField(2) { entry in
                entry.unknownFields(base: 50)
                entry.messageField(1) { ts in
                    ts.varintField(1, 1_700_000_000)
                    ts.unknownFields(base: 20)
                    ts.varintField(2, 5)
                }
                entry.bytesField(2, Array("line one".utf8))
                entry.messageField(3) { pair in
                    pair.unknownFields(base: 30)
                    pair.stringField(1, "k")
                    pair.stringField(2, "v")
                }
                entry.messageField(4) { parsed in parsed.stringField(1, "parsed") }   // Loki's `parsed`
            }
        }
        body.stringField(2, "loki")   // Loki's PushRequest.format
        let decoded = try PushProtobufDecoder.decode(body.bytes)
        let generated = try Logproto_PushRequest(serializedBytes: body.bytes)
        #expect(PushSnapshot(decoded) == PushSnapshot(generated))
        #expect(decoded.streams.count == 1)
        #expect(decoded.streams[0].labels == #"{job="x"}"#)
        #expect(decoded.streams[0].entries[0].timestamp == 1_700_000_000_000_000_005)
        #expect(decoded.streams[0].entries[0].structuredMetadata == [LabelPair(name: "k", value: "v")])
    }

    @Test func repeatedScalarFieldsLastOneWinsAndTimestampsMerge() throws {
        var body = PushProtoBuilder()
        body.messageField(1) { stream in
            stream.stringField(1, "{a=\"first\"}")
            stream.messageField(2) { entry in
                entry.messageField(1) { $0.varintField(1, 10) }
                entry.bytesField(2, Array("first".utf8))
                entry.messageField(1) { $0.varintField(2, 7) }   // merges: seconds stay 10
                entry.bytesField(2, Array("second".utf8))
            }
            stream.stringField(1, "{a=\"second\"}")
        }
        let decoded = try PushProtobufDecoder.decode(body.bytes)
        #expect(PushSnapshot(decoded) == PushSnapshot(try Logproto_PushRequest(serializedBytes: body.bytes)))
        #expect(decoded.streams[0].labels == "{a=\"second\"}")
        #expect(decoded.streams[0].entries[0].timestamp == 10_000_000_007)
        #expect(Array(decoded.streams[0].entries[0].line) == Array("second".utf8))
    }

    @Test func nonMinimalVarintsAreAccepted() throws {
        // Field 1 (streams), length 3 written in 3 bytes; inside: labels (field 1) length 1 "x".
        let bytes: [UInt8] = [0x0A, 0x83, 0x80, 0x00, 0x0A, 0x01, 0x78]
        #expect(try PushProtobufDecoder.decode(bytes).streams[0].labels == "x")
    }

    @Test func invalidUTF8InLinesIsKeptAsBytes() throws {
        var body = PushProtoBuilder()
        body.messageField(1) { stream in
            stream.messageField(2) { entry in entry.bytesField(2, [0xFF, 0xFE, 0x00, 0x41]) }
        }
        let decoded = try PushProtobufDecoder.decode(body.bytes)
        #expect(Array(decoded.streams[0].entries[0].line) == [0xFF, 0xFE, 0x00, 0x41])
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var expected: String
        var description: String { name }
    }

    static let malformed: [Malformed] = {
        func build(_ body: (inout PushProtoBuilder) -> Void) -> [UInt8] {
            var builder = PushProtoBuilder()
            body(&builder)
            return builder.bytes
        }
        return [
            Malformed(name: "truncated tag varint", bytes: [0x80], expected: "unexpected EOF"),
            Malformed(name: "stream length beyond buffer", bytes: [0x0A, 0x05, 0x0A], expected: "field 1 of PushRequest"),
            Malformed(name: "truncated length varint", bytes: [0x0A, 0xFF], expected: "unexpected EOF"),
            Malformed(name: "entries length beyond stream",
                      bytes: [0x0A, 0x03, 0x12, 0x09, 0x00], expected: "unexpected EOF in field 2 of StreamAdapter"),
            Malformed(name: "varint longer than 10 bytes",
                      bytes: [0x18] + [UInt8](repeating: 0xFF, count: 10) + [0x01], expected: "varint overflows"),
            Malformed(name: "field number 0", bytes: [0x02, 0x00], expected: "illegal tag"),
            Malformed(name: "wire type 7", bytes: [0x0F], expected: "illegal wire type 7"),
            Malformed(name: "wire type 6", bytes: [0x0E], expected: "illegal wire type 6"),
            Malformed(name: "streams as varint", bytes: [0x08, 0x01], expected: "wrong wire type 0 for field 1 (streams)"),
            Malformed(name: "labels as varint", bytes: build { $0.messageField(1) { $0.varintField(1, 3) } },
                      expected: "wrong wire type 0 for field 1 (labels) of StreamAdapter"),
            Malformed(name: "hash as bytes", bytes: build { $0.messageField(1) { $0.bytesField(3, [1]) } },
                      expected: "wrong wire type 2 for field 3 (hash)"),
            Malformed(name: "timestamp as fixed64",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.fixed64Field(1, 1) } } },
                      expected: "wrong wire type 1 for field 1 (timestamp) of EntryAdapter"),
            Malformed(name: "seconds as bytes",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.messageField(1) { $0.bytesField(1, []) } } } },
                      expected: "field 1 (seconds) of Timestamp"),
            Malformed(name: "line as fixed32",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.fixed32Field(2, 1) } } },
                      expected: "wrong wire type 5 for field 2 (line)"),
            Malformed(name: "invalid UTF-8 labels", bytes: build { $0.messageField(1) { $0.bytesField(1, [0x7B, 0xC3, 0x28]) } },
                      expected: "invalid UTF-8 in field 1 (labels) of StreamAdapter"),
            Malformed(name: "invalid UTF-8 metadata value",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.messageField(3) { $0.bytesField(2, [0xED, 0xA0, 0x80]) } } } },
                      expected: "invalid UTF-8 in field 2 (value) of LabelPairAdapter"),
            Malformed(name: "nanos too large",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.messageField(1) { $0.varintField(2, 1_000_000_000) } } } },
                      expected: "nanos 1000000000 not in range"),
            Malformed(name: "negative nanos",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.messageField(1) { $0.varintField(2, UInt64(bitPattern: -1)) } } } },
                      expected: "nanos -1 not in range"),
            Malformed(name: "seconds beyond 2262",
                      bytes: build { $0.messageField(1) { $0.messageField(2) { $0.messageField(1) { $0.varintField(1, 10_000_000_000) } } } },
                      expected: "timestamp seconds 10000000000 out of range"),
            Malformed(name: "fixed64 truncated", bytes: [0x11, 1, 2, 3], expected: "unexpected EOF in field 2"),
            Malformed(name: "fixed32 truncated", bytes: [0x7D, 1], expected: "unexpected EOF in field 15"),
            Malformed(name: "unterminated group", bytes: [0x7B, 0x08, 0x01], expected: "no end-group tag"),
            Malformed(name: "mismatched end group", bytes: [0x7B, 0x84, 0x01], expected: "does not match"),
            Malformed(name: "stray end group", bytes: [0x7C], expected: "unexpected end-group tag"),
            Malformed(name: "groups nested too deep",
                      bytes: [UInt8](repeating: 0x7B, count: 200) + [UInt8](repeating: 0x7C, count: 200),
                      expected: "nested deeper"),
            Malformed(name: "tag beyond 32 bits", bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], expected: "illegal tag"),
        ]
    }()

    @Test(arguments: malformed)
    func malformedInputThrowsProtoErrors(_ input: Malformed) {
        let error = #expect(throws: PushDecodeError.self) {
            _ = try PushProtobufDecoder.decode(input.bytes)
        }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("proto: PushRequest: "), "\(message)")
        #expect(message.contains(input.expected), "\(message)")
        #expect(error?.isBodyTooLarge == false)
    }

    @Test func propertyRandomRequestsRoundTripAndMatchGeneratedCode() throws {
        var random = SeededRandom(seed: 0x5EED_0001)
        for _ in 0..<400 {
            let request = random.request()
            let bytes = PushProtobufEncoder.encode(request)
            let generated = PushGenerated.message(request)
            #expect(bytes == (try generated.serializedBytes()))
            #expect(PushSnapshot(try PushProtobufDecoder.decode(bytes)) == PushSnapshot(request))
            #expect(PushSnapshot(try Logproto_PushRequest(serializedBytes: bytes)) == PushSnapshot(request))
        }
    }

    @Test func propertyBinaryLinesRoundTrip() throws {
        var random = SeededRandom(seed: 0x5EED_0002)
        for _ in 0..<300 {
            let request = random.request(binaryLines: true)
            let decoded = try PushProtobufDecoder.decode(PushProtobufEncoder.encode(request))
            #expect(PushSnapshot(decoded) == PushSnapshot(request))
        }
    }

    @Test func largeRequestRoundTrips() throws {
        let line = [UInt8](repeating: UInt8(ascii: "x"), count: 70_000)   // multi-byte length prefixes
        let entries = (0..<1_000).map { PushEntry(timestamp: Int64($0), line: line[0..<($0 * 70)]) }
        let request = PushRequest(streams: [PushStream(labels: "{a=\"b\"}", entries: entries)])
        let bytes = PushProtobufEncoder.encode(request)
        #expect(bytes == (try PushGenerated.message(request).serializedBytes()))
        #expect(PushSnapshot(try PushProtobufDecoder.decode(bytes)) == PushSnapshot(request))
    }
}
