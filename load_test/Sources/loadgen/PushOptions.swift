import ArgumentParser

/// Options shared by the commands that push (`push`, `fill`, `encode-bench`).
struct PushOptions: ParsableArguments {
    @Option(help: "Base URL of the backend.")
    var url: String = "http://127.0.0.1:3100"

    @Option(help: "Tenant, sent as X-Scope-OrgID (empty: no header).")
    var tenant: String = "fake"

    @Option(help: "Body encoding: protobuf (snappy-compressed, like Promtail/Alloy) or json.")
    var encoding: BodyEncoding = .protobuf

    @Option(help: "Number of distinct streams ({job=\"gen\", stream=\"N\", service=...}).")
    var streams: Int = 100

    @Option(help: "Log lines per push request (spread over min(streams, lines) streams).")
    var linesPerRequest: Int = 1000

    @Option(help: "Bytes per log line (logfmt, padded or cut to exactly this); --line-bytes-dist overrides it.")
    var lineBytes: Int = 215

    @Option(help: "Line format: logfmt, or json (the same fields as a JSON object; at least \(LineFormat.minimumJSONBytes) bytes).")
    var lineFormat: LineFormat = .logfmt

    @Option(help: ArgumentHelp(LineSizeDistribution.help, valueName: "dist"))
    var lineBytesDist: String?

    @Option(help: "Seed of the line sizes drawn with --line-bytes-dist.")
    var seed: UInt64 = 1

    @Option(help: "Concurrent workers, each with one keep-alive connection.")
    var concurrency: Int = 4

    @Option(help: "Distinct pre-built requests per worker (bodies are re-stamped with fresh timestamps per send).")
    var templatesPerWorker: Int = 8

    @Option(help: "Run id in every line's marker (8 lowercase hex digits; default: random), for loadgen verify.")
    var runID: String?

    func validate() throws {
        guard streams > 0, linesPerRequest > 0, lineBytes > 0, concurrency > 0, templatesPerWorker > 0 else {
            throw ValidationError("--streams, --lines-per-request, --line-bytes, --concurrency and "
                                  + "--templates-per-worker must be positive")
        }
        try RecordMarker.validate(lineBytes: lineBytes, concurrency: concurrency, streams: streams,
                                  streamsOption: "--streams", runID: runID)
        do { _ = try lineSizes } catch { throw ValidationError(error.description) }
        if lineFormat == .json, lineBytesDist == nil, lineBytes < LineFormat.minimumJSONBytes {
            throw ValidationError("--line-format json needs --line-bytes of at least \(LineFormat.minimumJSONBytes), got \(lineBytes)")
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("--url must start with http:// or https://, got '\(url)'")
        }
    }

    /// The line sizes: `--line-bytes-dist`, else every line `--line-bytes`.
    var lineSizes: LineSizeDistribution {
        get throws(LoadGenError) { try LineSizeDistribution.resolve(lineBytesDist, lineBytes: lineBytes) }
    }

    /// The base URL without a trailing slash.
    var baseURL: String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    /// Where and how bodies go.
    var mode: PushMode { PushMode(baseURL: baseURL, tenant: tenant, encoding: encoding, streams: streams) }

    func plan(stop: RunStop, needleEvery: Int, progressEvery: Duration?) -> LoadRunner<PushMode>.Plan {
        var templates = templatesPerWorker
        if needleEvery > 0 {
            // Enough lines per worker pool that the needle rate comes out as asked.
            templates = max(templates, (needleEvery + linesPerRequest - 1) / linesPerRequest)
        }
        return LoadRunner.Plan(
            mode: mode, recordsPerRequest: linesPerRequest, lineBytes: lineBytes, concurrency: concurrency,
            templatesPerWorker: templates, stop: stop, needleEvery: needleEvery, progressEvery: progressEvery,
            runID: runID ?? RecordMarker.newRunID(), lineSizes: (try? lineSizes) ?? .fixed(lineBytes), sizeSeed: seed,
            lineFormat: lineFormat)
    }

    /// A one-line summary of the load shape.
    var summary: String {
        "\(encoding.rawValue) \(baseURL) tenant=\(tenant.isEmpty ? "-" : tenant) streams=\(streams) "
            + "lines/request=\(linesPerRequest) line=\(lineSizeText) \(lineFormat.rawValue) concurrency=\(concurrency)"
    }

    /// `215B`, or the distribution (`lognormal:200,0.6`).
    var lineSizeText: String { LineSizeDistribution.summary(lineBytesDist, lineBytes: lineBytes) }
}

extension LineFormat: ExpressibleByArgument {}
