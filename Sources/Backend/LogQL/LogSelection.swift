/// A stream selector with line filters and nothing else, `{app="api", env=~"prod|staging"} |= "error"`: what delete
/// requests, `retention_stream` selectors and the label and series endpoints accept.
///
/// Text Loki would reject gets Loki's syntax error, line and column; valid LogQL beyond this shape (parsers, label
/// filters, metric queries) is refused with a `LogQLError` of kind `.unsupported` that says what is allowed here.
struct LogSelection: Sendable {
    var matchers: [LabelMatcher]
    var lineFilters: LineFilterChain

    static func parse(_ query: String) throws(LogQLError) -> LogSelection {
        guard case .log(let log) = try LogQLParser.parse(query) else {
            throw LogQLError(line: 0, column: 0, message: "a metric query is not allowed here; \(allowed)",
                             kind: .unsupported)
        }
        var filters: [LineFilter] = []
        for stage in log.stages {
            guard case .lineFilters(let chain) = stage else {
                throw LogQLError(line: 0, column: 0, message: "a log pipeline stage is not allowed here; \(allowed)",
                                 kind: .unsupported)
            }
            filters.append(contentsOf: chain)
        }
        return LogSelection(matchers: log.matchers, lineFilters: LineFilterChain(filters))
    }

    private static let allowed = "write a stream selector and line filters only"
}
