import Wire

/// Parses the Alloy configuration syntax.
///
/// The grammar and the error recovery follow Alloy's parser: after an error the parser skips to the next statement
/// and carries on, so every error of a file is reported at once, at most one per line.
public enum AlloyParser {
    /// Nesting deeper than this (blocks within blocks, brackets within brackets, chains of unary operators) is
    /// rejected, so that no input can exhaust the stack of the parser, the evaluator or the formatter.
    public static let maximumNesting = 100
    /// Expression trees taller than this (long operator chains count one level per operator) are rejected.
    public static let maximumExpressionHeight = 400

    /// Parses a whole file. Throws every problem found, each with `file:line:column`.
    public static func parse(name: String, text: String) throws(Diagnostics) -> AlloyFile {
        var parser = Parser(name: name, text: text)
        let body = parser.parseBody(until: .eof)
        return try parser.finish(body: body)
    }

    /// Parses a single expression, as written on the right of an attribute's `=`.
    public static func parseExpression(_ text: String, name: String = "expression") throws(Diagnostics)
        -> (file: AlloyFile, expression: Expression)
    {
        var parser = Parser(name: name, text: text)
        let expression = parser.parseExpression()
        parser.expectEndOfInput()
        let file = try parser.finish(body: Body())
        return (file, expression)
    }
}

private struct BlockName {
    var fragments: [String]
    var start: Int
    var end: Int
    var label: String?
    var labelRange: (start: Int, end: Int)?

    var validAttribute: Bool { fragments.count == 1 && labelRange == nil }
}

private struct Parser {
    let name: String
    let text: String
    let bytes: [UInt8]
    let lines: LineTable
    var lexer: AlloyLexer
    var token = Token(kind: .eof, text: "", start: 0, end: 0)
    var comments: [CommentGroup] = []
    var errors: [(start: Int, end: Int, message: String)] = []
    /// Line of the last error reported through `addError`: a second error on the same line adds nothing.
    var lastErrorLine = 0
    var depth = 0
    /// Height of the expression most recently returned by a parse function.
    var lastHeight = 0
    var reportedTooDeep = false

    init(name: String, text: String) {
        self.name = name
        self.text = text
        bytes = Array(text.utf8)
        lines = LineTable(bytes)
        lexer = AlloyLexer(bytes)
        next()
    }

    mutating func finish(body: Body) throws(Diagnostics) -> AlloyFile {
        let file = AlloyFile(name: name, text: text, bytes: bytes, lines: lines, body: body, comments: comments)
        // Lexical errors first, so that at one position the cause comes before its consequence.
        var all = lexer.errors.map { (start: $0.offset, end: $0.offset, message: $0.message) }
        all += errors
        guard !all.isEmpty else { return file }
        let sorted = all.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }
        throw Diagnostics(sorted.map { file.diagnostic(lines.range($0.element.start, $0.element.end), $0.element.message) })
    }

    // MARK: Tokens

    mutating func next() {
        token = lexer.scan()
        while token.kind == .comment {
            consumeCommentGroup()
        }
    }

    private mutating func consumeCommentGroup() {
        var group: [Comment] = []
        var endLine = lines.position(token.start).line
        while token.kind == .comment && lines.position(token.start).line <= endLine + 1 {
            group.append(Comment(text: token.text, range: lines.range(token.start, token.end)))
            endLine = lines.position(token.end).line
            token = lexer.scan()
        }
        comments.append(CommentGroup(comments: group))
    }

    /// Consumes the current token, recording an error when it is not `kind`.
    @discardableResult
    mutating func expect(_ kind: TokenKind) -> Token {
        let consumed = token
        if consumed.kind != kind {
            addError("expected \(kind), got \(consumed.kind)")
        }
        next()
        return consumed
    }

    mutating func addError(_ message: String) {
        let line = lines.position(token.start).line
        guard line != lastErrorLine else { return }
        lastErrorLine = line
        errors.append((token.start, token.start, message))
    }

    mutating func addError(from start: Int, to end: Int, _ message: String) {
        errors.append((start, end, message))
    }

    mutating func advance(to kind: TokenKind) {
        while token.kind != .eof && token.kind != kind {
            next()
        }
    }

    mutating func advanceToStatementEnd() {
        while token.kind != .eof {
            switch token.kind {
            case .terminator, .rightParen, .rightCurly, .rightBracket, .comma: return
            default: next()
            }
        }
    }

    /// Skips the rest of a statement: up to a terminator outside any bracket pair opened here.
    mutating func consumeStatement() {
        var curly = 0
        var bracket = 0
        var paren = 0
        while token.kind != .eof {
            switch token.kind {
            case .leftCurly: curly += 1
            case .rightCurly: curly -= 1
            case .leftBracket: bracket += 1
            case .rightBracket: bracket -= 1
            case .leftParen: paren += 1
            case .rightParen: paren -= 1
            case .terminator where curly <= 0 && bracket <= 0 && paren <= 0: return
            default: break
            }
            next()
        }
    }

    mutating func expectEndOfInput() {
        if token.kind == .terminator {
            next()
        }
        if token.kind != .eof {
            addError("expected EOF, got \(token.kind)")
        }
    }

    func range(_ start: Int, _ end: Int) -> SourceRange {
        lines.range(start, end)
    }

    // MARK: Statements

    /// `Body = [ Statement { terminator Statement } ]`, up to (not including) `until`.
    mutating func parseBody(until: TokenKind) -> Body {
        var statements: [Statement] = []
        while token.kind != until && token.kind != .eof {
            if let statement = parseStatement() {
                statements.append(statement)
            }
            if token.kind == until {
                break
            }
            if token.kind != .terminator {
                addError("expected \(TokenKind.terminator), got \(token.kind)")
                consumeStatement()
            }
            next()
        }
        return Body(statements: statements)
    }

    /// `Statement = identifier "=" Expression | BlockName "{" Body "}"`.
    private mutating func parseStatement() -> Statement? {
        guard let blockName = parseBlockName() else {
            // Unlike Alloy, which skips to the next identifier, skip to the end of this statement: an error
            // then never swallows the closing braces that follow it.
            consumeStatement()
            return nil
        }
        switch token.kind {
        case .assign:
            next()
            if blockName.fragments.count != 1 {
                addError(
                    from: blockName.start, to: blockName.end,
                    #"attribute names may only consist of a single identifier with no ".""#)
            } else if let label = blockName.labelRange {
                addError(from: label.start, to: label.end, "attribute names may not have labels")
            }
            let value = parseExpression()
            return .attribute(
                Attribute(
                    name: blockName.fragments[0], nameRange: range(blockName.start, blockName.end), value: value))

        case .leftCurly:
            depth += 1
            defer { depth -= 1 }
            if depth > AlloyParser.maximumNesting {
                reportTooDeep()
                consumeStatement()
                return nil
            }
            let leftBrace = token.start
            next()
            let body = parseBody(until: .rightCurly)
            let rightBrace = expect(.rightCurly)
            return .block(
                Block(
                    name: blockName.fragments, label: blockName.label,
                    nameRange: range(blockName.start, blockName.end),
                    labelRange: blockName.labelRange.map { range($0.start, $0.end) },
                    range: range(blockName.start, rightBrace.end),
                    leftBrace: lines.position(leftBrace), rightBrace: lines.position(rightBrace.start), body: body))

        default:
            if blockName.validAttribute {
                addError("expected attribute assignment or block body, got \(token.kind)")
            } else {
                addError("expected block body, got \(token.kind)")
            }
            consumeStatement()
            return nil
        }
    }

    /// `BlockName = identifier { "." identifier } [ string ]`.
    private mutating func parseBlockName() -> BlockName? {
        guard token.kind == .identifier else {
            addError("expected \(TokenKind.identifier), got \(token.kind)")
            return nil
        }
        var blockName = BlockName(fragments: [token.text], start: token.start, end: token.end)
        next()
        while token.kind == .dot {
            next()
            if token.kind != .identifier {
                addError("expected \(TokenKind.identifier), got \(token.kind)")
            }
            blockName.fragments.append(token.text)
            blockName.end = token.end
            next()
        }
        if token.kind != .assign && token.kind != .leftCurly {
            if token.kind == .string {
                let literal = token.text
                if !literal.hasPrefix("\"") {
                    addError("expected block label to be a double quoted string, but got \(GoQuote.quote(literal))")
                }
                let utf8 = Array(literal.utf8)
                if utf8.count > 2 {
                    let label = String(decoding: utf8[1..<(utf8.count - 1)], as: UTF8.self)
                    blockName.label = label
                    if !AlloyLexer.isValidIdentifier(label) {
                        addError("expected block label to be a valid identifier, but got \(GoQuote.quote(label))")
                    }
                }
                blockName.labelRange = (token.start, token.end)
            } else {
                addError("expected block label, got \(token.kind)")
            }
            next()
        }
        return blockName
    }

    // MARK: Expressions

    mutating func parseExpression() -> Expression {
        parseBinaryExpression(minimumPrecedence: 1)
    }

    /// Left-associative binary operators by precedence climbing: `||` < `&&` < comparisons < `+ -` < `* / %`.
    private mutating func parseBinaryExpression(minimumPrecedence: Int) -> Expression {
        var left = parsePowerExpression()
        var height = lastHeight
        while true {
            let kind = token.kind
            let precedence = kind.binaryPrecedence
            guard precedence >= minimumPrecedence, let op = BinaryOperator(kind) else { break }
            let operatorRange = range(token.start, token.end)
            next()
            let right = parseBinaryExpression(minimumPrecedence: precedence + 1)
            height = max(height, lastHeight) + 1
            left = .binary(op: op, left: left, right: right, operatorRange: operatorRange)
            if height > AlloyParser.maximumExpressionHeight {
                reportTooDeep()
                left = placeholder(at: operatorRange.start.offset)
                height = 1
            }
        }
        lastHeight = height
        return left
    }

    /// `PowExpr = UnaryExpr [ "^" PowExpr ]`: right-associative.
    private mutating func parsePowerExpression() -> Expression {
        let left = parseUnaryExpression()
        let leftHeight = lastHeight
        guard token.kind == .power else { return left }
        let operatorRange = range(token.start, token.end)
        next()
        depth += 1
        defer { depth -= 1 }
        if depth > AlloyParser.maximumNesting {
            reportTooDeep()
            lastHeight = 1
            return placeholder(at: operatorRange.start.offset)
        }
        let right = parsePowerExpression()
        lastHeight = max(leftHeight, lastHeight) + 1
        return .binary(op: .power, left: left, right: right, operatorRange: operatorRange)
    }

    /// `UnaryExpr = unary_op UnaryExpr | PrimaryExpr { "." identifier | "[" Expression "]" | "(" [ ExpressionList ] ")" }`.
    private mutating func parseUnaryExpression() -> Expression {
        depth += 1
        defer { depth -= 1 }
        if depth > AlloyParser.maximumNesting {
            reportTooDeep()
            lastHeight = 1
            return placeholder(at: token.start)
        }

        if token.kind == .not || token.kind == .subtract {
            let op: UnaryOperator = token.kind == .not ? .not : .negate
            let operatorRange = range(token.start, token.end)
            next()
            let operand = parseUnaryExpression()
            lastHeight += 1
            return .unary(op: op, operand: operand, operatorRange: operatorRange)
        }

        var primary = parsePrimaryExpression()
        var height = lastHeight
        loop: while true {
            switch token.kind {
            case .dot:
                next()
                let name = expect(.identifier)
                primary = .access(base: primary, name: name.text, nameRange: range(name.start, name.end))
                height += 1
            case .leftBracket:
                let open = token.start
                next()
                let index = parseExpression()
                height = max(height, lastHeight) + 1
                let close = expect(.rightBracket)
                primary = .index(base: primary, index: index, bracketsRange: range(open, close.end))
            case .leftParen:
                let open = token.start
                next()
                var arguments: [Expression] = []
                var argumentsHeight = 0
                if token.kind != .rightParen {
                    (arguments, argumentsHeight) = parseExpressionList(until: .rightParen)
                }
                height = max(height, argumentsHeight) + 1
                let close = expect(.rightParen)
                primary = .call(function: primary, arguments: arguments, parensRange: range(open, close.end))
            case .string, .leftCurly:
                // Probably a block written where an expression belongs (`x = foo "bar" { ... }`): parse it as a
                // block to say so, or give up on the statement.
                if token.kind == .string {
                    next()
                }
                if expect(.leftCurly).kind != .leftCurly {
                    consumeStatement()
                    break loop
                }
                _ = parseBody(until: .rightCurly)
                let end = expect(.rightCurly)
                if end.kind != .rightCurly {
                    consumeStatement()
                    break loop
                }
                addError(from: primary.range.start.offset, to: end.start, "cannot use a block as an expression")
            default:
                break loop
            }
            if height > AlloyParser.maximumExpressionHeight {
                reportTooDeep()
                primary = placeholder(at: token.start)
                height = 1
            }
        }
        lastHeight = height
        return primary
    }

    /// `PrimaryExpr = identifier | literal | "(" Expression ")" | "[" [ ExpressionList ] "]" | "{" [ FieldList ] "}"`.
    private mutating func parsePrimaryExpression() -> Expression {
        lastHeight = 1
        switch token.kind {
        case .identifier:
            let expression = Expression.identifier(name: token.text, range: range(token.start, token.end))
            next()
            return expression

        case .string, .number, .float, .bool, .null:
            let literal = Self.literal(token, range: range(token.start, token.end))
            next()
            return .literal(literal)

        case .leftParen:
            let open = token.start
            next()
            let inner = parseExpression()
            let innerHeight = lastHeight
            let close = expect(.rightParen)
            lastHeight = innerHeight + 1
            return .paren(inner: inner, range: range(open, close.end))

        case .leftBracket:
            let open = token.start
            next()
            var elements: [Expression] = []
            var elementsHeight = 0
            if token.kind != .rightBracket {
                (elements, elementsHeight) = parseExpressionList(until: .rightBracket)
            }
            let close = expect(.rightBracket)
            lastHeight = elementsHeight + 1
            return .array(elements: elements, range: range(open, close.end))

        case .leftCurly:
            let open = token.start
            next()
            let (fields, fieldsHeight) = parseFieldList(until: .rightCurly)
            let close = expect(.rightCurly)
            lastHeight = fieldsHeight + 1
            return .object(fields: fields, range: range(open, close.end))

        default:
            addError("expected expression, got \(token.kind)")
            let expression = placeholder(at: token.start)
            advanceToStatementEnd()
            return expression
        }
    }

    /// `ExpressionList = Expression { "," Expression } [ "," ]`. Returns the tallest element's height.
    private mutating func parseExpressionList(until: TokenKind) -> ([Expression], Int) {
        var expressions: [Expression] = []
        var height = 0
        while token.kind != until && token.kind != .eof {
            expressions.append(parseExpression())
            height = max(height, lastHeight)
            if token.kind == until {
                break
            }
            if token.kind != .comma {
                addError("missing ',' in expression list")
            }
            next()
        }
        return (expressions, height)
    }

    /// `FieldList = Field { "," Field } [ "," ]`, `Field = ( string | identifier ) "=" Expression`.
    private mutating func parseFieldList(until: TokenKind) -> ([ObjectField], Int) {
        var fields: [ObjectField] = []
        var height = 0
        while token.kind != until && token.kind != .eof {
            var name = ""
            var quoted = false
            var nameRange = range(token.start, token.start)
            if token.kind == .string || token.kind == .identifier {
                nameRange = range(token.start, token.end)
                if token.kind == .string {
                    quoted = true
                    name = GoQuote.unquote(token.text) ?? ""
                } else {
                    name = token.text
                }
                next()
            } else {
                addError("expected field name (string or identifier), got \(token.kind)")
                advance(to: .assign)
            }
            expect(.assign)
            let value = parseExpression()
            height = max(height, lastHeight)
            fields.append(ObjectField(name: name, quoted: quoted, nameRange: nameRange, value: value))
            if token.kind == until {
                break
            }
            if token.kind != .comma {
                addError("missing ',' in field list")
            }
            next()
        }
        return (fields, height)
    }

    private mutating func reportTooDeep() {
        guard !reportedTooDeep else { return }
        reportedTooDeep = true
        addError(
            from: token.start, to: token.start,
            "expression or block nested too deeply (limit \(AlloyParser.maximumNesting) levels of nesting, "
                + "\(AlloyParser.maximumExpressionHeight) operators in a chain)")
    }

    private func placeholder(at offset: Int) -> Expression {
        .literal(Literal(kind: .null, text: "null", value: .null, range: range(offset, offset)))
    }

    // MARK: Literals

    static func literal(_ token: Token, range: SourceRange) -> Literal {
        switch token.kind {
        case .string:
            return Literal(kind: .string, text: token.text, value: .string(GoQuote.unquote(token.text) ?? ""), range: range)
        case .number:
            return Literal(kind: .number, text: token.text, value: .number(integerLiteral(token.text)), range: range)
        case .float:
            return Literal(kind: .float, text: token.text, value: .number(.float(Double(token.text) ?? .nan)), range: range)
        case .bool:
            return Literal(kind: .bool, text: token.text, value: .bool(token.text == "true"), range: range)
        default:
            return Literal(kind: .null, text: token.text, value: .null, range: range)
        }
    }

    /// Go's `strconv.ParseInt(text, 0, 64)`, then `ParseUint`, then `ParseFloat`, as Alloy reads integer literals:
    /// a leading `0` means octal, and integers too large for 64 bits become floats.
    static func integerLiteral(_ text: String) -> Number {
        let octal = text.count > 1 && text.hasPrefix("0")
        let digits = octal ? String(text.dropFirst()) : text
        let radix = octal ? 8 : 10
        if let value = Int64(digits, radix: radix) {
            return .int(value)
        }
        if let value = UInt64(digits, radix: radix) {
            return .uint(value)
        }
        return .float(Double(text) ?? .nan)
    }
}
