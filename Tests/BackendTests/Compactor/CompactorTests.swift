import Logging
import Prometheus
import Synchronization
import Testing
import TestSupport
import Wire

@testable import Backend

/// The compactor merges each table's segments into one, drops expired chunks from the index, and deletes their
/// objects after the delay; readers that cached the old segments see the new state.
@Suite struct CompactorTests {
    static let day: Int64 = 86_400_000
    static let hour: Int64 = 3_600_000_000_000

    static func ref(_ fp: UInt64, through: Int64, _ checksum: UInt32) -> ChunkRef {
        ChunkRef(tenant: "t", fingerprint: fp, from: through - 5, through: through, checksum: checksum, size: 1,
                 entries: 1, uncompressedSize: 1)
    }

    @Test func tablesAreMergedExpiredChunksLeaveTheIndexAndTheirObjectsGoAfterTheDelay() async throws {
        let store = InMemoryObjectStore()
        let chunks = ChunkStore(objects: store, keyStyle: .objectStore)
        let index = ObjectStoreIndex(store: store, prefix: "index_")
        let old = [LabelPair(name: "app", value: "old")], kept = [LabelPair(name: "app", value: "kept")]
        // Day 100: three flushes, one repeating a reference; "old" has a 24h rule, "kept" no retention.
        let oldRef = Self.ref(1, through: 100 * Self.day + 10, 1)
        let keptRefs = [Self.ref(2, through: 100 * Self.day + 20, 2), Self.ref(2, through: 100 * Self.day + 30, 3)]
        try await index.add(tenant: "t", entries: [SeriesChunks(labels: old, fingerprint: 1, chunks: [oldRef])])
        try await index.add(tenant: "t", entries: [SeriesChunks(labels: kept, fingerprint: 2, chunks: [keptRefs[0]])])
        try await index.add(tenant: "t", entries: [SeriesChunks(labels: kept, fingerprint: 2, chunks: keptRefs)])
        for ref in [oldRef] + keptRefs { try await chunks.put(ref, [1]) }
        // The reader has every segment loaded before compaction.
        #expect(try await index.series(tenant: "t", from: 0, through: 200 * Self.day, matching: { _ in true }).count == 2)

        let clock = Atomic<Int64>(102 * Self.day * 1_000_000)   // two days later
        let registry = PrometheusCollectorRegistry()
        var settings = CompactorSettings()
        settings.retentionEnabled = true
        settings.deleteDelay = .seconds(7200)
        let compactor = Compactor(
            store: store, chunks: chunks, settings: settings,
            retention: { tenant, labels in tenant == "t" && labels["app"] == "old" ? 24 * Self.hour : 0 },
            metrics: CompactorMetrics(registry), logger: Logger(label: "test"),
            now: { clock.load(ordering: .relaxed) })
        let report = await compactor.runOnce()
        #expect(report == .init(tablesCompacted: 1, chunksMarked: 1, chunksDeleted: 0))
        let segments = store.keys.filter { $0.hasPrefix("index/index_100/t/") }
        #expect(segments.count == 1)
        // The old chunk left the index, for the reader that had cached the table too; its object is still there.
        let series = try await index.series(tenant: "t", from: 0, through: 200 * Self.day, matching: { _ in true })
        #expect(series.map(\.labels) == [kept])
        #expect(series.first?.chunks.count == 2)
        #expect(store.keys.contains(chunks.key(for: oldRef)))
        #expect(store.keys.filter { $0.hasPrefix(Compactor.markerPrefix) }.count == 1)

        // Nothing left to do: the next run changes nothing.
        #expect(await compactor.runOnce() == .init())
        #expect(store.keys.filter { $0.hasPrefix("index/index_100/t/") } == segments)

        // After the delay the sweeper deletes the object and the marker; kept chunks stay.
        clock.add(2 * Self.hour, ordering: .relaxed)
        #expect(await compactor.runOnce() == .init(tablesCompacted: 0, chunksMarked: 0, chunksDeleted: 1))
        #expect(!store.keys.contains(chunks.key(for: oldRef)))
        #expect(keptRefs.allSatisfy { store.keys.contains(chunks.key(for: $0)) })
        #expect(store.keys.filter { $0.hasPrefix(Compactor.markerPrefix) }.isEmpty)

        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"loki_compactor_compact_tables_operation_total{status="success"} 3"#))
        #expect(text.contains("loki_compactor_retention_marker_count_total 1"))
        #expect(text.contains(#"loki_compactor_retention_sweeper_chunk_deleted_duration_seconds_count{status="success"} 1"#))
        #expect(text.contains("loki_compactor_retention_sweeper_marker_files_current 0"))
    }

    @Test func aSingleSegmentTableIsReadOnlyWhenItMayHoldExpiredChunks() async throws {
        let store = InMemoryObjectStore()
        let chunks = ChunkStore(objects: store, keyStyle: .objectStore)
        let index = ObjectStoreIndex(store: store, prefix: "index_")
        let labels = [LabelPair(name: "app", value: "a")]
        // Day 100 (ten days before "now") and day 109 (today), one segment each.
        let old = Self.ref(1, through: 100 * Self.day + 10, 1), fresh = Self.ref(1, through: 109 * Self.day + 10, 2)
        for ref in [old, fresh] {
            try await index.add(tenant: "t", entries: [SeriesChunks(labels: labels, fingerprint: 1, chunks: [ref])])
        }
        let todays = store.keys.filter { $0.hasPrefix("index/index_109/") }
        var settings = CompactorSettings()
        settings.retentionEnabled = true
        let compactor = Compactor(
            store: store, chunks: chunks, settings: settings, retention: { _, _ in 48 * Self.hour },
            shortestRetention: { _ in 48 * Self.hour },
            metrics: CompactorMetrics(PrometheusCollectorRegistry()), logger: Logger(label: "test"),
            now: { (109 * Self.day + 20) * 1_000_000 })
        // Only the old table is read (and its chunk expires); today's single segment is left untouched.
        #expect(await compactor.runOnce() == .init(tablesCompacted: 1, chunksMarked: 1, chunksDeleted: 0))
        #expect(store.keys.filter { $0.hasPrefix("index/index_109/") } == todays)
        #expect(store.keys.filter { $0.hasPrefix("index/index_100/") }.isEmpty)
    }

    @Test func aDamagedTableFailsAloneAndTheOthersAreStillCompacted() async throws {
        let store = InMemoryObjectStore()
        let chunks = ChunkStore(objects: store, keyStyle: .objectStore)
        let index = ObjectStoreIndex(store: store, prefix: "index_")
        let labels = [LabelPair(name: "app", value: "a")]
        for n in 0..<2 {
            try await index.add(tenant: "good", entries: [SeriesChunks(labels: labels, fingerprint: 1, chunks: [
                Self.ref(1, through: 100 * Self.day + 10 + Int64(n), UInt32(n))])])
        }
        try await store.put("index/index_100/bad/1-a.eidx", Array("not a segment".utf8))
        try await store.put("index/index_100/bad/2-b.eidx", Array("nor this".utf8))
        let registry = PrometheusCollectorRegistry()
        let compactor = Compactor(
            store: store, chunks: chunks, settings: CompactorSettings(), retention: { _, _ in 0 },
            metrics: CompactorMetrics(registry), logger: Logger(label: "test"), now: { 200 * Self.day * 1_000_000 })
        #expect(await compactor.runOnce().tablesCompacted == 1)
        #expect(store.keys.filter { $0.hasPrefix("index/index_100/good/") }.count == 1)
        #expect(store.keys.filter { $0.hasPrefix("index/index_100/bad/") }.count == 2)
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"loki_compactor_compact_tables_operation_total{status="failure"} 1"#))
    }

    @Test func withoutRetentionOnlyMergesAndAReaderSeesTheSameChunks() async throws {
        let store = InMemoryObjectStore()
        let chunks = ChunkStore(objects: store, keyStyle: .objectStore)
        let writer = ObjectStoreIndex(store: store, prefix: "index_")
        let labels = [LabelPair(name: "app", value: "a")]
        for n in 0..<5 {
            try await writer.add(tenant: "t", entries: [SeriesChunks(labels: labels, fingerprint: 1, chunks: [
                Self.ref(1, through: 100 * Self.day + 10 + Int64(n), UInt32(n))])])
        }
        let compactor = Compactor(
            store: store, chunks: chunks, settings: CompactorSettings(), retention: { _, _ in 1 },
            metrics: CompactorMetrics(PrometheusCollectorRegistry()), logger: Logger(label: "test"),
            now: { 10_000 * Self.day * 1_000_000 })
        #expect(await compactor.runOnce() == .init(tablesCompacted: 1, chunksMarked: 0, chunksDeleted: 0))
        #expect(store.keys.filter { $0.hasPrefix("index/") }.count == 1)
        let reader = ObjectStoreIndex(store: store, prefix: "index_")
        let series = try await reader.series(tenant: "t", from: 0, through: 200 * Self.day, matching: { _ in true })
        #expect(series.first?.chunks.map(\.checksum).sorted() == [0, 1, 2, 3, 4])
    }
}
