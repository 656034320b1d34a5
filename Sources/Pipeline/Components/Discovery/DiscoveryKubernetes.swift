import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Synchronization
import Wire

/// `discovery.kubernetes` with `role = "pod"`: lists the pods of the API server (all namespaces or those of the
/// `namespaces` block, filtered by the `selectors` for role pod: label and field selectors such as
/// `spec.nodeName=$NODE`), then watches them, and exports one target per container port (or per container) with
/// Prometheus' `__meta_kubernetes_*` labels. In a pod it finds the API server and its credentials by itself.
public final class DiscoveryKubernetes: Component {
    public static let name = "discovery.kubernetes"

    public struct Arguments: ComponentArguments {
        var client: KubernetesClientConfig
        public var namespaces: [String]
        public var labelSelector: String
        public var fieldSelector: String

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            let role = try reader.requiredString("role")
            guard role == "pod" else {
                throw reader.error("role", "role: \(GoQuote.quote(role)) is not supported yet; Estuary discovers role \"pod\"")
            }
            client = try KubernetesClientConfig.read(reader, component: reader)
            var names: [String] = []
            if let block = try reader.block("namespaces") {
                names = try block.stringList("names")
                if try block.bool("own_namespace", default: false) {
                    let file = KubernetesClientConfig.serviceAccountDirectory + "/namespace"
                    guard let own = try? String(contentsOfFile: file, encoding: .utf8) else {
                        throw block.error("own_namespace", "own_namespace: cannot read \(file) (not running in a pod?)")
                    }
                    names.append(own.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            namespaces = names
            var label = ""
            var field = ""
            for selector in reader.blocks("selectors") {
                let selectorRole = try selector.requiredString("role")
                let selectorLabel = try selector.string("label", default: "")
                let selectorField = try selector.string("field", default: "")
                guard selectorRole == "pod" else {
                    throw selector.error("role", "selectors.role: \(GoQuote.quote(selectorRole)) does not apply to role \"pod\"")
                }
                label = selectorLabel
                field = selectorField
            }
            labelSelector = label
            fieldSelector = field
            if let metadata = try reader.block("attach_metadata"), try metadata.bool("node", default: false) {
                throw metadata.error("node", "attach_metadata.node is not supported yet")
            }
        }
    }

    private struct State {
        var arguments: Arguments
        var podsByNamespace: [String: [String: KubernetesPod]] = [:]
        var targets: [Target] = []
        var generation = 0
    }

    private let context: ComponentContext
    private let state: Mutex<State>
    private let restart = WakeUp()

    public var exports: ValueObject { ValueObject([("targets", state.withLock { $0.targets }.value)]) }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments))
    }

    public func update(_ arguments: Arguments) throws {
        let changed = state.withLock { state -> Bool in
            guard state.arguments.client != arguments.client || state.arguments.namespaces != arguments.namespaces
                || state.arguments.labelSelector != arguments.labelSelector
                || state.arguments.fieldSelector != arguments.fieldSelector
            else { return false }
            state.arguments = arguments
            state.generation += 1
            return true
        }
        if changed { restart.signal() }
    }

    /// Watches until cancelled; a change of the arguments starts the watches again.
    public func run() async throws {
        while !Task.isCancelled {
            let (arguments, generation) = state.withLock { ($0.arguments, $0.generation) }
            let client = try arguments.client.makeClient()
            await withTaskGroup(of: Void.self) { group in
                for namespace in arguments.namespaces.isEmpty ? [""] : arguments.namespaces {
                    group.addTask { await self.watchLoop(namespace: namespace, arguments: arguments, client: client) }
                }
                group.addTask {
                    while !Task.isCancelled && self.state.withLock({ $0.generation }) == generation {
                        await self.restart.wait(timeout: .seconds(3600))
                    }
                }
                await group.next()
                group.cancelAll()
            }
            try? await client.shutdown()
            state.withLock { $0.podsByNamespace.removeAll() }
        }
    }

    private func watchLoop(namespace: String, arguments: Arguments, client: HTTPClient) async {
        var delay: Duration = .seconds(1)
        while !Task.isCancelled {
            do {
                let list = try await arguments.client.get(KubernetesPodList.self, path: path(namespace, arguments), client: client)
                var pods: [String: KubernetesPod] = [:]
                for pod in list.items ?? [] { pods[pod.key] = pod }
                publish(namespace: namespace, pods: pods)
                delay = .seconds(1)
                var version = list.metadata?.resourceVersion ?? ""
                // Watch from the list's version until the server ends the stream; 410 Gone means list again.
                while !Task.isCancelled {
                    guard let next = try await watch(namespace: namespace, from: version, pods: &pods, arguments: arguments, client: client) else {
                        break
                    }
                    version = next
                }
            } catch is CancellationError {
                return
            } catch {
                context.logger.warning("kubernetes pod discovery failed; retrying", metadata: [
                    "namespace": "\(namespace.isEmpty ? "(all)" : namespace)", "error": "\(error)",
                ])
                try? await Task.sleep(for: delay)  // not-a-wait: backoff before listing again
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// One watch request; the resource version to go on from, or nil when the list must be fetched again.
    private func watch(
        namespace: String, from version: String, pods: inout [String: KubernetesPod], arguments: Arguments, client: HTTPClient
    ) async throws -> String? {
        var request = HTTPClientRequest(url: arguments.client.baseURL + path(namespace, arguments, watchFrom: version))
        request.headers = try arguments.client.headers()
        let response = try await client.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else {
            if response.status.code == 410 { return nil }
            let body = try await response.body.collect(upTo: 65_536)
            throw KubernetesAPIError(description: "watch pods: \(response.status.code) \(String(buffer: body).prefix(300))")
        }
        var latest = version
        var pending = Data()
        let decoder = JSONDecoder()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            var changed = false
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                guard !line.isEmpty else { continue }
                let event = try decoder.decode(KubernetesWatchEvent.self, from: Data(line))
                switch event.type {
                case "ADDED", "MODIFIED":
                    if let pod = event.object {
                        pods[pod.key] = pod
                        changed = true
                    }
                case "DELETED":
                    if let pod = event.object {
                        pods[pod.key] = nil
                        changed = true
                    }
                case "ERROR":
                    if event.errorStatus?.code == 410 { return nil }
                    throw KubernetesAPIError(description: "watch pods: \(event.errorStatus?.message ?? "error event")")
                default:
                    break  // BOOKMARK
                }
                if let version = event.object?.metadata?.resourceVersion { latest = version }
            }
            if changed { publish(namespace: namespace, pods: pods) }
        }
        return latest
    }

    private func path(_ namespace: String, _ arguments: Arguments, watchFrom version: String? = nil) -> String {
        var path = namespace.isEmpty ? "/api/v1/pods" : "/api/v1/namespaces/\(Self.escape(namespace))/pods"
        var query: [String] = []
        if !arguments.labelSelector.isEmpty { query.append("labelSelector=" + Self.escape(arguments.labelSelector)) }
        if !arguments.fieldSelector.isEmpty { query.append("fieldSelector=" + Self.escape(arguments.fieldSelector)) }
        if let version {
            query += ["watch=true", "allowWatchBookmarks=true", "resourceVersion=" + Self.escape(version)]
        }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return path
    }

    private static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private func publish(namespace: String, pods: [String: KubernetesPod]) {
        let targets = state.withLock { state -> [Target]? in
            state.podsByNamespace[namespace] = pods
            let all = state.podsByNamespace.keys.sorted().flatMap { key in
                (state.podsByNamespace[key] ?? [:]).sorted { $0.key < $1.key }.flatMap(\.value.targets)
            }
            guard all != state.targets else { return nil }
            state.targets = all
            return all
        }
        if targets != nil { context.exportsChanged(exports) }
    }
}
