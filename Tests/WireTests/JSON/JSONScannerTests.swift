import TestSupport
import Testing
import Wire

/// The shared JSON tokenizer and string escaper: what every JSON parser and writer in Estuary is built on.
@Suite struct JSONScannerTests {
    struct Failure: JSONSyntaxFailure, Equatable {
        var reason: String
        var offset: Int

        init(jsonSyntax reason: String, offset: Int) {
            self.reason = reason
            self.offset = offset
        }
    }

    /// A JSON value as a test sees it.
    indirect enum Node: Equatable {
        case null, bool(Bool), number(String), string([UInt8]), array([Node]), object([([UInt8], Node)])

        static func == (left: Node, right: Node) -> Bool {
            switch (left, right) {
            case (.null, .null): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.number(let a), .number(let b)): return a == b
            case (.string(let a), .string(let b)): return a == b
            case (.array(let a), .array(let b)): return a == b
            case (.object(let a), .object(let b)):
                return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            default: return false
            }
        }
    }

    /// Reads a whole document into a `Node` tree with the scanner's public API.
    static func read(_ bytes: [UInt8]) throws(Failure) -> Node {
        try bytes.withUnsafeBufferPointer { (input) throws(Failure) -> Node in
            var scanner = JSONScanner<Failure>(input: input)
            defer { scanner.release() }
            scanner.skipWhitespace()
            let node = try readValue(&scanner)
            guard scanner.isAtEnd() else { throw scanner.failure("trailing data") }
            return node
        }
    }

    static func readValue(_ scanner: inout JSONScanner<Failure>) throws(Failure) -> Node {
        switch try scanner.peek() {
        case UInt8(ascii: "{"):
            var members: [([UInt8], Node)] = []
            guard try scanner.beginContainer() else { return .object(members) }
            repeat {
                let key = Array(try scanner.key())
                members.append((key, try readValue(&scanner)))
            } while try scanner.nextMember()
            return .object(members)
        case UInt8(ascii: "["):
            var items: [Node] = []
            guard try scanner.beginContainer() else { return .array(items) }
            repeat {
                items.append(try readValue(&scanner))
            } while try scanner.nextElement()
            return .array(items)
        case UInt8(ascii: "\""):
            // Both string readers must agree.
            let saved = scanner.position
            let viewed = Array(try scanner.string())
            let end = scanner.position
            scanner.position = saved
            var copied = [UInt8](repeating: 0, count: scanner.count - saved)
            let length = try copied.withUnsafeMutableBufferPointer { (buffer) throws(Failure) -> Int in
                try scanner.string(into: buffer.baseAddress!)
            }
            #expect(Array(copied[0..<length]) == viewed)
            #expect(scanner.position == end)
            return .string(viewed)
        case UInt8(ascii: "t"):
            try scanner.literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanner.literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanner.literal("null")
            return .null
        default:
            return .number(String(decoding: try scanner.number(), as: UTF8.self))
        }
    }

    static func write(_ node: Node, to json: inout JSONWriter, options: JSONString.Options) {
        switch node {
        case .null: json.raw("null")
        case .bool(let flag): json.bool(flag)
        case .number(let text): json.raw(text)
        case .string(let bytes): bytes.withUnsafeBufferPointer { json.string($0, options: options) }
        case .array(let items):
            json.array(items) { write($1, to: &$0, options: options) }
        case .object(let members):
            json.raw("{")
            for (index, member) in members.enumerated() {
                if index > 0 { json.raw(",") }
                member.0.withUnsafeBufferPointer { json.string($0, options: options) }
                json.raw(":")
                write(member.1, to: &json, options: options)
            }
            json.raw("}")
        }
    }

    /// A random value whose strings are valid UTF-8 full of characters that need escaping.
    static func randomNode(_ random: inout SeededRandom, depth: Int) -> Node {
        switch random.int(0...(depth > 3 ? 3 : 5)) {
        case 0: return .null
        case 1: return .bool(random.chance(50))
        case 2:
            let numbers = ["0", "-0", "12", "-3.25", "1e9", "6.02E+23", "1.5e-7", "18446744073709551615"]
            return .number(numbers[random.int(0...numbers.count - 1)])
        case 3: return .string(randomText(&random))
        case 4: return .array((0..<random.int(0...4)).map { _ in randomNode(&random, depth: depth + 1) })
        default:
            return .object((0..<random.int(0...4)).map { _ in (randomText(&random), randomNode(&random, depth: depth + 1)) })
        }
    }

    static func randomText(_ random: inout SeededRandom) -> [UInt8] {
        let pieces: [String] = ["a", "plain text ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "<&>", "é",
                                "✓", "𝄞", "\u{2028}", "\u{2029}", "\u{FFFD}", "0123456789abcdef"]
        var text = ""
        for _ in 0..<random.int(0...12) { text += pieces[random.int(0...pieces.count - 1)] }
        return Array(text.utf8)
    }

    @Test func writtenValuesReadBackUnchanged() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x150A))
        for _ in 0..<FuzzBudget.scaled(2000) {
            let node = Self.randomNode(&random, depth: 0)
            for options in [JSONString.Options(), .htmlSafe] {
                var json = JSONWriter()
                Self.write(node, to: &json, options: options)
                #expect(try Self.read(json.bytes) == node, "\(String(decoding: json.bytes, as: UTF8.self))")
            }
        }
    }

    @Test(arguments: [
        (#""\u00e9\ud834\udd1e\/\b\f""#, "é𝄞/\u{8}\u{C}"),
        (#""\ud800""#, "\u{FFFD}"),               // a lone high surrogate
        (#""\udc00x""#, "\u{FFFD}x"),             // a lone low surrogate
        (#""\ud800\u0041""#, "\u{FFFD}A"),        // a high surrogate before something else
        (#""long enough to use the fast path \n""#, "long enough to use the fast path \n"),
    ])
    func unescapesAsGoDoes(input: String, expected: String) throws {
        #expect(try Self.read(Array(input.utf8)) == .string(Array(expected.utf8)))
    }

    @Test(arguments: [
        ("\"abc", "unexpected end of input in the string starting", 0),
        ("\"a\u{1}\"", "control character byte 0x01 in a string (escape it as \\u00XX)", 2),
        (#""\x""#, "invalid escape sequence: backslash followed by 'x'", 1),
        (#""\u12g4""#, "invalid \\u escape: 'g' is not a hex digit", 1),
        ("-", "invalid number: expected a digit, found end of input", 0),
        ("1.", "invalid number: expected a digit after '.', found end of input", 0),
        ("1e+x", "invalid number: expected a digit in the exponent, found 'x'", 0),
        ("tru", "unexpected end of input in the literal 'true'", 0),
        ("nul!", "invalid literal, expected 'null'", 0),
        ("[1 2]", "expected ',' or ']' after an array element, found '2'", 3),
        (#"{"a" 1}"#, "expected ':' after an object key, found '1'", 5),
        ("{1:2}", "expected a string object key, found '1'", 1),
    ])
    func malformedInputSaysWhatAndWhere(input: String, reason: String, offset: Int) {
        #expect(throws: Failure(jsonSyntax: reason, offset: offset)) { try Self.read(Array(input.utf8)) }
    }

    @Test func skipValueSkipsDeepNestingWithoutRecursion() throws {
        let depth = 100_000
        let document = Array((String(repeating: "[{\"k\":", count: depth) + "1" + String(repeating: "}]", count: depth)).utf8)
        try document.withUnsafeBufferPointer { (input) throws(Failure) in
            var scanner = JSONScanner<Failure>(input: input)
            try scanner.skipValue()
            let atEnd = scanner.isAtEnd()
            #expect(atEnd)
        }
    }

    @Test func randomBytesNeverCrashTheScanner() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x150B))
        let alphabet = Array(#"{}[]:,"\ tfnrue0123456789.-+eEa\/"#.utf8) + [0x00, 0x1F, 0x80, 0xFF]
        for _ in 0..<FuzzBudget.scaled(20_000) {
            let bytes = (0..<random.int(0...24)).map { _ in alphabet[random.int(0...alphabet.count - 1)] }
            do throws(Failure) {
                _ = try Self.read(bytes)
            } catch {
                #expect(error.offset >= 0 && error.offset <= bytes.count)
            }
        }
    }

    @Test func htmlSafeEscapesWhatGoEscapes() {
        #expect(JSONString.quote("<a href=\"x\">&\u{2028}\u{2029}</a>", options: .htmlSafe)
            == #""\u003ca href=\"x\"\u003e\u0026\u2028\u2029\u003c/a\u003e""#)
        #expect(JSONString.quote("<&>\u{2028}") == "\"<&>\u{2028}\"")
        #expect(JSONString.quote("\u{8}\u{C}\u{1}\u{7F}") == #""\b\f\u0001\#u{7F}""#)
    }

    @Test func numbersReadAsProtobufJSONReadsIntegers() {
        func value(_ text: String) -> (Bool, UInt64)? {
            Array(text.utf8).withUnsafeBufferPointer { JSONNumberText.integerValue($0) }.map { ($0.negative, $0.magnitude) }
        }
        #expect(value("1e3")! == (false, 1000))
        #expect(value("-10.0")! == (true, 10))
        #expect(value("1.5") == nil)
        #expect(value("18446744073709551615")! == (false, UInt64.max))
        #expect(value("18446744073709551616") == nil)
    }
}
