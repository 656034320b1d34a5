import Wire

/// What the compactor needs to carry out delete requests (`retention_enabled` and a tenant whose
/// `deletion_mode` is `filter-and-delete`).
public struct CompactorDeletes: Sendable {
    public var store: DeleteRequestStore
    /// `delete_request_cancel_period`: a request is carried out only once it can no longer be cancelled.
    public var cancelPeriod: Duration
    /// The tenant's `deletion_mode`.
    public var mode: @Sendable (String) -> DeletionMode
    public var metrics: DeleteRequestMetrics

    public init(store: DeleteRequestStore, cancelPeriod: Duration, mode: @escaping @Sendable (String) -> DeletionMode,
                metrics: DeleteRequestMetrics) {
        self.store = store
        self.cancelPeriod = cancelPeriod
        self.mode = mode
        self.metrics = metrics
    }
}

/// Delete requests, carried out during the compaction of each table (Loki's `DeleteRequestsManager`):
///
/// - at the start of a run, the requests whose cancel period is over, still `received`, of tenants in
///   `filter-and-delete` mode, are loaded;
/// - in each of the tenant's tables, a chunk of a matching stream that lies wholly inside a request's range, with no
///   line filter, leaves the index; a chunk only partly inside (or under a line filter) is read and written again
///   without the deleted lines, and the new chunk replaces the old one in the index (or none, if nothing is left).
///   The old chunk objects go into the retention marker, and the sweeper deletes them after
///   `retention_delete_delay`, so queries that read the index before still find them;
/// - once every table is done, the requests are marked `processed`.
///
/// A run cut short leaves its requests `received`, and the next run does them again: chunks already dropped are out
/// of the index, chunks already rewritten hold no deleted line and are left as they are, and a chunk that several
/// tables share is rewritten to the same bytes, so under the same key, each time.
extension Compactor {
    enum Rewrite {
        case unchanged
        /// The chunk without its deleted lines; nil when none is left.
        case replaced(ChunkRef?)
    }

    /// Loads the requests to carry out this run into `pendingDeletes`, and sets the pending-request gauges.
    func loadDeleteRequests() async throws {
        pendingDeletes = [:]
        rewrites = [:]
        guard let deletes else { return }
        let due = try await dueDeleteRequests(deletes)
        for request in due {
            do {
                pendingDeletes[request.tenant, default: []].append(try request.compiled())
            } catch {
                logger.error("delete request cannot be carried out: its query does not parse", metadata: [
                    "delete_request_id": "\(request.id)", "user": "\(request.tenant)", "error": "\(error)",
                ])
            }
        }
        updatePendingMetrics(due, deletes)
    }

    /// Requests still `received` whose cancel period is over, of tenants in `filter-and-delete` mode.
    private func dueDeleteRequests(_ deletes: CompactorDeletes) async throws -> [DeleteRequest] {
        let nowMs = now() / 1_000_000
        let cancelPeriod = DurationText.nanoseconds(deletes.cancelPeriod) / 1_000_000
        return try await deletes.store.all().filter { request in
            request.status == .received && nowMs >= request.createdAt.saturatingAdding(cancelPeriod)
                && deletes.mode(request.tenant) == .filterAndDelete
        }
    }

    /// Marks every request of this run processed, once all tables are done; not those of `failedTenants`, one of
    /// whose tables could not be compacted (the next run does them again).
    func finishDeleteRequests(_ report: inout Report, except failedTenants: Set<String> = []) async throws {
        guard let deletes else { return }
        let done = pendingDeletes.filter { !failedTenants.contains($0.key) }.values.flatMap { $0 }.map(\.request)
        for request in done.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
            // Cancelled with `force` during the run: its lines may be gone, but it is not recorded as processed.
            guard try await deletes.store.markProcessed(request) else { continue }
            deletes.metrics.processed(tenant: request.tenant)
            report.deleteRequestsProcessed += 1
            logger.info("delete request processed", metadata: [
                "delete_request_id": "\(request.id)", "user": "\(request.tenant)",
            ])
        }
        pendingDeletes = [:]
        rewrites = [:]
        // What is left: requests taken during the run, or whose query no longer parses.
        updatePendingMetrics(try await dueDeleteRequests(deletes), deletes)
    }

    private func updatePendingMetrics(_ pending: [DeleteRequest], _ deletes: CompactorDeletes) {
        let nowMs = now() / 1_000_000
        let cancelPeriod = DurationText.nanoseconds(deletes.cancelPeriod) / 1_000_000
        let oldest = pending.map(\.createdAt).min()
        let age = oldest.map { max(0, nowMs - $0.saturatingAdding(cancelPeriod)) / 1000 } ?? 0
        deletes.metrics.pending(count: pending.count, oldestAgeSeconds: age)
    }

    /// Applies this run's requests of `tenant` to one table's merged series: drops or replaces chunk references in
    /// `series` and adds the keys of the chunk objects no longer referenced to `dropped`. Returns whether anything
    /// changed.
    /// `table`: the table's day in milliseconds (nil when its name holds none); a rewritten chunk that no longer
    /// overlaps it is left out of this table.
    func applyDeleteRequests(
        tenant: String, table: ClosedRange<Int64>?, series: inout [[LabelPair]: SeriesChunks],
        dropped: inout [String], report: inout Report
    ) async throws -> Bool {
        guard let requests = pendingDeletes[tenant], !requests.isEmpty else { return false }
        var changed = false
        for (labels, entry) in series.sorted(by: { $0.value.fingerprint < $1.value.fingerprint }) {
            let matching = requests.filter { $0.matches(labels) }
            guard !matching.isEmpty else { continue }
            var kept: [ChunkRef] = []
            for ref in entry.chunks {
                let hits = matching.filter { $0.overlaps(from: ref.from, through: ref.through) }
                if hits.isEmpty {
                    kept.append(ref)
                    continue
                }
                deletes?.metrics.chunkSelected(tenant: tenant)
                let outcome: Rewrite = hits.contains(where: { $0.coversWhole(from: ref.from, through: ref.through) })
                    ? .replaced(nil)
                    : try await rewrite(ref, labels: labels, requests: hits, report: &report)
                switch outcome {
                case .unchanged:
                    kept.append(ref)
                case .replaced(let replacement):
                    dropped.append(chunks.key(for: ref))
                    if let replacement,
                       table.map({ replacement.through >= $0.lowerBound && replacement.from <= $0.upperBound }) ?? true {
                        kept.append(replacement)
                    }
                    changed = true
                }
            }
            if kept.isEmpty { series[labels] = nil } else { series[labels]?.chunks = kept }
        }
        return changed
    }

    /// Writes the chunk again without the lines `requests` delete; remembered for the run, since a chunk that
    /// spans midnight is in two tables.
    private func rewrite(
        _ ref: ChunkRef, labels: [LabelPair], requests: [CompiledDeleteRequest], report: inout Report
    ) async throws -> Rewrite {
        let key = chunks.key(for: ref)
        if let done = rewrites[key] { return done }
        // Any failure to read it (a 404 too: it may be a wrong bucket as well as a missing chunk) fails the table, so
        // the chunk stays in the index and the request waits for the next run.
        let bytes = try await chunks.get(ref)
        let original = try ChunkObject.decode(bytes).chunk
        let rebuilt = MemChunk(encoding: original.encoding, blockSize: Self.rewriteBlockSize, targetSize: 0)
        var deleted = 0
        var kept = 0
        try original.forEachEntry(from: .min, through: .max, direction: .forward) { timestamp, line, metadata in
            if requests.contains(where: { $0.deletes(timestamp: timestamp, line: line) }) {
                deleted += 1
            } else {
                try rebuilt.append(timestamp: timestamp, line: Array(line)[...],
                                   structuredMetadata: try metadata.resolve())
                kept += 1
            }
            return true
        }
        let outcome: Rewrite
        if deleted == 0 {
            outcome = .unchanged
        } else if kept == 0 {
            outcome = .replaced(nil)
        } else {
            let (newRef, newBytes) = try ChunkObject.encode(tenant: ref.tenant, labels: LabelSet(labels), chunk: rebuilt)
            try await chunks.put(newRef, newBytes)
            report.chunksRewritten += 1
            outcome = .replaced(newRef)
        }
        if deleted > 0 {
            deletes?.metrics.deletedLines(tenant: ref.tenant, deleted)
            report.linesDeleted += deleted
        }
        rewrites[key] = outcome
        return outcome
    }

    /// Loki's default `chunk_block_size`: a rewritten chunk's blocks are cut at this many line bytes.
    static let rewriteBlockSize = 262_144
}
