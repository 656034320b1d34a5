import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `loadgen verify`: reads back a run's records from the backend and proves no loss and no duplicates.
///
/// Pages through `query_range` for `<selector> |= " run=<id> "` (every record's ``RecordMarker``), parses each
/// marker, and reports per stream the records expected (acknowledged, from the run's RESULT line), received,
/// missing (with the first ranges), duplicated, out of order and never-acknowledged arrivals. Exits 1 when
/// anything is missing or duplicated.
///
/// Latency: an entry's timestamp is its send time (the generator stamps both from one clock reading), so the
/// stored data cannot tell when a record arrived. With `--follow`, verify polls during the run and measures
/// `first seen by verify - sent`: end-to-end latency as a client observes it, an upper bound by up to one poll
/// interval plus the query's own time. Without it, no latency is reported.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Query a run's records back and report missing, duplicated and out-of-order ones per stream.")

    @Option(help: "Base URL of the backend.")
    var url: String = "http://127.0.0.1:3100"

    @Option(help: "Tenant, sent as X-Scope-OrgID (empty: no header).")
    var tenant: String = "fake"

    @Option(help: ArgumentHelp("A file with the run's RESULT line (the last with a run_id), or FILE:RUNID, or a bare run id "
                  + "(then only what arrived is reported: nothing is known to be expected)."))
    var run: String

    @Option(help: "Stream selector (default: the RESULT's verify_selector).")
    var selector: String?

    @Option(help: "Start of the range, Unix ns (default: the RESULT's verify_start_ns, or now - 1h).")
    var start: Int64?

    @Option(help: "End of the range, Unix ns, exclusive (default: the RESULT's verify_end_ns, or now).")
    var end: Int64?

    @Option(help: "Entries per query_range page.")
    var limit: Int = 5000

    @Option(help: "Missing ranges printed per stream.")
    var ranges: Int = 5

    @Option(help: "Poll for this long while the run goes on, measuring arrival latency (0s: read once).")
    var follow: DurationArgument = DurationArgument(.zero)

    @Option(help: "Between polls with --follow.")
    var pollInterval: DurationArgument = DurationArgument(.milliseconds(500))

    @Option(help: ArgumentHelp("Read the run's N generator streams one at a time, stream=\"0\" ... added to the selector "
                  + "(0: all at once). A page across many streams decompresses a block of each stream for a few "
                  + "entries of each; one stream at a time reads every block once."))
    var streams: Int = 0

    @Flag(help: "Print every stream, not only those with findings.")
    var allStreams = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive, got \(limit)") }
        guard streams >= 0 else { throw ValidationError("--streams must not be negative, got \(streams)") }
        guard streams == 0 || follow.duration == .zero else {
            throw ValidationError("--streams reads the run once, after it: it cannot be used with --follow")
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("--url must start with http:// or https://, got '\(url)'")
        }
    }

    /// The manifest named by `--run`: a bare run id expects nothing.
    func manifest() throws(LoadGenError) -> RunManifest {
        if RecordMarker.isValidRunID(run) {
            return RunManifest(runID: run, selector: "", startNanos: 0, endNanos: 0, acknowledged: [:])
        }
        if let colon = run.lastIndex(of: ":"), RecordMarker.isValidRunID(String(run[run.index(after: colon)...])) {
            return try RunManifest.load(file: String(run[..<colon]), runID: String(run[run.index(after: colon)...]))
        }
        return try RunManifest.load(file: run, runID: nil)
    }

    /// The run id `--run` names, readable before the run has written its RESULT (for `--follow`).
    var runIDNamed: String? {
        if RecordMarker.isValidRunID(run) { return run }
        if let colon = run.lastIndex(of: ":") {
            let id = String(run[run.index(after: colon)...])
            if RecordMarker.isValidRunID(id) { return id }
        }
        return nil
    }

    mutating func run() async throws {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let tenant = self.tenant
        let fetch: QueryRangePager.Fetch = { parameters in
            try await Self.get(base + "/loki/api/v1/query_range?" + parameters, tenant: tenant)
        }
        // With --follow the run may not have written its RESULT yet: start from the run id, read the rest after.
        let early = follow.duration > .zero ? (try? manifest()) : try manifest()
        guard let runID = early?.runID ?? runIDNamed else {
            throw ValidationError("--follow needs the run id in --run (FILE:RUNID or RUNID) before the run ends")
        }
        guard let selector = selector ?? early.flatMap({ $0.selector.isEmpty ? nil : $0.selector }) else {
            throw ValidationError("--selector is needed: the run gives none (e.g. '{job=\"gen\"}')")
        }
        let now = wallClockNanos()
        let start = self.start ?? early.flatMap { $0.endNanos > 0 ? $0.startNanos : nil } ?? now - 3_600_000_000_000
        let query = "\(selector) |= \" run=\(runID) \""
        var pager = QueryRangePager(query: query, start: start, limit: limit)
        var tally = VerifyTally(runID: runID)
        if follow.duration > .zero {
            try await Self.follow(&pager, &tally, for: follow.duration, every: pollInterval.duration,
                                  end: end ?? .max, fetch: fetch)
        }
        let manifest = try early ?? manifest()
        let end = self.end ?? (manifest.endNanos > 0 ? manifest.endNanos : wallClockNanos() + 1)
        let outcome: Outcome
        if follow.duration > .zero {
            try await pager.read(end: end, fetch: fetch) { tally.add(line: $0.line.utf8, observedNanos: nil) }
            outcome = Outcome(query: query, tally: tally,
                              reports: tally.reports(expected: manifest.acknowledged, rangeLimit: ranges),
                              pages: pager.pages, crowdedTimestamps: pager.crowdedTimestamps, latencyMeasured: true)
        } else {
            outcome = try await Self.verify(manifest: manifest, selector: selector, start: start, end: end, limit: limit,
                                            fetch: fetch, rangeLimit: ranges, streams: streams)
        }
        Self.report(outcome, manifest: manifest, rangeLimit: ranges, allStreams: allStreams)
        if !outcome.passed { throw ExitCode(1) }
    }

    /// Polls for `duration`, reading what arrived up to now (at most `end`) and taking the time of each answer as
    /// the arrival of the records it brought.
    static func follow(_ pager: inout QueryRangePager, _ tally: inout VerifyTally, for duration: Duration,
                       every interval: Duration, end: Int64, fetch: QueryRangePager.Fetch) async throws {
        let clock = ContinuousClock()
        let until = clock.now + duration
        while true {
            let now = wallClockNanos()
            try await pager.read(end: min(end, now + 1), fetch: fetch) { entry in
                tally.add(line: entry.line.utf8, observedNanos: wallClockNanos())
            }
            if clock.now >= until { return }
            try await clock.sleep(for: interval)
        }
    }

    /// A verification's findings.
    struct Outcome: Sendable {
        var query: String
        var tally: VerifyTally
        var reports: [VerifyTally.StreamReport]
        var pages: Int
        var crowdedTimestamps: Int
        var latencyMeasured: Bool

        var expected: Int { reports.reduce(0) { $0 + $1.expected } }
        var received: Int { reports.reduce(0) { $0 + $1.received } }
        var missing: Int { reports.reduce(0) { $0 + $1.missing } }
        var duplicated: Int { reports.reduce(0) { $0 + $1.duplicated } }
        var outOfOrder: Int { reports.reduce(0) { $0 + $1.outOfOrder } }
        var unacknowledged: Int { reports.reduce(0) { $0 + $1.unacknowledged } }
        /// No loss, no duplicates, and every timestamp read in full.
        var passed: Bool { missing == 0 && duplicated == 0 && crowdedTimestamps == 0 }
    }

    /// Reads the run's entries in `[start, end)` once (after the run) and tallies them against `manifest`; with
    /// `streams`, one generator stream at a time (see ``selectors(_:streams:)``).
    static func verify(
        manifest: RunManifest, selector: String, start: Int64, end: Int64, limit: Int,
        fetch: QueryRangePager.Fetch, rangeLimit: Int = 5, streams: Int = 0
    ) async throws -> Outcome {
        let filter = " |= \" run=\(manifest.runID) \""
        var tally = VerifyTally(runID: manifest.runID)
        var pages = 0, crowded = 0
        for selector in selectors(selector, streams: streams) {
            var pager = QueryRangePager(query: selector + filter, start: start, limit: limit)
            try await pager.read(end: end, fetch: fetch) { entry in tally.add(line: entry.line.utf8, observedNanos: nil) }
            pages += pager.pages
            crowded += pager.crowdedTimestamps
        }
        return Outcome(query: selector + filter, tally: tally,
                       reports: tally.reports(expected: manifest.acknowledged, rangeLimit: rangeLimit),
                       pages: pages, crowdedTimestamps: crowded, latencyMeasured: false)
    }

    /// `selector` itself, or with `streams` > 0 one selector per generator stream: `{job="gen"}` becomes
    /// `{job="gen", stream="0"}`, `{job="gen", stream="1"}`, ... (the label `loadgen push` gives its streams).
    static func selectors(_ selector: String, streams: Int) -> [String] {
        let trimmed = selector.trimmingCharacters(in: .whitespaces)
        guard streams > 0, trimmed.hasSuffix("}") else { return [selector] }
        let open = trimmed.dropLast().trimmingCharacters(in: .whitespaces)
        let separator = open.hasSuffix("{") ? "" : ", "
        return (0..<streams).map { "\(open)\(separator)stream=\"\($0)\"}" }
    }

    static func get(_ url: String, tenant: String) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        if !tenant.isEmpty { request.headers.add(name: "X-Scope-OrgID", value: tenant) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let body = Array(try await response.body.collect(upTo: 1 << 30).readableBytesView)
        guard response.status.code == 200 else {
            throw LoadGenError.badResponse(url: url, status: Int(response.status.code),
                                           bodyPrefix: String(decoding: body.prefix(300), as: UTF8.self))
        }
        return body
    }

    static func report(_ outcome: Outcome, manifest: RunManifest, rangeLimit: Int, allStreams: Bool) {
        Report.say("verify: run \(manifest.runID)  query \(outcome.query)  (\(outcome.pages) pages)")
        func ranges(_ report: VerifyTally.StreamReport) -> String {
            report.missingRanges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                .joined(separator: ",") + (report.missingRanges.count < rangeLimit ? "" : ",…")
        }
        let header = ["stream", "expected", "received", "missing", "duplicated", "out_of_order", "unacked", "missing ranges"]
        var rows: [[String]] = []
        for report in outcome.reports
        where allStreams || report.missing > 0 || report.duplicated > 0 || report.outOfOrder > 0 || report.unacknowledged > 0 {
            rows.append([report.key, "\(report.expected)", "\(report.received)", "\(report.missing)",
                         "\(report.duplicated)", "\(report.outOfOrder)", "\(report.unacknowledged)", ranges(report)])
        }
        rows.append(["all \(outcome.reports.count)", "\(outcome.expected)", "\(outcome.received)", "\(outcome.missing)",
                     "\(outcome.duplicated)", "\(outcome.outOfOrder)", "\(outcome.unacknowledged)", ""])
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            let cells = row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            Report.say(("  " + cells.joined(separator: "  ")).trimmingSpaces())
        }
        if outcome.crowdedTimestamps > 0 {
            Report.line("crowded", "\(outcome.crowdedTimestamps) timestamps had more entries than --limit; some "
                        + "were not read: raise --limit")
        }
        if outcome.tally.foreignEntries > 0 {
            Report.line("foreign", "\(outcome.tally.foreignEntries) entries matched the query without a marker of this run")
        }
        let percentiles = [50.0, 90, 99, 100].map { outcome.tally.latencyPercentile($0) }
        if outcome.latencyMeasured, percentiles.allSatisfy({ $0 != nil }) {
            let text = zip(["p50", "p90", "p99", "max"], percentiles).map { "\($0)=\(Report.micros(UInt64(max(0, ($1 ?? 0) / 1000))))" }
            Report.line("latency", text.joined(separator: " ") + "  (first seen by polling - sent; \(outcome.tally.latencies.count) records)")
        } else {
            Report.line("latency", "not measured (entry timestamps are send times; use --follow during the run)")
        }
        Report.line("verdict", outcome.passed ? "no loss, no duplicates"
                    : "\(outcome.missing) missing, \(outcome.duplicated) duplicated")
        var streams: [[String: Any]] = []
        for report in outcome.reports {
            streams.append([
                "stream": report.key, "expected": report.expected, "received": report.received,
                "missing": report.missing, "duplicated": report.duplicated, "out_of_order": report.outOfOrder,
                "unacknowledged": report.unacknowledged,
                "missing_ranges": report.missingRanges.map { [$0.lowerBound, $0.upperBound] },
            ])
        }
        var fields: [String: Any] = [
            "command": "verify", "run_id": manifest.runID, "query": outcome.query, "pages": outcome.pages,
            "expected": outcome.expected, "received": outcome.received, "missing": outcome.missing,
            "duplicated": outcome.duplicated, "out_of_order": outcome.outOfOrder,
            "unacknowledged": outcome.unacknowledged, "foreign_entries": outcome.tally.foreignEntries,
            "crowded_timestamps": outcome.crowdedTimestamps, "passed": outcome.passed, "streams": streams,
            "latency_measured": outcome.latencyMeasured ? "first_seen_by_poll_minus_sent" : "none",
        ]
        for (name, value) in zip(["latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms"], percentiles) {
            fields[name] = value.map { Double($0) / 1e6 as Any } ?? NSNull()
        }
        Report.printLine("VERIFY", fields)
    }
}
