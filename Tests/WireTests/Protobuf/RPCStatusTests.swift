import TestSupport
import Testing
import Wire

@Suite("google.rpc.Status")
struct RPCStatusTests {
    @Test func encodesCodeAndMessageAsProto3Does() {
        #expect(RPCStatus(code: 14, message: "busy").encode() == [0x08, 0x0E, 0x12, 0x04] + Array("busy".utf8))
        #expect(RPCStatus(code: 0, message: "fine").encode() == [0x12, 0x04] + Array("fine".utf8))
        #expect(RPCStatus(code: 3, message: "").encode() == [0x08, 0x03])
        #expect(RPCStatus(code: 0, message: "").encode() == [])
        // A negative int32 is sign-extended to 64 bits, as protobuf writes it.
        #expect(RPCStatus(code: -1, message: "").encode() == [0x08] + Array(repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func decodesCodeAndMessageAndSkipsDetails() {
        let body: [UInt8] = [0x08, 0x0E, 0x12, 0x04] + Array("busy".utf8) + [0x1A, 0x02, 0x0A, 0x00]
        #expect(RPCStatus(protobuf: body) == RPCStatus(code: 14, message: "busy"))
        #expect(RPCStatus(protobuf: []) == RPCStatus(code: 0, message: ""))
        // Unknown fields of every wire type, a group included, are skipped; the last message wins.
        let unknown: [UInt8] = [0x12, 0x01, 0x61, 0x28, 0x01, 0x31] + Array(repeating: 0, count: 8)
            + [0x3D, 0, 0, 0, 0, 0x43, 0x08, 0x01, 0x44, 0x12, 0x01, 0x62]
        #expect(RPCStatus(protobuf: unknown) == RPCStatus(code: 0, message: "b"))
    }

    @Test func readsLeniently() {
        // A message that is not UTF-8 is repaired rather than refused: it is only shown.
        #expect(RPCStatus(protobuf: [0x12, 0x02, 0x61, 0xFF]) == RPCStatus(code: 0, message: "a\u{FFFD}"))
        // `code` or `message` with another wire type is skipped like an unknown field.
        #expect(RPCStatus(protobuf: [0x0A, 0x01, 0x07, 0x10, 0x05]) == RPCStatus(code: 0, message: ""))
    }

    @Test(arguments: [
        [0x12, 0x10, 0x41],                                             // message longer than the body
        [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],   // varint longer than 10 bytes
        [0x80],                                                         // truncated tag
        [0x02, 0x00],                                                   // field number 0
        [0x0F],                                                         // wire type 7
        [0x1B, 0x08, 0x01],                                             // unterminated group
    ] as [[UInt8]])
    func malformedBytesAreNoStatus(_ bytes: [UInt8]) {
        #expect(RPCStatus(protobuf: bytes) == nil)
    }

    @Test func randomStatusesRoundTrip() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x5747_0001))
        for _ in 0..<FuzzBudget.scaled(1_000) {
            let code = random.chance(20) ? Int32(truncatingIfNeeded: random.next()) : Int32(random.int(0...16))
            let status = RPCStatus(code: code, message: random.unicodeString(maxScalars: 40))
            #expect(RPCStatus(protobuf: status.encode()) == status)
        }
    }

    /// Untrusted bytes only ever decode or read as no status; what decodes re-encodes to the same status.
    @Test func randomAndMutatedBytesNeverTrap() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x5747_0002))
        for iteration in 0..<FuzzBudget.scaled(3_000) {
            let bytes = iteration % 2 == 0
                ? random.bytes(random.int(0...40))
                : PushFuzzTests.mutate(RPCStatus(code: 14, message: "try again later").encode(), random: &random)
            if let status = RPCStatus(protobuf: bytes) {
                let reencoded = RPCStatus(protobuf: status.encode())
                #expect(reencoded == status)
            }
        }
    }
}
