import Wire

/// One sample of an instant vector.
public struct VectorSample: Sendable, Equatable {
    public var labels: LabelSet
    public var value: Double

    public init(labels: LabelSet, value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// A series of a matrix result: its points in time order.
public struct MatrixSeries: Sendable, Equatable {
    public var labels: LabelSet
    public var timestamps: [Int64]
    public var values: [Double]

    public init(labels: LabelSet, timestamps: [Int64] = [], values: [Double] = []) {
        self.labels = labels
        self.timestamps = timestamps
        self.values = values
    }
}

/// The answer to a metric query, in the shapes of Loki's `resultType`.
public enum MetricResult: Sendable, Equatable {
    case scalar(timestamp: Int64, value: Double)
    case vector(timestamp: Int64, [VectorSample])
    case matrix([MatrixSeries])
}

/// Errors of evaluating a valid query, answered 400 as Loki answers them.
public struct MetricQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }

    /// Loki's `PipelineError`: a sample whose labels carry `__error__` stops a metric query.
    public static func pipelineError(_ error: String, series: LabelSet) -> MetricQueryError {
        MetricQueryError("pipeline error: '\(error)' for series: '\(series)'.\n"
            + "Use a label filter to intentionally skip this error. (e.g | __error__!=\"\(error)\").\n"
            + "To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"
            + "The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n")
    }

    /// Loki 3's `NewSeriesLimitError`.
    public static func seriesLimit(_ limit: Int) -> MetricQueryError {
        MetricQueryError("maximum number of series (\(limit)) reached for a single query; consider reducing query "
            + "cardinality by adding more specific stream selectors, reducing the time range, or aggregating results "
            + "with functions like sum(), count() or topk()")
    }
}

/// The evaluation times of a query: `start`, `start + step`, ... up to `end`, all nanoseconds. An instant
/// query has one, `start == end`.
public struct EvaluationSteps: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public var step: Int64
    public var isInstant: Bool

    public init(start: Int64, end: Int64, step: Int64, isInstant: Bool) {
        self.start = start
        self.end = end
        self.step = max(1, step)
        self.isInstant = isInstant
    }

    public var count: Int { end < start ? 0 : Int((end - start) / step) + 1 }

    public func time(_ index: Int) -> Int64 { start + Int64(index) * step }
}

/// Evaluates a metric query from the samples of its range aggregations, step by step, as Loki's engine does
/// (`pkg/logql/evaluator.go`): range aggregations over the windows `(t - offset - range, t - offset]`, then vector
/// aggregations, binary operations and `label_replace` on the instant vectors of each step.
///
/// The caller fetches the samples (`leaves`, then one `SeriesSamples` list per leaf in the same order); this type
/// does no I/O, so the same code answers the querier, the frontend's merges and the tests.
public struct MetricEvaluator: Sendable {
    public let expression: SampleExpression
    public let steps: EvaluationSteps
    /// `max_query_series`: more series than this in a step's vector stops the query; 0 means no limit.
    public let maxSeries: Int

    public init(expression: SampleExpression, steps: EvaluationSteps, maxSeries: Int = 0) {
        self.expression = expression
        self.steps = steps
        self.maxSeries = maxSeries
    }

    /// The range aggregations whose samples the evaluation needs, in a fixed order.
    public var leaves: [RangeAggregation] {
        var found: [RangeAggregation] = []
        Self.collect(expression, into: &found)
        return found
    }

    /// For each leaf, the only labels the rest of the query reads from its series, or nil for all: a `sum`
    /// (optionally `by (…)`) directly over an additive range aggregation (count, rate, bytes, sum) without its own
    /// grouping sums the same whether the leaf's series are split finely or only by those labels. Reading fewer
    /// labels lets parsers extract less and counts use block summaries even when entries carry metadata.
    public var keptLabels: [Set<String>?] {
        var found: [Set<String>?] = []
        Self.collectKept(expression, parent: nil, into: &found)
        return found
    }

    private static func collectKept(_ expression: SampleExpression, parent: VectorAggregation?, into found: inout [Set<String>?]) {
        switch expression {
        case .range(let range):
            var kept: Set<String>?
            if let parent, parent.operation == .sum, parent.grouping?.without != true, range.grouping == nil {
                switch range.operation {
                case .countOverTime, .rate, .bytesOverTime, .bytesRate, .sumOverTime:
                    kept = Set(parent.grouping?.labels ?? [])
                default:
                    break
                }
            }
            found.append(kept)
        case .vector(let vector): collectKept(vector.inner, parent: vector, into: &found)
        case .binary(let binary):
            collectKept(binary.lhs, parent: nil, into: &found)
            collectKept(binary.rhs, parent: nil, into: &found)
        case .labelReplace(let replace): collectKept(replace.inner, parent: nil, into: &found)
        case .literal, .vectorLiteral: break
        }
    }

    /// The time span of samples a leaf needs: entries with `from < timestamp <= through`.
    public func sampleSpan(_ leaf: RangeAggregation) -> (from: Int64, through: Int64) {
        (steps.start - leaf.offset - leaf.range, steps.end - leaf.offset)
    }

    private static func collect(_ expression: SampleExpression, into found: inout [RangeAggregation]) {
        switch expression {
        case .range(let range): found.append(range)
        case .vector(let vector): collect(vector.inner, into: &found)
        case .binary(let binary):
            collect(binary.lhs, into: &found)
            collect(binary.rhs, into: &found)
        case .labelReplace(let replace): collect(replace.inner, into: &found)
        case .literal, .vectorLiteral: break
        }
    }

    /// Evaluates with `samples[i]` the series of `leaves[i]`.
    public func evaluate(_ samples: [[SeriesSamples]]) throws(MetricQueryError) -> MetricResult {
        var leafValues: [LeafSteps] = []
        let leaves = self.leaves
        for (index, leaf) in leaves.enumerated() {
            leafValues.append(LeafSteps(leaf, samples: index < samples.count ? samples[index] : [], steps: steps))
        }
        if case .literal(let value) = expression {
            if steps.isInstant { return .scalar(timestamp: steps.start, value: value) }
            return .matrix([MatrixSeries(labels: LabelSet([]), timestamps: (0..<steps.count).map(steps.time),
                                         values: Array(repeating: value, count: steps.count))])
        }
        var series: [LabelSet: Int] = [:]
        var matrix: [MatrixSeries] = []
        var instant: [VectorSample] = []
        for step in 0..<steps.count {
            var cursor = 0
            let value = try evaluate(expression, step: step, leaves: leafValues, cursor: &cursor)
            let vector: [VectorSample]
            switch value {
            case .scalar(let number): vector = [VectorSample(labels: LabelSet([]), value: number)]
            case .vector(let samples): vector = samples
            }
            if maxSeries > 0, vector.count > maxSeries {
                throw MetricQueryError.seriesLimit(maxSeries)
            }
            if steps.isInstant {
                instant = vector
                continue
            }
            let time = steps.time(step)
            for sample in vector {
                let slot: Int
                if let found = series[sample.labels] {
                    slot = found
                } else {
                    slot = matrix.count
                    series[sample.labels] = slot
                    matrix.append(MatrixSeries(labels: sample.labels))
                    if maxSeries > 0, matrix.count > maxSeries {
                        throw MetricQueryError.seriesLimit(maxSeries)
                    }
                }
                matrix[slot].timestamps.append(time)
                matrix[slot].values.append(sample.value)
            }
        }
        if steps.isInstant {
            return .vector(timestamp: steps.start, Self.sorted(instant, expression.instantOrder))
        }
        matrix.sort { VectorOperations.less($0.labels, $1.labels) }
        return .matrix(matrix)
    }

    /// Instant vectors of `sort` and `sort_desc` are ordered by value; others by labels, as Loki answers.
    private static func sorted(_ samples: [VectorSample], _ sort: VectorAggregation.Operation?) -> [VectorSample] {
        switch sort {
        case .sort?: samples.sorted { $0.value < $1.value }
        case .sortDesc?: samples.sorted { $0.value > $1.value }
        default: samples.sorted { VectorOperations.less($0.labels, $1.labels) }
        }
    }

    // MARK: Per step

    enum StepValue {
        case scalar(Double)
        case vector([VectorSample])
    }

    private func evaluate(
        _ expression: SampleExpression, step: Int, leaves: [LeafSteps], cursor: inout Int
    ) throws(MetricQueryError) -> StepValue {
        switch expression {
        case .literal(let value):
            return .scalar(value)
        case .vectorLiteral(let value):
            return .vector([VectorSample(labels: LabelSet([]), value: value)])
        case .range:
            let leaf = leaves[cursor]
            cursor += 1
            return .vector(leaf.vector(at: step))
        case .vector(let aggregation):
            guard case .vector(let inner) = try evaluate(aggregation.inner, step: step, leaves: leaves, cursor: &cursor) else {
                throw MetricQueryError("unexpected scalar in \(aggregation.operation.rawValue) aggregation")
            }
            return .vector(VectorOperations.aggregate(aggregation, inner))
        case .binary(let binary):
            let lhs = try evaluate(binary.lhs, step: step, leaves: leaves, cursor: &cursor)
            let rhs = try evaluate(binary.rhs, step: step, leaves: leaves, cursor: &cursor)
            return try VectorOperations.binary(binary, lhs, rhs)
        case .labelReplace(let replace):
            let inner = try evaluate(replace.inner, step: step, leaves: leaves, cursor: &cursor)
            guard case .vector(let samples) = inner else { return inner }
            return .vector(try VectorOperations.labelReplace(replace, samples))
        }
    }
}

extension SampleExpression {
    /// The operation of a top-level `sort` or `sort_desc`, which orders an instant result by value; every other
    /// instant vector is ordered by labels, as Loki answers.
    var instantOrder: VectorAggregation.Operation? {
        guard case .vector(let aggregation) = self else { return nil }
        switch aggregation.operation {
        case .sort, .sortDesc: return aggregation.operation
        default: return nil
        }
    }
}

/// One range aggregation's value for each series at each step, computed once up front.
struct LeafSteps {
    private(set) var labels: [LabelSet] = []
    /// `values[series][step]`, nil where the window held no sample.
    private(set) var values: [[Double?]] = []
    /// For `absent_over_time`: the labels of its one sample and, per step, whether it is there.
    private var absent: (labels: LabelSet, present: [Bool])?

    init(_ leaf: RangeAggregation, samples: [SeriesSamples], steps: EvaluationSteps) {
        let grouped = Self.group(samples, by: leaf.grouping)
        if leaf.operation == .absentOverTime {
            var present = Array(repeating: true, count: steps.count)
            for step in 0..<steps.count {
                let end = steps.time(step) - leaf.offset
                let start = end - leaf.range
                present[step] = !grouped.contains { series in
                    let window = Self.window(series.timestamps, after: start, through: end)
                    return !window.isEmpty
                }
            }
            absent = (Self.absentLabels(leaf), present)
            return
        }
        for series in grouped {
            var row: [Double?] = Array(repeating: nil, count: steps.count)
            var any = false
            var low = 0
            var high = 0
            let timestamps = series.timestamps
            for step in 0..<steps.count {
                let end = steps.time(step) - leaf.offset
                let start = end - leaf.range
                while high < timestamps.count, timestamps[high] <= end { high += 1 }
                while low < high, timestamps[low] <= start { low += 1 }
                if let value = RangeFunctions.evaluate(
                    leaf.operation, parameter: leaf.parameter, timestamps: timestamps, values: series.values,
                    window: low..<high, rangeNanoseconds: leaf.range, stepEnd: end)
                {
                    row[step] = value
                    any = true
                }
            }
            if any {
                labels.append(series.labels)
                values.append(row)
            }
        }
    }

    func vector(at step: Int) -> [VectorSample] {
        if let absent {
            return absent.present[step] ? [VectorSample(labels: absent.labels, value: 1)] : []
        }
        var result: [VectorSample] = []
        for (index, row) in values.enumerated() {
            if let value = row[step] { result.append(VectorSample(labels: labels[index], value: value)) }
        }
        return result
    }

    private static func window(_ timestamps: [Int64], after start: Int64, through end: Int64) -> Range<Int> {
        let low = partition(timestamps) { $0 > start }
        let high = partition(timestamps) { $0 > end }
        return low..<max(low, high)
    }

    /// The first index whose element satisfies `predicate` (which must be false, then true, along the array).
    private static func partition(_ timestamps: [Int64], _ predicate: (Int64) -> Bool) -> Int {
        var low = 0
        var high = timestamps.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(timestamps[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// `by`/`without` on a range aggregation: the samples of series with the same grouped labels are merged.
    private static func group(_ samples: [SeriesSamples], by grouping: Grouping?) -> [SeriesSamples] {
        guard let grouping else { return samples }
        var order: [LabelSet] = []
        var merged: [LabelSet: [SeriesSamples]] = [:]
        for series in samples {
            let key = VectorOperations.groupLabels(series.labels, grouping)
            if merged[key] == nil { order.append(key) }
            merged[key, default: []].append(series)
        }
        return order.map { key in
            let parts = merged[key] ?? []
            if parts.count == 1 { return SeriesSamples(labels: key, timestamps: parts[0].timestamps, values: parts[0].values) }
            var points: [(Int64, Double)] = []
            for part in parts { points.append(contentsOf: zip(part.timestamps, part.values)) }
            points.sort { $0.0 < $1.0 }
            return SeriesSamples(labels: key, timestamps: points.map(\.0), values: points.map(\.1))
        }
    }

    /// Loki's `absentLabels`: the selector's equality matchers, except names matched more than once and the
    /// unwrapped label.
    private static func absentLabels(_ leaf: RangeAggregation) -> LabelSet {
        var counts: [String: Int] = [:]
        for matcher in leaf.log.matchers { counts[matcher.name, default: 0] += 1 }
        let pairs = leaf.log.matchers.filter { matcher in
            matcher.kind == .equal && counts[matcher.name] == 1 && matcher.name != leaf.unwrap?.label
        }.map { LabelPair(name: $0.name, value: $0.value) }
        return LabelSet(pairs)
    }
}
