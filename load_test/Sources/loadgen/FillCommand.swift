import ArgumentParser
import AsyncHTTPClient

/// `loadgen fill`: pushes a volume of raw line bytes (one line in `--needle-every` contains `needle`), then asks the
/// backend to flush (`POST /flush`) so that a following query reads chunks from storage.
struct FillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill", abstract: "Push a volume of log bytes (with 'needle' lines), then POST /flush.")

    @OptionGroup var options: PushOptions

    @Option(help: "Raw log line bytes to push (1GB = 10^9 bytes, 1GiB = 2^30); rounded up to whole requests.")
    var bytes: ByteCountArgument

    @Option(help: "Put the word 'needle' in one line of every N (0: never).")
    var needleEvery: Int = 10_000

    @Option(help: "Backend process id: report its CPU cores and peak RSS from /proc.")
    var backendPid: Int?

    @Flag(help: "Do not call POST /flush afterwards.")
    var noFlush = false

    @Option(help: "Print interim lines/s to stderr this often (0s: never).")
    var progress: DurationArgument = DurationArgument(.seconds(5))

    mutating func run() async throws {
        // With a size distribution, the lines come from its mean as drawn (the same draws the pools make).
        let meanBytes = (try? options.lineSizes.sampledMean(seed: options.seed)) ?? Double(options.lineBytes)
        let lines = Int((Double(bytes.bytes) / max(1, meanBytes)).rounded(.up))
        let requests = max(1, (lines + options.linesPerRequest - 1) / options.linesPerRequest)
        let monitor = BackendMonitor(pid: backendPid)
        Report.say("fill: \(options.summary) bytes=\(bytes) (\(requests) requests of \(options.linesPerRequest) lines) "
              + "needle-every=\(needleEvery)")
        let plan = options.plan(stop: .requests(requests), needleEvery: needleEvery,
                                progressEvery: progress.duration > .zero ? progress.duration : nil)
        let before = try monitor.sample()
        let outcome = try await LoadRunner(plan: plan).run()
        let after = try monitor.sample()
        let stats = outcome.stats

        var flushStatus = -1
        var flushSeconds = 0.0
        if !noFlush {
            let clock = ContinuousClock()
            let start = clock.now
            var request = HTTPClientRequest(url: options.baseURL + "/flush")
            request.method = .POST
            if !options.tenant.isEmpty { request.headers.add(name: "X-Scope-OrgID", value: options.tenant) }
            let answer = await LoadRunner.send(request, client: HTTPClient.shared, mode: plan.mode)
            flushSeconds = (clock.now - start).seconds
            flushStatus = answer.status ?? 0
            if let status = answer.status, (200..<300).contains(status) {
                Report.say("  flush: HTTP \(status) in \(String(format2: flushSeconds))s")
            } else {
                printError("flush failed: \(answer.status.map { "HTTP \($0)" } ?? "transport error") \(answer.message)")
            }
        }
        let first = stats.firstTimestampAccepted == .max ? 0 : stats.firstTimestampAccepted
        let last = stats.lastTimestampAccepted == .min ? 0 : stats.lastTimestampAccepted
        Report.line("wrote", "\(stats.recordsAccepted) lines, \(ByteCountArgument.format(stats.lineBytesAccepted)) raw, "
                    + "\(stats.needleRecordsAccepted) lines with 'needle'")
        Report.line("time range", "\(LineGenerator.rfc3339(millis: first / 1_000_000)) .. "
                    + "\(LineGenerator.rfc3339(millis: last / 1_000_000))  (--start \(first) --end \(last + 1))")
        PushCommand.report(outcome, options: options, before: before, after: after, command: "fill", extra: [
            "needle_lines": stats.needleRecordsAccepted,
            "first_timestamp_ns": first,
            "last_timestamp_ns": last,
            "flush_status": flushStatus,
            "flush_seconds": flushSeconds,
        ])
    }
}
