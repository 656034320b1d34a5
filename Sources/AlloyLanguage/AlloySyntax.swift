// The syntax tree of an Alloy file. Nodes carry their source ranges so that evaluation errors can point at the
// text that caused them, and so the formatter can keep blank lines and comments where the author put them.

/// A `//` or `/* */` comment. `text` includes the comment markers and no carriage returns.
public struct Comment: Sendable, Hashable {
    public var text: String
    public var range: SourceRange

    var isBlock: Bool { text.hasPrefix("/*") }
}

/// Comments on consecutive lines with nothing else between them.
public struct CommentGroup: Sendable, Hashable {
    public var comments: [Comment]
}

/// The statements of a file or of a block, in source order.
public struct Body: Sendable {
    public var statements: [Statement] = []

    /// The attributes of this body, in source order (nested blocks excluded).
    public var attributes: [Attribute] {
        statements.compactMap { if case .attribute(let attribute) = $0 { attribute } else { nil } }
    }

    /// The blocks of this body, in source order.
    public var blocks: [Block] {
        statements.compactMap { if case .block(let block) = $0 { block } else { nil } }
    }
}

public enum Statement: Sendable {
    case attribute(Attribute)
    case block(Block)

    public var range: SourceRange {
        switch self {
        case .attribute(let attribute): attribute.range
        case .block(let block): block.range
        }
    }
}

/// `name = value`.
public struct Attribute: Sendable {
    public var name: String
    public var nameRange: SourceRange
    public var value: Expression

    public var range: SourceRange { nameRange.union(value.range) }
}

/// `name.parts "label" { body }`.
public struct Block: Sendable {
    /// The dotted name split at the dots: `["loki", "write"]`.
    public var name: [String]
    /// The label without its quotes, when the block has one.
    public var label: String?
    /// From the first character of the name to the end of its last part.
    public var nameRange: SourceRange
    /// The quoted label, when the block has one.
    public var labelRange: SourceRange?
    /// From the first character of the name to just past the closing brace.
    public var range: SourceRange
    /// Position of the opening `{`.
    public var leftBrace: SourcePosition
    /// Position of the closing `}`.
    public var rightBrace: SourcePosition
    public var body: Body

    /// `"loki.write"`.
    public var fullName: String { name.joined(separator: ".") }

    /// `"loki.write.default"`, or `fullName` when the block has no label.
    public var id: String {
        guard let label, !label.isEmpty else { return fullName }
        return fullName + "." + label
    }
}

/// A literal as written: its kind, its source text and the value it denotes.
public struct Literal: Sendable {
    public enum Kind: Sendable, Hashable {
        case null, bool, number, float, string
    }

    public var kind: Kind
    /// The literal exactly as in the source, quotes included for strings.
    public var text: String
    public var value: Value
    public var range: SourceRange

}

/// One `key = value` of an object literal. `quoted` is true when the key was written as a string.
public struct ObjectField: Sendable {
    public var name: String
    public var quoted: Bool
    public var nameRange: SourceRange
    public var value: Expression

}

public enum UnaryOperator: String, Sendable, Hashable {
    case not = "!"
    case negate = "-"
}

public enum BinaryOperator: String, Sendable, Hashable {
    case or = "||"
    case and = "&&"
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case modulo = "%"
    case power = "^"

    init?(_ kind: TokenKind) {
        switch kind {
        case .or: self = .or
        case .and: self = .and
        case .equal: self = .equal
        case .notEqual: self = .notEqual
        case .less: self = .less
        case .lessEqual: self = .lessEqual
        case .greater: self = .greater
        case .greaterEqual: self = .greaterEqual
        case .add: self = .add
        case .subtract: self = .subtract
        case .multiply: self = .multiply
        case .divide: self = .divide
        case .modulo: self = .modulo
        case .power: self = .power
        default: return nil
        }
    }
}

public indirect enum Expression: Sendable {
    case literal(Literal)
    case identifier(name: String, range: SourceRange)
    /// `[a, b]`; `range` runs from `[` to just past `]`.
    case array(elements: [Expression], range: SourceRange)
    /// `{ a = 1, "b" = 2 }`; `range` runs from `{` to just past `}`.
    case object(fields: [ObjectField], range: SourceRange)
    /// `base.name`.
    case access(base: Expression, name: String, nameRange: SourceRange)
    /// `base[index]`; `bracketsRange` runs from `[` to just past `]`.
    case index(base: Expression, index: Expression, bracketsRange: SourceRange)
    /// `function(arguments)`; `parensRange` runs from `(` to just past `)`.
    case call(function: Expression, arguments: [Expression], parensRange: SourceRange)
    case unary(op: UnaryOperator, operand: Expression, operatorRange: SourceRange)
    case binary(op: BinaryOperator, left: Expression, right: Expression, operatorRange: SourceRange)
    /// `(inner)`; `range` runs from `(` to just past `)`.
    case paren(inner: Expression, range: SourceRange)

    /// The source text this expression spans.
    public var range: SourceRange {
        switch self {
        case .literal(let literal): literal.range
        case .identifier(_, let range), .array(_, let range), .object(_, let range), .paren(_, let range): range
        case .access(let base, _, let nameRange): SourceRange(start: base.range.start, end: nameRange.end)
        case .index(let base, _, let brackets): SourceRange(start: base.range.start, end: brackets.end)
        case .call(let function, _, let parens): SourceRange(start: function.range.start, end: parens.end)
        case .unary(_, let operand, let operatorRange): SourceRange(start: operatorRange.start, end: operand.range.end)
        case .binary(_, let left, let right, _): SourceRange(start: left.range.start, end: right.range.end)
        }
    }
}

/// An identifier and the field accesses after it, as in `loki.write.default.receiver`.
public struct Reference: Sendable, Hashable, CustomStringConvertible {
    public var path: [String]
    public var range: SourceRange

    public var description: String { path.joined(separator: ".") }
}
