import Wire
import Yams

extension Stdlib {
    static let fromJSON: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        let text = try arguments.string(0)
        do throws(JSONCoding.DecodeError) {
            return try JSONCoding.decode(text)
        } catch {
            throw EvaluationError(message: "invalid JSON: \(error.message)", argumentIndex: 0)
        }
    }

    static let toJSON: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        guard case .object = args[0] else { throw arguments.typeError(0, expected: "object") }
        do throws(JSONCoding.EncodeError) {
            return .string(try JSONCoding.encode(args[0]))
        } catch {
            throw EvaluationError(message: error.message, argumentIndex: 0)
        }
    }

    /// YAML through Yams, with yaml.v3's types: integers stay integers, floats are floats, `null`/`~` is null.
    static let fromYAML: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        let text = try arguments.string(0)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw EvaluationError(message: "invalid YAML: \(error)", argumentIndex: 0)
        }
        guard let node else { return .null }
        var budget = YAMLConversion.maximumNodes
        return try YAMLConversion.value(node, depth: 0, budget: &budget)
    }

    static func fromBase64(_ args: [Value], urlSafe: Bool) throws(EvaluationError) -> Value {
        let arguments = try FunctionArguments(args, count: 1)
        let text = try arguments.string(0)
        do throws(Base64Codec.Problem) {
            let bytes = try Base64Codec.decodeGo(text, alphabet: urlSafe ? .url : .standard)
            return .string(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw EvaluationError(message: error.reason, argumentIndex: 0)
        }
    }

    static func toBase64(_ args: [Value], urlSafe: Bool) throws(EvaluationError) -> Value {
        let arguments = try FunctionArguments(args, count: 1)
        return .string(Base64Codec.encoded(Array(try arguments.string(0).utf8), alphabet: urlSafe ? .url : .standard))
    }

    /// Go's `url.QueryEscape`.
    static let urlEncode: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        var out = ""
        for byte in try arguments.string(0).utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return .string(out)
    }

    /// Go's `url.QueryUnescape`.
    static let urlDecode: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        let bytes = Array(try arguments.string(0).utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
                i += 1
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, let high = hexDigit(bytes[i + 1]), let low = hexDigit(bytes[i + 2])
                else {
                    let escape = String(decoding: bytes[i..<min(bytes.count, i + 3)], as: UTF8.self)
                    throw EvaluationError(message: "invalid URL escape \(GoQuote.quote(escape))", argumentIndex: 0)
                }
                out.append(high << 4 | low)
                i += 3
            default:
                out.append(bytes[i])
                i += 1
            }
        }
        return .string(String(decoding: out, as: UTF8.self))
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Converts a composed YAML document to a value, with limits so that alias bombs cannot exhaust memory.
enum YAMLConversion {
    static let maximumNodes = 1_000_000
    static let maximumDepth = 512

    static func value(_ node: Node, depth: Int, budget: inout Int) throws(EvaluationError) -> Value {
        budget -= 1
        guard budget >= 0 else {
            throw EvaluationError(message: "YAML document too large (more than \(maximumNodes) nodes)", argumentIndex: 0)
        }
        guard depth < maximumDepth else {
            throw EvaluationError(message: "YAML nested too deeply (limit \(maximumDepth))", argumentIndex: 0)
        }
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain && scalar.tag.rawValue == Tag.Name.implicit.rawValue {
                return resolvePlain(scalar.string)
            }
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(Value.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .number(.int(Int64($0))) } ?? resolvePlain(scalar.string)
            case .float: return node.float.map { .number(.float($0)) } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var elements: [Value] = []
            for element in sequence {
                elements.append(try value(element, depth: depth + 1, budget: &budget))
            }
            return .array(elements)
        case .mapping(let mapping):
            var object = ValueObject()
            for (key, element) in mapping {
                let name: String
                if case .scalar(let scalar) = key {
                    name = scalar.string
                } else {
                    throw EvaluationError(message: "YAML mapping keys must be scalars to become object keys", argumentIndex: 0)
                }
                object[name] = try value(element, depth: depth + 1, budget: &budget)
            }
            return .object(object)
        case .alias:
            throw EvaluationError(message: "YAML aliases are not supported here", argumentIndex: 0)
        }
    }

    /// YAML 1.2 core-schema resolution of an unquoted scalar, as yaml.v3 does it: `yes` and `on` stay strings.
    static func resolvePlain(_ text: String) -> Value {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .number(.float(.infinity))
        case "-.inf", "-.Inf", "-.INF": return .number(.float(-.infinity))
        case ".nan", ".NaN", ".NAN": return .number(.float(.nan))
        default: break
        }
        let digits = text
        var body = Substring(digits)
        var negative = false
        if let sign = body.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.hasPrefix(prefix) {
            if let magnitude = UInt64(body.dropFirst(2), radix: radix) {
                if negative, magnitude <= UInt64(Int64.max) + 1 {
                    return .number(.int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)))
                }
                if !negative {
                    return .number(Int64(exactly: magnitude).map(Number.int) ?? .uint(magnitude))
                }
            }
            return .string(text)
        }
        if !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if let int = Int64(digits) { return .number(.int(int)) }
            if !negative, let uint = UInt64(body) { return .number(.uint(uint)) }
            return Double(digits).map { .number(.float($0)) } ?? .string(text)
        }
        if isFloatSyntax(body), let float = Double(digits) {
            return .number(.float(float))
        }
        return .string(text)
    }

    /// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloatSyntax(_ text: Substring) -> Bool {
        var scalars = Array(text.unicodeScalars)[...]
        func digits() -> Int {
            var count = 0
            while let first = scalars.first, ("0"..."9").contains(first) {
                scalars = scalars.dropFirst()
                count += 1
            }
            return count
        }
        let integer = digits()
        var fraction = 0
        if scalars.first == "." {
            scalars = scalars.dropFirst()
            fraction = digits()
            if integer == 0 && fraction == 0 { return false }
        } else if integer == 0 {
            return false
        }
        if let e = scalars.first, e == "e" || e == "E" {
            scalars = scalars.dropFirst()
            if let sign = scalars.first, sign == "+" || sign == "-" { scalars = scalars.dropFirst() }
            if digits() == 0 { return false }
        }
        return scalars.isEmpty
    }
}
