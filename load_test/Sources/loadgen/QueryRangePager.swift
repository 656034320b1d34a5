import Foundation

/// Reads every entry a `query_range` selects, oldest first, in pages of `limit` (`direction=forward`).
///
/// Each next page starts at the last timestamp of the one before (inclusive: later entries may share it) and skips
/// the entries already seen at exactly that timestamp, so no entry is counted twice at a page edge. When a whole
/// page shares one timestamp and brings nothing new, more than `limit` entries share it and the rest cannot be
/// read with this limit: the pager moves past it and counts it in ``crowdedTimestamps``.
struct QueryRangePager: Sendable {
    /// One entry of an answer.
    struct Entry: Sendable, Equatable {
        var labels: String
        var timestamp: Int64
        var line: String
    }

    /// Fetches one answer body for the query string (`query=…&start=…&end=…&limit=…&direction=forward`).
    typealias Fetch = @Sendable (_ parameters: String) async throws -> [UInt8]

    let query: String
    let limit: Int
    /// Where the next page starts, and what was already seen at that timestamp.
    private(set) var cursor: Int64
    private var seenAtCursor: Set<String> = []
    private(set) var pages = 0
    /// Timestamps with more than `limit` entries, whose surplus was not read.
    private(set) var crowdedTimestamps = 0

    init(query: String, start: Int64, limit: Int) {
        self.query = query
        self.cursor = start
        self.limit = max(1, limit)
    }

    /// Reads pages up to `end` (exclusive), passing each new entry, oldest first, to `visit`. Can be called again
    /// with a later `end` to read what arrived since (the cursor is kept).
    mutating func read(end: Int64, fetch: Fetch, visit: (Entry) -> Void) async throws {
        while cursor < end {
            let parameters = "query=\(QueryCommand.encodeComponent(query))&start=\(cursor)&end=\(end)"
                + "&limit=\(limit)&direction=forward"
            var entries = try Self.parse(try await fetch(parameters))
            pages += 1
            // Streams come one after another; order the page by time (stable, so equal timestamps keep their order).
            entries = entries.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }
                .map(\.element)
            var fresh = 0
            for entry in entries where entry.timestamp >= cursor {
                if entry.timestamp == cursor, seenAtCursor.contains(Self.key(entry)) { continue }
                fresh += 1
                visit(entry)
            }
            guard entries.count >= limit, let last = entries.last?.timestamp else { return }
            if last == cursor {
                if fresh == 0 {
                    crowdedTimestamps += 1
                    cursor = last + 1
                    seenAtCursor = []
                } else {
                    for entry in entries where entry.timestamp == last { seenAtCursor.insert(Self.key(entry)) }
                }
            } else {
                cursor = last
                seenAtCursor = Set(entries.filter { $0.timestamp == last }.map(Self.key))
            }
        }
    }

    /// Loki deduplicates entries equal in stream, timestamp and line, so that is an entry's identity.
    private static func key(_ entry: Entry) -> String { entry.labels + "\u{0}" + entry.line }

    /// The entries of a Loki `query_range` answer of `resultType` `streams`.
    static func parse(_ body: [UInt8]) throws(LoadGenError) -> [Entry] {
        func bad(_ why: String) -> LoadGenError {
            .badResponse(url: "query_range", status: 200,
                         bodyPrefix: "\(why): " + String(decoding: body.prefix(200), as: UTF8.self))
        }
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let data = root["data"] as? [String: Any], let result = data["result"] as? [Any]
        else { throw bad("not a Loki query answer (no data.result)") }
        if let type = data["resultType"] as? String, type != "streams" {
            throw bad("resultType is '\(type)', expected 'streams' (a log query, not a metric query)")
        }
        var entries: [Entry] = []
        for case let stream as [String: Any] in result {
            let labels = (stream["stream"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            guard let values = stream["values"] as? [Any] else { throw bad("a stream without values") }
            for case let pair as [Any] in values {
                guard pair.count >= 2, let text = pair[0] as? String, let timestamp = Int64(text),
                      let line = pair[1] as? String
                else { throw bad("an entry is not [\"<ns>\", \"<line>\"]") }
                entries.append(Entry(labels: labels, timestamp: timestamp, line: line))
            }
        }
        return entries
    }
}
