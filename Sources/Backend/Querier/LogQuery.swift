/// A log query the querier runs: which streams, which lines, which time range, how many entries.
public struct LogQuery: Sendable {
    public var tenant: String
    public var matchers: [LabelMatcher]
    public var lineFilters: LineFilterChain
    /// Nanoseconds since the epoch; `start` inclusive, `end` exclusive, as Loki treats log queries.
    public var start: Int64
    public var end: Int64
    public var limit: Int
    public var direction: Direction
    /// Lines of the tenant's delete requests, left out of the result.
    public var deletes: DeleteFilter = .none
    /// The pipeline after `lineFilters`, when the query has stages beyond line filters: entries it drops are
    /// left out, and kept ones carry its labels and line.
    public var pipeline: LogPipeline?
    /// Loki's `categorize-labels` encoding flag: with a pipeline, an entry's structured metadata and parsed labels
    /// are kept in its `structuredMetadata` and `parsed` instead of in the result stream's labels.
    public var categorizeLabels = false

    public init(
        tenant: String, matchers: [LabelMatcher], lineFilters: LineFilterChain, start: Int64, end: Int64,
        limit: Int, direction: Direction
    ) {
        self.tenant = tenant
        self.matchers = matchers
        self.lineFilters = lineFilters
        self.start = start
        self.end = end
        self.limit = limit
        self.direction = direction
    }
}
