@testable import AlloyLanguage
import Cluster
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Testing
@testable import Pipeline
import PipelineTestSupport
import TestSupport
import Wire

/// `loki.source.kubernetes` with `clustering { enabled = true }` in a two-member agent cluster that gossips over real
/// HTTP: each container is tailed by exactly one member, and when a member leaves, the other takes its containers
/// over from the positions it served, repeating nothing it delivered.
@Suite struct LokiSourceKubernetesClusterTests {
    /// One agent: a cluster node gossiping over HTTP, its positions served from `storage`, and the component.
    final class Member: Sendable {
        let node: ClusterNode
        let server: LoopbackServer
        let component: LokiSourceKubernetes
        let receiver = CollectingReceiver()
        let storage: String
        private let gossip: Task<Void, Never>
        private let task: Task<Void, any Error>

        init(name: String, join: [String], api: KubernetesAPIServer, targets: [Target], storage: String) async throws {
            self.storage = storage
            var configuration = ClusterConfiguration(nodeName: name, advertiseAddress: "127.0.0.1:0")
            configuration.joinAddresses = join
            configuration.gossipInterval = .milliseconds(100)
            configuration.failureTimeout = .seconds(2)
            var logger = Logger(label: name)
            logger.logLevel = .critical
            let node = ClusterNode(
                configuration: configuration, incarnation: 1, transport: HTTPGossipTransport(client: .shared),
                resolver: DNSJoinResolver(defaultPort: 0, resolver: .system(), logger: logger), logger: logger)
            self.node = node
            // The two agent endpoints a clustered component needs, as AgentAPI serves them.
            let router = Router()
            router.post(.init(HTTPGossipTransport.path)) { request, _ in
                let body = try await request.body.collect(upTo: GossipMessage.maxEncodedSize)
                let answer = try await node.handle(Array(buffer: body))
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer)))
            }
            router.get(.init(ClusterPositions.path + "{id}")) { _, context in
                guard let bytes = ClusterPositions.serve(componentID: context.parameters.get("id") ?? "", storagePath: storage)
                else { return Response(status: .notFound) }
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            server = await LoopbackServer.start(router, label: name)
            await node.advertise("127.0.0.1:\(server.port)")
            gossip = Task { await node.run() }

            let scope = Scope(["out": .capsule(Capsule(LogsReceiverCapsule.self, receiver)), "found": targets.value])
            let config = """
                loki.source.kubernetes "pods" {
                  targets    = found
                  forward_to = [out]
                  client { api_server = "\(api.url)" }
                  clustering { enabled = true }
                }
                """
            let arguments = try ComponentHarness.decode(LokiSourceKubernetes.Arguments.self, config, scope: scope).arguments
            let context = ComponentHarness.context(
                id: "loki.source.kubernetes.pods", dataPath: storage + "/loki.source.kubernetes.pods",
                cluster: node.membership)
            component = try LokiSourceKubernetes(context: context, arguments: arguments)
            let component = self.component
            task = Task { try await component.run() }
        }

        var address: String { "127.0.0.1:\(server.port)" }

        func lines() -> [String] { receiver.lines }

        func stop() async {
            task.cancel()
            _ = await task.result
            gossip.cancel()
            await gossip.value
            await server.stop()
        }
    }

    @Test func eachContainerHasOneOwnerAndALeavingMembersContainersGoOnFromItsPositions() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let containers = (0..<8).map { "c\($0)" }
        let targets = containers.map { LokiSourceKubernetesTests.target(pod: "pod-\($0)", container: $0, uid: "u-\($0)") }
        let all = Set(containers.map { "default/pod-\($0):\($0)" })
        let base = LokiSourceKubernetesTests.base
        let a = try await Member(name: "a", join: [], api: api, targets: targets, storage: dir.file("a"))
        let b = try await Member(name: "b", join: [a.address], api: api, targets: targets, storage: dir.file("b"))

        // Both members see both as participants; the containers split between them, each tailed once.
        #expect(await eventually {
            a.node.membership.snapshot.ring.members == ["a", "b"] && b.node.membership.snapshot.ring.members == ["a", "b"]
        })
        #expect(await eventually {
            let (ta, tb) = (Set(a.component.tailing), Set(b.component.tailing))
            return ta.union(tb) == all && ta.isDisjoint(with: tb) && !ta.isEmpty && !tb.isEmpty
        })
        for (i, container) in containers.enumerated() {
            api.appendLog(pod: "pod-\(container)", container: container, timestamp: base + Int64(i), line: "first \(container)")
        }
        #expect(await eventually { a.lines().count + b.lines().count == containers.count })
        #expect(Set(a.lines() + b.lines()) == Set(containers.map { "first \($0)" }))
        let movedFromB = Set(b.component.tailing)

        // b's positions are on disk (written within a second of delivery), then b leaves.
        let bPositions = PositionsFile(path: dir.file("b") + "/loki.source.kubernetes.pods/positions.yml")
        #expect(await eventually { ((try? bPositions.load().positions.count) ?? 0) == movedFromB.count })
        await b.node.leave()
        #expect(await eventually { Set(a.component.tailing) == all })
        #expect(await eventually { b.component.tailing.isEmpty })

        // a went on from b's positions: nothing b delivered comes again; new lines come once, all through a.
        for (i, container) in containers.enumerated() {
            api.appendLog(pod: "pod-\(container)", container: container, timestamp: base + 10_000_000_000 + Int64(i),
                          line: "second \(container)")
        }
        #expect(await eventually { a.lines().filter { $0.hasPrefix("second") }.count == containers.count })
        let firstAtA = a.lines().filter { $0.hasPrefix("first") }
        #expect(firstAtA.count == containers.count - movedFromB.count, "a repeated lines b had delivered: \(firstAtA)")
        #expect(b.lines().allSatisfy { $0.hasPrefix("first") })
        // Each takeover asked b for its positions with sinceTime, not from the start of the log.
        for moved in movedFromB {
            let container = String(moved.split(separator: ":").last!)
            let queries = api.logQueries.filter { $0.contains("container=\(container)&") || $0.hasSuffix("container=\(container)") }
            #expect(queries.count >= 2 && queries.last!.contains("sinceTime"), "\(container): \(queries)")
        }
        await a.stop()
        await b.stop()
        await api.stop()
    }
}
