import Synchronization
import Wire

/// Validates pushes, enforces each tenant's limits and hands the valid entries to the ingester.
///
/// Called from HTTP handlers, many requests at once; all state (rate buckets, the parsed-labels cache) is
/// behind locks held for a lookup, never across I/O. Entries are validated one by one so that the valid entries
/// of a request are stored even when others in it are rejected, as Loki does.
public final class Distributor: Sendable {
    private let ingester: Ingester
    private let limits: @Sendable (String) -> Limits
    private let metrics: BackendMetrics
    private let now: @Sendable () -> Int64
    private let tenantRates = Mutex<[String: TokenBucket]>([:])
    private let labelCache = LabelCache()

    /// The outcome of one push, ready for the HTTP layer.
    public struct Outcome: Sendable {
        public var rejected = RejectedEntries()
        public var accepted = 0

        /// 204 when everything was stored, 429 when a rate or stream limit rejected something, 400 otherwise.
        public var status: Int {
            rejected.isEmpty ? 204 : (rejected.rateLimited ? 429 : 400)
        }
    }

    public init(
        ingester: Ingester, limits: @escaping @Sendable (String) -> Limits, metrics: BackendMetrics,
        now: @escaping @Sendable () -> Int64 = WallClock.nanoseconds
    ) {
        self.ingester = ingester
        self.limits = limits
        self.metrics = metrics
        self.now = now
    }

    /// Validates and stores a push. Throws, with nothing stored or acknowledged, when the ingester cannot take
    /// pushes now (its WAL is replaying or cannot be written).
    ///
    /// Applies the tenant's `discover_service_name` to the streams' labels unless `discoverServiceName` is false
    /// (OTLP pushes, whose mapping already did it from the resource), and `discover_log_levels` to every entry
    /// that passes validation.
    public func push(
        tenant: String, request: PushRequest, discoverServiceName: Bool = true
    ) async throws(Ingester.Unavailable) -> Outcome {
        let limits = limits(tenant)
        let wallNow = now()
        var outcome = Outcome()
        var valid: [Ingester.IncomingStream] = []
        valid.reserveCapacity(request.streams.count)
        var receivedLines = 0
        var receivedBytes = 0
        var validBytes = 0
        var validLines = 0

        for stream in request.streams {
            let streamBytes = stream.entries.reduce(0) { $0 + $1.line.count }
            receivedLines += stream.entries.count
            receivedBytes += streamBytes
            guard !stream.entries.isEmpty else { continue }
            let parsed: LabelCache.Parsed
            switch labelCache.parse(stream.labels, limits: limits, discoverServiceName: discoverServiceName) {
            case .success(let found):
                parsed = found
            case .failure(let failure):
                outcome.rejected.add(failure.reason, entries: stream.entries.count, bytes: streamBytes,
                                     message: failure.message)
                metrics.discarded(tenant: tenant, reason: failure.reason, entries: stream.entries.count,
                                  bytes: streamBytes)
                continue
            }
            let entries = validate(stream.entries, labels: parsed.text, level: parsed.level, tenant: tenant,
                                   limits: limits, now: wallNow, rejected: &outcome.rejected)
            guard !entries.isEmpty else { continue }
            validLines += entries.count
            validBytes += entries.reduce(0) { $0 + $1.line.count }
            valid.append(Ingester.IncomingStream(labels: parsed.labels, fingerprint: parsed.fingerprint,
                                                 entries: entries))
        }
        metrics.received(tenant: tenant, lines: receivedLines, bytes: receivedBytes)

        guard validLines > 0 else { return outcome }
        let allowed = tenantRates.withLock { buckets in
            var bucket = buckets[tenant] ?? TokenBucket(
                rate: limits.ingestionRateBytes, burst: limits.ingestionBurstBytes, now: wallNow)
            bucket.setLimits(rate: limits.ingestionRateBytes, burst: limits.ingestionBurstBytes, now: wallNow)
            let ok = bucket.allow(Double(validBytes), now: wallNow)
            buckets[tenant] = bucket
            return ok
        }
        guard allowed else {
            outcome.rejected.add(.rateLimited, entries: validLines, bytes: validBytes, message:
                "Ingestion rate limit exceeded for user \(tenant) (limit: \(Int64(clampingTruncating: limits.ingestionRateBytes)) bytes/sec) while attempting to ingest '\(validLines)' lines totaling '\(validBytes)' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased")
            metrics.discarded(tenant: tenant, reason: .rateLimited, entries: validLines, bytes: validBytes)
            return outcome
        }
        var ingesterRejected = RejectedEntries()
        try await ingester.push(tenant: tenant, streams: valid, limits: limits, rejected: &ingesterRejected)
        outcome.accepted = validLines - ingesterRejected.entries
        outcome.rejected.merge(ingesterRejected)
        return outcome
    }

    /// The entries of one stream that pass the per-entry checks, with `detected_level` added when the tenant
    /// discovers log levels (`level` is the stream's level label); the others are recorded in `rejected`.
    /// Returns the input unchanged (no copy) when every entry is valid and none changed.
    private func validate(
        _ entries: [PushEntry], labels: String, level: String?, tenant: String, limits: Limits, now: Int64,
        rejected: inout RejectedEntries
    ) -> [PushEntry] {
        // As Loki's `shouldDiscoverLogLevels`: levels are structured metadata, so only where that is allowed.
        let discoverLevels = limits.discoverLogLevels && limits.allowStructuredMetadata
        let oldest = limits.rejectOldSamples ? now.saturatingSubtracting(limits.rejectOldSamplesMaxAge) : .min
        let newest = now.saturatingAdding(limits.creationGracePeriod)
        let maxLine = limits.maxLineSize > 0 ? limits.maxLineSize : .max
        var kept: [PushEntry]? = nil
        for (i, entry) in entries.enumerated() {
            var failure: (DiscardReason, String)? = nil
            var entry = entry
            if entry.timestamp < oldest {
                failure = (.greaterThanMaxSampleAge,
                           "entry for stream '\(labels)' has timestamp too old: \(GoTime.format(nanoseconds: entry.timestamp)), oldest acceptable timestamp is: \(GoTime.format(nanoseconds: oldest))")
            } else if entry.timestamp > newest {
                failure = (.tooFarInFuture,
                           "entry for stream '\(labels)' has timestamp too new: \(GoTime.format(nanoseconds: entry.timestamp))")
            } else if entry.line.count > maxLine {
                if limits.maxLineSizeTruncate {
                    entry.line = entry.line.prefix(maxLine)
                } else {
                    failure = (.lineTooLong,
                               "Max entry size '\(maxLine)' bytes exceeded for stream '\(labels)' while adding an entry with length '\(entry.line.count)' bytes")
                }
            } else if !entry.structuredMetadata.isEmpty && !limits.allowStructuredMetadata {
                failure = (.disallowedStructuredMetadata,
                           "stream '\(labels)' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.")
            }
            if let (reason, message) = failure {
                rejected.add(reason, entries: 1, bytes: entry.line.count, message: message)
                metrics.discarded(tenant: tenant, reason: reason, entries: 1, bytes: entry.line.count)
                if kept == nil { kept = Self.prefix(entries, upTo: i) }
                continue
            }
            var changed = entry.line.count != entries[i].line.count
            if discoverLevels && LogLevelDetector.apply(to: &entry, streamLevel: level) { changed = true }
            if kept != nil {
                kept?.append(entry)
            } else if changed {
                kept = Self.prefix(entries, upTo: i)
                kept?.append(entry)
            }
        }
        return kept ?? entries
    }

    /// The entries before `index`, in an array with room for the rest.
    private static func prefix(_ entries: [PushEntry], upTo index: Int) -> [PushEntry] {
        var kept: [PushEntry] = []
        kept.reserveCapacity(entries.count)
        kept.append(contentsOf: entries[..<index])
        return kept
    }
}
