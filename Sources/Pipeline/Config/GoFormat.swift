import Wire

/// `string.format`: Go's `fmt.Sprintf` over Alloy values, with the verbs Alloy documents (`%% %t %b %d %o %x %X
/// %e %E %f %F %g %G %s %q`) plus `%v %O %c %U`, flags `+ - # space 0`, width, precision, `*` and `[n]` argument
/// indexes. Unlike Go, a verb given a value it cannot convert is an error rather than `%!d(string=...)` in the
/// output, as Alloy's documentation promises; numbers are accepted for `%s` and integral strings for `%d`.
enum GoFormat {
    private struct Directive {
        var plus = false
        var minus = false
        var sharp = false
        var space = false
        var zero = false
        var width: Int?
        var precision: Int?
    }

    static func format(_ spec: String, _ arguments: [Value]) throws(EvaluationError) -> String {
        let scalars = Array(spec.unicodeScalars)
        var out = ""
        var argumentIndex = 0
        var usedArguments = Set<Int>()
        var reordered = false
        var i = 0

        func takeArgument(_ verbText: String) throws(EvaluationError) -> Value {
            guard argumentIndex < arguments.count else {
                throw EvaluationError(
                    message: "format \(GoQuote.quote(spec)) needs an argument for \(verbText) (argument "
                        + "\(argumentIndex + 1)), but only \(arguments.count) given")
            }
            usedArguments.insert(argumentIndex)
            defer { argumentIndex += 1 }
            return arguments[argumentIndex]
        }

        func parseNumber() -> Int? {
            var value: Int?
            while i < scalars.count, let digit = Int(String(scalars[i])), scalars[i].isASCII {
                value = min((value ?? 0) * 10 + digit, 1_000_000)
                i += 1
            }
            return value
        }

        func parseIndex() throws(EvaluationError) {
            guard i < scalars.count, scalars[i] == "[" else { return }
            i += 1
            guard let index = parseNumber(), i < scalars.count, scalars[i] == "]", index >= 1, index <= arguments.count else {
                throw EvaluationError(message: "format \(GoQuote.quote(spec)) has a bad argument index")
            }
            i += 1
            argumentIndex = index - 1
            reordered = true
        }

        func starArgument(_ what: String) throws(EvaluationError) -> Int {
            let value = try takeArgument("*")
            guard case .number(let number) = value, let int = number.int64Value, abs(int) <= 1_000_000 else {
                throw EvaluationError(message: "format \(GoQuote.quote(spec)): \(what) * needs an integer, got \(value.summary)")
            }
            return Int(int)
        }

        while i < scalars.count {
            let scalar = scalars[i]
            guard scalar == "%" else {
                out.unicodeScalars.append(scalar)
                i += 1
                continue
            }
            i += 1
            var directive = Directive()
            flags: while i < scalars.count {
                switch scalars[i] {
                case "+": directive.plus = true
                case "-": directive.minus = true
                case "#": directive.sharp = true
                case " ": directive.space = true
                case "0": directive.zero = true
                default: break flags
                }
                i += 1
            }
            try parseIndex()
            if i < scalars.count, scalars[i] == "*" {
                i += 1
                var width = try starArgument("width")
                if width < 0 {
                    directive.minus = true
                    width = -width
                }
                directive.width = width
            } else {
                directive.width = parseNumber()
            }
            if i < scalars.count, scalars[i] == "." {
                i += 1
                try parseIndex()
                if i < scalars.count, scalars[i] == "*" {
                    i += 1
                    let precision = try starArgument("precision")
                    directive.precision = precision < 0 ? nil : precision
                } else {
                    directive.precision = parseNumber() ?? 0
                }
            }
            try parseIndex()
            guard i < scalars.count else {
                throw EvaluationError(message: "format \(GoQuote.quote(spec)) ends in the middle of a verb")
            }
            let verb = scalars[i]
            i += 1
            if verb == "%" {
                out += "%"
                continue
            }
            let value = try takeArgument("%" + String(verb))
            out += pad(try formatValue(value, verb: verb, directive: directive), directive: directive, verb: verb)
        }

        if !reordered, usedArguments.count < arguments.count {
            let extra = arguments[usedArguments.count...].map { goTypeName($0) + "=" + plain($0) }
            out += "%!(EXTRA " + extra.joined(separator: ", ") + ")"
        }
        return out
    }

    // MARK: Verbs

    private static func formatValue(_ value: Value, verb: Unicode.Scalar, directive: Directive) throws(EvaluationError) -> String {
        let unwrapped: Value = if case .secret(let text) = value { .string(text) } else { value }
        switch verb {
        case "v":
            return directive.sharp ? unwrapped.description : withSign(plain(unwrapped), unwrapped, directive)
        case "s":
            switch unwrapped {
            case .function, .capsule: throw mismatch(verb, value, "a string")
            default: return truncate(plain(unwrapped), directive.precision)
            }
        case "q":
            switch unwrapped {
            case .string(let text):
                let truncated = truncate(text, directive.precision)
                if directive.sharp, !truncated.contains("`"), truncated.unicodeScalars.allSatisfy({ GoQuote.isPrint($0) || $0 == "\t" }) {
                    return "`" + truncated + "`"
                }
                return GoQuote.quote(truncated)
            case .number(let number):
                if number.isInteger, let code = number.int64Value, let scalar = Unicode.Scalar(UInt32(clamping: max(0, code))) {
                    return "'" + String(GoQuote.quote(String(scalar)).dropFirst().dropLast()) + "'"
                }
                throw mismatch(verb, value, "a string")
            default: throw mismatch(verb, value, "a string")
            }
        case "t":
            guard case .bool(let flag) = unwrapped else { throw mismatch(verb, value, "a bool") }
            return flag ? "true" : "false"
        case "d", "b", "o", "O", "x", "X", "c", "U":
            if case .string(let text) = unwrapped, verb == "x" || verb == "X" {
                let hex = text.utf8.map { byte -> String in
                    let digits = String(byte, radix: 16, uppercase: verb == "X")
                    return digits.count == 1 ? "0" + digits : digits
                }
                return hex.joined(separator: directive.space ? " " : "")
            }
            guard let integer = integerValue(unwrapped) else { throw mismatch(verb, value, "an integer") }
            return formatInteger(integer, verb: verb, directive: directive)
        case "e", "E", "f", "F", "g", "G":
            guard let number = doubleValue(unwrapped) else { throw mismatch(verb, value, "a number") }
            return formatFloat(number, verb: verb, directive: directive)
        default:
            throw EvaluationError(message: "unsupported format verb %\(verb)")
        }
    }

    private static func mismatch(_ verb: Unicode.Scalar, _ value: Value, _ expected: String) -> EvaluationError {
        EvaluationError(message: "%\(verb) needs \(expected), got \(value.summary)")
    }

    private static func truncate(_ text: String, _ precision: Int?) -> String {
        guard let precision else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(precision)))
    }

    private static func integerValue(_ value: Value) -> Int128? {
        switch value {
        case .number(.int(let int)): return Int128(int)
        case .number(.uint(let uint)): return Int128(uint)
        case .number(.float(let float)):
            guard float.isFinite, float.rounded() == float, abs(float) < 1.8e19 else { return nil }
            return Int128(float)
        case .string(let text):
            if let int = Int64(text) { return Int128(int) }
            if let uint = UInt64(text) { return Int128(uint) }
            return nil
        default: return nil
        }
    }

    private static func doubleValue(_ value: Value) -> Double? {
        switch value {
        case .number(let number): number.doubleValue
        case .string(let text): Double(text)
        default: nil
        }
    }

    private static func formatInteger(_ value: Int128, verb: Unicode.Scalar, directive: Directive) -> String {
        if verb == "c" {
            guard value >= 0, value <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(value)) else { return "\u{FFFD}" }
            return String(scalar)
        }
        if verb == "U" {
            let hex = String(value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        let negative = value < 0
        let magnitude = negative ? -value : value
        var digits: String
        var prefix = ""
        switch verb {
        case "b":
            digits = String(magnitude, radix: 2)
            if directive.sharp { prefix = "0b" }
        case "o":
            digits = String(magnitude, radix: 8)
            if directive.sharp { prefix = "0" }
        case "O":
            digits = String(magnitude, radix: 8)
            prefix = "0o"
        case "x":
            digits = String(magnitude, radix: 16)
            if directive.sharp { prefix = "0x" }
        case "X":
            digits = String(magnitude, radix: 16, uppercase: true)
            if directive.sharp { prefix = "0X" }
        default:
            digits = String(magnitude)
        }
        if let precision = directive.precision, digits.count < precision {
            digits = String(repeating: "0", count: precision - digits.count) + digits
        }
        let sign = negative ? "-" : (directive.plus ? "+" : (directive.space ? " " : ""))
        return sign + prefix + digits
    }

    private static func formatFloat(_ value: Double, verb: Unicode.Scalar, directive: Directive) -> String {
        let sign = value.sign == .minus ? "-" : (directive.plus ? "+" : (directive.space ? " " : ""))
        if value.isNaN {
            return (directive.plus ? "+" : (directive.space ? " " : "")) + "NaN"
        }
        if value.isInfinite {
            return (value < 0 ? "-" : "+") + "Inf"
        }
        let magnitude = abs(value)
        let body: String
        switch verb {
        case "g", "G":
            if let precision = directive.precision {
                body = CLibrary.format(magnitude, conversion: "%.\(min(precision, 300))\(verb)")
            } else {
                body = shortestFloat(magnitude, verb: verb)
            }
        case "F":
            body = CLibrary.format(magnitude, conversion: "%.\(min(directive.precision ?? 6, 300))f")
        default:
            body = CLibrary.format(magnitude, conversion: "%.\(min(directive.precision ?? 6, 300))\(verb)")
        }
        return sign + body
    }

    /// Go's `strconv.FormatFloat(value, 'g', -1, 64)`: the shortest digits that read back as `value`, in `%e` form
    /// when the exponent is below -4 or at least 6 (21 when `verb` is `v`-like and `wide`), `%f` form otherwise.
    static func shortestFloat(_ value: Double, verb: Unicode.Scalar) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf") }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let negative = value < 0
        let (digits, point) = shortestDigits(abs(value))
        let exponent = point - 1
        var text: String
        if exponent < -4 || exponent >= 6 {
            text = String(digits.first ?? "0")
            if digits.count > 1 {
                text += "." + digits.dropFirst()
            }
            let e = verb == "G" ? "E" : "e"
            let magnitude = abs(exponent)
            text += e + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        } else if point <= 0 {
            text = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            text = digits + String(repeating: "0", count: point - digits.count)
        } else {
            let index = digits.index(digits.startIndex, offsetBy: point)
            text = digits[..<index] + "." + digits[index...]
        }
        return (negative ? "-" : "") + text
    }

    /// The shortest round-trip decimal digits of a positive finite double (no leading or trailing zeros) and the
    /// position of the decimal point relative to the first digit: `value = 0.DIGITS × 10^point`.
    static func shortestDigits(_ value: Double) -> (String, Int) {
        let text = value.description  // Swift prints the shortest round-trip representation.
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var integerPart = mantissa
        var fraction: Substring = ""
        if let dot = mantissa.firstIndex(of: ".") {
            integerPart = mantissa[..<dot]
            fraction = mantissa[mantissa.index(after: dot)...]
        }
        var digits = String(integerPart) + fraction
        var point = integerPart.count + exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") {
            digits.removeLast()
        }
        if digits.isEmpty { return ("0", 1) }
        return (digits, point)
    }

    // MARK: Plain rendering (%v)

    /// How `%v` prints a value: strings bare, floats in shortest `%g`, arrays `[a b]`, objects `map[k:v]` with
    /// sorted keys, null `<nil>`.
    static func plain(_ value: Value) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(.float(let float)): return shortestFloat(float, verb: "g")
        case .number(let number): return number.description
        case .string(let text), .secret(let text): return text
        case .array(let elements): return "[" + elements.map(plain).joined(separator: " ") + "]"
        case .object(let object):
            return "map[" + object.pairs.sorted { $0.key < $1.key }.map { $0.key + ":" + plain($0.value) }
                .joined(separator: " ") + "]"
        case .function(let function): return "function(\(function.name))"
        case .capsule(let capsule): return "capsule(\(capsule.typeName))"
        }
    }

    private static func withSign(_ text: String, _ value: Value, _ directive: Directive) -> String {
        guard case .number = value, !text.hasPrefix("-") else { return text }
        return (directive.plus ? "+" : (directive.space ? " " : "")) + text
    }

    private static func goTypeName(_ value: Value) -> String {
        switch value {
        case .null: "<nil>"
        case .bool: "bool"
        case .number(.float): "float64"
        case .number(.uint): "uint64"
        case .number: "int"
        case .string, .secret: "string"
        case .array: "[]interface {}"
        case .object: "map[string]interface {}"
        case .function: "func"
        case .capsule: "capsule"
        }
    }

    // MARK: Width

    private static func pad(_ text: String, directive: Directive, verb: Unicode.Scalar) -> String {
        guard let width = directive.width else { return text }
        let length = text.unicodeScalars.count
        guard length < width else { return text }
        let fill = width - length
        if directive.minus {
            return text + String(repeating: " ", count: fill)
        }
        let numeric = "dboOxXeEfFgGv".unicodeScalars.contains(verb)
        if directive.zero && numeric && !text.hasSuffix("Inf") && !text.hasSuffix("NaN") {
            // Zeros go between the sign (and base prefix) and the digits.
            var prefixLength = 0
            let scalars = Array(text.unicodeScalars)
            if let first = scalars.first, first == "-" || first == "+" || first == " " { prefixLength = 1 }
            if scalars.count >= prefixLength + 2, scalars[prefixLength] == "0",
                ["x", "X", "b", "o"].contains(scalars[prefixLength + 1])
            {
                prefixLength += 2
            }
            let prefix = String(String.UnicodeScalarView(scalars[..<prefixLength]))
            let rest = String(String.UnicodeScalarView(scalars[prefixLength...]))
            return prefix + String(repeating: "0", count: fill) + rest
        }
        return String(repeating: " ", count: fill) + text
    }
}
