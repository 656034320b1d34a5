import Wire

/// A compiled `LabelFilterExpression`: Loki's `LabelFilterer` family (`pkg/logql/log/label_filter.go`).
///
/// Semantics kept from Loki: string matchers treat an absent label as "" and read `__error__` /
/// `__error_details__` from the error fields; numeric, duration and bytes filters keep every entry that already
/// has an error (only string matchers can remove those), drop entries without the label, and on a value that
/// does not convert keep the entry with `__error__="LabelFilterErr"` and Go's conversion error as details.
/// `and` runs both sides (so both can set errors); `or` stops at the first side that keeps the entry.
indirect enum LabelFilter: Sendable {
    case and(LabelFilter, LabelFilter)
    case or(LabelFilter, LabelFilter)
    case string(LabelMatcher)
    case number(name: String, LabelComparison, Double)
    case duration(name: String, LabelComparison, Int64)
    case bytes(name: String, LabelComparison, UInt64)
    case ip(name: String, equal: Bool, IPMatcher)

    init(_ expression: LabelFilterExpression) throws(LogQLError) {
        switch expression {
        case .and(let left, let right): self = .and(try LabelFilter(left), try LabelFilter(right))
        case .or(let left, let right): self = .or(try LabelFilter(left), try LabelFilter(right))
        case .string(let matcher): self = .string(matcher)
        case .number(let name, let comparison, let value): self = .number(name: name, comparison, value)
        case .duration(let name, let comparison, let value): self = .duration(name: name, comparison, value)
        case .bytes(let name, let comparison, let value): self = .bytes(name: name, comparison, value)
        case .ip(let name, let equal, let pattern):
            self = .ip(name: name, equal: equal, try IPMatcher(pattern))
        }
    }

    /// The label names the filter reads.
    var names: Set<String> {
        switch self {
        case .and(let left, let right), .or(let left, let right): left.names.union(right.names)
        case .string(let matcher): [matcher.name]
        case .number(let name, _, _), .duration(let name, _, _), .bytes(let name, _, _), .ip(let name, _, _): [name]
        }
    }

    /// Whether the entry passes; may set `__error__` on `builder`.
    func process(_ builder: inout LabelsBuilder) -> Bool {
        switch self {
        case .and(let left, let right):
            let leftKeeps = left.process(&builder)
            let rightKeeps = right.process(&builder)
            return leftKeeps && rightKeeps
        case .or(let left, let right):
            if left.process(&builder) { return true }
            return right.process(&builder)
        case .string(let matcher):
            return matcher.matches(builder.filterValue(matcher.name) ?? "")
        case .number(let name, let comparison, let bound):
            if builder.hasError { return true }
            guard let text = builder.get(name) else { return false }
            switch GoConversions.parseFloat(text) {
            case .success(let value): return comparison.holds(value, bound)
            case .failure(let failure): return Self.conversionError(failure, &builder)
            }
        case .duration(let name, let comparison, let bound):
            if builder.hasError { return true }
            guard let text = builder.get(name) else { return false }
            switch GoConversions.parseDuration(text) {
            case .success(let value): return comparison.holds(value, bound)
            case .failure(let failure): return Self.conversionError(failure, &builder)
            }
        case .bytes(let name, let comparison, let bound):
            if builder.hasError { return true }
            guard let text = builder.get(name) else { return false }
            switch GoConversions.parseBytes(text) {
            case .success(let value): return comparison.holds(value, bound)
            case .failure(let failure): return Self.conversionError(failure, &builder)
            }
        case .ip(let name, let equal, let matcher):
            // Loki's IPLabelFilter: entries with an error pass, entries without the label fail (`=` and `!=`), and the
            // value is searched for addresses as a line is.
            if builder.hasError { return true }
            guard let text = builder.get(name) else { return false }
            return matcher.matchesAnywhere(text) == equal
        }
    }

    private static func conversionError(_ failure: GoConversions.Failure, _ builder: inout LabelsBuilder) -> Bool {
        builder.error = LogPipeline.labelFilterError
        builder.errorDetails = failure.message
        return true
    }
}
