import Wire

/// One matcher of a stream selector, `name="value"`, with Prometheus' semantics: regexes are RE2, fully anchored
/// (`^(?s:value)$`, so `.` also matches a newline), and an absent label has the value "".
///
/// Common regexes never reach the regex engine: `.*`, `.+`, literals, alternations of literals (`a|b|c`, a set
/// lookup) and literal prefixes, suffixes and infixes (`api-.*`).
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case equal = "="
        case notEqual = "!="
        case regex = "=~"
        case notRegex = "!~"
    }

    public let name: String
    public let kind: Kind
    public let value: String
    private let test: ValueTest
    private let negated: Bool

    /// Compiles the matcher. Throws `LogQLError` (Loki's `parse error : error parsing regexp: ...`) for a regex
    /// Go's RE2 parser would reject.
    public init(name: String, kind: Kind, value: String) throws {
        self.name = name
        self.kind = kind
        self.value = value
        switch kind {
        case .equal, .notEqual:
            test = .equal(value)
            negated = kind == .notEqual
        case .regex, .notRegex:
            do throws(RE2Error) {
                test = try ValueTest.compile(value)
            } catch {
                throw LogQLError(line: 0, column: 0, message: error.description)
            }
            negated = kind == .notRegex
        }
    }

    /// Whether a stream whose label `name` has `value` (or "" when absent) passes.
    public func matches(_ value: String) -> Bool {
        test.matches(value) != negated
    }

    /// `name="value"` with the value quoted as Go's `strconv.Quote` does.
    public var description: String { name + kind.rawValue + GoQuote.quote(value) }

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.kind == rhs.kind && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(kind)
        hasher.combine(value)
    }
}

/// What a label value must satisfy; strings compare by their UTF-8 bytes, as Go's do.
private enum ValueTest: Sendable {
    case always
    case nonEmpty
    case equal(String)
    case equalIgnoringASCIICase(String)
    case oneOf(Set<String>)
    case hasPrefix(String)
    case hasSuffix(String)
    case contains(String)
    case regex(RE2Regex, requiredPrefix: String)

    static func compile(_ pattern: String) throws(RE2Error) -> ValueTest {
        let regex = try RE2Regex(pattern, dotMatchesNewline: true)
        let tree = regex.tree.ungrouped
        if tree.isAnyStar(newline: true) { return .always }
        if tree.isAnyPlus(newline: true) { return .nonEmpty }
        if let literal = tree.literalText { return .equal(literal) }
        if let folded = tree.caseFoldedASCIILiteral { return .equalIgnoringASCIICase(folded) }
        if case .alternation(let branches) = tree {
            let literals = branches.compactMap(\.literalText)
            if literals.count == branches.count { return .oneOf(Set(literals)) }
        }
        let items = tree.concatenationItems
        if items.count == 2, items[1].isAnyStar(newline: true), let prefix = items[0].literalText {
            return .hasPrefix(prefix)
        }
        if items.count == 2, items[0].isAnyStar(newline: true), let suffix = items[1].literalText {
            return .hasSuffix(suffix)
        }
        if items.count == 3, items[0].isAnyStar(newline: true), items[2].isAnyStar(newline: true),
           let infix = items[1].literalText {
            return .contains(infix)
        }
        var prefix = ""
        for item in items {
            guard let text = item.literalText else { break }
            prefix += text
        }
        return .regex(regex, requiredPrefix: prefix)
    }

    func matches(_ value: String) -> Bool {
        switch self {
        case .always:
            return true
        case .nonEmpty:
            return !value.isEmpty
        case .equal(let expected):
            return Self.sameBytes(value, expected)
        case .equalIgnoringASCIICase(let lowercased):
            guard value.utf8.count == lowercased.utf8.count else { return false }
            return zip(value.utf8, lowercased.utf8).allSatisfy { ByteSearch.lower($0) == $1 }
        case .oneOf(let set):
            // Set membership uses canonical equivalence; confirm the bytes.
            guard let found = set.firstIndex(of: value) else { return false }
            return Self.sameBytes(set[found], value)
        case .hasPrefix(let prefix):
            return value.utf8.starts(with: prefix.utf8)
        case .hasSuffix(let suffix):
            let count = suffix.utf8.count
            return value.utf8.count >= count && value.utf8.suffix(count).elementsEqual(suffix.utf8)
        case .contains(let infix):
            var value = value
            var infix = infix
            return value.withUTF8 { haystack in
                infix.withUTF8 { ByteSearch.contains(UnsafeRawBufferPointer(haystack), UnsafeRawBufferPointer($0)) }
            }
        case .regex(let regex, let prefix):
            guard prefix.isEmpty || value.utf8.starts(with: prefix.utf8) else { return false }
            return regex.wholeMatch(value)
        }
    }

    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
    }
}
