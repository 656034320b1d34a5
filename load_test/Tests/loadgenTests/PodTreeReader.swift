import Foundation
import Testing

@testable import loadgen

/// Reads a `loadgen file` tree back the way a node agent does (`local.file_match` on
/// `<root>/*/*/*.log*` + `stage.cri`): every container's files in the order they were written (`0.log`'s rotated
/// files, `0.log`, then `1.log`'s after a restart, ...), CRI lines checked and `P` fragments joined to their `F`.
enum PodTreeReader {
    struct Message {
        /// The pod directory's name, `<namespace>_<pod>_<uid>`, and the container's.
        var podDirectory: String
        var container: String
        /// The file the message's `F` line is in.
        var file: String
        /// `stdout` or `stderr`.
        var stream: String
        /// The joined message, and the CRI lines it took (`P` fragments + the `F`).
        var text: String
        var fragments: [String]

        var namespace: String { String(podDirectory.split(separator: "_")[0]) }
        var pod: String { String(podDirectory.split(separator: "_")[1]) }
        var uid: String { String(podDirectory.split(separator: "_")[2]) }
        var marker: RecordMarker? { RecordMarker.parse(Array(text.utf8)) }

        /// The entry a node agent ships for this message: the labels `loadgen verify`'s selector picks, the CRI
        /// time as the entry's timestamp (the marker's `sent`, which the writer stamps from the same nanosecond).
        var entry: FakeQueryRangeServer.Entry {
            FakeQueryRangeServer.Entry(
                labels: ["namespace": namespace, "pod": pod, "container": container, "stream": stream],
                timestamp: marker?.sentNanos ?? 0, line: text)
        }
    }

    /// A container's files, oldest first: for each restart `n`, `<n>.log`'s rotated files by name, then `<n>.log`.
    static func files(in directory: String) -> [String] {
        let names = PodLogWriter.list(directory)
        let restarts = names.compactMap { name -> Int? in
            guard name.hasSuffix(".log") else { return nil }
            return Int(name.dropLast(".log".count))
        }.sorted()
        return restarts.flatMap { restart in
            names.filter { $0.hasPrefix("\(restart).log.") }.sorted() + ["\(restart).log"]
        }
    }

    /// Every message of one container directory, in the order written.
    static func messages(podDirectory: String, container: String, root: String) throws -> [Message] {
        try messages(in: "\(root)/\(podDirectory)/\(container)")
    }

    /// Every message of the container directory `<root>/<pod directory>/<container>`, in the order written.
    static func messages(in directory: String) throws -> [Message] {
        let parts = directory.split(separator: "/")
        let (podDirectory, container) = (String(parts.dropLast().last ?? ""), String(parts.last ?? ""))
        var out: [Message] = []
        var fragments: [String] = []
        for file in files(in: directory) {
            let text = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                #expect(fields.count == 4, "not a CRI line in \(file): \(line.prefix(80))")
                guard fields.count == 4 else { continue }
                #expect(fields[0].hasSuffix("Z") && fields[0].count == 30, "timestamp \(fields[0])")
                #expect(["stdout", "stderr"].contains(fields[1]))
                #expect(["P", "F"].contains(fields[2]))
                fragments.append(String(fields[3]))
                if fields[2] == "F" {
                    out.append(Message(podDirectory: podDirectory, container: container, file: file,
                                       stream: String(fields[1]), text: fragments.joined(), fragments: fragments))
                    fragments = []
                }
            }
        }
        #expect(fragments.isEmpty, "a partial line in \(directory) was never finished")
        return out
    }

    /// Every message under `root`, pod directory by pod directory.
    static func allMessages(root: String) throws -> [Message] {
        try PodLogWriter.list(root).sorted().flatMap { pod in
            try PodLogWriter.list("\(root)/\(pod)").sorted().flatMap {
                try messages(podDirectory: pod, container: $0, root: root)
            }
        }
    }

    /// A fresh directory for a tree.
    static func makeRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loadgen-pods-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }
}
