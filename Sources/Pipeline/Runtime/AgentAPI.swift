import Cluster
import AlloyLanguage
import Foundation
import Wire
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// The agent's own HTTP endpoints on `--server.http.listen-addr`, as Alloy serves them: `/metrics`, `/-/ready`,
/// `/-/healthy`, `POST /-/reload`, the UI API `GET /api/v0/web/components[/{id}]`, `/api/v0/web/peers` and
/// `/api/v0/web/cluster`, and the cluster's gossip (`POST /api/v0/cluster/gossip`) and positions handover
/// (`GET /api/v0/cluster/positions/{id}`).
public struct AgentAPI: Sendable {
    let graph: AgentGraph
    let metrics: PrometheusCollectorRegistry
    /// Re-reads the configuration file and loads it; returns the error text when the new file is bad.
    let reload: @Sendable () async -> String?
    let cluster: AgentCluster?
    /// `--storage.path`, where clustered components' positions are served from to the members taking over.
    let storagePath: String?

    public init(graph: AgentGraph, metrics: PrometheusCollectorRegistry, cluster: AgentCluster? = nil,
                storagePath: String? = nil, reload: @escaping @Sendable () async -> String?) {
        self.graph = graph
        self.metrics = metrics
        self.cluster = cluster
        self.storagePath = storagePath
        self.reload = reload
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            ProcessMetrics.emit(into: &buffer)
            return Self.response(200, buffer, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        let cluster = self.cluster
        router.get("/-/ready") { _, _ in
            if let membership = cluster?.membership.snapshot, !membership.ready {
                let text = "Alloy is not ready: the cluster has \(membership.peers.count) of the \(cluster?.options.waitForSize ?? 0) members --cluster.wait-for-size asks for.\n"
                return Self.response(503, Array(text.utf8), contentType: "text/plain; charset=utf-8")
            }
            return Self.response(200, Array("Alloy is ready.\n".utf8), contentType: "text/plain; charset=utf-8")
        }
        router.get("/api/v0/web/peers") { _, _ in
            var json = JSONWriter()
            json.peers(cluster?.membership.snapshot.peers ?? [])
            return Self.response(200, json.bytes, contentType: "application/json")
        }
        router.get("/api/v0/web/cluster") { _, _ in
            var json = JSONWriter()
            let snapshot = cluster?.membership.snapshot
            json.raw("{\"enabled\":"); json.bool(snapshot?.enabled ?? false)
            json.raw(",\"name\":"); json.string(cluster?.options.name ?? "")
            json.raw(",\"ready\":"); json.bool(snapshot?.ready ?? true)
            json.raw(",\"peers\":"); json.peers(snapshot?.peers ?? [])
            json.raw("}")
            return Self.response(200, json.bytes, contentType: "application/json")
        }
        let storagePath = self.storagePath
        router.get(.init(ClusterPositions.path + "{id}")) { _, context in
            guard cluster?.node != nil, let storagePath,
                  let bytes = ClusterPositions.serve(componentID: context.parameters.get("id") ?? "", storagePath: storagePath)
            else {
                return Self.response(404, Array("no positions here for that component\n".utf8), contentType: "text/plain; charset=utf-8")
            }
            return Self.response(200, bytes, contentType: "application/yaml")
        }
        router.post(.init(HTTPGossipTransport.path)) { request, _ in
            guard let cluster else {
                return Self.response(404, Array("clustering is not enabled on this node\n".utf8), contentType: "text/plain; charset=utf-8")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: GossipMessage.maxEncodedSize)
            } catch {
                return Self.response(413, Array("gossip message larger than \(GossipMessage.maxEncodedSize) bytes\n".utf8), contentType: "text/plain; charset=utf-8")
            }
            let answer = await cluster.handleGossip(Array(buffer: body))
            return Self.response(answer.status, answer.body,
                                 contentType: answer.status == 200 ? HTTPGossipTransport.contentType : "text/plain; charset=utf-8")
        }
        router.get("/-/healthy") { _, _ in
            let infos = await graph.components()
            let unhealthy = infos.filter { $0.health.state != .healthy }
            if unhealthy.isEmpty {
                return Self.response(200, Array("All Alloy components are healthy.\n".utf8), contentType: "text/plain; charset=utf-8")
            }
            let names = unhealthy.map { "\($0.id): \($0.health.message)" }.joined(separator: "\n")
            return Self.response(500, Array("unhealthy components:\n\(names)\n".utf8), contentType: "text/plain; charset=utf-8")
        }
        let reload = self.reload
        router.post("/-/reload") { _, _ in
            if let problem = await reload() {
                return Self.response(400, Array((problem + "\n").utf8), contentType: "text/plain; charset=utf-8")
            }
            return Self.response(200, Array("config reloaded\n".utf8), contentType: "text/plain; charset=utf-8")
        }
        router.get("/api/v0/web/components") { _, _ in
            let infos = await graph.components()
            var json = JSONWriter()
            json.array(infos) { json, info in json.component(info) }
            return Self.response(200, json.bytes, contentType: "application/json")
        }
        router.get("/api/v0/web/components/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let info = await graph.components().first(where: { $0.id == id }) else {
                return Self.response(404, Array("component \(id) not found\n".utf8), contentType: "text/plain; charset=utf-8")
            }
            var json = JSONWriter()
            json.component(info)
            return Self.response(200, json.bytes, contentType: "application/json")
        }
        return router
    }

    static func response(_ status: Int, _ bytes: [UInt8], contentType: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// JSON in the shapes of Alloy's UI API (`component.Info.MarshalJSON` and `alloyjson.MarshalBody`): a component's
/// arguments and exports are lists of `{"name", "type": "attr"|"block", "value"|"body"}` statements, and each value
/// is `{"type": <alloy type>, "value": ...}`. Secrets are never written.
extension JSONWriter {
    /// ckit's `peer.Peer` JSON: `name`, `addr`, `isSelf`, `state`.
    mutating func peers(_ peers: [Peer]) {
        array(peers) { json, peer in
            json.raw("{\"name\":"); json.string(peer.name)
            json.raw(",\"addr\":"); json.string(peer.address)
            json.raw(",\"isSelf\":"); json.bool(peer.isSelf)
            json.raw(",\"state\":"); json.string(peer.state.name)
            json.raw("}")
        }
    }

    mutating func component(_ info: AgentGraph.ComponentInfo) {
        raw("{\"name\":"); string(info.name)
        raw(",\"type\":\"block\",\"localID\":"); string(info.id)
        raw(",\"moduleID\":\"\"")
        if let label = info.label { raw(",\"label\":"); string(label) }
        raw(",\"referencesTo\":"); array(info.dependencies) { $0.string($1) }
        raw(",\"referencedBy\":"); array(info.dependants) { $0.string($1) }
        raw(",\"health\":{\"state\":"); string(info.health.state.rawValue)
        raw(",\"message\":"); string(info.health.message)
        raw(",\"updatedTime\":"); string(ISO8601DateFormatter().string(from: info.health.updated))
        raw("},\"original\":\"\",\"arguments\":"); body(info.arguments)
        raw(",\"exports\":")
        body(info.exports.pairs.map { AgentGraph.BodyItem.attribute(name: $0.key, value: $0.value) })
        raw(",\"debugInfo\":[],\"liveDebuggingEnabled\":false}")
    }

    mutating func body(_ items: [AgentGraph.BodyItem]) {
        array(items) { json, item in
            switch item {
            case .attribute(let name, let value):
                json.raw("{\"name\":"); json.string(name)
                json.raw(",\"type\":\"attr\",\"value\":"); json.value(value)
                json.raw("}")
            case .block(let name, let label, let body):
                json.raw("{\"name\":"); json.string(name)
                json.raw(",\"type\":\"block\"")
                if let label { json.raw(",\"label\":"); json.string(label) }
                json.raw(",\"body\":"); json.body(body)
                json.raw("}")
            }
        }
    }

    mutating func value(_ value: Value) {
        switch value {
        case .null: raw("{\"type\":\"null\"}")
        case .bool(let flag): raw("{\"type\":\"bool\",\"value\":\(flag)}")
        case .number(let number): raw("{\"type\":\"number\",\"value\":\(number.description)}")
        case .string(let text): raw("{\"type\":\"string\",\"value\":"); string(text); raw("}")
        case .secret: raw("{\"type\":\"string\",\"value\":\"(secret)\"}")
        case .array(let items):
            raw("{\"type\":\"array\",\"value\":")
            array(items) { $0.value($1) }
            raw("}")
        case .object(let object):
            raw("{\"type\":\"object\",\"value\":")
            array(object.pairs) { json, pair in
                json.raw("{\"key\":"); json.string(pair.key)
                json.raw(",\"value\":"); json.value(pair.value)
                json.raw("}")
            }
            raw("}")
        case .function(let function): raw("{\"type\":\"function\",\"value\":"); string(function.name); raw("}")
        case .capsule(let capsule): raw("{\"type\":\"capsule\",\"value\":"); string(capsule.typeName); raw("}")
        }
    }
}
