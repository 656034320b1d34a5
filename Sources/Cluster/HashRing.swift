/// A consistent-hash ring: each member owns many tokens on a 64-bit circle; a key belongs to the members owning the
/// first tokens at or after its hash (wrapping around).
///
/// The agent cluster uses it as Alloy does (ckit's ring: 512 tokens per participant, the owner of a target is the
/// first member after the hash of its labels). The ring is a value: members compute the same ring from the same
/// member list, so nothing has to be agreed over the network.
public struct HashRing: Sendable, Equatable {
    /// Tokens per member in the agent cluster, as Alloy's `shard.Ring(512)`.
    public static let defaultTokensPerMember = 512

    public struct Token: Sendable, Equatable {
        public let value: UInt64
        public let member: Int
    }

    /// Sorted member names; `Token.member` indexes this list.
    public let members: [String]
    /// Sorted by value; equal values by member, so the same list gives the same order everywhere.
    public let tokens: [Token]

    /// A ring of `members` with `tokensPerMember` tokens each, derived from the member names alone.
    public init(members: [String], tokensPerMember: Int = HashRing.defaultTokensPerMember) {
        let sortedMembers = Array(Set(members)).sorted()
        var tokens: [Token] = []
        tokens.reserveCapacity(sortedMembers.count * tokensPerMember)
        for (index, member) in sortedMembers.enumerated() {
            var seed = ClusterHash.fnv1a(member.utf8)
            for _ in 0..<tokensPerMember {
                seed = ClusterHash.splitmix(seed)
                tokens.append(Token(value: seed, member: index))
            }
        }
        tokens.sort { $0.value != $1.value ? $0.value < $1.value : $0.member < $1.member }
        self.members = sortedMembers
        self.tokens = tokens
    }

    public var isEmpty: Bool { members.isEmpty }

    /// The member responsible for `key`, or nil when the ring has no members.
    public func owner(of key: UInt64) -> String? {
        guard !tokens.isEmpty else { return nil }
        return members[tokens[firstTokenIndex(atOrAfter: key) % tokens.count].member]
    }

    /// The distinct members responsible for `key`, primary first; fewer than `replicationFactor` when the ring
    /// has fewer members.
    public func owners(of key: UInt64, replicationFactor: Int) -> [String] {
        guard !tokens.isEmpty, replicationFactor > 0 else { return [] }
        var result: [Int] = []
        let wanted = min(replicationFactor, members.count)
        var i = firstTokenIndex(atOrAfter: key)
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

    private func firstTokenIndex(atOrAfter key: UInt64) -> Int {
        var low = 0
        var high = tokens.count
        while low < high {
            let mid = (low + high) / 2
            if tokens[mid].value < key { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// The 64-bit hashes the cluster places keys and tokens with. Every member must compute the same values, so these
/// never change between versions that may run in one cluster.
public enum ClusterHash {
    /// The key of a label set (a target's labels without the `__`-prefixed ones, as Alloy shards by its non-meta
    /// labels): independent of the order of `labels`.
    public static func key(labels: some Sequence<(name: String, value: String)>) -> UInt64 {
        var hash = fnvOffset
        for (name, value) in labels.sorted(by: { $0.name < $1.name }) {
            hash = fnv1a(name.utf8, from: hash)
            hash = (hash ^ 0xff) &* fnvPrime
            hash = fnv1a(value.utf8, from: hash)
            hash = (hash ^ 0xff) &* fnvPrime
        }
        return splitmix(hash)   // FNV's low bits are weak; mixing spreads keys evenly over the ring
    }

    /// The key of a string (a stream, a service name).
    public static func key(_ string: String) -> UInt64 {
        splitmix(fnv1a(string.utf8))
    }

    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x100_0000_01b3

    static func fnv1a(_ bytes: some Sequence<UInt8>, from start: UInt64 = fnvOffset) -> UInt64 {
        var hash = start
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= fnvPrime
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
