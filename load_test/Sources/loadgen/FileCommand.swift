import ArgumentParser

/// `loadgen file`: writes CRI-formatted container logs into a `/var/log/pods`-style tree at a paced rate, rotating
/// files as the kubelet does, for the node agent (`local.file_match` + `loki.source.file` + `stage.cri`) to tail.
struct FileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "file",
        abstract: "Write CRI container logs into a /var/log/pods-style tree, with rotation, at a rate.",
        discussion: """
            Layout: DIR/<namespace>_gen-<pod>_<uid>/app-<container>/<restart>.log, lines like
            2026-12-01T10:00:00.123456789Z stdout F ts=... level=info ... run=7f3a19c2 seq=000.000003:0000000042 sent=...
            Every message ends in the marker loadgen verify reads (seq=<container>.<pod>:<n>, n from 0 per container,
            across rotations and restarts); the RESULT line is the run's manifest, deleted pods' containers included:
            loadgen verify --run FILE --selector '<what the node agent labels the entries with>' proves that nothing
            was lost or repeated.
            """)

    @Option(help: "Run id in every marker (8 lowercase hex digits; default: random).")
    var runID: String?

    @Option(help: "The selector loadgen verify queries by default (what the node agent labels these entries with).")
    var selector: String = #"{namespace="loadgen"}"#

    @Option(help: "Root of the tree (like /var/log/pods).")
    var dir: String

    @Option(help: "Pods, each a directory.")
    var pods: Int = 10

    @Option(help: "Containers per pod, each one log file.")
    var containers: Int = 1

    @Option(help: "Namespace in the pod directories' names.")
    var namespace: String = "loadgen"

    @Option(help: "Messages a second over all files, paced by a token bucket (0: as fast as possible).")
    var rate: Double = 1000

    @Option(help: "How long to write (30s, 2m, ...); ignored with --count.")
    var duration: DurationArgument = DurationArgument(.seconds(30))

    @Option(help: "Write exactly this many messages, then stop.")
    var count: Int?

    @Option(help: "Bytes of each message (before the CRI prefix); --line-bytes-dist overrides it.")
    var lineBytes: Int = 200

    @Option(help: ArgumentHelp(LineSizeDistribution.help, valueName: "dist"))
    var lineBytesDist: String?

    @Option(help: "Rotate a file once it holds this much (10MiB, like the kubelet's containerLogMaxSize).")
    var rotateBytes: ByteCountArgument = ByteCountArgument(bytes: 10 << 20)

    @Option(help: "How to rotate: rename (the kubelet's way) or copytruncate.")
    var rotation: String = "rename"

    @Option(help: "Rotated files kept per container (the kubelet's containerLogMaxFiles - 1).")
    var keep: Int = 4

    @Option(help: "Split every N-th message into CRI partial (P) lines ending in an F line (0: never).")
    var partialEvery: Int = 0

    @Option(help: "Bytes of each partial fragment.")
    var fragmentBytes: Int = 64

    @Option(help: "Split messages longer than this into P fragments of this size and a final F (containerd's 16KiB).")
    var maxLineBytes: ByteCountArgument = ByteCountArgument(bytes: 16 << 10)

    @Option(help: "Send every N-th message to stderr (0: never).")
    var stderrEvery: Int = 10

    @Option(help: "Every N-th message of a container, restart it: <n+1>.log is opened, <n>.log stays (0: never).")
    var restartEvery: Int = 0

    @Option(help: "After N messages of a pod, delete it and start a new pod (new name and uid) in its place (0: never).")
    var deletePodAfter: Int = 0

    @Option(help: "How long a deleted pod's directory stays, no longer written, before it is removed.")
    var deleteGrace: DurationArgument = DurationArgument(.seconds(2))

    @Option(help: "Seed of the generated values and pod UIDs.")
    var seed: UInt64 = 1

    @Option(help: "Print interim messages/s to stderr this often (0s: never).")
    var progress: DurationArgument = DurationArgument(.seconds(5))

    func validate() throws {
        guard pods > 0, containers > 0, keep >= 0, fragmentBytes > 0, maxLineBytes.bytes > 0 else {
            throw ValidationError("--pods, --containers, --fragment-bytes and --max-line-bytes must be positive, "
                                  + "--keep 0 or more")
        }
        guard restartEvery >= 0, deletePodAfter >= 0 else {
            throw ValidationError("--restart-every and --delete-pod-after must be 0 (never) or positive, "
                                  + "got \(restartEvery) and \(deletePodAfter)")
        }
        if let count, deletePodAfter > 0, pods + count / deletePodAfter >= RecordMarker.maxStreams {
            throw ValidationError("--count \(count) with --delete-pod-after \(deletePodAfter) makes about "
                                  + "\(pods + count / deletePodAfter) pods; the marker numbers fewer than "
                                  + "\(RecordMarker.maxStreams)")
        }
        try RecordMarker.validate(lineBytes: lineBytes, concurrency: containers, streams: pods, streamsOption: "--pods",
                                  runID: runID)
        guard PodLogWriter.Rotation(rawValue: rotation) != nil else {
            throw ValidationError("--rotation must be rename or copytruncate, got '\(rotation)'")
        }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or a positive number") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        do { _ = try LineSizeDistribution.resolve(lineBytesDist, lineBytes: lineBytes) } catch {
            throw ValidationError(error.description)
        }
    }

    mutating func run() async throws {
        var options = PodLogWriter.Options(root: dir)
        options.namespace = namespace
        options.pods = pods
        options.containers = containers
        options.lineBytes = lineBytes
        options.lineSizes = try lineBytesDist.map { try LineSizeDistribution.parse($0) }
        options.rotateBytes = rotateBytes.bytes
        options.rotation = PodLogWriter.Rotation(rawValue: rotation) ?? .rename
        options.keep = keep
        options.partialEvery = partialEvery
        options.fragmentBytes = fragmentBytes
        options.maxLineBytes = maxLineBytes.bytes
        options.stderrEvery = stderrEvery
        options.restartEvery = restartEvery
        options.deletePodAfter = deletePodAfter
        options.deleteGraceNanos = Int64(deleteGrace.seconds * 1e9)
        options.seed = seed
        options.runID = runID ?? RecordMarker.newRunID()
        Report.say("file: \(pods * containers) files under \(dir), rate=\(rate > 0 ? Report.count(rate) + "/s" : "max") "
                   + "line=\(options.lineSizes?.description ?? "\(lineBytes)B") rotate=\(rotateBytes) (\(rotation), keep \(keep))"
                   + (restartEvery > 0 ? " restart-every=\(restartEvery)" : "")
                   + (deletePodAfter > 0 ? " delete-pod-after=\(deletePodAfter) (grace \(deleteGrace))" : ""))
        var writer = try PodLogWriter(options, startMillis: PodLogWriter.wallNanos() / 1_000_000)
        defer { writer.closeAll() }

        let clock = ContinuousClock()
        let started = clock.now
        let end = started + duration.duration
        var bucket = rate > 0 ? TokenBucket(rate: rate, burst: max(1, rate / 10)) : nil
        let step = max(1, min(1000, Int(rate / 100)))
        var lastProgress = started
        var lastLines = 0
        while true {
            let remaining = count.map { $0 - writer.linesWritten }
            if let remaining, remaining <= 0 { break }
            if count == nil, clock.now >= end { break }
            let batch = min(step, remaining ?? step)
            if var paced = bucket {
                let wait = paced.reserve(batch, now: clock.now - started)
                bucket = paced
                if wait > .zero { try await Task.sleep(for: wait) }
            }
            try writer.write(batch, nowNanos: PodLogWriter.wallNanos())
            if progress.duration > .zero, clock.now - lastProgress >= progress.duration {
                let seconds = (clock.now - lastProgress).seconds
                printError("file: \(Report.count(Double(writer.linesWritten - lastLines) / seconds)) messages/s, "
                           + "\(writer.linesWritten) written")
                lastProgress = clock.now
                lastLines = writer.linesWritten
            }
        }
        let wall = (clock.now - started).seconds
        // Deleted pods still in their grace are removed once it is over, as the kubelet would.
        if let due = writer.lastDeletionDueNanos {
            let wait = due - PodLogWriter.wallNanos()
            if wait > 0 { try await Task.sleep(for: .nanoseconds(wait)) }  // not-a-wait: the pods' grace is simulated time
            try writer.removeDeletedPods(nowNanos: .max)
        }
        Report.line("messages", "\(writer.linesWritten) in \(String(format2: wall)) s = \(Report.count(Double(writer.linesWritten) / wall))/s")
        Report.line("bytes", Report.megabytes(writer.bytesWritten))
        let meanLineBytes = writer.linesWritten > 0 ? Double(writer.messageBytesWritten) / Double(writer.linesWritten) : 0
        Report.line("message size", "mean \(String(fixed: meanLineBytes, decimals: 1)) B"
                    + "  (\(options.lineSizes?.description ?? "fixed:\(lineBytes)"))")
        Report.line("rotations", "\(writer.rotations)")
        Report.line("restarts", "\(writer.restarts)")
        Report.line("pods deleted", "\(writer.podsDeleted)  (\(writer.everyStream.count / containers) pods written)")
        let manifest = RunManifest(
            runID: options.runID, selector: selector, startNanos: writer.firstNanos, endNanos: writer.lastNanos + 1,
            acknowledged: writer.acknowledged)
        Report.printResult(manifest.resultFields.merging([
            "command": "file", "dir": dir, "messages": writer.linesWritten, "bytes": writer.bytesWritten,
            "seconds": wall, "messages_per_second": Double(writer.linesWritten) / wall,
            "line_bytes_mean": meanLineBytes, "line_bytes_dist": options.lineSizes?.description ?? "fixed:\(lineBytes)",
            "message_bytes": writer.messageBytesWritten,
            "rotations": writer.rotations, "restarts": writer.restarts, "pods_deleted": writer.podsDeleted,
            "files": Dictionary(uniqueKeysWithValues: writer.everyStream.map { ($0.name, $0.sequence) }),
        ]) { _, new in new })
    }
}
