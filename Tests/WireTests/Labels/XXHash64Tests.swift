import Testing
import Wire

@Suite struct XXHash64Tests {
    @Test(arguments: [
        ("", 0xEF46_DB37_51D8_E999 as UInt64),
        ("a", 0xD24E_C4F1_A98C_6E5B),
        ("abc", 0x44BC_2CF5_AD77_0999),
        ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1),
    ])
    func knownVectors(input: String, expected: UInt64) {
        #expect(XXHash64.hash(Array(input.utf8)) == expected)
        #expect(XXHash64.hash(input) == expected)
    }

    @Test func longInputCrossesManyStripes() {
        let bytes = (0..<3).flatMap { _ in (0...255).map { UInt8($0) } }
        #expect(XXHash64.hash(bytes) == 0x8E03_C838_C596_036F)
    }

    @Test func streamingEqualsOneShotForAnySplit() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0..<200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var hasher = XXHash64()
            var offset = 0
            while offset < bytes.count {
                let piece = min(bytes.count - offset, Int.random(in: 1...40, using: &generator))
                bytes[offset..<(offset + piece)].withUnsafeBytes { hasher.update($0) }
                offset += piece
            }
            #expect(hasher.finalize() == XXHash64.hash(bytes))
        }
    }

    @Test func seedChangesTheHash() {
        #expect(XXHash64.hash([1, 2, 3], seed: 1) != XXHash64.hash([1, 2, 3]))
    }
}
