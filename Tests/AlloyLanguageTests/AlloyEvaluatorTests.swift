import Testing
@testable import AlloyLanguage

@Suite struct AlloyEvaluatorTests {
    @Test(arguments: [
        ("1 + 2 * 3", Value.int(7)),
        ("(1 + 2) * 3", .int(9)),
        ("2 ^ 3 ^ 2", .int(512)),
        ("-2 ^ 2", .int(4)),
        ("10 - 4 - 3", .int(3)),
        ("7 / 2", .int(3)),
        ("-7 / 2", .int(-3)),
        ("7 % 3", .int(1)),
        ("-7 % 3", .int(-1)),
        ("7.0 / 2", .float(3.5)),
        ("7 / 2.0", .float(3.5)),
        ("1.5 + 1", .float(2.5)),
        ("5.5 % 2", .float(1.5)),
        ("2 ^ 0.5 > 1.41", .bool(true)),
        ("2 ^ -1", .float(0.5)),
        ("1e3", .float(1000)),
        (".5 + .5", .float(1)),
        ("010", .int(8)),
        ("9223372036854775807", .number(.int(Int64.max))),
        ("18446744073709551615", .number(.uint(UInt64.max))),
        ("18446744073709551616", .float(18446744073709551616)),
        ("9223372036854775807 + 1", .number(.uint(9223372036854775808))),
        ("\"a\" + \"b\"", .string("ab")),
        ("3 == 3.0", .bool(true)),
        ("1 == \"1\"", .bool(false)),
        ("null == null", .bool(true)),
        ("[1, [2]] == [1, [2]]", .bool(true)),
        ("[1, 2] == [2, 1]", .bool(false)),
        ("{ a = 1, b = [2] } == { b = [2], a = 1 }", .bool(true)),
        ("{ a = 1 } != { a = 2 }", .bool(true)),
        ("\"abc\" < \"abd\"", .bool(true)),
        ("\"b\" >= \"a\"", .bool(true)),
        ("\"Z\" < \"a\"", .bool(true)),
        ("1 < 2.5", .bool(true)),
        ("3 <= 3", .bool(true)),
        ("true && !false", .bool(true)),
        ("false || false", .bool(false)),
        ("1 < 2 == true", .bool(true)),
        ("[10, 20, 30][1]", .int(20)),
        ("[10, 20, 30][2.9]", .int(30)),
        ("{ a = { b = 5 } }.a.b", .int(5)),
        ("{ a = 1 }[\"a\"]", .int(1)),
        ("{ a = 1 }[\"missing\"]", .null),
        ("{ \"k-1\" = true }[\"k-1\"]", .bool(true)),
        ("[[1, 2], [3]][0][1]", .int(2)),
    ])
    func expressions(text: String, expected: Value) {
        #expect(value(text) == expected)
    }

    @Test func integersAndFloatsKeepTheirKind() {
        #expect(value("7 / 2").numberValue == .int(3))
        #expect(value("6.0 / 2").numberValue == .float(3))
        #expect(value("2 ^ 10").numberValue == .int(1024))
        #expect(value("-(3)").numberValue == .int(-3))
        #expect(value("-(3.5)").numberValue == .float(-3.5))
        #expect(value("-9223372036854775807 - 1").numberValue == .int(Int64.min))
    }

    @Test(arguments: [
        ("1 + \"a\"", #"expected number, got string "a": cannot add a string to a number"#, 5),
        ("\"a\" + 1", "expected string, got number 1: cannot add a number to a string", 7),
        ("true + 1", "expected number, string or secret, got bool true: + adds numbers and joins strings", 1),
        ("1 - \"a\"", #"expected number, got string "a": operator - needs numbers"#, 5),
        ("[1] * 2", "expected number, got array [1]: operator * needs numbers", 1),
        ("1 && true", "expected bool, got number 1: operator && needs bools", 1),
        ("!1", "expected bool, got number 1: operator ! needs a bool", 2),
        ("-\"a\"", #"expected number, got string "a": unary - needs a number"#, 2),
        ("1 < \"a\"", #"expected number, got string "a": cannot compare a string with a number"#, 5),
        ("[1] < [2]", "expected number or string, got array [1]: operator < compares numbers or strings", 1),
        ("1 / 0", "division by zero: 1 / 0", 5),
        ("1 % 0", "division by zero: 1 % 0", 5),
        ("1.5 / 0.0", "division by zero: 1.5 / 0.0", 7),
        ("18446744073709551615 + 1", "integer overflow: 18446744073709551615 + 1 does not fit in 64 bits", 1),
        ("2 ^ 64", "integer overflow: 2 ^ 64 does not fit in 64 bits", 1),
        ("4294967296 * 4294967296", "integer overflow: 4294967296 * 4294967296 does not fit in 64 bits", 1),
        ("nope", #"identifier "nope" does not exist"#, 1),
        ("{ a = 1 }.b", #"field "b" does not exist in { a = 1 } (it has "a")"#, 11),
        ("{}.b", #"field "b" does not exist in {} (it has no fields)"#, 4),
        ("(1).b", #"expected object, got number 1: cannot read field "b" of (1)"#, 1),
        ("[1, 2][2]", "index 2 is out of range of array with length 2", 8),
        ("[1, 2][-1]", "index -1 is out of range of array with length 2", 8),
        ("[1][\"a\"]", #"expected number, got string "a": arrays are indexed by number"#, 5),
        ("{ a = 1 }[0]", "expected string, got number 0: objects are indexed by string", 11),
        ("\"abc\"[0]", #"expected object or array, got string "abc": cannot index "abc""#, 1),
        ("\"f\"(1)", #"expected function, got string "f": cannot call "f""#, 1),
        ("string.nope(1)", #"field "nope" does not exist in string (it has "format", "join", "replace", "split", "to_lower", "to_upper", "trim", "trim_prefix", "trim_space", "trim_suffix")"#, 8),
    ])
    func errors(text: String, message: String, column: Int) {
        guard case .failure(let diagnostic) = evaluate(text) else {
            Issue.record("\(text) evaluated without error")
            return
        }
        #expect(diagnostic.message == message)
        #expect(diagnostic.range.start.line == 1)
        #expect(diagnostic.range.start.column == column)
        #expect(diagnostic.file == "expression")
    }

    @Test func errorsNameTheFileLineAndColumnInAMultiLineConfig() throws {
        let text = "loki.write \"default\" {\n  endpoint {\n    url = 1 + \"x\"\n  }\n}\n"
        let file = try AlloyParser.parse(name: "/etc/alloy/config.alloy", text: text)
        guard case .attribute(let url) = file.body.blocks[0].body.blocks[0].body.statements[0] else {
            Issue.record("expected an attribute")
            return
        }
        do {
            _ = try Evaluator.evaluate(url.value, in: Scope(), file: file)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == """
                /etc/alloy/config.alloy:3:15: expected number, got string "x": cannot add a string to a number
                    url = 1 + "x"
                              ^
                """)
        }
    }

    @Test func scopeVariablesShadowTheStandardLibraryAndHoldComponentExports() {
        let receiver = TestReceiver()
        let scope: [String: Value] = [
            "loki": .object(["write": .object(["default": .object(["receiver": .capsule(TestReceiver.self, receiver)])])]),
            "string": .string("shadowed"),
        ]
        guard case .array(let elements) = value("[loki.write.default.receiver]", scope), case .capsule(let capsule) = elements.first else {
            Issue.record("expected an array holding the capsule")
            return
        }
        let sameObject = capsule.payload(TestReceiver.self) === receiver
        #expect(sameObject)
        #expect(capsule.typeName == "loki.LogsReceiver")
        #expect(value("string", scope) == .string("shadowed"))
        #expect(value("loki.write.default.receiver == loki.write.default.receiver", scope) == .bool(true))
    }

    @Test func functionsFromTheScopeAreCalledAndTheirErrorsPointAtTheArgument() {
        let double = AlloyFunction(name: "double") { args throws(EvaluationError) in
            guard case .number(.int(let n)) = args.first else {
                throw EvaluationError(message: "expected an integer", argumentIndex: 0)
            }
            return .int(Int(n) * 2)
        }
        #expect(value("double(21)", ["double": .function(double)]) == .int(42))
        guard case .failure(let diagnostic) = evaluate("double(\"x\")", ["double": .function(double)]) else {
            Issue.record("expected an error")
            return
        }
        #expect(diagnostic.message == "double: expected an integer")
        #expect(diagnostic.range.start.column == 8)
    }

    @Test func secretsAreNeverShownAndStaySecret() {
        let scope: [String: Value] = ["token": .secret("hunter2")]
        #expect(Value.secret("hunter2").description == "(secret)")
        #expect(Value.array([.secret("hunter2")]).description == "[(secret)]")
        #expect(Value.object(["password": .secret("hunter2")]).description == "{ password = (secret) }")
        #expect(value("token + \"-suffix\"", scope) == .secret("hunter2-suffix"))
        #expect(value("\"Bearer \" + token", scope) == .secret("Bearer hunter2"))
        #expect(value("token + token", scope) == .secret("hunter2hunter2"))
        #expect(value("token == \"hunter2\"", scope) == .bool(true))
        #expect(value("string.format(\"Bearer %s\", token)", scope) == .secret("Bearer hunter2"))
        #expect(value("convert.nonsensitive(token)", scope) == .string("hunter2"))
        #expect(value("nonsensitive(token)", scope) == .string("hunter2"))
        let message = errorMessage("token - 1", scope) ?? ""
        #expect(message == "expected number, got secret: operator - needs numbers")
        #expect(!message.contains("hunter2"))
        let upper = errorMessage("string.to_upper(token)", scope) ?? ""
        #expect(upper.contains("got secret; use convert.nonsensitive"))
        #expect(!upper.contains("hunter2"))
    }

    @Test func valueDescriptionsUseAlloySyntax() {
        #expect(Value.null.description == "null")
        #expect(Value.array([.int(1), .float(2.5), .string("a\"b"), .bool(true)]).description == #"[1, 2.5, "a\"b", true]"#)
        #expect(Value.object(["a": .int(1), "b-c": .object([:]), "null": .null]).description == #"{ a = 1, "b-c" = {}, "null" = null }"#)
        #expect(value("string.format").description == "function(string.format)")
        #expect(Value.float(1).description == "1.0")
    }

    @Test func objectsKeepInsertionOrderAndCompareUnordered() {
        var object = ValueObject([("b", .int(1)), ("a", .int(2)), ("b", .int(3))])
        #expect(object.keys == ["b", "a"])
        #expect(object["b"] == .int(3))
        object["c"] = .null
        object["a"] = nil
        #expect(object.keys == ["b", "c"])
        #expect(ValueObject([("x", .int(1)), ("y", .int(2))]) == ValueObject([("y", .int(2)), ("x", .int(1))]))
        guard case .object(let literal) = value("{ z = 1, a = 2, m = 3 }") else {
            Issue.record("expected an object")
            return
        }
        #expect(literal.keys == ["z", "a", "m"])
    }
}
