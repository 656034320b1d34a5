import Foundation

/// What `loadgen verify` needs to know about a run, written into the run's `RESULT` line by `push`, `fill` and
/// `otlp` and read back from it: the run id in every record's marker, the selector and time range to query, and,
/// per stream (``RecordMarker/streamKey``), the records acknowledged, numbered `0..<count` (a failed request's
/// numbers are reused, so there are no holes).
struct RunManifest: Sendable, Equatable {
    var runID: String
    /// The stream selector the records are stored under (`{job="gen"}` for push, `{exporter="OTLP"}` after the agent).
    var selector: String
    /// The range of every entry timestamp sent, whatever the answer, as [start, end) Unix ns.
    var startNanos: Int64
    var endNanos: Int64
    /// Records acknowledged per stream key.
    var acknowledged: [String: Int]

    var recordsAcknowledged: Int { acknowledged.values.reduce(0, +) }

    /// The RESULT fields: `run_id`, `verify_selector`, `verify_start_ns`, `verify_end_ns`, `records_acknowledged` and
    /// `sequences` (`{"001.000042": {"first": 0, "last": 12344, "count": 12345}, ...}`).
    var resultFields: [String: Any] {
        var sequences: [String: Any] = [:]
        for (key, count) in acknowledged where count > 0 {
            sequences[key] = ["first": 0, "last": count - 1, "count": count]
        }
        return [
            "run_id": runID, "verify_selector": selector, "verify_start_ns": startNanos, "verify_end_ns": endNanos,
            "records_acknowledged": recordsAcknowledged, "sequences": sequences,
        ]
    }

    init(runID: String, selector: String, startNanos: Int64, endNanos: Int64, acknowledged: [String: Int]) {
        self.runID = runID
        self.selector = selector
        self.startNanos = startNanos
        self.endNanos = endNanos
        self.acknowledged = acknowledged
    }

    /// Reads the manifest from a `RESULT {json}` line (or the bare JSON).
    init(resultLine: String) throws(LoadGenError) {
        var text = Substring(resultLine.trimmingCharacters(in: .whitespacesAndNewlines))
        if text.hasPrefix("RESULT ") { text = text.dropFirst("RESULT ".count) }
        guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw .badArgument("--run: not a RESULT {json} line: '\(text.prefix(120))'")
        }
        guard let runID = root["run_id"] as? String, RecordMarker.isValidRunID(runID) else {
            throw .badArgument("--run: the RESULT line has no run_id (8 hex digits); was it written by a loadgen "
                               + "that stamps markers? (\(root["command"] ?? "no command"))")
        }
        func int64(_ key: String) -> Int64 { (root[key] as? NSNumber)?.int64Value ?? 0 }
        var acknowledged: [String: Int] = [:]
        for (key, value) in root["sequences"] as? [String: Any] ?? [:] {
            guard let fields = value as? [String: Any], let count = (fields["count"] as? NSNumber)?.intValue,
                  (fields["first"] as? NSNumber)?.intValue ?? 0 == 0
            else {
                throw .badArgument("--run: sequences[\(key)] should be {\"first\": 0, \"last\": N, \"count\": N+1}, "
                                   + "got \(value)")
            }
            acknowledged[key] = count
        }
        self.init(runID: runID, selector: root["verify_selector"] as? String ?? "", startNanos: int64("verify_start_ns"),
                  endNanos: int64("verify_end_ns"), acknowledged: acknowledged)
    }

    /// Reads the manifest of run `runID` from a file of RESULT lines (the last line with that run id; when `runID`
    /// is nil, the last RESULT line with any).
    static func load(file path: String, runID: String?) throws(LoadGenError) -> RunManifest {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .badArgument("--run: cannot read '\(path)' (expected a file of RESULT lines, or a run id)")
        }
        var found: RunManifest?
        for line in contents.split(separator: "\n") where line.hasPrefix("RESULT ") && line.contains("\"run_id\"") {
            let manifest = try RunManifest(resultLine: String(line))
            if runID == nil || manifest.runID == runID { found = manifest }
        }
        guard let found else {
            throw .badArgument("--run: '\(path)' has no RESULT line with a run_id\(runID.map { " \($0)" } ?? "")")
        }
        return found
    }
}
