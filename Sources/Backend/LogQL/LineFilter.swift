import Wire

/// One line filter of a log query: `|= "text"`, `!= "text"`, `|~ "regex"` or `!~ "regex"`, optionally with Loki's
/// alternatives (`|= "a" or "b"` keeps lines containing either; `!= "a" or "b"` drops lines containing either).
///
/// Regexes are RE2 and unanchored, as Loki's. Like Loki, common regexes run without a regex engine: a literal is a
/// substring search, `(?i)literal` a case-insensitive one, `a|b` several searches, `.*` and `""` match every line,
/// `.+` every non-empty line. Other regexes first check, with a substring search, a literal every match must
/// contain.
public struct LineFilter: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case contains = "|="
        case notContains = "!="
        case regex = "|~"
        case notRegex = "!~"
        /// `|> "<_> error <_>"`: Loki's pattern filter.
        case pattern = "|>"
        case notPattern = "!>"
    }

    /// An operand as written: a string (its exact bytes, which may be invalid UTF-8) or `ip("…")`.
    public enum Operand: Sendable, Equatable {
        case text([UInt8])
        case ip(String)
    }

    public let kind: Kind
    /// The operands as written: one, or several joined by `or`.
    public let patterns: [String]
    public let operands: [Operand]
    let test: LineTest
    private let negated: Bool

    /// A filter with one operand. Throws `LogQLError` for a regex Go's RE2 parser would reject.
    public init(_ kind: Kind, _ pattern: String) throws(LogQLError) {
        try self.init(kind, anyOf: [pattern])
    }

    /// A filter whose operands are alternatives (`|= "a" or "b"`). Throws `LogQLError` for a bad regex.
    public init(_ kind: Kind, anyOf patterns: [String]) throws(LogQLError) {
        try self.init(kind, patterns: patterns, bytes: patterns.map { Array($0.utf8) })
    }

    /// `|= needle`.
    public static func contains(_ needle: String) -> LineFilter {
        LineFilter(kind: .contains, patterns: [needle], test: .search(Array(needle.utf8)))
    }

    /// `!= needle`.
    public static func notContains(_ needle: String) -> LineFilter {
        LineFilter(kind: .notContains, patterns: [needle], test: .search(Array(needle.utf8)))
    }

    /// A filter from the parser: each operand is a string or `ip("…")`. Throws `LogQLError` for a bad regex,
    /// pattern or IP.
    public init(_ kind: Kind, operands: [Operand]) throws(LogQLError) {
        var patterns: [String] = []
        var bytes: [[UInt8]] = []
        var addresses: [LineTest] = []
        for operand in operands {
            switch operand {
            case .text(let value):
                patterns.append(String(decoding: value, as: UTF8.self))
                bytes.append(value)
            case .ip(let text):
                guard kind == .contains || kind == .notContains else {
                    throw LogQLError(line: 0, column: 0,
                                     message: "ip(\"\(text)\") is only allowed with |= and != line filters")
                }
                addresses.append(.ip(try IPMatcher(text)))
                patterns.append("ip(\(GoQuote.quote(text)))")
            }
        }
        if addresses.isEmpty {
            try self.init(kind, patterns: patterns, bytes: bytes)
        } else {
            let tests = bytes.map { LineTest.search($0) } + addresses
            self.init(kind: kind, patterns: patterns, test: LineTest.any(of: tests))
        }
    }

    public static func == (lhs: LineFilter, rhs: LineFilter) -> Bool {
        lhs.kind == rhs.kind && lhs.operands == rhs.operands
    }

    /// The operands as LogQL text: Go-quoted strings (byte-exact) and `ip("…")`.
    var operandTexts: [String] {
        operands.map { operand in
            switch operand {
            case .text(let bytes): bytes.withUnsafeBufferPointer { GoQuote.quote(utf8: $0) }
            case .ip(let pattern): "ip(" + GoQuote.quote(pattern) + ")"
            }
        }
    }

    /// `bytes` are the operands' exact bytes, which for substring filters may be invalid UTF-8 (`"\xff"`).
    init(_ kind: Kind, patterns: [String], bytes: [[UInt8]]) throws(LogQLError) {
        let tests: [LineTest]
        switch kind {
        case .pattern, .notPattern:
            var compiled: [LineTest] = []
            for pattern in patterns {
                compiled.append(.pattern(try PatternMatcher(pattern, requireNamedCapture: false)))
            }
            tests = compiled
        case .contains, .notContains:
            tests = bytes.map { LineTest.search($0) }
        case .regex, .notRegex:
            var compiled: [LineTest] = []
            for pattern in patterns {
                do throws(RE2Error) {
                    compiled.append(try LineTest.compile(pattern))
                } catch {
                    throw LogQLError(line: 0, column: 0, message: error.description)
                }
            }
            tests = compiled
        }
        self.init(kind: kind, patterns: patterns, operands: bytes.map(Operand.text), test: LineTest.any(of: tests))
    }

    private init(kind: Kind, patterns: [String], operands: [Operand]? = nil, test: LineTest) {
        self.kind = kind
        self.patterns = patterns
        self.operands = operands ?? patterns.map { .text(Array($0.utf8)) }
        self.negated = kind == .notContains || kind == .notRegex || kind == .notPattern
        // An empty needle is contained in every line: `|= ""` keeps everything and `!= ""` nothing, as in Loki.
        self.test = test
    }

    /// Whether `line` passes the filter.
    @inline(__always)
    public func matches(_ line: UnsafeRawBufferPointer) -> Bool {
        test.matches(line) != negated
    }

    /// True when the filter keeps every line (`|= ""`, `|~ ".*"`): a chain can skip it.
    var keepsEverything: Bool {
        if case .always = test { return !negated }
        return false
    }

    /// For `|= "text"` and `!= "text"` with one non-empty operand: the needle and whether the filter drops lines that
    /// contain it. A chain runs these without going through `LineTest`.
    var plainSubstring: (needle: [UInt8], negated: Bool)? {
        if case .substring(let needle) = test { return (needle, negated) }
        return nil
    }

    /// For a positive filter, the literals a passing line must contain, as alternatives each of which lists
    /// literals that must all occur; nil when the filter is negated or some alternative is not that simple.
    var literalAlternatives: [[[UInt8]]]? {
        negated ? nil : test.literalAlternatives
    }

    /// Cost rank for ordering a chain: substring searches before regexes.
    var cost: Int { test.cost }
}
