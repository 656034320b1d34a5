import Testing
@testable import Wire

/// Go's `regexp/find_test.go` table (`findTests`): each pattern, text and the `FindAllStringSubmatchIndex`
/// result Go gives, with `build(n, ...)` written out as its n matches.
struct GoFindCase: Sendable, CustomTestStringConvertible {
    let pattern: String
    let text: [UInt8]
    let matches: [[Int]]

    init(_ pattern: String, _ text: String, _ count: Int = 0, _ flat: Int...) {
        self.init(pattern, Array(text.utf8), count, flat)
    }

    init(_ pattern: String, bytes: [UInt8], _ count: Int, _ flat: Int...) {
        self.init(pattern, bytes, count, flat)
    }

    private init(_ pattern: String, _ text: [UInt8], _ count: Int, _ flat: [Int]) {
        self.pattern = pattern
        self.text = text
        if count == 0 {
            matches = []
        } else {
            let length = flat.count / count
            matches = (0..<count).map { Array(flat[($0 * length)..<($0 * length + length)]) }
        }
    }

    var testDescription: String { "\(pattern) on \(String(decoding: text, as: UTF8.self).debugDescription)" }
}

let goFindCases: [GoFindCase] = [
    GoFindCase(#""#, "", 1, 0, 0),
    GoFindCase(#"^abcdefg"#, "abcdefg", 1, 0, 7),
    GoFindCase(#"a+"#, "baaab", 1, 1, 4),
    GoFindCase(#"a"#, "bababaab", 4, 1, 2, 3, 4, 5, 6, 6, 7),
    GoFindCase(#"abcd.."#, "abcdef", 1, 0, 6),
    GoFindCase(#"a"#, "a", 1, 0, 1),
    GoFindCase(#"x"#, "y"),
    GoFindCase(#"b"#, "abc", 1, 1, 2),
    GoFindCase(#"."#, "a", 1, 0, 1),
    GoFindCase(#".*"#, "abcdef", 1, 0, 6),
    GoFindCase(#"^"#, "abcde", 1, 0, 0),
    GoFindCase(#"$"#, "abcde", 1, 5, 5),
    GoFindCase(#"^abcd$"#, "abcd", 1, 0, 4),
    GoFindCase(#"^bcd'"#, "abcdef"),
    GoFindCase(#"^abcd$"#, "abcde"),
    GoFindCase(#"a*"#, "baaab", 3, 0, 0, 1, 4, 5, 5),
    GoFindCase(#"[a-z]+"#, "abcd", 1, 0, 4),
    GoFindCase(#"[^a-z]+"#, "ab1234cd", 1, 2, 6),
    GoFindCase(#"[a\-\]z]+"#, "az]-bcz", 2, 0, 4, 6, 7),
    GoFindCase(#"[^\n]+"#, "abcd\n", 1, 0, 4),
    GoFindCase(#"[日本語]+"#, "日本語日本語", 1, 0, 18),
    GoFindCase(#"日本語+"#, "日本語", 1, 0, 9),
    GoFindCase(#"日本語+"#, "日本語語語語", 1, 0, 18),
    GoFindCase(#"()"#, "", 1, 0, 0, 0, 0),
    GoFindCase(#"(a)"#, "a", 1, 0, 1, 0, 1),
    GoFindCase(#"(.)(.)"#, "日a", 1, 0, 4, 0, 3, 3, 4),
    GoFindCase(#"(.*)"#, "", 1, 0, 0, 0, 0),
    GoFindCase(#"(.*)"#, "abcd", 1, 0, 4, 0, 4),
    GoFindCase(#"(..)(..)"#, "abcd", 1, 0, 4, 0, 2, 2, 4),
    GoFindCase(#"(([^xyz]*)(d))"#, "abcd", 1, 0, 4, 0, 4, 0, 3, 3, 4),
    GoFindCase(#"((a|b|c)*(d))"#, "abcd", 1, 0, 4, 0, 4, 2, 3, 3, 4),
    GoFindCase(#"(((a|b|c)*)(d))"#, "abcd", 1, 0, 4, 0, 4, 0, 3, 2, 3, 3, 4),
    GoFindCase(#"\a\f\n\r\t\v"#, "\u{07}\u{0C}\n\r\t\u{0B}", 1, 0, 6),
    GoFindCase(#"[\a\f\n\r\t\v]+"#, "\u{07}\u{0C}\n\r\t\u{0B}", 1, 0, 6),
    GoFindCase(#"a*(|(b))c*"#, "aacc", 1, 0, 4, 2, 2, -1, -1),
    GoFindCase(#"(.*).*"#, "ab", 1, 0, 2, 0, 2),
    GoFindCase(#"[.]"#, ".", 1, 0, 1),
    GoFindCase(#"/$"#, "/abc/", 1, 4, 5),
    GoFindCase(#"/$"#, "/abc"),
    // multiple matches
    GoFindCase(#"."#, "abc", 3, 0, 1, 1, 2, 2, 3),
    GoFindCase(#"(.)"#, "abc", 3, 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 3),
    GoFindCase(#".(.)"#, "abcd", 2, 0, 2, 1, 2, 2, 4, 3, 4),
    GoFindCase(#"ab*"#, "abbaab", 3, 0, 3, 3, 4, 4, 6),
    GoFindCase(#"a(b*)"#, "abbaab", 3, 0, 3, 1, 3, 3, 4, 4, 4, 4, 6, 5, 6),
    // fixed bugs
    GoFindCase(#"ab$"#, "cab", 1, 1, 3),
    GoFindCase(#"axxb$"#, "axxcb"),
    GoFindCase(#"data"#, "daXY data", 1, 5, 9),
    GoFindCase(#"da(.)a$"#, "daXY data", 1, 5, 9, 7, 8),
    GoFindCase(#"zx+"#, "zzx", 1, 1, 3),
    GoFindCase(#"ab$"#, "abcab", 1, 3, 5),
    GoFindCase(#"(aa)*$"#, "a", 1, 1, 1, -1, -1),
    GoFindCase(#"(?:.|(?:.a))"#, ""),
    GoFindCase(#"(?:A(?:A|a))"#, "Aa", 1, 0, 2),
    GoFindCase(#"(?:A|(?:A|a))"#, "a", 1, 0, 1),
    GoFindCase(#"(a){0}"#, "", 1, 0, 0, -1, -1),
    GoFindCase(#"(?-s)(?:(?:^).)"#, "\n"),
    GoFindCase(#"(?s)(?:(?:^).)"#, "\n", 1, 0, 1),
    GoFindCase(#"(?:(?:^).)"#, "\n"),
    GoFindCase(#"\b"#, "x", 2, 0, 0, 1, 1),
    GoFindCase(#"\b"#, "xx", 2, 0, 0, 2, 2),
    GoFindCase(#"\b"#, "x y", 4, 0, 0, 1, 1, 2, 2, 3, 3),
    GoFindCase(#"\b"#, "xx yy", 4, 0, 0, 2, 2, 3, 3, 5, 5),
    GoFindCase(#"\B"#, "x"),
    GoFindCase(#"\B"#, "xx", 1, 1, 1),
    GoFindCase(#"\B"#, "x y"),
    GoFindCase(#"\B"#, "xx yy", 2, 1, 1, 4, 4),
    GoFindCase(#"(|a)*"#, "aa", 3, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2),
    GoFindCase(#"0A|0[aA]"#, "0a", 1, 0, 2),
    GoFindCase(#"0[aA]|0A"#, "0a", 1, 0, 2),
    // multibyte characters: no match starts in the middle of one
    GoFindCase("[a-c]*", "\u{65e5}", 2, 0, 0, 3, 3),
    GoFindCase("[^\u{65e5}]", "abc\u{65e5}def", 6, 0, 1, 1, 2, 2, 3, 6, 7, 7, 8, 8, 9),
    // RE2 tests
    GoFindCase(#"[^\S\s]"#, "abcd"),
    GoFindCase(#"[^\S[:space:]]"#, "abcd"),
    GoFindCase(#"[^\D\d]"#, "abcd"),
    GoFindCase(#"[^\D[:digit:]]"#, "abcd"),
    GoFindCase(#"(?i)\W"#, "x"),
    GoFindCase(#"(?i)\W"#, "k"),
    GoFindCase(#"(?i)\W"#, "s"),
    // can backslash-escape any punctuation
    GoFindCase(##"\!\"\#\$\%\&\'\(\)\*\+\,\-\.\/\:\;\<\=\>\?\@\[\\\]\^\_\{\|\}\~"##,
               ##"!"#$%&'()*+,-./:;<=>?@[\]^_{|}~"##, 1, 0, 31),
    GoFindCase(##"[\!\"\#\$\%\&\'\(\)\*\+\,\-\.\/\:\;\<\=\>\?\@\[\\\]\^\_\{\|\}\~]+"##,
               ##"!"#$%&'()*+,-./:;<=>?@[\]^_{|}~"##, 1, 0, 31),
    GoFindCase("\\`", "`", 1, 0, 1),
    GoFindCase("[\\`]+", "`", 1, 0, 1),
    // invalid UTF-8 is U+FFFD, one byte at a time
    GoFindCase("\u{fffd}", bytes: [0xFF], 1, 0, 1),
    GoFindCase("\u{fffd}", bytes: Array("hello".utf8) + [0xFF] + Array("world".utf8), 1, 5, 6),
    GoFindCase(#".*"#, bytes: Array("hello".utf8) + [0xFF] + Array("world".utf8), 1, 0, 11),
    GoFindCase(#"\x{fffd}"#, bytes: [0xC2, 0x00], 1, 0, 1),
    GoFindCase("[\u{fffd}]", bytes: [0xFF], 1, 0, 1),
    GoFindCase(#"[\x{fffd}]"#, bytes: [0xC2, 0x00], 1, 0, 1),
    // long set of matches
    GoFindCase(".", "qwertyuiopasdfghjklzxcvbnm1234567890", 36,
               0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10,
               10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20,
               20, 21, 21, 22, 22, 23, 23, 24, 24, 25, 25, 26, 26, 27, 27, 28, 28, 29, 29, 30,
               30, 31, 31, 32, 32, 33, 33, 34, 34, 35, 35, 36),
]

@Suite struct RE2GoFindTests {
    @Test(arguments: goFindCases)
    func findAllSubmatchIndex(_ test: GoFindCase) throws {
        let regex = try RE2Regex(test.pattern, dotMatchesNewline: false)
        let all = test.text.withUnsafeBytes { regex.allMatchOffsets($0) }
        #expect(all == test.matches)
        let first = test.text.withUnsafeBytes { regex.firstMatchOffsets($0) }
        #expect(first == test.matches.first)
        let found = test.text.withUnsafeBytes { regex.firstMatch($0) }
        #expect(found == !test.matches.isEmpty)
    }

    /// Both engines, forced, give Go's answer (the public API picks one by size).
    @Test(arguments: goFindCases)
    func bothEnginesAgreeWithGo(_ test: GoFindCase) throws {
        let regex = try RE2Regex(test.pattern, dotMatchesNewline: false)
        let slots = regex.program.slotCount
        test.text.withUnsafeBytes { text in
            let pike = RE2PikeVM.search(regex.program, text, from: 0, anchored: false, requireEnd: false,
                                        slotCount: slots)
            let backtrack = RE2Backtracker.search(regex.program, text, from: 0, anchored: false, requireEnd: false,
                                                  slotCount: slots)
            #expect(pike == test.matches.first)
            #expect(backtrack == test.matches.first)
        }
    }
}
