import AlloyLanguage
import AsyncHTTPClient
import Logging
import Synchronization

/// `discovery.kubelet`: the pods of this node from the kubelet's `/pods` endpoint (no API server needed), as pod
/// targets with Prometheus' `__meta_kubernetes_pod_*` labels, fetched every `refresh_interval`. `namespaces`
/// limits them. Exports `targets`.
public final class DiscoveryKubelet: Component {
    public static let name = "discovery.kubelet"

    public struct Arguments: ComponentArguments {
        var client: KubernetesClientConfig
        public var namespaces: [String]
        public var refreshInterval: Duration

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            let url = try reader.string("url", default: "https://localhost:10250")
            client = try KubernetesClientConfig(reader, baseURL: url)
            client.useInClusterDefaults()
            namespaces = try reader.stringList("namespaces")
            refreshInterval = try reader.duration("refresh_interval", default: .seconds(5))
        }

        public func validate() throws(ArgumentError) {
            if refreshInterval <= .zero { throw ArgumentError("refresh_interval must be greater than 0") }
        }
    }

    private let context: ComponentContext
    private let state: Mutex<(arguments: Arguments, targets: [Target])>
    private let wakeUp = WakeUp()

    public var exports: ValueObject { ValueObject([("targets", state.withLock { $0.targets }.value)]) }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex((arguments, []))
    }

    public func update(_ arguments: Arguments) throws {
        state.withLock { $0.arguments = arguments }
        wakeUp.signal()
    }

    /// Polls until cancelled. A failed poll keeps the last targets and is logged; the next poll tries again.
    public func run() async throws {
        var clientConfig: KubernetesClientConfig?
        var client: HTTPClient?
        while !Task.isCancelled {
            let arguments = state.withLock { $0.arguments }
            do {
                if clientConfig != arguments.client || client == nil {
                    try await client?.shutdown()
                    client = try arguments.client.makeClient()
                    clientConfig = arguments.client
                }
                guard let client else { break }
                let list = try await arguments.client.get(KubernetesPodList.self, path: "/pods", client: client)
                let pods = (list.items ?? []).filter { arguments.namespaces.isEmpty || arguments.namespaces.contains($0.metadata?.namespace ?? "") }
                let targets = pods.flatMap(\.targets)
                let changed = state.withLock { state -> Bool in
                    guard state.targets != targets else { return false }
                    state.targets = targets
                    return true
                }
                if changed { context.exportsChanged(exports) }
            } catch is CancellationError {
                break
            } catch {
                context.logger.warning("kubelet pod list failed; keeping the last targets", metadata: ["error": "\(error)"])
            }
            await wakeUp.wait(timeout: arguments.refreshInterval)
        }
        try? await client?.shutdown()
    }
}
