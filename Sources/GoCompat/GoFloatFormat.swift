/// Go's formatting of `float64`, which the Loki translator's output depends on byte for byte: `encoding/json` and
/// pdata's `Value.AsString` (shortest digits, `%f` unless the magnitude is below 1e-6 or at least 1e21, exponents
/// like `1e-7` and `1e+21`), and `fmt`'s `%v` (shortest digits, `%e` when the exponent is below -4 or at least 6,
/// exponents of two digits or more: `1e+06`, `1.5e-07`).
///
/// Both start from the shortest decimal that reads back as the same double; Swift's `description` gives exactly
/// that, so its digits are taken and laid out again the way Go lays them out.
package enum GoFloatFormat {
    /// Shortest round-trip digits: the value is `0.<digits> × 10^point` (Go's `decimalSlice` convention).
    struct Digits {
        var negative: Bool
        /// ASCII digits without leading or trailing zeros; empty for zero.
        var digits: [UInt8]
        /// Where the decimal point goes, counted from the first digit.
        var point: Int
    }

    /// The shortest digits of a finite double.
    static func digits(of value: Double) -> Digits {
        let text = Array(value.description.utf8)
        var index = 0
        var negative = false
        if index < text.count, text[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var point: Int?
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                point = digits.count
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits.append(byte)
            } else {
                break
            }
            index += 1
        }
        var exponent = 0
        if index < text.count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                exponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            while index < text.count, text[index] >= UInt8(ascii: "0"), text[index] <= UInt8(ascii: "9") {
                exponent = exponent * 10 + Int(text[index] - UInt8(ascii: "0"))
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        var decimalPoint = (point ?? digits.count) + exponent
        // Leading zeros move the point; trailing zeros carry nothing.
        var leading = 0
        while leading < digits.count, digits[leading] == UInt8(ascii: "0") { leading += 1 }
        if leading == digits.count {
            return Digits(negative: negative, digits: [], point: 0)
        }
        decimalPoint -= leading
        var end = digits.count
        while end > leading, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        return Digits(negative: negative, digits: Array(digits[leading..<end]), point: decimalPoint)
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back as `v`, never an exponent.
    package static func fixed(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let parts = digits(of: value)
        var out: [UInt8] = parts.negative ? [UInt8(ascii: "-")] : []
        let digits = parts.digits
        if digits.isEmpty { return parts.negative ? "-0" : "0" }
        if parts.point <= 0 {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -parts.point))
            out.append(contentsOf: digits)
        } else if parts.point >= digits.count {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: parts.point - digits.count))
        } else {
            out.append(contentsOf: digits[0..<parts.point])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[parts.point...])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `encoding/json`'s float64 (and pdata's `AsString` of a double). The caller rejects NaN and infinities.
    package static func appendJSON(_ value: Double, to out: inout [UInt8]) {
        let magnitude = value.magnitude
        let exponential = magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21)
        let parts = digits(of: value)
        if exponential {
            appendExponential(parts, minimumExponentDigits: 1, to: &out)
        } else {
            appendFixed(parts, to: &out)
        }
    }

    /// `fmt.Sprint(float64)`, i.e. `%v`: `strconv.FormatFloat(v, 'g', -1, 64)`, with Go's spellings of the
    /// special values.
    package static func appendPrint(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN {
            out.append(contentsOf: "NaN".utf8)
            return
        }
        if value.isInfinite {
            out.append(contentsOf: (value < 0 ? "-Inf" : "+Inf").utf8)
            return
        }
        let parts = digits(of: value)
        let exponent = parts.digits.isEmpty ? 0 : parts.point - 1
        if exponent < -4 || exponent >= 6 {
            appendExponential(parts, minimumExponentDigits: 2, to: &out)
        } else {
            appendFixed(parts, to: &out)
        }
    }

    /// `%f` with exactly the digits needed.
    private static func appendFixed(_ parts: Digits, to out: inout [UInt8]) {
        if parts.negative { out.append(UInt8(ascii: "-")) }
        let digits = parts.digits
        if parts.point > 0 {
            for index in 0..<parts.point {
                out.append(index < digits.count ? digits[index] : UInt8(ascii: "0"))
            }
        } else {
            out.append(UInt8(ascii: "0"))
        }
        let fraction = max(digits.count - parts.point, 0)
        if fraction > 0 {
            out.append(UInt8(ascii: "."))
            for offset in 0..<fraction {
                let index = parts.point + offset
                out.append(index >= 0 && index < digits.count ? digits[index] : UInt8(ascii: "0"))
            }
        }
    }

    /// `%e` with exactly the digits needed; `minimumExponentDigits` is 2 for strconv, 1 for `encoding/json`
    /// (which trims `e-07` to `e-7`; positive exponents there are always 21 or more).
    private static func appendExponential(_ parts: Digits, minimumExponentDigits: Int, to out: inout [UInt8]) {
        if parts.negative { out.append(UInt8(ascii: "-")) }
        let digits = parts.digits
        out.append(digits.first ?? UInt8(ascii: "0"))
        if digits.count > 1 {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[1...])
        }
        out.append(UInt8(ascii: "e"))
        var exponent = digits.isEmpty ? 0 : parts.point - 1
        if exponent < 0 {
            out.append(UInt8(ascii: "-"))
            exponent = -exponent
        } else {
            out.append(UInt8(ascii: "+"))
        }
        var text: [UInt8] = []
        repeat {
            text.append(UInt8(ascii: "0") + UInt8(exponent % 10))
            exponent /= 10
        } while exponent > 0
        while text.count < minimumExponentDigits { text.append(UInt8(ascii: "0")) }
        out.append(contentsOf: text.reversed())
    }
}
