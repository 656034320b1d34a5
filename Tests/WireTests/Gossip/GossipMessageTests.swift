import Testing
import TestSupport
@testable import Wire

@Suite struct GossipMessageTests {
    static func randomMessage(_ random: inout SeededRandom) -> GossipMessage {
        let members = (0..<random.int(0...6)).map { _ in
            GossipMember(
                name: "n" + random.unicodeString(maxScalars: 8), address: random.unicodeString(maxScalars: 20),
                state: GossipMember.State.allCases[random.int(0...2)],
                incarnation: random.chance(5) ? 0 : random.next(), sequence: random.next() >> random.int(0...63),
                ageMilliseconds: random.chance(50) ? 0 : UInt64(random.int(0...100_000)))
        }
        return GossipMessage(clusterName: random.unicodeString(maxScalars: 10), sender: random.unicodeString(maxScalars: 10),
                             lamportTime: random.next() >> random.int(0...63), members: members)
    }

    @Test func randomMessagesRoundTrip() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x6055_0001))
        for _ in 0..<FuzzBudget.scaled(1_000) {
            let message = Self.randomMessage(&random)
            #expect(try GossipMessage(protobuf: message.encode()) == message)
        }
    }

    @Test func refusesWhatIsNotAMemberList() {
        // A member without a name, an unknown state, a truncated field, a string that is not UTF-8.
        let noName = GossipMessage(clusterName: "", sender: "a", lamportTime: 1, members: [
            GossipMember(name: "", address: "x:1", state: .viewer, incarnation: 1, sequence: 1)])
        #expect(throws: GossipDecodeError.self) { try GossipMessage(protobuf: noName.encode()) }
        #expect(throws: GossipDecodeError.self) { try GossipMessage(protobuf: [0x22, 0x04, 0x0a, 0x01, 0x61, 0x18]) }
        #expect(throws: GossipDecodeError.self) { try GossipMessage(protobuf: [0x22, 0x05, 0x0a, 0x01, 0x61, 0x18, 0x07]) }
        #expect(throws: GossipDecodeError.self) { try GossipMessage(protobuf: [0x12, 0x02, 0xff, 0xfe]) }
        #expect(throws: GossipDecodeError.self) { try GossipMessage(protobuf: [0x0a, 0x09, 0x61]) }
    }

    /// Untrusted bytes decode or throw, never trap; whatever decodes re-encodes to the same message.
    @Test func randomAndMutatedBytesNeverTrap() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x6055_0002))
        for iteration in 0..<FuzzBudget.scaled(3_000) {
            let bytes = iteration % 2 == 0
                ? random.bytes(random.int(0...60))
                : PushFuzzTests.mutate(Self.randomMessage(&random).encode(), random: &random)
            if let message = try? GossipMessage(protobuf: bytes) {
                #expect(try GossipMessage(protobuf: message.encode()) == message)
            }
        }
    }
}
