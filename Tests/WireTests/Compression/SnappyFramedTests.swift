import TestSupport
import Testing
@testable import Wire

@Suite struct SnappyFramedTests {
    static let identifier: [UInt8] = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]

    // MARK: Golden vectors (reference: cramjam.snappy.compress, the framing format)

    @Test func goldenCompressedChunk() throws {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        let expected =
            Self.identifier + [0x00, 0x0d, 0x00, 0x00, 0x1f, 0xa8, 0xb5, 0xfd, 0x64, 0x00, 0x61, 0xfe, 0x01, 0x00, 0x8a, 0x01, 0x00]
        #expect(SnappyFramed.encode(input) == expected)
        #expect(try SnappyFramed.decode(expected) == input)
    }

    @Test func goldenShortText() throws {
        let expected =
            Self.identifier + [0x00, 0x18, 0x00, 0x00, 0x83, 0xfe, 0xbf, 0x3f] + SnappyTests.helloBlock
        #expect(SnappyFramed.encode(SnappyTests.helloText) == expected)
        #expect(try SnappyFramed.decode(expected) == SnappyTests.helloText)
    }

    @Test func goldenUncompressedChunkWhenCompressionSavesTooLittle() throws {
        var rng = SeededRandom(seed: 7)
        let input = CodecTestData.randomBytes(40, using: &rng)
        let expected = Self.identifier + [0x01, 0x2c, 0x00, 0x00] + maskedCRC(input) + input
        #expect(SnappyFramed.encode(input) == expected)
        #expect(try SnappyFramed.decode(expected) == input)
    }

    @Test(arguments: [
        (1000, 23_012, UInt32(0x4440_5791)),
        (5000, 115_423, UInt32(0x62de_5061)),
    ])
    func goldenLargeText(lines: Int, streamSize: Int, streamCRC: UInt32) throws {
        let text = CodecTestData.formulaLines(lines)
        let stream = SnappyFramed.encode(text)
        #expect(stream.count == streamSize)
        #expect(CRC32C.checksum(stream) == streamCRC)
        #expect(try SnappyFramed.decode(stream) == text)
    }

    @Test func emptyInputIsAnEmptyStream() throws {
        #expect(SnappyFramed.encode([]) == [])
        #expect(try SnappyFramed.decode([]) == [])
        #expect(try SnappyFramed.decode(Self.identifier) == [])
    }

    // MARK: Chunking

    @Test(arguments: [1, 65_535, 65_536, 65_537, 131_072, 200_000])
    func splitsIntoChunksOfAtMost64KiB(size: Int) throws {
        var rng = SeededRandom(seed: UInt64(size))
        let input = CodecTestData.logfmt(byteCount: size, using: &rng)
        let stream = SnappyFramed.encode(input)
        let chunks = try parseChunks(stream)
        #expect(chunks.first?.type == 0xff)
        let dataChunks = chunks.dropFirst()
        #expect(dataChunks.count == (size + 65_535) / 65_536)
        // Log text compresses, except a remainder too short to save 12.5% (1 byte here).
        #expect(dataChunks.allSatisfy { $0.type == 0x00 || ($0.type == 0x01 && $0.body.count == 4 + 1) })
        #expect(dataChunks.first?.type == (size == 1 ? 0x01 : 0x00))
        #expect(try SnappyFramed.decode(stream) == input)
    }

    @Test func randomDataUsesUncompressedChunks() throws {
        var rng = SeededRandom(seed: 11)
        let input = CodecTestData.randomBytes(150_000, using: &rng)
        let stream = SnappyFramed.encode(input)
        let types = try parseChunks(stream).map(\.type)
        #expect(types == [0xff, 0x01, 0x01, 0x01])
        #expect(try SnappyFramed.decode(stream) == input)
    }

    @Test func roundTripsRandomCases() throws {
        var rng = SeededRandom(seed: 0xf4a3)
        for _ in 0..<200 {
            let input = CodecTestData.anyInput(using: &rng)
            #expect(try SnappyFramed.decode(SnappyFramed.encode(input), maxLength: input.count) == input)
        }
    }

    @Test func decodingIntoABufferKeepsWhatIsBeforeTheOffsetAndReusesStorage() throws {
        var rng = SeededRandom(seed: 77)
        var buffer = [UInt8](repeating: 0xee, count: 3)
        var expected: [UInt8] = [0xee, 0xee, 0xee]
        for _ in 0..<50 {
            let input = CodecTestData.anyInput(using: &rng)
            let stream = SnappyFramed.encode(input)
            // Append after what is already there, then decode the same stream over the front.
            let offset = expected.count
            let size = try stream.withUnsafeBytes { bytes throws(CodecError) in
                try SnappyFramed.decode(bytes, into: &buffer, at: offset)
            }
            #expect(size == input.count)
            expected += input
            #expect(Array(buffer[..<expected.count]) == expected)
            let front = try stream.withUnsafeBytes { bytes throws(CodecError) in
                try SnappyFramed.decode(bytes, into: &buffer, at: 0)
            }
            #expect(Array(buffer[..<front]) == input)
            expected.replaceSubrange(0..<input.count, with: input)
        }
    }

    @Test func decodingIntoABufferFailsCleanlyOnDamagedInput() {
        var buffer: [UInt8] = []
        var stream = SnappyFramed.encode(SnappyTests.helloText)
        stream[stream.count - 3] ^= 0xff
        #expect(throws: CodecError.self) {
            _ = try stream.withUnsafeBytes { bytes throws(CodecError) in try SnappyFramed.decode(bytes, into: &buffer) }
        }
    }

    // MARK: Reader rules

    @Test func skipsPaddingAndSkippableChunks() throws {
        let data = SnappyFramed.encode(SnappyTests.helloText)
        let padding: [UInt8] = [0xfe, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00]
        let skippable: [UInt8] = [0x80, 0x02, 0x00, 0x00, 0xaa, 0xbb]
        let lastSkippable: [UInt8] = [0xfd, 0x00, 0x00, 0x00]
        let stream = Self.identifier + padding + skippable + Array(data.dropFirst(10)) + lastSkippable
        #expect(try SnappyFramed.decode(stream) == SnappyTests.helloText)
    }

    @Test func acceptsRepeatedStreamIdentifiers() throws {
        let first = SnappyFramed.encode(Array("first ".utf8))
        let second = SnappyFramed.encode(Array("second".utf8))
        #expect(try SnappyFramed.decode(first + second) == Array("first second".utf8))
    }

    @Test(arguments: [UInt8(0x02), 0x10, 0x7f])
    func rejectsReservedUnskippableChunks(type: UInt8) {
        let stream = Self.identifier + [type, 0x01, 0x00, 0x00, 0x00]
        let error = #expect(throws: CodecError.self) { try SnappyFramed.decode(stream) }
        #expect(error?.kind == .corrupt)
        #expect(error?.description.contains("reserved unskippable chunk type") == true)
    }

    @Test func rejectsStreamWithoutIdentifier() {
        let stream = Array(SnappyFramed.encode(SnappyTests.helloText).dropFirst(10))
        let error = #expect(throws: CodecError.self) { try SnappyFramed.decode(stream) }
        #expect(error?.description.contains("does not start with the stream identifier") == true)
        let wrong: [UInt8] = [0xff, 0x06, 0x00, 0x00] + Array("sNaPpX".utf8)
        #expect(throws: CodecError.self) { try SnappyFramed.decode(wrong) }
    }

    @Test func verifiesChecksums() {
        var stream = SnappyFramed.encode(SnappyTests.helloText)
        stream[14] ^= 0x01
        let error = #expect(throws: CodecError.self) { try SnappyFramed.decode(stream) }
        #expect(error?.kind == .corrupt)
        #expect(error?.description.hasPrefix("snappy: corrupt input: checksum mismatch in chunk at input byte 10") == true)

        var uncompressed = Self.identifier + [0x01, 0x09, 0x00, 0x00] + maskedCRC(Array("hello".utf8)) + Array("hello".utf8)
        #expect(throws: Never.self) { try SnappyFramed.decode(uncompressed) }
        uncompressed[uncompressed.count - 1] = UInt8(ascii: "O")
        #expect(throws: CodecError.self) { try SnappyFramed.decode(uncompressed) }
    }

    @Test func rejectsTruncatedStreams() {
        let stream = SnappyFramed.encode(CodecTestData.formulaLines(100))
        for length in [1, 3, 9, 11, 13, 17, stream.count - 1] {
            #expect(throws: CodecError.self, "length \(length)") { try SnappyFramed.decode(Array(stream.prefix(length))) }
        }
    }

    @Test func rejectsChunksLargerThan64KiB() {
        let data = [UInt8](repeating: 1, count: 65_537)
        let length = 4 + data.count
        let header: [UInt8] = [0x01, UInt8(length & 0xff), UInt8(length >> 8 & 0xff), UInt8(length >> 16)]
        let stream = Self.identifier + header + maskedCRC(data) + data
        let error = #expect(throws: CodecError.self) { try SnappyFramed.decode(stream) }
        #expect(error?.description.contains("more than the 65536 allowed") == true)
    }

    @Test func honoursMaxLengthBeforeDecoding() throws {
        let input = [UInt8](repeating: 9, count: 300_000)
        let stream = SnappyFramed.encode(input)
        #expect(try SnappyFramed.decode(stream, maxLength: 300_000) == input)
        #expect(throws: CodecError(kind: .tooLarge, codec: "snappy", detail: "decompressed size exceeds limit of 299999 bytes")) {
            try SnappyFramed.decode(stream, maxLength: 299_999)
        }
    }

    @Test func pointerAndArrayEntryPointsAgree() throws {
        let stream = SnappyTests.helloText.withUnsafeBytes { SnappyFramed.encode($0) }
        #expect(stream == SnappyFramed.encode(SnappyTests.helloText))
        let output = try stream.withUnsafeBytes { bytes throws(CodecError) in try SnappyFramed.decode(bytes) }
        #expect(output == SnappyTests.helloText)
    }

    // MARK: Helpers

    struct ParsedChunk {
        var type: UInt8
        var body: ArraySlice<UInt8>
    }

    struct ParseError: Error {}

    private func parseChunks(_ stream: [UInt8]) throws -> [ParsedChunk] {
        var chunks = [ParsedChunk]()
        var offset = 0
        while offset < stream.count {
            guard stream.count - offset >= 4 else { throw ParseError() }
            let length = Int(stream[offset + 1]) | Int(stream[offset + 2]) << 8 | Int(stream[offset + 3]) << 16
            guard stream.count - offset - 4 >= length else { throw ParseError() }
            chunks.append(ParsedChunk(type: stream[offset], body: stream[(offset + 4)..<(offset + 4 + length)]))
            offset += 4 + length
        }
        return chunks
    }

    private func maskedCRC(_ data: [UInt8]) -> [UInt8] {
        let crc = CRC32C.checksum(data)
        let masked = ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
        return [UInt8(masked & 0xff), UInt8(masked >> 8 & 0xff), UInt8(masked >> 16 & 0xff), UInt8(masked >> 24)]
    }
}
