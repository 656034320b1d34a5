import Wire

/// One entry of `limits_config.retention_stream`: streams matching `selector` are kept for `period`.
///
/// When several rules match a stream, Loki keeps the one with the highest `priority`; among equal priorities,
/// the shortest period wins. A stream no rule matches gets the tenant's `retention_period`.
/// `RetentionStreamRule.period(for:in:default:)` applies exactly that choice.
public struct RetentionStreamRule: Sendable, Equatable {
    /// The selector as written (`{namespace="dev"}`), shown back by `/config` and `/runtime_config`.
    public var selector: String
    public var priority: Int
    /// How long matching streams are kept, nanoseconds; at least 24h (Loki's rule).
    public var period: Int64
    /// The selector's matchers, compiled once when the configuration is read.
    public var matchers: [LabelMatcher]

    /// Parses `selector` with the LogQL parser. Throws `LogQLError` with Loki's wording when it is not a
    /// stream selector made only of label matchers.
    public init(selector: String, priority: Int, period: Int64) throws(LogQLError) {
        let selection = try LogSelection.parse(selector)
        guard selection.lineFilters.isEmpty else {
            // Loki's `ErrParseMatchers`.
            throw LogQLError(line: 0, column: 0, message: "only label matchers are supported")
        }
        self.selector = selector
        self.priority = priority
        self.period = period
        self.matchers = selection.matchers
    }

    /// Whether a stream with `labels` is selected: every matcher holds (an absent label reads as "").
    public func matches(_ labels: LabelSet) -> Bool {
        matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") }
    }

    /// The retention period, nanoseconds, of a stream with `labels`: the period of the matching rule with the
    /// highest priority (the shortest period among equals), else `default` (the tenant's `retention_period`).
    public static func period(for labels: LabelSet, in rules: [RetentionStreamRule], default: Int64) -> Int64 {
        var chosen: RetentionStreamRule?
        for rule in rules where rule.matches(labels) {
            if let best = chosen,
               best.priority > rule.priority || (best.priority == rule.priority && best.period <= rule.period) {
                continue
            }
            chosen = rule
        }
        return chosen?.period ?? `default`
    }

    /// Loki's minimum for a rule's period.
    public static let minimumPeriod: Int64 = 24 * 3600 * 1_000_000_000
}
