import Logging
import Testing
import TestSupport
import Wire
@testable import Backend

/// The write and read paths in one process over an in-memory object store: what a user of the API would see,
/// without HTTP in between.
@Suite struct EngineTests {
    final class Engine: Sendable {
        let store: InMemoryObjectStore
        let metrics = BackendMetrics()
        let ingester: Ingester
        let distributor: Distributor
        let querier: Querier
        let clock: TestClock

        init(store: InMemoryObjectStore = InMemoryObjectStore(), settings: IngesterSettings = IngesterSettings(),
             limits: Limits = Limits(), clock: TestClock = TestClock()) {
            self.store = store
            self.clock = clock
            var settings = settings
            // Engines without a WAL directory run without a WAL (the WAL has its own tests).
            if settings.wal.directory == WALSettings().directory { settings.wal.enabled = false }
            let chunks = ChunkStore(objects: store, keyStyle: .objectStore)
            let index = ObjectStoreIndex(store: store, prefix: "index_")
            ingester = Ingester(settings: settings, chunks: chunks, index: index, metrics: metrics,
                                logger: Logger(label: "test"), now: { clock.now })
            distributor = Distributor(ingester: ingester, limits: { _ in limits }, metrics: metrics,
                                      now: { clock.now })
            querier = Querier(ingester: ingester, index: index, chunks: chunks)
        }

        func push(tenant: String = "t", _ labels: String, _ entries: [(Int64, String)]) async throws -> Distributor.Outcome {
            let body = entries.map { PushEntry(timestamp: $0.0, line: Array($0.1.utf8)[...]) }
            return try await distributor.push(tenant: tenant, request: PushRequest(streams: [PushStream(labels: labels, entries: body)]))
        }

        /// Appends straight to the ingester, without waiting: for tests that push from inside a query's callbacks.
        func pushNow(tenant: String = "t", _ labels: String, _ entries: [(Int64, String)]) {
            let set = LabelSet(try! LabelParser.parse(labels))
            let body = entries.map { PushEntry(timestamp: $0.0, line: Array($0.1.utf8)[...]) }
            var rejected = RejectedEntries()
            _ = ingester.append(tenant: tenant, streams: [.init(labels: set, fingerprint: set.fingerprint, entries: body)],
                                limits: Limits(), rejected: &rejected, wal: nil)
        }

        func select(tenant: String = "t", _ selector: String, limit: Int = 1000, direction: Direction = .forward) async throws -> [(Int64, String)] {
            let parsed = try LogSelection.parse(selector)
            let (streams, _) = try await querier.selectLogs(LogQuery(
                tenant: tenant, matchers: parsed.matchers, lineFilters: parsed.lineFilters,
                start: clock.now - 3_600_000_000_000, end: clock.now + 1, limit: limit, direction: direction))
            return streams.flatMap { $0.entries.map { ($0.timestamp, String(decoding: $0.line, as: UTF8.self)) } }
                .sorted { direction == .forward ? $0.0 < $1.0 : $0.0 > $1.0 }
        }
    }

    final class TestClock: Sendable {
        let value = LockedValue(Int64(1_750_000_000_000_000_000))
        var now: Int64 { value.get() }
        func advance(_ ns: Int64) { value.update { $0 += ns } }
    }

    @Test func pushedEntriesAreQueryableFromMemoryThenFromStoreAfterRestart() async throws {
        let engine = Engine()
        let t = engine.clock.now
        let lines = (0..<100).map { (t - 1000 + Int64($0), "line \($0)") }
        #expect(try await engine.push(#"{job="a"}"#, lines).status == 204)
        #expect(try await engine.select(#"{job="a"}"#).map(\.1) == lines.map(\.1))

        await engine.ingester.flush()
        #expect(try await engine.select(#"{job="a"}"#).map(\.1) == lines.map(\.1))

        let restarted = Engine(store: engine.store, clock: engine.clock)
        #expect(try await restarted.select(#"{job="a"}"#).map(\.1) == lines.map(\.1))
        #expect(try await restarted.select(#"{job="a"} |= "line 9""#).map(\.1) == ["line 9"] + (90..<100).map { "line \($0)" })
    }

    @Test func outOfOrderWithinHalfMaxChunkAgeIsAcceptedOlderIsRejected() async throws {
        let engine = Engine()
        let t = engine.clock.now
        #expect(try await engine.push(#"{job="o"}"#, [(t, "newest")]).status == 204)
        #expect(try await engine.push(#"{job="o"}"#, [(t - 3_000_000_000_000, "within an hour")]).status == 204)
        let late = try await engine.push(#"{job="o"}"#, [(t - 3_700_000_000_000, "too far behind")])
        #expect(late.status == 400)
        #expect(late.rejected.summary.contains("entry too far behind"))
        #expect(try await engine.select(#"{job="o"}"#).map(\.1) == ["within an hour", "newest"])
    }

    @Test func limitAndDirectionSpanMemoryAndStore() async throws {
        let engine = Engine()
        let t = engine.clock.now
        #expect(try await engine.push(#"{job="d"}"#, (0..<50).map { (t - 100 + Int64($0), "old \($0)") }).status == 204)
        await engine.ingester.flush()
        #expect(try await engine.push(#"{job="d"}"#, (50..<60).map { (t - 100 + Int64($0), "new \($0)") }).status == 204)
        let newest = try await engine.select(#"{job="d"}"#, limit: 15, direction: .backward).map(\.1)
        #expect(newest == (45..<60).reversed().map { $0 >= 50 ? "new \($0)" : "old \($0)" })
        let oldest = try await engine.select(#"{job="d"}"#, limit: 3, direction: .forward).map(\.1)
        #expect(oldest == ["old 0", "old 1", "old 2"])
    }

    @Test func fullChunksAreCutAndFlushedAndCounted() async throws {
        var settings = IngesterSettings()
        settings.blockSize = 4096
        settings.targetSize = 8192
        let engine = Engine(settings: settings)
        let t = engine.clock.now
        let lines = (0..<3000).map { (t - 10_000 + Int64($0), "entry \($0) " + String(repeating: "abcdefghij", count: Int.random(in: 1...9))) }
        #expect(try await engine.push(#"{job="big"}"#, lines).status == 204)
        await engine.ingester.flush()
        let objects = try await engine.store.list(prefix: "t/")
        #expect(objects.count > 2)
        #expect(try await engine.select(#"{job="big"}"#, limit: 5000).map(\.1) == lines.map(\.1))
        let text = String(decoding: engine.metrics.render(), as: UTF8.self)
        #expect(text.contains(#"loki_ingester_chunks_flushed_total{reason="full"}"#))
    }

    @Test func tenantsNeverSeeEachOther() async throws {
        let engine = Engine()
        let t = engine.clock.now
        #expect(try await engine.push(tenant: "a", #"{job="x"}"#, [(t, "of a")]).status == 204)
        #expect(try await engine.push(tenant: "b", #"{job="x"}"#, [(t, "of b")]).status == 204)
        #expect(try await engine.select(tenant: "a", #"{job="x"}"#).map(\.1) == ["of a"])
        await engine.ingester.flush()
        #expect(try await engine.select(tenant: "b", #"{job="x"}"#).map(\.1) == ["of b"])
        #expect(try await engine.querier.labelValues(tenant: "a", name: "job", start: t - 1000, end: t + 1) == ["x"])
        #expect(try await engine.querier.series(tenant: "c", selectors: [], start: t - 1000, end: t + 1).isEmpty)
    }

    @Test func validationRejectsWithLokisReasonsAndKeepsTheRest() async throws {
        var limits = Limits()
        limits.maxLineSize = 10
        limits.maxLabelNamesPerSeries = 2
        let engine = Engine(limits: limits)
        let t = engine.clock.now
        let outcome = try await engine.distributor.push(tenant: "t", request: PushRequest(streams: [
            PushStream(labels: #"{job="v"}"#, entries: [
                PushEntry(timestamp: t, line: Array("ok".utf8)[...]),
                PushEntry(timestamp: t + 1, line: Array("much too long line".utf8)[...]),
                PushEntry(timestamp: t + 3_600_000_000_000, line: Array("future".utf8)[...]),
            ]),
            PushStream(labels: #"{a="1", b="2", c="3"}"#, entries: [PushEntry(timestamp: t, line: Array("x".utf8)[...])]),
            PushStream(labels: #"{}"#, entries: [PushEntry(timestamp: t, line: Array("x".utf8)[...])]),
            PushStream(labels: #"{job="v""#, entries: [PushEntry(timestamp: t, line: Array("x".utf8)[...])]),
        ]))
        #expect(outcome.status == 400)
        #expect(outcome.accepted == 1)
        let reasons = Set(outcome.rejected.byReason.keys)
        #expect(reasons == [.lineTooLong, .tooFarInFuture, .maxLabelNamesPerSeries, .missingLabels, .invalidLabels])
        #expect(try await engine.select(#"{job="v"}"#).map(\.1) == ["ok"])
    }
}

extension EngineTests.Engine {
    /// An engine whose pushes keep their labels as given (no `service_name`, no `detected_level`), so that the
    /// series and streams a query answers are exactly the pushed ones.
    static func keepingLabels(settings: IngesterSettings = IngesterSettings()) -> EngineTests.Engine {
        var limits = Limits()
        limits.discoverServiceName = []
        limits.discoverLogLevels = false
        return EngineTests.Engine(settings: settings, limits: limits)
    }
}
