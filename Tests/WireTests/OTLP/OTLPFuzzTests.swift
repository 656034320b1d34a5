import TestSupport
import Testing
import Wire

/// Untrusted OTLP bodies must only ever decode or throw `OTLPDecodeError`: never crash, hang, or read out of
/// bounds. Seeds are fixed so a failure reproduces; raise the iteration counts locally to fuzz longer.
@Suite("OTLP decoding fuzz")
struct OTLPFuzzTests {
    /// Walks a decoded request completely and re-encodes it both ways; the re-encodings must decode again.
    static func touch(_ logs: OTLPLogsData) {
        let protobuf = OTLPProtobuf.encodeLogsRequest(logs)
        let json = OTLPJSON.encodeLogsRequest(logs)
        #expect((try? OTLPProtobuf.decodeLogsRequest(protobuf))?.recordCount == logs.recordCount)
        #expect((try? OTLPJSON.decodeLogsRequest(json))?.recordCount == logs.recordCount)
    }

    static func decodeProtobuf(_ bytes: [UInt8]) -> OTLPLogsData? {
        do throws(OTLPDecodeError) {
            return try OTLPProtobuf.decodeLogsRequest(bytes)
        } catch {
            #expect(error.description.hasPrefix("proto: ") && error.offset >= 0 && error.offset <= bytes.count,
                    "\(error.description)")
            return nil
        }
    }

    static func decodeJSON(_ bytes: [UInt8]) -> OTLPLogsData? {
        do throws(OTLPDecodeError) {
            return try OTLPJSON.decodeLogsRequest(bytes)
        } catch {
            #expect(error.description.hasPrefix("json: ") && error.offset >= 0 && error.offset <= bytes.count,
                    "\(error.description)")
            return nil
        }
    }

    @Test func randomBytes() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x07_1F_F001))
        for _ in 0..<FuzzBudget.scaled(3_000) {
            let body = random.bytes(random.int(0...200))
            if let logs = Self.decodeProtobuf(body) { Self.touch(logs) }
            if let logs = Self.decodeJSON(body) { Self.touch(logs) }
            _ = try? OTLPProtobuf.decodeLogsResponse(body)
            _ = try? OTLPJSON.decodeLogsResponse(body)
        }
    }

    @Test func mutatedProtobufAgreesWithTheGeneratedCode() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x07_1F_F002))
        var bothAccepted = 0
        for _ in 0..<FuzzBudget.scaled(2_500) {
            var valid = OTLPProtobuf.encodeLogsRequest(random.otlpLogs(maxResources: 2, maxScopes: 2, maxRecords: 3))
            if random.chance(30) {
                var extra = PushProtoBuilder()
                extra.unknownFields(base: UInt64(random.int(2...200)))
                valid.insert(contentsOf: extra.bytes, at: 0)
            }
            let mutated = PushFuzzTests.mutate(valid, random: &random)
            let ours = Self.decodeProtobuf(mutated)
            guard let reference = try? ReferenceRequest(serializedBytes: mutated) else {
                if let ours { Self.touch(ours) }   // SwiftProtobuf rejects more (e.g. its depth limit)
                continue
            }
            guard let ours else {
                // Where we are stricter than SwiftProtobuf, as the Collector is: wire types and id lengths.
                do throws(OTLPDecodeError) {
                    _ = try OTLPProtobuf.decodeLogsRequest(mutated)
                } catch {
                    #expect(error.reason.contains("wrong wire type") || error.reason.contains("_id is"),
                            "generated code accepted: \(error.description)")
                }
                continue
            }
            bothAccepted += 1
            // Compared through our (deterministic) encoder, so that mutated NaN doubles compare by bit pattern.
            #expect(OTLPProtobuf.encodeLogsRequest(ours)
                == OTLPProtobuf.encodeLogsRequest(OTLPReference.model(reference)))
            Self.touch(ours)
        }
        #expect(bothAccepted > 100)
    }

    @Test func mutatedJSON() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x07_1F_F003))
        var accepted = 0
        for _ in 0..<FuzzBudget.scaled(2_000) {
            let valid = OTLPJSON.encodeLogsRequest(random.otlpLogs(maxResources: 2, maxScopes: 2, maxRecords: 3))
            if let logs = Self.decodeJSON(PushFuzzTests.mutate(valid, random: &random)) {
                accepted += 1
                Self.touch(logs)
            }
        }
        #expect(accepted > 100)
    }

    @Test func mutatedResponses() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x07_1F_F004))
        for _ in 0..<FuzzBudget.scaled(1_000) {
            let rejected = random.otlpInt64()
            let message = random.unicodeString(maxScalars: 20)
            let protobuf = OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: rejected, errorMessage: message)
            let json = OTLPJSON.encodeLogsResponse(rejectedLogRecords: rejected, errorMessage: message)
            let expected = OTLPLogsResponse(rejectedLogRecords: rejected, errorMessage: message)
            #expect(try OTLPProtobuf.decodeLogsResponse(protobuf) == expected)
            #expect(try OTLPJSON.decodeLogsResponse(json) == expected)
            _ = try? OTLPProtobuf.decodeLogsResponse(PushFuzzTests.mutate(protobuf, random: &random))
            _ = try? OTLPJSON.decodeLogsResponse(PushFuzzTests.mutate(json, random: &random))
        }
    }

    @Test func deepAndWideInputsFailFast() {
        // Nesting far past the limit, in values and in unknown fields, and groups nested past theirs.
        let openArrays = Array(String(repeating: #"{"arrayValue":{"values":["#, count: 200_000).utf8)
        let recordStart = Array(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":"#.utf8)
        #expect(Self.decodeJSON(recordStart + openArrays) == nil)
        let unknown = Array((#"{"x":"# + String(repeating: "[", count: 300_000)).utf8)
        #expect(Self.decodeJSON(unknown) == nil)
        var groups = PushProtoBuilder()
        for _ in 0..<100_000 { groups.tag(99, 3) }
        #expect(Self.decodeProtobuf(groups.bytes) == nil)
        #expect(Self.decodeProtobuf(OTLPProtobufTests.nestedValues(100_000)) == nil)
        // A length prefix claiming more than there is.
        #expect(Self.decodeProtobuf([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) == nil)
    }
}
