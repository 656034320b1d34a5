import Wire

/// The lines a query leaves out because a delete request of the tenant covers them, as Loki's queriers do from the
/// moment a request is received until its lines are gone from the store (and after: the request is still applied
/// to entries pushed later with old timestamps).
///
/// Built per query from the tenant's requests whose range overlaps the query's; `none` filters nothing.
public struct DeleteFilter: Sendable {
    let requests: [CompiledDeleteRequest]

    public static let none = DeleteFilter(compiled: [])

    init(compiled: [CompiledDeleteRequest]) {
        requests = compiled
    }

    /// The requests of `requests` that may delete something in [start, end) nanoseconds. A request whose query
    /// does not parse (only a hand-edited object could hold one) filters nothing.
    init(_ requests: [DeleteRequest], start: Int64, end: Int64) {
        self.requests = requests.compactMap { request in
            guard let compiled = try? request.compiled(),
                  compiled.startNanoseconds < end, compiled.endNanoseconds >= start
            else { return nil }
            return compiled
        }
    }

    public var isEmpty: Bool { requests.isEmpty }

    /// What applies to one stream; nil when no request matches its labels.
    func forStream(_ labels: LabelSet) -> StreamDeletes? {
        guard !requests.isEmpty else { return nil }
        let matching = requests.filter { $0.matches(labels.pairs) }
        return matching.isEmpty ? nil : StreamDeletes(requests: matching)
    }
}

/// The delete requests that match one stream.
struct StreamDeletes: Sendable {
    let requests: [CompiledDeleteRequest]

    func deletes(timestamp: Int64, line: UnsafeRawBufferPointer) -> Bool {
        requests.contains { $0.deletes(timestamp: timestamp, line: line) }
    }

    func deletes(_ entry: QueryEntry) -> Bool {
        entry.line.withUnsafeBytes { deletes(timestamp: entry.timestamp, line: $0) }
    }
}
