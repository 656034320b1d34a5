import Testing
import TestSupport
import Wire
@testable import Backend

@Suite struct QueryFrontendTests {
    typealias Engine = EngineTests.Engine
    static let second: Int64 = 1_000_000_000

    private func sample(_ query: String) throws -> SampleExpression {
        guard case .sample(let expression) = try LogQLParser.parse(query) else {
            throw MetricQueryError("\(query) is not a metric query")
        }
        return expression
    }

    /// Random entries over about 40 minutes in a few streams, ending 20 minutes before the engine's now.
    private func fill(_ engine: Engine, seed: UInt64) async throws -> (start: Int64, end: Int64) {
        var generator = SeededRandom(seed: FuzzBudget.seed(seed))
        let end = engine.clock.now - 20 * 60 * Self.second
        let start = end - 40 * 60 * Self.second
        for stream in 0..<4 {
            var lines: [(Int64, String)] = []
            for _ in 0..<Int.random(in: 50...400, using: &generator) {
                let level = ["info", "warn", "error"].randomElement(using: &generator) ?? "info"
                lines.append((Int64.random(in: start...end, using: &generator), "level=\(level) v=\(Int.random(in: 0...99, using: &generator))"))
            }
            lines.sort { $0.0 < $1.0 }
            #expect(try await engine.push(#"{app="a", pod="p\#(stream)"}"#, lines).status == 204)
            if stream == 1 { await engine.ingester.flush() }
        }
        return (start, end)
    }

    /// Splitting by any interval and merging gives the unsplit answer, and a cached answer is the same answer.
    @Test func splitMergeAndCacheNeverChangeAnAnswer() async throws {
        let engine = Engine.keepingLabels()
        let (start, end) = try await fill(engine, seed: 0x16_0_2)
        var settings = QueryFrontend.Settings()
        settings.cacheResults = true
        let frontend = QueryFrontend(querier: engine.querier, settings: settings, now: { engine.clock.now })
        var generator = SeededRandom(seed: FuzzBudget.seed(0x16_0_3))
        let queries = [
            #"count_over_time({app="a"}[1m])"#, #"sum by (pod) (rate({app="a"} |= "error"[5m]))"#,
            #"topk(2, count_over_time({app="a"}[3m]))"#, #"count_over_time({pod="p0"}[2m]) / count_over_time({pod="p0"}[4m])"#,
            #"sum(bytes_over_time({app="a"}[90s])) > 100"#, #"absent_over_time({app="a", pod="p9"}[1m])"#,
        ]
        for round in 0..<FuzzBudget.scaled(24) {
            let query = queries[round % queries.count]
            let expression = try sample(query)
            let step = Int64.random(in: 1...300, using: &generator) * Self.second
            let from = Int64.random(in: start...(start + (end - start) / 2), using: &generator)
            let steps = EvaluationSteps(start: from, end: from + Int64.random(in: 0...(end - from), using: &generator),
                                        step: step, isInstant: false)
            var limits = Limits()
            limits.maxQuerySeries = 0
            limits.splitQueriesByInterval = Int64.random(in: 1...20, using: &generator) * 60 * Self.second
            limits.maxQueryParallelism = Int.random(in: 1...8, using: &generator)
            let whole = try await engine.querier.evaluate(expression, tenant: "t", steps: steps, maxSeries: 0).result
            let split = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits).result
            #expect(split == whole, "\(query) split by \(limits.splitQueriesByInterval / Self.second)s")
            let again = try await frontend.evaluate(expression, tenant: "t", steps: steps, limits: limits).result
            #expect(again == whole, "\(query) from the cache")
        }
        #expect((frontend.cache?.counts.hits ?? 0) > 0)
    }

    @Test func piecesAreCutAtIntervalBoundaries() {
        let minute: Int64 = 60 * Self.second
        let steps = EvaluationSteps(start: 50 * minute + 30 * Self.second, end: 185 * minute, step: 25 * minute, isInstant: false)
        let pieces = QueryFrontend.split(steps, interval: 60 * minute)
        #expect(pieces.map { ($0.start / minute, $0.end / minute) }.map { "\($0.0)-\($0.1)" }
            == ["50-50", "75-100", "125-175"])
        #expect(pieces.reduce(0) { $0 + $1.count } == steps.count)
    }

    @Test func aQueryOverItsMemoryBudgetStopsWithAClearError() async throws {
        let engine = Engine.keepingLabels()
        _ = try await fill(engine, seed: 0x16_0_4)
        var settings = QueryFrontend.Settings()
        settings.maxQueryMemoryBytes = 1024
        let frontend = QueryFrontend(querier: engine.querier, settings: settings, now: { engine.clock.now })
        let steps = EvaluationSteps(start: engine.clock.now - 3600 * Self.second, end: engine.clock.now,
                                    step: 60 * Self.second, isInstant: false)
        do {
            _ = try await frontend.evaluate(try sample(#"count_over_time({app="a"} |= "v"[1h])"#), tenant: "t",
                                            steps: steps, limits: Limits())
            Issue.record("the query should have stopped")
        } catch let error as MetricQueryError {
            #expect(error.description.hasPrefix("the query needs more than 1024 bytes of memory"))
        }
        // The budget is per query: a small query still runs.
        settings.maxQueryMemoryBytes = 1 << 20
        let roomy = QueryFrontend(querier: engine.querier, settings: settings, now: { engine.clock.now })
        _ = try await roomy.evaluate(try sample(#"count_over_time({pod="p0"} |= "v"[1m])"#), tenant: "t",
                                     steps: steps, limits: Limits())
    }

    /// With one slot busy with tenant a's queue of pieces, tenant b's piece runs next, not after all of a's.
    @Test func tenantsTakeTurnsForSlots() async throws {
        let scheduler = FairScheduler(slots: 1, maxOutstandingPerTenant: 100)
        let order = LockedValue([String]())
        let gate = AsyncGate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // a's first piece holds the slot until the others are queued.
            group.addTask {
                try await scheduler.run(tenant: "a") {
                    order.update { $0.append("a0") }
                    await gate.wait()
                }
            }
            #expect(await eventually { scheduler.waiting(tenant: "a") == 0 && order.get() == ["a0"] })
            for index in 1...5 {
                group.addTask { try await scheduler.run(tenant: "a") { order.update { $0.append("a\(index)") } } }
            }
            #expect(await eventually { scheduler.waiting(tenant: "a") == 5 })
            group.addTask { try await scheduler.run(tenant: "b") { order.update { $0.append("b0") } } }
            #expect(await eventually { scheduler.waiting(tenant: "b") == 1 })
            await gate.open()
            try await group.waitForAll()
        }
        let ran = order.get()
        #expect(ran.count == 7)
        #expect(ran.firstIndex(of: "b0") == 2, "\(ran)")
    }

    @Test func aTenantOverItsQueueBoundIsRefusedAndOthersAreNot() async throws {
        let scheduler = FairScheduler(slots: 1, maxOutstandingPerTenant: 2)
        let gate = AsyncGate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await scheduler.run(tenant: "a") { await gate.wait() } }
            #expect(await eventually { scheduler.waiting(tenant: "a") == 0 })
            for _ in 0..<2 { group.addTask { try await scheduler.run(tenant: "a") {} } }
            #expect(await eventually { scheduler.waiting(tenant: "a") == 2 })
            await #expect(throws: FairScheduler.TooManyOutstanding(tenant: "a", limit: 2)) {
                try await scheduler.run(tenant: "a") {}
            }
            group.addTask { try await scheduler.run(tenant: "b") {} }
            #expect(await eventually { scheduler.waiting(tenant: "b") == 1 })
            await gate.open()
            try await group.waitForAll()
        }
    }
}

/// A one-shot gate tasks wait on until it opens.
actor AsyncGate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}
