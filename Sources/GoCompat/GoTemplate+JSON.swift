import Wire

/// A value Go's `json.Unmarshal` decodes into an `interface{}`: what sprig's `fromJson` gives a template.
package indirect enum GoJSONValue: Sendable, Equatable {
    /// JSON `null`: Go's nil.
    case null
    case bool(Bool)
    /// Every JSON number is a float64 in Go.
    case number(Double)
    case string(String)
    case array([GoJSONValue])
    /// Go's `map[string]interface{}`: a repeated key keeps its last value.
    case object([String: GoJSONValue])

    /// Go nests at most this deep (`encoding/json`'s limit is 10,000; this one keeps the recursion within any
    /// thread's stack). Deeper text does not decode.
    static let maxDepth = 512

    /// `json.Unmarshal([]byte(text), &v)` with `v interface{}`; nil where Go returns an error (sprig's `fromJson`
    /// then gives nil).
    package static func decode(_ text: String) -> GoJSONValue? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> GoJSONValue? in
            var scanner = JSONScanner<SyntaxError>(input: buffer)
            defer { scanner.release() }
            scanner.skipWhitespace()
            guard let value = try? scanner.tree(Tree()), scanner.isAtEnd() else { return nil }
            return value
        }
    }

    /// The template value a JSON value is: strings and booleans as themselves, nil as a missing value; numbers,
    /// arrays and maps stay JSON so that they print as Go prints a float64, a slice or a map.
    package var templateValue: GoTemplate.Value {
        switch self {
        case .null: .missing
        case .bool(let flag): .bool(flag)
        case .string(let text): .string(text)
        case .number, .array, .object: .json(self)
        }
    }

    /// `fmt.Sprint(v)`: `map[a:1 b:[x y]]` with sorted keys, `[1 2]`, `1e+06`, and `<nil>` for a nil inside.
    package var goText: String {
        var out: [UInt8] = []
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func append(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "<nil>".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): GoFloatFormat.appendPrint(number, to: &out)
        case .string(let text): out.append(contentsOf: text.utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: " ")) }
                item.append(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(contentsOf: "map[".utf8)
            // Go's fmt sorts string keys bytewise.
            for (index, key) in fields.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
                .enumerated()
            {
                if index > 0 { out.append(UInt8(ascii: " ")) }
                out.append(contentsOf: key.utf8)
                out.append(UInt8(ascii: ":"))
                fields[key]?.append(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// Go's name of the value's dynamic type, for error messages.
    var goTypeName: String {
        switch self {
        case .null: "interface {}"
        case .bool: "bool"
        case .number: "float64"
        case .string: "string"
        case .array: "[]interface {}"
        case .object: "map[string]interface {}"
        }
    }

    /// Any syntax error: Go's error text does not reach a template (sprig ignores it).
    private struct SyntaxError: JSONSyntaxFailure {
        init(jsonSyntax reason: String, offset: Int) {}
    }

    /// `encoding/json` into `interface{}`: objects become maps (the last of a repeated key wins), numbers float64.
    private struct Tree: JSONTreeBuilder {
        var maximumDepth: Int { GoJSONValue.maxDepth }
        var tooDeep: String { "nested too deep" }
        func null() -> GoJSONValue { .null }
        func bool(_ value: Bool) -> GoJSONValue { .bool(value) }
        func string(_ value: String) -> GoJSONValue { .string(value) }
        func array(_ items: [GoJSONValue]) -> GoJSONValue { .array(items) }

        func object(_ members: [(key: String, value: GoJSONValue)]) -> GoJSONValue {
            var fields: [String: GoJSONValue] = [:]
            for (key, value) in members { fields[key] = value }
            return .object(fields)
        }

        func number(_ text: UnsafeBufferPointer<UInt8>, start: Int, scanner: borrowing JSONScanner<SyntaxError>)
            throws(SyntaxError) -> GoJSONValue
        {
            // A number too large for a float64 is left nil, as Go leaves it (with an error sprig ignores).
            guard let number = Double(String(decoding: text, as: UTF8.self)), number.isFinite else { return .null }
            return .number(number)
        }
    }
}
