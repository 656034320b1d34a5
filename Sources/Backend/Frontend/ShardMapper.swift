/// Decides how a metric query runs as shards of its streams, as Loki's shard mapper (`pkg/logql/shardmapper.go`)
/// does, keeping only the rewrites whose combined answer is exactly the unsharded one.
///
/// A shard reads the streams of one `StreamShard`. The plan names the expression each shard evaluates and how the
/// frontend combines the shards' answers: series with the same labels at the same step are summed, or the largest
/// or smallest is kept. Series that only one shard can produce pass through any of these unchanged, so "sum" also
/// covers Loki's concatenation.
enum ShardPlan: Equatable {
    /// How the shards' values of one series at one step become the answer's value.
    enum Combination: Equatable {
        case sum, max, min
    }

    /// Not shardable exactly: run as one query.
    case unsharded
    /// Every shard evaluates `expression`; the answers are combined.
    case sharded(SampleExpression, Combination)
    /// `avg`: `sum` and `count` run sharded (each combined by summing), then divided series by series.
    case average(sum: SampleExpression, count: SampleExpression)

    /// The plan for `expression`.
    ///
    /// - `sum by (…) (x)` where `x` over all streams is, label set by label set, the sum of `x` over the shards
    ///   (see `isAdditive`): sum of the shards' sums.
    /// - `count`, `max`, `min` and `avg` over an `x` whose every series comes from one shard (see `isDisjoint`):
    ///   sum of counts, largest of maxima, smallest of minima, sum of sums over sum of counts.
    /// - A range aggregation alone: its series pass through when only one shard can produce each; otherwise
    ///   (`by`/`without`, `drop`, `keep`, `label_format`, `unwrap`) counts, rates, bytes and sums are summed
    ///   and `max_over_time`/`min_over_time` keep the largest/smallest.
    /// - Anything else runs unsharded: `topk`, `bottomk`, `stddev`, `stdvar`, `sort`, `absent_over_time`, the other
    ///   range aggregations over `unwrap` (`quantile_over_time`, `avg_over_time`, …: the unwrapped label may be a
    ///   stream label, so their series may mix streams), binary operations, `label_replace` and literals.
    static func plan(_ expression: SampleExpression) -> ShardPlan {
        switch expression {
        case .range(let range):
            if isDisjoint(expression) { return .sharded(expression, .sum) }
            if isAdditive(expression) { return .sharded(expression, .sum) }
            switch range.operation {
            case .maxOverTime: return .sharded(expression, .max)
            case .minOverTime: return .sharded(expression, .min)
            default: return .unsharded
            }
        case .vector(let vector):
            switch vector.operation {
            case .sum where isAdditive(vector.inner): return .sharded(expression, .sum)
            case .count where isDisjoint(vector.inner): return .sharded(expression, .sum)
            case .max where isDisjoint(vector.inner): return .sharded(expression, .max)
            case .min where isDisjoint(vector.inner): return .sharded(expression, .min)
            case .avg where isDisjoint(vector.inner):
                var sum = vector
                sum.operation = .sum
                var count = vector
                count.operation = .count
                return .average(sum: .vector(sum), count: .vector(count))
            default: return .unsharded
            }
        case .binary, .labelReplace, .literal, .vectorLiteral:
            return .unsharded
        }
    }

    /// The range aggregation every shard reads (the one leaf of a shardable expression), or nil when unsharded.
    var leaf: RangeAggregation? {
        switch self {
        case .unsharded: return nil
        case .sharded(let expression, _), .average(let expression, _):
            let steps = EvaluationSteps(start: 0, end: 0, step: 1, isInstant: true)
            return MetricEvaluator(expression: expression, steps: steps).leaves.first
        }
    }

    /// Each series of `expression` comes from the streams of one shard: a range aggregation without grouping that
    /// keeps every stream label (parsers add labels and rename ones that clash with the stream's, as
    /// `<name>_extracted`; `drop`, `keep`, `label_format` and `unwrap` of a stream label can remove them).
    static func isDisjoint(_ expression: SampleExpression) -> Bool {
        guard case .range(let range) = expression else { return false }
        return range.operation != .absentOverTime && range.grouping == nil && range.unwrap == nil
            && !range.log.stages.contains(where: \.mayRemoveStreamLabels)
    }

    /// `expression` over all streams equals, series by series and step by step, the sum of `expression` over the
    /// shards: disjoint expressions, range aggregations that add samples up (counts, rates, bytes, sums of
    /// unwrapped values), and `sum`s of additive expressions and `count`s of disjoint ones.
    static func isAdditive(_ expression: SampleExpression) -> Bool {
        switch expression {
        case .range(let range):
            switch range.operation {
            case .countOverTime, .rate, .bytesOverTime, .bytesRate, .sumOverTime: return true
            default: return isDisjoint(expression)
            }
        case .vector(let vector):
            switch vector.operation {
            case .sum: return isAdditive(vector.inner)
            case .count: return isDisjoint(vector.inner)
            default: return false
            }
        case .binary, .labelReplace, .literal, .vectorLiteral:
            return false
        }
    }
}

extension PipelineStage {
    /// Whether the stage can remove or overwrite a stream label, so that two streams may yield one series.
    fileprivate var mayRemoveStreamLabels: Bool {
        switch self {
        case .drop, .keep, .labelFormat: true
        case .lineFilters, .json, .logfmt, .regexp, .pattern, .unpack, .lineFormat, .labelFilter, .decolorize: false
        }
    }
}
