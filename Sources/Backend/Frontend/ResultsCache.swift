import Synchronization

/// Matrices of complete pieces of metric range queries, kept in memory up to a size, least recently used first out
/// (`query_range.cache_results` with `results_cache.cache.embedded_cache`).
///
/// A key names the tenant, the query text, the step and the piece's exact step times, so an answer is reused only
/// for exactly the same evaluation; the frontend stores only pieces that ended before the tenant's
/// `max_cache_freshness_per_query` and that no delete request touches, so a cached answer cannot go stale.
public final class ResultsCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var tenant: String
        public var query: String
        public var start: Int64
        public var end: Int64
        public var step: Int64
    }

    private struct Entry {
        var series: [MatrixSeries]
        var bytes: Int
        var stored: Int64
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    public let capacityBytes: Int
    /// How long an entry may be served after it was stored (`embedded_cache.ttl`), nanoseconds.
    public let ttl: Int64
    private let state = Mutex(State())

    public init(capacityBytes: Int, ttl: Int64) {
        self.capacityBytes = max(0, capacityBytes)
        self.ttl = ttl
    }

    public func get(_ key: Key, now: Int64) -> [MatrixSeries]? {
        state.withLock { state in
            guard var entry = state.entries[key] else {
                state.misses += 1
                return nil
            }
            if ttl > 0, now - entry.stored > ttl {
                state.entries[key] = nil
                state.bytes -= entry.bytes
                state.misses += 1
                return nil
            }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            state.hits += 1
            return entry.series
        }
    }

    public func put(_ key: Key, _ series: [MatrixSeries], now: Int64) {
        let bytes = Self.size(key, series)
        guard bytes <= capacityBytes / 4 else { return }
        state.withLock { state in
            if let old = state.entries[key] { state.bytes -= old.bytes }
            state.clock += 1
            state.entries[key] = Entry(series: series, bytes: bytes, stored: now, lastUse: state.clock)
            state.bytes += bytes
            if state.bytes > capacityBytes {
                // Evict least recently used entries until a tenth of the room is free again.
                let target = capacityBytes - capacityBytes / 10
                for (key, entry) in state.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                    guard state.bytes > target else { break }
                    state.entries[key] = nil
                    state.bytes -= entry.bytes
                }
            }
        }
    }

    /// Hits and misses so far.
    public var counts: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }

    /// An estimate of what an entry holds: points at 16 bytes, label text, and fixed overheads.
    private static func size(_ key: Key, _ series: [MatrixSeries]) -> Int {
        var bytes = 128 + key.query.utf8.count + key.tenant.utf8.count
        for one in series {
            bytes += 64 + one.timestamps.count * 16
            for pair in one.labels.pairs { bytes += 32 + pair.name.utf8.count + pair.value.utf8.count }
        }
        return bytes
    }
}
