@testable import Pipeline
import Testing
import TestSupport
import Wire

/// What the OTTL parser refuses, where it says the problem is, and that no input makes it trap.
@Suite struct OTTLParserTests {
    typealias T = OTTLTest

    @Test(arguments: [
        #"set(attributes["a"], "b")"#,
        #"set(attributes["a"], -1) where attributes["b"] == -2.5"#,
        #"set(attributes["m"], {"k": "v", "n": [1, 2]})"#,
        #"set(body, attributes["list"][0])"#,
        #"delete_key(resource.attributes, "x")"#,
        #"set(attributes["s"], "esc \"q\" \\ \n")"#,
        #"keep_keys(attributes, [])"#,
        #"set(attributes["a"], 1e3)"#,
        #"set(attributes["x"], "y") where not (true and false) or IsMatch(body, "a|b")"#,
    ])
    func parses(statement: String) {
        #expect(T.parseError(statement) == nil, "\(statement)")
    }

    @Test(arguments: [
        // (statement, message fragment, column)
        (#"frobnicate(attributes)"#, "unsupported editor frobnicate", 1),
        (#"set(attributes["a"], Frob(body))"#, "unsupported converter Frob", 22),
        (#"set(attributes["a"], span_id)"#, "unsupported path span_id", 22),
        (#"set(attributes["a"], SEVERITY_NUMBER_LOUD)"#, "unknown enum SEVERITY_NUMBER_LOUD", 22),
        (#"set(attributes["a"], 1 + 2)"#, "math expressions (+) are not supported", 24),
        (#"set(attributes["a"])"#, "set takes 2 arguments", 1),
        (#"set("a", "b")"#, "the first argument of set is a path", 5),
        (#"set(attributes["a"], "b") where"#, "expected a value, found the end of the statement", 32),
        (#"set(attributes["a"], "b") where body"#, "expected a comparison", 37),
        (#"set(attributes["a"], "b" where body == "x""#, "expected \")\" to close the arguments of set", 26),
        (#"set(attributes["a"], "unterminated)"#, "unterminated string", 22),
        (#"set(attributes["a"], "bad \d escape")"#, "invalid escape", 27),
        (#"replace_pattern(body, "(", "x")"#, "invalid regular expression", 23),
        (#"replace_pattern(body, "a", "b", SHA256)"#, "function arguments such as SHA256 are not supported", 33),
        (#"merge_maps(attributes, body, "smash")"#, "strategy must be", 30),
        (#"keep_keys(attributes, "a")"#, "keys must be a list of string literals", 23),
        (#"ConvertCase(body, "lower")"#, "is a converter, not an editor", 1),
        (#"set(attributes["a"], set(body, "x"))"#, "set is an editor", 22),
        (#"set(attributes["a"], ConvertCase(body, "snake"))"#, "toCase \"snake\" is not supported", 40),
        (#"set(severity_number["x"], 1)"#, "cannot be indexed", 5),
        (#"set(attributes["a"], 1) extra"#, "unexpected extra after the statement", 25),
        (#"set(attributes["a"], "b") where body ! "x""#, "unexpected \"!\"", 38),
        (#"set(attributes["a"], IsMatch(body, pattern = "x"))"#, "named arguments are not supported", 36),
        (#"limit(attributes, 1, ["a", "b"])"#, "2 priority keys are more than the limit of 1", 22),
    ] as [(String, String, Int)])
    func refusesWithPosition(statement: String, fragment: String, column: Int) throws {
        let error = try #require(T.parseError(statement), "\(statement) was accepted")
        #expect(error.message.contains(fragment), "\(statement): \(error.message)")
        #expect(error.offset + 1 == column, "\(statement): \(error.message) at \(error.offset + 1)")
    }

    @Test func logPathsAreRefusedInTheResourceContext() throws {
        let error = try #require(T.parseError(#"set(attributes["a"], body)"#, context: .resource))
        #expect(error.message == "unsupported path body in the resource context")
        #expect(T.parseError(#"set(name, "x")"#, context: .resource) != nil)
        #expect(T.parseError(#"set(name, "x")"#, context: .scope) == nil)
    }

    @Test func deepNestingIsRefusedNotATrap() throws {
        let deep = #"set(attributes["a"], 1) where "# + String(repeating: "(", count: 10_000) + "true"
            + String(repeating: ")", count: 10_000)
        let error = try #require(T.parseError(deep))
        #expect(error.message.contains("nested more than"))
        let notNot = #"set(attributes["a"], 1) where "# + String(repeating: "not ", count: 10_000) + "true"
        #expect(T.parseError(notNot)?.message.contains("nested more than") == true)
        let lists = #"set(attributes["a"], "# + String(repeating: "[", count: 10_000)
        #expect(T.parseError(lists)?.message.contains("nested more than") == true)
    }

    /// Random token soup and random bytes: the parser answers (a statement or an error at an offset inside the
    /// text), and what it accepts runs without trapping.
    @Test func randomInputNeverTraps() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x0771_5EED))
        let pieces = [
            "set", "delete_key", "keep_keys", "replace_pattern", "merge_maps", "limit", "ParseJSON", "Concat", "IsMatch",
            "Int", "String", "attributes", "resource", ".", "body", "severity_number", "SEVERITY_NUMBER_WARN", "[", "]",
            "(", ")", "{", "}", ",", ":", "\"k\"", "\"^a(b\"", "\"upsert\"", "1", "-2", "3.5", "true", "nil", "where",
            "and", "or", "not", "==", "!=", "<", ">=", "+", "=", "\"", "\\", "é", " ", "\n", "0x1", "1e999",
        ]
        for _ in 0..<FuzzBudget.scaled(20_000) {
            var text = ""
            if random.chance(10) {
                text = String(decoding: random.bytes(random.int(0...40)), as: UTF8.self)
            } else {
                for _ in 0..<random.int(0...24) { text += pieces[random.int(0...(pieces.count - 1))] }
            }
            do throws(OTTLSyntaxError) {
                let statement = try OTTLStatement(text, context: .log)
                var target = T.target(attributes: [T.kv("k", .string("v"))], body: .string(#"{"a":1}"#))
                _ = try? statement.execute(&target)
            } catch {
                #expect(error.offset >= 0 && error.offset <= text.utf8.count, "\(text)")
            }
        }
    }

    /// `ParseJSON` reads record bodies, which are untrusted: random and truncated JSON, and nesting past the limit,
    /// give an error or a value, never a trap; whatever parses as a map or list is accepted.
    @Test func parseJSONOfRandomInputNeverTraps() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x15_0A50))
        let pieces = ["{", "}", "[", "]", ",", ":", "\"k\"", "\"\\u00e9\"", "\"\\ud800\"", "1", "-0.5e3", "true", "null", " ", "\"", "\\"]
        for _ in 0..<FuzzBudget.scaled(20_000) {
            var text = ""
            if random.chance(10) {
                text = String(decoding: random.bytes(random.int(0...30)), as: UTF8.self)
            } else {
                for _ in 0..<random.int(0...30) { text += pieces[random.int(0...(pieces.count - 1))] }
            }
            do throws(OTTLRuntimeError) {
                let value = try OTTLJSON.parse(text)
                switch value {
                case .kvlist, .array: break
                default: Issue.record("ParseJSON returned \(value) for \(text)")
                }
            } catch {
                #expect(error.message.hasPrefix("ParseJSON: "), "\(text)")
            }
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: OTTLRuntimeError.self) { try OTTLJSON.parse(deep) }
        #expect(try OTTLJSON.parse(#"{"a":{"b":[1,"x",null,{}]},"a":2}"#) == .kvlist([OTLPKeyValue(key: "a", value: .double(2))]))
    }
}
