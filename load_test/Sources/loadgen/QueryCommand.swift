import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `loadgen query`: runs a LogQL range query several times and reports the scan rate from Loki's
/// `data.stats.summary`, and per backend core from /proc.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Run query_range and report GB/s scanned (and per backend core).")

    @Option(help: "Base URL of the backend.")
    var url: String = "http://127.0.0.1:3100"

    @Option(help: "Tenant, sent as X-Scope-OrgID (empty: no header).")
    var tenant: String = "fake"

    @Option(help: "LogQL query.")
    var query: String = #"{job="gen"} |= "needle""#

    @Option(help: "Start of the range (Unix ns or RFC3339); default: now - --since.")
    var start: String?

    @Option(help: "End of the range (Unix ns or RFC3339); default: now.")
    var end: String?

    @Option(help: "Range length back from now when --start is not given (30m, 1h, ...).")
    var since: DurationArgument = DurationArgument(.seconds(3600))

    @Option(help: "Maximum entries to return.")
    var limit: Int = 5000

    @Option(help: "backward or forward.")
    var direction: String = "backward"

    @Option(name: .customLong("repeat"), help: "How many times to run the query.")
    var repeatCount: Int = 3

    @Option(help: "Backend process id: report CPU cores used and GB/s per core from /proc.")
    var backendPid: Int?

    @Option(help: "Step of a metric query (sent as step=); omitted for log queries.")
    var step: String?

    @Option(help: "Raw line bytes the query's range holds (fill's figure): GB/s is then this over the query's time, not the answer's totalBytesProcessed (a count reads block summaries, not lines).")
    var dataBytes: ByteCountArgument?

    static func encodeComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// One run's figures.
    struct Run {
        var wallSeconds: Double
        var execSeconds: Double
        var bytesProcessed: Double
        var linesProcessed: Double
        var bytesPerSecondReported: Double
        var entriesReturned: Int
        var backendCPUSeconds: Double?
        /// The backend's RSS before the query and its peak during it (the peak reset first), when measured.
        var backendRSSBefore: Int?
        var backendQueryPeakRSS: Int?
    }

    mutating func run() async throws {
        let now = wallClockNanos()
        let startParameter = start ?? String(now - since.duration.nanoseconds)
        let endParameter = end ?? String(now)
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let target = base + "/loki/api/v1/query_range?query=\(Self.encodeComponent(query))"
            + "&start=\(Self.encodeComponent(startParameter))&end=\(Self.encodeComponent(endParameter))"
            + "&limit=\(limit)&direction=\(Self.encodeComponent(direction))"
            + (step.map { "&step=\(Self.encodeComponent($0))" } ?? "")
        Report.say("query: \(query)  start=\(startParameter) end=\(endParameter) limit=\(limit) repeat=\(repeatCount)")
        let monitor = BackendMonitor(pid: backendPid)
        var runs: [Run] = []
        for index in 1...max(1, repeatCount) {
            var request = HTTPClientRequest(url: target)
            if !tenant.isEmpty { request.headers.add(name: "X-Scope-OrgID", value: tenant) }
            let resetPeak = backendPid.map { ProcessSample.resetPeakRSS(pid: $0) } ?? false
            let before = try monitor.sample()
            let clock = ContinuousClock()
            let started = clock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
            let body = try await response.body.collect(upTo: 1 << 30)
            let wall = (clock.now - started).seconds
            let after = try monitor.sample()
            let bytes = Array(body.readableBytesView)
            guard response.status.code == 200 else {
                throw LoadGenError.badResponse(url: target, status: Int(response.status.code),
                                               bodyPrefix: String(decoding: bytes.prefix(500), as: UTF8.self))
            }
            var run = try Self.parse(bytes, url: target)
            run.wallSeconds = wall
            if let dataBytes { run.bytesProcessed = Double(dataBytes.bytes) }
            if let before, let after {
                run.backendCPUSeconds = after.cpuSeconds - before.cpuSeconds
                if resetPeak {
                    run.backendRSSBefore = before.rssBytes
                    run.backendQueryPeakRSS = after.peakRSSBytes
                }
            }
            runs.append(run)
            var line = "#\(index)  wall=\(String(format2: wall))s exec=\(String(format2: run.execSeconds))s  "
                + "scanned \(ByteCountArgument.format(Int(run.bytesProcessed))), "
                + "\(Report.count(run.linesProcessed)) lines  -> "
                + "\(String(format2: run.bytesProcessed / max(run.execSeconds, 1e-9) / 1e9)) GB/s "
                + "(reported \(String(format2: run.bytesPerSecondReported / 1e9)) GB/s)  entries=\(run.entriesReturned)"
            if let cpu = run.backendCPUSeconds {
                line += "  backend \(String(format2: cpu / wall)) cores, "
                    + (cpu > 0 ? "\(String(format2: run.bytesProcessed / cpu / 1e9)) GB/s per core"
                                : "GB/s per core n/a (CPU delta under one clock tick)")
            }
            if let peak = run.backendQueryPeakRSS, let rss = run.backendRSSBefore {
                line += "  RSS \(Report.megabytes(rss)) -> peak \(Report.megabytes(peak))"
            }
            Report.say("  " + line)
        }
        let rates = runs.map { $0.bytesProcessed / max($0.execSeconds, 1e-9) / 1e9 }.sorted()
        let best = rates.last ?? 0
        let median = rates.isEmpty ? 0 : rates[rates.count / 2]
        Report.line("GB/s scanned", "best \(String(format2: best)), median \(String(format2: median))")
        var result: [String: Any] = [
            "command": "query",
            "query": query,
            "runs": runs.map { run -> [String: Any] in
                var fields: [String: Any] = [
                    "wall_seconds": run.wallSeconds, "exec_seconds": run.execSeconds,
                    "total_bytes_processed": run.bytesProcessed, "total_lines_processed": run.linesProcessed,
                    "bytes_processed_per_second": run.bytesPerSecondReported, "entries_returned": run.entriesReturned,
                    "gb_per_second": run.bytesProcessed / max(run.execSeconds, 1e-9) / 1e9,
                ]
                if let cpu = run.backendCPUSeconds {
                    fields["backend_cpu_seconds"] = cpu
                    fields["backend_cpu_cores"] = cpu / max(run.wallSeconds, 1e-9)
                    if cpu > 0 { fields["gb_per_second_per_core"] = run.bytesProcessed / cpu / 1e9 }
                }
                if let peak = run.backendQueryPeakRSS, let rss = run.backendRSSBefore {
                    fields["backend_rss_before_bytes"] = rss
                    fields["backend_query_peak_rss_bytes"] = peak
                }
                return fields
            },
            "gb_per_second_best": best,
            "gb_per_second_median": median,
        ]
        let perCore = runs.compactMap { run -> Double? in
            guard let cpu = run.backendCPUSeconds, cpu > 0 else { return nil }
            return run.bytesProcessed / cpu / 1e9
        }.sorted()
        if !perCore.isEmpty {
            Report.line("GB/s per core", "best \(String(format2: perCore.last ?? 0)), "
                        + "median \(String(format2: perCore[perCore.count / 2]))")
            result["gb_per_second_per_core_median"] = perCore[perCore.count / 2]
        }
        if let sample = try monitor.sample() {
            Report.line("backend memory", "peak RSS (VmHWM) \(Report.megabytes(sample.peakRSSBytes)), "
                        + "RSS now \(Report.megabytes(sample.rssBytes))")
            result["backend_peak_rss_bytes"] = sample.peakRSSBytes
            result["backend_rss_bytes"] = sample.rssBytes
        }
        Report.printResult(result)
    }

    /// Reads `data.stats.summary` and counts the returned entries of a query_range answer.
    static func parse(_ body: [UInt8], url: String) throws -> Run {
        func number(_ value: Any?) -> Double {
            if let number = value as? NSNumber { return number.doubleValue }
            if let text = value as? String { return Double(text) ?? 0 }
            return 0
        }
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let data = root["data"] as? [String: Any]
        else {
            throw LoadGenError.badResponse(url: url, status: 200,
                                           bodyPrefix: "not a Loki query answer: " + String(decoding: body.prefix(300), as: UTF8.self))
        }
        let summary = (data["stats"] as? [String: Any])?["summary"] as? [String: Any] ?? [:]
        var entries = 0
        for stream in data["result"] as? [[String: Any]] ?? [] {
            entries += (stream["values"] as? [Any])?.count ?? 0
        }
        return Run(
            wallSeconds: 0, execSeconds: number(summary["execTime"]),
            bytesProcessed: number(summary["totalBytesProcessed"]), linesProcessed: number(summary["totalLinesProcessed"]),
            bytesPerSecondReported: number(summary["bytesProcessedPerSecond"]), entriesReturned: entries,
            backendCPUSeconds: nil)
    }
}
