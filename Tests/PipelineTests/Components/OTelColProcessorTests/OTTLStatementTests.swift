@testable import Pipeline
import Testing
import Wire

/// OTTL statements as the transform processor runs them: each editor and converter, paths and `where`.
@Suite struct OTTLStatementTests {
    typealias T = OTTLTest

    // MARK: set and paths

    @Test func setWritesAttributesBodySeverityAndResource() throws {
        let out = try T.run([
            #"set(attributes["a"], "x")"#,
            #"set(attributes["n"], 42)"#,
            #"set(attributes["f"], 1.5)"#,
            #"set(attributes["b"], true)"#,
            #"set(body, "new body")"#,
            #"set(severity_text, "WARN")"#,
            #"set(severity_number, SEVERITY_NUMBER_WARN)"#,
            #"set(resource.attributes["service.name"], "api")"#,
            #"set(instrumentation_scope.name, "lib")"#,
        ], on: T.target())
        #expect(out.record.attributes == [
            T.kv("a", .string("x")), T.kv("n", .int(42)), T.kv("f", .double(1.5)), T.kv("b", .bool(true)),
        ])
        #expect(out.record.body == .string("new body"))
        #expect(out.record.severityText == "WARN")
        #expect(out.record.severityNumber == 13)
        #expect(out.resource.attributes == [T.kv("service.name", .string("api"))])
        #expect(out.scope.name == "lib")
    }

    @Test func setOverwritesAndCopiesFromOtherPaths() throws {
        let out = try T.run([
            #"set(attributes["a"], "second")"#,
            #"set(attributes["copy"], resource.attributes["service.name"])"#,
            #"set(attributes["level"], severity_text)"#,
        ], on: T.target(attributes: [T.kv("a", .string("first"))], severityText: "INFO",
                        resource: [T.kv("service.name", .string("web"))]))
        #expect(out.record.attributes == [
            T.kv("a", .string("second")), T.kv("copy", .string("web")), T.kv("level", .string("INFO")),
        ])
    }

    @Test func setOfNilDoesNothing() throws {
        let out = try T.run([#"set(attributes["a"], attributes["missing"])"#, #"set(attributes["b"], nil)"#],
                            on: T.target(attributes: [T.kv("a", .string("kept"))]))
        #expect(out.record.attributes == [T.kv("a", .string("kept"))])
    }

    @Test func nestedKeysReadAndCreateMaps() throws {
        let out = try T.run([
            #"set(attributes["http"]["method"], "GET")"#,
            #"set(attributes["copy"], attributes["http"]["method"])"#,
            #"set(attributes["deep"], body["a"]["b"])"#,
        ], on: T.target(body: .kvlist([T.kv("a", .kvlist([T.kv("b", .int(7))]))])))
        #expect(out.record.attributes == [
            T.kv("http", .kvlist([T.kv("method", .string("GET"))])), T.kv("copy", .string("GET")), T.kv("deep", .int(7)),
        ])
    }

    @Test func aKeyIntoAStringIsARuntimeError() {
        #expect(throws: OTTLRuntimeError.self) {
            try T.run([#"set(attributes["a"]["b"], "x")"#], on: T.target(attributes: [T.kv("a", .string("text"))]))
        }
    }

    @Test func aFailedNestedSetLeavesTheMapsAsTheyWere() {
        let attributes = [T.kv("a", .kvlist([T.kv("b", .string("text")), T.kv("keep", .int(1))])),
                          T.kv("list", .array([.kvlist([T.kv("x", .string("y"))])]))]
        for statement in [#"set(attributes["a"]["b"]["c"], 1)"#, #"set(attributes["list"][0]["x"]["z"], 1)"#,
                          #"set(attributes["list"][3], 1)"#] {
            var target = T.target(attributes: attributes)
            #expect(throws: OTTLRuntimeError.self, "\(statement)") {
                try OTTLStatement(statement, context: .log).execute(&target)
            }
            #expect(target.record.attributes == attributes, "\(statement)")
        }
    }

    @Test func setReachesIntoListsAndNestedMaps() throws {
        let out = try T.run([#"set(attributes["list"][0]["x"], "z")"#, #"set(attributes["a"]["new"]["deep"], true)"#],
                            on: T.target(attributes: [T.kv("list", .array([.kvlist([T.kv("x", .string("y"))])])),
                                                      T.kv("a", .kvlist([]))]))
        #expect(out.record.attributes == [
            T.kv("list", .array([.kvlist([T.kv("x", .string("z"))])])),
            T.kv("a", .kvlist([T.kv("new", .kvlist([T.kv("deep", .bool(true))]))])),
        ])
    }

    @Test func wrongTypeForAPlainFieldIsIgnored() throws {
        let out = try T.run([#"set(severity_number, "high")"#, #"set(severity_text, 3)"#],
                            on: T.target(severityNumber: 9, severityText: "INFO"))
        #expect(out.record.severityNumber == 9)
        #expect(out.record.severityText == "INFO")
    }

    @Test func contextPrefixedPathsWork() throws {
        let out = try T.run([#"set(log.attributes["x"], log.severity_text)"#], on: T.target(severityText: "DEBUG"))
        #expect(out.record.attributes == [T.kv("x", .string("DEBUG"))])
    }

    @Test func resourceAndScopeContexts() throws {
        let resource = try T.run([#"set(attributes["env"], "prod")"#], on: T.target(), context: .resource)
        #expect(resource.resource.attributes == [T.kv("env", .string("prod"))])
        let scope = try T.run([#"set(name, "renamed")"#, #"set(attributes["k"], resource.attributes["env"])"#],
                              on: T.target(resource: [T.kv("env", .string("dev"))]), context: .scope)
        #expect(scope.scope.name == "renamed")
        #expect(scope.scope.attributes == [T.kv("k", .string("dev"))])
    }

    // MARK: Map editors

    @Test func deleteAndKeepKeys() throws {
        let attributes = [T.kv("a", .int(1)), T.kv("b", .int(2)), T.kv("secret.token", .int(3)), T.kv("c", .int(4))]
        #expect(try T.run([#"delete_key(attributes, "b")"#], on: T.target(attributes: attributes)).record.attributes
            == [T.kv("a", .int(1)), T.kv("secret.token", .int(3)), T.kv("c", .int(4))])
        #expect(try T.run([#"delete_matching_keys(attributes, "^secret\\.")"#], on: T.target(attributes: attributes))
            .record.attributes == [T.kv("a", .int(1)), T.kv("b", .int(2)), T.kv("c", .int(4))])
        #expect(try T.run([#"keep_keys(attributes, ["c", "a"])"#], on: T.target(attributes: attributes)).record.attributes
            == [T.kv("a", .int(1)), T.kv("c", .int(4))])
        #expect(try T.run([#"keep_matching_keys(attributes, "^[ab]$")"#], on: T.target(attributes: attributes))
            .record.attributes == [T.kv("a", .int(1)), T.kv("b", .int(2))])
    }

    @Test func deleteKeyOnABodyThatIsNotAMapFails() {
        #expect(throws: OTTLRuntimeError.self) {
            try T.run([#"delete_key(body, "x")"#], on: T.target(body: .string("plain")))
        }
    }

    @Test func replacePatternExpandsGroups() throws {
        let out = try T.run([
            #"replace_pattern(body, "password=([^ ]+)", "password=***")"#,
            #"replace_pattern(attributes["path"], "^/users/([0-9]+)/(\\w+)$", "/users/{id}/$2 ($1)")"#,
            #"replace_pattern(attributes["n"], "1", "2")"#,
        ], on: T.target(attributes: [T.kv("path", .string("/users/42/orders")), T.kv("n", .int(1))],
                        body: .string("login password=hunter2 ok password=x")))
        #expect(out.record.body == .string("login password=*** ok password=***"))
        #expect(out.record.attributes == [T.kv("path", .string("/users/{id}/orders (42)")), T.kv("n", .int(1))])
    }

    @Test func replaceAllPatternsOnKeysAndValues() throws {
        let attributes = [T.kv("user.email", .string("a@b.c")), T.kv("user.name", .string("ann")), T.kv("n", .int(3))]
        #expect(try T.run([#"replace_all_patterns(attributes, "value", "@.*$", "@***")"#],
                          on: T.target(attributes: attributes)).record.attributes
            == [T.kv("user.email", .string("a@***")), T.kv("user.name", .string("ann")), T.kv("n", .int(3))])
        #expect(try T.run([#"replace_all_patterns(attributes, "key", "^user\\.", "u_")"#],
                          on: T.target(attributes: attributes)).record.attributes
            == [T.kv("u_email", .string("a@b.c")), T.kv("u_name", .string("ann")), T.kv("n", .int(3))])
    }

    @Test(arguments: [
        ("insert", ["a": "1", "b": "2", "c": "30"]),
        ("update", ["a": "1", "b": "20"]),
        ("upsert", ["a": "1", "b": "20", "c": "30"]),
    ])
    func mergeMapsStrategies(strategy: String, expected: [String: String]) throws {
        let out = try T.run([#"merge_maps(attributes, ParseJSON(body), "\#(strategy)")"#],
                            on: T.target(attributes: [T.kv("a", .string("1")), T.kv("b", .string("2"))],
                                         body: .string(#"{"b": "20", "c": "30"}"#)))
        let want = expected.keys.sorted().map { T.kv($0, .string(expected[$0] ?? "")) }
        #expect(out.record.attributes == want)
    }

    @Test func mergeMapsFromANonMapFails() {
        #expect(throws: OTTLRuntimeError.self) {
            try T.run([#"merge_maps(attributes, body, "upsert")"#], on: T.target(body: .string("text")))
        }
    }

    @Test func limitKeepsPriorityKeysFirst() throws {
        let attributes = [T.kv("a", .int(1)), T.kv("b", .int(2)), T.kv("c", .int(3)), T.kv("d", .int(4))]
        let out = try T.run([#"limit(attributes, 2, ["c"])"#], on: T.target(attributes: attributes))
        #expect(out.record.attributes == [T.kv("a", .int(1)), T.kv("c", .int(3))])
    }

    @Test func truncateAllCutsStringsOnCharacterBoundaries() throws {
        let out = try T.run([#"truncate_all(attributes, 3)"#],
                            on: T.target(attributes: [T.kv("a", .string("abcdef")), T.kv("b", .string("éé")), T.kv("n", .int(123456))]))
        #expect(out.record.attributes == [T.kv("a", .string("abc")), T.kv("b", .string("é")), T.kv("n", .int(123456))])
    }

    // MARK: Converters

    @Test func parseJSONTurnsABodyIntoAMap() throws {
        let out = try T.run([#"set(attributes["parsed"], ParseJSON(body))"#, #"set(attributes["lvl"], ParseJSON(body)["level"])"#],
                            on: T.target(body: .string(#"{"level":"warn","n":2,"ok":true,"tags":["a"],"x":null}"#)))
        #expect(out.record.attributes == [
            T.kv("parsed", .kvlist([T.kv("level", .string("warn")), T.kv("n", .double(2)), T.kv("ok", .bool(true)),
                                    T.kv("tags", .array([.string("a")])), T.kv("x", nil)])),
            T.kv("lvl", .string("warn")),
        ])
    }

    @Test(arguments: [#"not json"#, #"{"a":1"#, #""just a string""#, "42"])
    func parseJSONOfBadInputFails(body: String) {
        #expect(throws: OTTLRuntimeError.self) {
            try T.run([#"set(attributes["p"], ParseJSON(body))"#], on: T.target(body: .string(body)))
        }
    }

    @Test func concatJoinsStringLikeValues() throws {
        let out = try T.run([#"set(attributes["id"], Concat([resource.attributes["ns"], attributes["pod"], 3, true, attributes["none"]], "/"))"#],
                            on: T.target(attributes: [T.kv("pod", .string("web-1"))], resource: [T.kv("ns", .string("prod"))]))
        #expect(out.record.attributes.last == T.kv("id", .string("prod/web-1/3/true/<nil>")))
    }

    @Test func convertCaseIntDoubleStringSHA256() throws {
        let out = try T.run([
            #"set(attributes["lower"], ConvertCase(severity_text, "lower"))"#,
            #"set(attributes["upper"], ConvertCase("abc", "upper"))"#,
            #"set(attributes["int"], Int("42"))"#,
            #"set(attributes["trunc"], Int(3.9))"#,
            #"set(attributes["bad"], Int("x"))"#,
            #"set(attributes["double"], Double("2.5"))"#,
            #"set(attributes["string"], String(severity_number))"#,
            #"set(attributes["sha"], SHA256("abc"))"#,
        ], on: T.target(severityNumber: 17, severityText: "ERROR"))
        #expect(out.record.attributes == [
            T.kv("lower", .string("error")), T.kv("upper", .string("ABC")), T.kv("int", .int(42)), T.kv("trunc", .int(3)),
            T.kv("double", .double(2.5)), T.kv("string", .string("17")),
            T.kv("sha", .string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
        ])
    }

    // MARK: where

    @Test(arguments: [
        (Int32(0), nil), (5, nil), (9, nil), (12, nil), (13, "warn"), (16, "warn"), (17, nil), (24, nil),
    ] as [(Int32, String?)])
    func severityRangeCondition(number: Int32, expected: String?) throws {
        let out = try T.run([#"set(attributes["detected_level"], "warn") where severity_number >= SEVERITY_NUMBER_WARN and severity_number < SEVERITY_NUMBER_ERROR"#],
                            on: T.target(severityNumber: number))
        #expect(out.record.attributes.first?.value == expected.map { .string($0) })
    }

    @Test(arguments: [
        (#"attributes["code"] == 500"#, true),
        (#"attributes["code"] == 500.0"#, true),
        (#"attributes["code"] != 500"#, false),
        (#"attributes["code"] > 400 and attributes["code"] <= 500"#, true),
        (#"attributes["code"] == "500""#, false),
        (#"attributes["code"] != "500""#, true),
        (#"attributes["code"] < "500""#, false),
        (#"attributes["missing"] == nil"#, true),
        (#"attributes["code"] == nil"#, false),
        (#"body == "GET /""#, true),
        (#"body < "H" and body > "F""#, true),
        (#"resource.attributes["env"] == "prod" or attributes["code"] == 1"#, true),
        (#"not (resource.attributes["env"] == "prod")"#, false),
        (#"not resource.attributes["env"] == "dev""#, true),
        (#"(attributes["code"] == 1 or attributes["code"] == 500) and severity_text == "ERROR""#, true),
        (#"attributes["code"] == 1 or attributes["code"] == 500 and severity_text == "INFO""#, false),
        (#"IsMatch(body, "^GET ")"#, true),
        (#"not IsMatch(body, "POST")"#, true),
        (#"IsMatch(attributes["code"], "^5")"#, true),
        (#"IsMatch(attributes["missing"], ".*")"#, false),
        (#"true"#, true),
        (#"false or false"#, false),
        (#"attributes["ok"] == true"#, true),
        (#"attributes["ok"] > false"#, false),
        (#"severity_number == SEVERITY_NUMBER_ERROR"#, true),
    ])
    func whereConditions(condition: String, expected: Bool) throws {
        let target = T.target(attributes: [T.kv("code", .int(500)), T.kv("ok", .bool(true))], body: .string("GET /"),
                              severityNumber: 17, severityText: "ERROR", resource: [T.kv("env", .string("prod"))])
        let out = try T.run([#"set(attributes["hit"], true) where \#(condition)"#], on: target)
        #expect((out.record.attributes.last == T.kv("hit", .bool(true))) == expected, "\(condition)")
    }

    @Test func aConditionConverterThatIsNotBooleanFails() {
        #expect(throws: OTTLRuntimeError.self) {
            try T.run([#"set(attributes["x"], 1) where Concat(["a"], "")"#], on: T.target())
        }
    }
}
