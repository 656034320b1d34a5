import TestSupport
import Testing
@testable import Wire

@Suite struct SnappyTests {
    // MARK: Golden vectors (produced by the reference implementation: cramjam.snappy.compress_raw)

    static let helloText = Array("Hello, snappy! Hello, snappy! Hello, snappy!".utf8)
    static let helloBlock: [UInt8] = [
        0x2c, 0x38, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x73, 0x6e, 0x61, 0x70, 0x70, 0x79, 0x21, 0x20, 0x72,
        0x0f, 0x00,
    ]
    static let logLine = Array(
        #"level=info ts=2024-02-29T12:34:56.789Z caller=ingester.go:123 msg="flushing chunk" tenant=fake stream="{job=\"varlogs\"}" level=info ts=2024-02-29T12:34:56.790Z caller=ingester.go:123 msg="flushing chunk" tenant=fake"#
            .utf8)
    static let logLineBlock: [UInt8] =
        [0xd8, 0x01, 0xf0, 0x79] + Array(logLine[0..<122]) + [0x8a, 0x7a, 0x00, 0x04, 0x39, 0x30, 0xe2, 0x7a, 0x00]

    @Test func goldenRunOfOneByte() throws {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        // Literal "a", then a copy of 64 and a copy of 35 at offset 1.
        let expected: [UInt8] = [0x64, 0x00, 0x61, 0xfe, 0x01, 0x00, 0x8a, 0x01, 0x00]
        #expect(Snappy.compress(input) == expected)
        #expect(try Snappy.decompress(expected) == input)
    }

    @Test func goldenShortText() throws {
        #expect(Snappy.compress(Self.helloText) == Self.helloBlock)
        #expect(try Snappy.decompress(Self.helloBlock) == Self.helloText)
    }

    @Test func goldenLogLine() throws {
        #expect(Self.logLine.count == 216)
        #expect(Snappy.compress(Self.logLine) == Self.logLineBlock)
        #expect(try Snappy.decompress(Self.logLineBlock) == Self.logLine)
    }

    @Test func goldenIncompressibleIsOneLiteral() throws {
        var rng = SeededRandom(seed: 7)
        let input = CodecTestData.randomBytes(40, using: &rng)
        #expect(Snappy.compress(input) == [0x28, 39 << 2] + input)
    }

    /// Sizes and CRC-32C of the reference encoder's output for multi-block inputs: our encoder is a port
    /// of golang/snappy and emits the same bytes.
    @Test(arguments: [
        (1000, 96_416, 22_983, UInt32(0x082b_570c)),
        (5000, 482_768, 115_328, UInt32(0xadc8_2df1)),
    ])
    func goldenLargeText(lines: Int, textSize: Int, blockSize: Int, blockCRC: UInt32) throws {
        let text = CodecTestData.formulaLines(lines)
        #expect(text.count == textSize)
        let block = Snappy.compress(text)
        #expect(block.count == blockSize)
        #expect(CRC32C.checksum(block) == blockCRC)
        #expect(try Snappy.decompress(block) == text)
    }

    @Test func emptyAndSingleByte() throws {
        #expect(Snappy.compress([]) == [0x00])
        #expect(try Snappy.decompress([0x00]) == [])
        #expect(Snappy.compress([0x42]) == [0x01, 0x00, 0x42])
        #expect(try Snappy.decompress([0x01, 0x00, 0x42]) == [0x42])
    }

    // MARK: Round trips

    @Test(arguments: [0, 1, 2, 4, 15, 16, 17, 18, 31, 32, 33, 60, 61, 255, 256, 257, 4095, 65_535, 65_536, 65_537, 200_003])
    func roundTripsEverySize(size: Int) throws {
        var rng = SeededRandom(seed: UInt64(size))
        for input in [
            CodecTestData.randomBytes(size, using: &rng), CodecTestData.repetitive(size, using: &rng),
            CodecTestData.logfmt(byteCount: size, using: &rng), [UInt8](repeating: 0, count: size),
        ] {
            let block = Snappy.compress(input)
            #expect(block.count <= Snappy.maxEncodedLength(input.count))
            #expect(try Snappy.decompress(block) == input)
        }
    }

    @Test func roundTripsRandomCases() throws {
        var rng = SeededRandom(seed: 0x5eed)
        for _ in 0..<200 {
            let input = CodecTestData.anyInput(using: &rng)
            let block = Snappy.compress(input)
            let output = try Snappy.decompress(block, maxLength: input.count)
            #expect(output == input)
        }
    }

    @Test func compressesLogText() {
        var rng = SeededRandom(seed: 1)
        let text = CodecTestData.logfmt(byteCount: 1 << 20, using: &rng)
        #expect(Snappy.compress(text).count < text.count / 2)
    }

    @Test func pointerAndArrayEntryPointsAgree() throws {
        let block = Self.helloText.withUnsafeBytes { Snappy.compress($0) }
        #expect(block == Self.helloBlock)
        let output = try Self.helloBlock.withUnsafeBytes { bytes throws(CodecError) in try Snappy.decompress(bytes) }
        #expect(output == Self.helloText)
    }

    // MARK: Decoding hand-built elements

    @Test func decodesEveryElementKind() throws {
        // "abcd" literal, copy1 (len 4, offset 4), copy2 (len 2, offset 2), copy4 (len 3, offset 8),
        // literal with a 1-byte length (61 bytes).
        let literal61 = [UInt8](repeating: UInt8(ascii: "z"), count: 61)
        var block: [UInt8] = [4 + 4 + 2 + 3 + 61, 3 << 2, 0x61, 0x62, 0x63, 0x64]
        block += [0 << 2 | 1, 4]
        block += [1 << 2 | 2, 2, 0]
        block += [2 << 2 | 3, 8, 0, 0, 0]
        block += [60 << 2, 60]
        block += literal61
        let expected = Array("abcdabcdcdcda".utf8) + literal61
        #expect(try Snappy.decompress(block) == expected)
    }

    @Test func decodesLongLiteralLengthForms() throws {
        var rng = SeededRandom(seed: 3)
        let data = CodecTestData.randomBytes(300, using: &rng)
        let twoByte: [UInt8] = [0xac, 0x02, 61 << 2, 0x2b, 0x01] + data  // length 300 as 299 in 2 bytes
        #expect(try Snappy.decompress(twoByte) == data)
        let threeByte: [UInt8] = [0xac, 0x02, 62 << 2, 0x2b, 0x01, 0x00] + data
        #expect(try Snappy.decompress(threeByte) == data)
        let fourByte: [UInt8] = [0xac, 0x02, 63 << 2, 0x2b, 0x01, 0x00, 0x00] + data
        #expect(try Snappy.decompress(fourByte) == data)
    }

    @Test func overlappingCopiesOfEveryShortOffset() throws {
        for offset in 1...12 {
            for length in [4, 5, 8, 11, 12, 16, 40, 64] {
                let seed = Array("0123456789ab".utf8.prefix(offset))
                var expected = seed
                for index in 0..<length { expected.append(expected[index]) }
                // Trailing literal so the fast path (slack after the copy) is taken too.
                let tail = [UInt8](repeating: UInt8(ascii: "."), count: 20)
                expected += tail
                var elements: [UInt8] = [UInt8((offset - 1) << 2)] + seed
                elements += [UInt8((length - 1) << 2 | 2), UInt8(offset), 0]
                let block = putUvarint(expected.count) + elements + [UInt8((tail.count - 1) << 2)] + tail
                #expect(try Snappy.decompress(block) == expected, "offset \(offset) length \(length)")
                // Without the tail the copy ends the output and takes the byte-by-byte path.
                let noSlackBlock = putUvarint(expected.count - tail.count) + elements
                #expect(try Snappy.decompress(noSlackBlock) == Array(expected.dropLast(tail.count)))
            }
        }
    }

    // MARK: Corrupt input

    @Test(arguments: [
        ([UInt8](), "empty input"),
        ([0x80], "truncated or overlong length header"),
        ([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], "truncated or overlong length header"),
        ([0x80, 0x80, 0x80, 0x80, 0x10], "exceeds the format's limit"),
        ([0x04, 0x01, 0x00], "bad offset"),  // copy before anything was written
        ([0x06, 0x00, 0x61, 0x05, 0x00], "bad offset"),  // copy1 with offset 0
        ([0x08, 0x00, 0x61, 0x0e, 0x05, 0x00], "bad offset"),  // copy2 offset 5 > 1 written
        ([0x05, 0x10, 0x61], "runs past the end of the input"),
        ([0x05, 0xf0], "truncated"),  // literal with a 1-byte length but no length byte
        ([0x05, 0x00, 0x61, 0x01], "truncated"),  // copy1 without its offset byte
        ([0x05, 0x00, 0x61, 0x02, 0x01], "truncated"),  // copy2 missing a byte
        ([0x05, 0x00, 0x61, 0x03, 0x01, 0x00, 0x00], "truncated"),  // copy4 missing a byte
        ([0x02, 0x08, 0x61, 0x62, 0x63], "overflows the declared length"),
        ([0x03, 0x00, 0x61, 0x0e, 0x01, 0x00], "overflows the declared length"),
        ([0x05, 0x00, 0x61], "input ends after 1 of the 5 declared bytes"),
        ([0x00, 0x00, 0x61], "after the declared length"),
        ([0x00, 0x05, 0x01], "after the declared length"),
        ([0xff, 0xff, 0x03, 0x00, 0x61], "cannot be produced"),
    ])
    func rejectsCorruptInput(input: [UInt8], message: String) {
        #expect {
            try Snappy.decompress(input)
        } throws: { error in
            guard let error = error as? CodecError else { return false }
            return error.kind == .corrupt && error.codec == "snappy"
                && error.description.hasPrefix("snappy: corrupt input: ") && error.description.contains(message)
        }
    }

    @Test func corruptErrorNamesThePosition() {
        #expect(throws: CodecError(
            kind: .corrupt, codec: "snappy",
            detail: "corrupt input: bad offset: copy offset 5 at input byte 3 points outside the 1 bytes written")
        ) {
            try Snappy.decompress([0x08, 0x00, 0x61, 0x0e, 0x05, 0x00])
        }
    }

    // MARK: Size limit

    @Test func honoursMaxLength() throws {
        let input = [UInt8](repeating: 7, count: 10_000)
        let block = Snappy.compress(input)
        #expect(try Snappy.decompress(block, maxLength: 10_000) == input)
        #expect(throws: CodecError(kind: .tooLarge, codec: "snappy", detail: "decompressed size exceeds limit of 9999 bytes")) {
            try Snappy.decompress(block, maxLength: 9_999)
        }
        let error = #expect(throws: CodecError.self) { try Snappy.decompress(block, maxLength: 0) }
        #expect(error?.description == "snappy: decompressed size exceeds limit of 0 bytes")
    }

    @Test func forgedHugeLengthIsRejectedBeforeAllocating() {
        // Declares 4 GiB - 1 with a few bytes of body: must fail fast, not allocate.
        let forged: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61, 0xfe, 0x01, 0x00]
        let error = #expect(throws: CodecError.self) { try Snappy.decompress(forged) }
        #expect(error?.kind == .corrupt)
        #expect(throws: CodecError.tooLarge("snappy", limit: 1 << 20)) { try Snappy.decompress(forged, maxLength: 1 << 20) }
    }

    private func putUvarint(_ value: Int) -> [UInt8] {
        var value = value
        var bytes = [UInt8]()
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }
}
