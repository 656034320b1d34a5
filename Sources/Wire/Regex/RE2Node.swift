/// A set of Unicode scalars: ranges plus Unicode property escapes, possibly negated.
public struct RE2CharClass: Sendable, Hashable {
    public var negated = false
    public var ranges: [ClosedRange<UInt32>] = []
    /// Property escapes kept as Swift syntax, e.g. `\p{L}`.
    public var properties: [String] = []
}

/// A parsed RE2 expression.
public indirect enum RE2Node: Sendable, Equatable {
    case empty
    case literal(Unicode.Scalar, foldCase: Bool)
    /// `.`; `newline` says whether it also matches `\n` (flag `s`).
    case anyCharacter(newline: Bool)
    case characterClass(RE2CharClass, foldCase: Bool)
    case beginText, endText, beginLine, endLine
    case wordBoundary, notWordBoundary
    /// A non-capturing group, `(?:re)` or `(?i:re)`.
    case group(RE2Node)
    /// A capturing group, `(re)` or `(?P<name>re)`; `index` counts opening parentheses from 1, as Go does.
    case capture(RE2Node, index: Int, name: String?)
    case concatenation([RE2Node])
    case alternation([RE2Node])
    case repetition(RE2Node, min: Int, max: Int?, greedy: Bool)
}
