import AsyncHTTPClient
import Foundation
import Testing
import Wire

@testable import loadgen

/// `loadgen verify` against a real HTTP server answering query_range like Loki, and the markers it reads.
@Suite struct VerifyTests {
    private static let runID = "0badc0de"

    private static func line(worker: Int, stream: Int, sequence: Int, sent: Int64, run: String = runID) -> String {
        "ts=2026-11-24T14:00:00.123Z level=info msg=\"request served\" trace_id=7f3a"
            + RecordMarker(runID: run, worker: worker, stream: stream, sequence: sequence, sentNanos: sent).text
    }

    /// Verifies `manifest` against `entries` served by a fresh ``FakeQueryRangeServer`` (also used by
    /// ``FileRunVerifyTests``).
    static func verify(
        _ entries: [FakeQueryRangeServer.Entry], manifest: RunManifest, limit: Int, streams: Int = 0
    ) async throws -> VerifyCommand.Outcome {
        let server = try await FakeQueryRangeServer(entries: entries)
        let base = server.baseURL
        do {
            let outcome = try await VerifyCommand.verify(
                manifest: manifest, selector: #"{job="gen"}"#, start: manifest.startNanos, end: manifest.endNanos,
                limit: limit,
                fetch: { try await VerifyCommand.get(base + "/loki/api/v1/query_range?" + $0, tenant: "fake") },
                streams: streams)
            try await server.shutdown()
            return outcome
        } catch {
            try await server.shutdown()
            throw error
        }
    }

    @Test func reportsExactlyTheInjectedGapAndDuplicate() async throws {
        let manifest = RunManifest(runID: Self.runID, selector: #"{job="gen"}"#, startNanos: 1_000, endNanos: 1_000_000,
                                   acknowledged: ["000.000000": 100, "000.000001": 50, "001.000003": 30])
        var entries: [FakeQueryRangeServer.Entry] = []
        var time: Int64 = 1_000
        for (worker, stream, count) in [(0, 0, 100), (0, 1, 50), (1, 3, 30)] {
            let labels = ["job": "gen", "stream": "\(stream)"]
            for sequence in 0..<count where !(stream == 1 && (10...12).contains(sequence)) {  // the injected gap
                // Several entries share a timestamp, so page edges fall inside equal timestamps too.
                time += sequence % 3 == 0 ? 1 : 0
                entries.append(.init(labels: labels, timestamp: time,
                                     line: Self.line(worker: worker, stream: stream, sequence: sequence, sent: time)))
            }
        }
        // The injected duplicate: record 001.000003:7 stored a second time, later (a resend after a lost answer).
        entries.append(.init(labels: ["job": "gen", "stream": "3"], timestamp: time + 5,
                             line: Self.line(worker: 1, stream: 3, sequence: 7, sent: time + 5)))
        // Another run's records in the same range are not counted.
        entries.append(.init(labels: ["job": "gen", "stream": "0"], timestamp: time + 6,
                             line: Self.line(worker: 0, stream: 0, sequence: 3, sent: time, run: "12345678")))

        let outcome = try await Self.verify(entries, manifest: manifest, limit: 17)
        #expect(outcome.missing == 3 && outcome.duplicated == 1)
        #expect(outcome.expected == 180 && outcome.received == 178)
        // Stream by stream (verify --streams) finds the same, reading each stream's entries on their own.
        let split = try await Self.verify(entries, manifest: manifest, limit: 17, streams: 4)
        #expect(split.missing == 3 && split.duplicated == 1)
        #expect(split.expected == 180 && split.received == 178)
        #expect(split.reports.map(\.missing) == outcome.reports.map(\.missing))
        #expect(outcome.outOfOrder == 0 && outcome.unacknowledged == 0 && outcome.tally.foreignEntries == 0)
        #expect(!outcome.passed)
        #expect(outcome.pages > 10, "paged: \(outcome.pages)")
        let byKey = Dictionary(uniqueKeysWithValues: outcome.reports.map { ($0.key, $0) })
        #expect(byKey["000.000001"]?.missingRanges == [10...12])
        #expect(byKey["001.000003"]?.duplicated == 1 && byKey["001.000003"]?.missing == 0)
        #expect(byKey["000.000000"]?.missing == 0 && byKey["000.000000"]?.duplicated == 0)
    }

    @Test(arguments: [3, 4, 7, 10, 11, 50])
    func countsEntriesAtAPageEdgeOnce(limit: Int) async throws {
        // 6 entries at distinct times, then 9 sharing one timestamp, then 10 more: whatever the limit (above the 9),
        // pages end inside the equal timestamps and nothing is counted twice or skipped.
        var entries: [FakeQueryRangeServer.Entry] = []
        var sequence = 0
        func add(_ timestamp: Int64) {
            entries.append(.init(labels: ["job": "gen"], timestamp: timestamp,
                                 line: Self.line(worker: 0, stream: 0, sequence: sequence, sent: timestamp)))
            sequence += 1
        }
        for time in 1...6 { add(Int64(time)) }
        for _ in 0..<9 { add(100) }
        for time in 101...110 { add(Int64(time)) }
        let manifest = RunManifest(runID: Self.runID, selector: "", startNanos: 0, endNanos: 1_000,
                                   acknowledged: ["000.000000": sequence])
        let outcome = try await Self.verify(entries, manifest: manifest, limit: limit)
        if limit < 9 {
            // More entries share a timestamp than a page holds: reported, never a hang.
            #expect(outcome.crowdedTimestamps == 1 && !outcome.passed)
            #expect(outcome.duplicated == 0 && outcome.missing == 9 - limit)
        } else {
            #expect(outcome.crowdedTimestamps == 0 && outcome.passed)
            #expect(outcome.received == 25 && outcome.missing == 0 && outcome.duplicated == 0)
        }
    }

    @Test func reportsOutOfOrderAndUnacknowledgedRecords() async throws {
        let labels = ["job": "gen"]
        let sequences = [0, 1, 3, 2, 4, 5, 6]  // 2 stored after 3; 5 and 6 were never acknowledged
        let entries = sequences.enumerated().map { index, sequence in
            FakeQueryRangeServer.Entry(labels: labels, timestamp: Int64(10 + index),
                                       line: Self.line(worker: 2, stream: 9, sequence: sequence, sent: 1))
        }
        let manifest = RunManifest(runID: Self.runID, selector: "", startNanos: 0, endNanos: 100,
                                   acknowledged: ["002.000009": 5])
        let outcome = try await Self.verify(entries, manifest: manifest, limit: 5000)
        #expect(outcome.outOfOrder == 1 && outcome.unacknowledged == 2)
        #expect(outcome.missing == 0 && outcome.duplicated == 0 && outcome.passed)
    }

    @Test func followMeasuresArrivalAsFirstSeenMinusSent() async throws {
        let now = wallClockNanos()
        // Stored 2 s after they were sent: a reader polling now sees each about 2 s (and a poll) after its send.
        let entries = (0..<20).map { sequence in
            FakeQueryRangeServer.Entry(labels: ["job": "gen"], timestamp: now - 1_000_000_000 + Int64(sequence),
                                       line: Self.line(worker: 0, stream: 0, sequence: sequence,
                                                       sent: now - 2_000_000_000))
        }
        let server = try await FakeQueryRangeServer(entries: entries)
        let base = server.baseURL
        var pager = QueryRangePager(query: #"{job="gen"} |= " run=\#(Self.runID) ""#, start: now - 5_000_000_000,
                                    limit: 7)
        var tally = VerifyTally(runID: Self.runID)
        do {
            try await VerifyCommand.follow(&pager, &tally, for: .milliseconds(60), every: .milliseconds(20), end: .max,
                                           fetch: { try await VerifyCommand.get(base + "/loki/api/v1/query_range?" + $0, tenant: "") })
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
        let elapsed = wallClockNanos() - now
        #expect(tally.latencies.count == 20)
        let median = try #require(tally.latencyPercentile(50))
        // Each was first seen while following: between 2 s after its send and 2 s plus the test's own run time.
        #expect(median >= 2_000_000_000 && median <= 2_000_000_000 + elapsed, "p50 \(median) ns, ran \(elapsed) ns")
        #expect(tally.reports(expected: ["000.000000": 20]).first?.missing == 0)
    }

    @Test func readsTheManifestBackFromTheResultLine() throws {
        let manifest = RunManifest(runID: Self.runID, selector: #"{exporter="OTLP"}"#, startNanos: 5, endNanos: 9,
                                   acknowledged: ["000.000001": 12, "003.000000": 1])
        let data = try JSONSerialization.data(withJSONObject: manifest.resultFields.merging(["command": "otlp"]) { a, _ in a },
                                              options: [.sortedKeys])
        let line = "RESULT " + String(decoding: data, as: UTF8.self)
        #expect(try RunManifest(resultLine: line) == manifest)
        #expect(throws: LoadGenError.self) { try RunManifest(resultLine: #"RESULT {"command":"query"}"#) }
        #expect(throws: LoadGenError.self) { try RunManifest(resultLine: "garbage") }
    }

    @Test func streamsSplitsTheSelectorByTheGeneratorsStreamLabel() {
        #expect(VerifyCommand.selectors(#"{job="gen"}"#, streams: 0) == [#"{job="gen"}"#])
        #expect(VerifyCommand.selectors(#"{job="gen"}"#, streams: 2) == [#"{job="gen", stream="0"}"#, #"{job="gen", stream="1"}"#])
        #expect(VerifyCommand.selectors(#" {job="gen", service="a"} "#, streams: 1) == [#"{job="gen", service="a", stream="0"}"#])
        #expect(VerifyCommand.selectors("{}", streams: 1) == [#"{stream="0"}"#])
    }
}
