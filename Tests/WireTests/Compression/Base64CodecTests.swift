import Testing
import TestSupport
import Wire

@Suite struct Base64CodecTests {
    @Test func encodesBothAlphabetsPadded() {
        #expect(Base64Codec.encoded(Array("hello?>".utf8)) == "aGVsbG8/Pg==")
        #expect(Base64Codec.encoded(Array("hello?>".utf8), alphabet: .url) == "aGVsbG8_Pg==")
        #expect(Base64Codec.encoded([]) == "")
    }

    /// Go's `base64.StdEncoding.DecodeString` answers, byte offsets included.
    @Test(arguments: [
        ("aGVsbG8/Pg==", Base64Codec.Alphabet.standard, "hello?>"),
        ("aGVs\r\nbG8_Pg==", .url, "hello?>"),
        ("", .standard, ""),
    ])
    func decodesAsGo(text: String, alphabet: Base64Codec.Alphabet, expected: String) throws {
        #expect(try Base64Codec.decodeGo(text, alphabet: alphabet) == Array(expected.utf8))
    }

    @Test(arguments: [
        ("aGVsbG8_Pg==", Base64Codec.Alphabet.standard, 7),  // the other alphabet's digit
        ("aGVsbG8", .standard, 4),                            // unpadded
        ("a===", .standard, 1),
        ("aG=v", .standard, 2),
        ("aGVs=", .standard, 4),
    ])
    func refusesAsGo(text: String, alphabet: Base64Codec.Alphabet, offset: Int) {
        #expect(throws: Base64Codec.Problem.self) { try Base64Codec.decodeGo(text, alphabet: alphabet) }
        do {
            _ = try Base64Codec.decodeGo(text, alphabet: alphabet)
        } catch {
            #expect(error.reason == "illegal base64 data at input byte \(offset)")
        }
    }

    /// Property: both decoders read back what the encoder writes, in either alphabet.
    @Test func roundTrips() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0xB64))
        for _ in 0..<FuzzBudget.scaled(2_000) {
            let bytes = random.bytes(random.int(0...40))
            for alphabet in [Base64Codec.Alphabet.standard, .url] {
                let text = Base64Codec.encoded(bytes, alphabet: alphabet)
                #expect(try Base64Codec.decodeGo(text, alphabet: alphabet) == bytes)
                let lenient = Array(text.utf8).withUnsafeBufferPointer { Base64Codec.decode($0) }
                #expect((try? lenient.get()) == bytes)
            }
        }
    }
}
