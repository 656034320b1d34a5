/// A pattern Go's regexp parser would reject, with its wording: `error parsing regexp: missing closing ): `(a``.
public struct RE2Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var fragment: String

    public init(code: String, fragment: String) {
        self.code = code
        self.fragment = fragment
    }

    public var description: String { "error parsing regexp: \(code): `\(fragment)`" }

    public static let missingParen = "missing closing )"
    public static let unexpectedParen = "unexpected )"
    public static let missingBracket = "missing closing ]"
    public static let invalidEscape = "invalid escape sequence"
    public static let invalidCharRange = "invalid character class range"
    public static let invalidNamedCapture = "invalid named capture"
    public static let invalidPerlOp = "invalid or unsupported Perl syntax"
    public static let invalidRepeatOp = "invalid nested repetition operator"
    public static let invalidRepeatSize = "invalid repeat count"
    public static let missingRepeatArgument = "missing argument to repetition operator"
    public static let trailingBackslash = "trailing backslash at end of expression"
    public static let nestingDepth = "expression nests too deeply"
    /// The compiled program would exceed ``RE2Compiler/maxInstructions`` (Go's `ErrLarge`).
    public static let expressionTooLarge = "expression too large"
}
