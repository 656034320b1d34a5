/// A pattern Go's regexp parser would reject, with its wording: `error parsing regexp: missing closing ): `(a``.
struct RE2Error: Error, Sendable, Equatable, CustomStringConvertible {
    var code: String
    var fragment: String

    var description: String { "error parsing regexp: \(code): `\(fragment)`" }

    static let missingParen = "missing closing )"
    static let unexpectedParen = "unexpected )"
    static let missingBracket = "missing closing ]"
    static let invalidEscape = "invalid escape sequence"
    static let invalidCharRange = "invalid character class range"
    static let invalidNamedCapture = "invalid named capture"
    static let invalidPerlOp = "invalid or unsupported Perl syntax"
    static let invalidRepeatOp = "invalid nested repetition operator"
    static let invalidRepeatSize = "invalid repeat count"
    static let missingRepeatArgument = "missing argument to repetition operator"
    static let trailingBackslash = "trailing backslash at end of expression"
    static let nestingDepth = "expression nests too deeply"
}
