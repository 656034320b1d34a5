#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import AlloyLanguage

@Suite struct AlloyStdlibTests {
    @Test(arguments: [
        // sys, constants, convert, coalesce
        (#"sys.env("ESTUARY_ALLOY_TEST_VARIABLE")"#, Value.string("from the environment")),
        (#"env("ESTUARY_ALLOY_TEST_VARIABLE")"#, .string("from the environment")),
        (#"sys.env("ESTUARY_ALLOY_SURELY_UNSET")"#, .string("")),
        ("constants.os", .string("linux")),
        (#"convert.nonsensitive("plain")"#, .string("plain")),
        ("coalesce()", .null),
        (#"coalesce("", "b")"#, .string("b")),
        (#"coalesce(sys.env("ESTUARY_ALLOY_SURELY_UNSET"), "fallback")"#, .string("fallback")),
        (#"coalesce([], ["x"])"#, .array([.string("x")])),
        ("coalesce(0, 1, 2)", .int(1)),
        ("coalesce(false, true)", .bool(true)),
        ("coalesce({}, null)", .null),
        // array
        ("array.concat()", .array([])),
        (#"array.concat([1, 2], [], [true, "x"])"#, .array([.int(1), .int(2), .bool(true), .string("x")])),
        ("concat([[1]], [[2]])", .array([.array([.int(1)]), .array([.int(2)])])),
        (#"array.combine_maps([{"a" = 1, "b" = 2}], [{"a" = 1, "c" = 3}, {"a" = 2}], ["a"])"#,
         .array([.object(["a": .int(1), "b": .int(2), "c": .int(3)])])),
        // string
        (#"string.format("Hello, %s!", "Ander")"#, .string("Hello, Ander!")),
        (#"string.format("There are %d lights", 4)"#, .string("There are 4 lights")),
        (#"format("%s=%v %t %q %%", "a", 1.5, true, "q\"")"#, .string(#"a=1.5 true "q\"" %"#)),
        (#"string.format("%5d|%-5d|%05d|%x|%X|%o|%b|%+d", 42, 42, 42, 255, 255, 8, 5, 3)"#,
         .string("   42|42   |00042|ff|FF|10|101|+3")),
        (#"string.format("%.2f %f %e %g %g", 3.14159, 1.5, 123456.789, 0.0001, 1234567.0)"#,
         .string("3.14 1.500000 1.234568e+05 0.0001 1.234567e+06")),
        (#"string.format("%8.3f|%-8s|%8s|%.2s", 3.14159, "ab", "ab", "abc")"#, .string("   3.142|ab      |      ab|ab")),
        (#"string.format("%[2]s %[1]s", "a", "b")"#, .string("b a")),
        (#"string.format("%s", 10)"#, .string("10")),
        (#"string.format("%d", 2.0)"#, .string("2")),
        (#"string.format("%x", "hi")"#, .string("6869")),
        (#"string.format("%v %v", [1, "a"], {b = 2, a = 1})"#, .string("[1 a] map[a:1 b:2]")),
        (#"string.format("%#v", "q")"#, .string(#""q""#)),
        (#"string.format("a", 1)"#, .string("a%!(EXTRA int=1)")),
        (#"string.join(["foo", "bar", "baz"], "-")"#, .string("foo-bar-baz")),
        (#"join([0, 0, 1], ", ")"#, .string("0, 0, 1")),
        (#"string.replace("1 + 2 + 3", "+", "-")"#, .string("1 - 2 - 3")),
        (#"string.replace("abc", "", "-")"#, .string("-a-b-c-")),
        (#"string.split("foo,bar,baz", ",")"#, .array([.string("foo"), .string("bar"), .string("baz")])),
        (#"string.split("", ",")"#, .array([.string("")])),
        (#"string.split("/a/", "/")"#, .array([.string(""), .string("a"), .string("")])),
        (#"string.split("ab", "")"#, .array([.string("a"), .string("b")])),
        (#"string.to_lower("HeLLo")"#, .string("hello")),
        (#"string.to_upper("hello")"#, .string("HELLO")),
        (#"string.trim("?!hello?!", "!?")"#, .string("hello")),
        (#"string.trim("foobar", "far")"#, .string("oob")),
        (#"string.trim("   hello! world.!  ", "! ")"#, .string("hello! world.")),
        (#"string.trim_prefix("helloworld", "hello")"#, .string("world")),
        (#"string.trim_prefix("helloworld", "world")"#, .string("helloworld")),
        (#"string.trim_suffix("helloworld", "world")"#, .string("hello")),
        (#"string.trim_space("  hello\n\n")"#, .string("hello")),
        (#"trim_space("\t x \u00a0")"#, .string("x")),
        // encoding
        (#"encoding.from_json("15")"#, .float(15)),
        (#"encoding.from_json("[1, 2, 3]")"#, .array([.float(1), .float(2), .float(3)])),
        (#"encoding.from_json("null")"#, .null),
        (#"encoding.from_json("{\"key\": \"value\", \"n\": [true, null, \"\\u00e9\"]}")"#,
         .object(["key": .string("value"), "n": .array([.bool(true), .null, .string("é")])])),
        (#"json_decode("{\"a\": {\"b\": 1.5e2}}").a.b"#, .float(150)),
        (#"encoding.from_yaml("15")"#, .int(15)),
        (#"encoding.from_yaml("[1, 2.5, yes, null, ~, 'q']")"#,
         .array([.int(1), .float(2.5), .string("yes"), .null, .null, .string("q")])),
        ("encoding.from_yaml(\"key: value\\nlist:\\n  - a\\n  - b\\nnested: {x: true}\")",
         .object(["key": .string("value"), "list": .array([.string("a"), .string("b")]), "nested": .object(["x": .bool(true)])])),
        (#"yaml_decode("0x1F")"#, .int(31)),
        (#"encoding.from_base64("dGFuZ2VyaW5l")"#, .string("tangerine")),
        (#"base64_decode("Zm9vYmFyMTIzIT8kKiYoKSctPUB+")"#, .string("foobar123!?$*&()'-=@~")),
        (#"encoding.from_URLbase64("c3RyaW5nMTIzIT8kKiYoKSctPUB-")"#, .string("string123!?$*&()'-=@~")),
        (#"encoding.to_base64("string123!?$*&()'-=@~")"#, .string("c3RyaW5nMTIzIT8kKiYoKSctPUB+")),
        (#"encoding.to_URLbase64("string123!?$*&()'-=@~")"#, .string("c3RyaW5nMTIzIT8kKiYoKSctPUB-")),
        (#"encoding.to_base64("a")"#, .string("YQ==")),
        (#"encoding.from_base64("YQ==")"#, .string("a")),
        (#"encoding.url_encode("string123!?$*&()'-=@~ x")"#, .string("string123%21%3F%24%2A%26%28%29%27-%3D%40~+x")),
        (#"encoding.url_decode("string123%21%3F%24%2A%26%28%29%27-%3D%40~+x")"#, .string("string123!?$*&()'-=@~ x")),
        (#"encoding.to_json({"modules" = {"b" = 1, "a" = [true, null, 1.5, "<x>"]}})"#,
         .string(#"{"modules":{"a":[true,null,1.5,"\u003cx\u003e"],"b":1}}"#)),
        // Go's encoding/json float layout: exponents only below 1e-6 and from 1e21.
        (#"encoding.to_json({"a" = [0.000001, 0.0000001, 1e20, 1e21, -2.5e-8, 123456789.25]})"#,
         .string(#"{"a":[0.000001,1e-7,100000000000000000000,1e+21,-2.5e-8,123456789.25]}"#)),
        // file, json_path
        (#"file.path_join("this/is", "a/path")"#, .string("this/is/a/path")),
        ("file.path_join()", .string("")),
        (#"file.path_join("/etc/", "../var", "./log")"#, .string("/var/log")),
        (#"json_path("{\"a\": \"b\"}", ".a")"#, .array([.string("b")])),
        (#"json_path("{\"a\": \"b\"}", ".nonexists")"#, .array([])),
        (#"json_path("{\"a\": \"b\"}", ".a")[0]"#, .string("b")),
        (#"json_path("[{\"name\": \"Department\",\"value\": \"IT\"},{\"name\":\"TestStatus\",\"value\":\"Pending\"}]", "[?(@.name == \"Department\")].value")"#,
         .array([.string("IT")])),
        (#"json_path("{\"a\": [{\"b\": 1}, {\"b\": 2}, {\"c\": 3}]}", "$.a[*].b")"#, .array([.float(1), .float(2)])),
        (#"json_path("{\"a\": {\"b\": {\"c\": 1}}, \"c\": 2}", "$..c")"#, .array([.float(2), .float(1)])),
        (#"json_path("[1, 2, 3, 4]", "$[1:3]")"#, .array([.float(2), .float(3)])),
        (#"json_path("[1, 2, 3, 4]", "$[-1]")"#, .array([.float(4)])),
        (#"json_path("[{\"n\": 1}, {\"n\": 5}]", "$[?(@.n > 2 || @.n == 0)].n")"#, .array([.float(5)])),
    ])
    func functions(text: String, expected: Value) {
        setenv("ESTUARY_ALLOY_TEST_VARIABLE", "from the environment", 1)
        #expect(value(text) == expected, "\(text)")
    }

    @Test func constantsUseGoNames() {
        #expect(["amd64", "arm64"].contains(value("constants.arch").stringValue ?? ""))
        #expect(value("constants.hostname").stringValue?.isEmpty == false)
        #expect(value("constants.version") == .string(Stdlib.version))
    }

    @Test(arguments: [
        ("sys.env(1, 2)", "sys.env: expected 1 argument, got 2"),
        ("sys.env(true)", "sys.env: argument 1: expected string, got bool true"),
        ("convert.nonsensitive(1)", "convert.nonsensitive: argument 1: expected secret, got number 1"),
        ("array.concat([1], 2)", "array.concat: argument 2: expected array, got number 2"),
        (#"array.combine_maps([{"a" = "a1"}], ["a"], ["a"])"#, #"array.combine_maps: expected array of objects, got an element string "a""#),
        (#"array.combine_maps([], [], [])"#, "array.combine_maps: merge conditions must not be empty"),
        ("string.format()", "string.format: expected at least 1 argument (the format), got 0"),
        ("string.format(1)", "string.format: argument 1: expected string, got number 1"),
        (#"string.format("%d")"#, #"string.format: format "%d" needs an argument for %d (argument 1), but only 0 given"#),
        (#"string.format("%d", "x")"#, #"string.format: %d needs an integer, got string "x""#),
        (#"string.format("%d", 1.5)"#, "string.format: %d needs an integer, got number 1.5"),
        (#"string.format("%t", 1)"#, "string.format: %t needs a bool, got number 1"),
        (#"string.format("%f", true)"#, "string.format: %f needs a number, got bool true"),
        (#"string.format("%z", 1)"#, "string.format: unsupported format verb %z"),
        (#"string.format("%[3]s", 1)"#, #"string.format: format "%[3]s" has a bad argument index"#),
        (#"string.join("a", ",")"#, #"string.join: argument 1: expected array, got string "a""#),
        (#"string.join([true], ",")"#, "string.join: argument 1: expected array of strings, got an element bool true"),
        ("string.replace(\"a\", \"b\")", "string.replace: expected 3 arguments, got 2"),
        (#"string.split(["a"], ",")"#, #"string.split: argument 1: expected string, got array ["a"]"#),
        ("string.to_lower(null)", "string.to_lower: argument 1: expected string, got null"),
        ("string.to_upper({})", "string.to_upper: argument 1: expected string, got object {}"),
        (#"string.trim("a", [])"#, "string.trim: argument 2: expected string, got array []"),
        (#"string.trim_prefix(true, "a")"#, "string.trim_prefix: argument 1: expected string, got bool true"),
        (#"string.trim_suffix("a", false)"#, "string.trim_suffix: argument 2: expected string, got bool false"),
        ("string.trim_space([])", "string.trim_space: argument 1: expected string, got array []"),
        (#"encoding.from_json("{")"#, "encoding.from_json: invalid JSON: unexpected end of input (at byte 2)"),
        (#"encoding.from_json("[1,]")"#, "encoding.from_json: invalid JSON: invalid character ']' looking for beginning of value (at byte 4)"),
        (#"encoding.from_json("1 2")"#, "encoding.from_json: invalid JSON: invalid character '2' after top-level value (at byte 3)"),
        ("encoding.from_json(true)", "encoding.from_json: argument 1: expected string, got bool true"),
        ("encoding.to_json(12)", "encoding.to_json: argument 1: expected object, got number 12"),
        ("encoding.from_base64(\"!!!!\")", "encoding.from_base64: illegal base64 data at input byte 0"),
        ("encoding.from_base64(\"YQ=\")", "encoding.from_base64: illegal base64 data at input byte 0"),
        ("encoding.to_base64([])", "encoding.to_base64: argument 1: expected string, got array []"),
        ("encoding.url_decode(\"%zz\")", #"encoding.url_decode: invalid URL escape "%zz""#),
        ("encoding.url_encode(null)", "encoding.url_encode: argument 1: expected string, got null"),
        ("file.path_join(1, [])", "file.path_join: argument 2: expected string, got array []"),
        (#"json_path("{", ".a")"#, "json_path: invalid JSON: unexpected end of input (at byte 2)"),
        (#"json_path("{}", "[")"#, "json_path: expected an index, a name, '*' or a filter in brackets at character 2 of JSONPath"),
    ])
    func typeErrors(text: String, message: String) {
        #expect(errorMessage(text) == message)
    }

    @Test func fromYAMLErrorsPointAtTheArgument() {
        guard case .failure(let diagnostic) = evaluate("encoding.from_yaml(\"a: [\")") else {
            Issue.record("expected an error")
            return
        }
        #expect(diagnostic.message.hasPrefix("encoding.from_yaml: invalid YAML"))
        #expect(diagnostic.range.start.column == 20)
    }

    @Test func everyDeprecatedAliasResolvesToItsNamespacedFunction() {
        for (alias, replacement) in Stdlib.deprecatedAliases {
            guard case .function = Stdlib.globals[alias] else {
                Issue.record("\(alias) is not a function")
                continue
            }
            let parts = replacement.split(separator: ".").map(String.init)
            guard case .object(let namespace) = Stdlib.globals[parts[0]], case .function(let function) = namespace[parts[1]] else {
                Issue.record("\(replacement) is missing")
                continue
            }
            #expect(function.name == replacement)
        }
    }
}
