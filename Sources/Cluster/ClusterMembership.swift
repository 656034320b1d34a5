import Synchronization

/// What components see of the cluster: the members, the ring of participants, and whether work may start. One
/// instance per agent; without clustering it holds only the local node, which then owns every key (a standalone
/// agent behaves as a one-member cluster, as in Alloy).
public final class ClusterMembership: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var enabled: Bool
        public var selfName: String
        public var peers: [Peer]
        public var ring: HashRing
        /// False while `--cluster.wait-for-size` members are not there yet (and its timeout has not passed):
        /// clustered components then own nothing, and `/-/ready` says not ready.
        public var ready: Bool

        /// Whether the local node should handle `key`. Without clustering every key is its own; with clustering,
        /// a key is owned by one participant, so a viewer (a node still joining) and a terminating node own none.
        public func owns(_ key: UInt64) -> Bool {
            guard enabled else { return true }
            guard ready, let owner = ring.owner(of: key) else { return false }
            return owner == selfName
        }
    }

    private struct State {
        var snapshot: Snapshot
        var observers: [Int: AsyncStream<Snapshot>.Continuation] = [:]
        var nextObserver = 0
    }

    private let state: Mutex<State>

    /// The view of a standalone agent: itself, a participant, ready.
    public init(standaloneName name: String, address: String) {
        state = Mutex(State(snapshot: Snapshot(
            enabled: false, selfName: name,
            peers: [Peer(name: name, address: address, isSelf: true, state: .participant)],
            ring: HashRing(members: [name]), ready: true)))
    }

    init(snapshot: Snapshot) {
        state = Mutex(State(snapshot: snapshot))
    }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    public func owns(_ key: UInt64) -> Bool { snapshot.owns(key) }

    /// Number of live `updates()` streams (`cluster_node_update_observers`).
    public var observerCount: Int { state.withLock { $0.observers.count } }

    /// The current snapshot, then every change of peers, ring or readiness, until the caller stops iterating. A slow
    /// observer only misses intermediate snapshots: it always gets the newest.
    public func updates() -> AsyncStream<Snapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: Snapshot.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextObserver
            state.nextObserver += 1
            state.observers[id] = continuation
            continuation.yield(state.snapshot)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.observers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Publishes a new snapshot when it differs from the current one; returns whether it did.
    @discardableResult
    func publish(_ snapshot: Snapshot) -> Bool {
        state.withLock { state in
            guard state.snapshot != snapshot else { return false }
            state.snapshot = snapshot
            for continuation in state.observers.values { continuation.yield(snapshot) }
            return true
        }
    }

    /// Ends every observer's stream (at shutdown).
    func finish() {
        let observers = state.withLock { state in
            defer { state.observers = [:] }
            return Array(state.observers.values)
        }
        for continuation in observers { continuation.finish() }
    }
}

extension ClusterMembership {
    /// A standalone agent's view, for components created without an agent cluster (tests, embedded graphs).
    public static let standalone = ClusterMembership(standaloneName: "local", address: "")
}
