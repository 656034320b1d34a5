/// Go's `strconv.Quote`: a double-quoted string literal with Go escapes.
///
/// Loki and Prometheus print label values this way (`labels.Labels.String()`), so label text we produce must
/// match byte for byte: `\a \b \f \n \r \t \v \\ \"`, `\xNN` for other ASCII controls and for bytes that are not
/// valid UTF-8, `\uXXXX` / `\UXXXXXXXX` for runes that are not printable, and printable non-ASCII kept as is.
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
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
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
}
