import Foundation
import Testing

@testable import loadgen

/// `loadgen file`'s node churn: container restarts (`<n+1>.log` beside `<n>.log`), deleted pods replaced by new
/// ones and removed after a grace, and containerd's 16 KiB line splits; through all of it every container's sequence
/// numbers run unbroken, and `loadgen verify` proves delivery from what a tailer read.
@Suite struct PodChurnTests {
    private static let runID = "0123abcd"

    private func options(_ root: String) -> PodLogWriter.Options {
        var options = PodLogWriter.Options(root: root)
        options.runID = Self.runID
        options.lineBytes = 120
        options.stderrEvery = 3
        return options
    }

    @Test func restartsOpenTheNextFileAndKeepThePreviousOne() throws {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options(root)
        options.pods = 2
        options.containers = 2
        options.restartEvery = 7
        // Rotation inside each restart's file too: `<n>.log.<time>` files are kept apart per restart.
        options.rotateBytes = 600
        options.keep = 1000
        var writer = try PodLogWriter(options, startMillis: 1_764_000_000_000)
        try writer.write(400, nowNanos: 1_764_000_000_000_000_000)
        writer.closeAll()

        #expect(writer.restarts == 4 * 14, "100 messages a container, a restart after every 7th")
        for pod in PodLogWriter.list(root) {
            for container in PodLogWriter.list("\(root)/\(pod)") {
                let directory = "\(root)/\(pod)/\(container)"
                let names = PodLogWriter.list(directory)
                #expect(Set((0...14).map { "\($0).log" }).isSubset(of: Set(names)), "\(names.sorted())")
                #expect(names.contains { $0.hasPrefix("3.log.") }, "no rotation inside a restart's file")
                let found = try PodTreeReader.messages(podDirectory: pod, container: container, root: root)
                let markers = found.compactMap(\.marker)
                #expect(markers.count == 100)
                // One stream for verify: the same worker (container) and stream (pod), numbers unbroken.
                #expect(markers.map(\.sequence) == Array(0..<100))
                #expect(Set(markers.map(\.streamKey)).count == 1)
                #expect(markers.first?.worker == Int(container.dropFirst("app-".count)))
                // Each finished instance holds exactly its 7 messages; the current one the rest.
                let perInstance = Dictionary(grouping: found) { $0.file.split(separator: ".")[0] }
                for restart in 0..<14 { #expect(perInstance["\(restart)"]?.count == 7, "instance \(restart)") }
                #expect(perInstance["14"]?.count == 2)
            }
        }
    }

    @Test func aDeletedPodStopsAndIsRemovedAfterItsGraceWhileANewPodTakesItsPlace() throws {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options(root)
        options.pods = 2
        options.deletePodAfter = 10
        options.deleteGraceNanos = 1_000_000_000
        let start: Int64 = 1_764_000_000_000_000_000
        var writer = try PodLogWriter(options, startMillis: start / 1_000_000)
        let original = PodLogWriter.list(root).sorted()
        try writer.write(20, nowNanos: start)  // 10 each: both pods are deleted after their 10th message

        let afterDelete = PodLogWriter.list(root).sorted()
        #expect(afterDelete.count == 4, "the deleted pods stay for their grace: \(afterDelete)")
        let replacements = afterDelete.filter { !original.contains($0) }
        #expect(Set(replacements.map { $0.split(separator: "_")[1] }) == ["gen-2", "gen-3"])
        let uids = Set(afterDelete.map { $0.split(separator: "_")[2] })
        #expect(uids.count == 4, "every pod has its own uid")
        #expect(writer.pendingDeletions.count == 2 && writer.podsDeleted == 0)
        // A tailer reads what the deleted pods wrote during the grace: all of it, and nothing more comes.
        let written = try original.flatMap { try PodTreeReader.messages(podDirectory: $0, container: "app-0", root: root) }
        #expect(written.count == 20)

        try writer.write(6, nowNanos: start + 500_000_000)  // within the grace
        #expect(PodLogWriter.list(root).count == 4)
        let again = try original.flatMap { try PodTreeReader.messages(podDirectory: $0, container: "app-0", root: root) }
        #expect(again.map(\.text) == written.map(\.text), "a deleted pod was written to during its grace")

        try writer.write(2, nowNanos: start + 1_000_000_100)  // the grace is over for both
        #expect(PodLogWriter.list(root).sorted() == replacements)
        #expect(writer.podsDeleted == 2 && writer.pendingDeletions.isEmpty)
        writer.closeAll()

        #expect(writer.acknowledged == ["000.000000": 10, "000.000001": 10, "000.000002": 4, "000.000003": 4])
        let replaced = try replacements.flatMap { try PodTreeReader.messages(podDirectory: $0, container: "app-0", root: root) }
        #expect(replaced.compactMap(\.marker).allSatisfy { $0.stream >= 2 && $0.sequence < 4 })
    }

    @Test func removeDeletedPodsWithMaxTakesThemAllAtTheEnd() throws {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options(root)
        options.pods = 3
        options.containers = 2
        options.deletePodAfter = 4
        options.deleteGraceNanos = 3_600_000_000_000
        var writer = try PodLogWriter(options, startMillis: 0)
        try writer.write(36, nowNanos: 1_000)
        writer.closeAll()
        #expect(writer.pendingDeletions.count == 9)
        #expect(writer.lastDeletionDueNanos == writer.pendingDeletions.map(\.dueNanos).max())
        try writer.removeDeletedPods(nowNanos: .max)
        #expect(writer.podsDeleted == 9 && PodLogWriter.list(root).count == 3)
        #expect(writer.acknowledged.count == 24 && writer.acknowledged.values.reduce(0, +) == 36)
    }

    @Test(arguments: [
        // (message bytes, fragment sizes expected): at the limit one F; past it 16 KiB P fragments then the rest.
        (16_384, [16_384]), (16_385, [16_384, 1]), (16_414, [16_384, 30]), (40_000, [16_384, 16_384, 7_232]),
    ])
    func longMessagesSplitAt16KiBAndTheMarkerSurvivesTheJoin(bytes: Int, fragments: [Int]) throws {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options(root)
        options.pods = 1
        options.lineSizes = .fixed(bytes)
        var writer = try PodLogWriter(options, startMillis: 0)
        try writer.write(5, nowNanos: 1_000)
        writer.closeAll()
        let found = try PodTreeReader.allMessages(root: root)
        #expect(found.count == 5)
        for message in found {
            #expect(message.fragments.map(\.utf8.count) == fragments)
            #expect(message.text.utf8.count == bytes)
            #expect(message.marker?.runID == Self.runID)
        }
        #expect(found.compactMap(\.marker).map(\.sequence) == Array(0..<5))
        if bytes == 16_414 {
            // The marker straddles the P/F boundary: only the joined line holds it.
            #expect(found.allSatisfy { RecordMarker.parse(Array($0.fragments[1].utf8)) == nil })
        }
    }

    @Test func partialEverySplitsFinerThanTheLineLimit() throws {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options(root)
        options.pods = 1
        options.lineSizes = .fixed(300)
        options.maxLineBytes = 128
        options.partialEvery = 2
        options.fragmentBytes = 100
        var writer = try PodLogWriter(options, startMillis: 0)
        try writer.write(4, nowNanos: 1_000)
        writer.closeAll()
        let found = try PodTreeReader.allMessages(root: root)
        #expect(found.map { $0.fragments.map(\.utf8.count) } == [[128, 128, 44], [100, 100, 100], [128, 128, 44],
                                                                   [100, 100, 100]])
    }

    @Test func aWeightedRunWritesRealSplitsOnlyForItsLongLines() throws {
        let root = try PodTreeReader.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options(root)
        options.pods = 4
        options.lineSizes = try LineSizeDistribution.parse("weighted:200=90,40000=10")
        options.rotateBytes = 256 << 10
        options.keep = 1000
        var writer = try PodLogWriter(options, startMillis: 0)
        try writer.write(400, nowNanos: 1_000)
        writer.closeAll()
        let found = try PodTreeReader.allMessages(root: root)
        #expect(found.count == 400)
        let long = found.filter { $0.text.utf8.count == 40_000 }
        #expect(long.count > 10 && long.count < 80, "\(long.count) long messages of 400")
        #expect(long.allSatisfy { $0.fragments.map(\.utf8.count) == [16_384, 16_384, 7_232] })
        #expect(found.filter { $0.fragments.count > 1 }.count == long.count)
        #expect(found.allSatisfy { $0.marker?.runID == Self.runID })
    }

    @Test func fileValidatesTheChurnOptions() throws {
        let command = try FileCommand.parse(["--dir", "/tmp/x", "--restart-every", "100", "--delete-pod-after", "500",
                                             "--delete-grace", "5s", "--max-line-bytes", "8KiB"])
        #expect(command.restartEvery == 100 && command.deletePodAfter == 500)
        #expect(command.deleteGrace.duration == .seconds(5) && command.maxLineBytes.bytes == 8192)
        #expect(try FileCommand.parse(["--dir", "/tmp/x"]).maxLineBytes.bytes == 16_384)
        for bad in [["--restart-every", "-1"], ["--delete-pod-after", "-5"], ["--max-line-bytes", "0"],
                    ["--count", "10000000", "--delete-pod-after", "1"]] {
            #expect(throws: (any Error).self, "\(bad)") { try FileCommand.parse(["--dir", "/tmp/x"] + bad) }
        }
    }
}
