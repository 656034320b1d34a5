import Foundation
import Testing
@testable import loadgen

/// `loadgen file`: what it leaves on disk is what the kubelet leaves, and every container's sequence numbers run
/// without gaps or repeats across rotations.
@Suite struct PodLogWriterTests {
    private func tree() throws -> String {
        try PodTreeReader.makeRoot()
    }

    /// The messages of one container, oldest file first, with CRI partial lines joined.
    private func messages(in directory: String) throws -> [(stream: String, message: String)] {
        try PodTreeReader.messages(in: directory).map { ($0.stream, $0.text) }
    }

    /// The sequence numbers of the markers `loadgen verify` reads, checking each names the run and the container.
    private func sequences(_ messages: [(stream: String, message: String)], pod: Int? = nil) -> [Int] {
        messages.compactMap { item in
            let marker = RecordMarker.parse(Array(item.message.utf8))
            #expect(marker?.runID == "0123abcd")
            if let pod { #expect(marker?.stream == pod && marker?.worker == 0) }
            return marker?.sequence
        }
    }

    @Test(arguments: PodLogWriter.Rotation.allCases)
    func sequencesRunUnbrokenAcrossRotations(rotation: PodLogWriter.Rotation) throws {
        let root = try tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = PodLogWriter.Options(root: root)
        options.runID = "0123abcd"
        options.pods = 3
        options.lineBytes = 120
        options.rotateBytes = 8_000
        options.rotation = rotation
        options.keep = 1000
        options.partialEvery = 5
        options.fragmentBytes = 50
        options.stderrEvery = 4
        var writer = try PodLogWriter(options, startMillis: 1_764_000_000_000)
        try writer.write(1500, nowNanos: 1_764_000_000_000_000_000)
        writer.closeAll()
        #expect(writer.linesWritten == 1500)
        let pods = PodLogWriter.list(root).sorted()
        #expect(pods.count == 3)
        #expect(pods.allSatisfy { $0.hasPrefix("loadgen_gen-") && $0.split(separator: "_").count == 3 })
        for pod in pods {
            let found = try messages(in: "\(root)/\(pod)/app-0")
            let index = Int(pod.split(separator: "_")[1].dropFirst("gen-".count))
            #expect(sequences(found, pod: index) == Array(0..<500), "\(pod)")
            #expect(found.allSatisfy { $0.message.utf8.count == 120 })
            #expect(found.filter { $0.stream == "stderr" }.count == 125)
            #expect(PodLogWriter.list("\(root)/\(pod)/app-0").count > 5, "no rotation happened")
        }
    }

    @Test func keepsOnlyTheNewestRotatedFiles() throws {
        let root = try tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = PodLogWriter.Options(root: root)
        options.runID = "0123abcd"
        options.pods = 1
        options.rotateBytes = 2_000
        options.keep = 2
        var writer = try PodLogWriter(options, startMillis: 0)
        try writer.write(400, nowNanos: 1_000)
        writer.closeAll()
        let directory = "\(root)/\(PodLogWriter.list(root)[0])/app-0"
        let files = PodLogWriter.list(directory)
        #expect(files.filter { $0.hasPrefix("0.log.") }.count == 2)
        // What is left is the newest stretch, still without gaps, ending at the last message.
        let left = sequences(try messages(in: directory))
        #expect(left.last == 399)
        #expect(left == Array((left.first ?? 0)...399))
    }
}
