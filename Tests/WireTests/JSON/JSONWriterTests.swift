import Foundation
import Testing
import Wire

@Suite struct JSONWriterTests {
    @Test func escapesAndReplacesInvalidUTF8() throws {
        var json = JSONWriter()
        json.raw("[")
        json.string(Array("quote\" back\\ nl\n tab\t nul\u{0} é ✓ 𝄞".utf8))
        json.raw(",")
        json.string([0x61, 0xFF, 0x62, 0xC3])
        json.raw("]")
        let parsed = try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String]
        #expect(parsed == ["quote\" back\\ nl\n tab\t nul\u{0} é ✓ 𝄞", "a\u{FFFD}b\u{FFFD}"])
    }

    /// Property: any byte string becomes valid JSON, and valid UTF-8 survives unchanged.
    @Test func randomBytesAlwaysGiveValidJSON() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<40, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var json = JSONWriter()
            json.raw("[")
            json.string(bytes)
            json.raw("]")
            let parsed = try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String]
            #expect(parsed?.count == 1)
            if let valid = String(validating: bytes, as: UTF8.self) {
                #expect(parsed?.first == valid)
            }
        }
    }
}
