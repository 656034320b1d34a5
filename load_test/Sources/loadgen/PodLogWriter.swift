import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes container logs the way the kubelet and containerd leave them on a node, for the node agent to tail:
/// `<root>/<namespace>_<pod>_<uid>/<container>/<restart>.log`, one CRI line per entry
/// (`2026-12-01T10:00:00.123456789Z stdout F <message>`), and the churn of a real node:
///
/// - **partial lines**: a message longer than `maxLineBytes` (containerd's 16 KiB) is written as `P` fragments of
///   exactly that size followed by an `F` fragment with the rest; every `partialEvery`-th message is split into
///   `fragmentBytes` fragments the same way;
/// - **rotation** when a file passes `rotateBytes`, as the kubelet does (`0.log` renamed to
///   `0.log.<yyyyMMdd-HHmmss>`, a fresh `0.log` opened, at most `keep` rotated files kept) or by copy and truncate;
/// - **container restarts** every `restartEvery` messages of a container: `<n+1>.log` is opened next to `<n>.log`,
///   which stops growing and stays (the kubelet keeps the previous instance's log for `kubectl logs --previous`);
/// - **deleted pods** after `deletePodAfter` messages of a pod: the pod stops writing, a new pod (new name, new uid)
///   takes its place at once, and the old pod's directory is removed `deleteGraceNanos` later, so a tailer can finish.
///
/// Each message ends in the ``RecordMarker`` that `loadgen verify` reads (` run=<id> seq=<container>.<pod>:<n>
/// sent=<ns>`, `n` counting from 0 per container across rotations and restarts), so that what a node agent shipped
/// can be proven complete and free of duplicates; ``acknowledged`` lists every container ever written, deleted pods'
/// included, with its count. Not thread-safe: one writer owns the tree.
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
        /// The longest CRI line's message: longer ones are split into `P` fragments of this size and a final `F`
        /// (containerd's `max_container_log_line_size`, 16 KiB).
        var maxLineBytes = 16 << 10
        /// Every N-th message goes to stderr (0: never).
        var stderrEvery = 10
        /// Every N-th message of a container, the container restarts: `<n+1>.log` is opened (0: never).
        var restartEvery = 0
        /// After N messages of a pod (all its containers), the pod is deleted and replaced by a new one (0: never).
        var deletePodAfter = 0
        /// How long a deleted pod's directory stays, unwritten, before it is removed.
        var deleteGraceNanos: Int64 = 2_000_000_000
        var seed: UInt64 = 1
        /// The run id in every marker.
        var runID = "00000000"
    }

    /// One container's log files and its sequence.
    struct Stream {
        let name: String
        /// The pod's directory, `<root>/<namespace>_<pod>_<uid>`.
        let podDirectory: String
        /// The container's directory in it.
        let directory: String
        /// The marker's `<worker>.<stream>`: container and pod.
        let container: Int
        let pod: Int
        var fd: Int32 = -1
        var size = 0
        var sequence = 0
        var rotations = 0
        /// Restarts so far: the current file is `<restarts>.log`.
        var restarts = 0
        var generator: LineGenerator

        /// The file being written, `<restarts>.log`.
        var fileName: String { "\(restarts).log" }
        var path: String { "\(directory)/\(fileName)" }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let options: Options
    /// The containers being written, pod by pod (`containers` per pod), in their pods' slots.
    private(set) var streams: [Stream] = []
    /// The containers of deleted pods, in the order they stopped.
    private(set) var retired: [Stream] = []
    private(set) var linesWritten = 0
    private(set) var bytesWritten = 0
    /// Message bytes written (markers included, CRI prefixes not): with ``linesWritten``, the mean message size.
    private(set) var messageBytesWritten = 0
    /// Pod directories removed after their grace, and those waiting for it (directory, due time in Unix ns).
    private(set) var podsDeleted = 0
    private(set) var pendingDeletions: [(directory: String, dueNanos: Int64)] = []
    private var sizes: LineSizeSampler?
    /// The CRI timestamps written, as [first, last] Unix ns (0 before any).
    private(set) var firstNanos: Int64 = 0
    private(set) var lastNanos: Int64 = 0
    private var next = 0
    /// Pod uids and generator seeds, drawn in order, so a seed gives the same tree.
    private var random: SplitMix64
    /// The number the next new pod gets (`gen-<n>`, the marker's stream).
    private var nextPod: Int
    /// Messages written per pod slot since its pod started.
    private var podMessages: [Int]
    /// The CRI lines of one message, and the message itself: reused, so the loop allocates nothing of its own.
    private var buffer: [UInt8] = []
    private var message: [UInt8] = []
    /// ` run=<id> seq=000.000000:0000000000 sent=…`: copied over each message's end, then its digits written.
    private let markerTemplate: [UInt8]

    init(_ options: Options, startMillis: Int64) throws {
        self.options = options
        random = SplitMix64(seed: options.seed)
        nextPod = options.pods
        podMessages = Array(repeating: 0, count: options.pods)
        markerTemplate = RecordMarker.placeholder(runID: options.runID)
        sizes = options.lineSizes.map { LineSizeSampler($0, seed: LineSizeSampler.seed(options.seed, worker: 0)) }
        for pod in 0..<options.pods {
            streams += try makePod(pod, startMillis: startMillis)
        }
    }

    /// Every container ever written, deleted pods' first.
    var everyStream: [Stream] { retired + streams }

    /// What `loadgen verify` expects: per ``RecordMarker/streamKey`` (container.pod) of every container ever
    /// written, deleted pods' included, the messages written (numbers `0..<count`).
    var acknowledged: [String: Int] {
        var result: [String: Int] = [:]
        for stream in everyStream { result[RecordMarker.streamKey(worker: stream.container, stream: stream.pod)] = stream.sequence }
        return result
    }

    var restarts: Int { everyStream.reduce(0) { $0 + $1.restarts } }
    var rotations: Int { everyStream.reduce(0) { $0 + $1.rotations } }
    /// When the last deleted pod's directory is due for removal (nil: none waits).
    var lastDeletionDueNanos: Int64? { pendingDeletions.map(\.dueNanos).max() }

    /// Creates pod `pod`'s directories and opens its containers' `0.log`.
    private mutating func makePod(_ pod: Int, startMillis: Int64) throws -> [Stream] {
        guard pod < RecordMarker.maxStreams else {
            throw Failure(description: "pod gen-\(pod): the marker numbers at most \(RecordMarker.maxStreams) pods a run; "
                          + "delete pods less often (--delete-pod-after) or write fewer messages")
        }
        let podDirectory = "\(options.root)/\(options.namespace)_gen-\(pod)_\(Self.uid(&random))"
        var made: [Stream] = []
        for container in 0..<options.containers {
            let directory = "\(podDirectory)/app-\(container)"
            try Self.makeDirectories(directory)
            var stream = Stream(
                name: "gen-\(pod)/app-\(container)", podDirectory: podDirectory, directory: directory,
                container: container, pod: pod,
                generator: LineGenerator(lineBytes: options.lineBytes, seed: random.next(), startMillis: startMillis))
            stream.fd = try Self.open(stream.path)
            stream.size = Int(lseek(stream.fd, 0, SEEK_END))
            made.append(stream)
        }
        return made
    }

    /// Writes `count` messages, round robin over the streams, with the wall clock time `nowNanos` (each message a
    /// nanosecond after the one before in its stream); first removes deleted pods whose grace is over.
    mutating func write(_ count: Int, nowNanos: Int64) throws {
        try removeDeletedPods(nowNanos: nowNanos)
        for index in 0..<count {
            let streamIndex = next
            next = (next + 1) % streams.count
            try writeMessage(to: streamIndex, nanos: nowNanos + Int64(index))
        }
    }

    private mutating func writeMessage(to index: Int, nanos: Int64) throws {
        let sequence = streams[index].sequence
        streams[index].sequence += 1
        message.removeAll(keepingCapacity: true)
        if var sampler = sizes {
            streams[index].generator.appendLine(to: &message, needle: false, bytes: sampler.next())
            sizes = sampler
        } else {
            streams[index].generator.appendLine(to: &message, needle: false)
        }
        // The marker replaces the end of the generated line, so the message keeps its exact length.
        let markerStart = max(0, message.count - markerTemplate.count)
        message.replaceSubrange(markerStart..., with: markerTemplate)
        let (container, pod) = (streams[index].container, streams[index].pod)
        message.withUnsafeMutableBufferPointer { bytes in
            RecordMarker.writeFields(into: bytes, at: markerStart, worker: container, stream: pod, sequence: sequence,
                                     sentNanos: nanos)
        }
        messageBytesWritten += message.count
        if firstNanos == 0 { firstNanos = nanos }
        lastNanos = max(lastNanos, nanos)
        let stream = options.stderrEvery > 0 && (sequence + 1) % options.stderrEvery == 0 ? "stderr" : "stdout"
        let timestamp = Self.rfc3339Nano(nanos)
        buffer.removeAll(keepingCapacity: true)
        // Split as containerd does past its line limit, or into small fragments every --partial-every messages.
        let forced = options.partialEvery > 0 && (sequence + 1) % options.partialEvery == 0
        let fragment = forced ? min(options.fragmentBytes, options.maxLineBytes) : options.maxLineBytes
        var start = 0
        while message.count - start > fragment {
            appendLine(timestamp, stream, "P", message[start..<(start + fragment)])
            start += fragment
        }
        appendLine(timestamp, stream, "F", message[start...])
        try writeAll(buffer, to: index)
        linesWritten += 1
        if options.restartEvery > 0 && (sequence + 1) % options.restartEvery == 0 {
            try restart(index)
        } else if streams[index].size >= options.rotateBytes {
            try rotate(index)
        }
        if options.deletePodAfter > 0 {
            let slot = index / options.containers
            podMessages[slot] += 1
            if podMessages[slot] >= options.deletePodAfter { try replacePod(slot, nanos: nanos) }
        }
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
                    throw Failure(description: "writing \(streams[index].path): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
        streams[index].size += bytes.count
        bytesWritten += bytes.count
    }

    /// Rotates a stream's current file and drops its oldest rotated files past `keep`.
    private mutating func rotate(_ index: Int) throws {
        let directory = streams[index].directory
        let current = streams[index].path
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
        let prefix = streams[index].fileName + "."
        let rotatedFiles = Self.list(directory).filter { $0.hasPrefix(prefix) }.sorted()
        for old in rotatedFiles.dropLast(options.keep) { unlink("\(directory)/\(old)") }
    }

    /// Restarts a container: its current file stops growing and stays, the next messages go to `<n+1>.log`.
    private mutating func restart(_ index: Int) throws {
        close(streams[index].fd)
        streams[index].fd = -1
        streams[index].restarts += 1
        streams[index].fd = try Self.open(streams[index].path)
        streams[index].size = Int(lseek(streams[index].fd, 0, SEEK_END))
    }

    /// Deletes the pod in `slot`: its containers stop, a new pod takes the slot at once, and the old directory is
    /// removed once `deleteGraceNanos` have passed (by a later ``write(_:nowNanos:)`` or ``removeDeletedPods(nowNanos:)``).
    private mutating func replacePod(_ slot: Int, nanos: Int64) throws {
        let first = slot * options.containers
        for index in first..<(first + options.containers) {
            close(streams[index].fd)
            streams[index].fd = -1
            retired.append(streams[index])
        }
        pendingDeletions.append((streams[first].podDirectory, nanos + options.deleteGraceNanos))
        let replacement = try makePod(nextPod, startMillis: nanos / 1_000_000)
        nextPod += 1
        streams.replaceSubrange(first..<(first + options.containers), with: replacement)
        podMessages[slot] = 0
    }

    /// Removes the directories of deleted pods whose grace has passed by `nowNanos` (`.max`: all of them).
    mutating func removeDeletedPods(nowNanos: Int64) throws {
        guard pendingDeletions.contains(where: { $0.dueNanos <= nowNanos }) else { return }
        var waiting: [(directory: String, dueNanos: Int64)] = []
        for pending in pendingDeletions {
            if pending.dueNanos <= nowNanos {
                try Self.removeTree(pending.directory)
                podsDeleted += 1
            } else {
                waiting.append(pending)
            }
        }
        pendingDeletions = waiting
    }

    func closeAll() {
        for stream in streams where stream.fd >= 0 { close(stream.fd) }
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
