import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import TestSupport

/// A loopback HTTP server answering the Kubernetes API's pod endpoints with documents in the API's own shape:
/// `GET /api/v1/pods` (a PodList), `GET /api/v1/pods?watch=true` (a stream of watch events, one JSON object per
/// line, sent as the test pushes them), and the kubelet's `GET /pods`. It records every request's query and
/// `Authorization` header.
final class KubernetesAPIServer: Sendable {
    let port: Int
    private let server: LoopbackServer
    private let state: LockedValue<State>
    private let events: AsyncStream<String>.Continuation

    private struct State {
        var podList: String
        var requests: [(path: String, query: String, authorization: String?)] = []
    }

    var requests: [(path: String, query: String, authorization: String?)] { state.get().requests }

    static func start(podList: String) async throws -> KubernetesAPIServer {
        let state = LockedValue(State(podList: podList))
        let (eventStream, events) = AsyncStream.makeStream(of: String.self)
        let eventBox = EventBox(eventStream)
        let router = Router()
        @Sendable func record(_ request: Request) -> String {
            let query = request.uri.query ?? ""
            state.update {
                $0.requests.append((request.uri.path, query, request.headers[.authorization]))
            }
            return query
        }
        @Sendable func list() -> Response {
            let body = state.get().podList
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/api/v1/pods") { request, _ -> Response in
            guard record(request).contains("watch=true") else { return list() }
            // A watch: the events the test sends, each on a line, until the server stops.
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    for await event in eventBox.stream {
                        try await writer.write(ByteBuffer(string: event + "\n"))
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/api/v1/namespaces/{namespace}/pods") { request, _ -> Response in
            _ = record(request)
            return list()
        }
        router.get("/pods") { request, _ -> Response in
            _ = record(request)
            return list()
        }
        let server = await LoopbackServer.start(router, label: "fake-kubernetes")
        let port = server.port
        return KubernetesAPIServer(port: port, server: server, state: state, events: events)
    }

    private init(port: Int, server: LoopbackServer, state: LockedValue<State>, events: AsyncStream<String>.Continuation) {
        self.port = port
        self.server = server
        self.state = state
        self.events = events
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Sends one watch event (`{"type":"MODIFIED","object":{...}}`) to the open watch.
    func send(_ event: String) {
        events.yield(event)
    }

    func setPodList(_ text: String) {
        state.update { $0.podList = text }
    }

    func stop() async {
        events.finish()
        await server.stop()
    }

    /// Lets the handler closure hold the one event stream (a watch is served once per test).
    private final class EventBox: Sendable {
        let stream: AsyncStream<String>
        init(_ stream: AsyncStream<String>) { self.stream = stream }
    }
}

/// Pods as `kubectl get pods -o json` shows them (trimmed of fields discovery does not read, kept in their places).
enum PodDocuments {
    static func pod(
        name: String, namespace: String = "default", uid: String, node: String = "node-1", ip: String = "10.1.2.3",
        labels: String = #"{"app": "web", "app.kubernetes.io/name": "web"}"#, resourceVersion: String = "100"
    ) -> String {
        """
        {
          "metadata": {
            "name": "\(name)", "generateName": "web-7d4b9c-", "namespace": "\(namespace)", "uid": "\(uid)",
            "resourceVersion": "\(resourceVersion)", "creationTimestamp": "2026-12-01T10:00:00Z",
            "labels": \(labels),
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": "rs-1",
                                 "controller": true, "blockOwnerDeletion": true}]
          },
          "spec": {
            "nodeName": "\(node)",
            "initContainers": [{"name": "init", "image": "busybox:1.36", "resources": {}}],
            "containers": [
              {"name": "nginx", "image": "nginx:1.27",
               "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                         {"name": "metrics", "containerPort": 9113, "protocol": "TCP"}]},
              {"name": "sidecar", "image": "envoy:1.30"}
            ],
            "restartPolicy": "Always", "serviceAccountName": "default"
          },
          "status": {
            "phase": "Running", "hostIP": "192.168.0.10", "podIP": "\(ip)", "podIPs": [{"ip": "\(ip)"}],
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"},
                           {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "initContainerStatuses": [{"name": "init", "containerID": "containerd://i1", "ready": false, "restartCount": 0}],
            "containerStatuses": [
              {"name": "nginx", "containerID": "containerd://c1", "ready": true, "restartCount": 0, "image": "nginx:1.27"},
              {"name": "sidecar", "containerID": "containerd://c2", "ready": true, "restartCount": 1, "image": "envoy:1.30"}
            ],
            "qosClass": "BestEffort"
          }
        }
        """
    }

    static func list(_ pods: [String], resourceVersion: String = "1000") -> String {
        """
        {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "\(resourceVersion)"},
         "items": [\(pods.joined(separator: ","))]}
        """
    }
}
