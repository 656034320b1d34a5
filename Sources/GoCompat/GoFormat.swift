#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The verbs of Go's `fmt` applied to one operand that is already an integer, a float or text: flags `+ - # space 0`,
/// width and precision, as `fmt.Sprintf` lays them out. Reading a format string and choosing the operand for each
/// verb is the caller's (`string.format` does it over Alloy values).
package enum GoFormat {
    /// The flags, width and precision written between `%` and the verb.
    package struct Directive: Sendable {
        package var plus = false
        package var minus = false
        package var sharp = false
        package var space = false
        package var zero = false
        package var width: Int?
        package var precision: Int?

        package init() {}
    }

    /// `%s` and `%q` with a precision: at most `precision` scalars of `text`.
    package static func truncate(_ text: String, _ precision: Int?) -> String {
        guard let precision else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(precision)))
    }

    /// `%d %b %o %O %x %X %c %U` of an integer.
    package static func formatInteger(_ value: Int128, verb: Unicode.Scalar, directive: Directive) -> String {
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

    /// `%e %E %f %F %g %G` of a float.
    package static func formatFloat(_ value: Double, verb: Unicode.Scalar, directive: Directive) -> String {
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
                body = cFormat(magnitude, conversion: "%.\(min(precision, 300))\(verb)")
            } else {
                body = shortestFloat(magnitude, verb: verb)
            }
        case "F":
            body = cFormat(magnitude, conversion: "%.\(min(directive.precision ?? 6, 300))f")
        default:
            body = cFormat(magnitude, conversion: "%.\(min(directive.precision ?? 6, 300))\(verb)")
        }
        return sign + body
    }

    /// Go's `strconv.FormatFloat(value, 'g', -1, 64)`: the shortest digits that read back as `value`, in `%e` form
    /// when the exponent is below -4 or at least 6 (21 when `verb` is `v`-like and `wide`), `%f` form otherwise.
    package static func shortestFloat(_ value: Double, verb: Unicode.Scalar) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf") }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let negative = value < 0
        let parts = GoFloatFormat.digits(of: abs(value))
        let digits = String(decoding: parts.digits, as: UTF8.self)
        let point = parts.point
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

    // MARK: Width

    /// Pads `text` to the directive's width: spaces on the left, on the right with `-`, zeros after the sign and
    /// base prefix with `0` for numeric verbs.
    package static func pad(_ text: String, directive: Directive, verb: Unicode.Scalar) -> String {
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

    /// `printf`-style formatting of one double with a C conversion such as `%.3e`, `%.2f` or `%.4g`.
    private static func cFormat(_ value: Double, conversion: String) -> String {
        var buffer = [CChar](repeating: 0, count: 1200)
        let written = withVaList([value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { pointer in
                vsnprintf(pointer.baseAddress, pointer.count, conversion, arguments)
            }
        }
        guard written >= 0 else { return value.description }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
