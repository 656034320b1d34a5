import Testing
@testable import AlloyLanguage

@Suite struct AlloyParserTests {
    @Test(arguments: AlloyCorpus.all)
    func documentedConfigsParse(name: String, text: String) throws {
        let file = try AlloyParser.parse(name: name + ".alloy", text: text)
        #expect(!file.body.statements.isEmpty)
    }

    @Test func otlpPipelineHasComponentsAndReferences() throws {
        let file = try AlloyParser.parse(name: "config.alloy", text: AlloyCorpus.otlpToLoki)
        #expect(file.body.blocks.map(\.id) == [
            "otelcol.receiver.otlp.default", "otelcol.processor.batch.default", "otelcol.exporter.loki.default",
            "loki.write.local",
        ])
        let receiver = file.body.blocks[0]
        #expect(receiver.name == ["otelcol", "receiver", "otlp"])
        #expect(receiver.fullName == "otelcol.receiver.otlp")
        #expect(receiver.label == "default")
        #expect(receiver.nameRange.start == SourcePosition(line: 2, column: 1, offset: 47))
        #expect(receiver.body.blocks.map(\.fullName) == ["http", "grpc", "output"])
        #expect(receiver.body.references.map(\.description) == [
            "otelcol.processor.batch.default.input", "otelcol.processor.batch.default.input",
            "otelcol.processor.batch.default.input",
        ])
        let write = file.body.blocks[3]
        #expect(write.body.references.map(\.description) == ["sys.env", "sys.env", "constants.hostname"])
        #expect(file.comments.map { $0.comments.map(\.text) } == [["// Receive OTLP, batch, and send logs to Loki."]])
    }

    @Test func referencesStopAtIndexesAndCalls() throws {
        let (_, expression) = try AlloyParser.parseExpression(#"a.b[0].c + f(x.y).z + [k.v]"#)
        let references = expression.references
        #expect(references.map(\.path) == [["a", "b"], ["f"], ["x", "y"], ["k", "v"]])
        #expect(references[0].range.start.column == 1)
        #expect(references[0].range.end.column == 4)
    }

    @Test(arguments: [
        ("a = 1", "(body (attr a 1))"),
        ("a = 1.5e3", "(body (attr a 1.5e3))"),
        (#"a = "x\u00e9\t""#, #"(body (attr a "x\u00e9\t"))"#),
        ("a = `raw\n\\n`", "(body (attr a `raw\n\\n`))"),
        ("a = true\nb = false\nc = null", "(body (attr a true) (attr b false) (attr c null))"),
        ("a = [1, 2,]", "(body (attr a [1 2]))"),
        ("a = []", "(body (attr a []))"),
        ("a = {}", "(body (attr a {}))"),
        (#"a = { b = 1, "c d" = 2, }"#, #"(body (attr a {b=1 "c d"=2}))"#),
        ("a = 1 || 2 && 3 == 4 + 5 * 6 ^ 7 ^ 8", "(body (attr a (|| 1 (&& 2 (== 3 (+ 4 (* 5 (^ 6 (^ 7 8)))))))))"),
        ("a = 1 - 2 - 3", "(body (attr a (- (- 1 2) 3)))"),
        ("a = 8 / 4 % 3 * 2", "(body (attr a (* (% (/ 8 4) 3) 2)))"),
        ("a = -b.c[1](2)", "(body (attr a (- (call (index (. b c) 1) 2))))"),
        ("a = !!x", "(body (attr a (! (! x))))"),
        ("a = (1 + 2) * 3", "(body (attr a (* (paren (+ 1 2)) 3)))"),
        ("a = 1 < 2 != 3 >= 4", "(body (attr a (>= (!= (< 1 2) 3) 4)))"),
        ("a = f(\n  1,\n  2,\n)", "(body (attr a (call f 1 2)))"),
        ("b {}", "(body (block b (body)))"),
        (#"b "l" { c = 1 }"#, #"(body (block b "l" (body (attr c 1))))"#),
        ("a.b.c {\n  d.e {\n  }\n}", "(body (block a.b.c (body (block d.e (body)))))"),
        ("a = 1 // c\n/* d */ b = 2", "(body (attr a 1) (attr b 2))"),
        ("a = 1 /* inline */ + 2", "(body (attr a (+ 1 2)))"),
        ("\u{FEFF}a = 1\r\nb = 2\r\n", "(body (attr a 1) (attr b 2))"),
        ("ünïcode = 1", "(body (attr ünïcode 1))"),
        ("", "(body)"),
    ])
    func validSnippets(text: String, tree: String) throws {
        let file = try AlloyParser.parse(name: "snippet.alloy", text: text)
        #expect(file.body.treeDescription == tree)
    }

    @Test(arguments: [
        ("a = ", ["1:5: expected expression, got EOF"]),
        ("foo bar", ["1:5: expected block label, got IDENT"]),
        ("a = 1 b = 2", ["1:7: expected TERMINATOR, got IDENT"]),
        ("loki.write \"default\" {\n  endpoint {\n    url = \"x\"\n  }\n", ["5:1: expected }, got EOF"]),
        ("x = [1, 2\n]", ["1:10: missing ',' in expression list"]),
        ("x = {a = 1 b = 2}", ["1:12: missing ',' in field list"]),
        ("x = \"abc", ["1:5: string literal not terminated"]),
        ("x = 'a'", ["1:5: illegal single-quoted string; use double quotes", "1:5: expected expression, got ILLEGAL"]),
        ("a.b = 1", [#"1:1: attribute names may only consist of a single identifier with no ".""#]),
        ("a \"x\" = 1", ["1:3: attribute names may not have labels"]),
        ("block \"not-valid\" {}", [#"1:7: expected block label to be a valid identifier, but got "not-valid""#]),
        ("block `raw` {}", [#"1:7: expected block label to be a double quoted string, but got "`raw`""#]),
        ("x = 1 +", ["1:8: expected expression, got EOF"]),
        ("x = 0x10", ["1:6: expected TERMINATOR, got IDENT"]),
        ("x = 1e", ["1:5: exponent has no digits"]),
        (#"x = "\q""#, ["1:7: unknown escape sequence"]),
        (#"x = "\uD800""#, ["1:7: escape sequence is invalid Unicode code point"]),
        ("x = 1 | 2", ["1:8: missing second | in ||"]),
        ("x = @", ["1:5: illegal character U+0040 '@'", "1:5: expected expression, got ILLEGAL"]),
        ("/* open", ["1:1: block comment not terminated"]),
        ("x = a \"b\" { c = 1 }", ["1:5: cannot use a block as an expression"]),
        ("a = 1 2\nb = }\nc = [1 2]", [
            "1:7: expected TERMINATOR, got NUMBER", "2:5: expected expression, got }",
            "3:8: missing ',' in expression list",
        ]),
        ("{ a = 1 }", ["1:1: expected IDENT, got {"]),
        ("a = 1\n= 2", ["2:1: expected IDENT, got ="]),
        // Alloy's scanner refuses a NUL byte anywhere, a string literal included, and a byte-order mark past the
        // file's first character; one at the very start is skipped.
        ("x = \"a\u{0}b\"", ["1:7: illegal character NUL"]),
        ("x = 1\u{0}", ["1:6: illegal character NUL", "1:6: expected TERMINATOR, got ILLEGAL"]),
        ("x = \"a\u{FEFF}b\"", ["1:7: illegal byte order mark"]),
        ("x = 1\n\u{FEFF}", ["2:1: illegal byte order mark", "2:1: expected IDENT, got ILLEGAL"]),
        ("\u{FEFF}x = 1", []),
    ])
    func invalidSnippets(text: String, expected: [String]) {
        #expect(parseErrors(text) == expected)
    }

    @Test func diagnosticShowsFileLineColumnSourceAndCaret() {
        do {
            _ = try AlloyParser.parse(name: "agent.alloy", text: "loki.write \"x\" {\n\tendpoint {\n\t\turl == \"a\"\n\t}\n}\n")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.items.count == 1)
            #expect(error.description == "agent.alloy:3:7: expected block label, got ==\n\t\turl == \"a\"\n\t\t    ^")
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let depth = 5_000
        let arrays = "a = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(parseErrors(arrays).first?.contains("nested too deeply") == true)
        let chain = "a = " + Array(repeating: "1", count: 5_000).joined(separator: " + ")
        #expect(parseErrors(chain).first?.contains("nested too deeply") == true)
        let blocks = String(repeating: "a {\n", count: depth) + String(repeating: "}\n", count: depth)
        #expect(parseErrors(blocks).first?.contains("nested too deeply") == true)
        let unary = "a = " + String(repeating: "!", count: depth) + "true"
        #expect(parseErrors(unary).first?.contains("nested too deeply") == true)
        let power = "a = " + Array(repeating: "2", count: depth).joined(separator: " ^ ")
        #expect(parseErrors(power).first?.contains("nested too deeply") == true)
    }

    @Test func nestingAtTheLimitParsesEvaluatesAndFormats() throws {
        let depth = AlloyParser.maximumNesting - 2
        let text = "a = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let file = try AlloyParser.parse(name: "deep.alloy", text: text)
        guard case .attribute(let attribute) = file.body.statements.first else {
            Issue.record("expected an attribute")
            return
        }
        _ = try Evaluator.evaluate(attribute.value, in: Scope(), file: file)
        #expect(AlloyFormatter.format(file) == text + "\n")
        let chain = "a = " + Array(repeating: "1", count: AlloyParser.maximumExpressionHeight - 1).joined(separator: " + ")
        let chainFile = try AlloyParser.parse(name: "chain.alloy", text: chain)
        guard case .attribute(let sum) = chainFile.body.statements.first else { return }
        #expect(try Evaluator.evaluate(sum.value, in: Scope(), file: chainFile) == .int(AlloyParser.maximumExpressionHeight - 1))
    }
}
