import GoCompat
import Wire

/// `string.format`: Go's `fmt.Sprintf` over Alloy values, with the verbs Alloy documents (`%% %t %b %d %o %x %X
/// %e %E %f %F %g %G %s %q`) plus `%v %O %c %U`, flags `+ - # space 0`, width, precision, `*` and `[n]` argument
/// indexes. Unlike Go, a verb given a value it cannot convert is an error rather than `%!d(string=...)` in the
/// output, as Alloy's documentation promises; numbers are accepted for `%s` and integral strings for `%d`.
/// The verbs themselves are ``GoFormat``'s.
enum StringFormat {
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
            var directive = GoFormat.Directive()
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
            out += GoFormat.pad(try formatValue(value, verb: verb, directive: directive), directive: directive, verb: verb)
        }

        if !reordered, usedArguments.count < arguments.count {
            let extra = arguments[usedArguments.count...].map { goTypeName($0) + "=" + plain($0) }
            out += "%!(EXTRA " + extra.joined(separator: ", ") + ")"
        }
        return out
    }

    // MARK: Verbs

    private static func formatValue(_ value: Value, verb: Unicode.Scalar, directive: GoFormat.Directive) throws(EvaluationError) -> String {
        let unwrapped: Value = if case .secret(let text) = value { .string(text) } else { value }
        switch verb {
        case "v":
            return directive.sharp ? unwrapped.description : withSign(plain(unwrapped), unwrapped, directive)
        case "s":
            switch unwrapped {
            case .function, .capsule: throw mismatch(verb, value, "a string")
            default: return GoFormat.truncate(plain(unwrapped), directive.precision)
            }
        case "q":
            switch unwrapped {
            case .string(let text):
                let truncated = GoFormat.truncate(text, directive.precision)
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
            return GoFormat.formatInteger(integer, verb: verb, directive: directive)
        case "e", "E", "f", "F", "g", "G":
            guard let number = doubleValue(unwrapped) else { throw mismatch(verb, value, "a number") }
            return GoFormat.formatFloat(number, verb: verb, directive: directive)
        default:
            throw EvaluationError(message: "unsupported format verb %\(verb)")
        }
    }

    private static func mismatch(_ verb: Unicode.Scalar, _ value: Value, _ expected: String) -> EvaluationError {
        EvaluationError(message: "%\(verb) needs \(expected), got \(value.summary)")
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


    // MARK: Plain rendering (%v)

    /// How `%v` prints a value: strings bare, floats in shortest `%g`, arrays `[a b]`, objects `map[k:v]` with
    /// sorted keys, null `<nil>`.
    static func plain(_ value: Value) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(.float(let float)): return GoFormat.shortestFloat(float, verb: "g")
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

    private static func withSign(_ text: String, _ value: Value, _ directive: GoFormat.Directive) -> String {
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

}
