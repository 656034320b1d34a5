@testable import AlloyLanguage
import Foundation
import Synchronization
import Testing
@testable import Pipeline
import PipelineTestSupport
import TestSupport
import Wire

/// Keeps every batch it is handed, resources and all.
final class KeepingConsumer: OTLPLogsConsumer {
    let received = Mutex<[OTLPLogsData]>([])
    func consume(_ logs: OTLPLogsData) async throws { received.withLock { $0.append(logs) } }
}

/// `otelcol.processor.k8sattributes` against the loopback Kubernetes API server: resources are matched to pods by
/// their `k8s.pod.ip` or `k8s.pod.uid` and get the pod's metadata, labels and annotations.
@Suite struct OTelColProcessorK8sAttributesTests {
    static func resource(_ attributes: [(String, String)]) -> OTLPResourceLogs {
        OTLPResourceLogs(
            resource: OTLPResource(attributes: attributes.map { OTLPKeyValue(key: $0.0, value: .string($0.1)) }),
            scopeLogs: [OTLPScopeLogs(logRecords: [OTLPLogRecord(body: .string("hello"))])])
    }

    static func attributes(_ resource: OTLPResourceLogs) -> [String: String] {
        var result: [String: String] = [:]
        for attribute in resource.resource.attributes {
            if case .string(let value) = attribute.value { result[attribute.key] = value }
        }
        return result
    }

    static func make(_ api: KubernetesAPIServer, sink: KeepingConsumer, extra: String = "") throws -> OTelColProcessorK8sAttributes {
        try ComponentHarness.make(OTelColProcessorK8sAttributes.self, """
            otelcol.processor.k8sattributes "k" {
              auth_type = "none"
              client { api_server = "\(api.url)" }
              wait_for_metadata = true
              extract {
                metadata = ["k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.ip", "k8s.deployment.name",
                            "k8s.replicaset.name", "k8s.node.name", "container.image.name", "container.image.tag", "container.id"]
                label { key = "app" }
                label {
                  key_regex = "app\\\\.kubernetes\\\\.io/(.*)"
                  tag_name  = "k8s.app.$1"
                }
                annotation { key = "prometheus.io/scrape" }
              }
              \(extra)
              output { logs = [sink] }
            }
            """, scope: ComponentHarness.scope(consumers: ["sink": sink]))
    }

    @Test func resourcesGetTheirPodsMetadataWithoutLosingTheirOwn() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([
            PodDocuments.pod(name: "web-7d4b9c-x1", uid: "u-1", ip: "10.1.2.3"),
            PodDocuments.pod(name: "web-7d4b9c-x2", namespace: "shop", uid: "u-2", node: "node-2", ip: "10.1.2.4"),
        ]))
        let sink = KeepingConsumer()
        let processor = try Self.make(api, sink: sink)
        let task = Task { try await processor.run() }
        defer { task.cancel() }
        // wait_for_metadata: the first batch waits for the pod list, so no polling is needed here.
        try await processor.consume(OTLPLogsData(resourceLogs: [
            Self.resource([("k8s.pod.ip", "10.1.2.3"), ("k8s.container.name", "nginx")]),
            Self.resource([("k8s.pod.uid", "u-2"), ("k8s.namespace.name", "kept")]),
            Self.resource([("k8s.pod.ip", "10.9.9.9")]),
            Self.resource([("service.name", "no pod attributes")]),
        ]))
        let out = try #require(sink.received.withLock { $0.first })
        let web = Self.attributes(out.resourceLogs[0])
        #expect(web["k8s.namespace.name"] == "default" && web["k8s.pod.name"] == "web-7d4b9c-x1")
        #expect(web["k8s.pod.uid"] == "u-1" && web["k8s.node.name"] == "node-1")
        #expect(web["k8s.replicaset.name"] == "web-7d4b9c" && web["k8s.deployment.name"] == "web")
        #expect(web["container.image.name"] == "nginx" && web["container.image.tag"] == "1.27")
        #expect(web["container.id"] == "c1")
        #expect(web["k8s.pod.labels.app"] == "web" && web["k8s.app.name"] == "web")
        #expect(web["k8s.pod.annotations.prometheus.io/scrape"] == "true")
        let shop = Self.attributes(out.resourceLogs[1])
        #expect(shop["k8s.namespace.name"] == "kept", "an attribute the resource has is never overwritten")
        #expect(shop["k8s.pod.name"] == "web-7d4b9c-x2" && shop["k8s.node.name"] == "node-2")
        #expect(shop["container.image.name"] == nil, "no k8s.container.name: no container attributes")
        #expect(Self.attributes(out.resourceLogs[2]) == ["k8s.pod.ip": "10.9.9.9"])
        #expect(Self.attributes(out.resourceLogs[3]) == ["service.name": "no pod attributes"])
        #expect(out.recordCount == 4)

        // The watch keeps the index current: a pod that moved to a new IP is found there.
        api.send(#"{"type":"MODIFIED","object":"# + PodDocuments.pod(name: "web-7d4b9c-x1", uid: "u-1", ip: "10.1.2.30", resourceVersion: "101").replacingOccurrences(of: "\n", with: " ") + "}")
        #expect(await eventually {
            try? await processor.consume(OTLPLogsData(resourceLogs: [Self.resource([("k8s.pod.ip", "10.1.2.30")])]))
            return sink.received.withLock { $0.last.map { Self.attributes($0.resourceLogs[0])["k8s.pod.uid"] == "u-1" } ?? false }
        })
        await api.stop()
    }

    @Test func associationRulesAndExclusions() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([
            PodDocuments.pod(name: "jaeger-agent", uid: "u-j", ip: "10.1.2.5"),
            PodDocuments.pod(name: "web-1", uid: "u-1", ip: "10.1.2.3"),
        ]))
        let sink = KeepingConsumer()
        let processor = try Self.make(api, sink: sink, extra: """
            pod_association {
              source {
                from = "resource_attribute"
                name = "host.ip"
              }
            }
            """)
        let task = Task { try await processor.run() }
        defer { task.cancel() }
        try await processor.consume(OTLPLogsData(resourceLogs: [
            Self.resource([("host.ip", "10.1.2.3")]),
            Self.resource([("k8s.pod.ip", "10.1.2.3")]),  // not an association source any more
            Self.resource([("host.ip", "10.1.2.5")]),     // jaeger-agent is excluded by default, as in the collector
        ]))
        let out = try #require(sink.received.withLock { $0.first })
        #expect(Self.attributes(out.resourceLogs[0])["k8s.pod.uid"] == "u-1")
        #expect(Self.attributes(out.resourceLogs[1])["k8s.pod.uid"] == nil)
        #expect(Self.attributes(out.resourceLogs[2])["k8s.pod.uid"] == nil)
        await api.stop()
    }

    @Test func unsupportedSettingsAreRefusedByName() {
        let base = "otelcol.processor.k8sattributes \"k\" {\n client { api_server = \"http://a\" }\n output {}\n"
        func problem(_ body: String) -> String? {
            ComponentHarness.problem(OTelColProcessorK8sAttributes.Arguments.self, base + body + "}")
        }
        #expect(problem("auth_type = \"kubeConfig\"\n")?.contains("auth_type") == true)
        #expect(problem("extract { metadata = [\"k8s.cluster.uid\"] }\n")?.contains("k8s.cluster.uid") == true)
        #expect(problem("pod_association {\n source {\n from = \"header\"\n }\n}\n")?.contains("connection") == true)
        #expect(problem("extract {\n label {\n key = \"a\"\n key_regex = \"b\"\n }\n}\n")?.contains("exactly one") == true)
        #expect(problem("exclude {\n pod { name = \"(\" }\n}\n")?.contains("exclude.pod.name") == true)
        #expect(problem("") == nil)
    }

    @Test func ownerNames() {
        #expect(OTelColProcessorK8sAttributes.deploymentName(ofReplicaSet: "web-api-7d4b9c5f8") == "web-api")
        #expect(OTelColProcessorK8sAttributes.deploymentName(ofReplicaSet: "Standalone") == nil)
        #expect(OTelColProcessorK8sAttributes.cronJobName(ofJob: "backup-29012345") == "backup")
        #expect(OTelColProcessorK8sAttributes.split(image: "registry:5000/team/app:v2@sha256:abc") == ("registry:5000/team/app", "v2"))
        #expect(OTelColProcessorK8sAttributes.split(image: "nginx") == ("nginx", "latest"))
    }
}

/// The connection's address: set by both receivers, matched by `from = "connection"`, added by passthrough.
@Suite struct K8sAttributesConnectionTests {
    @Test func grpcPeerDescriptionsGiveTheirAddress() {
        #expect(ClientMetadata.address(ofGRPCPeer: "ipv4:10.1.2.3:5000") == "10.1.2.3")
        #expect(ClientMetadata.address(ofGRPCPeer: "ipv6:[fd00::1]:443") == "fd00::1")
        #expect(ClientMetadata.address(ofGRPCPeer: "in-process:27182") == nil)
        #expect(ClientMetadata.address(ofGRPCPeer: "garbage") == nil)
        // The address is not part of what batches are told apart by.
        #expect(ClientMetadata([("a", "1")], address: "10.0.0.1") == ClientMetadata([("a", "1")]))
    }

    @Test func theConnectionFindsThePodAndPassthroughAddsItsIP() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([
            PodDocuments.pod(name: "web-1", uid: "u-1", ip: "127.0.0.1"),
        ]))
        let sink = KeepingConsumer()
        let processor = try OTelColProcessorK8sAttributesTests.make(api, sink: sink)
        let task = Task { try await processor.run() }
        defer { task.cancel() }
        let logs = OTLPLogsData(resourceLogs: [OTelColProcessorK8sAttributesTests.resource([("service.name", "a")])])
        try await ClientMetadata.$current.withValue(ClientMetadata(address: "127.0.0.1")) {
            try await processor.consume(logs)
        }
        let matched = try #require(sink.received.withLock { $0.first })
        #expect(OTelColProcessorK8sAttributesTests.attributes(matched.resourceLogs[0])["k8s.pod.uid"] == "u-1")

        let passSink = KeepingConsumer()
        let passthrough = try ComponentHarness.make(OTelColProcessorK8sAttributes.self, """
            otelcol.processor.k8sattributes "p" {
              passthrough = true
              output { logs = [sink] }
            }
            """, scope: ComponentHarness.scope(consumers: ["sink": passSink]))
        try await ClientMetadata.$current.withValue(ClientMetadata(address: "10.9.8.7")) {
            try await passthrough.consume(logs)
        }
        let passed = try #require(passSink.received.withLock { $0.first })
        #expect(OTelColProcessorK8sAttributesTests.attributes(passed.resourceLogs[0]) == ["service.name": "a", "k8s.pod.ip": "10.9.8.7"])
        await api.stop()
    }
}
