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
                let watch = KubernetesPodWatch(
                    client: arguments.client, labelSelector: arguments.labelSelector,
                    fieldSelector: arguments.fieldSelector, what: "kubernetes pod discovery", logger: context.logger)
                for namespace in arguments.namespaces.isEmpty ? [""] : arguments.namespaces {
                    group.addTask {
                        await watch.run(namespace: namespace, http: client) { pods in
                            self.publish(namespace: namespace, pods: pods)
                        }
                    }
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
