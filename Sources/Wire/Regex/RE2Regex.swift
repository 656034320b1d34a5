/// A regular expression in RE2 syntax, matched in time linear in the text with RE2's (Go's `regexp`) semantics:
/// matching by Unicode scalar over UTF-8 bytes (invalid bytes are U+FFFD, one byte each), leftmost-first
/// submatches, ASCII `\b`. Patterns come from users (LogQL, relabel rules, `loki.process` stages), so no pattern
/// can make a match take more than time proportional to program size times text length; see `docs/regex.md`.
///
/// Immutable after `init`; each match allocates its own scratch, so one instance serves any number of threads.
public final class RE2Regex: Sendable {
    public let source: String
    public let tree: RE2Node
    /// The names of the capturing groups by number, from 1 (index 0, the whole match, has none); nil for `(re)`.
    public let captureNames: [String?]
    let program: RE2Program

    /// Parses `source` with Go's rules (`dotMatchesNewline` is the initial `s` flag) and compiles it.
    public init(_ source: String, dotMatchesNewline: Bool) throws(RE2Error) {
        self.source = source
        tree = try RE2Parser.parse(source, dotMatchesNewline: dotMatchesNewline)
        var names: [String?] = [nil]
        Self.collectCaptures(tree, into: &names)
        captureNames = names
        program = try RE2Compiler.compile(tree, captureCount: names.count - 1, source: source)
    }

    // MARK: Bytes

    /// Whether some part of the UTF-8 `text` matches.
    public func firstMatch(_ text: UnsafeRawBufferPointer) -> Bool {
        search(text, from: 0, anchored: false, requireEnd: false, slotCount: 0) != nil
    }

    /// Whether the whole of the UTF-8 `text` matches.
    public func wholeMatch(_ text: UnsafeRawBufferPointer) -> Bool {
        search(text, from: 0, anchored: true, requireEnd: true, slotCount: 0) != nil
    }

    /// Go's `FindSubmatchIndex`: byte offsets of the leftmost match, start and end for the whole match and then
    /// for each group by number (-1 for a group that did not take part); nil when nothing matches.
    public func firstMatchOffsets(_ text: UnsafeRawBufferPointer) -> [Int]? {
        search(text, from: 0, anchored: false, requireEnd: false, slotCount: program.slotCount)
    }

    /// Go's `FindAllSubmatchIndex`: every non-overlapping match, leftmost first, as ``firstMatchOffsets(_:)``.
    /// After a match, an empty match where it ended is skipped, as Go does.
    public func allMatchOffsets(_ text: UnsafeRawBufferPointer) -> [[Int]] {
        var found: [[Int]] = []
        var position = 0
        var previousEnd = -1
        while position <= text.count {
            guard let match = search(text, from: position, anchored: false, requireEnd: false,
                                     slotCount: program.slotCount) else { break }
            var accept = true
            if match[1] == position {
                // An empty match: not right after the previous one; move on by one scalar either way.
                if match[0] == previousEnd { accept = false }
                let width = RE2UTF8.decode(text, position).width
                position += width > 0 ? width : 1
            } else {
                position = match[1]
            }
            previousEnd = match[1]
            if accept { found.append(match) }
        }
        return found
    }

    // MARK: Strings

    /// Whether the whole of `text` matches.
    public func wholeMatch(_ text: String) -> Bool {
        Self.withBytes(text) { wholeMatch($0) }
    }

    /// Whether some part of `text` matches.
    public func firstMatch(_ text: String) -> Bool {
        Self.withBytes(text) { firstMatch($0) }
    }

    /// The leftmost match in `text` (RE2's leftmost-first, as Go's `FindStringSubmatch`): the whole match at
    /// index 0, then each group by number; nil for a group that did not take part. Nil when nothing matches.
    public func firstMatchGroups(_ text: String) -> [Substring?]? {
        let offsets = Self.withBytes(text) { firstMatchOffsets($0) }
        return offsets.map { Self.substrings(text, $0) }
    }

    /// The groups (as ``firstMatchGroups(_:)``) when the whole of `text` matches, else nil.
    public func wholeMatchGroups(_ text: String) -> [Substring?]? {
        let offsets = Self.withBytes(text) {
            search($0, from: 0, anchored: true, requireEnd: true, slotCount: program.slotCount)
        }
        return offsets.map { Self.substrings(text, $0) }
    }

    /// Every non-overlapping match, leftmost first, as Go's `FindAllStringSubmatchIndex`: each match's groups as
    /// ranges of `text` (nil for a group that did not take part).
    public func allMatchRanges(_ text: String) -> [[Range<String.Index>?]] {
        let matches = Self.withBytes(text) { allMatchOffsets($0) }
        return matches.map { offsets in
            stride(from: 0, to: offsets.count, by: 2).map { Self.range(text, offsets[$0], offsets[$0 + 1]) }
        }
    }

    /// The number of a group by name; nil when there is no such group. Go gives the first group of that name.
    public func groupNumber(named name: String) -> Int? {
        captureNames.firstIndex { $0 == name }
    }

    // MARK: Engines

    /// The match found searching from byte `start` (assertions still see the text before it): `slotCount`
    /// capture slots (0 asks only whether there is a match), or nil. `anchored` tries only at `start`;
    /// `requireEnd` accepts only matches that end at the end of the text.
    func search(_ text: UnsafeRawBufferPointer, from start: Int, anchored: Bool, requireEnd: Bool, slotCount: Int)
        -> [Int]?
    {
        if RE2Backtracker.canRun(program, textCount: text.count) {
            return RE2Backtracker.search(program, text, from: start, anchored: anchored, requireEnd: requireEnd,
                                         slotCount: slotCount)
        }
        return RE2PikeVM.search(program, text, from: start, anchored: anchored, requireEnd: requireEnd,
                                slotCount: slotCount)
    }

    private static func withBytes<Result>(_ text: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var copy = text
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    private static func range(_ text: String, _ start: Int, _ end: Int) -> Range<String.Index>? {
        guard start >= 0, end >= start else { return nil }
        let utf8 = text.utf8
        let lower = utf8.index(utf8.startIndex, offsetBy: start)
        return lower..<utf8.index(lower, offsetBy: end - start)
    }

    private static func substrings(_ text: String, _ offsets: [Int]) -> [Substring?] {
        stride(from: 0, to: offsets.count, by: 2).map { index in
            // Through the scalar view: group bounds fall on scalars, not necessarily on characters.
            range(text, offsets[index], offsets[index + 1]).map { Substring(text.unicodeScalars[$0]) }
        }
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
