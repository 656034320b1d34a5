import TestSupport
import Testing
@testable import Wire

@Suite struct DeflateTests {
    static let text = Array("hello, deflate\n".utf8)
    /// `zlib.compressobj(6, zlib.DEFLATED, -15)` of `text` (Python, zlib 1.2.13): raw deflate.
    static let raw: [UInt8] = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x48, 0x49, 0x4d, 0xcb, 0x49, 0x2c, 0x49, 0xe5, 0x02, 0x00]
    /// `zlib.compress(text)`: the same stream with the RFC 1950 header and Adler-32 trailer.
    static let wrapped: [UInt8] = [0x78, 0x9c] + raw + [0x2b, 0xed, 0x05, 0x40]

    @Test func compressesToRawDeflate() {
        #expect(Deflate.compress(Self.text) == Self.raw)
    }

    @Test func decodesRawAndZlibWrapped() throws {
        #expect(try Deflate.decompress(Self.raw) == Self.text)
        #expect(try Deflate.decompress(Self.wrapped) == Self.text)
        // Every zlib header level marker (0x01, 0x5e, 0x9c, 0xda) is recognised.
        for level: Int32 in [0, 1, 6, 9] {
            let wrapped = Zlib.compress(
                Self.text.withUnsafeBytes { $0 }, level: level, windowBits: Zlib.zlibWindowBits)
            #expect(Deflate.hasZlibHeader(wrapped.withUnsafeBytes { $0 }))
            #expect(try Deflate.decompress(wrapped) == Self.text)
        }
    }

    @Test func rawStreamsAreNotMistakenForZlib() {
        var rng = SeededRandom(seed: 17)
        for _ in 0..<200 {
            let stream = Deflate.compress(CodecTestData.anyInput(using: &rng), level: Int32(rng.next() % 10))
            #expect(!stream.withUnsafeBytes { Deflate.hasZlibHeader($0) })
        }
    }

    @Test func roundTripsRandomCases() throws {
        var rng = SeededRandom(seed: 0xdef1)
        for _ in 0..<200 {
            let input = CodecTestData.anyInput(using: &rng)
            let stream = Deflate.compress(input, level: Int32(rng.next() % 10))
            #expect(try Deflate.decompress(stream, maxLength: input.count) == input)
        }
    }

    @Test func ignoresBytesAfterTheEndOfTheStream() throws {
        #expect(try Deflate.decompress(Self.raw + [0x01, 0x02, 0x03]) == Self.text)
    }

    @Test func rejectsBadInput() {
        let empty = #expect(throws: CodecError.self) { try Deflate.decompress([UInt8]()) }
        #expect(empty?.description == "deflate: invalid input: unexpected end of stream")
        let truncated = #expect(throws: CodecError.self) { try Deflate.decompress(Array(Self.raw.prefix(8))) }
        #expect(truncated?.description == "deflate: invalid input: unexpected end of stream")
        #expect(throws: CodecError(kind: .corrupt, codec: "deflate", detail: "invalid input: invalid block type")) {
            try Deflate.decompress([0xff, 0xff, 0xff])
        }
        var badAdler = Self.wrapped
        badAdler[badAdler.count - 1] ^= 1
        #expect(throws: CodecError(kind: .corrupt, codec: "deflate", detail: "invalid input: incorrect data check")) {
            try Deflate.decompress(badAdler)
        }
    }

    @Test func honoursMaxLength() throws {
        let input = [UInt8](repeating: 0x33, count: 500_000)
        let stream = Deflate.compress(input)
        #expect(try Deflate.decompress(stream, maxLength: 500_000) == input)
        #expect(throws: CodecError(kind: .tooLarge, codec: "deflate", detail: "decompressed size exceeds limit of 499999 bytes")) {
            try Deflate.decompress(stream, maxLength: 499_999)
        }
    }

    @Test func pointerEntryPointAgrees() throws {
        let output = try Self.wrapped.withUnsafeBytes { bytes throws(CodecError) in try Deflate.decompress(bytes) }
        #expect(output == Self.text)
    }
}
