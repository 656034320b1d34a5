import Foundation
import ArgumentParser

/// `loadgen push`: sustained push load for a fixed duration, with throughput, status, latency and CPU figures.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push log lines for a duration and report throughput, latency and CPU.")

    @OptionGroup var options: PushOptions

    @Option(help: "How long to push (30s, 2m, ...; default 30s); with --count, a time limit (default: none).")
    var duration: DurationArgument?

    @Option(help: "Push until exactly this many lines were acknowledged (the last request may be smaller), then stop.")
    var count: Int?

    @Option(help: "Backend process id: report its CPU cores and peak RSS from /proc.")
    var backendPid: Int?

    @Option(help: "Put the word 'needle' in one line of every N (0: never).")
    var needleEvery: Int = 0

    @Option(help: "Print interim lines/s to stderr this often (0s: never).")
    var progress: DurationArgument = DurationArgument(.seconds(5))

    func validate() throws {
        if let count, count <= 0 { throw ValidationError("--count must be positive, got \(count)") }
        if let duration, duration.duration <= .zero {
            throw ValidationError("--duration must be positive, got \(duration)")
        }
    }

    /// When the run stops: after `--duration` (30 s), or at `--count` lines acknowledged (within `--duration`).
    var stop: PushRunner.Stop {
        if let count { return .records(count, limit: duration?.duration) }
        return .after(duration?.duration ?? .seconds(30))
    }

    mutating func run() async throws {
        let monitor = BackendMonitor(pid: backendPid)
        let plan = options.plan(stop: stop, needleEvery: needleEvery,
                                progressEvery: progress.duration > .zero ? progress.duration : nil)
        let shape = count.map { "count=\($0)" + (duration.map { " within \($0)" } ?? "") }
            ?? "duration=\(duration ?? DurationArgument(.seconds(30)))"
        Report.say("push: \(options.summary) \(shape)")
        let before = try monitor.sample()
        let outcome = try await PushRunner(plan: plan).run()
        let after = try monitor.sample()
        Self.report(outcome, options: options, before: before, after: after, command: "push",
                    extra: count.map { ["count": $0] } ?? [:])
        if let count, outcome.stats.linesAccepted < count {
            printError("push: only \(outcome.stats.linesAccepted) of --count \(count) lines were acknowledged "
                       + "before the time limit")
            throw ExitCode(1)
        }
    }

    /// Prints the human-readable figures and the RESULT line of a push run (shared with `fill`).
    static func report(
        _ outcome: PushRunner.Outcome, options: PushOptions, before: ProcessSample?, after: ProcessSample?,
        command: String, extra: [String: Any] = [:]
    ) {
        let stats = outcome.stats
        let wall = outcome.wall.seconds
        let linesPerSecond = Double(stats.linesAccepted) / wall
        let rawMBps = Double(stats.lineBytesAccepted) / wall / 1e6
        let wireMBps = Double(stats.bodyBytesSent) / wall / 1e6
        let latency = stats.latencyMicros
        let clientCores = outcome.clientCPUSeconds / wall
        let encodeCores = Double(stats.encodeNanos) / 1e9 / wall
        let encodeMillisPerBody = stats.bodiesEncoded > 0 ? Double(stats.encodeNanos) / 1e6 / Double(stats.bodiesEncoded) : 0
        let ratio = stats.bodyBytesSent > 0 ? Double(stats.lineBytesSent) / Double(stats.bodyBytesSent) : 0
        let meanLineBytes = stats.linesSent > 0 ? Double(stats.lineBytesSent) / Double(stats.linesSent) : 0

        Report.line("lines/s", "\(Report.count(linesPerSecond))  (\(stats.linesAccepted) lines accepted in "
                    + "\(String(format2: wall))s; \(stats.linesSent) sent)")
        Report.line("raw MB/s", String(format2: rawMBps) + "  (log line bytes accepted)")
        Report.line("line size", "mean \(String(fixed: meanLineBytes, decimals: 1)) B sent  (\(options.lineSizeText))")
        Report.line("wire MB/s", String(format2: wireMBps) + "  (bodies sent; raw/wire = \(String(format2: ratio)))")
        Report.line("requests", "\(stats.requests)  (\(String(format2: Double(stats.requests) / wall))/s)  "
                    + "2xx=\(stats.status2xx) 4xx=\(stats.status4xx) 5xx=\(stats.status5xx) "
                    + "other=\(stats.statusOther) transport_errors=\(stats.transportErrors)")
        if let firstError = stats.firstError {
            let codes = stats.statusCodes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            if !codes.isEmpty { Report.line("status codes", codes) }
            Report.line("first error", String(firstError.prefix(300)))
        }
        Report.line("latency", "p50=\(Report.micros(latency.valueAtPercentile(50))) "
                    + "p99=\(Report.micros(latency.valueAtPercentile(99))) max=\(Report.micros(latency.max))")
        Report.line("client CPU", String(format2: clientCores) + " cores  (encoding \(String(format2: encodeCores)) "
                    + "cores, \(String(fixed: encodeMillisPerBody, decimals: 3)) ms/body; pools built in "
                    + "\(DurationArgument.format(outcome.poolBuild)) before the clock)")
        var result: [String: Any] = [
            "command": command,
            "encoding": options.encoding.rawValue,
            "streams": options.streams,
            "lines_per_request": options.linesPerRequest,
            "line_bytes": options.lineBytesDist == nil ? options.lineBytes : Int(meanLineBytes.rounded()),
            "line_bytes_mean": meanLineBytes,
            "line_bytes_dist": (try? options.lineSizes.description) ?? "fixed:\(options.lineBytes)",
            "raw_bytes_sent": stats.lineBytesSent,
            "concurrency": options.concurrency,
            "wall_seconds": wall,
            "lines_sent": stats.linesSent,
            "lines_accepted": stats.linesAccepted,
            "lines_per_second": linesPerSecond,
            "raw_bytes_accepted": stats.lineBytesAccepted,
            "raw_mb_per_second": rawMBps,
            "wire_bytes_sent": stats.bodyBytesSent,
            "wire_mb_per_second": wireMBps,
            "requests": stats.requests,
            "status_2xx": stats.status2xx,
            "status_4xx": stats.status4xx,
            "status_5xx": stats.status5xx,
            "status_other": stats.statusOther,
            "transport_errors": stats.transportErrors,
            "first_error": stats.firstError.map { $0 as Any } ?? NSNull(),
            "latency_p50_ms": Double(latency.valueAtPercentile(50)) / 1e3,
            "latency_p99_ms": Double(latency.valueAtPercentile(99)) / 1e3,
            "latency_max_ms": Double(latency.max) / 1e3,
            "client_cpu_cores": clientCores,
            "client_encode_cores": encodeCores,
            "client_encode_ms_per_body": encodeMillisPerBody,
        ]
        if let before, let after {
            let cores = BackendMonitor.cores(from: before, to: after, wallSeconds: wall)
            Report.line("backend CPU", String(format2: cores) + " cores  ("
                        + "\(Report.count(cores > 0 ? linesPerSecond / cores : 0)) lines/s per core, "
                        + "\(String(format2: cores > 0 ? rawMBps / cores : 0)) raw MB/s per core)")
            Report.line("backend memory", "peak RSS (VmHWM) \(Report.megabytes(after.peakRSSBytes)), "
                        + "RSS now \(Report.megabytes(after.rssBytes))")
            result["backend_cpu_cores"] = cores
            result["backend_lines_per_second_per_core"] = cores > 0 ? linesPerSecond / cores : 0
            result["backend_peak_rss_bytes"] = after.peakRSSBytes
            result["backend_rss_bytes"] = after.rssBytes
        }
        let manifest = RunManifest(
            runID: outcome.runID, selector: #"{job="gen"}"#,
            startNanos: stats.firstTimestampSent == .max ? 0 : stats.firstTimestampSent,
            endNanos: stats.lastTimestampSent == .min ? 0 : stats.lastTimestampSent + 1,
            acknowledged: stats.acknowledgedSequences)
        Report.line("run", "\(manifest.runID)  (\(manifest.recordsAcknowledged) records acknowledged in "
                    + "\(manifest.acknowledged.count) streams; check with loadgen verify --run <this RESULT>)")
        result.merge(manifest.resultFields) { _, new in new }
        result.merge(extra) { _, new in new }
        Report.printResult(result)
    }
}
