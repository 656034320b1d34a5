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
final class RE2Regex: @unchecked Sendable {  // invariant: immutable after init; lazy compile published atomically
    let source: String
    let tree: RE2Node
    private let regex: Regex<AnyRegexOutput>

    /// Parses `source` with Go's rules (`dotMatchesNewline` is the initial `s` flag) and compiles it.
    init(_ source: String, dotMatchesNewline: Bool) throws(RE2Error) {
        self.source = source
        tree = try RE2Parser.parse(source, dotMatchesNewline: dotMatchesNewline)
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
    func wholeMatch(_ text: String) -> Bool {
        (try? regex.wholeMatch(in: text)) != nil
    }

    /// Whether some part of `text` matches.
    func firstMatch(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }
}
