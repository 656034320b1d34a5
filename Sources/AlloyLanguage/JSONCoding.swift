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
            var parser = JSONParser(scanner: JSONScanner(input: bytes))
            defer { parser.scanner.release() }
            do throws(DecodeError) {
                return .success(try parser.parseDocument())
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

/// Builds a `Value` tree from the shared `JSONScanner`'s tokens, with Go's wording for structural errors.
private struct JSONParser {
    var scanner: JSONScanner<JSONCoding.DecodeError>

    mutating func parseDocument() throws(JSONCoding.DecodeError) -> Value {
        scanner.skipWhitespace()
        let value = try parseValue(depth: 0)
        guard scanner.isAtEnd() else { throw invalidCharacter("after top-level value") }
        return value
    }

    /// Go's `invalid character 'x' looking for beginning of value`.
    func invalidCharacter(_ context: String) -> JSONCoding.DecodeError {
        scanner.failure("invalid character \(scanner.describeByte(at: scanner.position)) \(context)")
    }

    mutating func parseValue(depth: Int) throws(JSONCoding.DecodeError) -> Value {
        guard depth < JSONCoding.maximumDepth else { throw scanner.failure("JSON nested too deeply") }
        switch try scanner.peek() {
        case UInt8(ascii: "{"):
            var object = ValueObject()
            guard try scanner.beginObject() else { return .object(object) }
            repeat {
                guard try scanner.peek() == UInt8(ascii: "\"") else {
                    throw invalidCharacter("looking for beginning of object key string")
                }
                let key = String(decoding: try scanner.key(), as: UTF8.self)
                object[key] = try parseValue(depth: depth + 1)
            } while try scanner.nextMember()
            return .object(object)
        case UInt8(ascii: "["):
            var elements: [Value] = []
            guard try scanner.beginArray() else { return .array(elements) }
            repeat {
                elements.append(try parseValue(depth: depth + 1))
            } while try scanner.nextElement()
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(String(decoding: try scanner.string(), as: UTF8.self))
        case UInt8(ascii: "t"):
            try scanner.literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanner.literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanner.literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = scanner.position
            let text = String(decoding: try scanner.number(), as: UTF8.self)
            guard let value = Double(text), value.isFinite else {
                throw scanner.failure("number \(text) is out of range", at: start)
            }
            return .number(.float(value))
        default:
            throw invalidCharacter("looking for beginning of value")
        }
    }
}
