import GoCompat
import Wire

/// JSON to and from Alloy values, with Go's `encoding/json` behaviour where Alloy users can see it: numbers
/// decode as floats, objects keep their key order, a repeated key keeps its last value, and encoding sorts object
/// keys and escapes `<`, `>` and `&`.
package enum JSONCoding {
    package static let maximumDepth = 512

    package struct DecodeError: JSONSyntaxFailure {
        package var message: String

        package init(jsonSyntax reason: String, offset: Int) {
            message = "\(reason) (at byte \(offset + 1))"
        }
    }

    package static func decode(_ text: String) throws(DecodeError) -> Value {
        var text = text
        let result = text.withUTF8 { bytes -> Result<Value, DecodeError> in
            var scanner = JSONScanner<DecodeError>(input: bytes)
            defer { scanner.release() }
            do throws(DecodeError) {
                scanner.skipWhitespace()
                let value = try scanner.tree(JSONTree())
                guard scanner.isAtEnd() else { throw JSONTree.invalidCharacter(scanner, "after top-level value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    package struct EncodeError: Error {
        package var message: String
    }

    package static func encode(_ value: Value) throws(EncodeError) -> String {
        var out = ""
        try encode(value, into: &out, depth: 0)
        return out
    }

    private static func encode(_ value: Value, into out: inout String, depth: Int) throws(EncodeError) {
        guard depth < maximumDepth else { throw EncodeError(message: "value nested too deeply to encode") }
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number):
            if case .float(let float) = number {
                guard float.isFinite else { throw EncodeError(message: "unsupported value: \(Number.format(float))") }
                out += jsonFloat(float)
            } else {
                out += number.description
            }
        case .string(let text): out += quote(text)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                try encode(element, into: &out, depth: depth + 1)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, pair) in object.pairs.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { out += "," }
                out += quote(pair.key) + ":"
                try encode(pair.value, into: &out, depth: depth + 1)
            }
            out += "}"
        case .secret: throw EncodeError(message: "a secret cannot be encoded as JSON; use convert.nonsensitive first")
        case .function(let function): throw EncodeError(message: "unsupported type: function \(function.name)")
        case .capsule(let capsule): throw EncodeError(message: "unsupported type: capsule \(capsule.typeName)")
        }
    }

    /// Go's float encoding: shortest digits, `%e` form only for very large or very small magnitudes.
    private static func jsonFloat(_ value: Double) -> String {
        var bytes: [UInt8] = []
        GoFloatFormat.appendJSON(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    package static func quote(_ text: String) -> String {
        JSONString.quote(text, options: .htmlSafe)
    }
}

/// Builds a `Value` tree with the shared walk over `JSONScanner`'s tokens, with Go's wording for structural errors.
private struct JSONTree: JSONTreeBuilder {
    var maximumDepth: Int { JSONCoding.maximumDepth }
    var tooDeep: String { "JSON nested too deeply" }

    /// Go's `invalid character 'x' looking for beginning of value`.
    static func invalidCharacter(_ scanner: borrowing JSONScanner<JSONCoding.DecodeError>, _ context: String)
        -> JSONCoding.DecodeError
    {
        scanner.failure("invalid character \(scanner.describeByte(at: scanner.position)) \(context)")
    }

    func null() -> Value { .null }
    func bool(_ value: Bool) -> Value { .bool(value) }
    func string(_ value: String) -> Value { .string(value) }
    func array(_ items: [Value]) -> Value { .array(items) }

    func object(_ members: [(key: String, value: Value)]) -> Value {
        var object = ValueObject()
        for (key, value) in members { object[key] = value }
        return .object(object)
    }

    func number(_ text: UnsafeBufferPointer<UInt8>, start: Int, scanner: borrowing JSONScanner<JSONCoding.DecodeError>)
        throws(JSONCoding.DecodeError) -> Value
    {
        let text = String(decoding: text, as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw scanner.failure("number \(text) is out of range", at: start)
        }
        return .number(.float(value))
    }

    func unexpectedValue(_ scanner: borrowing JSONScanner<JSONCoding.DecodeError>) -> JSONCoding.DecodeError? {
        Self.invalidCharacter(scanner, "looking for beginning of value")
    }

    func unexpectedKey(_ scanner: borrowing JSONScanner<JSONCoding.DecodeError>) -> JSONCoding.DecodeError? {
        Self.invalidCharacter(scanner, "looking for beginning of object key string")
    }
}
