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
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { return nil }
        return value
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

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> GoJSONValue? {
            guard position < bytes.count, depth < GoJSONValue.maxDepth else { return nil }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var fields: [String: GoJSONValue] = [:]
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(fields)
                }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                    position += 1
                    skipSpace()
                    guard let item = value(depth: depth + 1) else { return nil }
                    fields[key] = item
                    skipSpace()
                    guard position < bytes.count else { return nil }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                    } else if bytes[position] == UInt8(ascii: "}") {
                        position += 1
                        return .object(fields)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "["):
                position += 1
                var items: [GoJSONValue] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    skipSpace()
                    guard position < bytes.count else { return nil }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                    } else if bytes[position] == UInt8(ascii: "]") {
                        position += 1
                        return .array(items)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "\""):
                return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        private mutating func literal(_ word: String, _ value: GoJSONValue) -> GoJSONValue? {
            let wanted = Array(word.utf8)
            guard bytes.count - position >= wanted.count, Array(bytes[position..<(position + wanted.count)]) == wanted
            else { return nil }
            position += wanted.count
            return value
        }

        /// JSON's number grammar; a number too large for a float64 decodes as nil, as Go leaves it (and reports an
        /// error sprig ignores).
        private mutating func number() -> GoJSONValue? {
            let start = position
            func digits() -> Int {
                let first = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                    position += 1
                }
                return position - first
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else if digits() == 0 {
                return nil
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { return nil }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard digits() > 0 else { return nil }
            }
            guard let number = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else { return nil }
            return number.isFinite ? .number(number) : .null
        }

        /// A string at `position` (its opening quote), escapes decoded; invalid UTF-8 and lone surrogates become
        /// U+FFFD, as in Go.
        private mutating func string() -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            position += 1
            var out: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { return nil }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar), bytes.count - position >= 6,
                           bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                        {
                            let saved = position
                            position += 2
                            if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                position = saved
                            }
                        }
                        out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
                    default:
                        return nil
                    }
                default:
                    guard byte >= 0x20 else { return nil }
                    out.append(byte)
                }
            }
            return nil
        }

        private mutating func hex4() -> UInt32? {
            guard bytes.count - position >= 4 else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }
    }
}
