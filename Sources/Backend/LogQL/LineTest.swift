import Wire

/// The positive test of a line filter (negation is applied by `LineFilter`).
enum LineTest: Sendable {
    case always
    case nonEmpty
    case substring([UInt8])
    case substringIgnoringASCIICase([UInt8])
    case anyOf([LineTest])
    /// `required` literals must all be in the line before the regex is worth running.
    case regex(RE2Regex, required: [[UInt8]])
    /// `|> "<_> error <_>"`: Loki's pattern test.
    case pattern(PatternMatcher)
    /// `|= ip("10.0.0.0/8")`: some address in the line is covered.
    case ip(IPMatcher)

    /// A substring search; an empty needle is in every line.
    static func search(_ needle: [UInt8]) -> LineTest {
        needle.isEmpty ? .always : .substring(needle)
    }

    static func any(of tests: [LineTest]) -> LineTest {
        if tests.count == 1 { return tests[0] }
        if tests.contains(where: { if case .always = $0 { true } else { false } }) { return .always }
        return .anyOf(tests)
    }

    /// Loki's `parseRegexpFilter` simplifications, on the RE2 tree.
    static func compile(_ pattern: String) throws(RE2Error) -> LineTest {
        let regex = try RE2Regex(pattern, dotMatchesNewline: false)
        if let simple = simplify(regex.tree) { return simple }
        let required = regex.tree.requiredLiterals.prefix(2).map { Array($0.utf8) }
        return .regex(regex, required: required)
    }

    private static func simplify(_ node: RE2Node) -> LineTest? {
        var items = node.concatenationItems
        // Leading and trailing `.*` do not change whether an unanchored regex finds a match.
        while let first = items.first, first.isAnyStar() { items.removeFirst() }
        while let last = items.last, last.isAnyStar() { items.removeLast() }
        if items.isEmpty { return .always }
        let core: RE2Node = items.count == 1 ? items[0] : .concatenation(items)
        if let literal = core.literalText { return .search(Array(literal.utf8)) }
        if let folded = core.caseFoldedASCIILiteral { return .substringIgnoringASCIICase(Array(folded.utf8)) }
        if core.isAnyPlus(newline: false) || core.isAnyPlus(newline: true) { return .nonEmpty }
        if case .alternation(let branches) = core.ungrouped {
            var tests: [LineTest] = []
            for branch in branches {
                guard let test = simplify(branch) else { return nil }
                tests.append(test)
            }
            return any(of: tests)
        }
        return nil
    }

    /// Alternatives, each a list of literals that a line passing through it must all contain; nil when some way of
    /// passing needs no literal.
    var literalAlternatives: [[[UInt8]]]? {
        switch self {
        case .substring(let needle): return [[needle]]
        case .regex(_, let required): return required.isEmpty ? nil : [required]
        case .anyOf(let tests):
            var all: [[[UInt8]]] = []
            for test in tests {
                guard let alternatives = test.literalAlternatives else { return nil }
                all += alternatives
            }
            return all
        case .always, .nonEmpty, .substringIgnoringASCIICase, .pattern, .ip: return nil
        }
    }

    func matches(_ line: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .substring(let needle):
            return needle.withUnsafeBytes { ByteSearch.contains(line, $0) }
        case .always:
            return true
        case .nonEmpty:
            return !line.isEmpty
        case .substringIgnoringASCIICase(let needle):
            return ByteSearch.containsIgnoringASCIICase(line, lowercasedNeedle: needle)
        case .anyOf(let tests):
            for test in tests where test.matches(line) { return true }
            return false
        case .regex(let regex, let required):
            for literal in required where !literal.withUnsafeBytes({ ByteSearch.contains(line, $0) }) {
                return false
            }
            return regex.firstMatch(line)
        case .pattern(let matcher):
            return matcher.test(line)
        case .ip(let matcher):
            return matcher.matchesAnywhere(line)
        }
    }

    var cost: Int {
        switch self {
        case .always, .nonEmpty: 0
        case .substring: 1
        case .substringIgnoringASCIICase: 2
        case .anyOf(let tests): tests.map(\.cost).max() ?? 0
        case .regex: 10
        case .pattern: 3
        case .ip: 5
        }
    }
}
