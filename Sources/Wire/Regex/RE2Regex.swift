/// A regular expression in RE2 syntax compiled to a Swift `Regex` with RE2's semantics: matching by Unicode scalar
/// (not by grapheme cluster, so `.` is one code point and `\r\n` is two), ASCII word boundaries.
///
/// A class, not a struct: `Regex` comes from a library-evolution module, so a struct holding one has a layout
/// unknown at compile time and every copy of a line filter would go through value witnesses on the hot path.
///
/// `@unchecked Sendable`: all properties are `let`; `Regex` is an immutable value whose program, compiled lazily
/// on first use, is published with an atomic compare-and-swap, so matching from several threads at once is safe.
/// `Regex` is not declared `Sendable` only because its generic `Output` need not be.
// @unchecked Sendable invariant: immutable after init; Regex compiles lazily with an atomic publish.
public final class RE2Regex: @unchecked Sendable {  // invariant: immutable after init; lazy compile published atomically
    public let source: String
    public let tree: RE2Node
    /// The names of the capturing groups by number, from 1 (index 0, the whole match, has none); nil for `(re)`.
    public let captureNames: [String?]
    private let regex: Regex<AnyRegexOutput>

    /// Parses `source` with Go's rules (`dotMatchesNewline` is the initial `s` flag) and compiles it.
    public init(_ source: String, dotMatchesNewline: Bool) throws(RE2Error) {
        self.source = source
        tree = try RE2Parser.parse(source, dotMatchesNewline: dotMatchesNewline)
        var names: [String?] = [nil]
        Self.collectCaptures(tree, into: &names)
        captureNames = names
        do {
            regex = try Regex(tree.swiftPattern)
                .matchingSemantics(.unicodeScalar)
                .wordBoundaryKind(.simple)
                .asciiOnlyWordCharacters()
        } catch {
            // The tree only holds syntax Swift supports, so this is a Unicode property name Swift does not know.
            throw RE2Error(code: RE2Error.invalidCharRange, fragment: source)
        }
    }

    /// Whether the whole of `text` matches.
    public func wholeMatch(_ text: String) -> Bool {
        (try? regex.wholeMatch(in: text)) != nil
    }

    /// Whether some part of `text` matches.
    public func firstMatch(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }

    /// The leftmost match in `text` (RE2's leftmost-first, as Go's `FindStringSubmatch`): the whole match at
    /// index 0, then each group by number; nil for a group that did not take part. Nil when nothing matches.
    public func firstMatchGroups(_ text: String) -> [Substring?]? {
        guard let match = try? regex.firstMatch(in: text) else { return nil }
        return Self.groups(of: match)
    }

    /// The groups (as ``firstMatchGroups(_:)``) when the whole of `text` matches, else nil.
    public func wholeMatchGroups(_ text: String) -> [Substring?]? {
        guard let match = try? regex.wholeMatch(in: text) else { return nil }
        return Self.groups(of: match)
    }

    /// Every non-overlapping match, leftmost first, as Go's `FindAllStringSubmatchIndex`: each match's groups as
    /// ranges of `text` (nil for a group that did not take part).
    public func allMatchRanges(_ text: String) -> [[Range<String.Index>?]] {
        text.matches(of: regex).map { match in
            (0..<match.output.count).map { match.output[$0].range }
        }
    }

    /// The number of a group by name; nil when there is no such group. Go gives the first group of that name.
    public func groupNumber(named name: String) -> Int? {
        captureNames.firstIndex { $0 == name }
    }

    private static func groups(of match: Regex<AnyRegexOutput>.Match) -> [Substring?] {
        (0..<match.output.count).map { match.output[$0].substring }
    }

    private static func collectCaptures(_ node: RE2Node, into names: inout [String?]) {
        switch node {
        case .capture(let inner, _, let name):
            names.append(name)
            collectCaptures(inner, into: &names)
        case .group(let inner), .repetition(let inner, _, _, _):
            collectCaptures(inner, into: &names)
        case .concatenation(let items), .alternation(let items):
            for item in items { collectCaptures(item, into: &names) }
        default:
            break
        }
    }
}
