import Wire
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
    let wal: WALMetrics
    let memoryBytes: Gauge
    let memoryCeiling: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        flushQueueLength = registry.makeGauge(
            descriptor: .init("loki_ingester_flush_queue_length", help: "The total number of series pending in the flush queue."))
        memoryChunks = registry.makeGauge(
            descriptor: .init("loki_ingester_memory_chunks", help: "The total number of chunks in memory."))
        chunksCreated = registry.makeCounter(
            descriptor: .init("loki_ingester_chunks_created_total", help: "The total number of chunks created in the ingester."))
        var flushed: [String: Counter] = [:]
        for reason in FlushReason.allCases {
            flushed[reason.rawValue] = registry.makeCounter(
                descriptor: .init("loki_ingester_chunks_flushed_total", help: "Total flushed chunks per reason."),
                labels: [("reason", reason.rawValue)])
        }
        chunksFlushed = flushed
        chunkFlushFailures = registry.makeCounter(
            descriptor: .init("loki_ingester_chunks_flush_failures_total", help: "Total number of flush failures."))
        chunkStoredBytes = registry.makeCounter(
            descriptor: .init("loki_ingester_chunk_stored_bytes_total", help: "Total bytes stored in chunks per tenant."))
        wal = WALMetrics(registry)
        memoryBytes = registry.makeGauge(descriptor: .init(
            "estuary_ingester_memory_bytes",
            help: "Bytes of chunks the ingester holds in memory (head chunks' raw lines, closed chunks encoded)."))
        memoryCeiling = registry.makeGauge(descriptor: .init(
            "estuary_ingester_memory_ceiling_bytes",
            help: "ingester.memory_ceiling: pushes are refused with 503 while estuary_ingester_memory_bytes is at it."))
        let info = registry.makeGauge(
            descriptor: .init("loki_build_info", help: "A metric with a constant '1' value labeled by version, revision and branch."),
            labels: [("version", BuildInfo.version), ("revision", BuildInfo.revision), ("branch", ""),
                     ("goversion", "")])
        info.set(Int64(1))
    }

    private func counters(_ tenant: String) -> TenantCounters {
        tenantCounters.withLock { cache in
            if let found = cache[tenant] { return found }
            let made = TenantCounters(
                linesReceived: registry.makeCounter(
                    descriptor: .init("loki_distributor_lines_received_total", help: "The total number of lines received per tenant."),
                    labels: [("tenant", tenant)]),
                bytesReceived: registry.makeCounter(
                    descriptor: .init("loki_distributor_bytes_received_total", help: "The total number of uncompressed bytes received per tenant."),
                    labels: [("tenant", tenant)]),
                streamsCreated: registry.makeCounter(
                    descriptor: .init("loki_ingester_streams_created_total", help: "The total number of streams created per tenant."),
                    labels: [("tenant", tenant)]),
                memoryStreams: registry.makeGauge(
                    descriptor: .init("loki_ingester_memory_streams", help: "The total number of streams in memory per tenant."),
                    labels: [("tenant", tenant)]))
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
                descriptor: .init("loki_discarded_samples_total", help: "The total number of samples that were discarded."),
                labels: [("reason", reason.rawValue), ("tenant", tenant)]).increment(by: Int64(entries))
        }
        registry.makeCounter(
            descriptor: .init("loki_discarded_bytes_total", help: "The total number of bytes that were discarded."),
            labels: [("reason", reason.rawValue), ("tenant", tenant)]).increment(by: Int64(bytes))
    }

    /// A push refused before it was read (the server's own bound, not the tenant's): the client retries it.
    func pushRefused(reason: String) {
        registry.makeCounter(
            descriptor: .init("estuary_push_requests_refused_total", help: "Push requests refused with 503 before their body was read, by reason."),
            labels: [("reason", reason)]).increment()
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
            descriptor: .init("loki_request_duration_seconds", help: "Time (in seconds) spent serving HTTP requests."),
            labels: [("method", method), ("route", route), ("status_code", String(status)), ("ws", "false")],
            buckets: Self.requestBuckets).recordNanoseconds(duration.nanoseconds)
    }

    private static let requestBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(25), .seconds(50), .seconds(100),
    ]

    /// The Prometheus text exposition of every metric.
    /// The registry's metrics, then the `process_*` ones read from `/proc` now.
    public func render() -> [UInt8] {
        var buffer = registry.emitToBuffer()
        ProcessMetrics.emit(into: &buffer)
        return buffer
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

/// The write-ahead log's metrics, under Loki's names.
struct WALMetrics: Sendable {
    let recordsLogged: Counter
    let loggedBytes: Counter
    let replayActive: Gauge
    let replayDuration: Gauge
    let replayFlushing: Gauge
    let corruptions: Counter
    let diskFullFailures: Counter
    let checkpointDuration: DurationHistogram
    let checkpointLoggedBytes: Counter
    let checkpointCreations: Counter
    let checkpointCreationFailures: Counter
    let checkpointDeletions: Counter

    init(_ registry: PrometheusCollectorRegistry) {
        recordsLogged = registry.makeCounter(descriptor: .init(
            "loki_ingester_wal_records_logged_total", help: "Total number of WAL records logged."))
        loggedBytes = registry.makeCounter(descriptor: .init(
            "loki_ingester_wal_logged_bytes_total", help: "Total number of bytes written to disk for WAL records."))
        replayActive = registry.makeGauge(descriptor: .init(
            "loki_ingester_wal_replay_active", help: "Whether the WAL is replaying"))
        replayDuration = registry.makeGauge(descriptor: .init(
            "loki_ingester_wal_replay_duration_seconds", help: "Time taken to replay the checkpoint and the WAL."))
        replayFlushing = registry.makeGauge(descriptor: .init(
            "loki_ingester_wal_replay_flushing", help: "Whether the wal replay is in a flushing phase due to backpressure"))
        corruptions = registry.makeCounter(descriptor: .init(
            "loki_ingester_wal_corruptions_total", help: "Total number of WAL corruptions encountered."))
        diskFullFailures = registry.makeCounter(descriptor: .init(
            "loki_ingester_wal_disk_full_failures_total", help: "Total number of disk full failures."))
        checkpointDuration = registry.makeDurationHistogram(
            descriptor: .init("loki_ingester_checkpoint_duration_seconds", help: "Time taken to create a checkpoint."),
            buckets: [.milliseconds(10), .milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(300)])
        checkpointLoggedBytes = registry.makeCounter(descriptor: .init(
            "loki_ingester_checkpoint_logged_bytes_total",
            help: "Total number of bytes written to disk for checkpointing."))
        checkpointCreations = registry.makeCounter(descriptor: .init(
            "loki_ingester_checkpoint_creations_total", help: "Total number of checkpoint creations attempted."))
        checkpointCreationFailures = registry.makeCounter(descriptor: .init(
            "loki_ingester_checkpoint_creations_failed_total", help: "Total number of checkpoint creations failed."))
        checkpointDeletions = registry.makeCounter(descriptor: .init(
            "loki_ingester_checkpoint_deletions_total", help: "Total number of checkpoint deletions attempted."))
    }
}

/// The S3 client's requests, with Loki's names: `loki_s3_request_duration_seconds{operation, status_code}` (status 0:
/// no answer, the connection failed or timed out) and `estuary_s3_request_retries_total{operation}`.
public struct S3Metrics: Sendable {
    let registry: PrometheusCollectorRegistry

    public init(_ registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func observe(operation: String, status: String, since start: ContinuousClock.Instant) {
        registry.makeDurationHistogram(
            descriptor: .init("loki_s3_request_duration_seconds", help: "Time spent doing S3 requests."),
            labels: [("operation", operation), ("status_code", status)],
            buckets: Self.buckets).recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }

    func retried(operation: String) {
        registry.makeCounter(
            descriptor: .init("estuary_s3_request_retries_total", help: "S3 requests sent again after a failure."),
            labels: [("operation", operation)]).increment()
    }

    private static let buckets: [Duration] = [
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
        .milliseconds(800), .milliseconds(1600), .milliseconds(3200), .milliseconds(6400), .milliseconds(12800),
        .milliseconds(25600), .milliseconds(51200),
    ]
}
