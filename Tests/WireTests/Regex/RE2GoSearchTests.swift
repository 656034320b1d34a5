import Testing
import Wire

/// A subset of Go's `regexp/testdata/re2-search.txt` (RE2's own search tests, run by Go's `TestRE2Search`): the
/// submatch offsets Go gives for a full match (`\A(?:re)\z`) and a partial match (a leftmost-first search), nil
/// where there is no match.
struct GoSearchCase: Sendable, CustomTestStringConvertible {
    let pattern: String
    let text: String
    let full: [Int]?
    let partial: [Int]?

    init(_ pattern: String, _ text: String, full: [Int]?, partial: [Int]?) {
        self.pattern = pattern
        self.text = text
        self.full = full
        self.partial = partial
    }

    var testDescription: String { "\(pattern) on \(text.debugDescription)" }
}

let goSearchCases: [GoSearchCase] = [
    GoSearchCase("a", "a", full: [0, 1], partial: [0, 1]),
    GoSearchCase("a", "zyzzyva", full: nil, partial: [6, 7]),
    GoSearchCase("a+", "aa", full: [0, 2], partial: [0, 2]),
    GoSearchCase("(a+|b)+", "ab", full: [0, 2, 1, 2], partial: [0, 2, 1, 2]),
    GoSearchCase("ab|cd", "xabcdx", full: nil, partial: [1, 3]),
    GoSearchCase("h.*od?", "hello\ngoodbye\n", full: nil, partial: [0, 5]),
    GoSearchCase("h.*o", "goodbye\nhello\n", full: nil, partial: [8, 13]),
    GoSearchCase("h.*o", "hello world", full: nil, partial: [0, 8]),
    GoSearchCase("h.*o", "othello, world", full: nil, partial: [2, 11]),
    GoSearchCase(#"[^\s\S]"#, "aaaaaaa", full: nil, partial: nil),
    GoSearchCase("a*", "aaaaaaa", full: [0, 7], partial: [0, 7]),
    GoSearchCase("a*", "", full: [0, 0], partial: [0, 0]),
    GoSearchCase("a*b", "cab", full: nil, partial: [1, 3]),
    GoSearchCase("((((((((((((((((((((x))))))))))))))))))))", "x",
                 full: Array(repeating: [0, 1], count: 21).flatMap { $0 },
                 partial: Array(repeating: [0, 1], count: 21).flatMap { $0 }),
    GoSearchCase("[abcd]+", "xxxabcdxxx", full: nil, partial: [3, 7]),
    GoSearchCase("[^x]+", "xxxabcdxxx", full: nil, partial: [3, 7]),
    GoSearchCase("(fo|foo)", "fo", full: [0, 2, 0, 2], partial: [0, 2, 0, 2]),
    GoSearchCase("(foo|fo)", "foo", full: [0, 3, 0, 3], partial: [0, 3, 0, 3]),
    GoSearchCase("(fo|foo)", "foo", full: [0, 3, 0, 3], partial: [0, 2, 0, 2]),
    GoSearchCase("aa", "aA", full: nil, partial: nil),
    GoSearchCase("a", "Aa", full: nil, partial: [1, 2]),
    GoSearchCase("ABC", "abc", full: nil, partial: nil),
    GoSearchCase("foo|bar|[A-Z]", "foo", full: [0, 3], partial: [0, 3]),
    GoSearchCase("(foo|bar|[A-Z])$", "foo\n", full: nil, partial: nil),
    GoSearchCase("^(foo|bar|[A-Z])$", "X", full: [0, 1, 0, 1], partial: [0, 1, 0, 1]),
    GoSearchCase("^(foo|bar|[A-Z])$", "XY", full: nil, partial: nil),
    GoSearchCase("^(fo|foo)$", "foo", full: [0, 3, 0, 3], partial: [0, 3, 0, 3]),
    GoSearchCase("^^(fo|foo)$", "fo", full: [0, 2, 0, 2], partial: [0, 2, 0, 2]),
    GoSearchCase("^$", "x", full: nil, partial: nil),
    GoSearchCase("^^^^^^^^$$$$$$$$", "", full: [0, 0], partial: [0, 0]),
    GoSearchCase("^", "x", full: nil, partial: [0, 0]),
    GoSearchCase("$", "x", full: nil, partial: [1, 1]),
    GoSearchCase(#"\bfoo\b"#, "nofoo foo that", full: nil, partial: [6, 9]),
    GoSearchCase(#"a\b"#, "faoa x", full: nil, partial: [3, 4]),
    GoSearchCase(#"\bbar"#, "foo\nbar x", full: nil, partial: [4, 7]),
    GoSearchCase(#"bar\b"#, "foobar", full: nil, partial: [3, 6]),
    GoSearchCase(#"(foo|bar|[A-Z])\b"#, "foo\n", full: nil, partial: [0, 3, 0, 3]),
    GoSearchCase(#"\b"#, "", full: nil, partial: nil),
    GoSearchCase(#"\b"#, "x", full: nil, partial: [0, 0]),
    GoSearchCase(#"\b(foo|bar|[A-Z])\b"#, "ffoo bbar N x", full: nil, partial: [10, 11, 10, 11]),
    GoSearchCase(#"\b\b"#, "x", full: nil, partial: [0, 0]),
    GoSearchCase(#"\b$"#, "y x", full: nil, partial: [3, 3]),
    GoSearchCase(#"\B(fo|foo)\B"#, "xfooo", full: nil, partial: [1, 3, 1, 3]),
    GoSearchCase("^$^$", "x\ny", full: nil, partial: nil),
    GoSearchCase("$^$", "", full: [0, 0], partial: [0, 0]),
    GoSearchCase(#"(foo\$)"#, "foo$bar", full: nil, partial: [0, 4, 0, 4]),
    GoSearchCase("^...$", "日本語", full: [0, 9], partial: [0, 9]),
    GoSearchCase("^...$", ".本.", full: [0, 5], partial: [0, 5]),
    GoSearchCase("^.........$", "日本語", full: nil, partial: nil),
    GoSearchCase(#"\141"#, "a", full: [0, 1], partial: [0, 1]),
    GoSearchCase(#"\0600"#, "00", full: [0, 2], partial: [0, 2]),
    GoSearchCase(#"\608"#, "08", full: [0, 2], partial: [0, 2]),
    GoSearchCase(#"\x{00000061}"#, "a", full: [0, 1], partial: [0, 1]),
    GoSearchCase(#"\p{Greek}+"#, "aαβb", full: nil, partial: [1, 5]),
    GoSearchCase(#"\P{Greek}+"#, "aαβb", full: nil, partial: [0, 1]),
    GoSearchCase(#"\p{^Greek}+"#, "aαβb", full: nil, partial: [0, 1]),
    GoSearchCase(#"\P{^Greek}+"#, "aαβb", full: nil, partial: [1, 5]),
    GoSearchCase("[^0-9]+", "abc123", full: nil, partial: [0, 3]),
    GoSearchCase(#"\p{Nd}+"#, "abc123²³¼½¾₀₉", full: nil, partial: [3, 6]),
    GoSearchCase(#"\p{^Nd}+"#, "abc123²³¼½¾₀₉", full: nil, partial: [0, 3]),
    GoSearchCase(#"\pN+"#, "abc123²³¼½¾₀₉", full: nil, partial: [3, 22]),
    GoSearchCase(#"\p{^N}+"#, "abc123²³¼½¾₀₉", full: nil, partial: [0, 3]),
    GoSearchCase(#"\p{Any}+"#, "abc123", full: [0, 6], partial: [0, 6]),
    GoSearchCase("(?i)[@-A]+", "@AaB", full: nil, partial: [0, 3]),
    GoSearchCase("(?i)[A-Z]+", "aAzZ", full: [0, 4], partial: [0, 4]),
    GoSearchCase(#"(?i)[^\\]+"#, "Aa\\", full: nil, partial: [0, 2]),
    GoSearchCase("(?i)[acegikmoqsuwy]+", "acegikmoqsuwyACEGIKMOQSUWY", full: [0, 26], partial: [0, 26]),
    GoSearchCase("[@-A]+", "@AaB", full: nil, partial: [0, 2]),
    GoSearchCase("[A-Z]+", "aAzZ", full: nil, partial: [1, 2]),
    GoSearchCase("[acegikmoqsuwy]+", "acegikmoqsuwyACEGIKMOQSUWY", full: nil, partial: [0, 13]),
    GoSearchCase("^abc", "aabcdef", full: nil, partial: nil),
    GoSearchCase("^[ay]*[bx]+c", "aabcdef", full: nil, partial: [0, 4]),
    GoSearchCase("def$", "abcdeff", full: nil, partial: nil),
    GoSearchCase("d[ex][fy]$", "abcdef", full: nil, partial: [3, 6]),
    GoSearchCase("(?m)^abc", "aabcdef", full: nil, partial: nil),
    GoSearchCase("(?m)^[ay]*[bx]+c", "aabcdef", full: nil, partial: [0, 4]),
    GoSearchCase("(?m)def$", "abcdef", full: nil, partial: [3, 6]),
    GoSearchCase("^^", "a", full: nil, partial: [0, 0]),
    GoSearchCase("ab*", "a", full: [0, 1], partial: [0, 1]),
    GoSearchCase(#"\w*I\w*"#, "Inc.", full: nil, partial: [0, 3]),
    GoSearchCase("(?:|a)*", "aaa", full: [0, 3], partial: [0, 0]),
    GoSearchCase("(?:|a)+", "aaa", full: [0, 3], partial: [0, 0]),
]

@Suite struct RE2GoSearchTests {
    @Test(arguments: goSearchCases)
    func fullAndPartialMatch(_ test: GoSearchCase) throws {
        let regex = try RE2Regex(test.pattern, dotMatchesNewline: false)
        let text = test.text
        func offsets(_ groups: [Range<String.Index>?]) -> [Int] {
            groups.flatMap { range -> [Int] in
                guard let range else { return [-1, -1] }
                return [text.utf8.distance(from: text.startIndex, to: range.lowerBound),
                        text.utf8.distance(from: text.startIndex, to: range.upperBound)]
            }
        }
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { regex.firstMatchOffsets($0) } == test.partial)
        #expect(regex.allMatchRanges(text).first.map(offsets) == test.partial)
        #expect(regex.firstMatch(text) == (test.partial != nil))
        #expect(regex.wholeMatch(text) == (test.full != nil))
        #expect(bytes.withUnsafeBytes { regex.wholeMatch($0) } == (test.full != nil))
        let whole = regex.wholeMatchGroups(text)
        #expect((whole != nil) == (test.full != nil))
        if let whole, let full = test.full {
            // The whole match's groups as offsets (a group's substring shares the text's indices).
            let groupOffsets = whole.flatMap { group -> [Int] in
                guard let group else { return [-1, -1] }
                return [text.utf8.distance(from: text.startIndex, to: group.startIndex),
                        text.utf8.distance(from: text.startIndex, to: group.endIndex)]
            }
            #expect(groupOffsets == full)
        }
    }
}
