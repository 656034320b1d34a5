import Testing
import TestSupport
import Wire
@testable import Backend

/// Sharding metric queries by stream and splitting log queries by time never change an answer.
@Suite struct QueryFrontendShardingTests {
    typealias Engine = EngineTests.Engine
    static let second: Int64 = 1_000_000_000
    static let minute: Int64 = 60 * second

    private func sample(_ query: String) throws -> SampleExpression {
        guard case .sample(let expression) = try LogQLParser.parse(query) else {
            throw MetricQueryError("\(query) is not a metric query")
        }
        return expression
    }

    /// Random logfmt entries over about 40 minutes in 12 streams, some flushed to the store, ending 20 minutes
    /// before the engine's now.
    private func fill(_ engine: Engine, seed: UInt64, streams: Int = 12) async throws -> (start: Int64, end: Int64) {
        var generator = SeededRandom(seed: FuzzBudget.seed(seed))
        let end = engine.clock.now - 20 * Self.minute
        let start = end - 40 * Self.minute
        for stream in 0..<streams {
            var lines: [(Int64, String)] = []
            for _ in 0..<Int.random(in: 20...200, using: &generator) {
                let level = ["info", "warn", "error"].randomElement(using: &generator) ?? "info"
                // Values with fractions, so that sums in another order could differ in the last bits.
                let value = Double(Int.random(in: 0...9999, using: &generator)) / 7
                lines.append((Int64.random(in: start...end, using: &generator), "level=\(level) v=\(value)"))
            }
            lines.sort { $0.0 < $1.0 }
            let app = stream % 3 == 0 ? "b" : "a"
            #expect(try await engine.push(#"{app="\#(app)", pod="p\#(stream)"}"#, lines).status == 204)
            if stream % 4 == 1 { await engine.ingester.flush() }
        }
        return (start, end)
    }

    /// A random query of the kinds the mapper shards (and some it does not).
    private func randomQuery(_ generator: inout SeededRandom) -> String {
        let selector = [#"{app="a"}"#, #"{pod=~"p.*"}"#, #"{app=~"a|b", pod!="p3"}"#].randomElement(using: &generator) ?? "{}"
        let range = ["1m", "150s", "5m"].randomElement(using: &generator) ?? "1m"
        let filter = [#""#, #" |= "error""#, #" != "warn""#].randomElement(using: &generator) ?? ""
        let inner: String
        if Bool.random(using: &generator) {
            let operation = ["count_over_time", "rate", "bytes_over_time", "bytes_rate"].randomElement(using: &generator) ?? "rate"
            let stages = [#""#, #" | logfmt"#, #" | logfmt | drop pod"#, #" | label_format pod="x""#, #" | keep level"#]
                .randomElement(using: &generator) ?? ""
            inner = "\(operation)(\(selector)\(filter)\(stages) [\(range)])"
        } else {
            let operation = ["sum_over_time", "max_over_time", "min_over_time", "avg_over_time", "first_over_time",
                             "stddev_over_time"].randomElement(using: &generator) ?? "sum_over_time"
            // Loki allows no grouping on sum_over_time.
            let grouping = operation == "sum_over_time" ? ""
                : ["", " by (level)", " by (pod)", " without (pod)"].randomElement(using: &generator) ?? ""
            inner = "\(operation)(\(selector)\(filter) | logfmt | unwrap v [\(range)])\(grouping)"
        }
        guard Int.random(in: 0..<4, using: &generator) > 0 else { return inner }
        let aggregation = ["sum", "count", "max", "min", "avg"].randomElement(using: &generator) ?? "sum"
        let grouping = ["", " by (level)", " by (pod)", " without (level)", " by (app, level)"].randomElement(using: &generator) ?? ""
        let outer = "\(aggregation)\(grouping) (\(inner))"
        return Int.random(in: 0..<5, using: &generator) == 0 ? "sum by (level) (\(outer))" : outer
    }

    /// Sums of fractions may add up in another order across shards: equal within a tiny relative error. Counts
    /// and anything not summed must be equal exactly.
    private func same(_ a: MetricResult, _ b: MetricResult, exact: Bool) -> Bool {
        let (x, y) = (QueryFrontend.series(of: a), QueryFrontend.series(of: b))
        guard x.count == y.count else { return false }
        for (s, t) in zip(x, y) {
            guard s.labels == t.labels, s.timestamps == t.timestamps else { return false }
            for (u, v) in zip(s.values, t.values) where u != v {
                if exact || u.isNaN != v.isNaN { return false }
                if u.isNaN { continue }
                guard abs(u - v) <= 1e-9 * max(abs(u), abs(v)) else { return false }
            }
        }
        return true
    }

    @Test func shardedSplitAndMergedAnswersAreTheUnshardedOnes() async throws {
        let engine = Engine.keepingLabels()
        let (start, end) = try await fill(engine, seed: 0x5A_0_1)
        var settings = QueryFrontend.Settings()
        settings.cacheResults = true
        let frontend = QueryFrontend(querier: engine.querier, settings: settings, now: { engine.clock.now })
        var generator = SeededRandom(seed: FuzzBudget.seed(0x5A_0_2))
        var sharded = 0
        for _ in 0..<FuzzBudget.scaled(120) {
            let query = randomQuery(&generator)
            let expression = try sample(query)
            let instant = Int.random(in: 0..<4, using: &generator) == 0
            let from = Int64.random(in: start...(start + (end - start) / 2), using: &generator)
            let steps = instant
                ? EvaluationSteps(start: from, end: from, step: 1, isInstant: true)
                : EvaluationSteps(start: from, end: from + Int64.random(in: 0...(end - from), using: &generator),
                                  step: Int64.random(in: 1...300, using: &generator) * Self.second, isInstant: false)
            var limits = Limits()
            limits.maxQuerySeries = 0
            limits.tsdbMaxBytesPerShard = 1
            limits.maxQueryParallelism = Int.random(in: 2...9, using: &generator)
            limits.splitQueriesByInterval = Int64.random(in: 0...20, using: &generator) * Self.minute
            let whole = try await engine.querier.evaluate(expression, tenant: "t", steps: steps, maxSeries: 0).result
            let (answer, stats) = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits)
            let exact = !query.contains("rate") && !query.contains("avg") && !query.contains("unwrap")
            #expect(same(answer, whole, exact: exact), "\(query) with \(limits.maxQueryParallelism) shards")
            if case .vector = whole { #expect(answer == whole || !exact, "\(query) instant") }
            if ShardPlan.plan(expression) != .unsharded, stats.shards > 0 { sharded += 1 }
            if ShardPlan.plan(expression) == .unsharded { #expect(stats.shards == 0, "\(query)") }
        }
        #expect(sharded >= FuzzBudget.scaled(120) / 4, "most random queries are shardable")
    }

    @Test(arguments: [
        (#"count_over_time({app="a"}[1m])"#, "sum"),
        (#"rate({app="a"} | logfmt [1m])"#, "sum"),
        (#"quantile_over_time(0.5, {app="a"} | logfmt | unwrap v [1m])"#, "-"),
        (#"first_over_time({app="a"} | logfmt | unwrap v [1m])"#, "-"),
        (#"max_over_time({app="a"} | logfmt | unwrap v [1m]) by (level)"#, "max"),
        (#"min_over_time({app="a"} | logfmt | unwrap v [1m])"#, "min"),
        (#"sum_over_time({app="a"} | logfmt | unwrap v [1m])"#, "sum"),
        (#"avg_over_time({app="a"} | logfmt | unwrap v [1m]) by (level)"#, "-"),
        (#"rate({app="a"} | logfmt | drop pod [1m])"#, "sum"),
        (#"absent_over_time({app="a"}[1m])"#, "-"),
        (#"sum by (level) (count_over_time({app="a"} | logfmt [1m]))"#, "sum"),
        (#"sum by (level) (quantile_over_time(0.9, {app="a"} | logfmt | unwrap v [1m]))"#, "-"),
        (#"sum(max_over_time({app="a"} | logfmt | unwrap v [1m]))"#, "-"),
        (#"count(rate({app="a"}[1m]))"#, "sum"),
        (#"count(rate({app="a"} | keep level [1m]))"#, "-"),
        (#"max by (level) (rate({app="a"} | logfmt [1m]))"#, "max"),
        (#"min(count_over_time({app="a"} | label_format pod="x" [1m]))"#, "-"),
        (#"max(sum by (level) (rate({app="a"}[1m])))"#, "-"),
        (#"avg by (level) (rate({app="a"} | logfmt [1m]))"#, "avg"),
        (#"avg(sum_over_time({app="a"} | logfmt | unwrap v [1m]))"#, "-"),
        (#"topk(2, rate({app="a"}[1m]))"#, "-"),
        (#"bottomk(2, sum by (pod) (rate({app="a"}[1m])))"#, "-"),
        (#"stddev(rate({app="a"}[1m]))"#, "-"),
        (#"sort(rate({app="a"}[1m]))"#, "-"),
        (#"sum(rate({app="a"}[1m])) / sum(rate({app="b"}[1m]))"#, "-"),
        (#"sum(rate({app="a"}[1m])) * 2"#, "-"),
        (#"label_replace(rate({app="a"}[1m]), "x", "$1", "pod", "(.*)")"#, "-"),
        (#"sum(sum by (level) (count_over_time({app="a"} | logfmt [1m])))"#, "sum"),
    ])
    func theMapperShardsOnlyWhereCombiningIsExact(query: String, expected: String) throws {
        let plan = ShardPlan.plan(try sample(query))
        let got: String
        switch plan {
        case .unsharded: got = "-"
        case .sharded(_, .sum): got = "sum"
        case .sharded(_, .max): got = "max"
        case .sharded(_, .min): got = "min"
        case .average: got = "avg"
        }
        #expect(got == expected, "\(query)")
    }

    @Test func statsCountTheShardsRunAndTheByteTargetSetsTheirNumber() async throws {
        let engine = Engine.keepingLabels()
        let (start, end) = try await fill(engine, seed: 0x5A_0_3)
        let frontend = QueryFrontend(querier: engine.querier, settings: QueryFrontend.Settings(), now: { engine.clock.now })
        let expression = try sample(#"sum by (level) (count_over_time({app="a"} | logfmt [5m]))"#)
        let steps = EvaluationSteps(start: start + 10 * Self.minute, end: end, step: 60 * Self.second, isInstant: false)
        var limits = Limits()
        limits.splitQueriesByInterval = 0
        limits.maxQueryParallelism = 5
        limits.tsdbMaxBytesPerShard = 1
        let whole = try await engine.querier.evaluate(expression, tenant: "t", steps: steps, maxSeries: 500).result
        var (answer, stats) = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits)
        #expect(answer == whole)
        #expect(stats.shards == 5)
        #expect(stats.splits == 0)

        // About three times the target: three shards.
        let bytes = try await engine.querier.indexStats(
            tenant: "t", from: (steps.start - 5 * Self.minute) / 1_000_000, through: steps.end / 1_000_000,
            matchers: [try LabelMatcher(name: "app", kind: .equal, value: "a")]).bytes
        limits.tsdbMaxBytesPerShard = bytes / 3 + 1
        (answer, stats) = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits)
        #expect(answer == whole)
        #expect(stats.shards == 3)

        // The default target: one shard, not sharded.
        limits.tsdbMaxBytesPerShard = Limits().tsdbMaxBytesPerShard
        (answer, stats) = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits)
        #expect(answer == whole)
        #expect(stats.shards == 0)

        // Split into pieces, each sharded.
        limits.tsdbMaxBytesPerShard = 1
        limits.splitQueriesByInterval = 10 * Self.minute
        (answer, stats) = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits)
        let pieces = QueryFrontend.split(steps, interval: limits.splitQueriesByInterval).count
        #expect(pieces > 2)
        #expect(answer == whole)
        #expect(stats.splits == pieces)
        #expect(stats.shards == 5 * pieces)
    }

    // MARK: Log queries

    private func entries(_ streams: [ResultStream]) -> [String] {
        streams.flatMap { stream in
            stream.entries.map { "\(stream.labels) \($0.timestamp) \(String(decoding: $0.line, as: UTF8.self))" }
        }
    }

    /// All of time, or a range at the edge of it, splits without overflowing; more than `maxLogPieces` intervals
    /// make one piece.
    @Test func logSplittingSurvivesTheEdgesOfTime() {
        let hour: Int64 = 3_600_000_000_000
        #expect(QueryFrontend.split(logsFrom: .min, to: .max, interval: hour).count == 1)
        let early = QueryFrontend.split(logsFrom: .min, to: .min + 3 * hour, interval: hour)
        #expect(early.first?.start == .min && early.last?.end == .min + 3 * hour && early.count <= 4)
        let late = QueryFrontend.split(logsFrom: .max - 3 * hour, to: .max, interval: hour)
        #expect(late.last?.end == .max && late.count <= 4)
        #expect(QueryFrontend.split(logsFrom: 0, to: 1023 * hour, interval: hour).count == 1023)
        #expect(QueryFrontend.split(logsFrom: 0, to: 1024 * hour, interval: hour).count == 1)
    }

    @Test func splitLogQueriesAnswerAsUnsplitOnesInBothDirections() async throws {
        let engine = Engine.keepingLabels()
        let (start, end) = try await fill(engine, seed: 0x5A_0_4, streams: 6)
        // Entries at the same time in several streams, some on piece boundaries.
        let boundary = (start / (5 * Self.minute) + 2) * 5 * Self.minute
        for pod in 0..<3 {
            #expect(try await engine.push(#"{app="a", pod="p\#(pod)"}"#,
                                          [(boundary, "level=info v=1"), (boundary + Self.minute, "level=warn v=2")]).status == 204)
        }
        let frontend = QueryFrontend(querier: engine.querier, settings: QueryFrontend.Settings(), now: { engine.clock.now })
        var generator = SeededRandom(seed: FuzzBudget.seed(0x5A_0_5))
        for _ in 0..<FuzzBudget.scaled(60) {
            let selector = [#"{app="a"}"#, #"{pod=~"p.*"} |= "error""#, #"{app="b"} | logfmt | v > 500"#]
                .randomElement(using: &generator) ?? "{}"
            guard case .log(let log) = try LogQLParser.parse(selector) else { throw MetricQueryError("not a log query") }
            let (filters, pipeline) = try LogPipeline.split(log.stages)
            let from = Int64.random(in: (start - Self.minute)...boundary, using: &generator)
            let to = Int64.random(in: boundary...(end + Self.minute), using: &generator)
            var query = LogQuery(tenant: "t", matchers: log.matchers, lineFilters: filters, start: from, end: to,
                                 limit: Int.random(in: 1...400, using: &generator),
                                 direction: Bool.random(using: &generator) ? .forward : .backward)
            query.pipeline = pipeline
            var limits = Limits()
            limits.splitQueriesByInterval = Int64.random(in: 1...15, using: &generator) * Self.minute
            let whole = try await engine.querier.selectLogs(query)
            let split = try await frontend.selectLogs(query, limits: limits)
            #expect(entries(split.streams) == entries(whole.streams),
                    "\(selector) \(query.direction) limit \(query.limit) by \(limits.splitQueriesByInterval / Self.minute)m")
            #expect(split.stats.entriesReturned == whole.stats.entriesReturned)
        }
    }

    @Test func anEntryOnAPieceBoundaryIsReadOnce() async throws {
        let engine = Engine.keepingLabels()
        let boundary = (engine.clock.now / Self.minute - 30) * Self.minute
        #expect(try await engine.push(#"{app="a"}"#, [(boundary - 1, "before"), (boundary, "on"), (boundary + 1, "after")])
            .status == 204)
        let frontend = QueryFrontend(querier: engine.querier, settings: QueryFrontend.Settings(), now: { engine.clock.now })
        var limits = Limits()
        limits.splitQueriesByInterval = Self.minute
        for direction in [Direction.forward, .backward] {
            let query = LogQuery(tenant: "t", matchers: [try LabelMatcher(name: "app", kind: .equal, value: "a")],
                                 lineFilters: LineFilterChain(), start: boundary - Self.minute, end: boundary + Self.minute,
                                 limit: 100, direction: direction)
            let (streams, stats) = try await frontend.selectLogs(query, limits: limits)
            let lines = streams.flatMap { $0.entries.map { String(decoding: $0.line, as: UTF8.self) } }
            #expect(lines == (direction == .forward ? ["before", "on", "after"] : ["after", "on", "before"]))
            #expect(stats.splits == 2)
        }
    }
}
