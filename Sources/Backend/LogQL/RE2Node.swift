/// A set of Unicode scalars: ranges plus Unicode property escapes, possibly negated.
struct RE2CharClass: Sendable, Equatable {
    var negated = false
    var ranges: [ClosedRange<UInt32>] = []
    /// Property escapes kept as Swift syntax, e.g. `\p{L}`.
    var properties: [String] = []
}

/// A parsed RE2 expression. Capture groups are not kept: only whether text matches matters here.
indirect enum RE2Node: Sendable, Equatable {
    case empty
    case literal(Unicode.Scalar, foldCase: Bool)
    /// `.`; `newline` says whether it also matches `\n` (flag `s`).
    case anyCharacter(newline: Bool)
    case characterClass(RE2CharClass, foldCase: Bool)
    case beginText, endText, beginLine, endLine
    case wordBoundary, notWordBoundary
    case group(RE2Node)
    case concatenation([RE2Node])
    case alternation([RE2Node])
    case repetition(RE2Node, min: Int, max: Int?, greedy: Bool)
}
