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
    var stop: RunStop {
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
        let outcome = try await LoadRunner(plan: plan).run()
        let after = try monitor.sample()
        Self.report(outcome, options: options, before: before, after: after, command: "push",
                    extra: count.map { ["count": $0] } ?? [:])
        if let count, outcome.stats.recordsAccepted < count {
            printError("push: only \(outcome.stats.recordsAccepted) of --count \(count) lines were acknowledged "
                       + "before the time limit")
            throw ExitCode(1)
        }
    }

    /// Prints the human-readable figures and the RESULT line of a push run (shared with `fill`).
    static func report(
        _ outcome: LoadRunner<PushMode>.Outcome, options: PushOptions, before: ProcessSample?, after: ProcessSample?,
        command: String, extra: [String: Any] = [:]
    ) {
        let report = LoadReport(outcome, noun: "lines")
        let stats = outcome.stats
        let ratio = stats.bodyBytesSent > 0 ? Double(stats.lineBytesSent) / Double(stats.bodyBytesSent) : 0
        report.printThroughput()
        report.printSizes(raw: "log line bytes accepted", sizeLabel: "line size", sizeText: options.lineSizeText)
        Report.line("wire MB/s", String(format2: report.wireMBps) + "  (bodies sent; raw/wire = \(String(format2: ratio)))")
        report.printRequests("2xx=\(stats.status2xx) 4xx=\(stats.status4xx) 5xx=\(stats.status5xx) "
                             + "other=\(stats.statusOther) transport_errors=\(stats.transportErrors)")
        report.printFailures()
        report.printLatency()
        report.printClientCPU(encoding: "encoding")
        var result = report.fields(encoding: options.encoding.rawValue, concurrency: options.concurrency,
                                   lineBytes: options.lineBytes, lineBytesDist: options.lineBytesDist,
                                   lineSizes: try? options.lineSizes)
        result.merge([
            "command": command,
            "streams": options.streams,
            "lines_per_request": options.linesPerRequest,
            "status_4xx": stats.status4xx,
            "status_5xx": stats.status5xx,
        ]) { _, new in new }
        result.merge(report.printProcess("backend", before: before, after: after, rawPerCore: true)) { _, new in new }
        result.merge(report.printManifest(selector: #"{job="gen"}"#)) { _, new in new }
        result.merge(extra) { _, new in new }
        Report.printResult(result)
    }
}
