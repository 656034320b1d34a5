import Testing
import Wire

/// Unicode classes, case folding and the byte API.
@Suite struct RE2UnicodeTests {
    private func groups(_ pattern: String, _ text: String) throws -> [String?]? {
        try RE2Regex(pattern, dotMatchesNewline: false).firstMatchGroups(text).map { $0.map { $0.map(String.init) } }
    }

    @Test func generalCategoriesAndScripts() throws {
        #expect(try groups(#"\p{Lu}+"#, "abcÉÀBxy") == ["ÉÀB"])
        #expect(try groups(#"\pN+"#, "x٣4½y") == ["٣4½"])
        #expect(try groups(#"\P{L}+"#, "ab12;cd") == ["12;"])
        #expect(try groups(#"\p{Greek}+"#, "abc αβγ def") == ["αβγ"])
        #expect(try groups(#"[\p{Cyrillic}\d]+"#, "x Жж12 y") == ["Жж12"])
        #expect(try groups(#"\p{^Greek}+"#, "αβab") == ["ab"])
        #expect(try groups(#"[^\p{L}\s]+"#, "ab 12 cd") == ["12"])
        #expect(try groups(#"\p{Any}+"#, "a\nb") == ["a\nb"])
    }

    @Test func unknownPropertyNameIsAnError() {
        #expect(throws: RE2Error(code: RE2Error.invalidCharRange, fragment: #"\p{Klingon}"#)) {
            try RE2Regex(#"\p{Klingon}"#, dotMatchesNewline: false)
        }
    }

    @Test func caseFolding() throws {
        #expect(try groups("(?i)straße", "STRASSE Straße") == ["Straße"])
        #expect(try groups("(?i)éa", "xÉA") == ["ÉA"])
        #expect(try groups("(?i)k", "\u{212A}") == ["\u{212A}"])  // Kelvin sign folds to k, as in Go
        #expect(try groups("(?i)[k-l]+", "xK\u{212A}Ly") == ["K\u{212A}L"])
        #expect(try groups("(?i)[^k]", "K\u{212A}kz") == ["z"])
        #expect(try groups(#"(?i)\p{Lu}+"#, "abc") == ["abc"])
        #expect(try groups("(?i)Σ+", "σςΣ") == ["σςΣ"])
    }

    @Test func dotAndLineAnchors() throws {
        #expect(try groups("(?m)^b$", "a\nb\nc") == ["b"])
        #expect(try groups("^b$", "a\nb\nc") == nil)
        #expect(try groups("a.c", "a\nc") == nil)
        #expect(try groups("(?s)a.c", "a\nc") == ["a\nc"])
        #expect(try RE2Regex("a.c", dotMatchesNewline: true).firstMatch("a\nc"))
        #expect(try groups(#"a$"#, "a\n") == nil)  // `$` is \z without (?m), unlike Perl
    }

    @Test func nonGreedyAndCounted() throws {
        #expect(try groups("a+?", "aaa") == ["a"])
        #expect(try groups("(a{2,3}?)(a*)", "aaaa") == ["aaaa", "aa", "aa"])
        #expect(try groups("(?U)(a+)(a*)", "aaa") == ["a", "a", ""])
        #expect(try groups("(?U)(a+?)(a*)", "aaa") == ["aaa", "aaa", ""])
        #expect(try groups("x{2,}y", "xxxy xy") == ["xxxy"])
    }

    @Test func byteAPIDecodesInvalidUTF8AsReplacementCharacters() throws {
        let regex = try RE2Regex("^a.b$", dotMatchesNewline: false)
        #expect([UInt8]([0x61, 0xFF, 0x62]).withUnsafeBytes { regex.wholeMatch($0) })
        #expect(![UInt8]([0x61, 0xE6, 0x97, 0x62]).withUnsafeBytes { regex.wholeMatch($0) })  // two bad bytes
        #expect([UInt8]([0x61, 0xE6, 0x97, 0xA5, 0x62]).withUnsafeBytes { regex.wholeMatch($0) })
        #expect([UInt8]([0x78, 0x61, 0xED, 0xA0, 0x80]).withUnsafeBytes {
            try! RE2Regex("a\u{fffd}{3}", dotMatchesNewline: false).firstMatch($0)  // an encoded surrogate
        })
    }

    @Test func allMatchesSkipEmptyMatchAfterPrevious() throws {
        let regex = try RE2Regex("a*", dotMatchesNewline: false)
        // Go: "" at 0, "aaa", not the "" at 4 (where "aaa" ended), "aa", not the "" at 7.
        let text = "baaacaa"
        let found = regex.allMatchRanges(text).map { String(text[$0[0]!]) }
        #expect(found == ["", "aaa", "aa"])
        let short = "ba"
        #expect(regex.allMatchRanges(short).map { short.utf8.distance(from: short.startIndex, to: $0[0]!.lowerBound) }
            == [0, 1])
    }
}
