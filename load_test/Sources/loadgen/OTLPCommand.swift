import Foundation
import ArgumentParser

/// `loadgen otlp`: OTLP/HTTP logs export load against an agent (`otelcol.receiver.otlp`) or any OTLP/HTTP logs
/// endpoint, for a fixed duration, at full speed or at a fixed rate; reports accepted records/s, status counts,
/// latency and the CPU and memory of the client, the agent and the backend.
struct OTLPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "otlp",
        abstract: "Send OTLP/HTTP log export requests for a duration and report records/s, latency and CPU.")

    @Option(help: "The OTLP/HTTP logs URL; repeat for several targets (gateway replicas): workers are spread over them round robin, so each gets an even share of the rate.")
    var url: [String] = ["http://127.0.0.1:4318/v1/logs"]

    @Option(help: "Body encoding: protobuf (application/x-protobuf) or json (OTLP/JSON).")
    var encoding: OTLPEncoding = .protobuf

    @Flag(help: "Compress bodies with gzip (Content-Encoding: gzip).")
    var gzip = false

    @Option(help: "gzip level with --gzip, 1 (fastest) to 9; 6 is zlib's and Go's default, which exporters use.")
    var gzipLevel: Int = 6

    @Option(help: "Log records per export request.")
    var recordsPerRequest: Int = 1000

    @Option(help: "Bytes of each record's body (a logfmt line, padded or cut to exactly this); --line-bytes-dist overrides it.")
    var lineBytes: Int = 215

    @Option(help: ArgumentHelp(LineSizeDistribution.help, valueName: "dist"))
    var lineBytesDist: String?

    @Option(help: "Seed of the body sizes drawn with --line-bytes-dist.")
    var seed: UInt64 = 1

    @Option(help: "String attributes per record.")
    var attributes: Int = 5

    @Option(help: "Distinct services (resources with service.name=svc-N); a request has min(services, records).")
    var services: Int = 10

    @Option(help: "Concurrent workers, each with one keep-alive connection.")
    var concurrency: Int = 4

    @Option(help: "How long to send (30s, 2m, ...; default 30s); with --count, a time limit (default: none).")
    var duration: DurationArgument?

    @Option(help: "Send until exactly this many records were acknowledged (the last request may be smaller), then stop.")
    var count: Int?

    @Option(help: "Records a second over all workers, paced by a token bucket (0: as fast as possible).")
    var rate: Double = 0

    @Option(help: "Distinct pre-built requests per worker (re-stamped with fresh timestamps per send).")
    var templatesPerWorker: Int = 8

    @Flag(help: "Do not wait Retry-After after a 429/502/503/504 (send again at once).")
    var noBackoff = false

    @Option(help: "Agent process id: report its CPU cores, records/s per core and peak RSS from /proc.")
    var agentPid: Int?

    @Option(help: "Backend process id: report its CPU cores and peak RSS from /proc.")
    var backendPid: Int?

    @Option(help: "Run id in every record's marker (8 lowercase hex digits; default: random), for loadgen verify.")
    var runID: String?

    @Option(help: "The selector under which the backend stores the records, for loadgen verify (RESULT verify_selector).")
    var verifySelector: String = #"{exporter="OTLP"}"#

    @Option(help: "Print interim records/s to stderr this often (0s: never).")
    var progress: DurationArgument = DurationArgument(.seconds(5))

    func validate() throws {
        guard recordsPerRequest > 0, lineBytes > 0, services > 0, concurrency > 0, templatesPerWorker > 0 else {
            throw ValidationError("--records-per-request, --line-bytes, --services, --concurrency and "
                                  + "--templates-per-worker must be positive")
        }
        try RecordMarker.validate(lineBytes: lineBytes, concurrency: concurrency, streams: services,
                                  streamsOption: "--services", runID: runID)
        guard attributes >= 0 else { throw ValidationError("--attributes must be 0 or more, got \(attributes)") }
        guard (1...9).contains(gzipLevel) else {
            throw ValidationError("--gzip-level must be 1 to 9, got \(gzipLevel)")
        }
        guard rate >= 0, rate.isFinite else {
            throw ValidationError("--rate must be 0 (as fast as possible) or a number of records a second, got \(rate)")
        }
        if let duration, duration.duration <= .zero {
            throw ValidationError("--duration must be positive, got \(duration)")
        }
        if let count, count <= 0 { throw ValidationError("--count must be positive, got \(count)") }
        do { _ = try lineSizes } catch { throw ValidationError(error.description) }
        for target in url where !(target.hasPrefix("http://") || target.hasPrefix("https://")) {
            throw ValidationError("--url must start with http:// or https://, got '\(target)'")
        }
        guard concurrency >= url.count else {
            throw ValidationError("--concurrency (\(concurrency)) must be at least the number of --url targets (\(url.count))")
        }
    }

    /// The body sizes: `--line-bytes-dist`, else every body `--line-bytes`.
    var lineSizes: LineSizeDistribution {
        get throws(LoadGenError) { try LineSizeDistribution.resolve(lineBytesDist, lineBytes: lineBytes) }
    }

    /// `215B`, or the distribution.
    var lineSizeText: String { LineSizeDistribution.summary(lineBytesDist, lineBytes: lineBytes) }

    /// The time limit: `--duration`, 30 s by default, none with `--count` unless given.
    var timeLimit: Duration? { duration?.duration ?? (count == nil ? .seconds(30) : nil) }

    var plan: OTLPRunner.Plan {
        OTLPRunner.Plan(
            urls: url, encoding: encoding, gzipLevel: gzip ? Int32(gzipLevel) : nil,
            recordsPerRequest: recordsPerRequest, lineBytes: lineBytes, attributes: attributes, services: services,
            concurrency: concurrency, templatesPerWorker: templatesPerWorker, duration: timeLimit, count: count,
            rate: rate > 0 ? rate : nil, backoff: !noBackoff, progressEvery: progress.duration > .zero ? progress.duration : nil,
            runID: runID ?? RecordMarker.newRunID(), lineSizes: (try? lineSizes) ?? .fixed(lineBytes), sizeSeed: seed)
    }

    /// A one-line summary of the load shape.
    var summary: String {
        "\(encoding.rawValue)\(gzip ? "+gzip(\(gzipLevel))" : "") \(url.joined(separator: ",")) records/request=\(recordsPerRequest) "
            + "line=\(lineSizeText) attributes=\(attributes) services=\(services) concurrency=\(concurrency) "
            + "rate=\(rate > 0 ? Report.count(rate) + "/s" : "max") "
            + (count.map { "count=\($0)" + (duration.map { " within \($0)" } ?? "") }
                ?? "duration=\(duration ?? DurationArgument(.seconds(30)))")
    }

    mutating func run() async throws {
        let agent = BackendMonitor(pid: agentPid)
        let backend = BackendMonitor(pid: backendPid)
        Report.say("otlp: \(summary)")
        let agentBefore = try agent.sample()
        let backendBefore = try backend.sample()
        let outcome = try await OTLPRunner(plan: plan).run()
        let agentAfter = try agent.sample()
        let backendAfter = try backend.sample()
        report(outcome, agent: (agentBefore, agentAfter), backend: (backendBefore, backendAfter))
        let acknowledged = outcome.stats.acknowledgedSequences.values.reduce(0, +)
        if let count, acknowledged < count {
            printError("otlp: only \(acknowledged) of --count \(count) records were acknowledged before the time limit")
            throw ExitCode(1)
        }
    }

    private func report(
        _ outcome: OTLPRunner.Outcome, agent: (ProcessSample?, ProcessSample?),
        backend: (ProcessSample?, ProcessSample?)
    ) {
        let stats = outcome.stats
        let wall = outcome.wall.seconds
        let recordsPerSecond = Double(stats.recordsAccepted) / wall
        let rawMBps = Double(stats.lineBytesAccepted) / wall / 1e6
        let wireMBps = Double(stats.bodyBytesSent) / wall / 1e6
        let latency = stats.latencyMicros
        let clientCores = outcome.clientCPUSeconds / wall
        let encodeCores = Double(stats.encodeNanos) / 1e9 / wall
        let encodeMillisPerBody = stats.bodiesEncoded > 0
            ? Double(stats.encodeNanos) / 1e6 / Double(stats.bodiesEncoded) : 0
        let bytesPerRecord = stats.recordsSent > 0 ? Double(stats.encodedBytes) / Double(stats.recordsSent) : 0
        let gzipRatio = stats.bodyBytesSent > 0 && gzip ? Double(stats.encodedBytes) / Double(stats.bodyBytesSent) : 1

        var rateNote = ""
        if rate > 0 { rateNote = "; target \(Report.count(rate))/s" }
        Report.line("records/s", "\(Report.count(recordsPerSecond))  (\(stats.recordsAccepted) records accepted in "
                    + "\(String(format2: wall))s; \(stats.recordsSent) sent\(rateNote))")
        let sentPerSecond = Double(stats.recordsSent) / wall
        if rate > 0 && sentPerSecond < 0.95 * rate {
            Report.line("below target", "sent only \(Report.count(sentPerSecond)) records/s: all \(concurrency) "
                        + "workers were busy (server latency or client encoding); raise --concurrency, or the server "
                        + "is saturated")
        }
        Report.line("raw MB/s", String(format2: rawMBps) + "  (record body bytes accepted)")
        let meanLineBytes = stats.recordsSent > 0 ? Double(stats.lineBytesSent) / Double(stats.recordsSent) : 0
        Report.line("body size", "mean \(String(fixed: meanLineBytes, decimals: 1)) B sent  (\(lineSizeText))")
        Report.line("wire MB/s", String(format2: wireMBps) + "  (\(String(fixed: bytesPerRecord, decimals: 0)) "
                    + "encoded bytes/record" + (gzip ? ", gzip ratio \(String(format2: gzipRatio)))" : ")"))
        Report.line("requests", "\(stats.requests)  (\(String(format2: Double(stats.requests) / wall))/s)  "
                    + "2xx=\(stats.status2xx) 429=\(stats.status429) 503=\(stats.status503) "
                    + "4xx=\(stats.status4xx) 5xx=\(stats.status5xx) other=\(stats.statusOther) "
                    + "transport_errors=\(stats.transportErrors)")
        if stats.recordsRejected > 0 || stats.responseDecodeErrors > 0 {
            Report.line("partial success", "\(stats.recordsRejected) records rejected in 2xx answers, "
                        + "\(stats.responseDecodeErrors) unreadable answers")
        }
        if let firstError = stats.firstError {
            let codes = stats.statusCodes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: " ")
            if !codes.isEmpty { Report.line("status codes", codes) }
            Report.line("first error", String(firstError.prefix(300)))
        }
        if stats.backoffs > 0 {
            Report.line("backoff", "\(stats.backoffs) waits after 429/503, "
                        + "\(String(format2: Double(stats.backoffNanos) / 1e9)) s in all (Retry-After)")
        }
        Report.line("latency", "p50=\(Report.micros(latency.valueAtPercentile(50))) "
                    + "p99=\(Report.micros(latency.valueAtPercentile(99))) max=\(Report.micros(latency.max))"
                    + "  (send to response)")
        Report.line("client CPU", String(format2: clientCores) + " cores  (encoding\(gzip ? "+gzip" : "") "
                    + "\(String(format2: encodeCores)) cores, \(String(fixed: encodeMillisPerBody, decimals: 3)) "
                    + "ms/body; pools built in \(DurationArgument.format(outcome.poolBuild)) before the clock)")
        var codes: [String: Int] = [:]
        for (code, count) in stats.statusCodes { codes[String(code)] = count }
        var result: [String: Any] = [
            "command": "otlp",
            "url": url.count == 1 ? url[0] : url.joined(separator: ","), "urls": url,
            "encoding": encoding.rawValue,
            "gzip": gzip,
            "gzip_level": gzip ? gzipLevel : 0,
            "records_per_request": recordsPerRequest,
            "line_bytes": lineBytesDist == nil ? lineBytes : Int(meanLineBytes.rounded()),
            "line_bytes_mean": meanLineBytes,
            "line_bytes_dist": (try? lineSizes.description) ?? "fixed:\(lineBytes)",
            "raw_bytes_sent": stats.lineBytesSent,
            "count": count.map { $0 as Any } ?? NSNull(),
            "attributes": attributes,
            "services": services,
            "concurrency": concurrency,
            "target_rate": rate,
            "wall_seconds": wall,
            "requests": stats.requests,
            "records_sent": stats.recordsSent,
            "records_accepted": stats.recordsAccepted,
            "records_rejected": stats.recordsRejected,
            "records_per_second": recordsPerSecond,
            "records_sent_per_second": sentPerSecond,
            "pacing_wait_seconds": Double(stats.pacingNanos) / 1e9,
            "raw_bytes_accepted": stats.lineBytesAccepted,
            "raw_mb_per_second": rawMBps,
            "encoded_bytes": stats.encodedBytes,
            "wire_bytes_sent": stats.bodyBytesSent,
            "wire_mb_per_second": wireMBps,
            "status_2xx": stats.status2xx,
            "status_429": stats.status429,
            "status_503": stats.status503,
            "status_4xx": stats.status4xx,
            "status_5xx": stats.status5xx,
            "status_other": stats.statusOther,
            "status_codes": codes,
            "transport_errors": stats.transportErrors,
            "response_decode_errors": stats.responseDecodeErrors,
            "first_error": stats.firstError.map { $0 as Any } ?? NSNull(),
            "backoffs": stats.backoffs,
            "backoff_seconds": Double(stats.backoffNanos) / 1e9,
            "latency_p50_ms": Double(latency.valueAtPercentile(50)) / 1e3,
            "latency_p99_ms": Double(latency.valueAtPercentile(99)) / 1e3,
            "latency_max_ms": Double(latency.max) / 1e3,
            "client_cpu_cores": clientCores,
            "client_encode_cores": encodeCores,
            "client_encode_ms_per_body": encodeMillisPerBody,
            "first_timestamp_ns": stats.firstTimestamp == .max ? 0 : stats.firstTimestamp,
            "last_timestamp_ns": stats.lastTimestamp == .min ? 0 : stats.lastTimestamp,
        ]
        if stats.retries > 0 {
            Report.line("retries", "\(stats.retries) requests sent again unchanged after 429/502/503/504")
        }
        let manifest = RunManifest(
            runID: outcome.runID, selector: verifySelector,
            startNanos: stats.firstTimestamp == .max ? 0 : stats.firstTimestamp,
            endNanos: stats.lastTimestamp == .min ? 0 : stats.lastTimestamp + 1, acknowledged: stats.acknowledgedSequences)
        Report.line("run", "\(manifest.runID)  (\(manifest.recordsAcknowledged) records acknowledged in "
                    + "\(manifest.acknowledged.count) streams; check with loadgen verify --run <this RESULT>)")
        result.merge(manifest.resultFields) { _, new in new }
        result["retries"] = stats.retries
        for (name, samples) in [("agent", agent), ("backend", backend)] {
            guard let before = samples.0, let after = samples.1 else { continue }
            let cores = BackendMonitor.cores(from: before, to: after, wallSeconds: wall)
            let perCore = cores > 0 ? recordsPerSecond / cores : 0
            Report.line("\(name) CPU", String(format2: cores) + " cores  (\(Report.count(perCore)) records/s per core)")
            Report.line("\(name) memory", "peak RSS (VmHWM) \(Report.megabytes(after.peakRSSBytes)), "
                        + "RSS now \(Report.megabytes(after.rssBytes))")
            result["\(name)_cpu_cores"] = cores
            result["\(name)_records_per_second_per_core"] = perCore
            result["\(name)_peak_rss_bytes"] = after.peakRSSBytes
            result["\(name)_rss_bytes"] = after.rssBytes
        }
        Report.printResult(result)
    }
}
