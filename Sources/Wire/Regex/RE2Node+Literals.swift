extension RE2Node {
    /// The node with groups (capturing or not) around it removed: what it matches, not what it captures.
    public var ungrouped: RE2Node {
        switch self {
        case .group(let inner), .capture(let inner, _, _): return inner.ungrouped
        default: return self
        }
    }

    /// The literal text this node matches exactly, when it is a plain literal (no case folding).
    public var literalText: String? {
        switch ungrouped {
        case .empty:
            return ""
        case .literal(let scalar, let foldCase):
            return foldCase && scalar.properties.changesWhenCaseMapped ? nil : String(Character(scalar))
        case .concatenation(let items):
            var text = ""
            for item in items {
                guard let part = item.literalText else { return nil }
                text += part
            }
            return text
        default:
            return nil
        }
    }

    /// The literal text when every letter of this literal is case-folded (`(?i)error`), lowercased; nil otherwise.
    /// Only ASCII: that is what byte-level case-insensitive search handles exactly.
    public var caseFoldedASCIILiteral: String? {
        var text = ""
        var sawFold = false
        func collect(_ node: RE2Node) -> Bool {
            switch node.ungrouped {
            case .empty:
                return true
            case .literal(let scalar, let foldCase):
                guard scalar.isASCII else { return false }
                if scalar.properties.isAlphabetic {
                    guard foldCase else { return false }
                    sawFold = true
                    text.unicodeScalars.append(Unicode.Scalar(UInt8(scalar.value | 0x20)))
                } else {
                    text.unicodeScalars.append(scalar)
                }
                return true
            case .concatenation(let items):
                return items.allSatisfy(collect)
            default:
                return false
            }
        }
        return collect(self) && sawFold ? text : nil
    }

    /// `.*` (any greediness); `newline` tells which dot.
    public func isAnyStar(newline: Bool? = nil) -> Bool {
        if case .repetition(let operand, 0, nil, _) = ungrouped, case .anyCharacter(let dotNewline) = operand.ungrouped {
            return newline == nil || newline == dotNewline
        }
        return false
    }

    /// `.+` (any greediness); `newline` tells which dot.
    public func isAnyPlus(newline: Bool) -> Bool {
        if case .repetition(let operand, 1, nil, _) = ungrouped, case .anyCharacter(let dotNewline) = operand.ungrouped {
            return dotNewline == newline
        }
        return false
    }

    /// The items of a concatenation (one item otherwise), groups removed.
    public var concatenationItems: [RE2Node] {
        if case .concatenation(let items) = ungrouped { return items.map(\.ungrouped) }
        return [ungrouped]
    }

    /// Literals that every match must contain, for a cheap pre-check before running a regex (longest first).
    public var requiredLiterals: [String] {
        var found: [String] = []
        var run = ""
        for item in concatenationItems {
            if case .literal(let scalar, let foldCase) = item, !(foldCase && scalar.properties.changesWhenCaseMapped) {
                run.unicodeScalars.append(scalar)
            } else {
                if !run.isEmpty { found.append(run) }
                run = ""
                if case .repetition(let operand, let min, _, _) = item, min >= 1, let text = operand.literalText,
                   !text.isEmpty {
                    found.append(text)
                }
            }
        }
        if !run.isEmpty { found.append(run) }
        return found.sorted { $0.utf8.count > $1.utf8.count }
    }
}
