/// JSON to and from Alloy values, with Go's `encoding/json` behaviour where Alloy users can see it: numbers
/// decode as floats, objects keep their key order, a repeated key keeps its last value, and encoding sorts object
/// keys and escapes `<`, `>` and `&`.
enum JSONCoding {
    static let maximumDepth = 512

    struct DecodeError: Error {
        var message: String
    }

    static func decode(_ text: String) throws(DecodeError) -> Value {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else {
            throw parser.error("invalid character \(parser.describeCurrent()) after top-level value")
        }
        return value
    }

    struct EncodeError: Error {
        var message: String
    }

    static func encode(_ value: Value) throws(EncodeError) -> String {
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
        let magnitude = abs(value)
        if magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21) {
            var text = GoFormat.shortestFloat(value, verb: "e")
            // Go writes e-07 as e-7.
            if let e = text.firstIndex(of: "e") {
                let exponent = text[text.index(after: e)...]
                let sign = exponent.first ?? "+"
                var digits = exponent.dropFirst()
                while digits.count > 1 && digits.hasPrefix("0") { digits = digits.dropFirst() }
                text = text[..<e] + "e" + String(sign) + digits
            }
            return text
        }
        let (digits, point) = value == 0 ? ("0", 1) : GoFormat.shortestDigits(magnitude)
        var text: String
        if point <= 0 {
            text = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            text = digits + String(repeating: "0", count: point - digits.count)
        } else {
            let index = digits.index(digits.startIndex, offsetBy: point)
            text = digits[..<index] + "." + digits[index...]
        }
        return (value < 0 ? "-" : "") + text
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += "\\u" + hex4(scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + hex4(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex4(_ value: UInt32) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0

    func error(_ message: String) -> JSONCoding.DecodeError {
        JSONCoding.DecodeError(message: "\(message) (at byte \(index + 1))")
    }

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
            index += 1
        }
    }

    mutating func parseValue(depth: Int) throws(JSONCoding.DecodeError) -> Value {
        guard depth < JSONCoding.maximumDepth else { throw error("JSON nested too deeply") }
        guard index < bytes.count else { throw error("unexpected end of JSON input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var object = ValueObject()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("invalid character \(describeCurrent()) looking for beginning of object key string")
                }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw error("invalid character \(describeCurrent()) after object key")
                }
                index += 1
                skipWhitespace()
                object[key] = try parseValue(depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of JSON input") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(object)
                }
                throw error("invalid character \(describeCurrent()) after object key:value pair")
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [Value] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of JSON input") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                throw error("invalid character \(describeCurrent()) after array element")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(.float(try parseNumber()))
        default:
            throw error("invalid character \(describeCurrent()) looking for beginning of value")
        }
    }

    private mutating func literal(_ word: String) throws(JSONCoding.DecodeError) {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count, bytes[index..<(index + expected.count)].elementsEqual(expected) else {
            throw error("invalid literal, expected \(word)")
        }
        index += expected.count
    }

    private mutating func parseNumber() throws(JSONCoding.DecodeError) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits() -> Int {
            let begin = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - begin
        }
        let integerStart = index
        guard digits() > 0 else { throw error("invalid number: expected a digit") }
        if bytes[integerStart] == UInt8(ascii: "0"), index - integerStart > 1 {
            throw error("invalid number: leading zero")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("invalid number: expected a digit after the decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("invalid number: expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number \(text) is out of range") }
        return value
    }

    private mutating func parseString() throws(JSONCoding.DecodeError) -> String {
        index += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unexpected end of JSON input in string") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw error("unexpected end of JSON input in string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let save = index
                        index += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(scalar).utf8))
                default:
                    index -= 1
                    throw error("invalid character \(describeCurrent()) in string escape code")
                }
            default:
                guard byte >= 0x20 else {
                    index -= 1
                    throw error("invalid character \(describeCurrent()) in string literal")
                }
                out.append(byte)
            }
        }
    }

    private mutating func hex4() throws(JSONCoding.DecodeError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of JSON input in \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid character \(describeCurrent()) in \\u hexadecimal character escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
