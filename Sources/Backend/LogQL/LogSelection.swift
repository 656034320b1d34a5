/// A parsed log query of the kind Estuary runs: a stream selector and line filters,
/// `{app="api", env=~"prod|staging"} |= "error" != "timeout" |~ "status=5.."`.
///
/// Anything else Loki accepts (log pipeline stages such as `| json`, pattern filters, metric queries such as
/// `rate(...)`) is rejected with a `LogQLError` of kind `.unsupported`; text Loki would reject gets Loki's own
/// syntax error, line and column.
struct LogSelection: Sendable {
    var matchers: [LabelMatcher]
    var lineFilters: LineFilterChain

    /// Loki's `maxInputSize`: longer queries are refused before parsing.
    static let maximumQueryBytes = 5120

    static func parse(_ query: String) throws(LogQLError) -> LogSelection {
        let size = query.utf8.count
        guard size < maximumQueryBytes else {
            throw LogQLError(line: 0, column: 0, message: "input size too long (\(size) > \(maximumQueryBytes))")
        }
        var parser = LogQLParser(query)
        let selection = try parser.parse()
        // Loki's `validateMatchers`: something must narrow the streams down.
        guard selection.matchers.contains(where: { !$0.matches("") }) else {
            throw LogQLError(line: 0, column: 0, message: LogQLError.emptyCompatibleMatchers)
        }
        return selection
    }
}

/// Recursive descent over the part of Loki's grammar (`syntax.y`) Estuary runs. Each state throws the message
/// Loki's goyacc parser produces in the same state (the expected-token lists come from Loki's parse tables).
private struct LogQLParser {
    private var lexer: LogQLLexer
    private var lookahead: LogQLToken?

    init(_ query: String) {
        lexer = LogQLLexer(query)
    }

    private mutating func next() throws(LogQLError) -> LogQLToken {
        if let token = lookahead {
            lookahead = nil
            return token
        }
        return try lexer.next()
    }

    private mutating func peek() throws(LogQLError) -> LogQLToken {
        if let token = lookahead { return token }
        let token = try lexer.next()
        lookahead = token
        return token
    }

    mutating func parse() throws(LogQLError) -> LogSelection {
        let first = try next()
        guard first.isSymbol("{") else {
            if Self.startsMetricQuery(first) {
                throw unsupported(first, "metric queries (\(Self.quoted(first)) ...) are not supported yet")
            }
            throw syntaxError(first)
        }
        let matchers = try parseMatchers()
        let filters = try parsePipeline()
        return LogSelection(matchers: matchers, lineFilters: LineFilterChain(filters))
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
            let operation = try next()
            let kind: LabelMatcher.Kind
            switch (operation.kind, operation.text) {
            case (.symbol, "="): kind = .equal
            case (.symbol, "!="): kind = .notEqual
            case (.symbol, "=~"): kind = .regex
            case (.symbol, "!~"): kind = .notRegex
            default: throw syntaxError(operation, expecting: "= or =~ or !~ or !=")
            }
            let value = try next()
            guard value.kind == .string else { throw syntaxError(value, expecting: "STRING") }
            do {
                matchers.append(try LabelMatcher(name: name, kind: kind, value: String(decoding: value.value, as: UTF8.self)))
            } catch let error as LogQLError {
                throw error
            } catch {
                preconditionFailure("LabelMatcher.init throws LogQLError only")
            }
            let separator = try next()
            if separator.isSymbol("}") { return matchers }
            guard separator.isSymbol(",") else { throw syntaxError(separator, expecting: "} or ,") }
            token = try next()
        }
    }

    // MARK: Pipeline

    private mutating func parsePipeline() throws(LogQLError) -> [LineFilter] {
        var filters: [LineFilter] = []
        while true {
            let token = try next()
            switch (token.kind, token.text) {
            case (.end, _):
                return filters
            case (.symbol, "|="), (.symbol, "!="), (.symbol, "|~"), (.symbol, "!~"):
                filters.append(try parseLineFilter(token))
            case (.symbol, "|>"), (.symbol, "!>"):
                throw unsupported(token, "pattern line filters (\(token.text) \"<pattern>\") are not supported yet")
            case (.symbol, "|"):
                let stage = try next()
                switch stage.kind {
                case .keyword where Self.pipelineStages.contains(stage.text):
                    throw unsupported(token, "the log pipeline stage | \(stage.text) is not supported yet")
                case .identifier, .string:
                    throw unsupported(token, "label filter expressions (| \(stage.text) ...) are not supported yet")
                case .symbol where stage.text == "(":
                    throw unsupported(token, "label filter expressions (| ( ... )) are not supported yet")
                default:
                    throw syntaxError(stage)
                }
            case (.keyword, "or"), (.keyword, "and"), (.keyword, "unless"):
                throw unsupported(token, "binary operations (\(token.text)) are not supported yet")
            case (.symbol, let symbol) where Self.binaryOperators.contains(symbol):
                throw unsupported(token, "binary operations (\(symbol)) are not supported yet")
            default:
                throw syntaxError(token)
            }
        }
    }

    /// After `|=`, `!=`, `|~` or `!~`: the operand and any `or "alternative"`.
    private mutating func parseLineFilter(_ operation: LogQLToken) throws(LogQLError) -> LineFilter {
        let kind: LineFilter.Kind
        switch operation.text {
        case "|=": kind = .contains
        case "!=": kind = .notContains
        case "|~": kind = .regex
        default: kind = .notRegex
        }
        var patterns: [String] = []
        var bytes: [[UInt8]] = []
        while true {
            let operand = try next()
            if operand.text == "ip" && (operand.kind == .function || operand.kind == .keyword) {
                throw unsupported(operand, "ip(\"...\") line filters are not supported yet")
            }
            guard operand.kind == .string else { throw syntaxError(operand, expecting: "STRING or ip") }
            patterns.append(String(decoding: operand.value, as: UTF8.self))
            bytes.append(operand.value)
            guard try peek().isKeyword("or") else { break }
            _ = try next()
        }
        return try LineFilter(kind, patterns: patterns, bytes: bytes)
    }

    // MARK: Errors

    private func syntaxError(_ token: LogQLToken, expecting: String? = nil) -> LogQLError {
        var message = "syntax error: unexpected \(token.yaccName)"
        if let expecting { message += ", expecting \(expecting)" }
        return LogQLError(line: token.line, column: token.column, message: message)
    }

    private func unsupported(_ token: LogQLToken, _ what: String) -> LogQLError {
        LogQLError(line: token.line, column: token.column, message: what + Self.supportedSummary, kind: .unsupported)
    }

    private static let supportedSummary =
        "; Estuary runs log queries made of a stream selector and line filters (|=, !=, |~, !~)"

    private static func quoted(_ token: LogQLToken) -> String {
        token.kind == .function ? "\(token.text)(" : token.text
    }

    /// Tokens that can start a metric query in Loki's grammar.
    private static func startsMetricQuery(_ token: LogQLToken) -> Bool {
        switch token.kind {
        case .function, .number: true
        case .keyword: token.text == "label_replace" || token.text == "variants"
        case .symbol: token.text == "(" || token.text == "+" || token.text == "-"
        default: false
        }
    }

    private static let pipelineStages: Set<String> = [
        "json", "logfmt", "regexp", "unpack", "pattern", "line_format", "label_format", "decolorize", "drop", "keep",
    ]

    private static let binaryOperators: Set<String> = ["==", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^"]
}
