/// The one JSON string escaper: every JSON Estuary writes (Loki's API, push bodies, OTLP/JSON, the agent's API and
/// `encoding.to_json`) quotes its strings here, as Go's `encoding/json` does: `"` and `\` escaped, `\n` `\r` `\t`
/// `\b` `\f` by name and other control characters as `\u00XX`, each byte of invalid UTF-8 as `\ufffd`.
public enum JSONString {
    public struct Options: OptionSet, Sendable {
        public let rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// Also `<`, `>`, `&`, U+2028 and U+2029 as `\u003c` ..., so the text is safe inside HTML and JavaScript:
        /// what `json.Marshal` does by default, and so what Alloy and the OpenTelemetry Collector write.
        public static let htmlSafe = Options(rawValue: 1)
    }

    /// `string` as a JSON string literal.
    public static func quote(_ string: String, options: Options = []) -> String {
        var out: [UInt8] = []
        append(string, to: &out, options: options)
        return String(decoding: out, as: UTF8.self)
    }

    public static func append(_ string: String, to out: inout [UInt8], options: Options = []) {
        var string = string
        string.withUTF8 { append($0, to: &out, options: options) }
    }

    /// Appends `bytes`, quoted and escaped, to `out`.
    public static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], options: Options = []) {
        out.reserveCapacity(out.count + bytes.count + 2)
        out.append(UInt8(ascii: "\""))
        guard let base = bytes.baseAddress else {
            out.append(UInt8(ascii: "\""))
            return
        }
        let htmlSafe = options.contains(.htmlSafe)
        let count = bytes.count
        var index = 0
        var runStart = 0
        while index < count {
            // Eight bytes at a time while all are printable ASCII other than `"` and `\` (and `<` `>` `&`).
            if count - index >= 8 {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                var special = Self.hasByte(word, 0x22) | Self.hasByte(word, 0x5C)
                    | ((word &- 0x2020_2020_2020_2020) & ~word) | word
                if htmlSafe {
                    special |= Self.hasByte(word, 0x3C) | Self.hasByte(word, 0x3E) | Self.hasByte(word, 0x26)
                }
                if special & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                    continue
                }
            }
            let byte = base[index]
            if byte >= 0x80 {
                guard let (scalar, width) = GoQuote.decodeScalar(bytes, at: index) else {
                    out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                    appendLiteral(#"\ufffd"#, to: &out)
                    index += 1
                    runStart = index
                    continue
                }
                if htmlSafe && (scalar == "\u{2028}" || scalar == "\u{2029}") {
                    out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                    appendLiteral(scalar == "\u{2028}" ? #"\u2028"# : #"\u2029"#, to: &out)
                    runStart = index + width
                }
                index += width
                continue
            }
            let escaped = byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                || (htmlSafe && (byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")))
            guard escaped else {
                index += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
            appendEscape(byte, to: &out)
            index += 1
            runStart = index
        }
        out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart))
        out.append(UInt8(ascii: "\""))
    }

    /// The high bit of each byte of `word` that equals `byte` is set (and maybe some above a match: good enough
    /// to leave the fast path).
    @inline(__always)
    private static func hasByte(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let matched = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        return (matched &- 0x0101_0101_0101_0101) & ~matched
    }

    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): appendLiteral(#"\""#, to: &out)
        case UInt8(ascii: "\\"): appendLiteral(#"\\"#, to: &out)
        case 0x0A: appendLiteral(#"\n"#, to: &out)
        case 0x0D: appendLiteral(#"\r"#, to: &out)
        case 0x09: appendLiteral(#"\t"#, to: &out)
        case 0x08: appendLiteral(#"\b"#, to: &out)
        case 0x0C: appendLiteral(#"\f"#, to: &out)
        default:
            let hex: StaticString = "0123456789abcdef"
            appendLiteral(#"\u00"#, to: &out)
            out.append(hex.utf8Start[Int(byte >> 4)])
            out.append(hex.utf8Start[Int(byte & 0xF)])
        }
    }

    @inline(__always)
    private static func appendLiteral(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
