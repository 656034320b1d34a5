/// The line filters of a log query, all of which a line must pass.
///
/// Called once per scanned line, so this is the query hot path: filters that keep everything are dropped and
/// substring searches run before regexes (the filters are pure, so order does not change the result).
public struct LineFilterChain: Sendable {
    /// The filters as given.
    public let filters: [LineFilter]
    private let ordered: [LineFilter]

    public init(_ filters: [LineFilter] = []) {
        self.filters = filters
        ordered = filters.filter { !$0.keepsEverything }.enumerated()
            .sorted { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) }
            .map(\.element)
    }

    /// True when every line passes (no filters, or only ones like `|= ""`): callers can skip filtering.
    public var isEmpty: Bool { ordered.isEmpty }

    /// Whether `line` passes every filter.
    @inline(__always)
    public func matches(_ line: UnsafeRawBufferPointer) -> Bool {
        for filter in ordered where !filter.matches(line) { return false }
        return true
    }
}
