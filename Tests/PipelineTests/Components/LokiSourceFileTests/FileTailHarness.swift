@testable import AlloyLanguage
import Glibc
import Prometheus
import Synchronization
import Testing
@testable import Pipeline
import Wire
import PipelineTestSupport
import TestSupport

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/estuary-tail-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = made.map { String(cString: $0) } ?? "/tmp/estuary-tail-fallback"
    }

    func file(_ name: String) -> String { path + "/" + name }

    func makeDirectory(_ name: String) {
        var current = path
        for part in name.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o755)
        }
    }

    func remove() {
        _ = system("rm -rf '\(path)'")
    }
}

/// Appends raw bytes to a file (creating it), as a container runtime writes.
func append(_ text: String, to path: String) {
    appendBytes(Array(text.utf8), to: path)
}

/// Sets a file's modification (and access) time to `seconds` since 1970.
func setModified(_ path: String, seconds: Int) {
    var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
    _ = utimensat(AT_FDCWD, path, &times, 0)
}

func appendBytes(_ bytes: [UInt8], to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    precondition(fd >= 0, "cannot open \(path)")
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// `loki.source.file` running in a task of its own, with its data directory under `storage`.
final class FileTailHarness: Sendable {
    let component: LokiSourceFile
    let receiver: CollectingReceiver
    let registry = PrometheusCollectorRegistry()
    private let task = Mutex<Task<Void, any Error>?>(nil)

    static func context(storage: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) -> ComponentContext {
        ComponentHarness.context(id: "loki.source.file.test", dataPath: storage + "/loki.source.file.test", registry: registry)
    }

    init(_ body: String, storage: String, receiver: CollectingReceiver = CollectingReceiver()) throws {
        self.receiver = receiver
        let context = Self.context(storage: storage, registry: registry)
        component = try LokiSourceFile(context: context, arguments: try Self.decode(body, receiver: receiver))
        let component = self.component
        task.withLock { $0 = Task { try await component.run() } }
    }

    static func decode(_ body: String, receiver: any LogsReceiver) throws -> LokiSourceFile.Arguments {
        let scope = ComponentHarness.scope(receivers: ["out": receiver])
        return try ComponentHarness.decode(
            LokiSourceFile.Arguments.self, "loki.source.file \"test\" {\n  forward_to = [out]\n\(body)\n}", scope: scope
        ).arguments
    }

    func update(_ body: String) throws {
        try component.update(Self.decode(body, receiver: receiver))
    }

    /// Waits (bounded) until the receiver holds at least `count` entries.
    func waitForLines(_ count: Int) async -> [String] {
        let receiver = self.receiver
        _ = await eventually { receiver.entries.count >= count }
        return receiver.lines
    }

    func stop() async {
        guard let running = task.withLock({ $0 }) else { return }
        running.cancel()
        _ = await running.result
    }

    func metric(_ name: String) -> Double {
        registry.sample(name) ?? 0
    }
}
