import Prometheus
import Synchronization

/// The backend's self-metrics, under Loki's names so existing dashboards keep working.
///
/// One instance per process, shared by every module; all methods are thread-safe. Per-tenant counters are
/// created on first use and cached, so the hot path pays one dictionary lookup under a lock per request, not
/// per entry.
public final class BackendMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let tenantCounters = Mutex<[String: TenantCounters]>([:])

    private struct TenantCounters {
        let linesReceived: Counter
        let bytesReceived: Counter
        let streamsCreated: Counter
        let memoryStreams: Gauge
    }

    let flushQueueLength: Gauge
    let memoryChunks: Gauge
    let chunksCreated: Counter
    private let chunksFlushed: [String: Counter]
    let chunkFlushFailures: Counter
    let chunkStoredBytes: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        flushQueueLength = registry.makeGauge(
            name: "loki_ingester_flush_queue_length", help: "The total number of series pending in the flush queue.")
        memoryChunks = registry.makeGauge(
            name: "loki_ingester_memory_chunks", help: "The total number of chunks in memory.")
        chunksCreated = registry.makeCounter(
            name: "loki_ingester_chunks_created_total", help: "The total number of chunks created in the ingester.")
        var flushed: [String: Counter] = [:]
        for reason in FlushReason.allCases {
            flushed[reason.rawValue] = registry.makeCounter(
                name: "loki_ingester_chunks_flushed_total", labels: [("reason", reason.rawValue)],
                help: "Total flushed chunks per reason.")
        }
        chunksFlushed = flushed
        chunkFlushFailures = registry.makeCounter(
            name: "loki_ingester_chunks_flush_failures_total", help: "Total number of flush failures.")
        chunkStoredBytes = registry.makeCounter(
            name: "loki_ingester_chunk_stored_bytes_total", help: "Total bytes stored in chunks per tenant.")
        let info = registry.makeGauge(
            name: "loki_build_info",
            labels: [("version", BuildInfo.version), ("revision", BuildInfo.revision), ("branch", ""),
                     ("goversion", "")],
            help: "A metric with a constant '1' value labeled by version, revision and branch.")
        info.set(Int64(1))
    }

    private func counters(_ tenant: String) -> TenantCounters {
        tenantCounters.withLock { cache in
            if let found = cache[tenant] { return found }
            let made = TenantCounters(
                linesReceived: registry.makeCounter(
                    name: "loki_distributor_lines_received_total", labels: [("tenant", tenant)],
                    help: "The total number of lines received per tenant."),
                bytesReceived: registry.makeCounter(
                    name: "loki_distributor_bytes_received_total", labels: [("tenant", tenant)],
                    help: "The total number of uncompressed bytes received per tenant."),
                streamsCreated: registry.makeCounter(
                    name: "loki_ingester_streams_created_total", labels: [("tenant", tenant)],
                    help: "The total number of streams created per tenant."),
                memoryStreams: registry.makeGauge(
                    name: "loki_ingester_memory_streams", labels: [("tenant", tenant)],
                    help: "The total number of streams in memory per tenant."))
            cache[tenant] = made
            return made
        }
    }

    func received(tenant: String, lines: Int, bytes: Int) {
        let c = counters(tenant)
        c.linesReceived.increment(by: Int64(lines))
        c.bytesReceived.increment(by: Int64(bytes))
    }

    /// Counts entries that were not stored, with Loki's reason. The one place a discard is recorded.
    /// Counts discarded entries and bytes. A body rejected before decoding has no known entry count: as Loki, it
    /// counts only its bytes.
    public func discarded(tenant: String, reason: DiscardReason, entries: Int, bytes: Int) {
        guard entries > 0 || bytes > 0 else { return }
        if entries > 0 {
            registry.makeCounter(
                name: "loki_discarded_samples_total", labels: [("reason", reason.rawValue), ("tenant", tenant)],
                help: "The total number of samples that were discarded."
            ).increment(by: Int64(entries))
        }
        registry.makeCounter(
            name: "loki_discarded_bytes_total", labels: [("reason", reason.rawValue), ("tenant", tenant)],
            help: "The total number of bytes that were discarded."
        ).increment(by: Int64(bytes))
    }

    /// A push refused before it was read (the server's own bound, not the tenant's): the client retries it.
    func pushRefused(reason: String) {
        registry.makeCounter(
            name: "estuary_push_requests_refused_total", labels: [("reason", reason)],
            help: "Push requests refused with 503 before their body was read, by reason."
        ).increment()
    }

    func streamCreated(tenant: String) {
        let c = counters(tenant)
        c.streamsCreated.increment()
        c.memoryStreams.increment()
    }

    func streamRemoved(tenant: String) {
        counters(tenant).memoryStreams.decrement()
    }

    func chunkFlushed(reason: FlushReason, bytes: Int) {
        chunksFlushed[reason.rawValue]?.increment()
        chunkStoredBytes.increment(by: Int64(bytes))
    }

    /// Records one HTTP request's duration under `loki_request_duration_seconds`.
    func request(method: String, route: String, status: Int, duration: Duration) {
        registry.makeDurationHistogram(
            name: "loki_request_duration_seconds",
            labels: [("method", method), ("route", route), ("status_code", String(status)), ("ws", "false")],
            buckets: Self.requestBuckets,
            help: "Time (in seconds) spent serving HTTP requests."
        ).recordNanoseconds(duration.nanoseconds)
    }

    private static let requestBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(25), .seconds(50), .seconds(100),
    ]

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : product &+ attoseconds / 1_000_000_000
    }
}
