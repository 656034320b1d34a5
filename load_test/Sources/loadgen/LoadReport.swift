import Foundation

/// The figures of a ``LoadRunner`` run and the report lines and RESULT fields that `push`, `fill` and `otlp` share.
/// Each command prints its own lines in its own order around these; `noun` is what a record is called (`lines`,
/// `records`) in the lines and fields that name it.
struct LoadReport {
    let stats: LoadStats
    let noun: String
    let wall: Double
    /// Records accepted a second.
    let perSecond: Double
    /// Line bytes accepted, and bytes on the wire, MB/s.
    let rawMBps: Double
    let wireMBps: Double
    let clientCores: Double
    let encodeCores: Double
    let encodeMillisPerBody: Double
    /// The mean size of the lines sent.
    let meanLineBytes: Double
    let poolBuild: Duration
    let runID: String

    init<Mode>(_ outcome: LoadRunner<Mode>.Outcome, noun: String) {
        let stats = outcome.stats
        let wall = outcome.wall.seconds
        self.stats = stats
        self.noun = noun
        self.wall = wall
        self.perSecond = Double(stats.recordsAccepted) / wall
        self.rawMBps = Double(stats.lineBytesAccepted) / wall / 1e6
        self.wireMBps = Double(stats.bodyBytesSent) / wall / 1e6
        self.clientCores = outcome.clientCPUSeconds / wall
        self.encodeCores = Double(stats.encodeNanos) / 1e9 / wall
        self.encodeMillisPerBody = stats.bodiesEncoded > 0
            ? Double(stats.encodeNanos) / 1e6 / Double(stats.bodiesEncoded) : 0
        self.meanLineBytes = stats.recordsSent > 0 ? Double(stats.lineBytesSent) / Double(stats.recordsSent) : 0
        self.poolBuild = outcome.poolBuild
        self.runID = outcome.runID
    }

    /// `lines/s  1.23M  (… lines accepted in 30.00s; … sent<note>)`.
    func printThroughput(note: String = "") {
        Report.line("\(noun)/s", "\(Report.count(perSecond))  (\(stats.recordsAccepted) \(noun) accepted in "
                    + "\(String(format2: wall))s; \(stats.recordsSent) sent\(note))")
    }

    /// `raw MB/s` (with what the bytes are), then the mean line size as `label`.
    func printSizes(raw: String, sizeLabel: String, sizeText: String) {
        Report.line("raw MB/s", String(format2: rawMBps) + "  (\(raw))")
        Report.line(sizeLabel, "mean \(String(fixed: meanLineBytes, decimals: 1)) B sent  (\(sizeText))")
    }

    /// `requests  N  (r/s)  <counts>`.
    func printRequests(_ counts: String) {
        Report.line("requests", "\(stats.requests)  (\(String(format2: Double(stats.requests) / wall))/s)  " + counts)
    }

    /// On failure: every status code and the first error.
    func printFailures() {
        guard let firstError = stats.firstError else { return }
        let codes = stats.statusCodes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        if !codes.isEmpty { Report.line("status codes", codes) }
        Report.line("first error", String(firstError.prefix(300)))
    }

    func printLatency(note: String = "") {
        let latency = stats.latencyMicros
        Report.line("latency", "p50=\(Report.micros(latency.valueAtPercentile(50))) "
                    + "p99=\(Report.micros(latency.valueAtPercentile(99))) max=\(Report.micros(latency.max))" + note)
    }

    /// `client CPU`, with the part spent on `encoding` (`encoding`, `encoding+gzip`).
    func printClientCPU(encoding: String) {
        Report.line("client CPU", String(format2: clientCores) + " cores  (\(encoding) "
                    + "\(String(format2: encodeCores)) cores, \(String(fixed: encodeMillisPerBody, decimals: 3)) "
                    + "ms/body; pools built in \(DurationArgument.format(poolBuild)) before the clock)")
    }

    /// The `<name> CPU` and `<name> memory` lines of a process sampled before and after the run (nothing without
    /// samples), and their RESULT fields. With `rawPerCore`, the CPU line also gives raw MB/s per core.
    func printProcess(_ name: String, before: ProcessSample?, after: ProcessSample?, rawPerCore: Bool = false)
        -> [String: Any]
    {
        guard let before, let after else { return [:] }
        let cores = BackendMonitor.cores(from: before, to: after, wallSeconds: wall)
        let perCore = cores > 0 ? perSecond / cores : 0
        let raw = rawPerCore ? ", \(String(format2: cores > 0 ? rawMBps / cores : 0)) raw MB/s per core" : ""
        Report.line("\(name) CPU", String(format2: cores) + " cores  (\(Report.count(perCore)) \(noun)/s per core\(raw))")
        Report.line("\(name) memory", "peak RSS (VmHWM) \(Report.megabytes(after.peakRSSBytes)), "
                    + "RSS now \(Report.megabytes(after.rssBytes))")
        return [
            "\(name)_cpu_cores": cores,
            "\(name)_\(noun)_per_second_per_core": perCore,
            "\(name)_peak_rss_bytes": after.peakRSSBytes,
            "\(name)_rss_bytes": after.rssBytes,
        ]
    }

    /// The `run` line and the manifest's RESULT fields: what `loadgen verify` reads, the records stored under
    /// `selector` in the range of every timestamp sent.
    func printManifest(selector: String) -> [String: Any] {
        let manifest = RunManifest(
            runID: runID, selector: selector,
            startNanos: stats.firstTimestampSent == .max ? 0 : stats.firstTimestampSent,
            endNanos: stats.lastTimestampSent == .min ? 0 : stats.lastTimestampSent + 1,
            acknowledged: stats.acknowledgedSequences)
        Report.line("run", "\(manifest.runID)  (\(manifest.recordsAcknowledged) records acknowledged in "
                    + "\(manifest.acknowledged.count) streams; check with loadgen verify --run <this RESULT>)")
        return manifest.resultFields
    }

    /// The RESULT fields every load command has. `lineBytes`, `lineBytesDist` and `lineSizes` are the options.
    func fields(encoding: String, concurrency: Int, lineBytes: Int, lineBytesDist: String?,
                lineSizes: LineSizeDistribution?) -> [String: Any] {
        let latency = stats.latencyMicros
        return [
            "encoding": encoding,
            "concurrency": concurrency,
            "line_bytes": lineBytesDist == nil ? lineBytes : Int(meanLineBytes.rounded()),
            "line_bytes_mean": meanLineBytes,
            "line_bytes_dist": lineSizes?.description ?? "fixed:\(lineBytes)",
            "raw_bytes_sent": stats.lineBytesSent,
            "wall_seconds": wall,
            "requests": stats.requests,
            "\(noun)_sent": stats.recordsSent,
            "\(noun)_accepted": stats.recordsAccepted,
            "\(noun)_per_second": perSecond,
            "raw_bytes_accepted": stats.lineBytesAccepted,
            "raw_mb_per_second": rawMBps,
            "wire_bytes_sent": stats.bodyBytesSent,
            "wire_mb_per_second": wireMBps,
            "status_2xx": stats.status2xx,
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
    }
}
