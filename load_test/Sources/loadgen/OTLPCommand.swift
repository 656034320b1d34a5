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
    var encoding: BodyEncoding = .protobuf

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

    /// When the run stops: after `--duration` (30 s), or at `--count` records acknowledged (within `--duration`).
    var stop: RunStop {
        if let count { return .records(count, limit: duration?.duration) }
        return .after(duration?.duration ?? .seconds(30))
    }

    var plan: LoadRunner<OTLPMode>.Plan {
        LoadRunner.Plan(
            mode: OTLPMode(urls: url, encoding: encoding, gzipLevel: gzip ? Int32(gzipLevel) : nil,
                           attributes: attributes, services: services),
            recordsPerRequest: recordsPerRequest, lineBytes: lineBytes, concurrency: concurrency,
            templatesPerWorker: templatesPerWorker, stop: stop, rate: rate > 0 ? rate : nil,
            resend: noBackoff ? .immediately : .afterRetryAfter,
            progressEvery: progress.duration > .zero ? progress.duration : nil,
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
        let outcome = try await LoadRunner(plan: plan).run()
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
        _ outcome: LoadRunner<OTLPMode>.Outcome, agent: (ProcessSample?, ProcessSample?),
        backend: (ProcessSample?, ProcessSample?)
    ) {
        let report = LoadReport(outcome, noun: "records")
        let stats = outcome.stats
        let bytesPerRecord = stats.recordsSent > 0 ? Double(stats.encodedBytes) / Double(stats.recordsSent) : 0
        let gzipRatio = stats.bodyBytesSent > 0 && gzip ? Double(stats.encodedBytes) / Double(stats.bodyBytesSent) : 1
        // 429 and 503 are counted apart from the other 4xx and 5xx.
        let (status429, status503) = (stats.answers(429), stats.answers(503))

        report.printThroughput(note: rate > 0 ? "; target \(Report.count(rate))/s" : "")
        let sentPerSecond = Double(stats.recordsSent) / report.wall
        if rate > 0 && sentPerSecond < 0.95 * rate {
            Report.line("below target", "sent only \(Report.count(sentPerSecond)) records/s: all \(concurrency) "
                        + "workers were busy (server latency or client encoding); raise --concurrency, or the server "
                        + "is saturated")
        }
        report.printSizes(raw: "record body bytes accepted", sizeLabel: "body size", sizeText: lineSizeText)
        Report.line("wire MB/s", String(format2: report.wireMBps) + "  (\(String(fixed: bytesPerRecord, decimals: 0)) "
                    + "encoded bytes/record" + (gzip ? ", gzip ratio \(String(format2: gzipRatio)))" : ")"))
        report.printRequests("2xx=\(stats.status2xx) 429=\(status429) 503=\(status503) "
                             + "4xx=\(stats.status4xx - status429) 5xx=\(stats.status5xx - status503) "
                             + "other=\(stats.statusOther) transport_errors=\(stats.transportErrors)")
        if stats.recordsRejected > 0 || stats.responseDecodeErrors > 0 {
            Report.line("partial success", "\(stats.recordsRejected) records rejected in 2xx answers, "
                        + "\(stats.responseDecodeErrors) unreadable answers")
        }
        report.printFailures()
        if stats.backoffs > 0 {
            Report.line("backoff", "\(stats.backoffs) waits after 429/503, "
                        + "\(String(format2: Double(stats.backoffNanos) / 1e9)) s in all (Retry-After)")
        }
        report.printLatency(note: "  (send to response)")
        report.printClientCPU(encoding: gzip ? "encoding+gzip" : "encoding")
        var codes: [String: Int] = [:]
        for (code, count) in stats.statusCodes { codes[String(code)] = count }
        var result = report.fields(encoding: encoding.rawValue, concurrency: concurrency, lineBytes: lineBytes,
                                   lineBytesDist: lineBytesDist, lineSizes: try? lineSizes)
        result.merge([
            "command": "otlp",
            "url": url.count == 1 ? url[0] : url.joined(separator: ","), "urls": url,
            "gzip": gzip,
            "gzip_level": gzip ? gzipLevel : 0,
            "records_per_request": recordsPerRequest,
            "count": count.map { $0 as Any } ?? NSNull(),
            "attributes": attributes,
            "services": services,
            "target_rate": rate,
            "records_rejected": stats.recordsRejected,
            "records_sent_per_second": sentPerSecond,
            "pacing_wait_seconds": Double(stats.pacingNanos) / 1e9,
            "encoded_bytes": stats.encodedBytes,
            "status_429": status429,
            "status_503": status503,
            "status_4xx": stats.status4xx - status429,
            "status_5xx": stats.status5xx - status503,
            "status_codes": codes,
            "response_decode_errors": stats.responseDecodeErrors,
            "backoffs": stats.backoffs,
            "backoff_seconds": Double(stats.backoffNanos) / 1e9,
            "first_timestamp_ns": stats.firstTimestampSent == .max ? 0 : stats.firstTimestampSent,
            "last_timestamp_ns": stats.lastTimestampSent == .min ? 0 : stats.lastTimestampSent,
            "retries": stats.retries,
        ]) { _, new in new }
        if stats.retries > 0 {
            Report.line("retries", "\(stats.retries) requests sent again unchanged after 429/502/503/504")
        }
        result.merge(report.printManifest(selector: verifySelector)) { _, new in new }
        result.merge(report.printProcess("agent", before: agent.0, after: agent.1)) { _, new in new }
        result.merge(report.printProcess("backend", before: backend.0, after: backend.1)) { _, new in new }
        Report.printResult(result)
    }
}
