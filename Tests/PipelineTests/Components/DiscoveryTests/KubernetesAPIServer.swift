import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import TestSupport
import Wire

/// A loopback HTTP server answering the Kubernetes API's pod endpoints with documents in the API's own shape:
/// `GET /api/v1/pods` (a PodList), `GET /api/v1/pods?watch=true` (a stream of watch events, one JSON object per
/// line, sent as the test pushes them), the kubelet's `GET /pods`, and a container's log `GET
/// /api/v1/namespaces/{ns}/pods/{pod}/log?container=…` with `timestamps`, `sinceTime` (whole seconds, as the API
/// server reads it) and `follow` (the stream stays open and carries the lines the test appends). It records every
/// request's query and `Authorization` header.
final class KubernetesAPIServer: Sendable {
    let port: Int
    private let server: LoopbackServer
    private let state: LockedValue<State>
    private let events: AsyncStream<String>.Continuation

    private struct State {
        var podList: String
        var requests: [(path: String, query: String, authorization: String?)] = []
        /// Each container's log (`namespace/pod/container`), oldest first.
        var logs: [String: [LogRecord]] = [:]
        /// Open `follow=true` streams: their container and where to send bytes (nil ends the stream).
        var logStreams: [Int: (container: String, sink: AsyncStream<[UInt8]?>.Continuation)] = [:]
        var nextStream = 0
    }

    /// One line of a container's log: its time and text; `raw` lines are written as they are, without the time.
    private struct LogRecord {
        let timestamp: Int64
        let text: [UInt8]
        let raw: Bool

        func bytes(timestamps: Bool) -> [UInt8] {
            if raw { return text }
            let prefix = timestamps ? Array((KubernetesAPIServer.rfc3339Nano(timestamp) + " ").utf8) : []
            return prefix + text + [0x0A]
        }
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
        router.get("/api/v1/namespaces/{namespace}/pods/{pod}/log") { request, context -> Response in
            _ = record(request)
            let parameters = request.uri.queryParameters
            let namespace = context.parameters.get("namespace") ?? ""
            let pod = context.parameters.get("pod") ?? ""
            let container = parameters.get("container") ?? ""
            let key = "\(namespace)/\(pod)/\(container)"
            let timestamps = parameters.get("timestamps") == "true"
            let follow = parameters.get("follow") == "true"
            var since = Int64.min
            if let text = parameters.get("sinceTime") {
                guard let parsed = RFC3339Time.parse(text) else {
                    return Response(status: .badRequest, body: ResponseBody(byteBuffer: ByteBuffer(string: "bad sinceTime")))
                }
                // The API server reads sinceTime at whole seconds.
                since = parsed - ((parsed % 1_000_000_000) + 1_000_000_000) % 1_000_000_000
            }
            let (stream, sink) = AsyncStream.makeStream(of: [UInt8]?.self)
            let (backlog, id) = state.update { state -> ([UInt8], Int?) in
                var bytes: [UInt8] = []
                for record in state.logs[key] ?? [] where record.timestamp >= since {
                    bytes += record.bytes(timestamps: timestamps)
                }
                guard follow else { return (bytes, nil) }
                state.nextStream += 1
                state.logStreams[state.nextStream] = (key, sink)
                return (bytes, state.nextStream)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: ResponseBody { writer in
                    if !backlog.isEmpty { try await writer.write(ByteBuffer(bytes: backlog)) }
                    if let id {
                        defer { state.update { $0.logStreams[id] = nil } }
                        for await bytes in stream {
                            guard let bytes else { break }
                            try await writer.write(ByteBuffer(bytes: bytes))
                        }
                    }
                    try await writer.finish(nil)
                })
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

    /// Appends `line` with `timestamp` (nanoseconds) to a container's log; open streams of it get the line now.
    func appendLog(namespace: String = "default", pod: String, container: String, timestamp: Int64, line: String) {
        append(LogRecord(timestamp: timestamp, text: Array(line.utf8), raw: false), to: "\(namespace)/\(pod)/\(container)")
    }

    /// Appends `bytes` to a container's log exactly as they are (no time, no newline added); a later request whose
    /// `sinceTime` is at or before `timestamp` gets them again.
    func appendRawLog(namespace: String = "default", pod: String, container: String, timestamp: Int64, bytes: [UInt8]) {
        append(LogRecord(timestamp: timestamp, text: bytes, raw: true), to: "\(namespace)/\(pod)/\(container)")
    }

    private func append(_ record: LogRecord, to key: String) {
        state.update { state in
            state.logs[key, default: []].append(record)
            for stream in state.logStreams.values where stream.container == key {
                stream.sink.yield(record.bytes(timestamps: true))
            }
        }
    }

    /// Ends every open log stream, after writing `partial` (the start of a line that never ends) to each.
    func breakLogStreams(partial: String = "") {
        state.update { state in
            for stream in state.logStreams.values {
                if !partial.isEmpty { stream.sink.yield(Array(partial.utf8)) }
                stream.sink.yield(nil)
            }
        }
    }

    /// The log streams open now, by container (`namespace/pod/container`).
    var openLogStreams: [String] { state.get().logStreams.values.map(\.container).sorted() }

    /// The queries of the log requests so far, oldest first.
    var logQueries: [String] { requests.filter { $0.path.hasSuffix("/log") }.map(\.query) }

    /// Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped.
    static func rfc3339Nano(_ nanoseconds: Int64) -> String {
        let seconds = nanoseconds / 1_000_000_000
        let fraction = nanoseconds % 1_000_000_000
        let (year, month, day) = Civil.date(days: seconds / 86_400)
        let second = seconds % 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(year)-\(two(Int64(month)))-\(two(Int64(day)))T\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    func stop() async {
        events.finish()
        breakLogStreams()
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
