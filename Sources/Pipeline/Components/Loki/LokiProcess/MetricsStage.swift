import AlloyLanguage
import Prometheus
import Wire

/// Where stages that export metrics register them: the agent's registry and the component's id (the
/// `component_id` label every component metric carries).
struct StageEnvironment: Sendable {
    let registry: PrometheusCollectorRegistry
    let componentID: String

    /// For pipelines built outside a component (tests): a registry nobody serves.
    static var detached: StageEnvironment { StageEnvironment(registry: PrometheusCollectorRegistry(), componentID: "") }
}

/// `stage.metrics`: Alloy's counters, gauges and histograms from the extracted map, exposed on the agent's
/// `/metrics` as `<prefix><name>` (prefix `loki_process_custom_`) with the entry's labels and `component_id`.
///
/// - `metric.counter`: `action = "inc"` counts entries whose `source` value is present (equal to `value` when set;
///   every entry with `match_all`, or their line bytes with `count_entry_bytes`); `"add"` adds the value.
/// - `metric.gauge`: `set`, `inc`, `dec`, `add`, `sub`.
/// - `metric.histogram`: observes the value, with `buckets` (Prometheus' defaults otherwise).
/// Series not updated for `max_idle_duration` (5m) are removed. `source` defaults to the metric's name.
struct MetricsStage: ProcessStage {
    enum Kind: Sendable, Equatable {
        case counter
        case gauge
        case histogram([Double])
    }

    struct Metric: Sendable, Equatable {
        var kind: Kind
        var name: String
        var description: String
        var source: String
        var value: String?
        var action: String
        var matchAll: Bool
        var countEntryBytes: Bool
        var maxIdle: Duration

        init(kind: Kind, _ reader: ArgumentReader) throws(Diagnostic) {
            self.kind = kind
            let name = try reader.requiredString("name")
            let prefix = try reader.string("prefix", default: "loki_process_custom_")
            self.name = prefix + name
            guard RelabelRule.isValidLabelName(self.name) else {
                throw reader.error("name", "name: \(GoQuote.quote(self.name)) is not a valid metric name")
            }
            description = try reader.string("description", default: "")
            source = try reader.string("source", default: name)
            value = try reader.string("value")
            matchAll = try reader.bool("match_all", default: false)
            countEntryBytes = try reader.bool("count_entry_bytes", default: false)
            maxIdle = try reader.duration("max_idle_duration", default: .seconds(300))
            if maxIdle < .seconds(1) { throw reader.error("max_idle_duration", "max_idle_duration must be at least 1s") }
            switch kind {
            case .counter:
                action = try reader.requiredString("action")
                guard action == "inc" || action == "add" else {
                    throw reader.error("action", "action: expected \"inc\" or \"add\" for a counter, got \(GoQuote.quote(action))")
                }
                if matchAll && value != nil { throw reader.blockError("match_all and value cannot both be set") }
                if countEntryBytes && (!matchAll || action != "add") {
                    throw reader.blockError("count_entry_bytes needs match_all = true and action = \"add\"")
                }
            case .gauge:
                action = try reader.requiredString("action")
                guard ["set", "inc", "dec", "add", "sub"].contains(action) else {
                    throw reader.error("action", "action: expected one of set, inc, dec, add, sub for a gauge, got \(GoQuote.quote(action))")
                }
            case .histogram:
                action = ""
                let buckets = try reader.value("buckets").map { value throws(Diagnostic) -> [Double] in
                    guard case .array(let items) = value else { throw reader.error("buckets", "buckets: expected a list of numbers") }
                    var result: [Double] = []
                    for item in items {
                        guard case .number(let number) = item else { throw reader.error("buckets", "buckets: expected a list of numbers") }
                        result.append(number.doubleValue)
                    }
                    return result
                }
                let chosen = buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
                guard chosen == chosen.sorted(), !chosen.isEmpty else { throw reader.error("buckets", "buckets must be increasing") }
                self.kind = .histogram(chosen)
            }
        }
    }

    struct Config: Sendable, Equatable {
        var metrics: [Metric]

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            var metrics: [Metric] = []
            for block in reader.allBlocks() {
                let kind: Kind
                switch block.name {
                case "metric.counter": kind = .counter
                case "metric.gauge": kind = .gauge
                case "metric.histogram": kind = .histogram([])
                default: throw block.reader.blockError("unrecognized block name \(GoQuote.quote(block.name)) in stage.metrics; expected metric.counter, metric.gauge or metric.histogram")
                }
                metrics.append(try Metric(kind: kind, block.reader))
            }
            guard !metrics.isEmpty else { throw reader.blockError("stage.metrics needs at least one metric.* block") }
            self.metrics = metrics
        }
    }

    private enum Series {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(ValueHistogram)
    }

    private struct Key: Hashable {
        var metric: Int
        var labels: LabelSet
    }

    let config: Config
    private let environment: StageEnvironment
    private var series: [Key: (series: Series, lastUsed: Int64, value: Double)] = [:]
    private var lastSweep: Int64 = 0

    init(_ config: Config, environment: StageEnvironment) {
        self.config = config
        self.environment = environment
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            for (number, metric) in config.metrics.enumerated() {
                record(metric, number, entries[index], now: context.now)
            }
        }
        if context.now - lastSweep >= 1_000_000_000 { sweep(now: context.now) }
    }

    private mutating func record(_ metric: Metric, _ number: Int, _ entry: ProcessEntry, now: Int64) {
        let text = entry.extractedText(metric.source)
        if !metric.matchAll && text == nil { return }
        if let expected = metric.value, text != expected { return }
        let amount: Double
        switch (metric.kind, metric.action) {
        case (.counter, "inc"), (.gauge, "inc"), (.gauge, "dec"):
            amount = 1
        case (.counter, "add") where metric.countEntryBytes:
            amount = Double(entry.entry.line.count)
        default:
            guard let text, let parsed = Double(text) else { return }
            amount = parsed
        }
        let key = Key(metric: number, labels: entry.entry.labels)
        var current = series[key] ?? (make(metric, labels: entry.entry.labels), now, 0)
        current.lastUsed = now
        switch current.series {
        case .counter(let counter):
            guard amount >= 0 else { return }
            // Whole amounts keep the counter an integer one (`3`, not `3.0`, on /metrics).
            if amount == amount.rounded(), amount < 9e15 { counter.increment(by: Int64(amount)) } else { counter.increment(by: amount) }
        case .gauge(let gauge):
            switch metric.action {
            case "set": current.value = amount
            case "inc", "add": current.value += amount
            default: current.value -= amount
            }
            gauge.set(current.value)
        case .histogram(let histogram):
            histogram.record(amount)
        }
        series[key] = current
    }

    private func make(_ metric: Metric, labels: LabelSet) -> Series {
        let pairs = (labels.pairs.filter { !$0.name.hasPrefix("__") && $0.name != "component_id" }.map { ($0.name, $0.value) }
            + [("component_id", environment.componentID)]).sorted { $0.0 < $1.0 }
        let descriptor = MetricNameDescriptor(metricName: metric.name, unitName: "", helpText: metric.description)
        switch metric.kind {
        case .counter: return .counter(environment.registry.makeCounter(descriptor: descriptor, labels: pairs))
        case .gauge: return .gauge(environment.registry.makeGauge(descriptor: descriptor, labels: pairs))
        case .histogram(let buckets):
            return .histogram(environment.registry.makeValueHistogram(descriptor: descriptor, labels: pairs, buckets: buckets))
        }
    }

    /// Removes the series idle for longer than their metric's `max_idle_duration`.
    private mutating func sweep(now: Int64) {
        lastSweep = now
        for (key, entry) in series {
            let idle = config.metrics[key.metric].maxIdle
            guard now - entry.lastUsed > DurationText.nanoseconds(idle) else { continue }
            switch entry.series {
            case .counter(let counter): environment.registry.unregisterCounter(counter)
            case .gauge(let gauge): environment.registry.unregisterGauge(gauge)
            case .histogram(let histogram): environment.registry.unregisterValueHistogram(histogram)
            }
            series[key] = nil
        }
    }
}
