import TestSupport
import Testing
@testable import Wire

/// Every decoder, fed random bytes and damaged valid encodings, must return bytes or throw a
/// ``CodecError``: never crash, hang or read out of bounds. Seeds are fixed so a failure reproduces.
@Suite struct CodecFuzzTests {
    typealias Decoder = @Sendable ([UInt8], Int) throws(CodecError) -> [UInt8]

    struct Codec: Sendable, CustomTestStringConvertible {
        var name: String
        var encode: @Sendable ([UInt8]) -> [UInt8]
        var decode: Decoder
        var testDescription: String { name }
    }

    static let codecs: [Codec] = [
        Codec(name: "snappy", encode: { Snappy.compress($0) }, decode: { (b, m) throws(CodecError) in try Snappy.decompress(b, maxLength: m) }),
        Codec(name: "snappy-framed", encode: { SnappyFramed.encode($0) }, decode: { (b, m) throws(CodecError) in try SnappyFramed.decode(b, maxLength: m) }),
        Codec(name: "gzip", encode: { Gzip.compress($0) }, decode: { (b, m) throws(CodecError) in try Gzip.decompress(b, maxLength: m) }),
        Codec(name: "deflate", encode: { Deflate.compress($0) }, decode: { (b, m) throws(CodecError) in try Deflate.decompress(b, maxLength: m) }),
    ]

    @Test(arguments: codecs)
    func randomBytesNeverCrash(codec: Codec) {
        var rng = SeededRandom(seed: FuzzBudget.seed(0xfa11 &+ UInt64(codec.name.utf8.count)))
        var failures = 0
        for iteration in 0..<FuzzBudget.scaled(2000) {
            let count = Int(rng.next() % (iteration % 10 == 0 ? 4096 : 64))
            var input = CodecTestData.randomBytes(count, using: &rng)
            // Half the time start with something the decoder recognises, so it gets past the header.
            if iteration % 2 == 1 {
                let valid = codec.encode(Array("seed".utf8))
                input = Array(valid.prefix(Int(rng.next() % UInt64(valid.count + 1)))) + input
            }
            if decode(codec, input, maxLength: 1 << 20) == nil { failures += 1 }
        }
        #expect(failures > 0)
    }

    @Test(arguments: codecs)
    func mutatedEncodingsNeverCrash(codec: Codec) {
        var rng = SeededRandom(seed: FuzzBudget.seed(0xbad5 &+ UInt64(codec.name.utf8.count)))
        var originals = [[UInt8]]()
        for _ in 0..<40 {
            let size = Int(rng.next() % 3000)
            originals.append(rng.next() % 2 == 0 ? CodecTestData.logfmt(byteCount: size, using: &rng) : CodecTestData.repetitive(size, using: &rng))
        }
        originals.append(CodecTestData.logfmt(byteCount: 70_000, using: &rng))
        let encodings = originals.map(codec.encode)
        var rejected = 0
        for iteration in 0..<FuzzBudget.scaled(2500) {
            let which = iteration % encodings.count
            let damaged = CodecTestData.mutate(encodings[which], using: &rng)
            let limit = originals[which].count + 100
            if let output = decode(codec, damaged, maxLength: limit) {
                #expect(output.count <= limit)
            } else {
                rejected += 1
            }
        }
        #expect(rejected > 1000)
    }

    /// Unmodified encodings always decode, including with a limit equal to their size.
    @Test(arguments: codecs)
    func validEncodingsDecodeAtTheirExactSize(codec: Codec) throws {
        var rng = SeededRandom(seed: FuzzBudget.seed(0x600d))
        for _ in 0..<50 {
            let input = CodecTestData.anyInput(using: &rng)
            #expect(try codec.decode(codec.encode(input), input.count) == input)
            if !input.isEmpty {
                #expect(throws: CodecError.self) { try codec.decode(codec.encode(input), input.count - 1) }
            }
        }
    }

    /// Returns the output, or nil after checking that the error is a well-formed ``CodecError``.
    private func decode(_ codec: Codec, _ input: [UInt8], maxLength: Int) -> [UInt8]? {
        do {
            return try codec.decode(input, maxLength)
        } catch {
            let expectedName = codec.name == "snappy-framed" ? "snappy" : codec.name
            #expect(error.codec == expectedName)
            #expect(error.description.hasPrefix("\(expectedName): "))
            return nil
        }
    }
}
