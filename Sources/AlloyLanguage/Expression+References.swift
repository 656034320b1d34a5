extension Expression {
    /// Every identifier chain `a.b.c` (an identifier and the field accesses after it) in the expression, in
    /// source order. A chain stops at the first index or call: `a.b[0].c` yields `a.b`, `f(x).y` yields `f` and `x`.
    public var references: [Reference] {
        var references: [Reference] = []
        collectReferences(into: &references)
        return references
    }

    func collectReferences(into references: inout [Reference]) {
        if let chain = referenceChain {
            references.append(chain)
            return
        }
        switch self {
        case .literal, .identifier:
            break
        case .array(let elements, _):
            for element in elements { element.collectReferences(into: &references) }
        case .object(let fields, _):
            for field in fields { field.value.collectReferences(into: &references) }
        case .access(let base, _, _):
            base.collectReferences(into: &references)
        case .index(let base, let index, _):
            base.collectReferences(into: &references)
            index.collectReferences(into: &references)
        case .call(let function, let arguments, _):
            function.collectReferences(into: &references)
            for argument in arguments { argument.collectReferences(into: &references) }
        case .unary(_, let operand, _):
            operand.collectReferences(into: &references)
        case .binary(_, let left, let right, _):
            left.collectReferences(into: &references)
            right.collectReferences(into: &references)
        case .paren(let inner, _):
            inner.collectReferences(into: &references)
        }
    }

    /// The expression as a reference when it is an identifier followed only by field accesses.
    var referenceChain: Reference? {
        var names: [String] = []
        var end: SourcePosition?
        var current = self
        while true {
            switch current {
            case .access(let base, let name, let nameRange):
                names.append(name)
                if end == nil { end = nameRange.end }
                current = base
            case .identifier(let name, let range):
                names.append(name)
                return Reference(path: names.reversed(), range: SourceRange(start: range.start, end: end ?? range.end))
            default:
                return nil
            }
        }
    }
}

extension Body {
    /// All references in all attributes of this body and of the blocks nested in it, in source order.
    public var references: [Reference] {
        var references: [Reference] = []
        collectReferences(into: &references)
        return references
    }

    private func collectReferences(into references: inout [Reference]) {
        for statement in statements {
            switch statement {
            case .attribute(let attribute): attribute.value.collectReferences(into: &references)
            case .block(let block): block.body.collectReferences(into: &references)
            }
        }
    }
}
