import Cluster
import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus

/// A running component of the agent's graph: one top-level block of the configuration (`loki.write "default" {}`).
///
/// Lifecycle, driven by the graph's controller (one at a time per component, never concurrently with itself):
/// `init(context:arguments:)` ends by applying its arguments the same way `update(_:)` does, so creation and
/// reload share one path; `run()` is started in a task of its own and runs until that task is cancelled (the
/// component was removed from the configuration, or the agent is stopping), then drains and returns. If `run()`
/// returns or throws by itself, the component is reported exited or unhealthy and the next reload starts `run()`
/// again on the same instance.
/// `update(_:)` is called when the arguments changed on reload or because a dependency's exports changed; it must
/// keep whatever did not change (listeners, queues, connections) untouched.
public protocol Component: AnyObject, Sendable {
    associatedtype Arguments: ComponentArguments

    /// Alloy's name of the component, e.g. `loki.write`.
    static var name: String { get }

    init(context: ComponentContext, arguments: Arguments) throws

    func update(_ arguments: Arguments) throws

    /// Runs until cancelled. Throwing marks the component unhealthy; the rest of the graph keeps running.
    func run() async throws

    /// What other components may reference (`receiver`, `input`). Fixed after `init` unless the component calls
    /// `context.exportsChanged`.
    var exports: ValueObject { get }
}

extension Component {
    public func run() async throws {
        // Components without work of their own (pure receivers) wait to be removed.
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(3600))
        }
    }
}

/// A component's arguments: decoded from its block, with every default in one place, then validated.
public protocol ComponentArguments: Sendable, Equatable {
    /// Reads every attribute and block the component knows; `reader` reports the ones left unread as errors.
    init(_ reader: ArgumentReader) throws(Diagnostic)

    /// Checks relations between fields that decoding alone cannot (`max >= min`); throw a message for the block.
    func validate() throws(ArgumentError)
}

extension ComponentArguments {
    public func validate() throws(ArgumentError) {}
}

/// A rule of a component's arguments that was broken, reported at the component's block.
public struct ArgumentError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// What the graph gives each component.
public struct ComponentContext: Sendable {
    /// The component's id, e.g. `loki.write.default`; the `component_id` label of its metrics.
    public let id: String
    /// A directory of its own under `--storage.path`, for state kept across restarts (created on first use).
    public let dataPath: String
    public let logger: Logger
    /// The agent's metrics registry, served on `/metrics`. The same name and labels give the same metric, so a
    /// component re-created on reload keeps counting where it left off.
    public let metrics: PrometheusCollectorRegistry
    /// One HTTP client shared by the agent's components.
    public let httpClient: HTTPClient
    /// The agent cluster (`--cluster.*`): which targets this agent owns. A standalone agent owns everything.
    public let cluster: ClusterMembership
    /// Tells the graph that the component's exports changed, so that the components referencing them are
    /// re-evaluated. Safe to call from any task.
    public let exportsChanged: @Sendable (ValueObject) -> Void

    public init(
        id: String, dataPath: String, logger: Logger, metrics: PrometheusCollectorRegistry, httpClient: HTTPClient,
        cluster: ClusterMembership = .standalone, exportsChanged: @escaping @Sendable (ValueObject) -> Void
    ) {
        self.cluster = cluster
        self.id = id
        self.dataPath = dataPath
        self.logger = logger
        self.metrics = metrics
        self.httpClient = httpClient
        self.exportsChanged = exportsChanged
    }
}

extension ComponentContext {
    /// Creates ``dataPath`` and the folders above it when they do not exist yet; an error names the folder.
    public func makeDataDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: dataPath, withIntermediateDirectories: true)
        } catch {
            throw ArgumentError("cannot create the data directory \(dataPath) (under --storage.path): \(error.localizedDescription)")
        }
    }
}
