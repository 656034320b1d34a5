import TestSupport
import Testing
@testable import Wire

@Suite struct CRC32CTests {
    @Test(arguments: [
        (Array("123456789".utf8), UInt32(0xE306_9283)),
        ([UInt8](), UInt32(0)),
        ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),  // RFC 3720 B.4
        ([UInt8](repeating: 0xff, count: 32), UInt32(0x62A8_AB43)),
        ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
    ])
    func knownVectors(input: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(input) == expected)
    }

    @Test func matchesBitwiseReferenceAtEveryLengthAndAlignment() {
        var rng = SeededRandom(seed: 99)
        let data = CodecTestData.randomBytes(600, using: &rng)
        data.withUnsafeBytes { all in
            for start in 0..<17 {
                for length in [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 255, 583] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    let expected = bitwise(slice)
                    #expect(CRC32C.checksum(slice) == expected, "start \(start) length \(length)")
                    #expect(CRC32C.tableChecksum(slice) == expected, "table, start \(start) length \(length)")
                }
            }
        }
    }

    @Test func hardwareAndTableAgreeOnRandomInputs() {
        var rng = SeededRandom(seed: 2026)
        for _ in 0..<200 {
            let data = CodecTestData.randomBytes(Int(rng.next() % 70_000), using: &rng)
            let seed = UInt32(truncatingIfNeeded: rng.next())
            data.withUnsafeBytes { bytes in
                #expect(CRC32C.checksum(bytes, seed: seed) == CRC32C.tableChecksum(bytes, seed: seed))
            }
        }
    }

    #if arch(x86_64)
    @Test func x86WithSSE42UsesTheInstruction() {
        // Every x86-64 CPU since 2008 has SSE4.2; if this fails, checksums silently take the slow path.
        #expect(CRC32C.usesHardware)
    }
    #endif

    @Test func seedContinuesAChecksum() {
        var rng = SeededRandom(seed: 5)
        let data = CodecTestData.randomBytes(1000, using: &rng)
        let whole = CRC32C.checksum(data)
        for split in [0, 1, 8, 13, 500, 999, 1000] {
            let first = CRC32C.checksum(Array(data[..<split]))
            #expect(CRC32C.checksum(Array(data[split...]), seed: first) == whole)
        }
    }

    @Test func maskedMatchesSnappyFraming() {
        // From the framed golden vector: "aaa..." (100 bytes) has masked checksum 0xfdb5a81f.
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        #expect(input.withUnsafeBytes { CRC32C.masked($0) } == 0xfdb5_a81f)
    }

    private func bitwise(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
