import Foundation
import Wire

/// Go's conversions that Loki applies to label values, with Go's error texts (they end up in
/// `__error_details__`, which users filter on).
enum GoConversions {
    struct Failure: Error, Sendable {
        var message: String
    }

    /// `strconv.ParseFloat(text, 64)`.
    static func parseFloat(_ text: String) -> Result<Double, Failure> {
        if let value = goFloat(text) { return .success(value) }
        return .failure(Failure(message: "strconv.ParseFloat: parsing \(GoQuoteText.quote(text)): invalid syntax"))
    }

    /// Go's float syntax (decimal, exponent, `inf`, `nan`, hex floats, `_` between digits) mostly coincides with
    /// Swift's; differences are rejected here so both agree on what parses.
    static func goFloat(_ text: String) -> Double? {
        // Whole numbers of up to 15 digits (`200`, `-42`), the commonest label values filtered on, are exact in a
        // double and need no parsing library.
        var integer = 0
        var digits = 0
        var negative = false
        for byte in text.utf8 {
            if byte >= 48 && byte <= 57 {
                integer = integer &* 10 &+ Int(byte &- 48)
                digits += 1
            } else if byte == UInt8(ascii: "-") && digits == 0 && !negative {
                negative = true
            } else {
                digits = -1
                break
            }
            if digits > 15 { break }
        }
        if digits > 0 && digits <= 15 { return negative ? -Double(integer) : Double(integer) }
        // The next commonest, plain decimals (`-1.5`, `2e3`), need none of the checks below.
        var plain = true
        for byte in text.utf8 {
            switch byte {
            case 48...57, UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "e"), UInt8(ascii: "E"): continue
            default: plain = false
            }
            if !plain { break }
        }
        if plain, !text.isEmpty { return Double(text) }
        guard !text.isEmpty, let first = text.utf8.first, first != UInt8(ascii: " "), text.utf8.last != UInt8(ascii: " ")
        else { return nil }
        if text.contains("_") { return nil }
        let lowered = text.lowercased()
        switch lowered {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default: break
        }
        if lowered.contains("nan") || lowered.contains("inf") { return nil }
        return Double(text)
    }

    /// `time.ParseDuration`: nanoseconds.
    static func parseDuration(_ text: String) -> Result<Int64, Failure> {
        let failure = Failure(message: "time: invalid duration \(GoQuoteText.quote(text))")
        let bytes = Array(text.utf8)
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        if bytes.count - index == 1, bytes[index] == UInt8(ascii: "0") { return .success(0) }
        if index == bytes.count { return .failure(failure) }
        var total: Double = 0
        while index < bytes.count {
            var whole: Double = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                whole = whole * 10 + Double(bytes[index] - 48)
                digits += 1
                index += 1
            }
            var fraction: Double = 0
            var scale: Double = 1
            var fractionDigits = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    fraction = fraction * 10 + Double(bytes[index] - 48)
                    scale *= 10
                    fractionDigits += 1
                    index += 1
                }
            }
            if digits == 0 && fractionDigits == 0 { return .failure(failure) }
            let unitStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "."), !(bytes[index] >= 48 && bytes[index] <= 57) {
                index += 1
            }
            let unit = String(decoding: bytes[unitStart..<index], as: UTF8.self)
            let multiplier: Double
            switch unit {
            case "ns": multiplier = 1
            case "us", "µs", "μs": multiplier = 1_000
            case "ms": multiplier = 1_000_000
            case "s": multiplier = 1_000_000_000
            case "m": multiplier = 60_000_000_000
            case "h": multiplier = 3_600_000_000_000
            case "":
                return .failure(Failure(message: "time: missing unit in duration \(GoQuoteText.quote(text))"))
            default:
                return .failure(Failure(message: "time: unknown unit \(GoQuoteText.quote(unit)) in duration \(GoQuoteText.quote(text))"))
            }
            total += (whole + fraction / scale) * multiplier
        }
        guard total <= 9.223372036854775807e18 else { return .failure(failure) }
        let nanoseconds = Int64(total.rounded(.towardZero))
        return .success(negative ? -nanoseconds : nanoseconds)
    }

    /// go-humanize's `ParseBytes`: `42`, `42 MB` (1000s), `42 MiB` (1024s), `1,024kb`.
    static func parseBytes(_ text: String) -> Result<UInt64, Failure> {
        let scalars = Array(text.unicodeScalars)
        var end = 0
        var hasComma = false
        while end < scalars.count {
            let scalar = scalars[end]
            guard scalar.properties.numericType == .decimal || scalar == "." || scalar == "," else { break }
            if scalar == "," { hasComma = true }
            end += 1
        }
        var number = String(String.UnicodeScalarView(scalars[..<end]))
        if hasComma { number = number.replacingOccurrences(of: ",", with: "") }
        guard let value = goFloat(number) else {
            return .failure(Failure(message: "strconv.ParseFloat: parsing \(GoQuoteText.quote(number)): invalid syntax"))
        }
        let unit = String(String.UnicodeScalarView(scalars[end...])).trimmingCharacters(in: .whitespaces).lowercased()
        guard let multiplier = byteUnits[unit] else {
            return .failure(Failure(message: "unhandled size name: \(unit)"))
        }
        let total = value * multiplier
        guard total < 1.8446744073709552e19 else { return .failure(Failure(message: "too large: \(text)")) }
        return .success(total > 0 ? UInt64(total) : 0)
    }

    private static let byteUnits: [String: Double] = {
        var table: [String: Double] = ["": 1, "b": 1]
        let prefixes = ["k", "m", "g", "t", "p", "e"]
        for (index, prefix) in prefixes.enumerated() {
            let decimal = pow10(3 * (index + 1))
            let binary = Double(UInt64(1) << (10 * UInt64(index + 1)))
            table[prefix] = decimal
            table[prefix + "b"] = decimal
            table[prefix + "i"] = binary
            table[prefix + "ib"] = binary
        }
        return table
    }()

    private static func pow10(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}

/// `strconv.Quote` for error texts.
enum GoQuoteText {
    static func quote(_ text: String) -> String {
        GoQuote.quote(text)
    }
}
