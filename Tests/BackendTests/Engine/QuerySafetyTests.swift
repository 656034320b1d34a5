import Foundation
import Testing
import Wire
@testable import Backend

/// A query's own code (matchers, line filters) never holds up writers, and a query past its timeout stops.
@Suite struct QuerySafetyTests {
    @Test func queryFiltersAndMatchersRunWithoutTheShardLock() async throws {
        let engine = EngineTests.Engine()
        let t = engine.clock.now
        // The distributor adds service_name; `pushNow` goes straight to the ingester, so it names the same stream.
        let stream = #"{job="a", service_name="a"}"#
        #expect(try await engine.push(stream, [(t, "one")]).status == 204)
        // A writer to the same stream must get through while the query's matcher and then its filter run; with
        // the shard lock held it would wait until the deadline.
        func pushGetsThrough(_ line: String, _ offset: Int64) -> Bool {
            let pushed = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                engine.pushNow(stream, [(t + offset, line)])
                pushed.signal()
            }
            return pushed.wait(timeout: .now() + 60) == .success
        }
        var matcherSawWriter = false
        var filterSawWriter = false
        let snapshots = try engine.ingester.snapshot(
            tenant: "t", from: t - 1_000_000, through: t + 1_000_000, direction: .forward, limit: 100,
            matches: { _ in
                if !matcherSawWriter { matcherSawWriter = pushGetsThrough("from matcher", 1) }
                return true
            },
            lineFilter: { _ in
                if !filterSawWriter { filterSawWriter = pushGetsThrough("from filter", 2) }
                return true
            })
        #expect(matcherSawWriter)
        #expect(filterSawWriter)
        // The query sees the stream as it was when its chunk was copied: the matcher's push, not the filter's.
        #expect(snapshots.flatMap(\.headEntries).map { String(decoding: $0.line, as: UTF8.self) } == ["one", "from matcher"])
    }

    @Test func aCancelledQueryStops() async throws {
        let engine = EngineTests.Engine()
        let t = engine.clock.now
        #expect(try await engine.push(#"{job="a"}"#, (0..<100).map { (t - 1000 + Int64($0), "line \($0)") }).status == 204)
        await engine.ingester.flush()
        #expect(try await engine.push(#"{job="a"}"#, [(t, "in memory")]).status == 204)
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await engine.select(#"{job="a"}"#)
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(try await engine.select(#"{job="a"}"#).count == 101)
    }

    @Test func queryTimeoutAnswers504AndCancelsTheWork() async throws {
        var limits = Limits()
        limits.queryTimeout = 1_000_000
        let started = ContinuousClock.now
        do {
            _ = try await LokiAPI.withQueryTimeout(limits) {
                // Work that would run for ten minutes unless cancelled.
                try await Task.sleep(for: .seconds(600))  // not-a-wait: work that must be cancelled by the timeout
                return 1
            }
            Issue.record("the timeout did not fire")
        } catch let error as APIError {
            #expect(error.status == 504)
            #expect(error.message.hasPrefix("request timed out, decrease the duration of the request"))
        }
        #expect(ContinuousClock.now - started < .seconds(300))
        limits.queryTimeout = 60_000_000_000
        #expect(try await LokiAPI.withQueryTimeout(limits) { 7 } == 7)
    }

    @Test func chunksNeverSpanMoreThanMaxChunkAge() async throws {
        var limits = Limits()
        limits.rejectOldSamples = false
        let engine = EngineTests.Engine(limits: limits)
        let t = engine.clock.now
        // 1970 and today in one stream: without the cut this chunk would be indexed in 20,000 daily tables.
        #expect(try await engine.push(#"{job="span"}"#, [(Int64.min, "1677"), (1, "1970"), (t, "today")]).status == 204)
        await engine.ingester.flush()
        let tables = Set(try await engine.store.list(prefix: "index/").map { $0.key.split(separator: "/")[1] })
        #expect(tables == ["index_-106752", "index_0", "index_\(t / 86_400_000_000_000)"])
    }
}
