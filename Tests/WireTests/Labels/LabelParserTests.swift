import Testing
import TestSupport
import Wire

@Suite struct LabelParserTests {
    private func parse(_ text: String) throws -> [[String]] {
        try LabelParser.parse(text).map { [$0.name, $0.value] }
    }

    private func failure(_ text: String) -> String? {
        do {
            _ = try LabelParser.parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func parsesTheCommonForm() throws {
        #expect(try parse(#"{job="api", env="prod"}"#) == [["job", "api"], ["env", "prod"]])
        #expect(try parse(#"{job="api",env="prod"}"#) == [["job", "api"], ["env", "prod"]])
        #expect(try parse("{}") == [])
        #expect(try parse(" { } ") == [])
    }

    @Test func keepsOrderAndDuplicates() throws {
        #expect(try parse(#"{b="1", a="2", b="3"}"#) == [["b", "1"], ["a", "2"], ["b", "3"]])
    }

    @Test func dropsEmptyValuesAsLoki() throws {
        #expect(try parse(#"{a="", b="x"}"#) == [["b", "x"]])
        #expect(try parse(#"{a=""}"#) == [])
    }

    @Test func acceptsWhitespaceCommentsAndTrailingComma() throws {
        #expect(try parse("\n{\tjob\n=\r\"api\" ,\n env = \"prod\" , }\n") == [["job", "api"], ["env", "prod"]])
        #expect(try parse("{job=\"api\" # a comment\n}") == [["job", "api"]])
    }

    @Test func decodesGoEscapes() throws {
        #expect(try parse(#"{a="x\ny\t\"q\"\\"}"#) == [["a", "x\ny\t\"q\"\\"]])
        #expect(try parse(#"{a="\x41\u00e9\U0001F642\101\a\v"}"#) == [["a", "Aé🙂A\u{07}\u{0B}"]])
        #expect(try parse(#"{a='single \'quoted\''}"#) == [["a", "single 'quoted'"]])
        #expect(try parse("{a=`raw \\n \"x\"`}") == [["a", "raw \\n \"x\""]])
        #expect(try parse("{a=`multi\nline`}") == [["a", "multi\nline"]])
        #expect(try parse(#"{a="日本語 🙂"}"#) == [["a", "日本語 🙂"]])
    }

    @Test func metricNameBecomesNameLabel() throws {
        #expect(try parse(#"up{job="x"}"#) == [["__name__", "up"], ["job", "x"]])
        #expect(try parse("up") == [["__name__", "up"]])
    }

    @Test(arguments: [
        (#"{job="api""#, "1:11: parse error: unexpected end of input inside braces"),
        ("{", "1:2: parse error: unexpected end of input inside braces"),
        (#"{job}"#, #"1:5: parse error: unexpected "}" in label set, expected "=""#),
        (#"{job=~"a"}"#, #"1:5: parse error: unexpected <op:=~> in label set, expected "=""#),
        (#"{job!="a"}"#, #"1:5: parse error: unexpected <op:!=> in label set, expected "=""#),
        (#"{job=api}"#, #"1:6: parse error: unexpected identifier "api" in label set, expected string"#),
        (#"{job="a" env="b"}"#, #"1:10: parse error: unexpected identifier "env" in label set, expected "," or "}""#),
        (#"{="a"}"#, #"1:2: parse error: unexpected <op:=> in label set, expected identifier or "}""#),
        (#"{,}"#, #"1:2: parse error: unexpected "," in label set, expected identifier or "}""#),
        (#"{1a="b"}"#, "1:2: parse error: unexpected character inside braces: '1'"),
        (#"{a.b="c"}"#, "1:3: parse error: unexpected character inside braces: '.'"),
        (#"{a="b"} x"#, #"1:9: parse error: unexpected identifier "x""#),
        (#"{a="b"}}"#, #"1:8: parse error: unexpected "}""#),
        (#"{a="b\q"}"#, "1:4: parse error: unknown escape sequence U+0071 'q'"),
        ("{a=\"b\nc\"}", "1:4: parse error: unterminated quoted string"),
        (#"{a="\x4"}"#, #"1:4: parse error: illegal character '"' in escape sequence"#),
        (#"{a="\uD800"}"#, "1:4: parse error: escape sequence is an invalid Unicode code point"),
        ("{a=`b}", "1:4: parse error: unterminated raw string"),
        ("{a!b}", "1:3: parse error: unexpected character after '!' inside braces: 'b'"),
        ("{a={", "1:4: parse error: unexpected left brace '{'"),
        ("", "1:1: parse error: unexpected end of input"),
        ("\n\n  {a=\"b\"\n", "4:1: parse error: unexpected end of input inside braces"),
    ])
    func errorsUsePrometheusWording(text: String, expected: String) {
        #expect(failure(text) == expected)
    }

    @Test func fuzzedInputOnlyThrows() {
        var generator = SystemRandomNumberGenerator()
        let seeds = [#"{job="api", env="prod"}"#, #"{a="x\ny\u00e9", b=`raw`, c='s'}"#, "{}", #"up{a="b",}"#]
        let alphabet = Array("{}=!~,\"'`\\ \n\tabcxyz_019#.:uUx\u{0}é🙂")
        var parsed = 0
        for round in 0..<FuzzBudget.scaled(6000) {
            var characters = Array(seeds[round % seeds.count])
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0...characters.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0 where !characters.isEmpty:
                    characters.remove(at: min(position, characters.count - 1))
                case 1:
                    characters.insert(alphabet.randomElement(using: &generator) ?? "x", at: position)
                default:
                    if !characters.isEmpty {
                        characters[min(position, characters.count - 1)] = alphabet.randomElement(using: &generator) ?? "x"
                    }
                }
            }
            if round % 3 == 0 {
                characters = (0..<Int.random(in: 0...30, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator) ?? "x"
                }
            }
            do {
                _ = try LabelParser.parse(String(characters))
                parsed += 1
            } catch {
                #expect(error.description.contains("parse error"))
            }
        }
        #expect(parsed > 0)
    }
}
