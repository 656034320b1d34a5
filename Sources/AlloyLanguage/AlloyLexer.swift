import Wire

/// Splits Alloy source into tokens, following Alloy's scanner: newlines after a value-ending token become
/// `TERMINATOR`s, comments are returned as tokens, and every lexical error is reported with its offset while
/// scanning carries on, so one pass finds every problem.
struct AlloyLexer {
    private let bytes: [UInt8]
    /// Current character (a Unicode scalar value), or `eofCharacter`.
    private var ch: Int32 = 0
    /// Byte offset of `ch`.
    private var offset = 0
    /// Byte offset of the first byte after `ch`.
    private var readOffset = 0
    /// Whether a newline or the end of the file would end a statement here.
    private var insertTerminator = false
    private(set) var errors: [(offset: Int, message: String)] = []

    private static let eofCharacter: Int32 = -1
    private static let byteOrderMark: Int32 = 0xFEFF

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        next()
        if ch == Self.byteOrderMark {
            next()
        }
    }

    // MARK: Characters

    private func peekByte() -> UInt8 {
        readOffset < bytes.count ? bytes[readOffset] : 0
    }

    private mutating func next() {
        guard readOffset < bytes.count else {
            offset = bytes.count
            ch = Self.eofCharacter
            return
        }
        offset = readOffset
        let first = bytes[readOffset]
        var scalar = Int32(first)
        var width = 1
        if first == 0 {
            error(offset, "illegal character NUL")
        } else if first >= 0x80 {
            if let decoded = Self.decodeScalar(bytes, at: readOffset) {
                scalar = Int32(bitPattern: decoded.0)
                width = decoded.1
                if scalar == Self.byteOrderMark, offset > 0 {
                    error(offset, "illegal byte order mark")
                }
            } else {
                error(offset, "illegal UTF-8 encoding")
                scalar = 0xFFFD
            }
        }
        readOffset += width
        ch = scalar
    }

    /// Decodes one well-formed UTF-8 scalar at `index`, or nil when the bytes there are not one.
    static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (UInt32, Int)? {
        let first = bytes[index]
        let length: Int
        var value: UInt32
        switch first {
        case 0xC2...0xDF: length = 2; value = UInt32(first & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(first & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(first & 0x07)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for i in 1..<length {
            let byte = bytes[index + i]
            guard byte & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        // Reject overlong forms, surrogates and values past U+10FFFF.
        switch length {
        case 3 where value < 0x800 || (0xD800...0xDFFF).contains(value): return nil
        case 4 where value < 0x10000 || value > 0x10FFFF: return nil
        default: break
        }
        return (value, length)
    }

    private mutating func error(_ offset: Int, _ message: String) {
        errors.append((offset, message))
    }

    // MARK: Scanning

    /// The next token. After `EOF` it keeps returning `EOF`.
    mutating func scan() -> Token {
        do {
            skipWhitespace()
            let start = offset
            var insert = false
            var kind: TokenKind
            var text = ""

            let c = ch
            if Self.isLetter(c) {
                text = scanIdentifier()
                kind = .identifier
                if text.utf8.count > 1 {
                    switch text {
                    case "true", "false": kind = .bool
                    case "null": kind = .null
                    default: break
                    }
                }
                insert = true
            } else if Self.isDecimal(c) || (c == Self.ascii(".") && Self.isDecimal(Int32(peekByte()))) {
                insert = true
                kind = scanNumber()
                text = slice(start, offset)
            } else {
                next()  // Make progress: `c` is consumed and `ch` is the character after it.
                switch c {
                case Self.eofCharacter:
                    if insertTerminator {
                        insertTerminator = false
                        return Token(kind: .terminator, text: "\n", start: start, end: start)
                    }
                    return Token(kind: .eof, text: "", start: start, end: start)
                case Self.ascii("\n"):
                    // Only reached when a terminator is due: otherwise skipWhitespace ate the newline.
                    insertTerminator = false
                    return Token(kind: .terminator, text: "\n", start: start, end: start + 1)
                case Self.ascii("'"):
                    error(start, "illegal single-quoted string; use double quotes")
                    insert = true
                    kind = .illegal
                    scanString(start: start, until: Self.ascii("'"), escapes: true, multiline: false)
                    text = slice(start, offset)
                case Self.ascii("\""):
                    insert = true
                    kind = .string
                    scanString(start: start, until: Self.ascii("\""), escapes: true, multiline: false)
                    text = slice(start, offset)
                case Self.ascii("`"):
                    insert = true
                    kind = .string
                    scanString(start: start, until: Self.ascii("`"), escapes: false, multiline: true)
                    text = slice(start, offset)
                case Self.ascii("|"): kind = doubled("|", .or)
                case Self.ascii("&"): kind = doubled("&", .and)
                case Self.ascii("!"): kind = choose(.not, .notEqual)
                case Self.ascii("="): kind = choose(.assign, .equal)
                case Self.ascii("<"): kind = choose(.less, .lessEqual)
                case Self.ascii(">"): kind = choose(.greater, .greaterEqual)
                case Self.ascii("+"): kind = .add
                case Self.ascii("-"): kind = .subtract
                case Self.ascii("*"): kind = .multiply
                case Self.ascii("/"):
                    if ch == Self.ascii("/") || ch == Self.ascii("*") {
                        // A statement ending before a comment that runs to the end of the line ends here: return
                        // the terminator first and the comment on the next call.
                        if insertTerminator && commentRunsToLineEnd(from: start) {
                            offset = start
                            readOffset = start
                            next()
                            insertTerminator = false
                            return Token(kind: .terminator, text: "\n", start: start, end: start)
                        }
                        let comment = scanComment(start: start)
                        insertTerminator = false
                        return Token(kind: .comment, text: comment, start: start, end: offset)
                    }
                    kind = .divide
                case Self.ascii("%"): kind = .modulo
                case Self.ascii("^"): kind = .power
                case Self.ascii("{"): kind = .leftCurly
                case Self.ascii("}"): kind = .rightCurly; insert = true
                case Self.ascii("("): kind = .leftParen
                case Self.ascii(")"): kind = .rightParen; insert = true
                case Self.ascii("["): kind = .leftBracket
                case Self.ascii("]"): kind = .rightBracket; insert = true
                case Self.ascii(","): kind = .comma
                case Self.ascii("."): kind = .dot
                default:
                    // next() already reported NUL, bad UTF-8 and misplaced byte order marks.
                    let alreadyReported = c == 0 || c == Self.byteOrderMark
                        || (bytes[start] >= 0x80 && Self.decodeScalar(bytes, at: start) == nil)
                    if !alreadyReported {
                        error(start, "illegal character \(Self.describeCharacter(c))")
                    }
                    insert = insertTerminator
                    kind = .illegal
                    text = slice(start, offset)
                }
            }
            insertTerminator = insert
            return Token(kind: kind, text: text, start: start, end: offset)
        }
    }

    private mutating func choose(_ single: TokenKind, _ withEqual: TokenKind) -> TokenKind {
        if ch == Self.ascii("=") {
            next()
            return withEqual
        }
        return single
    }

    /// `||` or `&&`, whose first character was just read: a lone one is an error, and the token is still `kind`.
    private mutating func doubled(_ character: Unicode.Scalar, _ kind: TokenKind) -> TokenKind {
        if ch == Self.ascii(character) {
            next()
        } else {
            error(offset, "missing second \(character) in \(character)\(character)")
        }
        return kind
    }

    private mutating func skipWhitespace() {
        while ch == Self.ascii(" ") || ch == Self.ascii("\t") || ch == Self.ascii("\r")
            || (ch == Self.ascii("\n") && !insertTerminator)
        {
            next()
        }
    }

    private func slice(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private mutating func scanIdentifier() -> String {
        let start = offset
        while Self.isLetter(ch) || Self.isDigit(ch) {
            next()
        }
        return slice(start, offset)
    }

    private mutating func scanNumber() -> TokenKind {
        let start = offset
        var kind = TokenKind.number
        if ch != Self.ascii(".") {
            _ = digits()
        }
        if ch == Self.ascii(".") {
            kind = .float
            next()
            _ = digits()
        }
        if ch == Self.ascii("e") || ch == Self.ascii("E") {
            kind = .float
            next()
            if ch == Self.ascii("+") || ch == Self.ascii("-") {
                next()
            }
            if digits() == 0 {
                error(start, "exponent has no digits")
            }
        }
        return kind
    }

    private mutating func digits() -> Int {
        var count = 0
        while Self.isDecimal(ch) {
            next()
            count += 1
        }
        return count
    }

    /// Scans the rest of a string whose opening quote is at `start` (already consumed).
    private mutating func scanString(start: Int, until quote: Int32, escapes: Bool, multiline: Bool) {
        while true {
            let c = ch
            if (!multiline && c == Self.ascii("\n")) || c == Self.eofCharacter {
                error(start, "string literal not terminated")
                return
            }
            next()
            if c == quote {
                return
            }
            if escapes && c == Self.ascii("\\") {
                scanEscape()
            }
        }
    }

    /// Validates an escape sequence after a backslash. Stops at an offending character without consuming it.
    private mutating func scanEscape() {
        let start = offset
        var count: Int
        var base: UInt32
        var maximum: UInt32
        switch ch {
        case Self.ascii("a"), Self.ascii("b"), Self.ascii("f"), Self.ascii("n"), Self.ascii("r"), Self.ascii("t"),
            Self.ascii("v"), Self.ascii("\\"), Self.ascii("\""):
            next()
            return
        case Self.ascii("0")...Self.ascii("7"):
            (count, base, maximum) = (3, 8, 255)
        case Self.ascii("x"):
            next()
            (count, base, maximum) = (2, 16, 255)
        case Self.ascii("u"):
            next()
            (count, base, maximum) = (4, 16, 0x10FFFF)
        case Self.ascii("U"):
            next()
            (count, base, maximum) = (8, 16, 0x10FFFF)
        default:
            error(start, ch == Self.eofCharacter ? "escape sequence not terminated" : "unknown escape sequence")
            return
        }
        var value: UInt32 = 0
        while count > 0 {
            let digit = Self.digitValue(ch)
            if digit >= base {
                if ch == Self.eofCharacter {
                    error(start, "escape sequence not terminated")
                } else {
                    error(start, "illegal character \(Self.describeCharacter(ch)) in escape sequence")
                }
                return
            }
            value = value &* base &+ digit
            next()
            count -= 1
        }
        if value > maximum || (0xD800..<0xE000).contains(value) {
            error(start, "escape sequence is invalid Unicode code point")
        }
    }

    /// Scans a comment whose first `/` is at `start` (already consumed); returns its text without carriage
    /// returns. Line comments do not include their newline.
    private mutating func scanComment(start: Int) -> String {
        if ch == Self.ascii("/") {
            while ch != Self.ascii("\n") && ch != Self.eofCharacter {
                next()
            }
        } else {
            next()  // the '*'
            var terminated = false
            while ch != Self.eofCharacter {
                let c = ch
                next()
                if c == Self.ascii("*") && ch == Self.ascii("/") {
                    next()
                    terminated = true
                    break
                }
            }
            if !terminated {
                error(start, "block comment not terminated")
            }
        }
        var text = bytes[start..<offset].filter { $0 != UInt8(ascii: "\r") }
        if text.isEmpty { text = [UInt8(ascii: "/")] }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether the comment (or run of block comments) starting at the `/` at `start` reaches the end of its line.
    private func commentRunsToLineEnd(from start: Int) -> Bool {
        var i = start
        let count = bytes.count
        while i + 1 < count, bytes[i] == UInt8(ascii: "/"),
            bytes[i + 1] == UInt8(ascii: "/") || bytes[i + 1] == UInt8(ascii: "*")
        {
            if bytes[i + 1] == UInt8(ascii: "/") {
                return true
            }
            i += 2
            var closed = false
            while i < count {
                if bytes[i] == UInt8(ascii: "\n") {
                    return true
                }
                if bytes[i] == UInt8(ascii: "*"), i + 1 < count, bytes[i + 1] == UInt8(ascii: "/") {
                    i += 2
                    closed = true
                    break
                }
                i += 1
            }
            if !closed {
                return true
            }
            while i < count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") || bytes[i] == UInt8(ascii: "\r") {
                i += 1
            }
            if i >= count || bytes[i] == UInt8(ascii: "\n") {
                return true
            }
        }
        return false
    }

    // MARK: Character classes

    static func ascii(_ character: Unicode.Scalar) -> Int32 {
        Int32(character.value)
    }

    static func isLetter(_ c: Int32) -> Bool {
        if c < 0x80 {
            return (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F
        }
        guard let scalar = Unicode.Scalar(UInt32(c)), c != 0xFFFD, c != byteOrderMark else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isDecimal(_ c: Int32) -> Bool {
        c >= 0x30 && c <= 0x39
    }

    static func isDigit(_ c: Int32) -> Bool {
        if isDecimal(c) { return true }
        guard c >= 0x80, let scalar = Unicode.Scalar(UInt32(c)) else { return false }
        return scalar.properties.generalCategory == .decimalNumber
    }

    private static func digitValue(_ c: Int32) -> UInt32 {
        switch c {
        case 0x30...0x39: UInt32(c - 0x30)
        case 0x61...0x66: UInt32(c - 0x61 + 10)
        case 0x41...0x46: UInt32(c - 0x41 + 10)
        default: 16
        }
    }

    /// Go's `%#U` rendering: `U+0040 '@'`.
    static func describeCharacter(_ c: Int32) -> String {
        guard c >= 0 else { return "EOF" }
        let hex = String(UInt32(c), radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        if let scalar = Unicode.Scalar(UInt32(c)), GoQuote.isPrint(scalar) {
            return "\(code) '\(Character(scalar))'"
        }
        return code
    }

    /// Whether `text` is a valid Alloy identifier (used for block labels).
    static func isValidIdentifier(_ text: String) -> Bool {
        var first = true
        for scalar in text.unicodeScalars {
            let c = Int32(bitPattern: scalar.value)
            if first {
                guard isLetter(c) else { return false }
                first = false
            } else {
                guard isLetter(c) || isDigit(c) else { return false }
            }
        }
        return !first
    }
}
