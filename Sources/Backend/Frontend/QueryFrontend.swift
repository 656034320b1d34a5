import Wire

/// Loki's query frontend, in process: splits range queries by `split_queries_by_interval`, runs shardable metric
/// pieces as shards of the streams (see `ShardPlan`), runs the work in parallel (at most `max_query_parallelism`
/// queries of one request at once) through the fair scheduler, reuses cached pieces, and merges the answers.
///
/// Splitting by time is exact: every step is evaluated on its own, so a piece's steps give the same numbers as in
/// the whole query; sharding is exact by `ShardPlan`'s rules. Called from HTTP handlers, any number at once.
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

    /// Runs a log query split at multiples of the tenant's `split_queries_by_interval`, as Loki's frontend does:
    /// pieces run one after another in the query's direction (newest first for `backward`), each asked for the
    /// entries still missing, until `limit` entries are found or the range is read. Pieces are disjoint in time, so
    /// the answer is the unsplit one.
    public func selectLogs(
        _ query: LogQuery, limits: Limits
    ) async throws -> (streams: [ResultStream], stats: QueryStats) {
        let started = ContinuousClock.now
        let pieces = Self.split(logsFrom: query.start, to: query.end, interval: limits.splitQueriesByInterval)
        guard pieces.count > 1, query.limit > 0 else {
            return try await scheduled(query.tenant) { try await querier.selectLogs(query) }
        }
        var stats = QueryStats()
        var grouped: [LabelSet: [QueryEntry]] = [:]
        var found = 0
        for range in query.direction == .backward ? Array(pieces.reversed()) : pieces {
            guard found < query.limit else { break }
            var piece = query
            piece.start = range.start
            piece.end = range.end
            piece.limit = query.limit - found
            let (streams, pieceStats) = try await scheduled(query.tenant) { try await querier.selectLogs(piece) }
            stats.add(pieceStats)
            stats.splits += 1
            for stream in streams {
                grouped[stream.labels, default: []].append(contentsOf: stream.entries)
                found += stream.entries.count
            }
        }
        var result = grouped.map { ResultStream(labels: $0.key, entries: $0.value) }
        result.sort { $0.labels.description < $1.labels.description }
        stats.entriesReturned = found
        stats.execTime = ContinuousClock.now - started
        return (result, stats)
    }

    /// Evaluates a metric query: range queries split by the tenant's interval, instant queries as one piece; each
    /// piece of a shardable query (see `ShardPlan`) runs as shards of the streams when the index statistics say it
    /// reads more than `tsdb_max_bytes_per_shard`, and the shards' answers are combined.
    public func evaluate(
        _ expression: SampleExpression, tenant: String, steps: EvaluationSteps, limits: Limits,
        deletes: DeleteFilter = .none
    ) async throws -> (result: MetricResult, stats: QueryStats) {
        let started = ContinuousClock.now
        let budget = QueryMemoryBudget(limit: settings.maxQueryMemoryBytes)
        let pieces = steps.isInstant ? [steps] : Self.split(steps, interval: limits.splitQueriesByInterval)
        let plan = ShardPlan.plan(expression)
        let text = expression.description
        let freshest = now() - limits.maxCacheFreshness
        let parallelism = max(1, limits.maxQueryParallelism)
        let maxSeries = limits.maxQuerySeries

        // Each piece: its cached answer, or how many shards to run it as.
        let prepared = try await Self.bounded(pieces.count, parallelism: parallelism) { [self] index in
            let piece = pieces[index]
            let key = ResultsCache.Key(tenant: tenant, query: text, start: piece.start, end: piece.end,
                                       step: piece.step)
            let cacheable = pieces.count > 1 && cache != nil && deletes.isEmpty && piece.end <= freshest
            if cacheable, let hit = cache?.get(key, now: now()) { return PieceWork.cached(hit) }
            return PieceWork.run(shards: try await shardCount(plan, piece: piece, tenant: tenant, limits: limits),
                                 key: cacheable ? key : nil)
        }

        // The queries to run: per piece not cached, the whole expression, or each part of the plan on each shard.
        var units: [(piece: Int, part: Int, expression: SampleExpression, shard: StreamShard?)] = []
        var shardsRun = 0
        for (index, work) in prepared.enumerated() {
            guard case .run(let shards, _) = work else { continue }
            let parts: [SampleExpression]
            switch plan {
            case .sharded(let sharded, _) where shards > 1: parts = [sharded]
            case .average(let sum, let count) where shards > 1: parts = [sum, count]
            default:
                units.append((index, 0, expression, nil))
                continue
            }
            shardsRun += shards
            for (part, partExpression) in parts.enumerated() {
                for shard in 0..<shards {
                    units.append((index, part, partExpression, StreamShard(index: shard, count: shards)))
                }
            }
        }
        let ran = try await Self.bounded(units.count, parallelism: parallelism) { [self, units] index in
            let unit = units[index]
            return try await scheduled(tenant) {
                try await querier.evaluate(unit.expression, tenant: tenant, steps: pieces[unit.piece],
                                           maxSeries: maxSeries, deletes: deletes, budget: budget, shard: unit.shard)
            }
        }

        // Each piece's answer, from the cache, its one run, or its shards' runs combined.
        var stats = QueryStats()
        var answers = Array(repeating: [MatrixSeries](), count: pieces.count)
        var byPiece = Array(repeating: [[[MatrixSeries]]](repeating: [], count: 2), count: pieces.count)
        for (unit, (result, unitStats)) in zip(units, ran) {
            stats.add(unitStats)
            if unit.shard == nil, pieces.count == 1 {
                // One piece run whole: its answer as the querier gave it (a vector for an instant query).
                stats.execTime = ContinuousClock.now - started
                return (result, stats)
            }
            byPiece[unit.piece][unit.part].append(Self.series(of: result))
        }
        for (index, work) in prepared.enumerated() {
            switch work {
            case .cached(let series):
                answers[index] = series
            case .run(let shards, let key):
                let parts = byPiece[index]
                switch plan {
                case .sharded(_, let combination) where shards > 1:
                    answers[index] = try Self.combine(parts[0], combination, maxSeries: maxSeries)
                case .average where shards > 1:
                    answers[index] = Self.divide(try Self.combine(parts[0], .sum, maxSeries: maxSeries),
                                                 by: try Self.combine(parts[1], .sum, maxSeries: maxSeries))
                default:
                    answers[index] = parts[0].first ?? []
                }
                if let key { cache?.put(key, answers[index], now: now()) }
            }
        }
        let merged = try Self.merge(answers, maxSeries: maxSeries)
        if pieces.count > 1 { stats.splits = pieces.count }
        stats.shards = shardsRun
        stats.execTime = ContinuousClock.now - started
        if steps.isInstant {
            return (.vector(timestamp: steps.start, merged.compactMap { series in
                series.values.first.map { VectorSample(labels: series.labels, value: $0) }
            }), stats)
        }
        return (.matrix(merged), stats)
    }

    /// A piece's answer from the cache, or the shards to run it as (1: whole) and its cache key when cacheable.
    private enum PieceWork: Sendable {
        case cached([MatrixSeries])
        case run(shards: Int, key: ResultsCache.Key?)
    }

    /// The shards a piece runs as: the bytes the index statistics give for the streams and time the plan's range
    /// aggregation reads, one shard per `tsdb_max_bytes_per_shard`, at least 1 and at most
    /// `max_query_parallelism`. 1 for a query that is not shardable.
    private func shardCount(
        _ plan: ShardPlan, piece: EvaluationSteps, tenant: String, limits: Limits
    ) async throws -> Int {
        guard let leaf = plan.leaf, limits.tsdbMaxBytesPerShard > 0, limits.maxQueryParallelism > 1 else { return 1 }
        let from = piece.start.saturatingSubtracting(leaf.offset).saturatingSubtracting(leaf.range)
        let through = piece.end.saturatingSubtracting(leaf.offset)
        let bytes = try await querier.indexStats(tenant: tenant, from: from / 1_000_000, through: through / 1_000_000,
                                                 matchers: leaf.log.matchers).bytes
        let perShard = limits.tsdbMaxBytesPerShard
        let wanted = bytes / perShard + (bytes % perShard == 0 ? 0 : 1)
        return min(max(1, wanted), limits.maxQueryParallelism)
    }

    /// Runs `work` for `0..<count`, at most `parallelism` at once; the results in index order.
    private static func bounded<T: Sendable>(
        _ count: Int, parallelism: Int, _ work: @escaping @Sendable (Int) async throws -> T
    ) async throws -> [T] {
        var results = [T?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var next = 0
            while next < min(parallelism, count) {
                let index = next
                group.addTask { (index, try await work(index)) }
                next += 1
            }
            for try await (index, value) in group {
                results[index] = value
                if next < count {
                    let index = next
                    group.addTask { (index, try await work(index)) }
                    next += 1
                }
            }
        }
        return results.map { value in
            guard let value else { preconditionFailure("every task of the group returned a result") }
            return value
        }
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

    /// `value` rounded down to a multiple of `interval`; the multiple below `Int64.min` saturates to `Int64.min`.
    private static func floor(_ value: Int64, _ interval: Int64) -> Int64 {
        let remainder = value % interval
        return remainder >= 0 ? value - remainder : value.saturatingSubtracting(remainder + interval)
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

    /// A piece's answer as series: a vector becomes series of one point.
    static func series(of result: MetricResult) -> [MatrixSeries] {
        switch result {
        case .matrix(let series): return series
        case .vector(let timestamp, let samples):
            return samples.map { MatrixSeries(labels: $0.labels, timestamps: [timestamp], values: [$0.value]) }
        case .scalar(let timestamp, let value):
            return [MatrixSeries(labels: LabelSet([]), timestamps: [timestamp], values: [value])]
        }
    }

    /// The shards' answers for one piece as one answer: points of series with the same labels at the same time
    /// become one, by `combination` (in shard order, so sums add up the same way every time).
    static func combine(
        _ shards: [[MatrixSeries]], _ combination: ShardPlan.Combination, maxSeries: Int
    ) throws(MetricQueryError) -> [MatrixSeries] {
        var slots: [LabelSet: Int] = [:]
        var labels: [LabelSet] = []
        var points: [[Int64: Double]] = []
        for shard in shards {
            for series in shard {
                let slot: Int
                if let found = slots[series.labels] {
                    slot = found
                } else {
                    slot = labels.count
                    slots[series.labels] = slot
                    labels.append(series.labels)
                    points.append([:])
                    if maxSeries > 0, labels.count > maxSeries { throw MetricQueryError.seriesLimit(maxSeries) }
                }
                for (timestamp, value) in zip(series.timestamps, series.values) {
                    guard let current = points[slot][timestamp] else {
                        points[slot][timestamp] = value
                        continue
                    }
                    switch combination {
                    case .sum: points[slot][timestamp] = current + value
                    // As `max` and `min` aggregate: NaN gives way to any number.
                    case .max: if current < value || current.isNaN { points[slot][timestamp] = value }
                    case .min: if current > value || current.isNaN { points[slot][timestamp] = value }
                    }
                }
            }
        }
        var combined: [MatrixSeries] = []
        combined.reserveCapacity(labels.count)
        for (slot, labelSet) in labels.enumerated() {
            let ordered = points[slot].sorted { $0.key < $1.key }
            combined.append(MatrixSeries(labels: labelSet, timestamps: ordered.map(\.key),
                                         values: ordered.map(\.value)))
        }
        combined.sort { VectorOperations.less($0.labels, $1.labels) }
        return combined
    }

    /// `avg` from its sharded `sum` and `count`: each point of `sums` divided by the count of the same series and
    /// time (both aggregate the same groups, so each sum has its count).
    static func divide(_ sums: [MatrixSeries], by counts: [MatrixSeries]) -> [MatrixSeries] {
        var byLabels: [LabelSet: [Int64: Double]] = [:]
        for series in counts {
            byLabels[series.labels] = Dictionary(zip(series.timestamps, series.values), uniquingKeysWith: { $1 })
        }
        return sums.map { series in
            var divided = series
            let counts = byLabels[series.labels] ?? [:]
            for (position, timestamp) in series.timestamps.enumerated() {
                divided.values[position] = series.values[position] / (counts[timestamp] ?? .nan)
            }
            return divided
        }
    }

    /// The most pieces a log query is split into (see `split(logsFrom:to:interval:)`).
    static let maxLogPieces = 1024

    /// `[start, end)` cut at multiples of `interval`, in time order, as Loki splits log queries; one piece when that
    /// would make more than `maxLogPieces`.
    static func split(logsFrom start: Int64, to end: Int64, interval: Int64) -> [(start: Int64, end: Int64)] {
        guard interval > 0, end > start else { return [(start, end)] }
        // Pieces run one after another, so a range of more than `maxLogPieces` intervals (a client asking for all
        // time) runs as one piece: the querier reads the nearest chunks first and stops at the limit by itself.
        let span = UInt64(bitPattern: end &- start)
        if span / UInt64(interval) >= UInt64(Self.maxLogPieces) { return [(start, end)] }
        var pieces: [(start: Int64, end: Int64)] = []
        var from = start
        while from < end {
            let boundary = Self.floor(from, interval).saturatingAdding(interval)
            let to = min(end, boundary)
            pieces.append((from, to))
            guard to > from else { break }
            from = to
        }
        return pieces
    }
}
