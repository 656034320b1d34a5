import Testing
import TestSupport
import Wire

@Suite("GoQuote matches Go's strconv.Quote")
struct GoQuoteTests {
    @Test(arguments: [
        ("", #""""#),
        ("hello", #""hello""#),
        ("a b'`", #""a b'`""#),
        ("\u{7}\u{8}\u{C}\n\r\t\u{B}\\\"", #""\a\b\f\n\r\t\v\\\"""#),
        ("\u{0}", #""\x00""#),
        ("\u{1B}[0m", #""\x1b[0m""#),
        ("\u{7F}", #""\x7f""#),
        ("é日本😀", "\"é日本😀\""),
        ("e\u{301}", "\"e\u{301}\""),                 // combining mark: printable
        ("\u{FFFD}", "\"\u{FFFD}\""),                 // a real U+FFFD is printable
        ("\u{1F1FA}\u{1F1F8}", "\"\u{1F1FA}\u{1F1F8}\""),
        ("\u{85}", #""\u0085""#),                     // C1 control
        ("\u{A0}", #""\u00a0""#),                     // no-break space: not printable in Go
        ("\u{200B}", #""\u200b""#),                   // format character
        ("\u{FEFF}", #""\ufeff""#),
        ("\u{2028}", #""\u2028""#),
        ("\u{E000}", #""\ue000""#),                   // private use
        ("\u{10FFFF}", #""\U0010ffff""#),             // noncharacter
        ("\u{E0001}", #""\U000e0001""#),              // tag character
    ])
    func quote(input: String, expected: String) {
        #expect(GoQuote.quote(input) == expected)
    }

    @Test func invalidUTF8BytesBecomeHexEscapes() {
        let cases: [([UInt8], String)] = [
            ([0xFF, 0x41, 0xC3], #""\xffA\xc3""#),
            ([0xC0, 0x80], #""\xc0\x80""#),                       // overlong NUL
            ([0xED, 0xA0, 0x80], #""\xed\xa0\x80""#),             // surrogate
            ([0xF4, 0x90, 0x80, 0x80], #""\xf4\x90\x80\x80""#),   // above U+10FFFF
            ([0xE2, 0x82, 0x41], #""\xe2\x82A""#),                // truncated sequence
            ([0xC3, 0xA9, 0x80], "\"é\\x80\""),
        ]
        for (bytes, expected) in cases {
            let quoted = bytes.withUnsafeBufferPointer { GoQuote.quote(utf8: $0) }
            #expect(quoted == expected, "\(bytes)")
        }
    }

    @Test(arguments: [
        (#""a\tb\x41\101\u00e9\U0001F600\\\"""#, "a\tbAAé😀\\\""),
        ("`raw\\n\r`", "raw\\n"),                     // raw: no escapes, carriage returns dropped
        (#""""#, ""),
    ])
    func unquote(literal: String, expected: String) {
        #expect(GoQuote.unquote(literal) == expected)
    }

    /// What Go's `strconv.Unquote` refuses.
    @Test(arguments: [
        "", "\"", #""a"#, #""a"b""#, "\"a\nb\"", #""\q""#, #""\'""#, #""\400""#, #""\x4""#, #""\ud800""#,
        #""\U00110000""#, "`a`b`", #""\""#,
    ])
    func unquoteRefuses(literal: String) {
        #expect(GoQuote.unquote(literal) == nil)
    }

    /// Property: what `quote` writes, `unquote` reads back, for any text.
    @Test func unquoteReadsBackWhatQuoteWrites() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x60_9107))
        let alphabet: [Unicode.Scalar] = ["a", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{7F}", "é", "\u{85}", "\u{A0}",
                                          "\u{200B}", "\u{FFFD}", "😀", "\u{E0001}", "`", "'"]
        for _ in 0..<FuzzBudget.scaled(2_000) {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<24, using: &random) {
                text.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
            }
            let string = String(text)
            #expect(GoQuote.unquote(GoQuote.quote(string)) == string, "\(GoQuote.quote(string))")
        }
    }
}
