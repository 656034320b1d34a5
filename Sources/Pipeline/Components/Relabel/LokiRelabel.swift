import AlloyLanguage
import Prometheus
import Synchronization
import Wire

/// `loki.relabel`: rewrites the labels of every entry with `rule` blocks and forwards the entries to
/// `forward_to`; an entry left without labels, or dropped by a rule, goes no further. Results are cached by label
/// set (`max_cache_size`), so a stream's labels are relabeled once, not once per entry. Exports `receiver` and
/// `rules`.
public final class LokiRelabel: Component, LogsReceiver {
    public static let name = "loki.relabel"

    public struct Arguments: ComponentArguments {
        public var forwardTo: LogsReceivers
        public var rules: [RelabelRule]
        public var maxCacheSize: Int

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
            rules = try RelabelRule.rules(reader)
            maxCacheSize = try reader.int("max_cache_size", default: 10_000)
        }

        public func validate() throws(ArgumentError) {
            if maxCacheSize <= 0 { throw ArgumentError("max_cache_size must be greater than 0") }
        }
    }

    private struct State {
        var arguments: Arguments
        /// Input labels → output labels (nil: the entry is dropped).
        var cache: [LabelSet: LabelSet?] = [:]
        /// Bumped whenever the rules change, so that results worked out under old rules are not cached.
        var generation = 0
    }

    private let state: Mutex<State>
    private let processed: Counter
    private let written: Counter
    private let cacheHits: Counter
    private let cacheMisses: Counter
    private let cacheSize: Gauge

    public var exports: ValueObject {
        ValueObject([
            ("receiver", .capsule(LogsReceiverCapsule.self, self)),
            ("rules", RelabelRules(state.withLock { $0.arguments.rules }).value),
        ])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        state = Mutex(State(arguments: arguments))
        let labels = [("component_id", context.id)]
        func name(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        let registry = context.metrics
        processed = registry.makeCounter(descriptor: name("loki_relabel_entries_processed", "Total number of log entries processed"), labels: labels)
        written = registry.makeCounter(descriptor: name("loki_relabel_entries_written", "Total number of log entries forwarded"), labels: labels)
        cacheHits = registry.makeCounter(descriptor: name("loki_relabel_cache_hits", "Total number of cache hits"), labels: labels)
        cacheMisses = registry.makeCounter(descriptor: name("loki_relabel_cache_misses", "Total number of cache misses"), labels: labels)
        cacheSize = registry.makeGauge(descriptor: name("loki_relabel_cache_size", "Cache size of relabel component"), labels: labels)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        state.withLock { state in
            if state.arguments.rules != arguments.rules {
                state.cache.removeAll()
                state.generation += 1
            }
            state.arguments = arguments
        }
    }

    /// The rules are user regexes: they run without the lock, so one batch never holds up other senders. The
    /// lock is taken twice, to look up the batch's label sets in the cache and to store what was worked out.
    public func receive(_ batch: LogBatch) async throws {
        var results: [LabelSet: LabelSet?] = [:]
        var missing: [LabelSet] = []
        var pending = Set<LabelSet>()
        let (rules, forwardTo, generation) = state.withLock { state in
            var last: LabelSet?
            for entry in batch.entries where entry.labels != last {
                last = entry.labels
                guard results[entry.labels] == nil else { continue }
                if let cached = state.cache[entry.labels] {
                    results[entry.labels] = .some(cached)
                } else if pending.insert(entry.labels).inserted {
                    missing.append(entry.labels)
                }
            }
            return (state.arguments.rules, state.arguments.forwardTo, state.generation)
        }
        var worked: [(LabelSet, LabelSet?)] = []
        worked.reserveCapacity(missing.count)
        for labels in missing {
            let result = RelabelRule.process(rules, labels.pairs).map(LabelSet.init)
            worked.append((labels, result))
            results[labels] = .some(result)
        }
        let size = state.withLock { state in
            if state.generation == generation {
                for (labels, result) in worked {
                    if state.cache.count >= state.arguments.maxCacheSize { state.cache.removeAll(keepingCapacity: true) }
                    state.cache[labels] = .some(result)
                }
            }
            return state.cache.count
        }
        var out: [LogEntry] = []
        out.reserveCapacity(batch.entries.count)
        var last: (LabelSet, LabelSet?)?
        for var entry in batch.entries {
            let result: LabelSet?
            if let last, last.0 == entry.labels {
                result = last.1
            } else {
                result = results[entry.labels] ?? nil
                last = (entry.labels, result)
            }
            guard let result else { continue }
            entry.labels = result
            out.append(entry)
        }
        let hits = batch.entries.count - missing.count
        let misses = missing.count
        processed.increment(by: Int64(batch.entries.count))
        cacheHits.increment(by: Int64(hits))
        cacheMisses.increment(by: Int64(misses))
        cacheSize.set(Double(size))
        guard !out.isEmpty else { return }
        try await forwardTo.send(LogBatch(entries: out, ack: batch.ack))
        written.increment(by: Int64(out.count))
    }
}
