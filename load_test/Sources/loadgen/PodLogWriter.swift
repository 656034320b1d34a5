#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes container logs the way the kubelet and containerd leave them on a node, for the node agent to tail:
/// `<root>/<namespace>_<pod>_<uid>/<container>/0.log`, one CRI line per entry
/// (`2026-12-01T10:00:00.123456789Z stdout F <message>`), long messages split into `P` fragments ending in an `F`
/// one, and files rotated when they pass `rotateBytes`, as the kubelet does (`0.log` renamed to
/// `0.log.<yyyyMMdd-HHmmss>`, a fresh `0.log` opened, at most `keep` rotated files kept) or by copy and truncate.
///
/// Each message ends in the ``RecordMarker`` that `loadgen verify` reads (` run=<id> seq=<container>.<pod>:<n>
/// sent=<ns>`, `n` counting from 0 per container across rotations), so that what a node agent shipped can be proven
/// complete and free of duplicates. Not thread-safe: one writer owns the tree.
struct PodLogWriter {
    enum Rotation: String, CaseIterable, Sendable {
        /// Rename `0.log` to `0.log.<time>` and open a new `0.log` (the kubelet's way).
        case rename
        /// Copy `0.log` to `0.log.<time>` and truncate it in place (logrotate's `copytruncate`).
        case copytruncate
    }

    struct Options: Sendable {
        var root: String
        var namespace = "loadgen"
        var pods = 10
        var containers = 1
        var lineBytes = 200
        /// Message sizes drawn per message (nil: every message `lineBytes`), seeded by `seed`.
        var lineSizes: LineSizeDistribution?
        var rotateBytes = 10 << 20
        var rotation = Rotation.rename
        var keep = 5
        /// Every N-th message is written as `P` fragments of at most `fragmentBytes` plus the final `F` (0: never).
        var partialEvery = 0
        var fragmentBytes = 64
        /// Every N-th message goes to stderr (0: never).
        var stderrEvery = 10
        var seed: UInt64 = 1
        /// The run id in every marker.
        var runID = "00000000"
    }

    /// One container's log file and its sequence.
    struct Stream {
        let name: String
        let directory: String
        /// The marker's `<worker>.<stream>`: container and pod.
        let container: Int
        let pod: Int
        var fd: Int32 = -1
        var size = 0
        var sequence = 0
        var rotations = 0
        var generator: LineGenerator
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let options: Options
    private(set) var streams: [Stream] = []
    private(set) var linesWritten = 0
    private(set) var bytesWritten = 0
    /// Message bytes written (markers included, CRI prefixes not): with ``linesWritten``, the mean message size.
    private(set) var messageBytesWritten = 0
    private var sizes: LineSizeSampler?
    /// The CRI timestamps written, as [first, last] Unix ns (0 before any).
    private(set) var firstNanos: Int64 = 0
    private(set) var lastNanos: Int64 = 0
    private var next = 0
    private var buffer: [UInt8] = []

    init(_ options: Options, startMillis: Int64) throws {
        self.options = options
        var random = SplitMix64(seed: options.seed)
        sizes = options.lineSizes.map { LineSizeSampler($0, seed: LineSizeSampler.seed(options.seed, worker: 0)) }
        for pod in 0..<options.pods {
            let uid = Self.uid(&random)
            let podDirectory = "\(options.root)/\(options.namespace)_gen-\(pod)_\(uid)"
            for container in 0..<options.containers {
                let directory = "\(podDirectory)/app-\(container)"
                try Self.makeDirectories(directory)
                var stream = Stream(
                    name: "gen-\(pod)/app-\(container)", directory: directory, container: container, pod: pod,
                    generator: LineGenerator(lineBytes: options.lineBytes, seed: random.next(), startMillis: startMillis))
                stream.fd = try Self.open("\(directory)/0.log")
                stream.size = Int(lseek(stream.fd, 0, SEEK_END))
                streams.append(stream)
            }
        }
    }

    /// Writes `count` messages, round robin over the streams, with the wall clock time `nowNanos` (each message a
    /// nanosecond after the one before in its stream).
    mutating func write(_ count: Int, nowNanos: Int64) throws {
        for index in 0..<count {
            let streamIndex = next
            next = (next + 1) % streams.count
            try writeMessage(to: streamIndex, nanos: nowNanos + Int64(index))
        }
    }

    private mutating func writeMessage(to index: Int, nanos: Int64) throws {
        let sequence = streams[index].sequence
        streams[index].sequence += 1
        var message: [UInt8] = []
        if var sampler = sizes {
            streams[index].generator.appendLine(to: &message, needle: false, bytes: sampler.next())
            sizes = sampler
        } else {
            streams[index].generator.appendLine(to: &message, needle: false)
        }
        let marker = Array(RecordMarker(
            runID: options.runID, worker: streams[index].container, stream: streams[index].pod, sequence: sequence,
            sentNanos: nanos).text.utf8)
        // The marker replaces the end of the generated line, so the message keeps its exact length.
        if message.count > marker.count { message.removeLast(marker.count) }
        message.append(contentsOf: marker)
        messageBytesWritten += message.count
        if firstNanos == 0 { firstNanos = nanos }
        lastNanos = max(lastNanos, nanos)
        let stream = options.stderrEvery > 0 && (sequence + 1) % options.stderrEvery == 0 ? "stderr" : "stdout"
        let timestamp = Self.rfc3339Nano(nanos)
        buffer.removeAll(keepingCapacity: true)
        if options.partialEvery > 0 && (sequence + 1) % options.partialEvery == 0 && message.count > options.fragmentBytes {
            var start = 0
            while message.count - start > options.fragmentBytes {
                appendLine(timestamp, stream, "P", message[start..<(start + options.fragmentBytes)])
                start += options.fragmentBytes
            }
            appendLine(timestamp, stream, "F", message[start...])
        } else {
            appendLine(timestamp, stream, "F", message[...])
        }
        try writeAll(buffer, to: index)
        linesWritten += 1
        if streams[index].size >= options.rotateBytes { try rotate(index) }
    }

    private mutating func appendLine(_ timestamp: String, _ stream: String, _ tag: String, _ text: ArraySlice<UInt8>) {
        buffer.append(contentsOf: timestamp.utf8)
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: stream.utf8)
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: tag.utf8)
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: text)
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func writeAll(_ bytes: [UInt8], to index: Int) throws {
        let fd = streams[index].fd
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, base + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Failure(description: "writing \(streams[index].directory)/0.log: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
        streams[index].size += bytes.count
        bytesWritten += bytes.count
    }

    /// Rotates a stream's `0.log` and drops the oldest rotated files past `keep`.
    private mutating func rotate(_ index: Int) throws {
        let directory = streams[index].directory
        let current = "\(directory)/0.log"
        streams[index].rotations += 1
        // The kubelet's suffix is the time to the second; a counter keeps fast rotations apart and in order.
        let rotated = "\(current).\(Self.suffix(nowNanos: Self.wallNanos()))-\(Self.sixDigits(streams[index].rotations))"
        switch options.rotation {
        case .rename:
            guard Glibc.rename(current, rotated) == 0 else {
                throw Failure(description: "rotating \(current): \(String(cString: strerror(errno)))")
            }
            close(streams[index].fd)
            streams[index].fd = try Self.open(current)
        case .copytruncate:
            try Self.copy(current, to: rotated)
            guard ftruncate(streams[index].fd, 0) == 0 else {
                throw Failure(description: "truncating \(current): \(String(cString: strerror(errno)))")
            }
        }
        streams[index].size = 0
        let prefix = "0.log."
        let rotatedFiles = Self.list(directory).filter { $0.hasPrefix(prefix) }.sorted()
        for old in rotatedFiles.dropLast(options.keep) { unlink("\(directory)/\(old)") }
    }

    func closeAll() {
        for stream in streams where stream.fd >= 0 { close(stream.fd) }
    }

    // MARK: Files

    private static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "opening \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    private static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw Failure(description: "creating \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func copy(_ source: String, to target: String) throws {
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "reading \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = Glibc.open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw Failure(description: "creating \(target): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            _ = chunk.withUnsafeBytes { Glibc.write(output, $0.baseAddress, count) }
        }
    }

    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    // MARK: Text

    private static func uid(_ random: inout SplitMix64) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for index in 0..<32 {
            if [8, 12, 16, 20].contains(index) { text.append(UInt8(ascii: "-")) }
            text.append(hex[random.next(below: 16)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `2026-12-01T10:00:00.123456789Z`: RFC 3339 with nanoseconds, as containerd writes.
    static func rfc3339Nano(_ nanos: Int64) -> String {
        let millis = nanos / 1_000_000
        let seconds = LineGenerator.rfc3339(millis: millis).prefix(19)
        let fraction = String(nanos % 1_000_000_000)
        return seconds + "." + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }

    /// `20261201-100000`: the kubelet's rotated-file suffix.
    static func suffix(nowNanos: Int64) -> String {
        let text = LineGenerator.rfc3339(millis: nowNanos / 1_000_000)
        let digits = text.prefix(19).filter { $0.isNumber }
        return String(digits.prefix(8)) + "-" + String(digits.dropFirst(8))
    }

    /// `000042`: six digits, so that rotated names sort in order.
    static func sixDigits(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static func wallNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
