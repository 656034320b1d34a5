/// A LogQL query that cannot run: a syntax error in Loki's wording, or valid LogQL that Estuary does not run (here).
/// The HTTP API answers both with 400 and `description` as the body.
public struct LogQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Loki would reject the query too; `description` is Loki's text.
        case parse
        /// Loki runs the query; Estuary does not, or not in this place (a delete request's selector).
        case unsupported
    }

    /// 1-based line and column (in characters) of the offending token; 0 and 0 when the error has no position
    /// (semantic errors such as a selector that matches every stream, or a bad regular expression).
    public var line: Int
    public var column: Int
    /// The problem without position, e.g. `syntax error: unexpected $end, expecting } or ,`.
    public var message: String
    public var kind = Kind.parse

    /// Loki's `ParseError.Error()`: `parse error at line 1, col 9: syntax error: unexpected $end, expecting } or ,`,
    /// or `parse error : <message>` without a position.
    public var description: String {
        switch kind {
        case .parse:
            if line == 0 && column == 0 { return "parse error : \(message)" }
            return "parse error at line \(line), col \(column): \(message)"
        case .unsupported:
            if line == 0 && column == 0 { return "unsupported query: \(message)" }
            return "unsupported query at line \(line), col \(column): \(message)"
        }
    }

    static let emptyCompatibleMatchers = """
        queries require at least one regexp or equality matcher that does not have an empty-compatible value. \
        For instance, app=~".*" does not meet this requirement, but app=~".+" will
        """
}
