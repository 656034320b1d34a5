/// A consistent-hash ring: each member owns many tokens on a 32-bit circle; a key belongs to the members
/// owning the first tokens at or after its hash.
///
/// Meant for placing streams on ingesters (with a replication factor) and for sharing work among agent gateways;
/// neither uses it yet. The ring is a value: members compute the same ring from the same member list, so nothing
/// has to be agreed over the network.
public struct HashRing: Sendable, Equatable {
    public struct Token: Sendable, Equatable {
        public let value: UInt32
        public let member: Int
    }

    public let members: [String]
    public let tokens: [Token]

    /// A ring of `members` with `tokensPerMember` tokens each, derived from the member names.
    public init(members: [String], tokensPerMember: Int = 128) {
        let sortedMembers = Array(Set(members)).sorted()
        var tokens: [Token] = []
        tokens.reserveCapacity(sortedMembers.count * tokensPerMember)
        for (index, member) in sortedMembers.enumerated() {
            var seed = Self.fnv1a(Array(member.utf8))
            for _ in 0..<tokensPerMember {
                seed = Self.splitmix(seed)
                tokens.append(Token(value: UInt32(truncatingIfNeeded: seed >> 32), member: index))
            }
        }
        tokens.sort { $0.value != $1.value ? $0.value < $1.value : $0.member < $1.member }
        self.members = sortedMembers
        self.tokens = tokens
    }

    /// The distinct members responsible for `key`, primary first; fewer than `replicationFactor` when the ring
    /// has fewer members.
    public func owners(of key: UInt32, replicationFactor: Int) -> [String] {
        guard !tokens.isEmpty, replicationFactor > 0 else { return [] }
        var low = 0
        var high = tokens.count
        while low < high {
            let mid = (low + high) / 2
            if tokens[mid].value < key { low = mid + 1 } else { high = mid }
        }
        var result: [Int] = []
        let wanted = min(replicationFactor, members.count)
        var i = low
        while result.count < wanted {
            let member = tokens[i % tokens.count].member
            if !result.contains(member) { result.append(member) }
            i += 1
        }
        return result.map { members[$0] }
    }

    /// A quorum of `replicationFactor` writes: more than half.
    public static func quorum(replicationFactor: Int) -> Int {
        replicationFactor / 2 + 1
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    static func splitmix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
