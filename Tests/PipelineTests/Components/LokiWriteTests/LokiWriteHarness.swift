import Prometheus
import Synchronization
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// Builds `loki.write` from Alloy text the way the graph does, runs it, and reads its metrics back from the
/// Prometheus exposition.
final class LokiWriteHarness: Sendable {
    let component: LokiWrite
    let registry: PrometheusCollectorRegistry
    let id: String
    private let running = LockedTask()

    init(_ config: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) throws {
        let (id, arguments) = try Self.decode(config)
        self.id = id
        self.registry = registry
        let context = ComponentHarness.context(id: id, dataPath: "/tmp/estuary-lokiwrite-tests", registry: registry)
        component = try LokiWrite(context: context, arguments: arguments)
    }

    /// Parses `config` (one `loki.write` block), decodes, checks for unread attributes and validates its arguments.
    static func decode(_ config: String) throws -> (id: String, arguments: LokiWrite.Arguments) {
        try ComponentHarness.decode(LokiWrite.Arguments.self, config)
    }

    /// The problem `config` is refused with, or nil when it is accepted.
    static func problem(_ config: String) -> String? {
        ComponentHarness.problem(LokiWrite.Arguments.self, config)
    }

    static func arguments(_ config: String) throws -> LokiWrite.Arguments {
        try decode(config).arguments
    }

    var receiver: any LogsReceiver {
        guard case .capsule(let capsule) = component.exports["receiver"], let receiver = capsule.payload(LogsReceiverCapsule.self)
        else { preconditionFailure("loki.write exports a receiver") }
        return receiver
    }

    func start() {
        let component = self.component
        running.set(Task { try await component.run() })
    }

    /// Cancels `run()` and waits until it returned (every endpoint drained); how long that took.
    @discardableResult
    func stop() async -> Duration {
        let started = ContinuousClock.now
        if let task = running.take() {
            task.cancel()
            _ = try? await task.value
        }
        return .now - started
    }

    func update(_ config: String) throws {
        try component.update(Self.arguments(config))
    }

    /// The value of the sample `name{labels…}` (matching every given label; others may be present), or nil.
    func metric(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        registry.sample(name, labels)
    }

    func metricText() -> String { registry.emitToString() }

    /// A `Task` handle shared with `stop()`.
    private final class LockedTask: Sendable {
        private let value = Mutex<Task<Void, any Error>?>(nil)
        func set(_ task: Task<Void, any Error>) { value.withLock { $0 = task } }
        func take() -> Task<Void, any Error>? { value.withLock { state in defer { state = nil }; return state } }
    }
}

/// A batch of entries with `labels`, one per line, timestamps 1, 2, 3… seconds.
func logBatch(_ lines: [String], labels: [String: String] = ["job": "test"]) -> LogBatch {
    let set = LabelSet(labels.map { LabelPair(name: $0.key, value: $0.value) })
    return LogBatch(entries: lines.enumerated().map { index, line in
        LogEntry(timestamp: Int64(index + 1) * 1_000_000_000, line: Array(line.utf8), labels: set)
    })
}
