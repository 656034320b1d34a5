/// A stream label text that could not be parsed. `description` is Prometheus' wording with the position,
/// e.g. `1:10: parse error: unexpected end of input inside braces`.
public struct LabelParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problem alone, without position: `unexpected end of input inside braces`.
    public var message: String
    /// 1-based line and column (in bytes, as Prometheus counts) of the offending token.
    public var line: Int
    public var column: Int

    public var description: String { "\(line):\(column): parse error: \(message)" }
}

/// Parses the label text of a pushed stream, `{job="api", env="prod"}`, as Loki does (`syntax.ParseLabels`, which
/// is Prometheus' `parser.ParseMetric`).
///
/// Accepted: whitespace and `#` comments anywhere, values in double quotes, single quotes or backquotes with Go
/// escapes (`\n`, `\t`, `\\`, `\"`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`, octal `\NNN`), a trailing comma, and an
/// optional metric name before the braces (`up{job="x"}` gives `__name__="up"`). Names match
/// `[a-zA-Z_][a-zA-Z0-9_]*`; the only operator is `=`.
public enum LabelParser {
    /// The pairs in the order given, duplicates kept so the caller can report them. Pairs whose value is empty are
    /// dropped, as Loki does before fingerprinting (an empty value is the same as an absent label). `{}` gives `[]`.
    public static func parse(_ text: String) throws(LabelParseError) -> [LabelPair] {
        var text = text
        var result: Result<[LabelPair], LabelParseError> = .success([])
        text.withUTF8 { bytes in
            result = Result { () throws(LabelParseError) -> [LabelPair] in
                var parser = Parser(bytes)
                return try parser.parseMetric()
            }
        }
        return try result.get()
    }
}

/// Hand-written scanner and parser over the UTF-8 bytes; allocates only the resulting strings.
private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: Grammar

    mutating func parseMetric() throws(LabelParseError) -> [LabelPair] {
        skipSpace()
        var pairs: [LabelPair] = []
        guard position < bytes.count else {
            throw error("unexpected end of input", at: position)
        }
        if Self.isMetricNameStart(bytes[position]) {
            let start = position
            while position < bytes.count && Self.isMetricNameChar(bytes[position]) { position += 1 }
            pairs.append(LabelPair(name: "__name__", value: string(start, position)))
            skipSpace()
            if position == bytes.count { return pairs }
        }
        guard bytes[position] == UInt8(ascii: "{") else {
            throw unexpectedInStatement()
        }
        position += 1
        try parseLabelSet(into: &pairs)
        skipSpace()
        guard position == bytes.count else {
            throw unexpectedInStatement()
        }
        return pairs
    }

    /// After `{`, through the closing `}`.
    mutating func parseLabelSet(into pairs: inout [LabelPair]) throws(LabelParseError) {
        pairs.reserveCapacity(pairs.count + 8)
        while true {
            // A name, or the closing brace (also after a trailing comma).
            skipSpace()
            let nameToken = try token()
            let name: String
            switch nameToken.kind {
            case .rightBrace: return
            case .identifier: name = string(nameToken.start, nameToken.end)
            default: throw unexpected(nameToken, expected: "identifier or \"}\"")
            }

            skipSpace()
            let operatorToken = try token()
            guard operatorToken.kind == .equal else {
                throw unexpected(operatorToken, expected: "\"=\"")
            }

            skipSpace()
            let valueToken = try token()
            guard valueToken.kind == .string else {
                throw unexpected(valueToken, expected: "string")
            }
            let value = try unquote(valueToken)
            if !value.isEmpty {
                pairs.append(LabelPair(name: name, value: value))
            }

            skipSpace()
            let separator = try token()
            switch separator.kind {
            case .comma: continue
            case .rightBrace: return
            default: throw unexpected(separator, expected: "\",\" or \"}\"")
            }
        }
    }

    // MARK: Tokens inside braces

    enum Kind: Equatable { case identifier, string, equal, regexEqual, notEqual, notRegexEqual, comma, rightBrace, end }

    struct Token {
        var kind: Kind
        var start: Int
        var end: Int
    }

    /// The next token inside braces, as Prometheus' `lexInsideBraces` scans it; lexer errors are thrown here.
    mutating func token() throws(LabelParseError) -> Token {
        let start = position
        guard position < bytes.count else {
            throw error("unexpected end of input inside braces", at: position)
        }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            while position < bytes.count && Self.isNameChar(bytes[position]) { position += 1 }
            return Token(kind: .identifier, start: start, end: position)
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            while true {
                guard position < bytes.count, bytes[position] != UInt8(ascii: "\n") else {
                    throw error("unterminated quoted string", at: start)
                }
                let next = bytes[position]
                position += 1
                if next == byte { break }
                if next == UInt8(ascii: "\\") { try validateEscape(quote: byte, tokenStart: start) }
            }
            return Token(kind: .string, start: start, end: position)
        case UInt8(ascii: "`"):
            while true {
                guard position < bytes.count else { throw error("unterminated raw string", at: start) }
                position += 1
                if bytes[position - 1] == UInt8(ascii: "`") { break }
            }
            return Token(kind: .string, start: start, end: position)
        case UInt8(ascii: ","):
            return Token(kind: .comma, start: start, end: position)
        case UInt8(ascii: "}"):
            return Token(kind: .rightBrace, start: start, end: position)
        case UInt8(ascii: "="):
            if position < bytes.count && bytes[position] == UInt8(ascii: "~") {
                position += 1
                return Token(kind: .regexEqual, start: start, end: position)
            }
            return Token(kind: .equal, start: start, end: position)
        case UInt8(ascii: "!"):
            guard position < bytes.count else {
                throw error("unexpected character after '!' inside braces: \(Self.goQuoteRune(nil))", at: start)
            }
            let next = bytes[position]
            if next == UInt8(ascii: "~") || next == UInt8(ascii: "=") {
                position += 1
                return Token(kind: next == UInt8(ascii: "=") ? .notEqual : .notRegexEqual, start: start, end: position)
            }
            throw error("unexpected character after '!' inside braces: \(Self.goQuoteRune(scalar(at: position)))",
                        at: start)
        case UInt8(ascii: "{"):
            throw error("unexpected left brace '{'", at: start)
        default:
            throw error("unexpected character inside braces: \(Self.goQuoteRune(scalar(at: start)))", at: start)
        }
    }

    /// Checks one escape after the backslash, as Prometheus' `lexEscape`; advances past it.
    mutating func validateEscape(quote: UInt8, tokenStart: Int) throws(LabelParseError) {
        guard position < bytes.count else { throw error("escape sequence not terminated", at: tokenStart) }
        let byte = bytes[position]
        var digits: Int
        var base: UInt32
        var maximum: UInt32
        switch byte {
        case UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"),
             UInt8(ascii: "t"), UInt8(ascii: "v"), UInt8(ascii: "\\"), quote:
            position += 1
            return
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            digits = 3; base = 8; maximum = 255
        case UInt8(ascii: "x"):
            position += 1
            digits = 2; base = 16; maximum = 255
        case UInt8(ascii: "u"):
            position += 1
            digits = 4; base = 16; maximum = 0x10FFFF
        case UInt8(ascii: "U"):
            position += 1
            digits = 8; base = 16; maximum = 0x10FFFF
        default:
            let scalar = scalar(at: position)
            throw error("unknown escape sequence \(Self.goUnicodeFormat(scalar))", at: tokenStart)
        }
        var value: UInt32 = 0
        while digits > 0 {
            guard position < bytes.count else { throw error("escape sequence not terminated", at: tokenStart) }
            guard let digit = GoQuote.hexValue(bytes[position]), digit < base else {
                throw error("illegal character \(Self.goQuoteRune(scalar(at: position))) in escape sequence",
                            at: tokenStart)
            }
            value = value * base + digit
            position += 1
            digits -= 1
        }
        if value > maximum || (0xD800..<0xE000).contains(value) {
            throw error("escape sequence is an invalid Unicode code point", at: tokenStart)
        }
    }

    // MARK: Values

    /// The value of a string token (already validated by `token()`), with Go's `strconv.Unquote` semantics.
    func unquote(_ token: Token) throws(LabelParseError) -> String {
        let quote = bytes[token.start]
        let bodyStart = token.start + 1
        let bodyEnd = token.end - 1
        if quote == UInt8(ascii: "`") {
            // Go drops carriage returns from raw strings.
            if !bytes[bodyStart..<bodyEnd].contains(UInt8(ascii: "\r")) { return string(bodyStart, bodyEnd) }
            return String(decoding: bytes[bodyStart..<bodyEnd].filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        }
        guard bytes[bodyStart..<bodyEnd].contains(UInt8(ascii: "\\")) else { return string(bodyStart, bodyEnd) }
        guard let out = GoQuote.unescape(bytes[bodyStart..<bodyEnd], quote: quote) else {
            throw error("invalid escape sequence", at: token.start)  // token() let only valid ones through
        }
        // Invalid UTF-8 from \x or octal escapes becomes U+FFFD: Swift strings hold valid Unicode only.
        return String(decoding: out, as: UTF8.self)
    }

    func string(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    // MARK: Errors

    func error(_ message: String, at offset: Int) -> LabelParseError {
        var line = 1
        var lineStart = 0
        var index = 0
        while index < offset && index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return LabelParseError(message: message, line: line, column: offset - lineStart + 1)
    }

    /// Prometheus' `unexpected(context, expected)` for a token inside braces.
    func unexpected(_ token: Token, expected: String) -> LabelParseError {
        error("unexpected \(describe(token)) in label set, expected \(expected)", at: token.start)
    }

    /// An item as Prometheus' `Item.desc()` names it.
    func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier: return "identifier \(Self.goQuoteString(string(token.start, token.end)))"
        case .string: return "string \(Self.goQuoteItemValue(string(token.start, token.end)))"
        case .equal: return "<op:=>"
        case .regexEqual: return "<op:=~>"
        case .notEqual: return "<op:!=>"
        case .notRegexEqual: return "<op:!~>"
        case .comma: return "\",\""
        case .rightBrace: return "\"}\""
        case .end: return "end of input"
        }
    }

    /// Something other than a label set where a statement would go (before `{` or after `}`).
    func unexpectedInStatement() -> LabelParseError {
        let start = position
        let byte = bytes[start]
        if Self.isMetricNameStart(byte) {
            var end = start
            while end < bytes.count && Self.isMetricNameChar(bytes[end]) { end += 1 }
            return error("unexpected identifier \(Self.goQuoteString(string(start, end)))", at: start)
        }
        if byte == UInt8(ascii: "{") { return error("unexpected \"{\"", at: start) }
        if byte == UInt8(ascii: "}") { return error("unexpected \"}\"", at: start) }
        if byte == UInt8(ascii: ",") { return error("unexpected \",\"", at: start) }
        return error("unexpected character: \(Self.goQuoteRune(scalar(at: start)))", at: start)
    }

    // MARK: Helpers

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                position += 1
            case UInt8(ascii: "#"):
                while position < bytes.count && bytes[position] != UInt8(ascii: "\n") { position += 1 }
            default:
                return
            }
        }
    }

    /// The Unicode scalar starting at `offset` (the input is valid UTF-8: it came from a String).
    func scalar(at offset: Int) -> Unicode.Scalar? {
        guard offset < bytes.count else { return nil }
        var iterator = bytes[offset...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
        return nil
    }

    static func isNameChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): true
        default: false
        }
    }

    static func isMetricNameStart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"),
             UInt8(ascii: ":"): true
        default: false
        }
    }

    static func isMetricNameChar(_ byte: UInt8) -> Bool {
        isNameChar(byte) || byte == UInt8(ascii: ":")
    }

    /// Go's `%q` of a rune: `'x'`, `'\n'`, `'\x00'`; `%q` of EOF (-1) is `'�'`.
    static func goQuoteRune(_ scalar: Unicode.Scalar?) -> String {
        guard let scalar else { return "'\u{FFFD}'" }
        if scalar == "'" { return "'\\''" }
        if scalar == "\"" { return "'\"'" }
        return "'" + goEscape(scalar, quote: "'") + "'"
    }

    /// Go's `%#U`: `U+0071 'q'`.
    static func goUnicodeFormat(_ scalar: Unicode.Scalar?) -> String {
        guard let scalar else { return "U+FFFFFFFFFFFFFFFF" }
        var hex = String(scalar.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        let printable = scalar.properties.isGraphemeBase || scalar == " "
        return printable ? "U+\(hex) '\(Character(scalar))'" : "U+\(hex)"
    }

    /// Go's `%q` of a string.
    static func goQuoteString(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars { out += goEscape(scalar, quote: "\"") }
        return out + "\""
    }

    /// Go's `%q` of an item value, shortened past 10 characters as Prometheus' `Item.String()` does (`%.10q...`).
    static func goQuoteItemValue(_ string: String) -> String {
        string.unicodeScalars.count > 10
            ? goQuoteString(String(String.UnicodeScalarView(string.unicodeScalars.prefix(10)))) + "..."
            : goQuoteString(string)
    }

    static func goEscape(_ scalar: Unicode.Scalar, quote: Unicode.Scalar) -> String {
        switch scalar {
        case "\u{07}": return "\\a"
        case "\u{08}": return "\\b"
        case "\u{0C}": return "\\f"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\u{0B}": return "\\v"
        case "\\": return "\\\\"
        case quote: return "\\" + String(Character(quote))
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16)
                return "\\x" + (hex.count < 2 ? "0" + hex : hex)
            }
            return String(Character(scalar))
        }
    }
}
