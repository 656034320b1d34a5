import Testing
import Wire
@testable import Backend

/// The querier's index figures (stats, volume, detected labels), without HTTP (the Python tests drive the endpoints).
@Suite struct IndexStatsTests {
    typealias Engine = EngineTests.Engine

    @Test func indexStatsAgreeBeforeAndAfterFlush() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        _ = try await engine.push(#"{app="a"}"#, [(t, "12345"), (t + 1, "123")])
        _ = try await engine.push(#"{app="b"}"#, [(t, "1")])
        let matchers = try LogSelection.parse(#"{app=~".+"}"#).matchers
        let from = t / 1_000_000 - 1000
        let through = t / 1_000_000 + 1000
        var expected = IndexStats()
        expected.streams = 2
        expected.chunks = 2
        expected.bytes = 9
        expected.entries = 3
        #expect(try await engine.querier.indexStats(tenant: "t", from: from, through: through, matchers: matchers) == expected)
        await engine.ingester.flush()
        #expect(try await engine.querier.indexStats(tenant: "t", from: from, through: through, matchers: matchers) == expected)
        #expect(try await engine.querier.indexStats(tenant: "u", from: from, through: through, matchers: matchers) == IndexStats())
    }

    @Test func aChunkPartlyInTheRangeCountsItsShare() {
        let chunk = Ingester.ChunkFigures(from: 0, through: 100, entries: 10, bytes: 1000, checksum: nil)
        #expect(Querier.share(chunk, from: 50, through: 200) == (5, 500))
        #expect(Querier.share(chunk, from: -5, through: 100) == (10, 1000))
    }

    @Test(arguments: [
        (["1", "2", "3"], true), (["0", "1"], false), (["1"], false), (["a", "1"], false), ([], true),
        (["8e6fd0d8-1bb5-4f0a-9c41-9b5d4a2f0c11", "12", "1e3"], true),
        (["{8e6fd0d8-1bb5-4f0a-9c41-9b5d4a2f0c11}", "8e6fd0d81bb54f0a9c419b5d4a2f0c11", "7"], true),
        (["8e6fd0d8-1bb5-4f0a-9c41-9b5d4a2f0c1z", "1", "2"], false),
    ])
    func detectedLabelsLeaveOutIDs(values: [String], rejected: Bool) {
        #expect(Querier.rejectsDetectedLabel(values) == rejected)
    }

    @Test func volumeBucketsFollowLokisForInterval() {
        let s: Int64 = 1_000_000_000
        #expect(LokiAPI.volumeBuckets(start: 90 * s, end: 240 * s, step: 60 * s).map { [$0.start, $0.end] } == [
            [90 * s, 120 * s - 1_000_000], [120 * s, 180 * s - 1_000_000], [180 * s, 240 * s]])
        #expect(LokiAPI.volumeBuckets(start: 90 * s, end: 240 * s, step: 0).map { [$0.start, $0.end] } == [[90 * s, 240 * s]])
        #expect(LokiJSON.prometheusSeconds(1_700_000_059_999) == "1700000059.999")
        #expect(LokiJSON.prometheusSeconds(1_700_000_059_500) == "1700000059.5")
        #expect(LokiJSON.prometheusSeconds(1_700_000_059_050) == "1700000059.05")
        #expect(LokiJSON.prometheusSeconds(1_700_000_000_000) == "1700000000")
    }
}
