import Logging
import Prometheus
import ServiceLifecycle
import Wire

/// `compactor.*`: how often the compactor runs and whether it applies retention.
public struct CompactorSettings: Sendable, Equatable {
    /// `compaction_interval`.
    public var interval: Duration = .seconds(600)
    /// `retention_enabled`: delete chunks older than their stream's retention period.
    public var retentionEnabled = false
    /// `retention_delete_delay`: how long after a chunk leaves the index its object is deleted, so that queries
    /// that read the index before can still read it.
    public var deleteDelay: Duration = .seconds(2 * 3600)
    /// `retention_delete_worker_count`: chunk objects deleted at once.
    public var deleteWorkers = 150
    /// `delete_request_cancel_period`: how long after it is received a delete request can still be cancelled;
    /// the compactor carries it out only after that.
    public var deleteRequestCancelPeriod: Duration = .seconds(24 * 3600)
    /// `delete_max_interval`: the largest `max_interval` a delete request may name.
    public var deleteMaxInterval: Duration = .seconds(24 * 3600)

    public init() {}
}

/// Compacts the index and applies retention, as Loki's compactor does, on the object store every process shares.
///
/// Each run, for every tenant's table (one 24h index period):
/// 1. its segments are merged into one new segment object, dropping duplicate references, so a reader loads one
///    object per table however many flushes wrote to it;
/// 2. with retention on, references to chunks whose newest entry is older than the stream's retention period are
///    left out, and the chunk keys are written to a marker object (`compactor/markers/<delete-after>-<id>`) first;
/// 3. the old segments are deleted.
/// Delete requests are carried out in step 2 as well (Compactor+Deletes.swift). Then the sweeper deletes the chunk
/// objects of every marker whose delay has passed, and the marker.
///
/// A run cut short is harmless: a marker written without its index change is written again by the next run, a
/// new segment written beside the old ones holds the same references (readers drop duplicates), and deleting a
/// deleted object is not an error. Only one compactor may act on a store (see docs/backend.md).
public actor Compactor {
    static let markerPrefix = "compactor/markers/"
    static let dayMs: Int64 = 86_400_000

    private let store: any ObjectStore
    let chunks: ChunkStore
    private let settings: CompactorSettings
    /// A stream's retention period in nanoseconds (0: kept forever), by tenant and labels.
    private let retention: @Sendable (String, LabelSet) -> Int64
    /// The shortest retention period any of a tenant's streams can have (0: all are kept forever): a table newer
    /// than that holds nothing to expire, and one made of a single segment is then left as it is, unread.
    private let shortestRetention: @Sendable (String) -> Int64
    private let metrics: CompactorMetrics
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Delete requests to carry out (see Compactor+Deletes.swift); nil when deletion is off.
    let deletes: CompactorDeletes?
    /// This run's delete requests by tenant, and the chunks it rewrote by key.
    var pendingDeletes: [String: [CompiledDeleteRequest]] = [:]
    var rewrites: [String: Rewrite] = [:]

    /// What one run did.
    public struct Report: Sendable, Equatable {
        public var tablesCompacted = 0
        public var chunksMarked = 0
        public var chunksDeleted = 0
        public var deleteRequestsProcessed = 0
        /// Chunks written again without the lines of a delete request.
        public var chunksRewritten = 0
        public var linesDeleted = 0
    }

    /// - `now`: Unix nanoseconds.
    public init(
        store: any ObjectStore, chunks: ChunkStore, settings: CompactorSettings,
        retention: @escaping @Sendable (String, LabelSet) -> Int64,
        shortestRetention: @escaping @Sendable (String) -> Int64 = { _ in 1 },
        metrics: CompactorMetrics, logger: Logger,
        deletes: CompactorDeletes? = nil, now: @escaping @Sendable () -> Int64 = { WallClock.nanoseconds() }
    ) {
        self.shortestRetention = shortestRetention
        self.deletes = deletes
        self.store = store
        self.chunks = chunks
        self.settings = settings
        self.retention = retention
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// Runs every `interval` until the task is cancelled, the first run at once.
    public func run() async {
        while !Task.isCancelled {
            _ = await runOnce()
            try? await Task.sleep(for: settings.interval)
        }
    }

    /// One compaction and sweep. A failure is logged and counted, and the next run tries again; it stops only its
    /// own part: a table that cannot be compacted leaves the other tables, and the sweep, to go on (the tenant's
    /// delete requests then wait for the next run).
    @discardableResult
    public func runOnce() async -> Report {
        let started = ContinuousClock.now
        var report = Report()
        var ok = await attempt("loading delete requests") { try await loadDeleteRequests() }
        var failedTenants = Set<String>()
        ok = await attempt("listing the index") { failedTenants = try await compactTables(&report) } && ok
        ok = await attempt("marking delete requests processed") {
            try await finishDeleteRequests(&report, except: failedTenants)
        } && ok
        ok = await attempt("sweeping expired chunks") { try await sweep(&report) } && ok
        let failed = !ok || !failedTenants.isEmpty
        if failed {
            metrics.failed()
        } else {
            metrics.succeeded(after: ContinuousClock.now - started, at: now())
        }
        return report
    }

    /// Runs one part of a run; whether it succeeded (a failure is logged).
    private func attempt(_ what: String, _ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            return true
        } catch {
            logger.error("compactor: \(what) failed; the next run tries again", metadata: ["error": "\(error)"])
            return false
        }
    }

    // MARK: Compaction and retention

    /// Compacts every table; returns the tenants one of whose tables failed (logged).
    private func compactTables(_ report: inout Report) async throws -> Set<String> {
        let segments = try await store.list(prefix: "index/").filter { $0.key.hasSuffix(".eidx") }
        let tables = Dictionary(grouping: segments) { segment in
            String(segment.key[...(segment.key.lastIndex(of: "/") ?? segment.key.startIndex)])
        }
        var failedTenants = Set<String>()
        for (directory, objects) in tables.sorted(by: { $0.key < $1.key }) {
            // index/<table>/<tenant>/
            let parts = directory.split(separator: "/")
            guard parts.count == 3 else { continue }
            let tenant = String(parts[2])
            // A single segment is left unread unless it may hold expired chunks or the tenant has delete requests
            // to carry out.
            if objects.count == 1, pendingDeletes[tenant] == nil, !mayExpire(table: parts[1], tenant: tenant) {
                continue
            }
            do {
                try await compact(table: directory, day: Self.day(of: parts[1]), tenant: tenant,
                                  segments: objects.map(\.key).sorted(), report: &report)
            } catch {
                failedTenants.insert(tenant)
                logger.error("compactor: table failed; the other tables go on", metadata: [
                    "table": "\(directory)", "error": "\(error)",
                ])
            }
        }
        return failedTenants
    }

    /// The day number (days since 1970) a table name (`<prefix><day number>`) ends with.
    static func day(of table: Substring) -> Int64? {
        Int64(String(table.reversed().prefix(while: \.isNumber).reversed()))
    }

    /// Whether `table` (`<prefix><day number>`) may hold chunks past the tenant's shortest retention: every chunk
    /// in it ends on or after the table's day.
    private func mayExpire(table: Substring, tenant: String) -> Bool {
        guard settings.retentionEnabled else { return false }
        let shortest = shortestRetention(tenant)
        guard shortest > 0 else { return false }
        guard let day = Self.day(of: table) else { return true }
        return day * 86_400_000_000_000 < now() - shortest
    }

    private struct ChunkID: Hashable {
        let from: Int64
        let through: Int64
        let checksum: UInt32
    }

    private func compact(
        table: String, day: Int64?, tenant: String, segments: [String], report: inout Report
    ) async throws {
        var series: [[LabelPair]: SeriesChunks] = [:]
        var seen: [[LabelPair]: Set<ChunkID>] = [:]
        var duplicates = 0
        for key in segments {
            for entry in try IndexSegment.decode(try await store.get(key), tenant: tenant, key: key) {
                var merged = series[entry.labels] ?? SeriesChunks(labels: entry.labels, fingerprint: entry.fingerprint,
                                                                  chunks: [])
                for ref in entry.chunks {
                    if seen[entry.labels, default: []].insert(ChunkID(from: ref.from, through: ref.through,
                                                                       checksum: ref.checksum)).inserted {
                        merged.chunks.append(ref)
                    } else {
                        duplicates += 1
                    }
                }
                series[entry.labels] = merged
            }
        }
        var expired: [String] = []
        if settings.retentionEnabled {
            let nowMs = now() / 1_000_000
            for (labels, entry) in series {
                let period = retention(tenant, LabelSet(labels))
                guard period > 0 else { continue }
                let cutoff = nowMs - period / 1_000_000
                let (keep, drop) = (entry.chunks.filter { $0.through >= cutoff }, entry.chunks.filter { $0.through < cutoff })
                guard !drop.isEmpty else { continue }
                expired += drop.map { chunks.key(for: $0) }
                if keep.isEmpty { series[labels] = nil } else { series[labels]?.chunks = keep }
            }
        }
        // The table's day, in milliseconds: a rewritten chunk stays in this table only if it still overlaps it.
        let span = day.map { $0 * Self.dayMs...($0 + 1) * Self.dayMs - 1 }
        let deleted = try await applyDeleteRequests(tenant: tenant, table: span, series: &series,
                                                    dropped: &expired, report: &report)
        guard segments.count > 1 || !expired.isEmpty || duplicates > 0 || deleted else { return }
        // The new segment first, then the marker, then the old segments go: a run cut short leaves the old segments
        // (which the next run merges again) or an extra marker, never a marker whose chunks the index still names.
        let kept = series.values.sorted { $0.fingerprint < $1.fingerprint }
        if !kept.isEmpty {
            let name = "\(table)\(now())-compacted-\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).eidx"
            try await store.put(name, IndexSegment.encode(tenant: tenant, kept))
        }
        if !expired.isEmpty {
            let deleteAfter = now().saturatingAdding(DurationText.nanoseconds(settings.deleteDelay)) / 1_000_000_000
            let marker = "\(Self.markerPrefix)\(deleteAfter)-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            try await store.put(marker, Array(expired.joined(separator: "\n").utf8))
            metrics.marked(expired.count)
            report.chunksMarked += expired.count
        }
        for key in segments { try await store.delete(key) }
        report.tablesCompacted += 1
        logger.debug("compacted index table", metadata: [
            "table": "\(table)", "segments": "\(segments.count)", "expired_chunks": "\(expired.count)",
        ])
    }

    // MARK: Sweeper

    private func sweep(_ report: inout Report) async throws {
        let markers = try await store.list(prefix: Self.markerPrefix)
        let nowSeconds = now() / 1_000_000_000
        for marker in markers {
            let name = marker.key.dropFirst(Self.markerPrefix.count)
            guard let due = Int64(name.prefix { $0 != "-" }), due <= nowSeconds else { continue }
            let keys = String(decoding: try await store.get(marker.key), as: UTF8.self)
                .split(separator: "\n").map(String.init)
            try await deleteChunks(keys)
            try await store.delete(marker.key)
            report.chunksDeleted += keys.count
        }
        metrics.markerFiles.set(Int64(try await store.list(prefix: Self.markerPrefix).count))
    }

    /// Deletes `keys`, `deleteWorkers` at a time.
    private func deleteChunks(_ keys: [String]) async throws {
        let store = self.store
        let metrics = self.metrics
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                guard next < keys.count else { return }
                let key = keys[next]
                next += 1
                group.addTask {
                    let started = ContinuousClock.now
                    do {
                        try await store.delete(key)
                        metrics.deleted(after: ContinuousClock.now - started, ok: true)
                    } catch {
                        metrics.deleted(after: ContinuousClock.now - started, ok: false)
                        throw error
                    }
                }
            }
            for _ in 0..<max(1, settings.deleteWorkers) { start() }
            while try await group.next() != nil { start() }
        }
    }
}

/// Loki's compactor metrics (the `loki_compactor_` names of Loki 3).
public struct CompactorMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let markerFiles: Gauge

    public init(_ registry: PrometheusCollectorRegistry) {
        self.registry = registry
        markerFiles = registry.makeGauge(descriptor: .init(
            "loki_compactor_retention_sweeper_marker_files_current",
            help: "The current total of marker files valid for deletion."))
        // Present from the start, so a dashboard shows 0 rather than no data.
        for status in ["success", "failure"] { operations(status) }
        _ = registry.makeCounter(descriptor: .init("loki_compactor_retention_marker_count_total",
                                                   help: "Total count of markers created"))
    }

    @discardableResult
    private func operations(_ status: String) -> Counter {
        registry.makeCounter(
            descriptor: .init("loki_compactor_compact_tables_operation_total",
                              help: "Total number of tables compaction done by status"),
            labels: [("status", status)])
    }

    func succeeded(after elapsed: Duration, at now: Int64) {
        operations("success").increment()
        registry.makeGauge(descriptor: .init("loki_compactor_compact_tables_operation_duration_seconds",
                                             help: "Time (in seconds) spent in compacting all the tables"))
            .set(Double(elapsed.nanoseconds) / 1e9)
        registry.makeGauge(descriptor: .init(
            "loki_compactor_compact_tables_operation_last_successful_run_timestamp_seconds",
            help: "Unix timestamp of the last successful compaction run")).set(Double(now) / 1e9)
    }

    func failed() { operations("failure").increment() }

    func marked(_ count: Int) {
        registry.makeCounter(descriptor: .init("loki_compactor_retention_marker_count_total",
                                               help: "Total count of markers created")).increment(by: Int64(count))
    }

    func deleted(after elapsed: Duration, ok: Bool) {
        registry.makeDurationHistogram(
            descriptor: .init("loki_compactor_retention_sweeper_chunk_deleted_duration_seconds",
                              help: "Time (in seconds) spent in deleting chunk"),
            labels: [("status", ok ? "success" : "failure")],
            buckets: [.milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(5)])
            .recordNanoseconds(elapsed.nanoseconds)
    }
}

/// Runs the compactor every `compaction_interval` until the process shuts down.
struct CompactorService: Service {
    let compactor: Compactor

    func run() async {
        try? await cancelWhenGracefulShutdown { await compactor.run() }
    }
}
