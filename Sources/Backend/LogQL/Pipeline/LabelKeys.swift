/// Loki's label-key and label-value clean-up for parsed fields.
enum LabelKeys {
    @inline(__always)
    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || byte == 95 || (byte >= 48 && byte <= 57)
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 32 || (byte >= 9 && byte <= 13)
    }

    /// Loki's `sanitizeLabelKey(key, true)` appended to `out`: surrounding spaces trimmed, a leading digit
    /// prefixed with `_` when `out` is empty, and every character other than `[a-zA-Z0-9_]` replaced by one `_`
    /// (a multi-byte character by one `_`; an invalid byte by one `_`).
    static func appendSanitized(_ key: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var start = 0
        var end = key.count
        while start < end, isSpace(key[start]) { start += 1 }
        while end > start, isSpace(key[end - 1]) { end -= 1 }
        guard start < end else { return }
        if out.isEmpty, key[start] >= 48, key[start] <= 57 { out.append(95) }
        var index = start
        while index < end {
            let byte = key[index]
            if byte < 0x80 {
                out.append(isNameByte(byte) ? byte : 95)
                index += 1
            } else {
                out.append(95)
                index += scalarWidth(key, index, end)
            }
        }
    }

    /// Width of the UTF-8 sequence at `index` (1 for an invalid byte), as Go's `utf8.DecodeRune` steps.
    static func scalarWidth(_ bytes: UnsafeRawBufferPointer, _ index: Int, _ end: Int) -> Int {
        let lead = bytes[index]
        let width: Int
        if lead >= 0xC2 && lead <= 0xDF { width = 2 } else if lead >= 0xE0 && lead <= 0xEF { width = 3 } else if lead >= 0xF0 && lead <= 0xF4 { width = 4 } else { return 1 }
        guard index + width <= end else { return 1 }
        for offset in 1..<width where bytes[index + offset] & 0xC0 != 0x80 { return 1 }
        // Overlongs and surrogates are invalid in Go too.
        let second = bytes[index + 1]
        if lead == 0xE0 && second < 0xA0 { return 1 }
        if lead == 0xED && second > 0x9F { return 1 }
        if lead == 0xF0 && second < 0x90 { return 1 }
        if lead == 0xF4 && second > 0x8F { return 1 }
        return width
    }

    /// A sanitised key as a `String`.
    static func sanitized(_ key: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        appendSanitized(key, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func sanitized(_ key: String) -> String {
        var key = key
        return key.withUTF8 { sanitized(UnsafeRawBufferPointer($0)) }
    }

    /// A value as Loki keeps it: invalid UTF-8 and U+FFFD become a space each (Prometheus rejects U+FFFD).
    @inline(__always)
    static func value(_ bytes: UnsafeRawBufferPointer) -> String {
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                out.append(byte)
                index += 1
                continue
            }
            let width = scalarWidth(bytes, index, bytes.count)
            if width == 1 {
                out.append(32)
            } else if width == 3, byte == 0xEF, bytes[index + 1] == 0xBF, bytes[index + 2] == 0xBD {
                out.append(32)
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + width)]))
            }
            index += width
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Prometheus' label name rule (`model.LabelName.IsValid`, legacy): `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 48 && first <= 57) else { return false }
        return name.utf8.allSatisfy(isNameByte)
    }
}
