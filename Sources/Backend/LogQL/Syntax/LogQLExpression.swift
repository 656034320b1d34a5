/// A parsed LogQL query: Loki's `Expr` tree (`pkg/logql/syntax/ast.go`), as plain values.
///
/// `LogQLParser` builds it, `LogPipeline` and the metric engine run it, and `description` prints it back the way
/// Loki's `String()` does (used by `format_query` and by the query frontend when it sends pieces of a query on).
public enum LogQLExpression: Sendable, Equatable {
    /// `{…} | …`: answered with streams.
    case log(LogExpression)
    /// Everything that yields numbers: answered with a matrix, vector or scalar.
    case sample(SampleExpression)
}

/// A stream selector and its pipeline: `{app="api"} |= "error" | json | status >= 500`.
public struct LogExpression: Sendable, Equatable {
    public var matchers: [LabelMatcher]
    public var stages: [PipelineStage]

    public init(matchers: [LabelMatcher], stages: [PipelineStage] = []) {
        self.matchers = matchers
        self.stages = stages
    }
}

/// One stage of a log pipeline, in the order written.
public enum PipelineStage: Sendable, Equatable {
    /// Consecutive line filters (`|= "a" != "b" |~ "c"`), run as one chain.
    case lineFilters([LineFilter])
    /// `| json` (every field) or `| json a="x.y", b` (chosen fields by JMESPath-like expression).
    case json([ExtractionParameter])
    /// `| logfmt`, with `--strict` and `--keep-empty`, every field or the chosen ones.
    case logfmt(strict: Bool, keepEmpty: Bool, [ExtractionParameter])
    /// `| regexp "(?P<name>…)"`: named groups become labels.
    case regexp(String)
    /// `| pattern "<ip> - <_> <status>"`.
    case pattern(String)
    /// `| unpack`: Promtail's `pack` stage reversed.
    case unpack
    /// `| line_format "{{.label}}"`: a Go template.
    case lineFormat(String)
    /// `| label_format dst=src, dst2="{{template}}"`.
    case labelFormat([LabelFormatOperation])
    /// `| status >= 500 and level="error"`.
    case labelFilter(LabelFilterExpression)
    /// `| decolorize`: strips ANSI colour sequences from the line.
    case decolorize
    /// `| drop a, b="x"`: removes labels (matching labels only, when a matcher is given).
    case drop([LabelSelection])
    /// `| keep a, b="x"`: removes every other label (stream labels included).
    case keep([LabelSelection])
}

/// `name` or `name="expression"` in `json` and `logfmt` parameters.
public struct ExtractionParameter: Sendable, Equatable {
    public var label: String
    /// The field to read; nil means the label's own name.
    public var expression: String?

    public init(label: String, expression: String? = nil) {
        self.label = label
        self.expression = expression
    }
}

/// One operation of `label_format`.
public enum LabelFormatOperation: Sendable, Equatable {
    /// `dst=src`: renames `src` to `dst`.
    case rename(destination: String, source: String)
    /// `dst="{{template}}"`: sets `dst` to the template's output.
    case template(destination: String, template: String)

    public var destination: String {
        switch self {
        case .rename(let destination, _), .template(let destination, _): destination
        }
    }
}

/// An item of `drop` or `keep`: a label name, or a matcher the label's value must pass.
public enum LabelSelection: Sendable, Equatable {
    case name(String)
    case matcher(LabelMatcher)
}

/// A label filter expression; `and` binds tighter than `or`, as in Loki.
public indirect enum LabelFilterExpression: Sendable, Equatable {
    case and(LabelFilterExpression, LabelFilterExpression)
    case or(LabelFilterExpression, LabelFilterExpression)
    /// `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.
    case string(LabelMatcher)
    /// `name > 1.5`, `name == 200`.
    case number(name: String, LabelComparison, Double)
    /// `name > 250ms` (nanoseconds).
    case duration(name: String, LabelComparison, Int64)
    /// `name > 20KB` (bytes).
    case bytes(name: String, LabelComparison, UInt64)
    /// `name = ip("10.0.0.0/8")`, `name != ip(…)`.
    case ip(name: String, equal: Bool, pattern: String)
}

/// Numeric comparisons of label filters. `=` and `==` are the same test.
public enum LabelComparison: String, Sendable, Equatable {
    case equal = "=="
    case notEqual = "!="
    case greater = ">"
    case greaterOrEqual = ">="
    case less = "<"
    case lessOrEqual = "<="

    @inline(__always)
    public func holds<T: Comparable>(_ value: T, _ bound: T) -> Bool {
        switch self {
        case .equal: value == bound
        case .notEqual: value != bound
        case .greater: value > bound
        case .greaterOrEqual: value >= bound
        case .less: value < bound
        case .lessOrEqual: value <= bound
        }
    }
}

// MARK: Metric queries

/// An expression that yields samples.
public indirect enum SampleExpression: Sendable, Equatable {
    /// `count_over_time({…}[5m])`, `sum_over_time({…} | unwrap x [5m]) by (a)`.
    case range(RangeAggregation)
    /// `sum by (a) (…)`, `topk(5, …)`.
    case vector(VectorAggregation)
    /// `a + b`, `a > bool 3`, `a and on (x) b`.
    case binary(BinaryOperation)
    /// `3`, `-1.5`: a scalar.
    case literal(Double)
    /// `vector(1)`: a vector of one sample without labels.
    case vectorLiteral(Double)
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    case labelReplace(LabelReplace)
}

/// A range aggregation over a log query: `rate({…}[1m])`.
public struct RangeAggregation: Sendable, Equatable {
    public enum Operation: String, Sendable, Equatable, CaseIterable {
        case countOverTime = "count_over_time"
        case rate
        case bytesOverTime = "bytes_over_time"
        case bytesRate = "bytes_rate"
        case absentOverTime = "absent_over_time"
        case rateCounter = "rate_counter"
        case sumOverTime = "sum_over_time"
        case avgOverTime = "avg_over_time"
        case minOverTime = "min_over_time"
        case maxOverTime = "max_over_time"
        case stdvarOverTime = "stdvar_over_time"
        case stddevOverTime = "stddev_over_time"
        case quantileOverTime = "quantile_over_time"
        case firstOverTime = "first_over_time"
        case lastOverTime = "last_over_time"

        /// Operations that read an unwrapped value rather than counting lines or bytes.
        public var needsUnwrap: Bool {
            switch self {
            case .countOverTime, .rate, .bytesOverTime, .bytesRate, .absentOverTime: false
            default: true
            }
        }
    }

    public var operation: Operation
    public var log: LogExpression
    /// The range, nanoseconds.
    public var range: Int64
    /// `offset 5m`, nanoseconds (0 when absent).
    public var offset: Int64
    public var unwrap: Unwrap?
    /// `by (…)` / `without (…)` after the aggregation (allowed on unwrapped aggregations except `rate`-like ones).
    public var grouping: Grouping?
    /// The φ of `quantile_over_time(φ, …)`.
    public var parameter: Double?

    public init(operation: Operation, log: LogExpression, range: Int64, offset: Int64 = 0, unwrap: Unwrap? = nil,
                grouping: Grouping? = nil, parameter: Double? = nil) {
        self.operation = operation
        self.log = log
        self.range = range
        self.offset = offset
        self.unwrap = unwrap
        self.grouping = grouping
        self.parameter = parameter
    }
}

/// `| unwrap latency`, `| unwrap duration(latency)`, `| unwrap bytes(size)`, with label filters after it.
public struct Unwrap: Sendable, Equatable {
    public enum Conversion: String, Sendable, Equatable {
        case none = ""
        case duration
        case durationSeconds = "duration_seconds"
        case bytes
    }

    public var label: String
    public var conversion: Conversion
    /// Label filters written after the unwrap (`| unwrap x | __error__=""`).
    public var filters: [LabelFilterExpression]

    public init(label: String, conversion: Conversion = .none, filters: [LabelFilterExpression] = []) {
        self.label = label
        self.conversion = conversion
        self.filters = filters
    }
}

/// `by (a, b)` or `without (a, b)`.
public struct Grouping: Sendable, Equatable {
    public var without: Bool
    public var labels: [String]

    public init(without: Bool, labels: [String]) {
        self.without = without
        self.labels = labels
    }
}

/// `sum by (a) (expr)`, `topk(3, expr)`.
public struct VectorAggregation: Sendable, Equatable {
    public enum Operation: String, Sendable, Equatable, CaseIterable {
        case sum, avg, min, max, count, stddev, stdvar, topk, bottomk, sort
        case sortDesc = "sort_desc"
    }

    public var operation: Operation
    public var grouping: Grouping?
    /// The k of `topk` and `bottomk`.
    public var parameter: Int?
    public var inner: SampleExpression

    public init(operation: Operation, grouping: Grouping? = nil, parameter: Int? = nil, inner: SampleExpression) {
        self.operation = operation
        self.grouping = grouping
        self.parameter = parameter
        self.inner = inner
    }
}

/// A binary operation between two sample expressions.
public struct BinaryOperation: Sendable, Equatable {
    public enum Operator: String, Sendable, Equatable {
        case or, and, unless
        case add = "+"
        case subtract = "-"
        case multiply = "*"
        case divide = "/"
        case modulo = "%"
        case power = "^"
        case equal = "=="
        case notEqual = "!="
        case greater = ">"
        case greaterOrEqual = ">="
        case less = "<"
        case lessOrEqual = "<="

        public var isComparison: Bool {
            switch self {
            case .equal, .notEqual, .greater, .greaterOrEqual, .less, .lessOrEqual: true
            default: false
            }
        }

        public var isSetOperator: Bool { self == .and || self == .or || self == .unless }

        /// Go's operator precedence as Loki's grammar sets it; higher binds tighter.
        var precedence: Int {
            switch self {
            case .or: 1
            case .and, .unless: 2
            case .equal, .notEqual, .greater, .greaterOrEqual, .less, .lessOrEqual: 3
            case .add, .subtract: 4
            case .multiply, .divide, .modulo: 5
            case .power: 6
            }
        }
    }

    public var op: Operator
    public var lhs: SampleExpression
    public var rhs: SampleExpression
    /// `bool` after a comparison operator: 0/1 samples instead of filtering.
    public var returnBool: Bool
    public var matching: VectorMatching?

    public init(op: Operator, lhs: SampleExpression, rhs: SampleExpression, returnBool: Bool = false,
                matching: VectorMatching? = nil) {
        self.op = op
        self.lhs = lhs
        self.rhs = rhs
        self.returnBool = returnBool
        self.matching = matching
    }
}

/// `on (a)` / `ignoring (a)` with `group_left (b)` / `group_right (b)`.
public struct VectorMatching: Sendable, Equatable {
    public enum Cardinality: Sendable, Equatable {
        case oneToOne
        /// `group_left (include)`: many on the left, one on the right.
        case manyToOne([String])
        /// `group_right (include)`.
        case oneToMany([String])
    }

    /// True for `on`, false for `ignoring`.
    public var on: Bool
    public var labels: [String]
    public var cardinality: Cardinality

    public init(on: Bool, labels: [String], cardinality: Cardinality = .oneToOne) {
        self.on = on
        self.labels = labels
        self.cardinality = cardinality
    }
}

/// `label_replace(inner, "dst", "replacement", "src", "regex")`; the regex is anchored, as Prometheus'.
public struct LabelReplace: Sendable, Equatable {
    public var inner: SampleExpression
    public var destination: String
    public var replacement: String
    public var source: String
    public var regex: String

    public init(inner: SampleExpression, destination: String, replacement: String, source: String, regex: String) {
        self.inner = inner
        self.destination = destination
        self.replacement = replacement
        self.source = source
        self.regex = regex
    }
}
