@testable import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import Synchronization
import Testing
@testable import Pipeline
import PipelineTestSupport
import TestSupport
import Wire

/// Exports the receiver `receivers[label]`, so that a graph test can see what reached it.
private final class CollectSink: Component {
    static let name = "test.collect"
    static let receivers = Mutex<[String: CollectingReceiver]>([:])

    struct Arguments: ComponentArguments {
        init(_ reader: ArgumentReader) throws(Diagnostic) {}
    }

    let receiver: CollectingReceiver
    var exports: ValueObject { ValueObject([("receiver", .capsule(Capsule(LogsReceiverCapsule.self, receiver)))]) }

    init(context: ComponentContext, arguments: Arguments) throws {
        let label = String(context.id.dropFirst("test.collect.".count))
        receiver = Self.receivers.withLock { $0[label, default: CollectingReceiver()] }
    }

    func update(_ arguments: Arguments) throws {}
}

/// The usual configuration, as an agent runs it: `discovery.kubernetes` → `discovery.relabel` →
/// `loki.source.kubernetes`, all against the loopback API server.
@Suite struct LokiSourceKubernetesGraphTests {
    @Test func podsFoundByDiscoveryAreTailedOncePerContainerAndDroppedWhenTheyGo() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([PodDocuments.pod(name: "web-1", uid: "u-1")]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let receiver = CollectingReceiver()
        CollectSink.receivers.withLock { $0["graph"] = receiver }
        let base = LokiSourceKubernetesTests.base
        api.appendLog(pod: "web-1", container: "nginx", timestamp: base, line: "nginx up")
        api.appendLog(pod: "web-1", container: "sidecar", timestamp: base + 1, line: "sidecar up")
        let graph = AgentGraph(
            registry: ComponentRegistry([DiscoveryKubernetes.self, DiscoveryRelabel.self, LokiSourceKubernetes.self, CollectSink.self]),
            storagePath: dir.path, logger: Logger(label: "test"), metrics: PrometheusCollectorRegistry(), httpClient: .shared)
        try await graph.load(try AlloyParser.parse(name: "test.alloy", text: """
            discovery.kubernetes "pods" {
              api_server = "\(api.url)"
              role       = "pod"
            }
            discovery.relabel "pods" {
              targets = discovery.kubernetes.pods.targets
              rule {
                source_labels = ["__meta_kubernetes_namespace"]
                target_label  = "namespace"
              }
              rule {
                source_labels = ["__meta_kubernetes_pod_name"]
                target_label  = "pod"
              }
              rule {
                source_labels = ["__meta_kubernetes_pod_container_name"]
                target_label  = "container"
              }
            }
            loki.source.kubernetes "pods" {
              targets    = discovery.relabel.pods.output
              forward_to = [test.collect.graph.receiver]
              client {
                api_server = "\(api.url)"
              }
            }
            test.collect "graph" {}
            """))
        #expect(await eventually { receiver.entries.count >= 2 })
        let nginx = try #require(receiver.entries.first { $0.labels["container"] == "nginx" })
        #expect(nginx.labels == LabelSet([
            LabelPair(name: "container", value: "nginx"), LabelPair(name: "instance", value: "default/web-1:nginx"),
            LabelPair(name: "job", value: "loki.source.kubernetes.pods"), LabelPair(name: "namespace", value: "default"),
            LabelPair(name: "pod", value: "web-1"),
        ]))
        // nginx has two ports, so two targets: still one stream. init and sidecar have one each.
        #expect(await eventually { api.logQueries.count >= 3 })
        let containers = api.logQueries.compactMap { $0.split(separator: "&").first { $0.hasPrefix("container=") } }
        #expect(containers.sorted() == ["container=init", "container=nginx", "container=sidecar"])

        // The pod goes away and another comes: web-1's tails have stopped before web-3's start.
        let event = { (type: String, pod: String) in
            #"{"type":"\#(type)","object":"# + pod.replacingOccurrences(of: "\n", with: " ") + "}"
        }
        api.send(event("DELETED", PodDocuments.pod(name: "web-1", uid: "u-1", resourceVersion: "1001")))
        api.send(event("ADDED", PodDocuments.pod(name: "web-3", uid: "u-3", ip: "10.1.2.5", resourceVersion: "1002")))
        #expect(await eventually { api.requests.contains { $0.path.contains("/pods/web-3/log") } })
        let seen = api.requests.count
        api.breakLogStreams()
        api.appendLog(pod: "web-3", container: "nginx", timestamp: base + 2, line: "web-3 up")
        #expect(await eventually { receiver.lines.contains("web-3 up") })
        #expect(!api.requests.dropFirst(seen).contains { $0.path.contains("/pods/web-1/") })
        await graph.stop()
        await api.stop()
    }
}
