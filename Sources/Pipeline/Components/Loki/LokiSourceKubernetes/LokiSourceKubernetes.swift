import AlloyLanguage
import AsyncHTTPClient
import Logging
import Synchronization
import Wire

/// `loki.source.kubernetes`: tails the logs of Kubernetes containers through the API server (no access to the
/// node's files needed), one stream per container target, and sends each line to `forward_to` with the kubelet's
/// timestamp and the target's labels (see ``KubernetesLogTarget`` for which, and ``KubernetesLogTailer`` for how a
/// container is followed).
///
/// A change of `targets` starts tails for new containers and stops those of removed ones (forgetting their
/// positions, as Alloy does); the others go on. A change of the `client` block restarts every tail from where it
/// was. Positions (Alloy's `positions.yml` in the component's data directory, a cursor per container) advance only
/// once the entries were delivered (``DeliveryAck``), are written at most ``positionsSyncInterval`` later and when
/// the component stops (after waiting up to ``stopWait`` for batches in flight), so a restart asks the API for
/// the lines from the last delivered one on and skips what it already delivered.
public final class LokiSourceKubernetes: Component {
    public static let name = "loki.source.kubernetes"

    /// How often delivered positions are written to disk.
    static let positionsSyncInterval: Duration = .seconds(1)
    /// How long stopping waits for batches in flight to be delivered before the positions are written.
    static let stopWait: Duration = .seconds(10)
    /// HTTP/1.1 connections kept to the API server: one open log stream per container.
    static let maxConnections = 10_000

    public struct Arguments: ComponentArguments {
        /// Containers to tail: `discovery.kubernetes` pod targets (see ``KubernetesLogTarget`` for the labels).
        public var targets: [Target]
        public var forwardTo: LogsReceivers
        /// The `client` block: how to reach the API server (in a pod, by default, its own API server and service
        /// account).
        var client: KubernetesClientConfig
        /// `clustering { enabled = true }`: tail only the containers this agent owns in the agent cluster.
        var clustered = false

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("targets")
            targets = try reader.targets("targets")
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
            client = try KubernetesClientConfig.read(try reader.block("client"), component: reader)
            if let clustering = try reader.block("clustering") {
                clustered = try clustering.bool("enabled", default: false)
            }
        }
    }

    private struct Shared {
        var arguments: Arguments
        /// Bumped by every change of the arguments and by ``resyncTargets()``: the loop computes the tailed
        /// targets again when it changes.
        var generation = 0
        /// Targets refused once, so that each is logged once.
        var refused: Set<Target> = []
        /// What the loop tails now, for tests and the operator.
        var tailing: [String] = []
    }

    private let context: ComponentContext
    private let shared: Mutex<Shared>
    private let wakeUp = WakeUp()
    public let exports = ValueObject()

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        shared = Mutex(Shared(arguments: arguments))
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        shared.withLock {
            $0.arguments = arguments
            $0.generation += 1
        }
        wakeUp.signal()
    }

    /// Computes the tailed targets again from the current arguments and starts or stops tails to match (for a
    /// change that is not in the arguments, such as cluster membership).
    public func resyncTargets() {
        shared.withLock { $0.generation += 1 }
        wakeUp.signal()
    }

    /// The containers of `targets`: each target prepared as Alloy does (a target that names no container is
    /// logged once and skipped), each container once. ``owned(_:clustered:)`` then picks those this agent tails.
    func tailedTargets(from targets: [Target]) -> [KubernetesLogTarget] {
        var seen: Set<PositionsFile.Key> = []
        var result: [KubernetesLogTarget] = []
        for target in targets {
            do throws(KubernetesLogTarget.Refusal) {
                let prepared = try KubernetesLogTarget(target, defaultJob: context.id)
                if seen.insert(prepared.positionsKey).inserted { result.append(prepared) }
            } catch {
                let first = shared.withLock { $0.refused.insert(target).inserted }
                if first {
                    context.logger.error("target names no container to tail; skipped", metadata: [
                        "target": "\(target)", "error": "\(error)",
                    ])
                }
            }
        }
        return result
    }

    /// The containers this agent tails: all of them, or with clustering those it owns on the cluster's ring (keyed by
    /// Alloy's clustering labels). ``run()`` resyncs whenever the cluster changes.
    func owned(_ targets: [KubernetesLogTarget], clustered: Bool) -> [KubernetesLogTarget] {
        guard clustered else { return targets }
        let cluster = context.cluster.snapshot
        return targets.filter { cluster.owns($0.clusterKey) }
    }

    /// `NAMESPACE/POD:CONTAINER` of every container being tailed, sorted.
    var tailing: [String] { shared.withLock { $0.tailing } }

    public func run() async throws {
        try context.makeDataDirectory()
        // A change of members moves containers: recompute what this agent owns (only matters with clustering).
        let watcher = Task { [weak self, cluster = context.cluster] in
            for await _ in cluster.updates() {
                guard let self else { return }
                if self.shared.withLock({ $0.arguments.clustered }) { self.resyncTargets() }
            }
        }
        defer { watcher.cancel() }
        var loop = TailLoop(component: self)
        do {
            try await loop.run()
        } catch {
            await loop.finish()
            throw error
        }
        await loop.finish()
    }

    /// The loop that owns the tails and the positions, in `run()`'s task.
    private struct TailLoop {
        struct Tail {
            let target: KubernetesLogTarget
            let progress: KubernetesLogProgress
            let task: Task<Void, Never>
        }

        let component: LokiSourceKubernetes
        let positionsFile: PositionsFile
        var positions: [PositionsFile.Key: PositionsFile.Position]
        var positionsDirty = false
        var lastSave = ContinuousClock.now
        var tails: [PositionsFile.Key: Tail] = [:]
        var client: (config: KubernetesClientConfig, http: HTTPClient)?
        var generation = -1

        init(component: LokiSourceKubernetes) {
            self.component = component
            positionsFile = PositionsFile(path: component.context.dataPath + "/positions.yml")
            do {
                positions = try positionsFile.load().positions
            } catch {
                component.context.logger.error(
                    "cannot read the positions file; every container is read from the start of its log",
                    metadata: ["error": "\(error)"])
                positions = [:]
            }
        }

        mutating func run() async throws {
            while !Task.isCancelled {
                let (arguments, latest) = component.shared.withLock { ($0.arguments, $0.generation) }
                if latest != generation {
                    try await sync(arguments)
                    generation = latest
                }
                commitDelivered()
                if positionsDirty, ContinuousClock.now - lastSave >= LokiSourceKubernetes.positionsSyncInterval {
                    savePositions()
                }
                await component.wakeUp.wait(timeout: LokiSourceKubernetes.positionsSyncInterval)
            }
        }

        /// Starts tails for new containers and stops those of removed ones; a new client restarts them all.
        mutating func sync(_ arguments: Arguments) async throws {
            var kept: [PositionsFile.Key: KubernetesLogProgress] = [:]
            if let current = client, current.config != arguments.client {
                kept = await stopAll()
                try? await current.http.shutdown()
                client = nil
            }
            try await start(arguments, keeping: kept)
        }

        private mutating func start(
            _ arguments: Arguments, keeping kept: [PositionsFile.Key: KubernetesLogProgress]
        ) async throws {
            let http: HTTPClient
            if let client {
                http = client.http
            } else {
                http = try arguments.client.makeClient(connectionsPerHost: LokiSourceKubernetes.maxConnections)
                client = (arguments.client, http)
            }
            let all = component.tailedTargets(from: arguments.targets)
            let discovered = Set(all.map(\.positionsKey))
            var wanted: [PositionsFile.Key: KubernetesLogTarget] = [:]
            for target in component.owned(all, clustered: arguments.clustered) { wanted[target.positionsKey] = target }
            let removed = tails.filter { wanted[$0.key] == nil }
            for tail in removed.values { tail.task.cancel() }
            for (key, tail) in removed {
                // Its task is gone before the tail is: nothing of it is sent after the target went away.
                await tail.task.value
                tails[key] = nil
            }
            commitDelivered()
            // A container gone from discovery is forgotten (as Alloy does); one that another member owns now keeps
            // its position here, served to that member (``ClusterPositions``) and used if it comes back.
            for key in removed.keys where !discovered.contains(key) {
                if positions.removeValue(forKey: key) != nil { positionsDirty = true }
            }
            if !removed.isEmpty, positionsDirty { savePositions() }
            let starting = wanted.keys.filter { tails[$0] == nil }
            if arguments.clustered, !starting.isEmpty {
                await takeOver(Set(starting))
            }
            let component = self.component
            for (key, target) in wanted where tails[key] == nil {
                let progress = kept[key] ?? KubernetesLogProgress(start: positions[key].flatMap(Self.resume(from:)))
                var logger = component.context.logger
                logger[metadataKey: "target"] = "\(target)"
                let tailer = KubernetesLogTailer(
                    target: target, config: arguments.client, client: http, progress: progress,
                    forwardTo: { component.shared.withLock { $0.arguments.forwardTo } },
                    wake: { component.wakeUp.signal() }, logger: logger)
                tails[key] = Tail(target: target, progress: progress, task: Task { await tailer.run() })
            }
            let names = tails.values.map(\.target.description).sorted()
            component.shared.withLock { $0.tailing = names }
        }

        /// Containers this agent starts tailing may have been tailed by another member until now: ask every other
        /// member for its positions of them (``ClusterPositions``) and go on from the latest delivered one, so the
        /// new owner repeats at most what the old one delivered in its last second or so.
        private mutating func takeOver(_ keys: Set<PositionsFile.Key>) async {
            let fetched = await ClusterPositions.fetch(
                componentID: component.context.id, cluster: component.context.cluster,
                client: component.context.httpClient, logger: component.context.logger)
            for key in keys {
                guard let theirs = fetched[key], let theirTime = theirs.timestamp else { continue }
                let ours = positions[key].flatMap(\.timestamp)
                let newer = ours.map { (theirTime, theirs.entriesAtTimestamp ?? 0)
                    > ($0, positions[key]?.entriesAtTimestamp ?? 0) } ?? true
                if newer {
                    positions[key] = theirs
                    positionsDirty = true
                }
            }
        }

        /// Stops every tail and waits for them; their progress, to go on from.
        private mutating func stopAll() async -> [PositionsFile.Key: KubernetesLogProgress] {
            for tail in tails.values { tail.task.cancel() }
            var progress: [PositionsFile.Key: KubernetesLogProgress] = [:]
            for (key, tail) in tails {
                await tail.task.value
                progress[key] = tail.progress
            }
            commitDelivered()
            tails.removeAll()
            return progress
        }

        /// A saved position as the point to go on from: Estuary's nanoseconds and count when present, else
        /// Alloy's microseconds (lines within that microsecond are sent again, as Alloy does).
        static func resume(from position: PositionsFile.Position) -> KubernetesLogResume? {
            if let timestamp = position.timestamp {
                return KubernetesLogResume(timestamp: timestamp, entriesAtTimestamp: position.entriesAtTimestamp ?? 0)
            }
            guard position.offset > 0 else { return nil }
            let (nanoseconds, overflow) = position.offset.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : KubernetesLogResume(timestamp: nanoseconds, entriesAtTimestamp: 0)
        }

        /// Moves the positions of delivered batches into the positions file's table.
        mutating func commitDelivered() {
            for (key, tail) in tails {
                guard let delivered = tail.progress.takeDelivered() else { continue }
                // Alloy's value is the time in microseconds.
                let micros = delivered.timestamp / 1000 - (delivered.timestamp % 1000 < 0 ? 1 : 0)
                positions[key] = PositionsFile.Position(
                    offset: micros, identity: nil, timestamp: delivered.timestamp,
                    entriesAtTimestamp: delivered.entriesAtTimestamp)
                positionsDirty = true
            }
        }

        mutating func savePositions() {
            do {
                try positionsFile.save(positions)
                positionsDirty = false
            } catch {
                component.context.logger.error("cannot write the positions file", metadata: ["error": "\(error)"])
            }
            lastSave = .now
        }

        /// Stops the tails, waits (bounded) for their batches in flight to be delivered, writes the positions.
        mutating func finish() async {
            for tail in tails.values { tail.task.cancel() }
            for tail in tails.values { await tail.task.value }
            let deadline = ContinuousClock.now + LokiSourceKubernetes.stopWait
            commitDelivered()
            while tails.values.contains(where: { $0.progress.pending > 0 }) && ContinuousClock.now < deadline {
                // Stopping cancelled this task: wait in one that is not.
                await Task.detached { try? await Task.sleep(for: .milliseconds(20)) }.value  // not-a-wait: shutdown poll
                commitDelivered()
            }
            if positionsDirty { savePositions() }
            if let client { try? await client.http.shutdown() }
            client = nil
            component.shared.withLock { $0.tailing = [] }
        }
    }
}
