/// Loki's logfmt decoder (`pkg/logql/log/logfmt/decode.go`, from go-logfmt): scans `key=value`, `key="quoted"`
/// and bare `key` pairs; after a syntax error it skips to the next space and goes on, remembering the error (the
/// parser reports it only with `--strict`).
struct LogfmtDecoder {
    let line: UnsafeRawBufferPointer
    private(set) var position = 0
    /// The last key scanned.
    private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    private var valueRange: Range<Int>?
    private var valueUnquoted = false
    /// The last syntax error, as Loki words it.
    private(set) var error: String?

    init(_ line: UnsafeRawBufferPointer) {
        self.line = line
    }

    var atEnd: Bool { position >= line.count }

    /// The value of the last pair ("" when it had none), from the line or from the unquoting `scratch`.
    @inline(__always)
    func withValue<T>(_ scratch: [UInt8], _ body: (UnsafeRawBufferPointer) -> T) -> T {
        if valueUnquoted { return scratch.withUnsafeBytes { body($0) } }
        guard let valueRange else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return body(UnsafeRawBufferPointer(rebasing: line[valueRange]))
    }

    /// Scans the next pair; false at the end or on a syntax error.
    mutating func scan(unquoteInto scratch: inout [UInt8]) -> Bool {
        key = UnsafeRawBufferPointer(start: nil, count: 0)
        valueRange = nil
        valueUnquoted = false
        // Garbage: everything up to the first byte above space.
        while position < line.count, line[position] <= 32 { position += 1 }
        guard position < line.count else { return false }
        let keyStart = position
        var multibyte = false
        while position < line.count {
            let byte = line[position]
            if byte == UInt8(ascii: "=") {
                if position > keyStart {
                    key = UnsafeRawBufferPointer(rebasing: line[keyStart..<position])
                    if multibyte && Self.hasInvalidUTF8(key) {
                        syntaxError("invalid key")
                        return skipValue()
                    }
                }
                if key.isEmpty {
                    unexpected(byte)
                    return skipValue()
                }
                return scanValue(&scratch)
            } else if byte == UInt8(ascii: "\"") {
                unexpected(byte)
                return skipValue()
            } else if byte <= 32 {
                if position > keyStart {
                    key = UnsafeRawBufferPointer(rebasing: line[keyStart..<position])
                    if multibyte && Self.hasInvalidUTF8(key) {
                        syntaxError("invalid key")
                        return false
                    }
                }
                return true
            } else if byte >= 0x80 {
                multibyte = true
            }
            position += 1
        }
        key = UnsafeRawBufferPointer(rebasing: line[keyStart..<position])
        if multibyte && Self.hasInvalidUTF8(key) {
            syntaxError("invalid key")
            return false
        }
        return true
    }

    private mutating func scanValue(_ scratch: inout [UInt8]) -> Bool {
        position += 1  // the `=`
        guard position < line.count else { return true }
        let first = line[position]
        if first <= 32 { return true }
        if first == UInt8(ascii: "\"") { return scanQuoted(&scratch) }
        let start = position
        while position < line.count {
            let byte = line[position]
            if byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") {
                unexpected(byte)
                return skipValue()
            }
            if byte <= 32 { break }
            position += 1
        }
        if position > start { valueRange = start..<position }
        return true
    }

    private mutating func scanQuoted(_ scratch: inout [UInt8]) -> Bool {
        let start = position
        var hasEscape = false
        var escaped = false
        var index = position + 1
        while index < line.count {
            let byte = line[index]
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                hasEscape = true
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                position = index + 1
                if hasEscape {
                    scratch.removeAll(keepingCapacity: true)
                    guard JSONFields.unescape(UnsafeRawBufferPointer(rebasing: line[(start + 1)..<index]), into: &scratch) else {
                        syntaxError("invalid quoted value")
                        return false
                    }
                    valueUnquoted = true
                } else if index > start + 1 {
                    valueRange = (start + 1)..<index
                }
                return true
            }
            index += 1
        }
        position = line.count
        syntaxError("unterminated quoted value")
        return false
    }

    /// Which of `keys` the last key scanned is, by its bytes.
    func keyIndex(in keys: [[UInt8]]) -> Int? {
        keys.firstIndex { candidate in
            candidate.count == key.count && candidate.withUnsafeBytes { memcmpBytes($0, key, key.count) }
        }
    }

    /// Whether the rest of the line, after the pair last scanned, may hold one of `keys` as a key. A key starts
    /// after a space, a closing quote or the line's start and ends at `=`, a space or the line's end; this says yes
    /// to every occurrence followed by one of those, wherever it starts, so it is never wrong when it says no.
    func restMayHold(_ keys: [[UInt8]]) -> Bool {
        let rest = UnsafeRawBufferPointer(rebasing: line[min(position, line.count)...])
        for candidate in keys {
            var offset = 0
            while offset < rest.count {
                let window = UnsafeRawBufferPointer(rebasing: rest[offset...])
                guard let found = candidate.withUnsafeBytes({ ByteSearch.firstIndex(window, $0) }) else { break }
                let after = offset + found + candidate.count
                if after >= rest.count || rest[after] == UInt8(ascii: "=") || rest[after] <= 32 { return true }
                offset += found + 1
            }
        }
        return false
    }

    private mutating func skipValue() -> Bool {
        while position < line.count, line[position] > 32 { position += 1 }
        return false
    }

    private mutating func syntaxError(_ message: String) {
        error = "logfmt syntax error at pos \(position + 1) : \(message)"
    }

    /// Go's `%q` of a byte: `'='`, `'"'`.
    private mutating func unexpected(_ byte: UInt8) {
        let shown = byte == UInt8(ascii: "\"") ? "'\"'" : "'\(Character(Unicode.Scalar(byte)))'"
        error = "logfmt syntax error at pos \(position + 1) : unexpected \(shown)"
    }

    private static func hasInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
                continue
            }
            let width = LabelKeys.scalarWidth(bytes, index, bytes.count)
            if width == 1 { return true }
            if width == 3, bytes[index] == 0xEF, bytes[index + 1] == 0xBF, bytes[index + 2] == 0xBD { return true }
            index += width
        }
        return false
    }
}
