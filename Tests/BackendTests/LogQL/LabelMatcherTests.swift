import Testing
@testable import Backend

@Suite struct LabelMatcherTests {
    private func matcher(_ kind: LabelMatcher.Kind, _ value: String) throws -> LabelMatcher {
        try LabelMatcher(name: "app", kind: kind, value: value)
    }

    @Test func equalityComparesBytes() throws {
        let equal = try matcher(.equal, "api")
        #expect(equal.matches("api"))
        #expect(!equal.matches("API"))
        #expect(!equal.matches("api "))
        #expect(!equal.matches(""))
        // Go compares bytes: a precomposed é is not a decomposed one.
        #expect(!(try matcher(.equal, "caf\u{E9}")).matches("cafe\u{301}"))
        let notEqual = try matcher(.notEqual, "api")
        #expect(!notEqual.matches("api"))
        #expect(notEqual.matches("web"))
        #expect(notEqual.matches(""))
    }

    @Test func absentLabelIsTheEmptyString() throws {
        #expect(try matcher(.equal, "").matches(""))
        #expect(try matcher(.regex, "a|").matches(""))
        #expect(!(try matcher(.regex, "a+")).matches(""))
        #expect(try matcher(.notRegex, "a+").matches(""))
    }

    @Test(arguments: [
        // (pattern, value, matches)
        ("api", "api", true), ("api", "xapi", false), ("api", "apix", false),
        ("a.i", "abi", true), ("a.i", "a\ni", true), // Prometheus: `.` matches newlines in label matchers
        (".*", "", true), (".*", "any\nthing", true), (".+", "", false), (".+", "x", true),
        ("api|web|db", "web", true), ("api|web|db", "webx", false), ("api|web|db", "", false),
        ("api-.*", "api-1", true), ("api-.*", "xapi-1", false), (".*-prod", "eu-prod", true),
        (".*-prod", "eu-prod-2", false), (".*mid.*", "a-mid-b", true), (".*mid.*", "a-mi-d", false),
        ("api-\\d+", "api-12", true), ("api-\\d+", "api-", false), ("api-\\d+", "api-١٢", false),
        ("(?i)API", "api", true), ("(?i)API", "Api", true), ("(?i)API", "apis", false),
        ("[a-c]+", "abcab", true), ("[^a-c]", "d", true), ("[^a-c]", "a", false),
        ("a$", "a", true), ("a$", "a\n", false), ("^a", "a", true),
        ("\\w+", "abc_1", true), ("\\w+", "é", false), ("\\s", " ", true), ("\\s", "\u{0B}", false),
        ("[[:alpha:]]+", "abc", true), ("[[:alpha:]]+", "ab1", false),
        ("[[a]", "[", true), ("[[a]", "a", true), // a `[` inside a class is a literal in RE2
        ("a{2}", "aa", true), ("a{2}", "a", false), ("a{,2}", "a{,2}", true), // not a repeat in RE2
        ("\\x41\\101", "AA", true), ("\\Q.*\\E", ".*", true), ("\\Q.*\\E", "ab", false),
        ("(?P<name>x)(?<other>y)", "xy", true), ("\\pL+", "héllo", true), ("\\p{Greek}+", "αβγ", true),
        ("\\p{Greek}+", "abc", false), ("(?i)[a-c]", "B", true), ("x*?y", "xxy", true),
        ("a\\12b", "a\nb", true), ("a\\0b", "a\u{0}b", true), // octal escapes, not back-references
        ("(?i:a)b", "Ab", true), ("(?i:a)b", "AB", false), ("a(?i)b", "aB", true), ("a(?i)b", "AB", false),
        ("(?U)a+", "aaa", true), ("[\\d-]+", "1-2", true), ("[^\\D]", "5", true), ("(?-s:.)", "\n", false),
        ("\\bab\\b", "ab", true), ("a|b|", "", true), ("\\.", ".", true), ("\\.", "x", false),
    ])
    func regexesAreFullyAnchoredRE2(pattern: String, value: String, matches: Bool) throws {
        #expect(try matcher(.regex, pattern).matches(value) == matches, "\(pattern) vs \(value)")
        #expect(try matcher(.notRegex, pattern).matches(value) == !matches)
    }

    @Test func fastPathsAgreeWithTheRegexEngine() throws {
        // The same languages written so that no fast path applies.
        let pairs = [
            ("api|web", "(?:api|web)(?:)"), ("api-.*", "api-(?:.*)(?:)"), (".*-prod", "(?:)(?:.*)-prod"),
            (".*mid.*", "(?:).*mid.*(?:)"), ("(?i)api", "(?i:api)(?:)"), ("api", "ap(?:i)"),
        ]
        let values = ["", "api", "web", "API", "api-1", "x-prod", "a-mid-b", "mid", "apiweb", "api\n", "Api"]
        for (fast, slow) in pairs {
            let a = try matcher(.regex, fast)
            let b = try matcher(.regex, slow)
            for value in values {
                #expect(a.matches(value) == b.matches(value), "\(fast) / \(slow) on \(value.debugDescription)")
            }
        }
    }

    @Test(arguments: [
        ("(api", "missing closing ): `(api`"),
        ("api)", "unexpected ): `api)`"),
        ("[a-", "missing closing ]: `[a-`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a++", "invalid nested repetition operator: `++`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("a|*", "missing argument to repetition operator: `*`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("a{3,2}", "invalid repeat count: `{3,2}`"),
        ("\\1", "invalid escape sequence: `\\1`"),
        ("\\Z", "invalid escape sequence: `\\Z`"),
        ("\\k<x>", "invalid escape sequence: `\\k`"),
        ("a\\", "trailing backslash at end of expression: ``"),
        ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?>x)", "invalid or unsupported Perl syntax: `(?>`"),
        ("(?#c)", "invalid or unsupported Perl syntax: `(?#`"),
        ("(?x)a", "invalid or unsupported Perl syntax: `(?x`"),
        ("(?P<1-a>x)", "invalid named capture: `(?P<1-a>`"),
    ])
    func invalidRegexesUseGoWording(pattern: String, expected: String) {
        do {
            _ = try matcher(.regex, pattern)
            Issue.record("\(pattern) was accepted")
        } catch {
            #expect("\(error)" == "parse error : error parsing regexp: \(expected)")
        }
    }

    @Test func equalityAndHashingUseNameKindValue() throws {
        let a = try LabelMatcher(name: "app", kind: .regex, value: "a.*")
        let b = try LabelMatcher(name: "app", kind: .regex, value: "a.*")
        let c = try LabelMatcher(name: "app", kind: .notRegex, value: "a.*")
        #expect(a == b)
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
        #expect(a.description == #"app=~"a.*""#)
    }

    @Test func randomPatternsNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "b", ".", "*", "+", "?", "(", ")", "[", "]", "^", "$", "|", "\\", "{", "}", ",", "1", "2",
                      "-", ":", "?i", "?P<", ">", "\\d", "\\p", "{L}", "\\x", "é", "\\Q", "\\E", "[:alpha:]", "0"]
        for _ in 0..<5000 {
            let pattern = (0..<Int.random(in: 0...10, using: &generator)).map { _ in
                pieces.randomElement(using: &generator) ?? ""
            }.joined()
            if let compiled = try? matcher(.regex, pattern) {
                _ = compiled.matches("ab1é")
                _ = compiled.matches("")
            }
        }
    }
}
