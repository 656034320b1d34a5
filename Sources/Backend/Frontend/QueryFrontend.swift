import Wire

/// Loki's query frontend, in process: splits metric range queries by `split_queries_by_interval`, runs the pieces
/// in parallel (at most `max_query_parallelism` of one query at once) through the fair scheduler, reuses cached
/// pieces, and merges the pieces' matrices.
///
/// Splitting by time is exact: every step is evaluated on its own, so a piece's steps give the same numbers as in
/// the whole query. Called from HTTP handlers, any number at once.
public final class QueryFrontend: Sendable {
    public struct Settings: Sendable, Equatable {
        /// `querier.max_concurrent`: query pieces that run at once, over all tenants.
        public var maxConcurrent = 4
        /// `frontend.max_outstanding_per_tenant`: pieces one tenant may have waiting; more is refused with 429.
        public var maxOutstandingPerTenant = 2048
        /// `query_range.cache_results` and the embedded cache's `max_size_mb` (as bytes) and `ttl`.
        public var cacheResults = false
        public var cacheBytes = 100 << 20
        public var cacheTTL: Int64 = 3_600_000_000_000
        /// `querier.max_query_memory_bytes` (Estuary's): the samples one query may hold; 0 means no limit.
        public var maxQueryMemoryBytes = 1 << 30

        public init() {}
    }

    public let settings: Settings
    let querier: Querier
    let scheduler: FairScheduler
    let cache: ResultsCache?
    let now: @Sendable () -> Int64

    public init(querier: Querier, settings: Settings, now: @escaping @Sendable () -> Int64 = WallClock.nanoseconds) {
        self.querier = querier
        self.settings = settings
        self.now = now
        scheduler = FairScheduler(slots: settings.maxConcurrent, maxOutstandingPerTenant: settings.maxOutstandingPerTenant)
        cache = settings.cacheResults ? ResultsCache(capacityBytes: settings.cacheBytes, ttl: settings.cacheTTL) : nil
    }

    /// Runs a log query as one piece of work in the tenant's queue.
    public func selectLogs(_ query: LogQuery) async throws -> (streams: [ResultStream], stats: QueryStats) {
        try await scheduled(query.tenant) { try await querier.selectLogs(query) }
    }

    /// Evaluates a metric query: instant queries as one piece, range queries split by the tenant's interval.
    public func evaluate(
        _ expression: SampleExpression, tenant: String, steps: EvaluationSteps, limits: Limits,
        deletes: DeleteFilter = .none
    ) async throws -> (result: MetricResult, stats: QueryStats) {
        let started = ContinuousClock.now
        let budget = QueryMemoryBudget(limit: settings.maxQueryMemoryBytes)
        let pieces = steps.isInstant ? [steps] : Self.split(steps, interval: limits.splitQueriesByInterval)
        if pieces.count <= 1 {
            return try await scheduled(tenant) {
                try await querier.evaluate(expression, tenant: tenant, steps: steps, maxSeries: limits.maxQuerySeries,
                                           deletes: deletes, budget: budget)
            }
        }
        let text = expression.description
        let freshest = now() - limits.maxCacheFreshness
        let parallelism = max(1, limits.maxQueryParallelism)
        var results = Array(repeating: [MatrixSeries](), count: pieces.count)
        var stats = QueryStats()
        var next = 0
        try await withThrowingTaskGroup(of: (Int, [MatrixSeries], QueryStats).self) { group in
            func start(_ index: Int) {
                let piece = pieces[index]
                let key = ResultsCache.Key(tenant: tenant, query: text, start: piece.start, end: piece.end, step: piece.step)
                let cacheable = cache != nil && deletes.isEmpty && piece.end <= freshest
                group.addTask { [self] in
                    if cacheable, let hit = cache?.get(key, now: now()) { return (index, hit, QueryStats()) }
                    let (result, pieceStats) = try await scheduled(tenant) {
                        try await querier.evaluate(expression, tenant: tenant, steps: piece,
                                                   maxSeries: limits.maxQuerySeries, deletes: deletes, budget: budget)
                    }
                    guard case .matrix(let series) = result else {
                        preconditionFailure("a range evaluation answers a matrix")
                    }
                    if cacheable { cache?.put(key, series, now: now()) }
                    return (index, series, pieceStats)
                }
            }
            while next < min(parallelism, pieces.count) {
                start(next)
                next += 1
            }
            for try await (index, series, pieceStats) in group {
                results[index] = series
                stats.add(pieceStats)
                if next < pieces.count {
                    start(next)
                    next += 1
                }
            }
        }
        let merged = try Self.merge(results, maxSeries: limits.maxQuerySeries)
        stats.splits = pieces.count
        stats.execTime = ContinuousClock.now - started
        return (.matrix(merged), stats)
    }

    private func scheduled<T: Sendable>(_ tenant: String, _ work: () async throws -> T) async throws -> T {
        do {
            return try await scheduler.run(tenant: tenant, work)
        } catch let error as FairScheduler.TooManyOutstanding {
            throw APIError(status: 429, message: "too many outstanding requests: tenant \(error.tenant) has \(error.limit) query pieces waiting (frontend.max_outstanding_per_tenant); retry later",
                           retryAfterSeconds: 1)
        }
    }

    /// The steps of `steps` grouped by the intervals `[k·interval, (k+1)·interval)` they fall in, as Loki's
    /// `splitByInterval` cuts range queries.
    static func split(_ steps: EvaluationSteps, interval: Int64) -> [EvaluationSteps] {
        guard interval > 0, steps.count > 1 else { return [steps] }
        var pieces: [EvaluationSteps] = []
        var index = 0
        while index < steps.count {
            let first = steps.time(index)
            let boundary = Self.floor(first, interval).saturatingAdding(interval)
            // The last step before the boundary.
            var last = index
            let remaining = (boundary - 1 - first) / steps.step
            last = min(steps.count - 1, index + Int(remaining))
            pieces.append(EvaluationSteps(start: first, end: steps.time(last), step: steps.step, isInstant: false))
            index = last + 1
        }
        return pieces
    }

    private static func floor(_ value: Int64, _ interval: Int64) -> Int64 {
        let remainder = value % interval
        return remainder >= 0 ? value - remainder : value - remainder - interval
    }

    /// Pieces' matrices joined series by series (pieces are in time order), sorted as one query's would be.
    static func merge(_ pieces: [[MatrixSeries]], maxSeries: Int) throws(MetricQueryError) -> [MatrixSeries] {
        var slots: [LabelSet: Int] = [:]
        var merged: [MatrixSeries] = []
        for piece in pieces {
            for series in piece {
                if let slot = slots[series.labels] {
                    merged[slot].timestamps.append(contentsOf: series.timestamps)
                    merged[slot].values.append(contentsOf: series.values)
                } else {
                    slots[series.labels] = merged.count
                    merged.append(series)
                    if maxSeries > 0, merged.count > maxSeries {
                        throw MetricQueryError.seriesLimit(maxSeries)
                    }
                }
            }
        }
        merged.sort { VectorOperations.less($0.labels, $1.labels) }
        return merged
    }
}
