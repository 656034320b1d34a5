import Testing
@testable import Cluster

@Suite struct HashRingTests {
    @Test func ownersAreDistinctAndStable() {
        let ring = HashRing(members: ["a", "b", "c"])
        for key in stride(from: UInt32(0), to: UInt32.max - 1_000_000, by: 97_000_003) {
            let owners = ring.owners(of: key, replicationFactor: 3)
            #expect(Set(owners).count == 3)
            #expect(owners == HashRing(members: ["c", "a", "b"]).owners(of: key, replicationFactor: 3))
        }
    }

    @Test func replicationFactorIsCappedByMembers() {
        #expect(HashRing(members: ["only"]).owners(of: 42, replicationFactor: 3) == ["only"])
        #expect(HashRing(members: []).owners(of: 42, replicationFactor: 3).isEmpty)
    }

    @Test func keysSpreadEvenlyAndMoveLittleWhenAMemberJoins() {
        let before = HashRing(members: ["a", "b", "c", "d"])
        let after = HashRing(members: ["a", "b", "c", "d", "e"])
        var counts: [String: Int] = [:]
        var moved = 0
        let keys = 20_000
        var x: UInt64 = 1
        for _ in 0..<keys {
            x = HashRing.splitmix(x)
            let key = UInt32(truncatingIfNeeded: x)
            let owner = before.owners(of: key, replicationFactor: 1)[0]
            counts[owner, default: 0] += 1
            if after.owners(of: key, replicationFactor: 1)[0] != owner { moved += 1 }
        }
        for (_, count) in counts { #expect(count > keys / 4 * 7 / 10 && count < keys / 4 * 13 / 10) }
        // Ideal movement is 1/5 of the keys; allow slack for token placement.
        #expect(moved < keys * 3 / 10)
    }

    @Test func quorum() {
        #expect(HashRing.quorum(replicationFactor: 1) == 1)
        #expect(HashRing.quorum(replicationFactor: 3) == 2)
    }
}
