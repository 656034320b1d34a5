import Logging
import Wire

/// Carries gossip between members: the agent sends it over its own HTTP server (`POST /api/v0/cluster/gossip`).
public protocol GossipTransport: Sendable {
    /// Sends `message` to the member at `address` (host:port) and returns the bytes it answered with.
    func exchange(_ message: [UInt8], with address: String, timeout: Duration) async throws -> [UInt8]
}

/// Turns `--cluster.join-addresses` into addresses to contact (DNS names are looked up on every call).
public protocol JoinAddressResolver: Sendable {
    func resolve(_ joinAddresses: [String]) async -> [String]
}

/// Where the node reports what it does, for metrics.
public protocol ClusterEventSink: Sendable {
    /// A gossip message of `bytes` was sent; `failed` when no answer came back.
    func sent(bytes: Int, failed: Bool)
    /// A gossip message of `bytes` arrived (a request or an answer).
    func received(bytes: Int)
    /// ckit's gossip event names: `merge_remote_state`, `node_join`, `node_leave`, `node_update`, `node_conflict`.
    func event(_ name: String, count: Int)
    /// After every round and message: the peers, the local state, the Lamport time, and how many `updates()`
    /// streams are open.
    func changed(_ snapshot: ClusterMembership.Snapshot, localState: GossipMember.State, lamportTime: UInt64,
                 observers: Int)
}

public struct ClusterConfiguration: Sendable {
    public var nodeName: String
    /// host:port other members reach this node's HTTP server at.
    public var advertiseAddress: String
    /// Members of another cluster name refuse our gossip, and we theirs.
    public var clusterName = ""
    public var joinAddresses: [String] = []
    /// How often the join addresses are contacted again (0: only at start and while alone).
    public var rejoinInterval: Duration = .seconds(60)
    public var maxJoinPeers = 5
    public var waitForSize = 0
    /// Zero waits for `waitForSize` forever.
    public var waitTimeout: Duration = .zero
    public var gossipInterval: Duration = .seconds(1)
    /// A member whose record has not advanced for this long is failed (so detection takes at most this plus one
    /// gossip round or two).
    public var failureTimeout: Duration = .seconds(5)
    /// Members contacted each round.
    public var fanout = 3
    public var exchangeTimeout: Duration = .seconds(2)

    public init(nodeName: String, advertiseAddress: String) {
        self.nodeName = nodeName
        self.advertiseAddress = advertiseAddress
    }
}

/// Why an incoming gossip message was refused: the HTTP handler answers 400 (bad bytes) or 403 (another cluster).
public enum GossipRefusal: Error, Sendable, CustomStringConvertible {
    case malformed(String)
    case otherCluster(theirs: String, ours: String)

    public var description: String {
        switch self {
        case .malformed(let reason): reason
        case .otherCluster(let theirs, let ours):
            "gossip from cluster \"\(theirs)\" refused: this node is in cluster \"\(ours)\" (--cluster.name)"
        }
    }
}

/// One member of an agent cluster: joins through the join addresses, gossips its member list with a few members
/// every round, detects failed members by their stalled heartbeats, and publishes the peers and ring to
/// `membership`. States go viewer → participant (after the first join attempt) → terminating (`leave()`).
public actor ClusterNode {
    public nonisolated let membership: ClusterMembership
    public nonisolated let configuration: ClusterConfiguration
    private var advertiseAddress: String
    private let transport: any GossipTransport
    private let resolver: any JoinAddressResolver
    private let events: (any ClusterEventSink)?
    private let logger: Logger
    private let clock = ContinuousClock()
    private var table: MemberTable
    private var lamportTime: UInt64 = 0
    private var belowSizeSince: ContinuousClock.Instant
    private var readyBySize = false

    public init(configuration: ClusterConfiguration, incarnation: UInt64, transport: any GossipTransport,
                resolver: any JoinAddressResolver, events: (any ClusterEventSink)? = nil, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.resolver = resolver
        self.events = events
        self.logger = logger
        advertiseAddress = configuration.advertiseAddress
        let local = GossipMember(name: configuration.nodeName, address: configuration.advertiseAddress,
                                 state: .viewer, incarnation: incarnation, sequence: 1)
        table = MemberTable(local: local, failureTimeout: configuration.failureTimeout)
        belowSizeSince = clock.now
        membership = ClusterMembership(snapshot: .init(
            enabled: true, selfName: configuration.nodeName,
            peers: [Peer(name: configuration.nodeName, address: configuration.advertiseAddress, isSelf: true,
                         state: .viewer)],
            ring: HashRing(members: []), ready: configuration.waitForSize <= 1))
    }

    /// Sets the address to advertise, before `run()`: an agent listening on port 0 knows its port only once its
    /// HTTP server is up.
    public func advertise(_ address: String) {
        advertiseAddress = address
        table.setLocalAddress(address)
    }

    /// Joins, becomes a participant, then gossips every `gossipInterval` until the task is cancelled.
    public func run() async {
        publish()
        await join()
        if table.setLocalState(.participant) { lamportTime += 1 }
        publish()
        var lastJoin = clock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.gossipInterval) } catch { break }
            table.heartbeat()
            apply(table.expire(now: clock.now))
            await gossipRound()
            let alone = table.remote.isEmpty && !configuration.joinAddresses.isEmpty
            let rejoinDue = configuration.rejoinInterval > .zero
                && clock.now - lastJoin >= configuration.rejoinInterval
            if alone || rejoinDue {
                await join()
                lastJoin = clock.now
            }
            publish()
        }
    }

    /// Takes in a member's gossip and answers with this node's view.
    public func handle(_ bytes: [UInt8]) throws(GossipRefusal) -> [UInt8] {
        events?.received(bytes: bytes.count)
        let message: GossipMessage
        do {
            message = try GossipMessage(protobuf: bytes)
        } catch {
            throw .malformed(error.description)
        }
        guard message.clusterName == configuration.clusterName else {
            throw .otherCluster(theirs: message.clusterName, ours: configuration.clusterName)
        }
        absorb(message)
        publish()
        return outgoing().encode()
    }

    /// Announces `terminating` to every live member (so they move its keys at once) and waits for their answers,
    /// each for at most `exchangeTimeout`.
    public func leave() async {
        guard table.setLocalState(.terminating) else { return }
        lamportTime += 1
        publish()
        let addresses = table.remote.values.map(\.record.address)
        await exchange(with: addresses)
        logger.info("left the cluster", metadata: ["peers_told": "\(addresses.count)"])
    }

    // MARK: Rounds

    private func gossipRound() async {
        let candidates = table.remote.values.map(\.record.address).shuffled()
        await exchange(with: Array(candidates.prefix(configuration.fanout)))
    }

    private func join() async {
        let resolved = await resolver.resolve(configuration.joinAddresses)
            .filter { $0 != advertiseAddress }
        guard !resolved.isEmpty else { return }
        let chosen = Array(Set(resolved).shuffled().prefix(max(configuration.maxJoinPeers, 1)))
        await exchange(with: chosen)
        logger.debug("joined through join addresses",
                     metadata: ["contacted": "\(chosen.joined(separator: ","))", "peers": "\(table.remote.count)"])
    }

    /// Sends this node's view to each address concurrently and merges the answers.
    private func exchange(with addresses: [String]) async {
        guard !addresses.isEmpty else { return }
        let bytes = outgoing().encode()
        let transport = self.transport
        let timeout = configuration.exchangeTimeout
        let events = self.events
        let answers = await withTaskGroup(of: (String, Result<[UInt8], any Error>).self) { group in
            for address in addresses {
                group.addTask {
                    do {
                        return (address, .success(try await transport.exchange(bytes, with: address, timeout: timeout)))
                    } catch {
                        return (address, .failure(error))
                    }
                }
            }
            var answers: [(String, Result<[UInt8], any Error>)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        for (address, answer) in answers {
            switch answer {
            case .success(let reply):
                events?.sent(bytes: bytes.count, failed: false)
                events?.received(bytes: reply.count)
                do {
                    let message = try GossipMessage(protobuf: reply)
                    guard message.clusterName == configuration.clusterName else {
                        logger.warning("peer is in another cluster", metadata: [
                            "peer": "\(address)", "their_cluster": "\(message.clusterName)"])
                        continue
                    }
                    absorb(message)
                } catch {
                    logger.warning("bad gossip answer", metadata: ["peer": "\(address)", "error": "\(error)"])
                }
            case .failure(let error):
                events?.sent(bytes: bytes.count, failed: true)
                logger.debug("gossip failed", metadata: ["peer": "\(address)", "error": "\(error)"])
            }
        }
        publish()
    }

    private func outgoing() -> GossipMessage {
        GossipMessage(clusterName: configuration.clusterName, sender: configuration.nodeName,
                      lamportTime: lamportTime, members: table.records(now: clock.now))
    }

    private func absorb(_ message: GossipMessage) {
        events?.event("merge_remote_state", count: 1)
        let changes = table.merge(message.members, now: clock.now)
        if changes.changesPeers || message.lamportTime > lamportTime {
            lamportTime = max(lamportTime, message.lamportTime) + 1
        }
        apply(changes)
    }

    private func apply(_ changes: MemberTable.Changes) {
        if !changes.joined.isEmpty {
            events?.event("node_join", count: changes.joined.count)
            logger.info("peers joined", metadata: ["peers": "\(changes.joined.sorted().joined(separator: ","))"])
        }
        if !changes.updated.isEmpty { events?.event("node_update", count: changes.updated.count) }
        if !changes.failed.isEmpty {
            events?.event("node_leave", count: changes.failed.count)
            logger.info("peers left or failed", metadata: ["peers": "\(changes.failed.joined(separator: ","))"])
        }
        if !changes.conflicts.isEmpty {
            events?.event("node_conflict", count: changes.conflicts.count)
            logger.warning("another node gossips with this node's name", metadata: ["name": "\(configuration.nodeName)"])
        }
        if changes.changesPeers { lamportTime += 1 }
    }

    private func publish() {
        let peers = table.peers
        let now = clock.now
        if peers.count >= configuration.waitForSize {
            readyBySize = true
        } else if readyBySize {
            readyBySize = false
            belowSizeSince = now
        }
        let timedOut = configuration.waitTimeout > .zero && now - belowSizeSince >= configuration.waitTimeout
        let ready = readyBySize || timedOut
        // The ring follows from the peers: it is built again only when they (or readiness) changed, not for every
        // message.
        let current = membership.snapshot
        if current.peers != peers || current.ready != ready {
            membership.publish(ClusterMembership.Snapshot(
                enabled: true, selfName: configuration.nodeName, peers: peers,
                ring: HashRing(members: table.participants), ready: ready))
        }
        events?.changed(membership.snapshot, localState: table.local.state, lamportTime: lamportTime,
                        observers: membership.observerCount)
    }

    /// Stops observers (the agent is shutting down).
    public func finish() {
        membership.finish()
    }
}
