import Logging
import Prometheus
import Synchronization
import Testing
import TestSupport
import Wire

@testable import Backend

/// Delete requests carried out by the compactor on an in-memory store, and hidden from queries before that.
@Suite struct CompactorDeletesTests {
    static let minute: Int64 = 60_000_000_000
    static let hour: Int64 = 60 * minute

    /// An engine with four streams of tenant `t` and one of tenant `u`, ten lines each, a minute apart, flushed
    /// to the store.
    static func engine() async throws -> EngineTests.Engine {
        let engine = EngineTests.Engine()
        let t = engine.clock.now
        for (tenant, app) in [("t", "whole"), ("t", "part"), ("t", "filter"), ("t", "other"), ("u", "whole")] {
            let lines = (0..<10).map { i in
                (t - 50 * minute + Int64(i) * minute, "\(app) \(i) \(i % 2 == 0 ? "keep" : "drop")")
            }
            #expect(try await engine.push(tenant: tenant, "{app=\"\(app)\"}", lines).status == 204)
        }
        await engine.ingester.flush()
        return engine
    }

    static func lines(_ engine: EngineTests.Engine, tenant: String = "t", _ selector: String,
                      deletes: DeleteFilter = .none) async throws -> [String] {
        let parsed = try LogSelection.parse(selector)
        var query = LogQuery(tenant: tenant, matchers: parsed.matchers, lineFilters: parsed.lineFilters,
                             start: engine.clock.now - 2 * hour, end: engine.clock.now + 1, limit: 1000,
                             direction: .forward)
        query.deletes = deletes
        let (streams, _) = try await engine.querier.selectLogs(query)
        return streams.flatMap { $0.entries }.sorted { $0.timestamp < $1.timestamp }
            .map { String(decoding: $0.line, as: UTF8.self) }
    }

    static func all(_ app: String) -> [String] {
        (0..<10).map { "\(app) \($0) \($0 % 2 == 0 ? "keep" : "drop")" }
    }

    @Test func wholePartialAndLineFilterDeletesAfterTheCancelPeriodOtherStreamsAndTenantsUntouched() async throws {
        let engine = try await Self.engine()
        let store = engine.store
        let requests = DeleteRequestStore(store: store)
        let t = engine.clock.now
        let nowMs = t / 1_000_000
        let ms = { (ns: Int64) in ns / 1_000_000 }
        _ = try await requests.add(tenant: "t", .init(query: #"{app="whole"}"#, start: ms(t - 2 * Self.hour), end: nowMs),
                                   now: nowMs)
        // Lines 3, 4 and 5 of "part".
        _ = try await requests.add(tenant: "t", .init(query: #"{app="part"}"#, start: ms(t - 47 * Self.minute),
                                                      end: ms(t - 45 * Self.minute)), now: nowMs)
        _ = try await requests.add(tenant: "t", .init(query: #"{app="filter"} |= "drop""#, start: ms(t - 2 * Self.hour),
                                                      end: nowMs), now: nowMs)

        let clock = Atomic<Int64>(t + 1_000_000_000)
        let registry = PrometheusCollectorRegistry()
        var settings = CompactorSettings()
        settings.deleteDelay = .seconds(7200)
        let compactor = Compactor(
            store: store, chunks: ChunkStore(objects: store, keyStyle: .objectStore), settings: settings,
            retention: { _, _ in 0 }, metrics: CompactorMetrics(registry), logger: Logger(label: "test"),
            deletes: CompactorDeletes(store: requests, cancelPeriod: .seconds(24 * 3600), mode: { _ in .filterAndDelete },
                                      metrics: DeleteRequestMetrics(registry)),
            now: { clock.load(ordering: .relaxed) })
        let chunkKeysBefore = Set(store.keys.filter { !$0.hasPrefix("index/") && !$0.hasPrefix("compactor/") })

        // Within the cancel period nothing is deleted.
        #expect(await compactor.runOnce().deleteRequestsProcessed == 0)
        #expect(try await Self.lines(engine, #"{app="whole"}"#) == Self.all("whole"))

        clock.add(25 * Self.hour, ordering: .relaxed)
        let report = await compactor.runOnce()
        #expect(report.deleteRequestsProcessed == 3)
        #expect(report.chunksRewritten == 2)
        #expect(report.linesDeleted == 3 + 5)
        #expect(report.chunksMarked == 3)
        #expect(try await requests.list(tenant: "t").map(\.status) == [.processed, .processed, .processed])

        // What the store now holds, read by the querier with no filter.
        #expect(try await Self.lines(engine, #"{app="whole"}"#).isEmpty)
        #expect(try await Self.lines(engine, #"{app="part"}"#) == Self.all("part").enumerated().filter { !(3...5).contains($0.offset) }.map(\.element))
        #expect(try await Self.lines(engine, #"{app="filter"}"#) == Self.all("filter").filter { $0.hasSuffix("keep") })
        #expect(try await Self.lines(engine, #"{app="other"}"#) == Self.all("other"))
        #expect(try await Self.lines(engine, tenant: "u", #"{app="whole"}"#) == Self.all("whole"))

        // The replaced chunks stay until the sweeper's delay is over, then go; the new ones stay.
        let chunkKeys = { Set(store.keys.filter { !$0.hasPrefix("index/") && !$0.hasPrefix("compactor/") }) }
        #expect(chunkKeysBefore.isSubset(of: chunkKeys()))
        #expect(chunkKeys().count == chunkKeysBefore.count + 2)
        #expect(await compactor.runOnce() == .init())
        clock.add(2 * Self.hour, ordering: .relaxed)
        #expect(await compactor.runOnce().chunksDeleted == 3)
        #expect(chunkKeys().count == chunkKeysBefore.count - 1)
        #expect(try await Self.lines(engine, #"{app="part"}"#).count == 7)

        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"loki_compactor_delete_requests_processed_total{user="t"} 3"#))
        #expect(text.contains(#"loki_compactor_deleted_lines{user="t"} 8"#))
        #expect(text.contains("loki_compactor_pending_delete_requests_count 0"))
        #expect(!text.contains(#"user="u""#))
    }

    @Test func filterOnlyTenantsAreNeverProcessedAndPendingRequestsAreCounted() async throws {
        let engine = try await Self.engine()
        let requests = DeleteRequestStore(store: engine.store)
        let nowMs = engine.clock.now / 1_000_000
        _ = try await requests.add(tenant: "t", .init(query: #"{app="whole"}"#, start: 0, end: nowMs), now: nowMs)
        _ = try await requests.add(tenant: "u", .init(query: #"{app="whole"}"#, start: 0, end: nowMs), now: nowMs)
        let registry = PrometheusCollectorRegistry()
        // Tenant "u" is filter-only; tenant "t" fails every run (its index segment cannot be read), so its request
        // stays pending.
        try await engine.store.put("index/index_1/t/broken.eidx", [1, 2, 3])
        let compactor = Compactor(
            store: engine.store, chunks: ChunkStore(objects: engine.store, keyStyle: .objectStore),
            settings: CompactorSettings(), retention: { _, _ in 0 }, metrics: CompactorMetrics(registry),
            logger: Logger(label: "test"),
            deletes: CompactorDeletes(store: requests, cancelPeriod: .seconds(60),
                                      mode: { $0 == "u" ? .filterOnly : .filterAndDelete },
                                      metrics: DeleteRequestMetrics(registry)),
            now: { engine.clock.now + 3_600_000_000_000 })
        #expect(await compactor.runOnce().deleteRequestsProcessed == 0)
        #expect(try await requests.list(tenant: "u").map(\.status) == [.received])
        #expect(try await requests.list(tenant: "t").map(\.status) == [.received])
        #expect(try await Self.lines(engine, tenant: "u", #"{app="whole"}"#) == Self.all("whole"))
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains("loki_compactor_pending_delete_requests_count 1"))
        #expect(text.contains("loki_compactor_oldest_pending_delete_request_age_seconds 3540"))
    }

    @Test func queriesHideDeletedLinesAtOnceFromMemoryAndFromTheStore() async throws {
        let engine = EngineTests.Engine()
        let t = engine.clock.now
        let lines = (0..<10).map { i in (t - 50 * Self.minute + Int64(i) * Self.minute, "line \(i) \(i % 2 == 0 ? "even" : "odd")") }
        #expect(try await engine.push(#"{app="a"}"#, lines).status == 204)
        #expect(try await engine.push(#"{app="b"}"#, lines).status == 204)
        let requests = [
            DeleteRequest(id: "00000001", tenant: "t", query: #"{app="a"} |= "odd""#, start: 0, end: t / 1_000_000,
                          createdAt: t / 1_000_000),
            // Lines 0 and 1 of "b": the range's end is inclusive, to the millisecond.
            DeleteRequest(id: "00000002", tenant: "t", query: #"{app="b"}"#, start: 0,
                          end: (t - 49 * Self.minute) / 1_000_000, createdAt: t / 1_000_000),
        ]
        let filter = DeleteFilter(requests, start: t - 2 * Self.hour, end: t + 1)
        let evens = lines.map(\.1).filter { $0.hasSuffix("even") }
        for flushed in [false, true] {
            if flushed { await engine.ingester.flush() }
            #expect(try await Self.lines(engine, #"{app="a"}"#, deletes: filter) == evens, "flushed: \(flushed)")
            #expect(try await Self.lines(engine, #"{app="b"}"#, deletes: filter) == Array(lines.map(\.1)[2...]))
            #expect(try await Self.lines(engine, #"{app="a"}"#) == lines.map(\.1))
        }
        // A request outside the query's range is not applied.
        #expect(DeleteFilter(requests, start: t + 1, end: t + 2).isEmpty)
    }
}
