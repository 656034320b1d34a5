/// Go's string literals: `strconv.Quote`, `strconv.Unquote` and `strconv.IsPrint`.
///
/// Loki and Prometheus print label values this way (`labels.Labels.String()`), so label text we produce must
/// match byte for byte: `\a \b \f \n \r \t \v \\ \"`, `\xNN` for other ASCII controls and for bytes that are not
/// valid UTF-8, `\uXXXX` / `\UXXXXXXXX` for runes that are not printable, and printable non-ASCII kept as is.
/// Alloy uses the same rules for string literals, block labels, object keys and `%q`.
public enum GoQuote {
    /// Quotes `s` exactly as Go's `strconv.Quote` does.
    public static func quote(_ s: String) -> String {
        var copy = s
        return copy.withUTF8 { quote(utf8: $0) }
    }

    /// Quotes raw bytes, which need not be valid UTF-8 (invalid bytes become `\xNN`, as in Go).
    public static func quote(utf8 bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 2)
        appendQuoted(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the quoted form of `bytes` to `out`.
    public static func appendQuoted(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                appendASCII(byte, to: &out)
                index += 1
                continue
            }
            guard let (scalar, width) = decodeScalar(bytes, at: index) else {
                appendHexByte(byte, to: &out)
                index += 1
                continue
            }
            if isPrint(scalar) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + width]))
            } else if scalar.value < 0x10000 {
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "u"))
                appendHex(scalar.value, digits: 4, to: &out)
            } else {
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "U"))
                appendHex(scalar.value, digits: 8, to: &out)
            }
            index += width
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendASCII(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(byte)
        case 0x20..<0x7F:
            out.append(byte)
        case 0x07: appendEscape("a", to: &out)
        case 0x08: appendEscape("b", to: &out)
        case 0x0C: appendEscape("f", to: &out)
        case 0x0A: appendEscape("n", to: &out)
        case 0x0D: appendEscape("r", to: &out)
        case 0x09: appendEscape("t", to: &out)
        case 0x0B: appendEscape("v", to: &out)
        default: appendHexByte(byte, to: &out)   // other C0 controls and DEL
        }
    }

    private static func appendEscape(_ letter: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: letter))
    }

    private static func appendHexByte(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        appendHex(UInt32(byte), digits: 2, to: &out)
    }

    private static func appendHex(_ value: UInt32, digits: Int, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        var shift = (digits - 1) * 4
        while shift >= 0 {
            out.append(hex.utf8Start[Int((value >> UInt32(shift)) & 0xF)])
            shift -= 4
        }
    }

    /// Decodes one well-formed UTF-8 sequence starting at `index` (whose byte is >= 0x80), with Go's rules:
    /// no overlong forms, no surrogates, nothing above U+10FFFF. Returns nil when the sequence is invalid.
    static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (Unicode.Scalar, Int)? {
        let count = bytes.count
        let b0 = bytes[index]
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> UInt32? {
            guard index + offset < count else { return nil }
            let byte = bytes[index + offset]
            guard byte >= low && byte <= high else { return nil }
            return UInt32(byte & 0x3F)
        }
        var value: UInt32
        let width: Int
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = continuation(1) else { return nil }
            value = UInt32(b0 & 0x1F) << 6 | c1
            width = 2
        case 0xE0...0xEF:
            let low: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let c1 = continuation(1, low, high), let c2 = continuation(2) else { return nil }
            value = UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2
            width = 3
        case 0xF0...0xF4:
            let low: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let c1 = continuation(1, low, high), let c2 = continuation(2), let c3 = continuation(3) else {
                return nil
            }
            value = UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
            width = 4
        default:
            return nil
        }
        guard let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, width)
    }

    /// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    public static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 {
            return scalar.value >= 0x20 && scalar.value < 0x7F
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    // MARK: Unquoting

    /// Go's `strconv.Unquote` for a string literal: `"..."` with Go escapes, or a raw `` `...` `` string (whose
    /// carriage returns are dropped, as Go does). Nil when the literal is malformed.
    public static func unquote(_ literal: String) -> String? {
        let bytes = Array(literal.utf8)
        guard bytes.count >= 2, let quote = bytes.first, bytes.last == quote else { return nil }
        let body = bytes[1..<(bytes.count - 1)]
        if quote == UInt8(ascii: "`") {
            guard !body.contains(UInt8(ascii: "`")) else { return nil }
            return String(decoding: body.filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        }
        guard quote == UInt8(ascii: "\""), !body.contains(UInt8(ascii: "\n")),
              let out = unescape(body, quote: quote) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a quoted literal's `body` (without its quotes) with Go's escapes decoded: `\a \b \f \n \r \t
    /// \v \\`, the literal's own `quote` escaped, octal `\NNN` (at most 255), `\xNN`, `\uNNNN` and `\UNNNNNNNN` (a valid
    /// code point, written as UTF-8). Nil for a bad escape or an unescaped `quote`.
    public static func unescape<Body: RandomAccessCollection<UInt8>>(_ body: Body, quote: UInt8) -> [UInt8]?
    where Body.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = body.startIndex
        while i < body.endIndex {
            let byte = body[i]
            if byte == quote { return nil }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            i += 1
            guard i < body.endIndex else { return nil }
            let escape = body[i]
            i += 1
            switch escape {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), quote: out.append(escape)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 2 <= body.endIndex else { return nil }
                var value = UInt32(escape - UInt8(ascii: "0"))
                for j in i..<(i + 2) {
                    let digit = body[j]
                    guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else { return nil }
                    value = value * 8 + UInt32(digit - UInt8(ascii: "0"))
                }
                guard value <= 255 else { return nil }
                out.append(UInt8(value))
                i += 2
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = escape == UInt8(ascii: "x") ? 2 : (escape == UInt8(ascii: "u") ? 4 : 8)
                guard i + count <= body.endIndex else { return nil }
                var value: UInt32 = 0
                for j in i..<(i + count) {
                    guard let digit = hexValue(body[j]) else { return nil }
                    value = value << 4 | digit
                }
                i += count
                if escape == UInt8(ascii: "x") {
                    out.append(UInt8(value))
                } else {
                    guard let scalar = Unicode.Scalar(value) else { return nil }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                }
            default:
                return nil
            }
        }
        return out
    }

    /// The value of a hexadecimal digit, or nil.
    public static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Where the string literal that starts at `start` (a `"` or `` ` ``) ends: the index after its closing
    /// quote, or nil when it is not closed. Escapes are skipped, not checked (``unquote(_:)`` checks them).
    public static func literalEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        guard start < scalars.count, scalars[start] == "\"" || scalars[start] == "`" else { return nil }
        let quote = scalars[start]
        var index = start + 1
        while index < scalars.count, scalars[index] != quote {
            if quote == "\"", scalars[index] == "\\" { index += 1 }
            index += 1
        }
        return index < scalars.count ? index + 1 : nil
    }
}
