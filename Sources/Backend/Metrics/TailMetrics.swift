import Prometheus

/// Live tail metrics: Loki's querier names, plus the entries tails had to drop.
struct TailMetrics: Sendable {
    let active: Gauge
    let bytes: Counter
    let dropped: Counter

    init(_ registry: PrometheusCollectorRegistry) {
        active = registry.makeGauge(descriptor: .init("loki_querier_tail_active", help: "Number of active tailers"))
        bytes = registry.makeCounter(descriptor: .init(
            "loki_querier_tail_bytes_total", help: "total bytes tailed"))
        dropped = registry.makeCounter(descriptor: .init(
            "estuary_tail_dropped_entries_total",
            help: "Entries a live tail's buffer had no room for (a client reading slower than entries arrive); each is reported to its client in dropped_entries while at most 1,000 wait to be reported."))
    }
}
