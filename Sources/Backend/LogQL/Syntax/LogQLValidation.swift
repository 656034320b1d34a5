/// Loki's checks of a parsed query that the grammar does not make (`validateSampleExpr`, `rangeAggregationExpr
/// .validate`, `validateMatchers`, `mustNewVectorAggregationExpr`), with Loki's messages and no position, as Loki
/// reports them.
enum LogQLValidation {
    static func validate(_ expression: LogQLExpression) throws(LogQLError) -> LogQLExpression {
        switch expression {
        case .log(let log): try validate(log)
        case .sample(let sample): try validate(sample)
        }
        return expression
    }

    static func validate(_ log: LogExpression) throws(LogQLError) {
        // Something must narrow the streams down.
        guard log.matchers.contains(where: { !$0.matches("") }) else {
            throw error(LogQLError.emptyCompatibleMatchers)
        }
    }

    private static func validate(_ sample: SampleExpression) throws(LogQLError) {
        switch sample {
        case .range(let range):
            try validate(range)
        case .vector(let vector):
            switch vector.operation {
            case .topk, .bottomk:
                guard let k = vector.parameter else {
                    throw error("parameter required for operation \(vector.operation.rawValue)")
                }
                guard k > 0 else {
                    throw error("invalid parameter (must be greater than 0) \(vector.operation.rawValue)(\(k)")
                }
            default:
                if let k = vector.parameter {
                    throw error("unsupported parameter for operation \(vector.operation.rawValue)(\(k),")
                }
            }
            if vector.operation == .sort || vector.operation == .sortDesc, vector.grouping != nil {
                throw error("grouping not allowed for \(vector.operation.rawValue) aggregation")
            }
            try validate(vector.inner)
        case .binary(let binary):
            try validate(binary.lhs)
            try validate(binary.rhs)
            if binary.returnBool, !binary.op.isComparison {
                throw error("bool modifier can only be used on comparison operators")
            }
            if let matching = binary.matching, matching.cardinality != .oneToOne, binary.op.isSetOperator {
                throw error("no grouping allowed for \"\(binary.op.rawValue)\" operation")
            }
        case .labelReplace(let replace):
            try validate(replace.inner)
        case .literal, .vectorLiteral:
            break
        }
    }

    private static func validate(_ range: RangeAggregation) throws(LogQLError) {
        try validate(range.log)
        let name = range.operation.rawValue
        guard range.range > 0 else { throw error("invalid range duration for \(name): must be greater than 0") }
        if range.grouping != nil {
            switch range.operation {
            case .avgOverTime, .stddevOverTime, .stdvarOverTime, .quantileOverTime, .rate, .rateCounter, .maxOverTime,
                 .minOverTime, .firstOverTime, .lastOverTime:
                break
            default:
                throw error("grouping not allowed for \(name) aggregation")
            }
        }
        if range.unwrap != nil {
            switch range.operation {
            case .countOverTime, .bytesOverTime, .bytesRate:
                throw error("invalid aggregation \(name) with unwrap")
            default:
                break
            }
        } else if range.operation.needsUnwrap {
            throw error("invalid aggregation \(name) without unwrap")
        }
        if range.operation == .quantileOverTime {
            guard range.parameter != nil else { throw error("parameter required for operation \(name)") }
        } else if range.parameter != nil {
            throw error("parameter not allowed for operation \(name)")
        }
    }

    private static func error(_ message: String) -> LogQLError {
        LogQLError(line: 0, column: 0, message: message)
    }
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
enum LabelNames {
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 48 && $0 <= 57) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }
}
