import Prometheus
import Synchronization

extension LokiWrite {
    /// Why entries were dropped: the `reason` label of `loki_write_dropped_*`, Alloy's names where it has one.
    enum DropReason: String, CaseIterable, Sendable {
        /// Loki refused the batch with a status that is not retried (4xx other than 429), or retries ran out.
        case ingesterError = "ingester_error"
        /// 429 with `retry_on_http_429 = false`, or retries ran out on 429.
        case rateLimited = "rate_limited"
        /// The batch already held `max_streams` streams.
        case streamLimited = "stream_limited"
        /// The endpoint's queue was full while another endpoint still took the batch.
        case queueIsFull = "queue_is_full"
        /// Still queued or being sent when `drain_timeout` ran out on shutdown (Estuary's own reason).
        case drainTimeout = "drain_timeout"
    }

    /// One endpoint's metrics under Alloy's names, labelled `component_id`, `host` (the URL's `host:port`) and
    /// `tenant`. Counters are made per tenant on first use (and set to zero for every drop reason, as Alloy does,
    /// so that dashboards see the series before the first drop) and cached. Safe from any task.
    final class Metrics: Sendable {
        struct Tenant: Sendable {
            let encodedBytes: Counter
            let sentBytes: Counter
            let sentEntries: Counter
            let batchRetries: Counter
            let droppedEntries: [DropReason: Counter]
            let droppedBytes: [DropReason: Counter]
            let requestSize: ValueHistogram
        }

        private let registry: PrometheusCollectorRegistry
        private let labels: [(String, String)]
        private let tenants = Mutex<[String: Tenant]>([:])
        /// Estuary's additions, for finding where a pipeline saturates: bytes of log lines queued for the
        /// endpoint now, and the queue's capacity (`queue_config.capacity`).
        let queuedBytes: Gauge
        let queueCapacity: Gauge

        init(registry: PrometheusCollectorRegistry, componentID: String, host: String) {
            self.registry = registry
            labels = [("component_id", componentID), ("host", host)]
            queuedBytes = registry.makeGauge(
                descriptor: .init("loki_write_queue_bytes", help: "Bytes the endpoint holds, queued, being batched or in flight: lines, structured metadata and 64 bytes per entry."),
                labels: labels)
            queueCapacity = registry.makeGauge(
                descriptor: .init("loki_write_queue_capacity_bytes", help: "Bytes of log lines the endpoint's queue holds at most (queue_config.capacity)."),
                labels: labels)
        }

        func tenant(_ tenant: String) -> Tenant {
            tenants.withLock { cache in
                if let found = cache[tenant] { return found }
                let labels = self.labels + [("tenant", tenant)]
                var droppedEntries: [DropReason: Counter] = [:]
                var droppedBytes: [DropReason: Counter] = [:]
                for reason in DropReason.allCases {
                    let withReason = labels + [("reason", reason.rawValue)]
                    droppedEntries[reason] = registry.makeCounter(descriptor: Names.droppedEntries.descriptor, labels: withReason)
                    droppedBytes[reason] = registry.makeCounter(descriptor: Names.droppedBytes.descriptor, labels: withReason)
                }
                let made = Tenant(
                    encodedBytes: registry.makeCounter(descriptor: Names.encodedBytes.descriptor, labels: labels),
                    sentBytes: registry.makeCounter(descriptor: Names.sentBytes.descriptor, labels: labels),
                    sentEntries: registry.makeCounter(descriptor: Names.sentEntries.descriptor, labels: labels),
                    batchRetries: registry.makeCounter(descriptor: Names.batchRetries.descriptor, labels: labels),
                    droppedEntries: droppedEntries,
                    droppedBytes: droppedBytes,
                    requestSize: registry.makeValueHistogram(
                        descriptor: Names.requestSize.descriptor, labels: labels, buckets: Names.requestSizeBuckets))
                cache[tenant] = made
                return made
            }
        }

        func dropped(tenant: String, reason: DropReason, entries: Int, bytes: Int) {
            let counters = self.tenant(tenant)
            counters.droppedEntries[reason]?.increment(by: Int64(entries))
            counters.droppedBytes[reason]?.increment(by: Int64(bytes))
        }

        /// One push request's duration; `status` is -1 when no response came back (Alloy's label value).
        func requestDuration(tenant: String, status: Int, _ duration: Duration) {
            registry.makeDurationHistogram(
                descriptor: Names.requestDuration.descriptor,
                labels: [("status_code", String(status))] + labels + [("tenant", tenant)],
                buckets: Names.durationBuckets
            ).record(duration)
        }

        /// Names, help texts and buckets: one place, since the registry insists that they never differ.
        enum Names {
            static let encodedBytes = counter("loki_write_encoded_bytes_total", "Number of bytes encoded and ready to send.")
            static let sentBytes = counter("loki_write_sent_bytes_total", "Number of bytes sent.")
            static let sentEntries = counter(
                "loki_write_sent_entries_total", "Number of log entries sent to the ingester.")
            static let batchRetries = counter(
                "loki_write_batch_retries_total", "Number of times batches has had to be retried.")
            static let droppedEntries = counter(
                "loki_write_dropped_entries_total",
                "Number of log entries dropped because failed to be sent to the ingester after all retries.")
            static let droppedBytes = counter(
                "loki_write_dropped_bytes_total",
                "Number of bytes dropped because failed to be sent to the ingester after all retries.")
            static let requestSize = counter("loki_write_request_size_bytes", "Number of bytes for requests.")
            static let requestDuration = counter("loki_write_request_duration_seconds", "Duration of send requests.")

            static let requestSizeBuckets: [Double] = [1, 4, 16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 20480]
                .map { $0 * 1024 }
            /// Prometheus' default buckets, which Alloy's histogram uses.
            static let durationBuckets: [Duration] = [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
            ]

            /// A metric's name and help text (`MetricNameDescriptor` is not `Sendable`, so it is made on use).
            struct Spec: Sendable {
                let name: String
                let help: String
                var descriptor: MetricNameDescriptor {
                    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
                }
            }

            private static func counter(_ name: String, _ help: String) -> Spec {
                Spec(name: name, help: help)
            }
        }
    }
}
