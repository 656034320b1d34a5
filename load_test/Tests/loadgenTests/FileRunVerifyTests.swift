import Foundation
import Testing

@testable import loadgen

/// `loadgen verify` over a `loadgen file` run with restarts, deleted pods and 16 KiB splits: the run's manifest (its
/// RESULT line) names every container ever written, deleted pods' included, so verify passes when everything a
/// tailer read arrived and fails when a deleted pod's lines are missing. The entries are what a node agent would
/// ship: one per joined message, labelled namespace, pod, container and stream, served by a real HTTP server
/// answering query_range as Loki does.
@Suite struct FileRunVerifyTests {
    private static let runID = "0fe1e2d3"
    private static let selector = #"{namespace="loadgen"}"#

    /// Writes a churning run and reads every message while nothing is removed yet (as a tailer that kept up).
    private static func run() throws -> (manifest: RunManifest, messages: [PodTreeReader.Message]) {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = PodLogWriter.Options(root: root)
        options.runID = runID
        options.pods = 3
        options.containers = 2
        options.restartEvery = 9
        options.deletePodAfter = 50
        options.deleteGraceNanos = 3_600_000_000_000
        options.lineSizes = try LineSizeDistribution.parse("weighted:200=95,40000=5")
        options.rotateBytes = 64 << 10
        options.keep = 1000
        var writer = try PodLogWriter(options, startMillis: 1_764_000_000_000)
        var now: Int64 = 1_764_000_000_000_000_000
        for _ in 0..<10 {
            try writer.write(60, nowNanos: now)
            now += 1_000_000
        }
        writer.closeAll()
        let messages = try PodTreeReader.allMessages(root: root)
        try writer.removeDeletedPods(nowNanos: .max)
        #expect(writer.podsDeleted == 12 && PodLogWriter.list(root).count == 3)
        let written = RunManifest(runID: runID, selector: selector, startNanos: writer.firstNanos,
                                  endNanos: writer.lastNanos + 1, acknowledged: writer.acknowledged)
        // Through the RESULT line, as verify reads it.
        let data = try JSONSerialization.data(withJSONObject: written.resultFields, options: [.sortedKeys])
        let manifest = try RunManifest(resultLine: "RESULT " + String(decoding: data, as: UTF8.self))
        #expect(manifest == written.droppingEmptyStreams)
        return (manifest, messages)
    }

    private static func verify(_ entries: [FakeQueryRangeServer.Entry], _ manifest: RunManifest)
        async throws -> VerifyCommand.Outcome
    {
        try await VerifyTests.verify(entries, manifest: manifest, limit: 500)
    }

    @Test func passesWhenEverythingArrivedDeletedPodsIncluded() async throws {
        let (manifest, messages) = try Self.run()
        #expect(messages.count == 600 && manifest.recordsAcknowledged == 600)
        // 3 pod slots of 200 messages, a pod deleted after each 50: 12 pods of 2 containers wrote (the 3 pods
        // that replaced the last ones had not written yet).
        #expect(manifest.acknowledged.count == 24)
        #expect(messages.contains { $0.fragments.count == 3 }, "no 16 KiB splits in the run")
        #expect(Set(messages.map(\.file)).contains("1.log"), "no restarts in the run")
        let outcome = try await Self.verify(messages.map(\.entry), manifest)
        #expect(outcome.passed)
        #expect(outcome.expected == 600 && outcome.received == 600)
        #expect(outcome.missing == 0 && outcome.duplicated == 0 && outcome.tally.foreignEntries == 0)
    }

    @Test func failsWhenADeletedPodsLinesAreMissing() async throws {
        let (manifest, messages) = try Self.run()
        // gen-0 was deleted first; an agent that lost track of it before reading its last file shipped none of it.
        let lost = messages.filter { $0.pod == "gen-0" }
        #expect(lost.count == 50)
        let outcome = try await Self.verify(messages.filter { $0.pod != "gen-0" }.map(\.entry), manifest)
        #expect(!outcome.passed)
        #expect(outcome.missing == 50 && outcome.duplicated == 0)
        let byKey = Dictionary(uniqueKeysWithValues: outcome.reports.map { ($0.key, $0) })
        let gen0 = ["000.000000", "001.000000"].compactMap { byKey[$0] }
        #expect(gen0.count == 2 && gen0.allSatisfy { $0.received == 0 && $0.missing == $0.expected })
        #expect(gen0.reduce(0) { $0 + $1.expected } == 50)
    }

    @Test func failsWhenTheLastFileOfADeletedPodIsMissing() async throws {
        let (manifest, messages) = try Self.run()
        // The tail of gen-1's container 0: its last file, written just before the pod was deleted.
        let victim = messages.filter { $0.pod == "gen-1" && $0.container == "app-0" }
        let lastFile = try #require(victim.last?.file)
        let dropped = victim.filter { $0.file == lastFile }
        #expect(!dropped.isEmpty)
        let kept = messages.filter { !($0.pod == "gen-1" && $0.container == "app-0" && $0.file == lastFile) }
        let outcome = try await Self.verify(kept.map(\.entry), manifest)
        #expect(!outcome.passed && outcome.missing == dropped.count)
        let report = try #require(outcome.reports.first { $0.key == "000.000001" })
        let expected = report.expected
        #expect(report.missingRanges == [(expected - dropped.count)...(expected - 1)])
    }
}

extension RunManifest {
    /// The manifest as its RESULT line keeps it: streams that never wrote anything are left out.
    fileprivate var droppingEmptyStreams: RunManifest {
        RunManifest(runID: runID, selector: selector, startNanos: startNanos, endNanos: endNanos,
                    acknowledged: acknowledged.filter { $0.value > 0 })
    }
}
