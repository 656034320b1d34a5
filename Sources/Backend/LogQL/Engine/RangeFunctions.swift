import Foundation

import Wire

/// The samples of one series for one range aggregation, sorted by time: one per log entry kept by the pipeline
/// (value 1 for counting, the line's length for bytes, the unwrapped value otherwise).
public struct SeriesSamples: Sendable, Equatable {
    public var labels: LabelSet
    public var timestamps: [Int64]
    public var values: [Double]

    public init(labels: LabelSet, timestamps: [Int64] = [], values: [Double] = []) {
        self.labels = labels
        self.timestamps = timestamps
        self.values = values
    }
}

/// The `*_over_time` functions over one window of samples, as Loki's `pkg/logql/range_vector.go` computes them
/// (Prometheus' formulas, including their order of floating-point operations).
enum RangeFunctions {
    /// The value of `operation` over `values[window]` (timestamps alongside), or nil when the window yields no
    /// sample. `rangeSeconds` is the selector's range; `stepEnd` the window's right edge (ns).
    static func evaluate(
        _ operation: RangeAggregation.Operation, parameter: Double?, timestamps: [Int64], values: [Double],
        window: Range<Int>, rangeNanoseconds: Int64, stepEnd: Int64
    ) -> Double? {
        guard !window.isEmpty else { return nil }
        let rangeSeconds = Double(rangeNanoseconds) / 1e9
        let slice = values[window]
        switch operation {
        case .countOverTime:
            // Values are counts: 1 per entry, or a whole block's entries counted from its summary.
            return slice.reduce(0, +)
        case .absentOverTime:
            return nil
        case .bytesOverTime, .sumOverTime:
            return slice.reduce(0, +)
        case .rate, .bytesRate:
            return slice.reduce(0, +) / rangeSeconds
        case .rateCounter:
            return extrapolatedRate(timestamps: timestamps, values: values, window: window,
                                    rangeNanoseconds: rangeNanoseconds, stepEnd: stepEnd)
        case .avgOverTime:
            var mean = 0.0
            var count = 0.0
            for value in slice {
                count += 1
                if mean.isInfinite {
                    if value.isInfinite && (mean > 0) == (value > 0) { continue }
                    if !value.isInfinite && !value.isNaN { continue }
                }
                mean += value / count - mean / count
            }
            return mean
        case .minOverTime:
            var result = slice[slice.startIndex]
            for value in slice where value < result || result.isNaN { result = value }
            return result
        case .maxOverTime:
            var result = slice[slice.startIndex]
            for value in slice where value > result || result.isNaN { result = value }
            return result
        case .stdvarOverTime, .stddevOverTime:
            var aux = 0.0
            var count = 0.0
            var mean = 0.0
            for value in slice {
                count += 1
                let delta = value - mean
                mean += delta / count
                aux += delta * (value - mean)
            }
            return operation == .stddevOverTime ? (aux / count).squareRoot() : aux / count
        case .quantileOverTime:
            return quantile(parameter ?? .nan, Array(slice))
        case .firstOverTime:
            return slice[slice.startIndex]
        case .lastOverTime:
            return slice[slice.index(before: slice.endIndex)]
        }
    }

    /// Prometheus' `quantile`: linear interpolation between the closest ranks; φ < 0 is −Inf, φ > 1 is +Inf.
    static func quantile(_ q: Double, _ values: [Double]) -> Double {
        if values.isEmpty || q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        let sorted = values.sorted { a, b in a < b || (a.isNaN && !b.isNaN) }
        let n = Double(sorted.count)
        let rank = q * (n - 1)
        let lower = max(0, Int(rank.rounded(.down)))
        let upper = min(sorted.count - 1, lower + 1)
        let weight = rank - rank.rounded(.down)
        return sorted[lower] * (1 - weight) + sorted[upper] * weight
    }

    /// Prometheus' `extrapolatedRate` for counters, as Loki's `rate_counter` uses it: resets are compensated and
    /// the increase is extrapolated to the window's edges.
    static func extrapolatedRate(
        timestamps: [Int64], values: [Double], window: Range<Int>, rangeNanoseconds: Int64, stepEnd: Int64
    ) -> Double? {
        guard window.count >= 2 else { return nil }
        let first = window.lowerBound
        let last = window.upperBound - 1
        let rangeStart = stepEnd - rangeNanoseconds
        var result = values[last] - values[first]
        var previous = values[first]
        for index in (first + 1)...last {
            if values[index] < previous { result += previous }
            previous = values[index]
        }
        var durationToStart = Double(timestamps[first] - rangeStart) / 1e9
        let durationToEnd = Double(stepEnd - timestamps[last]) / 1e9
        let sampledInterval = Double(timestamps[last] - timestamps[first]) / 1e9
        guard sampledInterval > 0 else { return nil }
        let averageBetweenSamples = sampledInterval / Double(window.count - 1)
        if result > 0 && values[first] >= 0 {
            let durationToZero = sampledInterval * (values[first] / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        let threshold = averageBetweenSamples * 1.1
        var extrapolateTo = sampledInterval
        extrapolateTo += durationToStart < threshold ? durationToStart : averageBetweenSamples / 2
        extrapolateTo += durationToEnd < threshold ? durationToEnd : averageBetweenSamples / 2
        result *= extrapolateTo / sampledInterval
        return result / (Double(rangeNanoseconds) / 1e9)
    }
}

/// Arithmetic and comparisons between two numbers, with Go's float semantics (x/0 is ±Inf, 0/0 NaN).
enum ScalarArithmetic {
    /// The result of `a op b`, or nil when a comparison without `bool` does not hold (the sample is dropped).
    /// With `returnBool`, comparisons yield 0 or 1. Set operators have no scalar meaning (nil).
    static func apply(_ op: BinaryOperation.Operator, _ a: Double, _ b: Double, returnBool: Bool) -> Double? {
        switch op {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        case .modulo: return fmod(a, b)
        case .power: return Foundation.pow(a, b)
        case .equal, .notEqual, .greater, .greaterOrEqual, .less, .lessOrEqual:
            let holds: Bool
            switch op {
            case .equal: holds = a == b
            case .notEqual: holds = a != b
            case .greater: holds = a > b
            case .greaterOrEqual: holds = a >= b
            case .less: holds = a < b
            default: holds = a <= b
            }
            if returnBool { return holds ? 1 : 0 }
            return holds ? a : nil
        case .and, .or, .unless:
            return nil
        }
    }
}
