import GoCompat
import Wire

/// Vector aggregations, binary operations and `label_replace` on one step's instant vectors, with PromQL's
/// semantics as Loki uses them (`pkg/logql/evaluator.go`, Prometheus' `engine.go`).
enum VectorOperations {
    /// Prometheus' `labels.Compare`: pairwise by name, then value; a prefix sorts first.
    static func less(_ a: LabelSet, _ b: LabelSet) -> Bool {
        for (x, y) in zip(a.pairs, b.pairs) {
            if x.name != y.name { return x.name.utf8.lexicographicallyPrecedes(y.name.utf8) }
            if x.value != y.value { return x.value.utf8.lexicographicallyPrecedes(y.value.utf8) }
        }
        return a.pairs.count < b.pairs.count
    }

    /// The labels a `by`/`without` clause leaves.
    static func groupLabels(_ labels: LabelSet, _ grouping: Grouping?) -> LabelSet {
        guard let grouping else { return LabelSet([]) }
        if grouping.without {
            return LabelSet(labels.pairs.filter { !grouping.labels.contains($0.name) })
        }
        return LabelSet(labels.pairs.filter { grouping.labels.contains($0.name) })
    }

    // MARK: Aggregations

    private struct Group {
        var labels: LabelSet
        var value = 0.0
        var mean = 0.0
        var count = 0
        var members: [VectorSample] = []
    }

    static func aggregate(_ aggregation: VectorAggregation, _ samples: [VectorSample]) -> [VectorSample] {
        switch aggregation.operation {
        case .sort, .sortDesc:
            return samples
        default:
            break
        }
        var order: [LabelSet] = []
        var groups: [LabelSet: Group] = [:]
        for sample in samples {
            let key = groupLabels(sample.labels, aggregation.grouping)
            var group = groups[key] ?? Group(labels: key)
            if groups[key] == nil { order.append(key) }
            let value = sample.value
            group.count += 1
            let count = Double(group.count)
            switch aggregation.operation {
            case .sum:
                group.value += value
            case .avg:
                if group.mean.isInfinite {
                    // An infinite mean stays as it is unless an opposite infinity or NaN arrives (Prometheus).
                    if value.isInfinite && (group.mean > 0) == (value > 0) { break }
                    if !value.isInfinite && !value.isNaN { break }
                }
                group.mean += value / count - group.mean / count
            case .max:
                if group.count == 1 || group.value < value || group.value.isNaN { group.value = value }
            case .min:
                if group.count == 1 || group.value > value || group.value.isNaN { group.value = value }
            case .count:
                group.value = count
            case .stddev, .stdvar:
                let delta = value - group.mean
                group.mean += delta / count
                group.value += delta * (value - group.mean)
            case .topk, .bottomk:
                group.members.append(sample)
            case .sort, .sortDesc:
                break
            }
            groups[key] = group
        }
        var result: [VectorSample] = []
        for key in order {
            guard let group = groups[key] else { continue }
            switch aggregation.operation {
            case .avg:
                result.append(VectorSample(labels: key, value: group.mean))
            case .stddev:
                result.append(VectorSample(labels: key, value: (group.value / Double(group.count)).squareRoot()))
            case .stdvar:
                result.append(VectorSample(labels: key, value: group.value / Double(group.count)))
            case .topk, .bottomk:
                let k = max(0, aggregation.parameter ?? 0)
                let top = aggregation.operation == .topk
                // NaN sorts last either way, as Prometheus' heap treats it.
                let ordered = group.members.sorted { a, b in
                    if a.value.isNaN { return false }
                    if b.value.isNaN { return true }
                    return top ? a.value > b.value : a.value < b.value
                }
                result.append(contentsOf: ordered.prefix(k))
            default:
                result.append(VectorSample(labels: key, value: group.value))
            }
        }
        return result
    }

    // MARK: Binary operations

    static func binary(
        _ operation: BinaryOperation, _ lhs: MetricEvaluator.StepValue, _ rhs: MetricEvaluator.StepValue
    ) throws(MetricQueryError) -> MetricEvaluator.StepValue {
        switch (lhs, rhs) {
        case (.scalar(let a), .scalar(let b)):
            return .scalar(ScalarArithmetic.apply(operation.op, a, b, returnBool: operation.returnBool) ?? .nan)
        case (.vector(let samples), .scalar(let scalar)):
            return .vector(try withScalar(operation, samples, scalar, scalarOnLeft: false))
        case (.scalar(let scalar), .vector(let samples)):
            return .vector(try withScalar(operation, samples, scalar, scalarOnLeft: true))
        case (.vector(let left), .vector(let right)):
            return .vector(try vectors(operation, left, right))
        }
    }

    private static func withScalar(
        _ operation: BinaryOperation, _ samples: [VectorSample], _ scalar: Double, scalarOnLeft: Bool
    ) throws(MetricQueryError) -> [VectorSample] {
        guard !operation.op.isSetOperator else {
            throw MetricQueryError("set operator \"\(operation.op.rawValue)\" not allowed in binary scalar expression")
        }
        var result: [VectorSample] = []
        result.reserveCapacity(samples.count)
        for sample in samples {
            let (a, b) = scalarOnLeft ? (scalar, sample.value) : (sample.value, scalar)
            guard var value = ScalarArithmetic.apply(operation.op, a, b, returnBool: operation.returnBool) else {
                continue
            }
            // A comparison keeps the vector's value, whichever side the scalar is on.
            if operation.op.isComparison && !operation.returnBool { value = sample.value }
            result.append(VectorSample(labels: sample.labels, value: value))
        }
        return result
    }

    private static func signature(_ labels: LabelSet, _ matching: VectorMatching?) -> LabelSet {
        guard let matching else { return labels }
        if matching.on { return LabelSet(labels.pairs.filter { matching.labels.contains($0.name) }) }
        return LabelSet(labels.pairs.filter { !matching.labels.contains($0.name) })
    }

    private static func vectors(
        _ operation: BinaryOperation, _ left: [VectorSample], _ right: [VectorSample]
    ) throws(MetricQueryError) -> [VectorSample] {
        let matching = operation.matching
        switch operation.op {
        case .and, .or, .unless:
            let rightSignatures = Set(right.map { signature($0.labels, matching) })
            switch operation.op {
            case .and:
                return left.filter { rightSignatures.contains(signature($0.labels, matching)) }
            case .unless:
                return left.filter { !rightSignatures.contains(signature($0.labels, matching)) }
            default:
                let leftSignatures = Set(left.map { signature($0.labels, matching) })
                return left + right.filter { !leftSignatures.contains(signature($0.labels, matching)) }
            }
        default:
            break
        }
        let cardinality = matching?.cardinality ?? .oneToOne
        // The "one" side is indexed by signature; for group_right the sides swap.
        let swapped: Bool
        let include: [String]
        switch cardinality {
        case .oneToOne: swapped = false; include = []
        case .manyToOne(let labels): swapped = false; include = labels
        case .oneToMany(let labels): swapped = true; include = labels
        }
        let (many, one) = swapped ? (right, left) : (left, right)
        var oneSide: [LabelSet: VectorSample] = [:]
        for sample in one {
            let key = signature(sample.labels, matching)
            if oneSide[key] != nil {
                let side = swapped ? "left" : "right"
                throw MetricQueryError("found duplicate series for the match group \(key) on the \(side) hand-side of the operation: [\(oneSide[key]?.labels.description ?? ""), \(sample.labels)];many-to-many matching not allowed: matching labels must be unique on one side")
            }
            oneSide[key] = sample
        }
        var result: [VectorSample] = []
        var seenOneToOne = Set<LabelSet>()
        var seenResult = Set<LabelSet>()
        for sample in many {
            let key = signature(sample.labels, matching)
            guard let partner = oneSide[key] else { continue }
            if cardinality == .oneToOne, !seenOneToOne.insert(key).inserted {
                throw MetricQueryError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
            }
            let (a, b) = swapped ? (partner.value, sample.value) : (sample.value, partner.value)
            guard var value = ScalarArithmetic.apply(operation.op, a, b, returnBool: operation.returnBool) else { continue }
            if operation.op.isComparison && !operation.returnBool { value = a }
            let labels = resultLabels(sample.labels, partner.labels, matching, include: include)
            if cardinality != .oneToOne, !seenResult.insert(labels).inserted {
                throw MetricQueryError("multiple matches for labels: grouping labels must ensure unique matches")
            }
            result.append(VectorSample(labels: labels, value: value))
        }
        return result
    }

    /// Prometheus' `resultMetric`: one-to-one keeps the `on` labels or drops the `ignoring` ones; group modifiers
    /// copy their listed labels from the "one" side.
    private static func resultLabels(
        _ many: LabelSet, _ one: LabelSet, _ matching: VectorMatching?, include: [String]
    ) -> LabelSet {
        guard let matching else { return many }
        var pairs = many.pairs
        if matching.cardinality == .oneToOne {
            if matching.on {
                pairs = pairs.filter { matching.labels.contains($0.name) }
            } else {
                pairs = pairs.filter { !matching.labels.contains($0.name) }
            }
        }
        for name in include {
            pairs.removeAll { $0.name == name }
            if let value = one[name], !value.isEmpty { pairs.append(LabelPair(name: name, value: value)) }
        }
        return LabelSet(pairs)
    }

    // MARK: label_replace

    static func labelReplace(_ replace: LabelReplace, _ samples: [VectorSample]) throws(MetricQueryError) -> [VectorSample] {
        let regex: AnchoredRegex
        do throws(RE2Error) {
            regex = try AnchoredRegex(replace.regex, dotMatchesNewline: true)
        } catch {
            throw MetricQueryError("invalid regular expression in label_replace(): \(replace.regex)")
        }
        var result: [VectorSample] = []
        result.reserveCapacity(samples.count)
        for sample in samples {
            let source = sample.labels[replace.source] ?? ""
            guard let groups = regex.groups(source) else {
                result.append(sample)
                continue
            }
            let value = regex.expand(replace.replacement, groups: groups)
            var pairs = sample.labels.pairs.filter { $0.name != replace.destination }
            if !value.isEmpty { pairs.append(LabelPair(name: replace.destination, value: value)) }
            result.append(VectorSample(labels: LabelSet(pairs), value: sample.value))
        }
        return result
    }
}
