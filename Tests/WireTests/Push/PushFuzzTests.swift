import TestSupport
import Testing
import Wire

/// Untrusted push bodies must only ever decode or throw `PushDecodeError`: never crash, hang, or read out of
/// bounds. Seeds are fixed so a failure reproduces; raise the iteration counts locally to fuzz longer.
@Suite("Push decoding fuzz")
struct PushFuzzTests {
    static let headers: [(contentType: String?, encoding: String?)] = [
        (nil, nil), ("application/x-protobuf", nil), ("application/json", nil), (nil, "gzip"),
        ("application/json", "gzip"), (nil, "deflate"), ("application/json", "deflate"), (nil, "snappy"),
    ]

    /// Decodes through the full body decoder; a success is walked completely and re-encoded.
    @discardableResult
    static func exercise(_ body: [UInt8], contentType: String?, encoding: String?) -> Bool {
        do throws(PushDecodeError) {
            let request = try PushBodyDecoder.decode(body: body, contentType: contentType, contentEncoding: encoding,
                                                     maxDecompressedSize: 1 << 20)
            touch(request)
            return true
        } catch {
            #expect(!error.message.isEmpty)
            #expect(error.namesALayer, "\(error.message)")
            return false
        }
    }

    static func touch(_ request: PushRequest) {
        var checksum = 0
        for stream in request.streams {
            checksum &+= stream.labels.utf8.count
            for entry in stream.entries {
                checksum &+= entry.line.reduce(0) { $0 &+ Int($1) } &+ entry.structuredMetadata.count
            }
        }
        _ = PushProtobufEncoder.encode(request)
        _ = PushJSONEncoder.encode(request)
        #expect(checksum >= 0 || checksum < 0)
    }

    static func mutate(_ input: [UInt8], random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<random.int(1...4) {
            switch random.int(0...6) {
            case 0 where !bytes.isEmpty:   // flip a bit
                let index = random.int(0...bytes.count - 1)
                bytes[index] ^= UInt8(1) << UInt8(random.int(0...7))
            case 1 where !bytes.isEmpty:   // replace a byte, often with an interesting value
                let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A]
                bytes[random.int(0...bytes.count - 1)] = random.chance(50)
                    ? interesting[random.int(0...interesting.count - 1)] : UInt8(random.int(0...255))
            case 2 where !bytes.isEmpty:   // truncate
                bytes.removeLast(random.int(1...bytes.count))
            case 3:                        // insert random bytes
                let index = random.int(0...bytes.count)
                bytes.insert(contentsOf: random.bytes(random.int(1...8)), at: index)
            case 4 where bytes.count > 1:  // delete a range
                let start = random.int(0...bytes.count - 1)
                bytes.removeSubrange(start..<min(bytes.count, start + random.int(1...16)))
            case 5 where bytes.count > 1:  // duplicate a chunk
                let start = random.int(0...bytes.count - 1)
                let chunk = bytes[start..<min(bytes.count, start + random.int(1...32))]
                bytes.insert(contentsOf: chunk, at: random.int(0...bytes.count))
            default:                       // set a varint-looking run
                let index = random.int(0...bytes.count)
                bytes.insert(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], at: index)
            }
        }
        return bytes
    }

    @Test func randomBytesThroughEveryHeaderCombination() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xF022_0001))
        for iteration in 0..<FuzzBudget.scaled(3_200) {
            let body = random.bytes(random.int(0...300))
            let header = Self.headers[iteration % Self.headers.count]
            Self.exercise(body, contentType: header.contentType, encoding: header.encoding)
            // The raw decoders directly too: random bytes rarely survive decompression.
            if let request = try? PushProtobufDecoder.decode(body) { Self.touch(request) }
            if let request = try? PushJSONDecoder.decode(body) { Self.touch(request) }
        }
    }

    @Test func mutatedValidBodies() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xF022_0002))
        var accepted = 0
        let kinds = 6
        for iteration in 0..<FuzzBudget.scaled(3_600) {
            let request = random.request(binaryLines: true, maxStreams: 3, maxEntries: 6)
            let protobuf = PushProtobufEncoder.encode(request)
            let json = PushJSONEncoder.encode(request)
            let valid: (body: [UInt8], contentType: String?, encoding: String?)
            switch iteration % kinds {
            case 0: valid = (Snappy.compress(protobuf), nil, nil)
            case 1: valid = (json, "application/json", nil)
            case 2: valid = (Gzip.compress(Snappy.compress(protobuf)), nil, "gzip")
            case 3: valid = (Gzip.compress(json), "application/json", "gzip")
            case 4: valid = (Deflate.compress(json), "application/json", "deflate")
            default: valid = (Snappy.compress(protobuf), "application/x-protobuf", "snappy")
            }
            let mutated = Self.mutate(valid.body, random: &random)
            if Self.exercise(mutated, contentType: valid.contentType, encoding: valid.encoding) { accepted += 1 }
        }
        // Some mutations (e.g. inside a line) still decode: the fuzzer reaches past the first layer.
        #expect(accepted > 0)
    }

    @Test func mutatedRawProtobufAgreesWithGeneratedCode() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xF022_0003))
        var bothAccepted = 0
        for _ in 0..<FuzzBudget.scaled(4_000) {
            var valid = PushProtobufEncoder.encode(random.request(maxStreams: 2, maxEntries: 4))
            if random.chance(30) {
                var extra = PushProtoBuilder()
                extra.unknownFields(base: UInt64(random.int(4...200)))
                valid.insert(contentsOf: extra.bytes, at: 0)
            }
            let mutated = Self.mutate(valid, random: &random)
            let hand: Result<PushRequest, PushDecodeError>
            do throws(PushDecodeError) {
                hand = .success(try PushProtobufDecoder.decode(mutated))
            } catch {
                #expect(error.message.hasPrefix("proto: "), "\(error.message)")
                hand = .failure(error)
            }
            guard let generated = try? Logproto_PushRequest(serializedBytes: mutated) else {
                // SwiftProtobuf rejects invalid UTF-8 in lines; we keep such lines as bytes. Anything we accept
                // must still be walkable.
                if case .success(let request) = hand { Self.touch(request) }
                continue
            }
            switch hand {
            case .success(let request):
                bothAccepted += 1
                #expect(PushSnapshot(request) == PushSnapshot(generated))
            case .failure(let error):
                // Where we follow Loki (gogo) and SwiftProtobuf is lenient: Loki's timestamp validation, and a
                // known field with the wrong wire type (SwiftProtobuf keeps it as an unknown field).
                #expect(error.message.contains("timestamp") || error.message.contains("wrong wire type"),
                        "generated code accepted: \(error.message)")
            }
        }
        #expect(bothAccepted > 100)
    }

    @Test func mutatedRawJSON() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xF022_0004))
        var accepted = 0
        for _ in 0..<FuzzBudget.scaled(3_000) {
            let valid = PushJSONEncoder.encode(random.request(maxStreams: 2, maxEntries: 4))
            let mutated = Self.mutate(valid, random: &random)
            do throws(PushDecodeError) {
                Self.touch(try PushJSONDecoder.decode(mutated))
                accepted += 1
            } catch {
                #expect(error.message.hasPrefix("json: "), "\(error.message)")
            }
        }
        #expect(accepted > 100)
    }
}
