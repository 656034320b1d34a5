import TestSupport
import Testing
@testable import Wire

@Suite struct GzipTests {
    /// `gzip.compress(b"hello, gzip\n", mtime=0)` (Python, zlib 1.2.13).
    static let helloMember: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x48,
        0xaf, 0xca, 0x2c, 0xe0, 0x02, 0x00, 0x86, 0x1f, 0x82, 0xa4, 0x0c, 0x00, 0x00, 0x00,
    ]
    /// `gzip.compress(b"second member\n", mtime=0)`.
    static let secondMember: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0x4e, 0x4d, 0xce, 0xcf, 0x4b, 0x51, 0xc8,
        0x4d, 0xcd, 0x4d, 0x4a, 0x2d, 0xe2, 0x02, 0x00, 0x36, 0x18, 0x4b, 0x0e, 0x0e, 0x00, 0x00, 0x00,
    ]

    @Test func decodesReferenceMember() throws {
        #expect(try Gzip.decompress(Self.helloMember) == Array("hello, gzip\n".utf8))
    }

    @Test func decodesConcatenatedMembers() throws {
        #expect(try Gzip.decompress(Self.helloMember + Self.secondMember) == Array("hello, gzip\nsecond member\n".utf8))
        let many = (0..<50).flatMap { Gzip.compress(Array("member \($0);".utf8)) }
        let expected = (0..<50).flatMap { Array("member \($0);".utf8) }
        #expect(try Gzip.decompress(many) == expected)
    }

    @Test func writesAGzipHeader() {
        let member = Gzip.compress(Array("x".utf8))
        #expect(Array(member.prefix(3)) == [0x1f, 0x8b, 0x08])
    }

    @Test(arguments: [Int32(-1), 0, 1, 6, 9, 42, -7])
    func roundTripsAtEveryLevel(level: Int32) throws {
        var rng = SeededRandom(seed: UInt64(bitPattern: Int64(level)))
        let input = CodecTestData.logfmt(byteCount: 100_000, using: &rng)
        #expect(try Gzip.decompress(Gzip.compress(input, level: level)) == input)
    }

    @Test func roundTripsRandomCases() throws {
        var rng = SeededRandom(seed: 0x921)
        for _ in 0..<200 {
            let input = CodecTestData.anyInput(using: &rng)
            let member = Gzip.compress(input, level: Int32(rng.next() % 10))
            #expect(try Gzip.decompress(member, maxLength: input.count) == input)
        }
    }

    @Test func emptyPayloadRoundTripsButEmptyInputIsAnError() throws {
        #expect(try Gzip.decompress(Gzip.compress([])) == [])
        let error = #expect(throws: CodecError.self) { try Gzip.decompress([]) }
        #expect(error?.description == "gzip: invalid input: unexpected end of stream")
    }

    @Test func reportsZlibMessages() {
        #expect(throws: CodecError(kind: .corrupt, codec: "gzip", detail: "invalid input: incorrect header check")) {
            try Gzip.decompress(Array("not gzip at all".utf8))
        }
        var badCRC = Self.helloMember
        badCRC[badCRC.count - 8] ^= 0xff
        #expect(throws: CodecError(kind: .corrupt, codec: "gzip", detail: "invalid input: incorrect data check")) {
            try Gzip.decompress(badCRC)
        }
    }

    @Test func rejectsTruncationAndTrailingGarbage() {
        for length in [1, 5, 10, 20, Self.helloMember.count - 1] {
            let error = #expect(throws: CodecError.self) { try Gzip.decompress(Array(Self.helloMember.prefix(length))) }
            #expect(error?.kind == .corrupt)
        }
        #expect(throws: CodecError.self) { try Gzip.decompress(Self.helloMember + [0x00, 0x01]) }
    }

    @Test func honoursMaxLengthExactly() throws {
        let input = [UInt8](repeating: 0x41, count: 1 << 20)
        let member = Gzip.compress(input)
        #expect(try Gzip.decompress(member, maxLength: 1 << 20) == input)
        #expect(throws: CodecError(kind: .tooLarge, codec: "gzip", detail: "decompressed size exceeds limit of 1048575 bytes")) {
            try Gzip.decompress(member, maxLength: (1 << 20) - 1)
        }
        let error = #expect(throws: CodecError.self) { try Gzip.decompress(member, maxLength: 1000) }
        #expect(error?.description == "gzip: decompressed size exceeds limit of 1000 bytes")
        #expect(throws: CodecError.tooLarge("gzip", limit: 0)) { try Gzip.decompress(Self.helloMember, maxLength: 0) }
    }

    @Test func bombIsStoppedAtTheLimit() {
        // 64 MiB of zeros compresses to about 64 KiB; a 1 MiB limit must stop it early.
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 64 << 20), level: 9)
        #expect(bomb.count < 100_000)
        #expect(throws: CodecError.tooLarge("gzip", limit: 1 << 20)) { try Gzip.decompress(bomb, maxLength: 1 << 20) }
    }

    @Test func forgedTrailerSizeDoesNotMisleadTheDecoder() throws {
        // The trailer's size is only a capacity hint; a wrong one still decodes (and fails the length check).
        var member = Gzip.compress(Array("hint".utf8))
        member[member.count - 4] = 0xff
        member[member.count - 1] = 0x7f
        let error = #expect(throws: CodecError.self) { try Gzip.decompress(member) }
        #expect(error?.description == "gzip: invalid input: incorrect length check")
    }

    @Test func pointerAndArrayEntryPointsAgree() throws {
        let input = Array("pointer entry point".utf8)
        let member = input.withUnsafeBytes { Gzip.compress($0, level: 9) }
        #expect(member == Gzip.compress(input, level: 9))
        let output = try member.withUnsafeBytes { bytes throws(CodecError) in try Gzip.decompress(bytes) }
        #expect(output == input)
    }
}
