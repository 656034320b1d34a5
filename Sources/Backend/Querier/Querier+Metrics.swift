extension Querier {
    /// Evaluates a metric query: the samples of its range aggregations are read in parallel, then the evaluator
    /// computes every step. With a `shard`, only the streams of that shard are read (the frontend combines the
    /// shards' answers).
    public func evaluate(
        _ expression: SampleExpression, tenant: String, steps: EvaluationSteps, maxSeries: Int,
        deletes: DeleteFilter = .none, budget: QueryMemoryBudget? = nil, shard: StreamShard? = nil
    ) async throws -> (result: MetricResult, stats: QueryStats) {
        let started = ContinuousClock.now
        let evaluator = MetricEvaluator(expression: expression, steps: steps, maxSeries: maxSeries)
        let leaves = evaluator.leaves
        let kept = evaluator.keptLabels
        let fetched = try await withThrowingTaskGroup(of: (Int, [SeriesSamples], QueryStats).self) { group in
            for (index, leaf) in leaves.enumerated() {
                let span = evaluator.sampleSpan(leaf)
                var query = SampleQuery(tenant: tenant, aggregation: leaf, from: span.from, through: span.through)
                query.deletes = deletes
                query.steps = steps
                query.budget = budget
                query.keepLabels = kept[index]
                query.shard = shard
                group.addTask {
                    let (series, stats) = try await selectSamples(query)
                    return (index, series, stats)
                }
            }
            var samples = Array(repeating: [SeriesSamples](), count: leaves.count)
            var stats = QueryStats()
            for try await (index, series, leafStats) in group {
                samples[index] = series
                stats.add(leafStats)
            }
            return (samples, stats)
        }
        var stats = fetched.1
        let held = QueryMemoryBudget.bytes(samples: fetched.0.reduce(0) { $0 + $1.reduce(0) { $0 + $1.timestamps.count } })
        defer { budget?.release(held) }
        let result = try evaluator.evaluate(fetched.0)
        stats.execTime = ContinuousClock.now - started
        return (result, stats)
    }
}
