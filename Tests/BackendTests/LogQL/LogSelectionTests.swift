import Testing
import TestSupport
@testable import Backend

@Suite struct LogSelectionTests {
    private func failure(_ query: String) -> LogQLError? {
        do {
            _ = try LogSelection.parse(query)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesSelectorAndFilters() throws {
        let selection = try LogSelection.parse(#"{app="api", env=~"prod|staging", team!="x", zone!~"eu-.*"} |= "error" != "timeout" |~ "status=5.." !~ `(?i)debug`"#)
        #expect(selection.matchers.map(\.description) == [
            #"app="api""#, #"env=~"prod|staging""#, #"team!="x""#, #"zone!~"eu-.*""#,
        ])
        #expect(selection.lineFilters.filters.map(\.kind) == [.contains, .notContains, .regex, .notRegex])
        #expect(selection.lineFilters.filters.map(\.patterns) == [["error"], ["timeout"], ["status=5.."], ["(?i)debug"]])
    }

    @Test func acceptsLokiSpellings() throws {
        // Whitespace and comments anywhere, backquoted strings, quoted label names, `or` alternatives.
        let selection = try LogSelection.parse("""
            # the api's errors
            {  "app" = `api`  ,
               env="prod" } // go comment
            |= "a" or "b" /* block */ != "c" or `d`
            """)
        #expect(selection.matchers.map(\.name) == ["app", "env"])
        #expect(selection.lineFilters.filters.map(\.patterns) == [["a", "b"], ["c", "d"]])
        let none = try LogSelection.parse(#"{app="x"}"#)
        #expect(none.lineFilters.isEmpty)
    }

    @Test func stringEscapesFollowGo() throws {
        let selection = try LogSelection.parse(#"{a="x\ty\u00e9\x41"} |= "\"quoted\"\n""#)
        #expect(selection.matchers[0].value == "x\tyéA")
        #expect(selection.lineFilters.filters[0].patterns == ["\"quoted\"\n"])
    }

    @Test func lineFilterSemanticsThroughTheParser() throws {
        let selection = try LogSelection.parse(#"{a="b"} |= "x" or "y" != "z" or "w""#)
        func keeps(_ line: String) -> Bool {
            Array(line.utf8).withUnsafeBytes { selection.lineFilters.matches($0) }
        }
        #expect(keeps("has x"))
        #expect(keeps("has y"))
        #expect(!keeps("has neither"))
        #expect(!keeps("x and z"))
        #expect(!keeps("y and w"))
    }

    @Test(arguments: [
        (#"{job="x""#, 1, 9, "syntax error: unexpected $end, expecting } or ,"),
        (#"{job="x" env="y"}"#, 1, 10, "syntax error: unexpected IDENTIFIER, expecting } or ,"),
        ("{", 1, 2, "syntax error: unexpected $end, expecting IDENTIFIER or STRING or }"),
        ("{=", 1, 2, "syntax error: unexpected =, expecting IDENTIFIER or STRING or }"),
        ("{job}", 1, 5, "syntax error: unexpected }, expecting = or =~ or !~ or !="),
        ("{job=}", 1, 6, "syntax error: unexpected }, expecting STRING"),
        ("{job=x}", 1, 6, "syntax error: unexpected IDENTIFIER, expecting STRING"),
        ("{job='x'}", 1, 6, "syntax error: unexpected IDENTIFIER, expecting STRING"),
        (#"{job="x",}"#, 1, 10, "syntax error: unexpected }, expecting IDENTIFIER or STRING"),
        (#"{job="x"} |="#, 1, 13, "syntax error: unexpected $end, expecting STRING or ip"),
        (#"{job="x"} |= foo"#, 1, 14, "syntax error: unexpected IDENTIFIER, expecting STRING or ip"),
        (#"{job="x"} |= "a" or"#, 1, 20, "syntax error: unexpected $end, expecting STRING or ip"),
        (#"{job="x"} foo"#, 1, 11, "syntax error: unexpected IDENTIFIER"),
        (#"{job="x"} "a""#, 1, 11, "syntax error: unexpected STRING"),
        (#"{job="x"} |= "a" "b""#, 1, 18, "syntax error: unexpected STRING"),
        (#"{job="x"} |= "a" 5m"#, 1, 18, "syntax error: unexpected DURATION"),
        (#"{job="x"}[5m]"#, 1, 10, "syntax error: unexpected RANGE"),
        (#"{job="x"} }"#, 1, 11, "syntax error: unexpected }"),
        (#"{job="x"} |"#, 1, 12, "syntax error: unexpected $end"),
        (#"{job="x"} | unwrap"#, 1, 13, "syntax error: unexpected unwrap"),
        ("foo", 1, 1, "syntax error: unexpected IDENTIFIER"),
        ("   ", 1, 4, "syntax error: unexpected $end"),
        ("{or=\"x\"}", 1, 2, "syntax error: unexpected or, expecting IDENTIFIER or STRING or }"),
        ("{job=\"x\"}\n  |= \"a\"\n  | = \"b\"", 3, 5, "syntax error: unexpected ="),
        (#"{job="x} |= "a""#, 1, 14, "syntax error: unexpected IDENTIFIER, expecting } or ,"),
        (#"{job="x"} |= "abc"#, 1, 14, "literal not terminated"),
        ("{job=\"x\\q\"}", 1, 6, "invalid char escape"),
        ("{job=`x}", 1, 6, "literal not terminated"),
        ("{job=\"x\"} |= \"日本\" |= 語", 1, 22, "syntax error: unexpected IDENTIFIER, expecting STRING or ip"),
        (#"{a="b"} /* x"#, 1, 9, "comment not terminated"),
    ])
    func syntaxErrorsUseLokisWordingAndPosition(query: String, line: Int, column: Int, message: String) {
        let error = failure(query)
        #expect(error?.kind == .parse)
        #expect(error?.line == line)
        #expect(error?.column == column)
        #expect(error?.message == message)
        #expect(error?.description == "parse error at line \(line), col \(column): \(message)")
    }

    @Test func emptyQueryHasNoPosition() {
        #expect(failure("")?.description == "parse error : syntax error: unexpected $end")
    }

    @Test(arguments: [
        #"{app=~".*"}"#, #"{app=""}"#, #"{app!="x"}"#, #"{app!~"x"}"#, #"{app=~".*", env=""}"#, "{}",
        #"{app=~"a|"}"#,
    ])
    func selectorsMatchingEverythingAreRejected(query: String) {
        #expect(failure(query)?.description == """
            parse error : queries require at least one regexp or equality matcher that does not have an \
            empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will
            """)
    }

    @Test(arguments: [#"{app=~".+"}"#, #"{app="x", env=~".*"}"#, #"{app!~".*"}"#, #"{app=~"a|b"}"#])
    func selectorsNarrowingStreamsAreAccepted(query: String) throws {
        _ = try LogSelection.parse(query)
    }

    @Test(arguments: [
        (#"{app="x"} | json"#, "a log pipeline stage"),
        (#"{app="x"} |= "a" | logfmt | level="error""#, "a log pipeline stage"),
        (#"{app="x"} | level="error""#, "a log pipeline stage"),
        (#"rate({app="x"}[5m])"#, "a metric query"),
        (#"sum by (app) (count_over_time({app="x"}[1m]))"#, "a metric query"),
        ("42", "a metric query"),
    ])
    func onlySelectorsAndLineFiltersAreASelection(query: String, mentions: String) {
        let error = failure(query)
        #expect(error?.kind == .unsupported)
        #expect(error?.description == "unsupported query: \(mentions) is not allowed here; write a stream selector and line filters only")
    }

    @Test func invalidRegexesAreNamed() {
        #expect(failure(#"{app=~"(api"}"#)?.description
            == "parse error : error parsing regexp: missing closing ): `(api`")
        #expect(failure(#"{app="x"} |~ "a**""#)?.description
            == "parse error : error parsing regexp: invalid nested repetition operator: `**`")
        #expect(failure(#"{app="x"} |~ "(?=x)""#)?.description
            == "parse error : error parsing regexp: invalid or unsupported Perl syntax: `(?=`")
        #expect(failure(#"{app="x"} |~ "\\1""#)?.description
            == #"parse error : error parsing regexp: invalid escape sequence: `\1`"#)
    }

    @Test func overlongQueriesAreRefused() {
        let query = #"{app="x"} |= ""# + String(repeating: "a", count: 5200) + "\""
        #expect(failure(query)?.description == "parse error : input size too long (5215 > 5120)")
    }

    @Test func fuzzedQueriesOnlyThrow() {
        var generator = SeededRandom(seed: FuzzBudget.seed(0x109_0_1))
        let seeds = [
            #"{app="api", env=~"prod|staging"} |= "error" != "timeout" |~ "status=5.." !~ `(?i)debug`"#,
            #"{a!~"x.*y"} |= "a" or "b""#,
            #"rate({app="x"}[5m])"#,
            #"{app="x"} | json | level="error" # c"#,
            "{a=\"\\x41\\u00e9\"} |~ \"[a-z]+\\\\d{2,3}(?P<n>x)\"",
        ]
        let pieces = ["{", "}", "=", "!=", "=~", "!~", "|=", "|~", "|", ",", "\"", "`", "'", "\\", " ", "\n", "or",
                      "a", "x", "5m", "[", "]", "(", ")", "*", "+", "?", ".*", "(?i)", "#", "/*", "日", "\u{0}", "json",
                      "rate", "ip", "--strict", "-", "1e3", "0x1f"]
        var parsed = 0
        for round in 0..<FuzzBudget.scaled(6000) {
            var query: String
            if round % 4 == 0 {
                query = (0..<Int.random(in: 0...16, using: &generator)).map { _ in
                    pieces.randomElement(using: &generator) ?? ""
                }.joined()
            } else {
                var characters = Array(seeds[round % seeds.count])
                for _ in 0..<Int.random(in: 1...5, using: &generator) {
                    let position = Int.random(in: 0...characters.count, using: &generator)
                    let piece = Array(pieces.randomElement(using: &generator) ?? "")
                    if Bool.random(using: &generator) || characters.isEmpty {
                        characters.insert(contentsOf: piece, at: position)
                    } else {
                        characters.removeSubrange(min(position, characters.count - 1)..<min(position + 2, characters.count))
                    }
                }
                query = String(characters)
            }
            do {
                let selection = try LogSelection.parse(query)
                _ = Array("some line with error 500 x".utf8).withUnsafeBytes { selection.lineFilters.matches($0) }
                _ = selection.matchers.map { $0.matches("api") }
                parsed += 1
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(parsed > 0)
    }
}
