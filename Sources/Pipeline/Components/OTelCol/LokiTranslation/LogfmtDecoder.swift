/// The first record of a logfmt text, read as `go-logfmt`'s `Decoder` reads it (one `ScanRecord`, then
/// `ScanKeyval` until the line ends): the translator tries this on string bodies and falls back to `msg=<body>` when
/// it fails. Only the first line counts, a trailing `\r` is dropped, and a first line of 64 KiB or more fails, as
/// `bufio.Scanner`'s default limit makes it fail in Go.
enum LogfmtDecoder {
    struct Pair {
        /// The key's bytes (never empty).
        var key: ArraySlice<UInt8>
        /// The value's bytes (a slice of the line unless escapes were resolved); empty for `k`, `k=` and `k=""`.
        var value: ArraySlice<UInt8>
    }

    struct SyntaxError: Error {
        var message: String
        /// Byte offset in the line.
        var offset: Int
    }

    /// `bufio.MaxScanTokenSize`.
    static let maximumLineLength = 64 * 1024

    static func decodeFirstLine(_ text: [UInt8]) throws(SyntaxError) -> [Pair] {
        var end = text.firstIndex(of: UInt8(ascii: "\n")) ?? text.count
        if end >= maximumLineLength { throw SyntaxError(message: "bufio.Scanner: token too long", offset: 0) }
        if end > 0, text[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return try decodeLine(text[0..<end])
    }

    static func decodeLine(_ line: ArraySlice<UInt8>) throws(SyntaxError) -> [Pair] {
        var pairs: [Pair] = []
        var position = line.startIndex
        let end = line.endIndex
        while true {
            // Skip what cannot start a key.
            while position < end, line[position] <= UInt8(ascii: " ") { position += 1 }
            if position >= end { return pairs }

            // The key runs to `=`, white space or the end; a quote or an empty key is an error.
            let keyStart = position
            var multibyte = false
            var key: ArraySlice<UInt8>?
            var sawEquals = false
            while position < end {
                let byte = line[position]
                if byte == UInt8(ascii: "=") {
                    if position > keyStart { key = line[keyStart..<position] }
                    guard key != nil else { throw unexpected(byte, at: position, line) }
                    sawEquals = true
                    break
                } else if byte == UInt8(ascii: "\"") {
                    throw unexpected(byte, at: position, line)
                } else if byte <= UInt8(ascii: " ") {
                    break
                } else if byte >= 0x80 {
                    multibyte = true
                }
                position += 1
            }
            if key == nil && position > keyStart { key = line[keyStart..<position] }
            guard let foundKey = key else { return pairs }
            if multibyte && containsReplacementCharacter(foundKey) {
                throw SyntaxError(message: "invalid key", offset: position - line.startIndex)
            }
            guard sawEquals else {
                pairs.append(Pair(key: foundKey, value: []))
                continue
            }

            // After `=`: nothing, a quoted value or a plain one.
            position += 1
            if position >= end || line[position] <= UInt8(ascii: " ") {
                pairs.append(Pair(key: foundKey, value: []))
                continue
            }
            if line[position] == UInt8(ascii: "\"") {
                let (value, next) = try quotedValue(line, from: position)
                pairs.append(Pair(key: foundKey, value: value))
                position = next
                continue
            }
            let valueStart = position
            while position < end {
                let byte = line[position]
                if byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") {
                    throw unexpected(byte, at: position, line)
                }
                if byte <= UInt8(ascii: " ") { break }
                position += 1
            }
            pairs.append(Pair(key: foundKey, value: line[valueStart..<position]))
        }
    }

    /// The value of the quoted string starting at `start`, and the offset just past its closing quote.
    private static func quotedValue(_ line: ArraySlice<UInt8>, from start: Int) throws(SyntaxError)
        -> (value: ArraySlice<UInt8>, next: Int)
    {
        var hasEscape = false
        var escaped = false
        var position = start + 1
        while position < line.endIndex {
            let byte = line[position]
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                hasEscape = true
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                let next = position + 1
                if hasEscape {
                    guard let value = unquote(line[(start + 1)..<position]) else {
                        throw SyntaxError(message: "invalid quoted value", offset: next - line.startIndex)
                    }
                    return (value[...], next)
                }
                return (line[(start + 1)..<position], next)
            }
            position += 1
        }
        throw SyntaxError(message: "unterminated quoted value", offset: line.count)
    }

    /// The text between the quotes with its escapes resolved, as `encoding/json` reads a string; nil when an
    /// escape is bad or a raw quote or control character appears.
    static func unquote(_ body: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var index = body.startIndex
        let end = body.endIndex
        while index < end {
            let byte = body[index]
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < end else { return nil }
                switch body[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "'"):
                    out.append(body[index])
                    index += 1
                case UInt8(ascii: "b"): out.append(0x08); index += 1
                case UInt8(ascii: "f"): out.append(0x0C); index += 1
                case UInt8(ascii: "n"): out.append(0x0A); index += 1
                case UInt8(ascii: "r"): out.append(0x0D); index += 1
                case UInt8(ascii: "t"): out.append(0x09); index += 1
                case UInt8(ascii: "u"):
                    guard var scalar = hex4(body, at: index + 1) else { return nil }
                    index += 5
                    if (0xD800..<0xE000).contains(scalar) {
                        // A high surrogate followed by an escaped low one makes a pair; anything else is U+FFFD.
                        if scalar < 0xDC00, index + 1 < end, body[index] == UInt8(ascii: "\\"),
                           body[index + 1] == UInt8(ascii: "u"), let low = hex4(body, at: index + 2),
                           (0xDC00..<0xE000).contains(low)
                        {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            index += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    }
                    appendUTF8(scalar, to: &out)
                default:
                    return nil
                }
            } else if byte == UInt8(ascii: "\"") || byte < 0x20 {
                return nil
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    private static func hex4(_ bytes: ArraySlice<UInt8>, at start: Int) -> UInt32? {
        guard start + 4 <= bytes.endIndex else { return nil }
        var value: UInt32 = 0
        for index in start..<(start + 4) {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        let value = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: String(Character(value)).utf8)
    }

    /// Whether the bytes hold U+FFFD (EF BF BD), which Go's `bytes.ContainsRune(key, utf8.RuneError)` finds.
    private static func containsReplacementCharacter(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index + 2 < bytes.endIndex {
            if bytes[index] == 0xEF && bytes[index + 1] == 0xBF && bytes[index + 2] == 0xBD { return true }
            index += 1
        }
        return false
    }

    private static func unexpected(_ byte: UInt8, at position: Int, _ line: ArraySlice<UInt8>) -> SyntaxError {
        SyntaxError(message: "unexpected \(String(UnicodeScalar(byte)).debugDescription)", offset: position - line.startIndex)
    }
}
