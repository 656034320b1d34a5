import AlloyLanguage
import Logging
import Prometheus
import Synchronization
import Wire

/// `loki.process`: runs the entries it receives through its `stage.*` blocks, in file order, and forwards what is
/// left to `forward_to`. Exports `receiver`.
///
/// Every batch is processed on the sender's task, under one lock (stages keep state between batches, such as CRI
/// partial lines), then forwarded outside the lock; a receiver's backpressure error reaches the sender
/// unchanged. Dropped entries are counted in `loki_process_dropped_lines_total{reason}`. A reload rebuilds the
/// stages but keeps every stage (and its state) whose configuration at the same position did not change.
public final class LokiProcess: Component, LogsReceiver {
    public static let name = "loki.process"

    /// `loki.process`'s arguments:
    ///
    ///     loki.process "pods" {
    ///       forward_to = [loki.write.default.receiver]
    ///       stage.cri {}
    ///       stage.labels { values = { level = "" } }
    ///     }
    public struct Arguments: ComponentArguments {
        /// `forward_to` (required): where processed entries go.
        public var forwardTo = LogsReceivers()
        /// The `stage.*` blocks, in file order.
        var stages: [StageConfig] = []

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
            for block in reader.allBlocks() {
                stages.append(try StageConfig(name: block.name, label: block.label, reader: block.reader))
            }
        }
    }

    private struct State: Sendable {
        var forwardTo: LogsReceivers
        var pipeline: ProcessPipeline
    }

    private let state: Mutex<State>
    private let metrics: Metrics
    private let logger: Logger
    private let clock: @Sendable () -> Int64

    public var exports: ValueObject {
        ValueObject([("receiver", .capsule(LogsReceiverCapsule.self, self))])
    }

    public convenience init(context: ComponentContext, arguments: Arguments) throws {
        try self.init(context: context, arguments: arguments, clock: LokiTranslator.wallClock)
    }

    /// With the clock stages read (`older_than`, year-less timestamps), for tests.
    init(context: ComponentContext, arguments: Arguments, clock: @escaping @Sendable () -> Int64) throws {
        logger = context.logger
        metrics = Metrics(registry: context.metrics, componentID: context.id)
        self.clock = clock
        state = Mutex(State(forwardTo: arguments.forwardTo, pipeline: ProcessPipeline(
            [], environment: StageEnvironment(registry: context.metrics, componentID: context.id))))
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        state.withLock { state in
            state.forwardTo = arguments.forwardTo
            state.pipeline = state.pipeline.rebuilt(with: arguments.stages)
        }
    }

    public func receive(_ batch: LogBatch) async throws {
        var context = StageContext(now: clock())
        let (entries, forwardTo) = state.withLock { state in
            (state.pipeline.run(batch.entries, &context), state.forwardTo)
        }
        record(context)
        guard !entries.isEmpty else { return }
        try await forwardTo.send(LogBatch(entries: entries, ack: batch.ack))
    }

    /// Sends on what stages hold past its time (`stage.multiline` blocks after `max_wait_time`, `stage.limit`
    /// entries as tokens come) by running the pipeline over an empty batch every `MultilineStage.flushInterval`;
    /// when stopping, everything they still hold (open multiline blocks, CRI partial lines, rate-limited entries).
    public func run() async throws {
        while !Task.isCancelled {
            let interval = state.withLock { MultilineStage.flushInterval($0.pipeline.configs) }
            // Without a stage that holds entries, only a reload can bring one: look again now and then.
            try? await Task.sleep(for: interval ?? .seconds(1))  // not-a-wait: the flush timer
            if interval != nil, !Task.isCancelled { await flushHeld(now: clock()) }
        }
        await flushHeld(now: clock(), releasingAll: true)
    }

    /// Sends on what the stages release at `now`; when stopping, everything they hold.
    private func flushHeld(now: Int64, releasingAll: Bool = false) async {
        var context = StageContext(now: now)
        let entries = state.withLock { state in
            releasingAll ? state.pipeline.releaseAll(&context) : state.pipeline.run([], &context)
        }
        record(context)
        guard !entries.isEmpty else { return }
        // Nobody upstream waits for these: wait out backpressure here, and count what cannot go on.
        do {
            if try await LogsReceivers.deliver(LogBatch(entries: entries), to: { self.state.withLock { $0.forwardTo } }, logger: logger) {
                return
            }
            metrics.dropped(reason: "refused_downstream").increment(by: Int64(entries.count))
        } catch {
            metrics.dropped(reason: "stopping").increment(by: Int64(entries.count))
            logger.warning("\(Self.name): \(entries.count) held entries dropped: stopped while forward_to was full")
        }
    }

    /// Counts what the stages reported for one batch and logs their warnings.
    private func record(_ context: StageContext) {
        for (reason, count) in context.dropped {
            metrics.dropped(reason: reason).increment(by: Int64(count))
        }
        if context.partialLinesFlushed > 0 {
            metrics.partialLinesFlushed.increment(by: Int64(context.partialLinesFlushed))
        }
        if context.linesTruncated > 0 {
            metrics.linesTruncated.increment(by: Int64(context.linesTruncated))
        }
        for warning in context.warnings {
            logger.warning("\(warning)")
        }
    }

    /// Alloy's metric names, each with `component_id`.
    struct Metrics: Sendable {
        private let registry: PrometheusCollectorRegistry
        private let componentID: String
        let partialLinesFlushed: Counter
        let linesTruncated: Counter

        init(registry: PrometheusCollectorRegistry, componentID: String) {
            self.registry = registry
            self.componentID = componentID
            partialLinesFlushed = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "loki_process_cri_partial_lines_flushed_total", unitName: "",
                    helpText: "A count of partial lines that were flushed prematurely due to the max_partial_lines limit being exceeded"),
                labels: [("component_id", componentID)])
            linesTruncated = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "loki_process_cri_lines_truncated_total", unitName: "",
                    helpText: "A count of lines that were truncated due to the max_partial_line_size limit"),
                labels: [("component_id", componentID)])
        }

        /// `loki_process_dropped_lines_total{reason}`; the registry returns the same counter for the same labels.
        func dropped(reason: String) -> Counter {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "loki_process_dropped_lines_total", unitName: "",
                    helpText: "A count of all log lines dropped as a result of a pipeline stage"),
                labels: [("component_id", componentID), ("reason", reason)])
        }
    }
}
