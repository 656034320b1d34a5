@testable import AlloyLanguage
import Foundation
import Synchronization
import Testing
import PipelineTestSupport
import TestSupport
@testable import Pipeline
import Wire

@Suite struct KubernetesDiscoveryTests {
    @Test func aPodBecomesOneTargetPerPortOrPortlessContainerWithPrometheusLabels() throws {
        let pod = try JSONDecoder().decode(KubernetesPod.self, from: Data(PodDocuments.pod(name: "web-1", uid: "u-1").utf8))
        let targets = pod.targets
        // nginx has two ports, sidecar and the init container none: four targets.
        #expect(targets.map { $0["__address__"] } == ["10.1.2.3:80", "10.1.2.3:9113", "10.1.2.3", "10.1.2.3"])
        let http = try #require(targets.first)
        let expected: [String: String] = [
            "__address__": "10.1.2.3:80",
            "__meta_kubernetes_namespace": "default",
            "__meta_kubernetes_pod_name": "web-1",
            "__meta_kubernetes_pod_ip": "10.1.2.3",
            "__meta_kubernetes_pod_ready": "true",
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_node_name": "node-1",
            "__meta_kubernetes_pod_host_ip": "192.168.0.10",
            "__meta_kubernetes_pod_uid": "u-1",
            "__meta_kubernetes_pod_label_app": "web",
            "__meta_kubernetes_pod_labelpresent_app": "true",
            "__meta_kubernetes_pod_label_app_kubernetes_io_name": "web",
            "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name": "true",
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_controller_kind": "ReplicaSet",
            "__meta_kubernetes_pod_controller_name": "web-7d4b9c",
            "__meta_kubernetes_pod_container_name": "nginx",
            "__meta_kubernetes_pod_container_image": "nginx:1.27",
            "__meta_kubernetes_pod_container_id": "containerd://c1",
            "__meta_kubernetes_pod_container_init": "false",
            "__meta_kubernetes_pod_container_port_name": "http",
            "__meta_kubernetes_pod_container_port_number": "80",
            "__meta_kubernetes_pod_container_port_protocol": "TCP",
        ]
        #expect(http == Target(expected))
        #expect(targets[3]["__meta_kubernetes_pod_container_init"] == "true")
        #expect(targets[3]["__meta_kubernetes_pod_container_id"] == "containerd://i1")
        #expect(targets[2]["__meta_kubernetes_pod_container_port_number"] == nil)
    }

    @Test func podsWithoutAnIPAreNotTargetsYetAndGarbageDoesNotCrash() throws {
        let pending = #"{"metadata": {"name": "p"}, "status": {"phase": "Pending"}}"#
        #expect(try JSONDecoder().decode(KubernetesPod.self, from: Data(pending.utf8)).targets.isEmpty)
        var random = SeededRandom(seed: 11)
        let document = Array(PodDocuments.list([PodDocuments.pod(name: "a", uid: "u")]).utf8)
        for _ in 0..<500 {
            var mutated = document
            for _ in 0..<4 { mutated[Int(random.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: random.next()) }
            _ = (try? JSONDecoder().decode(KubernetesPodList.self, from: Data(mutated)))?.items?.map(\.targets)
        }
    }

    static func context(_ exports: LockedValue<[ValueObject]>, storage: String) -> ComponentContext {
        ComponentHarness.context(
            id: "discovery.kubernetes.test", dataPath: storage, exportsChanged: { value in exports.update { $0.append(value) } })
    }

    static func names(_ exports: ValueObject?) -> [String] {
        (exports?["targets"]?.arrayValue ?? []).compactMap { $0.objectValue?["__meta_kubernetes_pod_name"]?.stringValue }
    }

    @Test func listsThenFollowsTheWatchWithSelectorsAndToken() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([
            PodDocuments.pod(name: "web-1", uid: "u-1"), PodDocuments.pod(name: "web-2", uid: "u-2", ip: "10.1.2.4"),
        ]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        append("s3cr3t\n", to: dir.file("token"))
        let config = """
            discovery.kubernetes "pods" {
              api_server        = "\(api.url)"
              role              = "pod"
              bearer_token_file = "\(dir.file("token"))"
              selectors {
                role  = "pod"
                field = "spec.nodeName=node-1"
                label = "app=web"
              }
            }
            """
        let (_, arguments) = try ComponentHarness.decode(DiscoveryKubernetes.Arguments.self, config)
        let exports = LockedValue<[ValueObject]>([])
        let component = try DiscoveryKubernetes(context: Self.context(exports, storage: dir.path), arguments: arguments)
        let task = Task { try await component.run() }
        #expect(await eventually { Set(Self.names(exports.get().last)) == ["web-1", "web-2"] })
        let list = try #require(api.requests.first)
        #expect(list.query.contains("fieldSelector=spec.nodeName%3Dnode-1"))
        #expect(list.query.contains("labelSelector=app%3Dweb"))
        #expect(list.authorization == "Bearer s3cr3t")
        #expect(await eventually { api.requests.contains { $0.query.contains("watch=true") && $0.query.contains("resourceVersion=1000") } })

        api.send(#"{"type":"DELETED","object":"# + PodDocuments.pod(name: "web-1", uid: "u-1", resourceVersion: "1001").replacingOccurrences(of: "\n", with: " ") + "}")
        api.send(#"{"type":"ADDED","object":"# + PodDocuments.pod(name: "web-3", uid: "u-3", ip: "10.1.2.5", resourceVersion: "1002").replacingOccurrences(of: "\n", with: " ") + "}")
        #expect(await eventually { Set(Self.names(exports.get().last)) == ["web-2", "web-3"] })
        #expect(Set(Self.names(component.exports)) == ["web-2", "web-3"])
        task.cancel()
        _ = await task.result
        await api.stop()
    }

    @Test func kubeletDiscoveryPollsThePodsEndpointAndFiltersNamespaces() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([
            PodDocuments.pod(name: "web-1", uid: "u-1"),
            PodDocuments.pod(name: "dns", namespace: "kube-system", uid: "u-9"),
        ]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let config = """
            discovery.kubelet "node" {
              url              = "\(api.url)"
              bearer_token     = "t0k"
              namespaces       = ["default"]
              refresh_interval = "100ms"
            }
            """
        let (_, arguments) = try ComponentHarness.decode(DiscoveryKubelet.Arguments.self, config)
        let exports = LockedValue<[ValueObject]>([])
        let component = try DiscoveryKubelet(context: Self.context(exports, storage: dir.path), arguments: arguments)
        let task = Task { try await component.run() }
        #expect(await eventually { Set(Self.names(exports.get().last)) == ["web-1"] })
        #expect(api.requests.first?.path == "/pods")
        #expect(api.requests.first?.authorization == "Bearer t0k")
        api.setPodList(PodDocuments.list([PodDocuments.pod(name: "web-2", uid: "u-2")]))
        #expect(await eventually { Set(Self.names(exports.get().last)) == ["web-2"] })
        task.cancel()
        _ = await task.result
        await api.stop()
    }

    @Test func unsupportedRolesAndOptionsAreClearErrors() {
        #expect(ComponentHarness.problem(DiscoveryKubernetes.Arguments.self, "discovery.kubernetes \"x\" {\n api_server = \"http://a\"\n role = \"service\"\n}")?
            .contains("role: \"service\" is not supported yet") == true)
        #expect(ComponentHarness.problem(DiscoveryKubernetes.Arguments.self, "discovery.kubernetes \"x\" {\n role = \"pod\"\n}")?
            .contains("api_server is required outside a Kubernetes pod") == true)
    }
}
