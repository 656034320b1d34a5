import Testing
@testable import Cluster

@Suite struct HashRingTests {
    @Test func ownersAreDistinctAndStable() {
        let ring = HashRing(members: ["a", "b", "c"])
        var key: UInt64 = 1
        for _ in 0..<2_000 {
            key = ClusterHash.splitmix(key)
            let owners = ring.owners(of: key, replicationFactor: 3)
            #expect(Set(owners).count == 3)
            #expect(owners == HashRing(members: ["c", "a", "b"]).owners(of: key, replicationFactor: 3))
            #expect(ring.owner(of: key) == owners[0])
        }
    }

    @Test func replicationFactorIsCappedByMembers() {
        #expect(HashRing(members: ["only"]).owners(of: 42, replicationFactor: 3) == ["only"])
        #expect(HashRing(members: []).owners(of: 42, replicationFactor: 3).isEmpty)
        #expect(HashRing(members: []).owner(of: 42) == nil)
        #expect(HashRing(members: ["a", "b"]).tokens.count == 2 * HashRing.defaultTokensPerMember)
    }

    /// With 512 tokens per member, as Alloy's ring, keys spread within a few percent of even, and a member joining
    /// takes only its share of keys, each from one previous owner.
    @Test func keysSpreadEvenlyAndMoveLittleWhenAMemberJoins() {
        let before = HashRing(members: ["a", "b", "c", "d"])
        let after = HashRing(members: ["a", "b", "c", "d", "e"])
        var counts: [String: Int] = [:]
        var moved = 0
        let keys = 40_000
        for i in 0..<keys {
            let key = ClusterHash.key(labels: [(name: "pod", value: "pod-\(i)"), (name: "namespace", value: "ns")])
            let owner = before.owner(of: key)!
            counts[owner, default: 0] += 1
            let newOwner = after.owner(of: key)!
            if newOwner != owner {
                moved += 1
                #expect(newOwner == "e", "a key moved between members that stayed")
            }
        }
        for (_, count) in counts { #expect(count > keys / 4 * 85 / 100 && count < keys / 4 * 115 / 100) }
        #expect(moved > keys / 5 * 80 / 100 && moved < keys / 5 * 120 / 100)
    }

    @Test func labelKeysIgnoreOrderButNotContent() {
        let one = ClusterHash.key(labels: [(name: "a", value: "1"), (name: "b", value: "2")])
        #expect(one == ClusterHash.key(labels: [(name: "b", value: "2"), (name: "a", value: "1")]))
        #expect(one != ClusterHash.key(labels: [(name: "a", value: "12"), (name: "b", value: "")]))
        #expect(one != ClusterHash.key(labels: [(name: "a", value: "1")]))
    }

    @Test func quorum() {
        #expect(HashRing.quorum(replicationFactor: 1) == 1)
        #expect(HashRing.quorum(replicationFactor: 3) == 2)
    }
}
