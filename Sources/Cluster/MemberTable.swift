import Wire

/// A member of the cluster as the API shows it (ckit's `peer.Peer`).
public struct Peer: Sendable, Equatable {
    public var name: String
    public var address: String
    public var isSelf: Bool
    public var state: GossipMember.State

    public init(name: String, address: String, isSelf: Bool, state: GossipMember.State) {
        self.name = name
        self.address = address
        self.isSelf = isSelf
        self.state = state
    }
}

/// One member's view of the cluster: its own record, the records of the members it believes alive, and tombstones of
/// the ones it declared failed (so a stale record gossiped by a slower member cannot bring them back).
///
/// Failure detection is local and needs no agreement: every member bumps its own `sequence` each gossip round; a
/// record that has not advanced for `failureTimeout` (counting the age the sender reported) is failed. All members
/// see the same records stop advancing, so their lists converge without a consensus protocol. A value type driven by
/// explicit times, so it is tested without clocks.
public struct MemberTable: Sendable {
    public struct Remote: Sendable, Equatable {
        public var record: GossipMember
        /// When this member last saw (or was told of) the record advancing.
        public var lastAdvanced: ContinuousClock.Instant
    }

    /// What a merge or expiry changed, for logs and metrics.
    public struct Changes: Sendable, Equatable {
        public var joined: [String] = []
        public var updated: [String] = []
        public var failed: [String] = []
        /// Records claiming this member's own name with a newer incarnation: another process runs with our name.
        public var conflicts: [String] = []

        public var changesPeers: Bool { !joined.isEmpty || !updated.isEmpty || !failed.isEmpty }
    }

    public private(set) var local: GossipMember
    public private(set) var remote: [String: Remote] = [:]
    private var tombstones: [String: (record: GossipMember, until: ContinuousClock.Instant)] = [:]
    public let failureTimeout: Duration
    public let tombstoneTimeout: Duration

    public init(local: GossipMember, failureTimeout: Duration, tombstoneTimeout: Duration = .seconds(60)) {
        self.local = local
        self.failureTimeout = failureTimeout
        self.tombstoneTimeout = tombstoneTimeout
    }

    /// Self first, then the live members by name.
    public var peers: [Peer] {
        [Peer(name: local.name, address: local.address, isSelf: true, state: local.state)]
            + remote.values.sorted { $0.record.name < $1.record.name }.map {
                Peer(name: $0.record.name, address: $0.record.address, isSelf: false, state: $0.record.state)
            }
    }

    /// Names of the members that own keys: the participants, self included when it is one.
    public var participants: [String] {
        peers.filter { $0.state == .participant }.map(\.name)
    }

    /// Sets the address the local member advertises (before it first gossips: the HTTP port is known only once
    /// the server listens).
    public mutating func setLocalAddress(_ address: String) {
        guard local.address != address else { return }
        local.address = address
        local.sequence &+= 1
    }

    /// One gossip round passed: the local record advances, which is what tells the others this member is alive.
    public mutating func heartbeat() {
        local.sequence &+= 1
    }

    /// Changes the local state; returns whether it changed.
    @discardableResult
    public mutating func setLocalState(_ state: GossipMember.State) -> Bool {
        guard local.state != state else { return false }
        local.state = state
        local.sequence &+= 1
        return true
    }

    /// The records to send: self, then every live member with the age of its last advance.
    public func records(now: ContinuousClock.Instant) -> [GossipMember] {
        var records = [local]
        for entry in remote.values.sorted(by: { $0.record.name < $1.record.name }) {
            var record = entry.record
            record.ageMilliseconds = Self.milliseconds(now - entry.lastAdvanced)
            records.append(record)
        }
        return records
    }

    /// Takes in another member's view.
    public mutating func merge(_ records: [GossipMember], now: ContinuousClock.Instant) -> Changes {
        var changes = Changes()
        for record in records {
            if record.name == local.name {
                if record.supersedes(local) && record.address != local.address { changes.conflicts.append(record.name) }
                continue
            }
            let advanced = now - .milliseconds(Int64(clamping: record.ageMilliseconds))
            if let tombstone = tombstones[record.name] {
                // A failed member comes back only with a record it wrote after the one that stopped, and only if
                // that record is itself fresh.
                guard record.supersedes(tombstone.record), now - advanced < failureTimeout else { continue }
                tombstones[record.name] = nil
            }
            if var entry = remote[record.name] {
                guard record.supersedes(entry.record) else { continue }
                let visible = entry.record.state != record.state || entry.record.address != record.address
                    || entry.record.incarnation != record.incarnation
                entry.record = record
                entry.record.ageMilliseconds = 0
                entry.lastAdvanced = max(entry.lastAdvanced, advanced)
                remote[record.name] = entry
                if visible { changes.updated.append(record.name) }
            } else {
                guard now - advanced < failureTimeout else { continue }
                var fresh = record
                fresh.ageMilliseconds = 0
                remote[record.name] = Remote(record: fresh, lastAdvanced: advanced)
                changes.joined.append(record.name)
            }
        }
        return changes
    }

    /// Declares failed the members whose records stopped advancing, and forgets old tombstones.
    public mutating func expire(now: ContinuousClock.Instant) -> Changes {
        var changes = Changes()
        for (name, entry) in remote where now - entry.lastAdvanced >= failureTimeout {
            remote[name] = nil
            tombstones[name] = (entry.record, now + tombstoneTimeout)
            changes.failed.append(name)
        }
        tombstones = tombstones.filter { $0.value.until > now }
        changes.failed.sort()
        return changes
    }

    static func milliseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000 + UInt64(attoseconds / 1_000_000_000_000_000)
    }
}
