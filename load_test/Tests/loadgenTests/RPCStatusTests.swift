import Testing

@testable import loadgen
import Wire

@Suite struct RPCStatusTests {
    /// `google.rpc.Status{code: 14, message: "busy"}` as the agent's OTLP receiver writes it.
    private static let busy: [UInt8] = [0x08, 0x0E, 0x12, 0x04] + Array("busy".utf8)

    @Test func readsCodeAndMessage() {
        #expect(RPCStatus(protobuf: Self.busy) == RPCStatus(code: 14, message: "busy"))
        #expect(RPCStatus(protobuf: []) == RPCStatus(code: 0, message: ""))
        // Unknown fields of every wire type are skipped; `details` (field 3) too.
        let withExtras = Self.busy + [0x1A, 0x02, 0x0A, 0x00, 0x21] + [UInt8](repeating: 1, count: 8)
            + [0x2D, 1, 2, 3, 4, 0x30, 0x96, 0x01]
        #expect(RPCStatus(protobuf: withExtras) == RPCStatus(code: 14, message: "busy"))
        #expect(SendOutcome.errorText(Self.busy, contentType: "application/x-protobuf") == "code 14: busy")
        #expect(SendOutcome.errorText(Array("plain words".utf8), contentType: "text/plain") == "plain words")
    }

    @Test func rejectsBrokenMessages() {
        #expect(RPCStatus(protobuf: Array(Self.busy.dropLast())) == nil)  // string cut short
        #expect(RPCStatus(protobuf: [0x08]) == nil)  // varint missing
        #expect(RPCStatus(protobuf: [0x08] + [UInt8](repeating: 0xFF, count: 11)) == nil)  // varint too long
        #expect(RPCStatus(protobuf: [0x0B]) == nil)  // wire type 3 (group)
        #expect(RPCStatus(protobuf: [0x00]) == nil)  // field 0
        #expect(RPCStatus(protobuf: [0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) == nil)  // length past the end
    }

    @Test func randomAndMutatedBytesNeverCrash() {
        var random = SplitMix64(seed: 2026)
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<random.next(below: 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = Self.busy
                for _ in 0...random.next(below: 3) {
                    bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                }
                bytes = Array(bytes.prefix(random.next(below: bytes.count + 1)))
            }
            if let status = RPCStatus(protobuf: bytes) {
                // Invalid UTF-8 reads as U+FFFD, one scalar per bad byte at most.
                #expect(status.message.unicodeScalars.count <= bytes.count)
            }
        }
    }
}
