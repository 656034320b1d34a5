import Cluster
import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus

/// Runs the component graph of one configuration file, and replaces it on reload.
///
/// Loading is all or nothing: the new configuration is planned, every component's arguments are evaluated and
/// decoded, and every new component is created before anything running is touched. Only then are removed
/// components stopped, changed ones updated and new ones started. Components whose arguments did not change keep
/// running untouched, with their listeners and queues. A bad configuration leaves the old graph as it was.
///
/// Callers: the agent's start-up, SIGHUP and `POST /-/reload`, the HTTP API; any task.
public actor AgentGraph {
    /// What the UI API shows of a component.
    public struct ComponentInfo: Sendable {
        public let id: String
        public let name: String
        public let label: String?
        public let dependencies: [String]
        public let dependants: [String]
        public let health: Health
        /// The block's arguments, evaluated now, in file order.
        public let arguments: [BodyItem]
        public let exports: ValueObject
    }

    /// One attribute or nested block of an evaluated body, as Alloy's UI API lists them.
    public enum BodyItem: Sendable {
        case attribute(name: String, value: Value)
        case block(name: String, label: String?, body: [BodyItem])
    }

    public struct Health: Sendable, Equatable {
        public enum State: String, Sendable { case healthy, unhealthy, exited }
        public var state: State
        public var message: String
        public var updated: Date
    }

    private final class Running: Sendable {
        let id: String
        let name: String
        let handle: ComponentHandle
        let task: Task<Void, Never>
        init(id: String, name: String, handle: ComponentHandle, task: Task<Void, Never>) {
            self.id = id
            self.name = name
            self.handle = handle
            self.task = task
        }
    }

    private let registry: ComponentRegistry
    private let storagePath: String
    private let logger: Logger
    private let metrics: PrometheusCollectorRegistry
    private let httpClient: HTTPClient
    private let cluster: ClusterMembership
    private var plan: GraphPlan?
    private var running: [String: Running] = [:]
    private var arguments: [String: any Sendable] = [:]
    /// Per component, the value ranges of the attributes its arguments read as secrets.
    private var secretRanges: [String: Set<SourceRange>] = [:]
    private var health: [String: Health] = [:]
    /// Components whose `run()` returned or threw by itself; the next load starts it again.
    private var ended: Set<String> = []
    /// `alloy_component_controller_running_components{health_type}`: how many components are in each state, the
    /// gauge Alloy's mixin alerts on (`health_type!="healthy"`).
    private let runningComponents: [Health.State: Gauge]
    private let evaluating: Gauge
    /// What the configuration's `logging` block sets, applied once a load succeeds.
    private let logSettings: LogSettings

    public init(
        registry: ComponentRegistry, storagePath: String, logger: Logger, metrics: PrometheusCollectorRegistry,
        httpClient: HTTPClient, logSettings: LogSettings = LogSettings(),
        cluster: ClusterMembership = .standalone
    ) {
        self.cluster = cluster
        self.logSettings = logSettings
        self.registry = registry
        self.storagePath = storagePath
        self.logger = logger
        self.metrics = metrics
        self.httpClient = httpClient
        var gauges: [Health.State: Gauge] = [:]
        for state in [Health.State.healthy, .unhealthy, .exited] {
            gauges[state] = metrics.makeGauge(
                descriptor: .init("alloy_component_controller_running_components", help: "Total number of running components."),
                labels: [("health_type", state.rawValue)])
        }
        runningComponents = gauges
        evaluating = metrics.makeGauge(
            descriptor: .init("alloy_component_controller_evaluating", help: "Tracks if the controller is currently evaluating components."))
    }

    private func publishHealth() {
        for (state, gauge) in runningComponents {
            gauge.set(Double(health.values.count { $0.state == state }))
        }
    }

    /// Loads (or reloads) a configuration. Throws every problem found, with positions; on error nothing changes.
    public func load(_ file: AlloyFile) async throws(Diagnostics) {
        evaluating.set(1.0)
        defer { evaluating.set(0.0) }
        let newPlan = try GraphPlan.build(file, registry: registry)

        // Phase 1: evaluate, decode and create without touching anything that runs.
        var problems: [Diagnostic] = []
        var loggingOptions = LoggingOptions()
        if let block = newPlan.logging {
            let reader = ArgumentReader(block: block, file: file, scope: scope([:]))
            do throws(Diagnostic) {
                loggingOptions = try LoggingOptions(reader)
                problems.append(contentsOf: reader.finish())
            } catch {
                problems.append(error)
            }
        }
        var exports: [String: ValueObject] = [:]
        var decided: [String: any Sendable] = [:]
        var secrets: [String: Set<SourceRange>] = [:]
        var created: [String: ComponentHandle] = [:]
        var changed: Set<String> = []
        for id in newPlan.order {
            guard let node = newPlan.nodes[id] else { continue }
            // Skip dependants of broken components: their references cannot be evaluated.
            if node.dependencies.contains(where: { exports[$0] == nil }) { continue }
            let reader = ArgumentReader(block: node.block, file: file, scope: scope(exports))
            let decoded: any Sendable
            switch node.factory.decode(reader) {
            case .failure(let diagnostics):
                problems.append(contentsOf: diagnostics.items)
                continue
            case .success(let value):
                decoded = value
            }
            decided[id] = decoded
            secrets[id] = reader.secretValueRanges
            if let existing = running[id], existing.name == node.factory.name, let old = arguments[id] {
                if !node.factory.equal(old, decoded) { changed.insert(id) }
                exports[id] = existing.handle.exports()
                continue
            }
            do {
                let handle = try node.factory.make(context(for: id), decoded)
                created[id] = handle
                exports[id] = handle.exports()
            } catch {
                problems.append(file.diagnostic(node.block.nameRange, "\(id): \(error)"))
            }
        }
        if !problems.isEmpty { throw Diagnostics(problems) }
        // The configuration is good: what follows is logged as it says.
        logSettings.apply(loggingOptions)

        // Phase 2: stop removed (or re-typed) components first, so that their ports are free for new ones.
        for (id, component) in running where newPlan.nodes[id] == nil || created[id] != nil {
            component.task.cancel()
            await component.task.value
            running[id] = nil
            arguments[id] = nil
            health[id] = nil
            ended.remove(id)
            publishHealth()
            logger.info("stopped component", metadata: ["component_id": "\(id)"])
        }
        for id in newPlan.order where changed.contains(id) {
            guard let component = running[id], let decodedArguments = decided[id] else { continue }
            do {
                try component.handle.update(decodedArguments)
                arguments[id] = decodedArguments
                setHealth(id, .healthy, "updated component")
                logger.info("updated component", metadata: ["component_id": "\(id)"])
            } catch {
                setHealth(id, .unhealthy, "update failed: \(error)")
                logger.error("component update failed", metadata: ["component_id": "\(id)", "error": "\(error)"])
            }
        }
        for id in newPlan.order {
            if created[id] == nil, ended.contains(id), let component = running[id] {
                // Its run() returned or threw (a port in use, say): a reload gives it another go, as Alloy does.
                start(id, name: component.name, component.handle)
                continue
            }
            guard let handle = created[id], let node = newPlan.nodes[id], let decodedArguments = decided[id] else {
                continue
            }
            arguments[id] = decodedArguments
            start(id, name: node.factory.name, handle)
        }
        secretRanges = secrets
        plan = newPlan
    }

    /// Stops every component and waits for each to drain.
    /// Stops every component, those that reference others first: a receiver stops (and answers what it has taken)
    /// while the processors and writers behind it still run, each one then drains into the next. Stopping all at
    /// once would let a receiver hand a last request to a processor that had already flushed and exited, which
    /// acknowledges entries nobody sends.
    public func stop() async {
        let ordered = (plan?.order ?? []).reversed().filter { running[$0] != nil }
        let rest = running.keys.filter { !ordered.contains($0) }.sorted()
        for id in ordered + rest {
            guard let component = running[id] else { continue }
            component.task.cancel()
            await component.task.value
        }
        running.removeAll()
        logger.info("all components stopped")
    }

    /// The running components, in evaluation order.
    public func components() -> [ComponentInfo] {
        guard let plan else { return [] }
        var dependants: [String: [String]] = [:]
        for node in plan.nodes.values {
            for dependency in node.dependencies { dependants[dependency, default: []].append(node.id) }
        }
        let currentScope = scope(running.mapValues { $0.handle.exports() })
        return plan.order.compactMap { id in
            guard let node = plan.nodes[id], let component = running[id] else { return nil }
            return ComponentInfo(
                id: id, name: node.factory.name, label: node.block.label, dependencies: node.dependencies,
                dependants: (dependants[id] ?? []).sorted(),
                health: health[id] ?? Health(state: .healthy, message: "", updated: Date()),
                arguments: Self.evaluated(node.block.body, plan.file, currentScope, secrets: secretRanges[id] ?? []),
                exports: component.handle.exports())
        }
    }

    /// The body's attributes evaluated now. A string given to an attribute the component reads as a secret
    /// becomes a secret, as Alloy converts it, so it shows as `(secret)`; so does one named like a secret
    /// (``SecretAttributes/names``) that the component did not read as one.
    private static func evaluated(_ body: Body, _ file: AlloyFile, _ scope: Scope, secrets: Set<SourceRange>)
        -> [BodyItem]
    {
        body.statements.map { statement in
            switch statement {
            case .attribute(let attribute):
                var value = (try? Evaluator.evaluate(attribute.value, in: scope, file: file)) ?? .null
                if case .string(let text) = value,
                   secrets.contains(attribute.value.range) || SecretAttributes.names.contains(attribute.name)
                {
                    value = .secret(text)
                }
                return .attribute(name: attribute.name, value: value)
            case .block(let block):
                return .block(
                    name: block.fullName, label: block.label, body: evaluated(block.body, file, scope, secrets: secrets))
            }
        }
    }

    /// Whether every component is running and healthy.
    public func isHealthy() -> Bool {
        plan != nil && health.values.allSatisfy { $0.state == .healthy }
    }

    // MARK: Internals

    private func start(_ id: String, name: String, _ handle: ComponentHandle) {
        setHealth(id, .healthy, "started component")
        ended.remove(id)
        let logger = self.logger
        let task = Task { [weak self] in
            do {
                try await handle.run()
                if !Task.isCancelled { await self?.runEnded(id, .exited, "component exited") }
            } catch is CancellationError {
            } catch {
                if Task.isCancelled { return }
                logger.error("component failed", metadata: ["component_id": "\(id)", "error": "\(error)"])
                await self?.runEnded(id, .unhealthy, "\(error)")
            }
        }
        running[id] = Running(id: id, name: name, handle: handle, task: task)
        logger.info("started component", metadata: ["component_id": "\(id)"])
    }

    private func runEnded(_ id: String, _ state: Health.State, _ message: String) {
        ended.insert(id)
        setHealth(id, state, message)
    }

    private func setHealth(_ id: String, _ state: Health.State, _ message: String) {
        health[id] = Health(state: state, message: message, updated: Date())
        publishHealth()
    }

    private func context(for id: String) -> ComponentContext {
        var componentLogger = logger
        componentLogger[metadataKey: "component_id"] = "\(id)"
        return ComponentContext(
            id: id, dataPath: (storagePath as NSString).appendingPathComponent(id), logger: componentLogger,
            metrics: metrics, httpClient: httpClient, cluster: cluster,
            exportsChanged: { [weak self] exports in
                Task { await self?.exportsDidChange(id, exports) }
            })
    }

    /// Re-evaluates the components that reference `id`, in order, after its exports changed.
    private func exportsDidChange(_ id: String, _ newExports: ValueObject) {
        guard let plan else { return }
        var exports: [String: ValueObject] = running.mapValues { $0.handle.exports() }
        exports[id] = newExports
        var affected: Set<String> = [id]
        for candidate in plan.order {
            guard let node = plan.nodes[candidate], node.dependencies.contains(where: affected.contains),
                  let component = running[candidate], let old = arguments[candidate]
            else { continue }
            let reader = ArgumentReader(block: node.block, file: plan.file, scope: scope(exports))
            switch node.factory.decode(reader) {
            case .failure(let diagnostics):
                setHealth(candidate, .unhealthy, diagnostics.description)
            case .success(let decoded):
                guard !node.factory.equal(old, decoded) else { continue }
                do {
                    try component.handle.update(decoded)
                    arguments[candidate] = decoded
                    exports[candidate] = component.handle.exports()
                    affected.insert(candidate)
                } catch {
                    setHealth(candidate, .unhealthy, "update failed: \(error)")
                }
            }
        }
    }

    /// The variables components see: every known component's exports, nested by id
    /// (`loki` → `write` → `default` → `receiver`).
    private func scope(_ exports: [String: ValueObject]) -> Scope {
        var root: [String: Value] = [:]
        for (id, object) in exports {
            let path = id.split(separator: ".").map(String.init)
            root[path[0]] = Self.inserting(object, at: path.dropFirst(), into: root[path[0]])
        }
        return Scope(root)
    }

    private static func inserting(_ exports: ValueObject, at path: ArraySlice<String>, into existing: Value?) -> Value {
        guard let key = path.first else { return .object(exports) }
        var pairs: [(String, Value)] = []
        if case .object(let object)? = existing { pairs = object.pairs.map { ($0.key, $0.value) } }
        if let index = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[index].1 = inserting(exports, at: path.dropFirst(), into: pairs[index].1)
        } else {
            pairs.append((key, inserting(exports, at: path.dropFirst(), into: nil)))
        }
        return .object(ValueObject(pairs))
    }
}
