import Wire

/// A recursive-descent parser over ``OTTLLexer``'s tokens for the subset of OTTL Estuary runs (see
/// `docs/agent.md`). Functions, paths and argument kinds are checked here, so that a statement that could not run
/// is refused when the configuration loads.
struct OTTLParser {
    private let tokens: [OTTLToken]
    private let context: OTTLContext
    private var position = 0
    private var depth = 0
    /// Nesting deeper than this is refused rather than risking the stack on hostile input.
    static let maximumDepth = 64

    static let editors = [
        "set", "delete_key", "delete_matching_keys", "keep_keys", "keep_matching_keys", "replace_pattern",
        "replace_all_patterns", "merge_maps", "limit", "truncate_all",
    ]
    static let converters = ["ParseJSON", "Concat", "IsMatch", "ConvertCase", "Int", "Double", "String", "SHA256"]

    /// In the `statements` block every path names its context (`log.body`, `resource.attributes[...]`).
    private let requireContextPrefix: Bool
    /// The contexts the paths named, for inferring the block's context.
    private(set) var namedContexts: Set<OTTLContext> = []

    init(tokens: [OTTLToken], context: OTTLContext, requireContextPrefix: Bool = false) {
        self.tokens = tokens
        self.context = context
        self.requireContextPrefix = requireContextPrefix
    }

    // MARK: Statements

    mutating func statement() throws(OTTLSyntaxError) -> (OTTLEditor, OTTLCondition?) {
        let start = current
        guard case .identifier(let name) = start.kind, peek(1).kind == .punct("(") else {
            throw error("a statement starts with an editor call such as set(...)", at: start)
        }
        guard name.first.map({ $0.isLowercase }) == true else {
            throw error("\(name) is a converter, not an editor: a statement starts with an editor such as set(...)",
                        at: start)
        }
        advance()
        let arguments = try callArguments(of: name)
        let editor = try makeEditor(name, arguments, at: start)
        var condition: OTTLCondition?
        if case .identifier("where") = current.kind {
            advance()
            condition = try orCondition()
        }
        guard current.kind == .end else { throw error("unexpected \(describe(current)) after the statement", at: current) }
        return (editor, condition)
    }

    mutating func standaloneCondition() throws(OTTLSyntaxError) -> OTTLCondition {
        let condition = try orCondition()
        guard current.kind == .end else { throw error("unexpected \(describe(current)) after the condition", at: current) }
        return condition
    }

    // MARK: Conditions

    private mutating func orCondition() throws(OTTLSyntaxError) -> OTTLCondition {
        try enter()
        defer { depth -= 1 }
        var left = try andCondition()
        while case .identifier("or") = current.kind {
            advance()
            left = .or(left, try andCondition())
        }
        return left
    }

    private mutating func andCondition() throws(OTTLSyntaxError) -> OTTLCondition {
        var left = try notCondition()
        while case .identifier("and") = current.kind {
            advance()
            left = .and(left, try notCondition())
        }
        return left
    }

    private mutating func notCondition() throws(OTTLSyntaxError) -> OTTLCondition {
        if case .identifier("not") = current.kind {
            advance()
            try enter()
            defer { depth -= 1 }
            return .not(try notCondition())
        }
        if current.kind == .punct("(") {
            advance()
            let inner = try orCondition()
            try expect(")", "to close the parenthesis")
            return inner
        }
        let start = current
        let left = try expression()
        if case .comparison(let comparison) = current.kind {
            advance()
            let right = try expression()
            return .compare(left, comparison, right)
        }
        switch left {
        case .literal(.bool(let flag)): return .constant(flag)
        case .converter(let call): return .converter(call)
        default:
            throw error("expected a comparison (==, !=, <, <=, >, >=) after \(describeExpression(start)); a condition is "
                        + "a comparison, true, false or a converter such as IsMatch(...)", at: current)
        }
    }

    // MARK: Values

    private mutating func expression() throws(OTTLSyntaxError) -> OTTLExpression {
        try enter()
        defer { depth -= 1 }
        let value = try term()
        if case .punct(let mark) = current.kind, "+-*/".contains(mark) {
            throw error("math expressions (\(mark)) are not supported", at: current)
        }
        return value
    }

    private mutating func term() throws(OTTLSyntaxError) -> OTTLExpression {
        let token = current
        switch token.kind {
        case .string(let text):
            advance()
            return .literal(.string(text))
        case .int(let number):
            advance()
            return .literal(.int(number))
        case .float(let number):
            advance()
            return .literal(.double(number))
        case .punct("-"):
            advance()
            switch current.kind {
            case .int(let number):
                advance()
                return .literal(.int(-number))
            case .float(let number):
                advance()
                return .literal(.double(-number))
            default:
                throw error("math expressions (-) are not supported", at: token)
            }
        case .punct("["):
            advance()
            var items: [OTTLExpression] = []
            if current.kind != .punct("]") {
                repeat {
                    items.append(try expression())
                } while consume(",")
            }
            try expect("]", "to close the list")
            return .list(items)
        case .punct("{"):
            advance()
            var entries: [OTTLMapEntry] = []
            if current.kind != .punct("}") {
                repeat {
                    guard case .string(let key) = current.kind else {
                        throw error("a map literal's keys are strings, found \(describe(current))", at: current)
                    }
                    advance()
                    try expect(":", "after a map key")
                    entries.append(OTTLMapEntry(key: key, value: try expression()))
                } while consume(",")
            }
            try expect("}", "to close the map")
            return .map(entries)
        case .identifier(let name):
            switch name {
            case "true", "false":
                advance()
                return .literal(.bool(name == "true"))
            case "nil":
                advance()
                return .literal(nil)
            default: break
            }
            if peek(1).kind == .punct("(") {
                guard name.first.map({ $0.isUppercase }) == true else {
                    throw error("\(name) is an editor: it cannot be used as a value", at: token)
                }
                advance()
                let arguments = try callArguments(of: name)
                let converter = try makeConverter(name, arguments, at: token)
                return .converter(OTTLConverterCall(converter: converter, keys: try keys()))
            }
            if name.first.map({ $0.isUppercase }) == true {
                if Self.converters.contains(name) || name.first.map({ _ in name.contains(where: \.isLowercase) }) == true {
                    throw error("function arguments such as \(name) are not supported; call converters as \(name)(...)",
                                at: token)
                }
                advance()
                guard let number = OTLPSeverity.number(named: name.utf8) else {
                    throw error("unknown enum \(name) (the log context knows SEVERITY_NUMBER_*)", at: token)
                }
                guard context == .log else {
                    throw error("\(name) is an enum of the log context, not of the \(context.rawValue) context", at: token)
                }
                if requireContextPrefix { namedContexts.insert(.log) }
                return .literal(.int(Int64(number)))
            }
            return .path(try path())
        default:
            throw error("expected a value, found \(describe(token))", at: token)
        }
    }

    private mutating func path() throws(OTTLSyntaxError) -> OTTLPath {
        let start = current
        var segments: [String] = []
        repeat {
            guard case .identifier(let name) = current.kind else {
                throw error("expected a path segment after \".\", found \(describe(current))", at: current)
            }
            segments.append(name)
            advance()
        } while consume(".")
        let spelled = segments.joined(separator: ".")
        if requireContextPrefix {
            let named: OTTLContext? = switch segments.first {
            case "log": .log
            case "scope", "instrumentation_scope": .scope
            case "resource": .resource
            default: nil
            }
            guard let named, segments.count > 1 else {
                throw error("path \(spelled) names no context: in the statements block every path starts with log., "
                            + "scope. or resource.", at: start)
            }
            namedContexts.insert(named)
        }
        guard let field = Self.field(segments, context: context) else {
            throw error("unsupported path \(spelled) in the \(context.rawValue) context", at: start)
        }
        let keys = try keys()
        if !keys.isEmpty && !field.isIndexable {
            throw error("\(spelled) cannot be indexed with [...]", at: start)
        }
        return OTTLPath(field: field, keys: keys)
    }

    /// The field `segments` names in `context`, or nil when it is not one Estuary supports there.
    static func field(_ segments: [String], context: OTTLContext) -> OTTLField? {
        var segments = segments[...]
        // Context-prefixed paths (`log.body`, `resource.attributes`) name the same fields.
        if context == .log, segments.first == "log", segments.count > 1 { segments = segments.dropFirst() }
        let field: OTTLField?
        switch Array(segments) {
        case ["resource", "attributes"]: field = .resourceAttributes
        case ["resource", "dropped_attributes_count"]: field = .resourceDroppedAttributesCount
        case ["instrumentation_scope", "name"], ["scope", "name"]: field = .scopeName
        case ["instrumentation_scope", "version"], ["scope", "version"]: field = .scopeVersion
        case ["instrumentation_scope", "attributes"], ["scope", "attributes"]: field = .scopeAttributes
        case ["instrumentation_scope", "dropped_attributes_count"], ["scope", "dropped_attributes_count"]:
            field = .scopeDroppedAttributesCount
        case ["attributes"]:
            field = switch context {
            case .log: .attributes
            case .resource: .resourceAttributes
            case .scope: .scopeAttributes
            }
        case ["dropped_attributes_count"]:
            field = switch context {
            case .log: .droppedAttributesCount
            case .resource: .resourceDroppedAttributesCount
            case .scope: .scopeDroppedAttributesCount
            }
        case ["name"] where context == .scope: field = .scopeName
        case ["version"] where context == .scope: field = .scopeVersion
        case ["body"]: field = .body
        case ["severity_text"]: field = .severityText
        case ["severity_number"]: field = .severityNumber
        case ["time_unix_nano"]: field = .timeUnixNano
        case ["observed_time_unix_nano"]: field = .observedTimeUnixNano
        case ["flags"]: field = .flags
        case ["event_name"]: field = .eventName
        default: field = nil
        }
        guard let field, field.isAvailable(in: context) else { return nil }
        return field
    }

    private mutating func keys() throws(OTTLSyntaxError) -> [OTTLKey] {
        var keys: [OTTLKey] = []
        while consume("[") {
            switch current.kind {
            case .string(let key): keys.append(.string(key))
            case .int(let index): keys.append(.index(index))
            default: throw error("a key is a string or an integer, found \(describe(current))", at: current)
            }
            advance()
            try expect("]", "to close the key")
        }
        return keys
    }

    // MARK: Calls

    /// An argument with where it starts.
    struct Argument {
        var value: OTTLExpression
        var token: OTTLToken
    }

    /// The arguments after `name(`, through the closing parenthesis.
    private mutating func callArguments(of name: String) throws(OTTLSyntaxError) -> [Argument] {
        try expect("(", "after \(name)")
        var arguments: [Argument] = []
        if current.kind != .punct(")") {
            repeat {
                if case .identifier = current.kind, peek(1).kind == .punct("=") {
                    throw error("named arguments are not supported; pass the arguments of \(name) in order", at: current)
                }
                let token = current
                arguments.append(Argument(value: try expression(), token: token))
            } while consume(",")
        }
        try expect(")", "to close the arguments of \(name)")
        return arguments
    }

    private func makeEditor(_ name: String, _ arguments: [Argument], at start: OTTLToken) throws(OTTLSyntaxError)
        -> OTTLEditor
    {
        func count(_ expected: Int, _ signature: String) throws(OTTLSyntaxError) {
            guard arguments.count == expected else {
                throw error("\(name) takes \(expected) arguments, \(signature); got \(arguments.count)", at: start)
            }
        }
        switch name {
        case "set":
            try count(2, "set(target, value)")
            return .set(try target(arguments[0], of: name), arguments[1].value)
        case "delete_key":
            try count(2, "delete_key(target, key)")
            return .deleteKey(try mapTarget(arguments[0], of: name), try stringLiteral(arguments[1], "key"))
        case "delete_matching_keys":
            try count(2, "delete_matching_keys(target, pattern)")
            return .deleteMatchingKeys(try mapTarget(arguments[0], of: name), try pattern(arguments[1]))
        case "keep_keys":
            try count(2, "keep_keys(target, keys)")
            return .keepKeys(try mapTarget(arguments[0], of: name), try stringList(arguments[1], "keys"))
        case "keep_matching_keys":
            try count(2, "keep_matching_keys(target, pattern)")
            return .keepMatchingKeys(try mapTarget(arguments[0], of: name), try pattern(arguments[1]))
        case "replace_pattern":
            guard arguments.count <= 3 else {
                throw error("replace_pattern with a function or format argument is not supported", at: arguments[3].token)
            }
            try count(3, "replace_pattern(target, regex, replacement)")
            return .replacePattern(try target(arguments[0], of: name), try pattern(arguments[1]), arguments[2].value)
        case "replace_all_patterns":
            guard arguments.count <= 4 else {
                throw error("replace_all_patterns with a function or format argument is not supported",
                            at: arguments[4].token)
            }
            try count(4, "replace_all_patterns(target, mode, regex, replacement)")
            let modeText = try stringLiteral(arguments[1], "mode")
            guard let mode = OTTLReplaceMode(rawValue: modeText) else {
                throw error("replace_all_patterns: mode must be \"key\" or \"value\", got \(GoQuote.quote(modeText))",
                            at: arguments[1].token)
            }
            return .replaceAllPatterns(try mapTarget(arguments[0], of: name), mode, try pattern(arguments[2]),
                                       arguments[3].value)
        case "merge_maps":
            try count(3, "merge_maps(target, source, strategy)")
            let strategyText = try stringLiteral(arguments[2], "strategy")
            guard let strategy = OTTLMergeStrategy(rawValue: strategyText) else {
                throw error("merge_maps: strategy must be \"insert\", \"update\" or \"upsert\", got \(GoQuote.quote(strategyText))",
                            at: arguments[2].token)
            }
            return .mergeMaps(try mapTarget(arguments[0], of: name), arguments[1].value, strategy)
        case "limit":
            try count(3, "limit(target, limit, priority_keys)")
            let limit = try intLiteral(arguments[1], "limit")
            guard limit > 0 else { throw error("limit: the limit must be at least 1, got \(limit)", at: arguments[1].token) }
            let priority = try stringList(arguments[2], "priority_keys")
            guard priority.count <= limit else {
                throw error("limit: \(priority.count) priority keys are more than the limit of \(limit)", at: arguments[2].token)
            }
            return .limit(try mapTarget(arguments[0], of: name), limit, priority)
        case "truncate_all":
            try count(2, "truncate_all(target, limit)")
            let limit = try intLiteral(arguments[1], "limit")
            guard limit >= 0 else { throw error("truncate_all: the limit must not be negative, got \(limit)", at: arguments[1].token) }
            return .truncateAll(try mapTarget(arguments[0], of: name), limit)
        default:
            throw error("unsupported editor \(name) (supported: \(Self.editors.joined(separator: ", ")))", at: start)
        }
    }

    private func makeConverter(_ name: String, _ arguments: [Argument], at start: OTTLToken) throws(OTTLSyntaxError)
        -> OTTLConverter
    {
        func count(_ expected: Int, _ signature: String) throws(OTTLSyntaxError) {
            guard arguments.count == expected else {
                throw error("\(name) takes \(expected) argument\(expected == 1 ? "" : "s"), \(signature); got \(arguments.count)",
                            at: start)
            }
        }
        switch name {
        case "ParseJSON":
            try count(1, "ParseJSON(target)")
            return .parseJSON(arguments[0].value)
        case "Concat":
            try count(2, "Concat(values, delimiter)")
            guard case .list(let values) = arguments[0].value else {
                throw error("Concat: the values are a list literal such as [a, b]", at: arguments[0].token)
            }
            return .concat(values, delimiter: try stringLiteral(arguments[1], "delimiter"))
        case "IsMatch":
            try count(2, "IsMatch(target, pattern)")
            return .isMatch(arguments[0].value, try pattern(arguments[1]))
        case "ConvertCase":
            try count(2, "ConvertCase(target, toCase)")
            let caseText = try stringLiteral(arguments[1], "toCase")
            guard let conversion = OTTLCaseConversion(rawValue: caseText) else {
                throw error("ConvertCase: toCase \(GoQuote.quote(caseText)) is not supported (supported: \"lower\", \"upper\")",
                            at: arguments[1].token)
            }
            return .convertCase(arguments[0].value, conversion)
        case "Int":
            try count(1, "Int(value)")
            return .int(arguments[0].value)
        case "Double":
            try count(1, "Double(value)")
            return .double(arguments[0].value)
        case "String":
            try count(1, "String(value)")
            return .string(arguments[0].value)
        case "SHA256":
            try count(1, "SHA256(value)")
            return .sha256(arguments[0].value)
        default:
            throw error("unsupported converter \(name) (supported: \(Self.converters.joined(separator: ", ")))", at: start)
        }
    }

    // MARK: Argument kinds

    private func target(_ argument: Argument, of name: String) throws(OTTLSyntaxError) -> OTTLPath {
        guard case .path(let path) = argument.value else {
            throw error("the first argument of \(name) is a path such as attributes[\"key\"]", at: argument.token)
        }
        return path
    }

    private func mapTarget(_ argument: Argument, of name: String) throws(OTTLSyntaxError) -> OTTLPath {
        let path = try target(argument, of: name)
        guard path.field.isIndexable else {
            throw error("the first argument of \(name) is a map such as attributes or body", at: argument.token)
        }
        return path
    }

    private func stringLiteral(_ argument: Argument, _ role: String) throws(OTTLSyntaxError) -> String {
        guard case .literal(.string(let text)?) = argument.value else {
            throw error("\(role) must be a string literal", at: argument.token)
        }
        return text
    }

    private func intLiteral(_ argument: Argument, _ role: String) throws(OTTLSyntaxError) -> Int {
        guard case .literal(.int(let number)?) = argument.value, let value = Int(exactly: number) else {
            throw error("\(role) must be an integer literal", at: argument.token)
        }
        return value
    }

    private func stringList(_ argument: Argument, _ role: String) throws(OTTLSyntaxError) -> [String] {
        guard case .list(let items) = argument.value else {
            throw error("\(role) must be a list of string literals such as [\"a\", \"b\"]", at: argument.token)
        }
        var strings: [String] = []
        for item in items {
            guard case .literal(.string(let text)?) = item else {
                throw error("\(role) must be a list of string literals such as [\"a\", \"b\"]", at: argument.token)
            }
            strings.append(text)
        }
        return strings
    }

    private func pattern(_ argument: Argument) throws(OTTLSyntaxError) -> OTTLPattern {
        let source = try stringLiteral(argument, "the pattern")
        do throws(RE2Error) {
            return try OTTLPattern(source)
        } catch {
            throw self.error("invalid regular expression \(GoQuote.quote(source)): \(error)", at: argument.token)
        }
    }

    // MARK: Tokens

    private var current: OTTLToken { tokens[min(position, tokens.count - 1)] }

    private func peek(_ ahead: Int) -> OTTLToken { tokens[min(position + ahead, tokens.count - 1)] }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private mutating func consume(_ mark: Character) -> Bool {
        guard current.kind == .punct(mark) else { return false }
        advance()
        return true
    }

    private mutating func expect(_ mark: Character, _ purpose: String) throws(OTTLSyntaxError) {
        guard consume(mark) else { throw error("expected \"\(mark)\" \(purpose), found \(describe(current))", at: current) }
    }

    private mutating func enter() throws(OTTLSyntaxError) {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw error("nested more than \(Self.maximumDepth) levels deep", at: current)
        }
    }

    private func error(_ message: String, at token: OTTLToken) -> OTTLSyntaxError {
        OTTLSyntaxError(message: message, offset: token.offset)
    }

    private func describe(_ token: OTTLToken) -> String {
        switch token.kind {
        case .identifier(let name): name
        case .string(let text): GoQuote.quote(text)
        case .int(let number): "\(number)"
        case .float(let number): "\(number)"
        case .punct(let mark): "\"\(mark)\""
        case .comparison: "a comparison operator"
        case .end: "the end of the statement"
        }
    }

    private func describeExpression(_ start: OTTLToken) -> String {
        if case .identifier(let name) = start.kind { return name }
        return "the value"
    }
}
