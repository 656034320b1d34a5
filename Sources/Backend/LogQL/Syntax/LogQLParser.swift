import GoCompat
import Wire

/// Recursive descent over Loki's LogQL grammar (`pkg/logql/syntax/syntax.y`), producing a `LogQLExpression`.
///
/// Errors carry Loki's wording where goyacc's messages are simple to reproduce (`syntax error: unexpected X,
/// expecting Y` with the expected tokens of Loki's parse tables for the common states), the line and column of the
/// offending token, and Loki's semantic errors (`invalid aggregation sum_over_time without unwrap`, ...) without a
/// position, as Loki reports them.
public struct LogQLParser {
    /// Loki's `maxInputSize`: longer queries are refused before parsing.
    public static let maximumQueryBytes = 5120

    private var lexer: LogQLLexer
    private var lookahead: [LogQLToken] = []

    private init(_ query: String) {
        lexer = LogQLLexer(query)
    }

    /// Parses and validates a whole query.
    public static func parse(_ query: String) throws(LogQLError) -> LogQLExpression {
        let size = query.utf8.count
        guard size < maximumQueryBytes else {
            throw LogQLError(line: 0, column: 0, message: "input size too long (\(size) > \(maximumQueryBytes))")
        }
        var parser = LogQLParser(query)
        let expression = try parser.parseExpression(minimumPrecedence: 0)
        let end = try parser.next()
        guard end.kind == .end else { throw parser.syntaxError(end) }
        return try LogQLValidation.validate(expression)
    }

    // MARK: Tokens

    private mutating func next() throws(LogQLError) -> LogQLToken {
        if !lookahead.isEmpty { return lookahead.removeFirst() }
        return try lexer.next()
    }

    private mutating func peek(_ offset: Int = 0) throws(LogQLError) -> LogQLToken {
        while lookahead.count <= offset { lookahead.append(try lexer.next()) }
        return lookahead[offset]
    }

    private mutating func expectSymbol(_ symbol: String, expecting: String? = nil) throws(LogQLError) {
        let token = try next()
        guard token.isSymbol(symbol) else { throw syntaxError(token, expecting: expecting ?? symbol) }
    }

    private mutating func expectString(expecting: String = "STRING") throws(LogQLError) -> (String, LogQLToken) {
        let token = try next()
        guard token.kind == .string else { throw syntaxError(token, expecting: expecting) }
        return (String(decoding: token.value, as: UTF8.self), token)
    }

    private mutating func expectIdentifier(expecting: String = "IDENTIFIER") throws(LogQLError) -> String {
        let token = try next()
        guard token.kind == .identifier else { throw syntaxError(token, expecting: expecting) }
        return token.text
    }

    // MARK: Expressions

    /// Binary operators by precedence climbing; `^` is right-associative, the rest left.
    private mutating func parseExpression(minimumPrecedence: Int) throws(LogQLError) -> LogQLExpression {
        var lhs = try parseUnary()
        while true {
            let token = try peek()
            guard let op = Self.binaryOperator(token), op.precedence >= minimumPrecedence else { return lhs }
            _ = try next()
            var returnBool = false
            if try peek().isKeyword("bool") {
                _ = try next()
                returnBool = true
            }
            var matching: VectorMatching?
            let modifier = try peek()
            if modifier.isKeyword("on") || modifier.isKeyword("ignoring") {
                _ = try next()
                let labels = try parseLabelList()
                var cardinality = VectorMatching.Cardinality.oneToOne
                let group = try peek()
                if group.isKeyword("group_left") || group.isKeyword("group_right") {
                    _ = try next()
                    var include: [String] = []
                    if try peek().isSymbol("(") { include = try parseLabelList() }
                    cardinality = group.text == "group_left" ? .manyToOne(include) : .oneToMany(include)
                }
                matching = VectorMatching(on: modifier.text == "on", labels: labels, cardinality: cardinality)
            }
            let rhs = try parseExpression(minimumPrecedence: op == .power ? op.precedence : op.precedence + 1)
            lhs = .sample(try Self.binary(op, lhs, rhs, returnBool: returnBool, matching: matching, at: token))
        }
    }

    private static func binaryOperator(_ token: LogQLToken) -> BinaryOperation.Operator? {
        switch token.kind {
        case .keyword:
            switch token.text {
            case "or": return .or
            case "and": return .and
            case "unless": return .unless
            default: return nil
            }
        case .symbol:
            return BinaryOperation.Operator(rawValue: token.text)
        default:
            return nil
        }
    }

    /// Loki's `mustNewBinOpExpr`: both legs must be sample expressions; two literals fold into one.
    private static func binary(
        _ op: BinaryOperation.Operator, _ lhs: LogQLExpression, _ rhs: LogQLExpression, returnBool: Bool,
        matching: VectorMatching?, at token: LogQLToken
    ) throws(LogQLError) -> SampleExpression {
        guard case .sample(let left) = lhs else {
            throw LogQLError(line: token.line, column: token.column,
                             message: "unexpected type for left leg of binary operation (\(op.rawValue)): *syntax.MatchersExpr")
        }
        guard case .sample(let right) = rhs else {
            throw LogQLError(line: token.line, column: token.column,
                             message: "unexpected type for right leg of binary operation (\(op.rawValue)): *syntax.MatchersExpr")
        }
        if case .literal(let a) = left, case .literal(let b) = right {
            if op.isSetOperator {
                throw LogQLError(line: 0, column: 0,
                                 message: "operator \"\(op.rawValue)\" not allowed in binary scalar expression")
            }
            if op.isComparison && !returnBool {
                throw LogQLError(line: 0, column: 0, message: "comparisons between scalars must use BOOL modifier")
            }
            return .literal(ScalarArithmetic.apply(op, a, b, returnBool: returnBool) ?? .nan)
        }
        return .binary(BinaryOperation(op: op, lhs: left, rhs: right, returnBool: returnBool, matching: matching))
    }

    /// A literal with its sign, a parenthesised expression, a selector, or a function.
    private mutating func parseUnary() throws(LogQLError) -> LogQLExpression {
        let token = try next()
        switch token.kind {
        case .number:
            return .sample(.literal(try Self.number(token)))
        case .symbol where token.text == "+" || token.text == "-":
            let operand = try next()
            guard operand.kind == .number else { throw syntaxError(operand, expecting: "NUMBER") }
            let value = try Self.number(operand)
            return .sample(.literal(token.text == "-" ? -value : value))
        case .symbol where token.text == "(":
            let inner = try parseExpression(minimumPrecedence: 0)
            try expectSymbol(")")
            return inner
        case .symbol where token.text == "{":
            let matchers = try parseMatchers()
            let stages = try parsePipeline(allowUnwrap: false).stages
            return .log(LogExpression(matchers: matchers, stages: stages))
        case .function:
            return .sample(try parseFunction(token))
        case .keyword where token.text == "label_replace":
            return .sample(try parseLabelReplace())
        default:
            throw syntaxError(token)
        }
    }

    private static func number(_ token: LogQLToken) throws(LogQLError) -> Double {
        let text = token.text.replacingOccurrences(of: "_", with: "")
        if text.hasPrefix("0x") || text.hasPrefix("0X"), let value = UInt64(text.dropFirst(2), radix: 16) {
            return Double(value)
        }
        guard let value = Double(text) else {
            throw LogQLError(line: token.line, column: token.column, message: "invalid number \(token.text)")
        }
        return value
    }

    private mutating func parseFunction(_ token: LogQLToken) throws(LogQLError) -> SampleExpression {
        if let op = RangeAggregation.Operation(rawValue: token.text) {
            return try parseRangeAggregation(op)
        }
        if let op = VectorAggregation.Operation(rawValue: token.text) {
            return try parseVectorAggregation(op)
        }
        switch token.text {
        case "vector":
            try expectSymbol("(")
            let value = try next()
            guard value.kind == .number else { throw syntaxError(value, expecting: "NUMBER") }
            let number = try Self.number(value)
            try expectSymbol(")")
            return .vectorLiteral(number)
        case "label_replace":
            return try parseLabelReplace()
        case "approx_topk":
            throw LogQLError(line: token.line, column: token.column,
                             message: "approx_topk is only supported with probabilistic query sharding, which Estuary does not run",
                             kind: .unsupported)
        default:
            throw syntaxError(token)
        }
    }

    /// `op ( [φ ,] logRange ) [grouping]`.
    private mutating func parseRangeAggregation(_ op: RangeAggregation.Operation) throws(LogQLError) -> SampleExpression {
        try expectSymbol("(")
        var parameter: Double?
        let first = try peek()
        let second = try peek(1)
        if first.kind == .number || (first.isSymbol("-") || first.isSymbol("+")) && second.kind == .number {
            _ = try next()
            var value: Double
            if first.kind == .number {
                value = try Self.number(first)
            } else {
                value = try Self.number(try next())
                if first.text == "-" { value = -value }
            }
            parameter = value
            try expectSymbol(",")
        }
        var aggregation = try parseLogRange(op)
        aggregation.parameter = parameter
        try expectSymbol(")")
        if try startsGrouping() { aggregation.grouping = try parseGrouping() }
        return .range(aggregation)
    }

    /// The log range of a range aggregation, in any of the orders Loki's grammar accepts:
    /// `{…} | stages [5m]`, `{…}[5m] | unwrap x`, `({…} | stages)[5m]`, with `offset` after the range.
    private mutating func parseLogRange(_ op: RangeAggregation.Operation) throws(LogQLError) -> RangeAggregation {
        var parenthesised = false
        if try peek().isSymbol("(") {
            _ = try next()
            parenthesised = true
        }
        let open = try next()
        guard open.isSymbol("{") else { throw syntaxError(open, expecting: "{") }
        let matchers = try parseMatchers()
        var stages: [PipelineStage] = []
        var unwrap: Unwrap?
        var range: Int64?
        if !parenthesised, try peek().kind == .range {
            range = try parseRange()
        }
        let pipeline = try parsePipeline(allowUnwrap: true)
        if range != nil, !pipeline.stages.isEmpty { throw syntaxError(try peek()) }
        stages = pipeline.stages
        unwrap = pipeline.unwrap
        if parenthesised { try expectSymbol(")") }
        if range == nil {
            let token = try peek()
            guard token.kind == .range else { throw syntaxError(token, expecting: "RANGE") }
            range = try parseRange()
        }
        var offset: Int64 = 0
        if try peek().isKeyword("offset") {
            _ = try next()
            let token = try next()
            guard token.kind == .duration, let value = LogQLDurations.nanoseconds(token.text) else {
                throw syntaxError(token, expecting: "DURATION")
            }
            offset = value
        }
        return RangeAggregation(operation: op, log: LogExpression(matchers: matchers, stages: stages),
                                range: range ?? 0, offset: offset, unwrap: unwrap)
    }

    private mutating func parseRange() throws(LogQLError) -> Int64 {
        let token = try next()
        let body = String(token.text.dropFirst().dropLast())
        guard let value = LogQLDurations.prometheusNanoseconds(body) else {
            throw LogQLError(line: token.line, column: token.column, message: "not a valid duration string: \"\(body)\"")
        }
        return value
    }

    /// `op [grouping] ( [k ,] expr ) [grouping]`.
    private mutating func parseVectorAggregation(_ op: VectorAggregation.Operation) throws(LogQLError) -> SampleExpression {
        var grouping: Grouping?
        if try startsGrouping() { grouping = try parseGrouping() }
        try expectSymbol("(")
        var parameter: Int?
        if try peek().kind == .number, try peek(1).isSymbol(",") {
            let token = try next()
            let value = try Self.number(token)
            guard value.rounded() == value, abs(value) < 1e15 else {
                throw LogQLError(line: 0, column: 0,
                                 message: "invalid parameter (must be an integer) for \(op.rawValue): \(token.text)")
            }
            parameter = Int(value)
            _ = try next()
        }
        let inner = try parseExpression(minimumPrecedence: 0)
        try expectSymbol(")")
        if grouping == nil, try startsGrouping() { grouping = try parseGrouping() }
        guard case .sample(let sample) = inner else {
            throw LogQLError(line: 0, column: 0, message: "unexpected type for vector aggregation (\(op.rawValue)): *syntax.MatchersExpr")
        }
        return .vector(VectorAggregation(operation: op, grouping: grouping, parameter: parameter, inner: sample))
    }

    private mutating func startsGrouping() throws(LogQLError) -> Bool {
        let token = try peek()
        return token.isKeyword("by") || token.isKeyword("without")
    }

    private mutating func parseGrouping() throws(LogQLError) -> Grouping {
        let keyword = try next()
        return Grouping(without: keyword.text == "without", labels: try parseLabelList())
    }

    /// `( a, b )` or `( )`.
    private mutating func parseLabelList() throws(LogQLError) -> [String] {
        try expectSymbol("(")
        var labels: [String] = []
        if try peek().isSymbol(")") {
            _ = try next()
            return labels
        }
        while true {
            labels.append(try expectIdentifier())
            let separator = try next()
            if separator.isSymbol(")") { return labels }
            guard separator.isSymbol(",") else { throw syntaxError(separator, expecting: ", or )") }
        }
    }

    private mutating func parseLabelReplace() throws(LogQLError) -> SampleExpression {
        try expectSymbol("(")
        let inner = try parseExpression(minimumPrecedence: 0)
        guard case .sample(let sample) = inner else {
            throw LogQLError(line: 0, column: 0, message: "unexpected type for label_replace: *syntax.MatchersExpr")
        }
        var strings: [String] = []
        for _ in 0..<4 {
            try expectSymbol(",")
            strings.append(try expectString().0)
        }
        try expectSymbol(")")
        do throws(RE2Error) {
            _ = try AnchoredRegex(strings[3], dotMatchesNewline: true)
        } catch {
            throw LogQLError(line: 0, column: 0, message: "invalid regex in label_replace: \(error.description)")
        }
        guard LabelNames.isValid(strings[0]) else {
            throw LogQLError(line: 0, column: 0, message: "invalid destination label name in label_replace(): \(strings[0])")
        }
        return .labelReplace(LabelReplace(inner: sample, destination: strings[0], replacement: strings[1],
                                          source: strings[2], regex: strings[3]))
    }

    // MARK: Selector

    /// After `{`, through `}`.
    private mutating func parseMatchers() throws(LogQLError) -> [LabelMatcher] {
        var matchers: [LabelMatcher] = []
        var token = try next()
        if token.isSymbol("}") { return matchers }
        while true {
            guard token.kind == .identifier || token.kind == .string else {
                throw syntaxError(token, expecting: matchers.isEmpty ? "IDENTIFIER or STRING or }" : "IDENTIFIER or STRING")
            }
            let name = token.kind == .string ? String(decoding: token.value, as: UTF8.self) : token.text
            matchers.append(try parseMatcher(name: name))
            let separator = try next()
            if separator.isSymbol("}") { return matchers }
            guard separator.isSymbol(",") else { throw syntaxError(separator, expecting: "} or ,") }
            token = try next()
        }
    }

    /// After a label name: the operator and the quoted value.
    private mutating func parseMatcher(name: String) throws(LogQLError) -> LabelMatcher {
        let operation = try next()
        guard operation.kind == .symbol, let kind = LabelMatcher.Kind(rawValue: operation.text) else {
            throw syntaxError(operation, expecting: "= or =~ or !~ or !=")
        }
        let value = try next()
        guard value.kind == .string else { throw syntaxError(value, expecting: "STRING") }
        return try Self.matcher(name, kind, String(decoding: value.value, as: UTF8.self))
    }

    private static func matcher(_ name: String, _ kind: LabelMatcher.Kind, _ value: String) throws(LogQLError) -> LabelMatcher {
        do {
            return try LabelMatcher(name: name, kind: kind, value: value)
        } catch let error as LogQLError {
            throw error
        } catch {
            preconditionFailure("LabelMatcher.init throws LogQLError only")
        }
    }

    // MARK: Pipeline

    /// Stages until something that is not one (`)`, `[5m]`, a binary operator, the end); in a range aggregation
    /// also `| unwrap …` and the label filters after it.
    private mutating func parsePipeline(allowUnwrap: Bool) throws(LogQLError) -> (stages: [PipelineStage], unwrap: Unwrap?) {
        var stages: [PipelineStage] = []
        var unwrap: Unwrap?
        var filters: [LineFilter] = []
        func flushFilters() {
            if !filters.isEmpty {
                stages.append(.lineFilters(filters))
                filters = []
            }
        }
        while true {
            let token = try peek()
            if token.kind == .symbol, let kind = LineFilter.Kind(rawValue: token.text) {
                // `!=` after a metric expression is a comparison, but a pipeline only follows a selector.
                guard unwrap == nil else { throw syntaxError(token) }
                _ = try next()
                filters.append(try parseLineFilter(kind))
                continue
            }
            guard token.isSymbol("|") else { break }
            _ = try next()
            flushFilters()
            let stage = try peek()
            if unwrap != nil {
                // After `unwrap` only label filters may follow.
                guard stage.kind == .identifier || stage.isSymbol("(") else { throw syntaxError(stage) }
                unwrap?.filters.append(try parseLabelFilter())
                continue
            }
            if stage.isKeyword("unwrap") {
                guard allowUnwrap else { throw syntaxError(stage) }
                _ = try next()
                unwrap = try parseUnwrap()
                continue
            }
            stages.append(try parseStage())
        }
        flushFilters()
        return (stages, unwrap)
    }

    /// After `|=`, `!=`, `|~`, `!~`, `|>` or `!>`: the operand and any `or "alternative"`.
    private mutating func parseLineFilter(_ kind: LineFilter.Kind) throws(LogQLError) -> LineFilter {
        var operands: [LineFilter.Operand] = []
        while true {
            let operand = try next()
            if operand.text == "ip" && (operand.kind == .function || operand.kind == .keyword) {
                try expectSymbol("(")
                operands.append(.ip(try expectString().0))
                try expectSymbol(")")
            } else {
                guard operand.kind == .string else { throw syntaxError(operand, expecting: "STRING or ip") }
                operands.append(.text(operand.value))
            }
            // `or` after a line filter always starts an alternative, as Loki's grammar shifts it.
            guard try peek().isKeyword("or") else { break }
            _ = try next()
        }
        return try LineFilter(kind, operands: operands)
    }

    private mutating func parseUnwrap() throws(LogQLError) -> Unwrap {
        let token = try next()
        switch token.kind {
        case .identifier:
            return Unwrap(label: token.text)
        case .function where ["bytes", "duration", "duration_seconds"].contains(token.text):
            try expectSymbol("(")
            let label = try expectIdentifier()
            try expectSymbol(")")
            return Unwrap(label: label, conversion: Unwrap.Conversion(rawValue: token.text) ?? .none)
        default:
            throw syntaxError(token, expecting: "IDENTIFIER or BYTES_CONV or DURATION_CONV or DURATION_SECONDS_CONV")
        }
    }

    /// After `|`: a parser, formatter, label filter, `drop`, `keep` or `decolorize`.
    private mutating func parseStage() throws(LogQLError) -> PipelineStage {
        let token = try peek()
        switch (token.kind, token.text) {
        case (.keyword, "json"):
            _ = try next()
            return .json(try parseExtractionParameters())
        case (.keyword, "logfmt"):
            _ = try next()
            var strict = false
            var keepEmpty = false
            while try peek().kind == .flag {
                let flag = try next()
                if flag.text == "--strict" { strict = true } else { keepEmpty = true }
            }
            return .logfmt(strict: strict, keepEmpty: keepEmpty, try parseExtractionParameters())
        case (.keyword, "regexp"):
            _ = try next()
            return .regexp(try expectString().0)
        case (.keyword, "pattern"):
            _ = try next()
            return .pattern(try expectString().0)
        case (.keyword, "unpack"):
            _ = try next()
            return .unpack
        case (.keyword, "line_format"):
            _ = try next()
            return .lineFormat(try expectString().0)
        case (.keyword, "decolorize"):
            _ = try next()
            return .decolorize
        case (.keyword, "label_format"):
            _ = try next()
            return .labelFormat(try parseLabelFormat())
        case (.keyword, "drop"), (.keyword, "keep"):
            _ = try next()
            var items: [LabelSelection] = []
            repeat {
                if !items.isEmpty { _ = try next() }
                let name = try expectIdentifier()
                let operation = try peek()
                if operation.kind == .symbol, LabelMatcher.Kind(rawValue: operation.text) != nil {
                    items.append(.matcher(try parseMatcher(name: name)))
                } else {
                    items.append(.name(name))
                }
            } while try peek().isSymbol(",")
            return token.text == "drop" ? .drop(items) : .keep(items)
        case (.identifier, _), (.symbol, "("):
            return .labelFilter(try parseLabelFilter())
        default:
            throw syntaxError(token)
        }
    }

    /// `a="expr", b` after `json` or `logfmt`; none means every field.
    private mutating func parseExtractionParameters() throws(LogQLError) -> [ExtractionParameter] {
        var parameters: [ExtractionParameter] = []
        guard try peek().kind == .identifier else { return parameters }
        while true {
            let label = try expectIdentifier()
            if try peek().isSymbol("=") {
                _ = try next()
                parameters.append(ExtractionParameter(label: label, expression: try expectString().0))
            } else {
                parameters.append(ExtractionParameter(label: label))
            }
            guard try peek().isSymbol(",") else { return parameters }
            _ = try next()
        }
    }

    private mutating func parseLabelFormat() throws(LogQLError) -> [LabelFormatOperation] {
        var operations: [LabelFormatOperation] = []
        while true {
            let destination = try expectIdentifier()
            try expectSymbol("=")
            let source = try next()
            switch source.kind {
            case .identifier:
                operations.append(.rename(destination: destination, source: source.text))
            case .string:
                operations.append(.template(destination: destination,
                                            template: String(decoding: source.value, as: UTF8.self)))
            default:
                throw syntaxError(source, expecting: "IDENTIFIER or STRING")
            }
            guard try peek().isSymbol(",") else { break }
            _ = try next()
        }
        // Loki's `validate`: a label may be the destination of one operation only.
        var seen = Set<String>()
        for operation in operations where !seen.insert(operation.destination).inserted {
            throw LogQLError(line: 0, column: 0,
                             message: "multiple label name '\(operation.destination)' appears in one label_format")
        }
        return operations
    }

    // MARK: Label filters

    /// `or` binds loosest; `and`, `,` and juxtaposition bind tighter.
    private mutating func parseLabelFilter() throws(LogQLError) -> LabelFilterExpression {
        var lhs = try parseLabelFilterConjunction()
        while try peek().isKeyword("or"), try Self.startsLabelFilter(try peek(1)) {
            _ = try next()
            lhs = .or(lhs, try parseLabelFilterConjunction())
        }
        return lhs
    }

    private mutating func parseLabelFilterConjunction() throws(LogQLError) -> LabelFilterExpression {
        var lhs = try parseLabelFilterPrimary()
        while true {
            let token = try peek()
            if token.isKeyword("and") || token.isSymbol(",") {
                guard try Self.startsLabelFilter(try peek(1)) else { return lhs }
                _ = try next()
            } else if !Self.startsLabelFilter(token) {
                return lhs
            }
            lhs = .and(lhs, try parseLabelFilterPrimary())
        }
    }

    private static func startsLabelFilter(_ token: LogQLToken) -> Bool {
        token.kind == .identifier || token.isSymbol("(")
    }

    private mutating func parseLabelFilterPrimary() throws(LogQLError) -> LabelFilterExpression {
        let token = try next()
        if token.isSymbol("(") {
            let inner = try parseLabelFilter()
            try expectSymbol(")")
            return inner
        }
        guard token.kind == .identifier else { throw syntaxError(token, expecting: "IDENTIFIER or (") }
        let name = token.text
        let operation = try next()
        guard operation.kind == .symbol else { throw syntaxError(operation) }
        let value = try peek()
        switch operation.text {
        case "=~", "!~":
            return .string(try parseMatcherValue(name, operation))
        case "=", "!=":
            if value.kind == .string { return .string(try parseMatcherValue(name, operation)) }
            if value.text == "ip", value.kind == .function || value.kind == .keyword {
                _ = try next()
                try expectSymbol("(")
                let pattern = try expectString().0
                try expectSymbol(")")
                return .ip(name: name, equal: operation.text == "=", pattern: pattern)
            }
        case "==", ">", ">=", "<", "<=":
            break
        default:
            throw syntaxError(operation)
        }
        let comparison = LabelComparison(rawValue: operation.text == "=" ? "==" : operation.text) ?? .equal
        let operand = try next()
        switch operand.kind {
        case .duration:
            guard let nanoseconds = LogQLDurations.nanoseconds(operand.text) else { throw syntaxError(operand) }
            return .duration(name: name, comparison, nanoseconds)
        case .bytes:
            guard let bytes = LogQLDurations.bytes(operand.text) else { throw syntaxError(operand) }
            return .bytes(name: name, comparison, bytes)
        case .number:
            return .number(name: name, comparison, try Self.number(operand))
        case .symbol where operand.text == "-" || operand.text == "+":
            let number = try next()
            guard number.kind == .number else { throw syntaxError(number, expecting: "NUMBER") }
            let value = try Self.number(number)
            return .number(name: name, comparison, operand.text == "-" ? -value : value)
        default:
            throw syntaxError(operand, expecting: "STRING or NUMBER or DURATION or BYTES")
        }
    }

    private mutating func parseMatcherValue(_ name: String, _ operation: LogQLToken) throws(LogQLError) -> LabelMatcher {
        let value = try expectString()
        return try Self.matcher(name, LabelMatcher.Kind(rawValue: operation.text) ?? .equal, value.0)
    }

    // MARK: Errors

    fileprivate func syntaxError(_ token: LogQLToken, expecting: String? = nil) -> LogQLError {
        var message = "syntax error: unexpected \(token.yaccName)"
        if let expecting { message += ", expecting \(expecting)" }
        return LogQLError(line: token.line, column: token.column, message: message)
    }
}
