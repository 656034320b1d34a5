import Logging
import Synchronization
import Testing
import TestSupport
import Wire
@testable import Cluster

/// Carries gossip between nodes in one process by calling the receiver's `handle`, as the HTTP route does. A node
/// marked down refuses every exchange, as a killed process would.
final class InProcessNetwork: GossipTransport, JoinAddressResolver, Sendable {
    struct Unreachable: Error {}
    private let nodes = Mutex<[String: ClusterNode]>([:])
    private let down = Mutex<Set<String>>([])

    func add(_ node: ClusterNode) { nodes.withLock { $0[node.configuration.advertiseAddress] = node } }
    func setDown(_ address: String) { _ = down.withLock { $0.insert(address) } }

    func exchange(_ message: [UInt8], with address: String, timeout: Duration) async throws -> [UInt8] {
        guard !down.withLock({ $0.contains(address) }), let node = nodes.withLock({ $0[address] }) else {
            throw Unreachable()
        }
        return try await node.handle(message)
    }

    func resolve(_ joinAddresses: [String]) async -> [String] { joinAddresses }
}

@Suite struct ClusterNodeTests {
    static func node(_ name: String, network: InProcessNetwork, join: [String], clusterName: String = "",
                     waitForSize: Int = 0) -> ClusterNode {
        var configuration = ClusterConfiguration(nodeName: name, advertiseAddress: "\(name):12345")
        configuration.joinAddresses = join
        configuration.clusterName = clusterName
        configuration.waitForSize = waitForSize
        configuration.gossipInterval = .milliseconds(50)
        // Long against the gossip interval: a CI machine under load must not starve a live member into failing.
        configuration.failureTimeout = .seconds(2)
        let node = ClusterNode(configuration: configuration, incarnation: 1, transport: network, resolver: network,
                               logger: Logger(label: "test"))
        network.add(node)
        return node
    }

    static func names(_ node: ClusterNode) -> [String] {
        node.membership.snapshot.peers.filter { $0.state == .participant }.map(\.name).sorted()
    }

    @Test func membersConvergeShareKeysAndDropAFailedMember() async throws {
        let network = InProcessNetwork()
        let nodes = ["a", "b", "c", "d"].map { Self.node($0, network: network, join: ["a:12345"]) }
        let tasks = nodes.map { node in Task { await node.run() } }
        defer { for task in tasks { task.cancel() } }
        #expect(await eventually { nodes.allSatisfy { Self.names($0) == ["a", "b", "c", "d"] } })

        // Every key has exactly one owner, the same one in every member's ring.
        var key: UInt64 = 3
        for _ in 0..<500 {
            key = key &* 6_364_136_223_846_793_005 &+ 1
            #expect(nodes.filter { $0.membership.owns(key) }.count == 1)
        }

        // A member that stops answering and beating is dropped by all the others.
        tasks[3].cancel()
        network.setDown("d:12345")
        #expect(await eventually { nodes.prefix(3).allSatisfy { Self.names($0) == ["a", "b", "c"] } })
        for _ in 0..<500 {
            key = key &* 6_364_136_223_846_793_005 &+ 1
            #expect(nodes.prefix(3).filter { $0.membership.owns(key) }.count == 1)
        }
    }

    @Test func leavingMarksTerminatingAtOnceAndHandsKeysOver() async throws {
        let network = InProcessNetwork()
        let nodes = ["a", "b"].map { Self.node($0, network: network, join: ["a:12345", "b:12345"]) }
        let tasks = nodes.map { node in Task { await node.run() } }
        defer { for task in tasks { task.cancel() } }
        #expect(await eventually { nodes.allSatisfy { Self.names($0) == ["a", "b"] } })
        await nodes[1].leave()
        // `leave` returns once a has been told: a owns everything now.
        #expect(nodes[0].membership.snapshot.peers.first { $0.name == "b" }?.state == .terminating)
        #expect((0..<200).allSatisfy { nodes[0].membership.owns(UInt64($0) &* 0x9e37_79b9_7f4a_7c15) })
        #expect((0..<200).allSatisfy { !nodes[1].membership.owns(UInt64($0) &* 0x9e37_79b9_7f4a_7c15) })
    }

    @Test func anotherClusterNameIsRefused() async throws {
        let network = InProcessNetwork()
        let a = Self.node("a", network: network, join: [], clusterName: "blue")
        let b = Self.node("b", network: network, join: ["a:12345"], clusterName: "green")
        let tasks = [a, b].map { node in Task { await node.run() } }
        defer { for task in tasks { task.cancel() } }
        let message = GossipMessage(clusterName: "green", sender: "b", lamportTime: 1, members: [
            GossipMember(name: "b", address: "b:12345", state: .participant, incarnation: 1, sequence: 1)])
        await #expect(throws: GossipRefusal.self) { try await a.handle(message.encode()) }
        await #expect(throws: GossipRefusal.self) { try await a.handle([0xff, 0x01]) }
        #expect(await eventually { Self.names(b) == ["b"] })
        #expect(Self.names(a) == ["a"])
    }

    @Test func waitForSizeHoldsWorkUntilEnoughMembers() async throws {
        let network = InProcessNetwork()
        let a = Self.node("a", network: network, join: ["b:12345"], waitForSize: 2)
        let taskA = Task { await a.run() }
        defer { taskA.cancel() }
        #expect(await eventually { Self.names(a) == ["a"] })
        #expect(!a.membership.snapshot.ready)
        #expect(!a.membership.owns(42))
        let b = Self.node("b", network: network, join: ["a:12345"], waitForSize: 2)
        let taskB = Task { await b.run() }
        defer { taskB.cancel() }
        #expect(await eventually { a.membership.snapshot.ready && b.membership.snapshot.ready })
        #expect(await eventually { Self.names(a) == ["a", "b"] && Self.names(b) == ["a", "b"] })
        #expect(a.membership.owns(42) != b.membership.owns(42))
    }

    @Test func observersSeeChanges() async throws {
        let network = InProcessNetwork()
        let a = Self.node("a", network: network, join: [])
        var updates = a.membership.updates().makeAsyncIterator()
        #expect(a.membership.observerCount == 1)
        let first = await updates.next()
        #expect(first?.peers.first?.state == .viewer)
        let task = Task { await a.run() }
        defer { task.cancel() }
        var sawParticipant = false
        while let snapshot = await updates.next() {
            if snapshot.peers.first?.state == .participant { sawParticipant = true; break }
        }
        #expect(sawParticipant)
    }
}
