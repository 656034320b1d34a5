import Testing
@testable import AlloyLanguage

@Suite struct AlloyFormatterTests {
    @Test(arguments: [
        // `=` aligned within a run of attributes; spacing normalised.
        ("a=1\nbbb   =  2\n", "a   = 1\nbbb = 2\n"),
        // A blank line before every block; empty blocks print as `{ }`; an attribute may follow a block directly.
        ("x {\ny=1\n}\nz \"l\" {}\nw = 1\n", "x {\n\ty = 1\n}\n\nz \"l\" { }\nw = 1\n"),
        // Runs of blank lines shrink to one; trailing comments align; comments keep their place in arrays.
        (
            "a = 1 // one\nlonger = 2 // two\n\n\n\n// lone\nb = [ // open\n1,\n// inner\n2,\n]\n",
            "a      = 1 // one\nlonger = 2 // two\n\n// lone\nb = [ // open\n\t1,\n\t// inner\n\t2,\n]\n"
        ),
        // Operators are spaced, calls and indexes are not.
        ("x=-a.b[0]+f( 1,2 )*(3-4)^2||!y", "x = -a.b[0] + f(1, 2) * (3 - 4) ^ 2 || !y\n"),
        // Single-line objects keep Alloy's compact form; quoted keys stay quoted.
        ("o = {a=1, \"b c\"=2}", "o = {a = 1, \"b c\" = 2}\n"),
        // Multi-line objects are indented, aligned and get a trailing comma.
        ("o = {\na = 1,\nbb = 2,\n}", "o = {\n\ta  = 1,\n\tbb = 2,\n}\n"),
        // Raw strings pass through untouched, tabs and trailing spaces included.
        ("s = `a\tb  \nc`\n", "s = `a\tb  \nc`\n"),
        // A multi-line attribute ends the aligned run.
        ("a = [\n1,\n]\nbb = 2\nc = 3", "a = [\n\t1,\n]\nbb = 2\nc  = 3\n"),
        // Nested blocks indent with tabs.
        ("a {\n    b {\n        c = \"x\" // note\n    }\n}", "a {\n\tb {\n\t\tc = \"x\" // note\n\t}\n}\n"),
        // Block comments between tokens stay inline.
        ("a = 1 /* why */ + 2", "a = 1 /* why */ + 2\n"),
        // Calls spread over lines keep one argument group per line, with a trailing comma.
        ("v = f(\n1,\n2)", "v = f(\n\t1,\n\t2)\n"),
        ("v = f(\n1,\n2,\n)", "v = f(\n\t1,\n\t2,\n)\n"),
        // An empty argument list over two lines does not gain a comma (Alloy's printer would write `f(,`).
        ("v = f(\n)", "v = f()\n"),
        ("", "\n"),
        ("// only a comment", "// only a comment\n"),
        // Found by the long fuzz run: a comment just before a token the source gives no position of its own (a
        // selector's dot, `=`, a comma) moved across it at each formatting. It now goes after the token, wherever
        // it was; a comment inside a dotted block name goes before the name.
        ("a = string/* b */.format(\"x\")", "a = string. /* b */ format(\"x\")\n"),
        ("a = string. /* b */ format(\"x\")", "a = string. /* b */ format(\"x\")\n"),
        ("a/* b */ = 1", "a = /* b */ 1\n"),
        ("x = [1/* c */, 2]", "x = [1, /* c */ 2]\n"),
        ("loki.// c\nsource.api \"x\" {\n}\n", "// c\nloki.source.api \"x\" { }\n"),
        // A value on the line after its `=` is joined to it, so it stays in the run of aligned attributes.
        ("a = 1\nlonger =\n2\nb = 3", "a      = 1\nlonger = 2\nb      = 3\n"),
        ("o = {\na = 1,\nlonger = -\n2,\nb = 3,\n}", "o = {\n\ta      = 1,\n\tlonger = -2,\n\tb      = 3,\n}\n"),
        // A form feed inside a comment is not a line break: the newline after the comment stays.
        ("// a\u{0C}b\nx = 1", "// a\u{0C}b\nx = 1\n"),
    ])
    func golden(input: String, expected: String) throws {
        let formatted = try AlloyFormatter.format(name: "golden.alloy", text: input)
        #expect(formatted == expected)
    }

    static let corpus: [String] =
        AlloyCorpus.all.map(\.1) + [
            "a = 1 // one\nlonger = 2 // two\n\n\n\n// lone\nb = [ // open\n1,\n// inner\n2,\n]\n",
            "x {\n// first\ny=1\n\n\n// last\n}\n/* tail */\n",
            "o = {\na = [1,\n2],\n\"b\" = { c = f(1,\n2) }, // trailing\n}\n",
            "block { // header comment\n}\n",
            "a = [0, true, {\n\tk = 1,\n}]\n",
        ]

    @Test(arguments: corpus)
    func formattingIsIdempotentAndKeepsTheTree(text: String) throws {
        let original = try AlloyParser.parse(name: "corpus.alloy", text: text)
        let once = AlloyFormatter.format(original)
        let reparsed = try AlloyParser.parse(name: "formatted.alloy", text: once)
        #expect(reparsed.body.treeDescription == original.body.treeDescription)
        #expect(AlloyFormatter.format(reparsed) == once)
        #expect(reparsed.comments.flatMap(\.comments).map(\.text) == original.comments.flatMap(\.comments).map(\.text))
    }

    @Test func documentedProcessConfigFormatsCanonically() throws {
        let formatted = try AlloyFormatter.format(name: "process.alloy", text: AlloyCorpus.sourceAPI)
        #expect(formatted == """
            loki.source.api "loki_push_api" {
            	http {
            		listen_address = "0.0.0.0"
            		listen_port    = 9999
            	}
            	forward_to = [
            		loki.write.local.receiver,
            	]
            	labels = {
            		forwarded = "true",
            	}
            }

            """)
    }
}
