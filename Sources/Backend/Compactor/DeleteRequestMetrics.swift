import Prometheus

/// Loki's delete-request metrics (`pkg/compactor/deletion/metrics.go`), shared by the delete API and the
/// compactor.
public struct DeleteRequestMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let pendingCount: Gauge
    let oldestPendingAge: Gauge

    public init(_ registry: PrometheusCollectorRegistry) {
        self.registry = registry
        pendingCount = registry.makeGauge(descriptor: .init(
            "loki_compactor_pending_delete_requests_count",
            help: "Count of delete requests which are over their cancellation period and have not finished processing yet"))
        oldestPendingAge = registry.makeGauge(descriptor: .init(
            "loki_compactor_oldest_pending_delete_request_age_seconds",
            help: "Age of oldest pending delete request in seconds since they are over their cancellation period"))
    }

    func received(tenant: String) {
        registry.makeCounter(
            descriptor: .init("loki_compactor_delete_requests_received_total",
                              help: "Number of delete requests received per user"),
            labels: [("user", tenant)]).increment()
    }

    func processed(tenant: String) {
        registry.makeCounter(
            descriptor: .init("loki_compactor_delete_requests_processed_total",
                              help: "Number of delete requests processed per user"),
            labels: [("user", tenant)]).increment()
    }

    func chunkSelected(tenant: String) {
        registry.makeCounter(
            descriptor: .init("loki_compactor_delete_requests_chunks_selected_total",
                              help: "Number of chunks selected while building delete plans per user"),
            labels: [("user", tenant)]).increment()
    }

    func deletedLines(tenant: String, _ count: Int) {
        registry.makeCounter(
            descriptor: .init("loki_compactor_deleted_lines", help: "Number of deleted lines per user"),
            labels: [("user", tenant)]).increment(by: Int64(count))
    }

    /// Requests past their cancel period and not processed yet: how many, and how long ago (whole seconds) the
    /// oldest one's cancel period ended.
    func pending(count: Int, oldestAgeSeconds: Int64) {
        pendingCount.set(Int64(count))
        oldestPendingAge.set(oldestAgeSeconds)
    }
}
