import Testing
import TestSupport
import Wire
@testable import Backend

@Suite struct ObjectStoreIndexTests {
    static func ref(_ tenant: String, _ fp: UInt64, _ from: Int64, _ through: Int64, _ checksum: UInt32) -> ChunkRef {
        ChunkRef(tenant: tenant, fingerprint: fp, from: from, through: through, checksum: checksum, size: 100,
                 entries: 10, uncompressedSize: 1000)
    }

    static let day: Int64 = 86_400_000

    @Test func seriesAreFoundByTimeLabelsAndTenantAfterReopening() async throws {
        let store = InMemoryObjectStore()
        let writer = ObjectStoreIndex(store: store, prefix: "index_")
        let api = [LabelPair(name: "job", value: "api")]
        let db = [LabelPair(name: "job", value: "db")]
        try await writer.add(tenant: "a", entries: [
            SeriesChunks(labels: api, fingerprint: 1, chunks: [Self.ref("a", 1, 10 * Self.day + 5, 10 * Self.day + 9, 1)]),
            // Crosses midnight: recorded in both days' tables.
            SeriesChunks(labels: db, fingerprint: 2, chunks: [Self.ref("a", 2, 11 * Self.day - 10, 11 * Self.day + 10, 2)]),
        ])
        try await writer.add(tenant: "b", entries: [
            SeriesChunks(labels: api, fingerprint: 1, chunks: [Self.ref("b", 1, 10 * Self.day + 5, 10 * Self.day + 9, 3)]),
        ])
        #expect(store.keys.filter { $0.hasPrefix("index/index_10/a/") }.count == 1)
        #expect(store.keys.filter { $0.hasPrefix("index/index_11/a/") }.count == 1)

        let reader = ObjectStoreIndex(store: store, prefix: "index_")
        let all = try await reader.series(tenant: "a", from: 0, through: 20 * Self.day, matching: { _ in true })
        #expect(all.count == 2)
        #expect(all.allSatisfy { $0.chunks.count == 1 })
        let nextDay = try await reader.series(tenant: "a", from: 11 * Self.day, through: 12 * Self.day, matching: { _ in true })
        #expect(nextDay.map(\.labels) == [db])
        let onlyAPI = try await reader.series(tenant: "a", from: 0, through: 20 * Self.day,
                                              matching: { $0.contains(LabelPair(name: "job", value: "api")) })
        #expect(onlyAPI.map(\.fingerprint) == [1])
        #expect(try await reader.labelValues(tenant: "a", name: "job", from: 0, through: 20 * Self.day) == ["api", "db"])
        #expect(try await reader.labelNames(tenant: "b", from: 0, through: 20 * Self.day) == ["job"])
        #expect(try await reader.series(tenant: "c", from: 0, through: 20 * Self.day, matching: { _ in true }).isEmpty)

        // New segments written after a reader cached a table are picked up.
        try await writer.add(tenant: "a", entries: [
            SeriesChunks(labels: api, fingerprint: 1, chunks: [Self.ref("a", 1, 10 * Self.day + 20, 10 * Self.day + 30, 4)]),
        ])
        let again = try await reader.series(tenant: "a", from: 10 * Self.day, through: 10 * Self.day + 100,
                                            matching: { $0 == api })
        #expect(again.first?.chunks.map(\.checksum).sorted() == [1, 4])
    }

    @Test func damagedSegmentsAreErrorsNotCrashes() throws {
        let good = IndexSegment.encode(tenant: "t", [
            SeriesChunks(labels: [LabelPair(name: "a", value: "b")], fingerprint: 7, chunks: [Self.ref("t", 7, 1, 2, 3)]),
        ])
        #expect(try IndexSegment.decode(good, tenant: "t", key: "k").first?.chunks.first?.checksum == 3)
        var rng = SeededRandom(seed: 9)
        for _ in 0..<2000 {
            var bytes = good
            bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8))
            if rng.next() % 2 == 0 { bytes.removeLast(Int(rng.next() % UInt64(bytes.count))) }
            #expect(throws: (any Error).self) { try IndexSegment.decode(bytes, tenant: "t", key: "k") }
        }
    }
}
