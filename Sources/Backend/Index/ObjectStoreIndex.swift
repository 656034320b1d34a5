import Foundation
import Wire

/// The index kept in the object store beside the chunks: per tenant and per 24h period (a "table", named as in
/// Loki's schema: `<prefix><days since epoch>`), one immutable segment object per flush.
///
/// Readers list a table's segments and load the ones they have not seen yet, so a querier (in this or another
/// process, or after a restart) sees every flushed chunk. Loaded tables stay in memory: a segment never changes,
/// so the cache needs only new segments to pick up, and a fresh load when a loaded segment is gone (the compactor
/// replaced it).
public actor ObjectStoreIndex: IndexWriter, IndexReader {
    static let periodMs: Int64 = 86_400_000

    private let store: any ObjectStore
    private let prefix: String

    private struct SeriesKey: Hashable {
        let fingerprint: UInt64
        let labels: [LabelPair]
    }

    private struct ChunkID: Hashable {
        let from: Int64
        let through: Int64
        let checksum: UInt32
    }

    private struct Table {
        var loaded = Set<String>()
        var series: [SeriesKey: (refs: [ChunkRef], ids: Set<ChunkID>)] = [:]

        mutating func merge(_ entries: [SeriesChunks]) {
            for entry in entries {
                let key = SeriesKey(fingerprint: entry.fingerprint, labels: entry.labels)
                var slot = series[key] ?? ([], [])
                for ref in entry.chunks where slot.ids.insert(ChunkID(from: ref.from, through: ref.through, checksum: ref.checksum)).inserted {
                    slot.refs.append(ref)
                }
                series[key] = slot
            }
        }
    }

    private var tables: [String: Table] = [:]

    public init(store: any ObjectStore, prefix: String = "index_") {
        self.store = store
        self.prefix = prefix
    }

    private func tableDirectory(tenant: String, day: Int64) -> String {
        "index/\(prefix)\(day)/\(tenant)/"
    }

    private static func days(from: Int64, through: Int64) -> ClosedRange<Int64> {
        let first = floorDiv(from, periodMs)
        let last = max(first, floorDiv(through, periodMs))
        return first...last
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }

    // MARK: IndexWriter

    public func add(tenant: String, entries: [SeriesChunks]) async throws {
        // A chunk belongs to every period it overlaps, as in Loki.
        var byDay: [Int64: [SeriesChunks]] = [:]
        for entry in entries {
            var perDay: [Int64: [ChunkRef]] = [:]
            for ref in entry.chunks {
                for day in Self.days(from: ref.from, through: ref.through) { perDay[day, default: []].append(ref) }
            }
            for (day, refs) in perDay {
                byDay[day, default: []].append(SeriesChunks(labels: entry.labels, fingerprint: entry.fingerprint, chunks: refs))
            }
        }
        for (day, series) in byDay.sorted(by: { $0.key < $1.key }) {
            let directory = tableDirectory(tenant: tenant, day: day)
            let name = "\(directory)\(WallClock.nanoseconds())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).eidx"
            try await store.put(name, IndexSegment.encode(tenant: tenant, series))
            let cacheKey = directory
            // Record what we wrote only if the table is cached; otherwise the next read loads it from the store.
            if tables[cacheKey] != nil {
                tables[cacheKey]?.loaded.insert(name)
                tables[cacheKey]?.merge(series)
            }
        }
    }

    // MARK: IndexReader

    /// Loads any segments of the table not seen yet. A listed segment that is gone when read was replaced by the
    /// compactor meanwhile: the table is listed again.
    private func table(tenant: String, day: Int64) async throws -> Table {
        var attempt = 0
        while true {
            do {
                return try await loadTable(tenant: tenant, day: day)
            } catch let error as ObjectStoreError where error.kind == .notFound && attempt < 3 {
                attempt += 1
            }
        }
    }

    private func loadTable(tenant: String, day: Int64) async throws -> Table {
        let directory = tableDirectory(tenant: tenant, day: day)
        let listed = try await store.list(prefix: directory)
        var table = tables[directory] ?? Table()
        // Segments were replaced (the compactor merged them, or dropped expired chunks): load what is there now.
        if !table.loaded.isSubset(of: listed.lazy.map(\.key)) {
            table = Table()
            tables[directory] = nil
        }
        for object in listed where !table.loaded.contains(object.key) && object.key.hasSuffix(".eidx") {
            let bytes = try await store.get(object.key)
            let entries = try IndexSegment.decode(bytes, tenant: tenant, key: object.key)
            // Another call may have loaded it while we waited for the store.
            table = tables[directory] ?? table
            guard !table.loaded.contains(object.key) else { continue }
            table.loaded.insert(object.key)
            table.merge(entries)
            tables[directory] = table
        }
        // A day with nothing stored is not cached: a query over years of empty days must not fill memory.
        if tables[directory] == nil && !table.loaded.isEmpty { tables[directory] = table }
        return tables[directory] ?? table
    }

    public func series(
        tenant: String, from: Int64, through: Int64, matching: @escaping @Sendable ([LabelPair]) -> Bool
    ) async throws -> [SeriesChunks] {
        var merged: [SeriesKey: (refs: [ChunkRef], ids: Set<ChunkID>)] = [:]
        for day in Self.days(from: from, through: through) {
            try Task.checkCancellation()
            let table = try await table(tenant: tenant, day: day)
            for (key, slot) in table.series where matching(key.labels) {
                var out = merged[key] ?? ([], [])
                for ref in slot.refs where ref.through >= from && ref.from <= through {
                    if out.ids.insert(ChunkID(from: ref.from, through: ref.through, checksum: ref.checksum)).inserted {
                        out.refs.append(ref)
                    }
                }
                if !out.refs.isEmpty { merged[key] = out }
            }
        }
        return merged.map { SeriesChunks(labels: $0.key.labels, fingerprint: $0.key.fingerprint, chunks: $0.value.refs) }
    }

    public func labelNames(tenant: String, from: Int64, through: Int64) async throws -> [String] {
        let found = try await series(tenant: tenant, from: from, through: through, matching: { _ in true })
        return Set(found.flatMap { $0.labels.map(\.name) }).sorted()
    }

    public func labelValues(tenant: String, name: String, from: Int64, through: Int64) async throws -> [String] {
        let found = try await series(tenant: tenant, from: from, through: through, matching: { _ in true })
        return Set(found.compactMap { series in series.labels.first(where: { $0.name == name })?.value }).sorted()
    }
}
