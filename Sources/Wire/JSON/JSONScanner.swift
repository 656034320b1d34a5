/// What a JSON parser throws when `JSONScanner` finds malformed input: each parser has its own error type and
/// context (a field path, a stream index), so the scanner builds the parser's error from a reason and an offset.
public protocol JSONSyntaxFailure: Error {
    /// `reason` says what was wrong, without the position; `offset` is the byte in the input where it was found.
    init(jsonSyntax reason: String, offset: Int)
}

/// The tokenizer shared by every JSON parser in Estuary: Loki push bodies, OTLP/JSON, and the agent's
/// `encoding.from_json` / `stage.json`. It reads `count` bytes at `input`, which must stay valid while the scanner
/// is in use; call `release()` when done (it frees the scratch buffer for strings with escapes).
///
/// Strict RFC 8259: no comments, no trailing commas, no leading zeros, no control characters in strings. Strings
/// are unescaped fully (`\uXXXX` with surrogate pairs; a lone surrogate becomes U+FFFD, as in Go) but not checked
/// for valid UTF-8: what a parser accepts there is its own rule. Parsers walk the structure themselves with
/// `beginContainer`, `key`, `next(close:)` and the token readers, and `skipValue` skips what they do not know,
/// iteratively, so deep nesting cannot exhaust the stack.
public struct JSONScanner<Failure: JSONSyntaxFailure> {
    @usableFromInline let input: UnsafePointer<UInt8>
    public let count: Int
    /// The offset of the next byte to read.
    public var position = 0
    /// Unescaped bytes of the latest string that had escapes, valid until the next string is read. Allocated on
    /// first use, as large as the input: unescaping never makes a string longer.
    @usableFromInline var scratch: UnsafeMutablePointer<UInt8>?

    @inlinable
    public init(input: UnsafeBufferPointer<UInt8>) {
        self.input = input.baseAddress ?? UnsafePointer(emptyJSONInput)
        self.count = input.baseAddress == nil ? 0 : input.count
    }

    @inlinable
    public mutating func release() {
        scratch?.deallocate()
        scratch = nil
    }

    // MARK: Whitespace and structure

    @inlinable @inline(__always)
    public mutating func skipWhitespace() {
        while position < count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next byte, without consuming it.
    @inlinable @inline(__always)
    public func peek() throws(Failure) -> UInt8 {
        guard position < count else { throw failure("unexpected end of input") }
        return input[position]
    }

    /// Skips whitespace and tells whether the input is used up: after the top-level value, anything else is an
    /// error the parser words in its own terms.
    @inlinable
    public mutating func isAtEnd() -> Bool {
        skipWhitespace()
        return position == count
    }

    /// Consumes the `{` or `[` at the position (the caller has checked which) and the whitespace after it; false,
    /// with the closing bracket consumed too, when the container is empty.
    @inlinable
    public mutating func beginContainer() throws(Failure) -> Bool {
        input[position] == UInt8(ascii: "{") ? try beginObject() : try beginArray()
    }

    /// `beginContainer` for a `{` the caller has seen at the position.
    @inlinable @inline(__always)
    public mutating func beginObject() throws(Failure) -> Bool {
        try begin(closedBy: UInt8(ascii: "}"))
    }

    /// `beginContainer` for a `[` the caller has seen at the position.
    @inlinable @inline(__always)
    public mutating func beginArray() throws(Failure) -> Bool {
        try begin(closedBy: UInt8(ascii: "]"))
    }

    @inlinable @inline(__always)
    mutating func begin(closedBy close: UInt8) throws(Failure) -> Bool {
        position += 1
        skipWhitespace()
        if try peek() == close {
            position += 1
            return false
        }
        return true
    }

    /// Reads a member name and its colon, leaving the position at the value. The bytes are valid until the next
    /// string is read.
    @inlinable
    public mutating func key() throws(Failure) -> UnsafeBufferPointer<UInt8> {
        guard position < count && input[position] == UInt8(ascii: "\"") else {
            throw failure("expected a string object key, found \(describeByte(at: position))")
        }
        let key = try stringAfterQuote()
        try expectColon()
        return key
    }

    /// Consumes `:` between a member's name and its value, and whitespace around it.
    @inlinable
    public mutating func expectColon() throws(Failure) {
        skipWhitespace()
        guard try peek() == UInt8(ascii: ":") else {
            throw failure("expected ':' after an object key, found \(describeByte(at: position))")
        }
        position += 1
        skipWhitespace()
    }

    /// After a member's value: true after `,` (another member follows), false after `}`.
    @inlinable
    public mutating func nextMember() throws(Failure) -> Bool {
        try next(close: UInt8(ascii: "}"), after: "an object member")
    }

    /// After an element: true after `,` (another element follows), false after `]`.
    @inlinable
    public mutating func nextElement() throws(Failure) -> Bool {
        try next(close: UInt8(ascii: "]"), after: "an array element")
    }

    @inlinable @inline(__always)
    mutating func next(close: UInt8, after: StaticString) throws(Failure) -> Bool {
        skipWhitespace()
        let byte = try peek()
        if byte == UInt8(ascii: ",") {
            position += 1
            skipWhitespace()
            return true
        }
        guard byte == close else {
            throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))' after \(after), found "
                + describeByte(at: position))
        }
        position += 1
        return false
    }

    /// Consumes a `null` at the position and returns true; false, consuming nothing, for any other value.
    @inlinable
    public mutating func skipNull() throws(Failure) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// Skips any JSON value, validating it. Iterative, so deeply nested input cannot exhaust the stack.
    public mutating func skipValue() throws(Failure) {
        var containers: [UInt8] = []   // the closing byte of each open container
        while true {
            skipWhitespace()
            var opened = false
            switch try peek() {
            case UInt8(ascii: "{"):
                if try beginContainer() {
                    containers.append(UInt8(ascii: "}"))
                    _ = try key()
                    opened = true
                }
            case UInt8(ascii: "["):
                if try beginContainer() {
                    containers.append(UInt8(ascii: "]"))
                    opened = true
                }
            case UInt8(ascii: "\""):
                _ = try string()
            case UInt8(ascii: "t"):
                try literal("true")
            case UInt8(ascii: "f"):
                try literal("false")
            case UInt8(ascii: "n"):
                try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                _ = try number()
            default:
                throw failure("expected a JSON value, found \(describeByte(at: position))")
            }
            if opened { continue }
            // After a complete value: close containers until one continues with ','.
            var continues = false
            while let closing = containers.last {
                skipWhitespace()
                let next = try peek()
                if next == UInt8(ascii: ",") {
                    position += 1
                    skipWhitespace()
                    if closing == UInt8(ascii: "}") { _ = try key() }
                    continues = true
                    break
                }
                guard next == closing else {
                    throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))', found "
                        + describeByte(at: position))
                }
                position += 1
                containers.removeLast()
            }
            if !continues { return }
        }
    }

    // MARK: Tokens

    /// Reads the string at the position (which must be `"`) and returns its unescaped bytes: a view of the input
    /// when it has no escapes, else of the scratch buffer, valid until the next string is read.
    @inlinable
    public mutating func string() throws(Failure) -> UnsafeBufferPointer<UInt8> {
        try expectQuote()
        return try stringAfterQuote()
    }

    /// `string()` once the caller has checked the opening quote.
    @inlinable
    mutating func stringAfterQuote() throws(Failure) -> UnsafeBufferPointer<UInt8> {
        let start = position
        try skipPlainRun()
        if input[position] == UInt8(ascii: "\"") {
            position += 1
            return UnsafeBufferPointer(start: input + start + 1, count: position - start - 2)
        }
        let buffer: UnsafeMutablePointer<UInt8>
        if let scratch {
            buffer = scratch
        } else {
            buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
            scratch = buffer
        }
        return UnsafeBufferPointer(start: buffer, count: try unescapeRest(start: start, into: buffer))
    }

    /// Reads the string at the position (which must be `"`) and writes its unescaped bytes at `destination`,
    /// returning how many. `destination` must have room for as many bytes as are left in the input.
    @inlinable
    public mutating func string(into destination: UnsafeMutablePointer<UInt8>) throws(Failure) -> Int {
        try expectQuote()
        let start = position
        try skipPlainRun()
        if input[position] == UInt8(ascii: "\"") {
            let length = position - start - 1
            destination.update(from: input + start + 1, count: length)
            position += 1
            return length
        }
        return try unescapeRest(start: start, into: destination)
    }

    @inlinable @inline(__always)
    func expectQuote() throws(Failure) {
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a string, found \(describeByte(at: position))")
        }
    }

    /// From the opening quote at the position (checked by the caller), moves to the first byte that is a quote, a
    /// backslash or a control character. Throws at a control character or the end of input.
    @inlinable @inline(__always)
    mutating func skipPlainRun() throws(Failure) {
        let start = position
        position += 1
        // Eight bytes at a time while none is a quote, a backslash or a control character.
        while count - position >= 8 {
            let word = UnsafeRawPointer(input + position).loadUnaligned(as: UInt64.self)
            let quote = word ^ 0x2222_2222_2222_2222
            let backslash = word ^ 0x5C5C_5C5C_5C5C_5C5C
            let special = ((quote &- 0x0101_0101_0101_0101) & ~quote)
                | ((backslash &- 0x0101_0101_0101_0101) & ~backslash)
                | ((word &- 0x2020_2020_2020_2020) & ~word)
            if special & 0x8080_8080_8080_8080 != 0 { break }
            position += 8
        }
        while position < count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return }
            if byte < 0x20 { throw controlCharacter() }
            position += 1
        }
        throw failure("unexpected end of input in the string starting", at: start)
    }

    /// The slow path of reading a string, from its first backslash: copies the content from the quote at `start`
    /// to `buffer`, unescaping as it goes, and returns its length.
    @usableFromInline
    mutating func unescapeRest(start: Int, into buffer: UnsafeMutablePointer<UInt8>) throws(Failure) -> Int {
        var length = position - start - 1
        buffer.update(from: input + start + 1, count: length)
        while position < count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return length
            }
            if byte < 0x20 { throw controlCharacter() }
            if byte != UInt8(ascii: "\\") {
                buffer[length] = byte
                length += 1
                position += 1
                continue
            }
            let escapeStart = position
            position += 1
            guard position < count else {
                throw failure("unexpected end of input in an escape sequence", at: escapeStart)
            }
            let letter = input[position]
            position += 1
            let decoded: UInt8
            switch letter {
            case UInt8(ascii: "\""): decoded = UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): decoded = UInt8(ascii: "\\")
            case UInt8(ascii: "/"): decoded = UInt8(ascii: "/")
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                length += Self.writeUTF8(try unicodeEscape(escapeStart: escapeStart), to: buffer + length)
                continue
            default:
                throw failure("invalid escape sequence: backslash followed by \(Self.describeRawByte(letter))",
                              at: escapeStart)
            }
            buffer[length] = decoded
            length += 1
        }
        throw failure("unexpected end of input in the string starting", at: start)
    }

    /// The scalar of a `\uXXXX` escape whose four digits start at the position; a high surrogate is combined with
    /// a following `\uDC00`-`\uDFFF`, and a surrogate that stands alone becomes U+FFFD.
    mutating func unicodeEscape(escapeStart: Int) throws(Failure) -> UInt32 {
        let scalar = try hex4(escapeStart: escapeStart)
        if scalar >= 0xDC00 && scalar <= 0xDFFF { return 0xFFFD }
        guard scalar >= 0xD800 && scalar <= 0xDBFF else { return scalar }
        guard position + 6 <= count && input[position] == UInt8(ascii: "\\") && input[position + 1] == UInt8(ascii: "u")
        else { return 0xFFFD }
        let saved = position
        position += 2
        let low = try hex4(escapeStart: saved)
        guard low >= 0xDC00 && low <= 0xDFFF else {
            position = saved
            return 0xFFFD
        }
        return 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
    }

    mutating func hex4(escapeStart: Int) throws(Failure) -> UInt32 {
        guard position + 4 <= count else { throw failure("unexpected end of input in a \\u escape", at: escapeStart) }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = JSONNumberText.hexDigit(input[position + offset]) else {
                throw failure("invalid \\u escape: \(describeByte(at: position + offset)) is not a hex digit",
                              at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }

    /// Writes a scalar's UTF-8 (at most 4 bytes; a `\uXXXX` escape is 6 or 12 input bytes, so unescaping never
    /// outgrows the input) and returns its length.
    @usableFromInline
    static func writeUTF8(_ scalar: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        if scalar < 0x80 {
            out[0] = UInt8(scalar)
            return 1
        } else if scalar < 0x800 {
            out[0] = UInt8(0xC0 | scalar >> 6)
            out[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        } else if scalar < 0x10000 {
            out[0] = UInt8(0xE0 | scalar >> 12)
            out[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        }
        out[0] = UInt8(0xF0 | scalar >> 18)
        out[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
        out[2] = UInt8(0x80 | scalar >> 6 & 0x3F)
        out[3] = UInt8(0x80 | scalar & 0x3F)
        return 4
    }

    /// Validates the JSON number at the position (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), moves past
    /// it and returns its text, a view of the input.
    @inlinable
    public mutating func number() throws(Failure) -> UnsafeBufferPointer<UInt8> {
        let start = position
        let rest = UnsafeBufferPointer(start: input + start, count: count - start)
        switch JSONNumberText.scan(rest) {
        case .number(let length):
            position += length
            return UnsafeBufferPointer(start: input + start, count: length)
        case .invalid(let offset, let expected):
            throw failure("invalid number: expected \(expected), found \(describeByte(at: start + offset))",
                          at: start)
        }
    }

    /// Consumes `literal` (`true`, `false` or `null`) at the position.
    @inlinable
    public mutating func literal(_ literal: StaticString) throws(Failure) {
        let start = position
        let length = literal.utf8CodeUnitCount
        guard count - start >= length else {
            throw failure("unexpected end of input in the literal '\(literal)'", at: start)
        }
        for offset in 0..<length where input[start + offset] != literal.utf8Start[offset] {
            throw failure("invalid literal, expected '\(literal)'", at: start)
        }
        position += length
    }

    // MARK: Errors

    /// The parser's error for `reason` at `offset`, by default the position.
    @inlinable
    public func failure(_ reason: String, at offset: Int? = nil) -> Failure {
        Failure(jsonSyntax: reason, offset: offset ?? position)
    }

    @usableFromInline
    func controlCharacter() -> Failure {
        failure("control character \(describeByte(at: position)) in a string (escape it as \\u00XX)")
    }

    /// The byte at `offset` for an error message: `'x'`, `byte 0x0a`, or `end of input`.
    public func describeByte(at offset: Int) -> String {
        guard offset < count else { return "end of input" }
        return Self.describeRawByte(input[offset])
    }

    /// What kind of JSON value starts at `offset`, for "expected X, found Y".
    public func describeValue(at offset: Int) -> String {
        guard offset < count else { return "end of input" }
        switch input[offset] {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return Self.describeRawByte(input[offset])
        }
    }

    public static func describeRawByte(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }

    /// `text` for an error message: quoted, cut at 64 bytes, invalid UTF-8 replaced.
    public static func quote(_ text: UnsafeBufferPointer<UInt8>) -> String {
        let shown = text.count > 64 ? UnsafeBufferPointer(rebasing: text[0..<64]) : text
        return "\"" + String(decoding: shown, as: UTF8.self) + (text.count > 64 ? "...\"" : "\"")
    }
}

/// Where an empty input points, so that the scanner's input pointer is never nil.
@usableFromInline
nonisolated(unsafe) let emptyJSONInput = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
