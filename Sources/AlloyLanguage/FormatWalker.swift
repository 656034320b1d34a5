import Wire

/// Walks the syntax tree, sending tokens and whitespace to the printer.
struct FormatWalker {
    var printer: FormatPrinter

    mutating func walkStatements(_ statements: [Statement]) {
        for (index, statement) in statements.enumerated() {
            var spaced = false
            // Blocks are always separated from what precedes them by a blank line.
            if index > 0, case .block = statement {
                printer.write(.whitespace(.formfeed))
                spaced = true
            }
            // One blank line in the source between two statements is kept.
            if index > 0 && !spaced {
                if statement.range.start.line - statements[index - 1].range.end.line > 1 {
                    printer.write(.whitespace(.formfeed))
                }
            }
            // An attribute whose value spans lines in the output ends the run of aligned lines (the source's lines
            // would not do: a value on the line after its `=` is joined to it, and the next formatting would align
            // it). So does a block: Alloy's printer lets a one-line block with a trailing comment align with the
            // attributes after it, and then formats its own output differently a second time.
            let spansLines = walkStatement(statement)
            printer.write(.whitespace(spansLines ? .formfeed : .newline))
        }
    }

    /// The position of the last character of a range (whose end is exclusive).
    static func lastCharacter(_ range: SourceRange) -> SourcePosition {
        SourcePosition(line: range.end.line, column: max(1, range.end.column - 1), offset: max(0, range.end.offset - 1))
    }

    /// Writes one statement; whether it ends the run of aligned lines (a block, or an attribute whose value spans
    /// lines in the output).
    private mutating func walkStatement(_ statement: Statement) -> Bool {
        switch statement {
        case .attribute(let attribute):
            printer.write(
                .position(attribute.nameRange.start), .identifier(attribute.name), .whitespace(.verticalTab),
                .token(.assign), .whitespace(.blank))
            let before = printer.lineBreaks
            walkExpression(attribute.value)
            return printer.lineBreaks > before
        case .block(let block):
            // Comments inside a dotted name (`loki.// c` + newline + `write`) go before it: after it, a line comment
            // would end the line before the label.
            printer.write(.position(Self.lastCharacter(block.nameRange)), .identifier(block.fullName))
            if let label = block.label, !label.isEmpty, let labelRange = block.labelRange {
                printer.write(.whitespace(.blank), .position(labelRange.start), .literal(GoQuote.quote(label), .string))
            }
            printer.write(.whitespace(.blank), .position(block.leftBrace), .token(.leftCurly), .whitespace(.indent))
            if block.body.statements.isEmpty {
                printer.write(.whitespace(.blank))
            } else {
                printer.write(.whitespace(.formfeed))
                walkStatements(block.body.statements)
            }
            printer.write(.whitespace(.unindent), .position(block.rightBrace), .token(.rightCurly))
            return true
        }
    }

    private mutating func walkExpression(_ expression: Expression) {
        switch expression {
        case .literal(let literal):
            let kind: TokenKind =
                switch literal.kind {
                case .null: .null
                case .bool: .bool
                case .number: .number
                case .float: .float
                case .string: .string
                }
            printer.write(.position(literal.range.start), .literal(literal.text, kind))
        case .identifier(let name, let range):
            printer.write(.position(range.start), .identifier(name))
        case .array(let elements, let range):
            walkArray(elements, range: range)
        case .object(let fields, let range):
            walkObject(fields, range: range)
        case .access(let base, let name, let nameRange):
            walkExpression(base)
            printer.write(.token(.dot), .position(nameRange.start), .identifier(name))
        case .index(let base, let index, let brackets):
            walkExpression(base)
            printer.write(.position(brackets.start), .token(.leftBracket))
            walkExpression(index)
            printer.write(.position(Self.lastCharacter(brackets)), .token(.rightBracket))
        case .call(let function, let arguments, let parens):
            walkCall(function, arguments, parens: parens)
        case .unary(let op, let operand, let operatorRange):
            printer.write(.position(operatorRange.start), .token(op == .not ? .not : .subtract))
            walkExpression(operand)
        case .binary(let op, let left, let right, let operatorRange):
            walkExpression(left)
            printer.write(.whitespace(.blank), .position(operatorRange.start), .token(Self.token(op)), .whitespace(.blank))
            walkExpression(right)
        case .paren(let inner, let range):
            // Alloy's printer writes parentheses without their positions, which lets a comment before them drift
            // past them (and comment out the rest of a line); positions keep comments where they were.
            printer.write(.position(range.start), .token(.leftParen))
            walkExpression(inner)
            printer.write(.position(Self.lastCharacter(range)), .token(.rightParen))
        }
    }

    private static func token(_ op: BinaryOperator) -> TokenKind {
        switch op {
        case .or: .or
        case .and: .and
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessEqual: .lessEqual
        case .greater: .greater
        case .greaterEqual: .greaterEqual
        case .add: .add
        case .subtract: .subtract
        case .multiply: .multiply
        case .divide: .divide
        case .modulo: .modulo
        case .power: .power
        }
    }

    private mutating func walkArray(_ elements: [Expression], range: SourceRange) {
        let closing = Self.lastCharacter(range)
        printer.write(.position(range.start), .token(.leftBracket))
        var previousLine = range.start.line
        for (index, element) in elements.enumerated() {
            var newline = false
            if previousLine != element.range.start.line {
                // Indent before the newline so comments written before the element are indented too.
                printer.write(.whitespace(.indent), .whitespace(.formfeed))
                newline = true
            } else if index > 0 {
                printer.write(.whitespace(.blank))
            }
            previousLine = element.range.end.line
            walkExpression(element)
            if index + 1 < elements.count {
                printer.write(.token(.comma))
            }
            if newline {
                printer.write(.whitespace(.unindent))
            }
        }
        if !elements.isEmpty && previousLine != closing.line {
            printer.write(.token(.comma), .whitespace(.indent), .whitespace(.formfeed), .whitespace(.unindent))
        }
        printer.write(.position(closing), .token(.rightBracket))
    }

    private mutating func walkObject(_ fields: [ObjectField], range: SourceRange) {
        let closing = Self.lastCharacter(range)
        printer.write(.position(range.start), .token(.leftCurly), .whitespace(.indent))
        var previousLine = range.start.line
        var previousSingleLine = false
        for (index, field) in fields.enumerated() {
            if previousLine != field.nameRange.start.line {
                // Keep `=` aligned with the previous field unless that one spanned lines (in the output).
                printer.write(.whitespace(index > 0 && previousSingleLine ? .newline : .formfeed))
            } else if index > 0 {
                printer.write(.whitespace(.blank))
            }
            previousLine = field.nameRange.end.line
            printer.write(.position(field.nameRange.start))
            if field.quoted {
                printer.write(.literal(GoQuote.quote(field.name), .string))
            } else {
                printer.write(.identifier(field.name))
            }
            printer.write(.whitespace(.verticalTab), .token(.assign), .whitespace(.blank))
            let before = printer.lineBreaks
            walkExpression(field.value)
            previousSingleLine = printer.lineBreaks == before
            if index + 1 < fields.count {
                printer.write(.token(.comma))
            }
        }
        if !fields.isEmpty && previousLine != closing.line {
            printer.write(.token(.comma), .whitespace(.formfeed))
        }
        printer.write(.whitespace(.unindent), .position(closing), .token(.rightCurly))
    }

    private mutating func walkCall(_ function: Expression, _ arguments: [Expression], parens: SourceRange) {
        walkExpression(function)
        printer.write(.position(parens.start), .token(.leftParen))
        var previousLine = parens.start.line
        for (index, argument) in arguments.enumerated() {
            var newline = false
            if previousLine != argument.range.start.line {
                printer.write(.whitespace(.formfeed), .whitespace(.indent))
                newline = true
            }
            walkExpression(argument)
            previousLine = argument.range.end.line
            if index + 1 < arguments.count {
                printer.write(.token(.comma), .whitespace(.blank))
            }
            if newline {
                printer.write(.whitespace(.unindent))
            }
        }
        if !arguments.isEmpty && previousLine != Self.lastCharacter(parens).line {
            printer.write(.token(.comma), .whitespace(.formfeed))
        }
        printer.write(.position(Self.lastCharacter(parens)), .token(.rightParen))
    }
}
