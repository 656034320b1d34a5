import Synchronization

/// The memory one query may hold for its samples (`querier.max_query_memory_bytes`), shared by its pieces.
///
/// Sample collection reserves as it goes (per chunk read, so a reservation overshoots by at most one chunk's
/// samples) and each piece gives its reservation back once it has been evaluated. Past the budget the query stops
/// with a clear error instead of growing until the process is killed.
public final class QueryMemoryBudget: Sendable {
    public let limit: Int
    private let used = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// The bytes held now.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` from the budget, or throws when the query would hold more than `limit`.
    public func reserve(_ bytes: Int) throws(MetricQueryError) {
        let total = used.wrappingAdd(bytes, ordering: .relaxed).newValue
        guard limit <= 0 || total <= limit else {
            used.wrappingSubtract(bytes, ordering: .relaxed)
            throw MetricQueryError(
                "the query needs more than \(limit) bytes of memory for its samples (querier.max_query_memory_bytes); "
                    + "narrow the time range or the stream selector, or filter lines before counting them")
        }
    }

    public func release(_ bytes: Int) {
        used.wrappingSubtract(bytes, ordering: .relaxed)
    }

    /// What a series' samples cost: a timestamp and a value each.
    static func bytes(samples: Int) -> Int { samples * 16 }
}
