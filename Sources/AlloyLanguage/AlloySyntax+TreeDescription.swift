import Wire

// A position-free rendering of the syntax tree, for comparing two parses of differently formatted text.

extension Body {
    /// The tree as an S-expression without source positions: two bodies that differ only in layout and comments
    /// have the same `treeDescription`.
    public var treeDescription: String {
        "(body" + statements.map { " " + $0.treeDescription }.joined() + ")"
    }
}

extension Statement {
    public var treeDescription: String {
        switch self {
        case .attribute(let attribute):
            "(attr \(attribute.name) \(attribute.value.treeDescription))"
        case .block(let block):
            "(block \(block.fullName)" + (block.label.map { " " + GoQuote.quote($0) } ?? "") + " "
                + block.body.treeDescription + ")"
        }
    }
}

extension Expression {
    public var treeDescription: String {
        switch self {
        case .literal(let literal): literal.text
        case .identifier(let name, _): name
        case .array(let elements, _): "[" + elements.map(\.treeDescription).joined(separator: " ") + "]"
        case .object(let fields, _):
            "{" + fields.map { "\($0.quoted ? GoQuote.quote($0.name) : $0.name)=\($0.value.treeDescription)" }
                .joined(separator: " ") + "}"
        case .access(let base, let name, _): "(. \(base.treeDescription) \(name))"
        case .index(let base, let index, _): "(index \(base.treeDescription) \(index.treeDescription))"
        case .call(let function, let arguments, _):
            "(call \(function.treeDescription)" + arguments.map { " " + $0.treeDescription }.joined() + ")"
        case .unary(let op, let operand, _): "(\(op.rawValue) \(operand.treeDescription))"
        case .binary(let op, let left, let right, _): "(\(op.rawValue) \(left.treeDescription) \(right.treeDescription))"
        case .paren(let inner, _): "(paren \(inner.treeDescription))"
        }
    }
}
