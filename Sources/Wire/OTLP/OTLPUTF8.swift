/// Makes `String`s from bytes that must be valid UTF-8, for both OTLP decoders.
///
/// `String(validating:as:)` is generic and, called from here, unspecialized: it looks up type metadata on every
/// call, which cost more than the copy itself. This validator is plain code, with an ASCII fast path eight bytes
/// at a time; `String(decoding:as:)` then copies (finding nothing to repair).
enum OTLPUTF8 {
    /// The string of `bytes`, or nil when they are not valid UTF-8.
    @inline(__always)
    static func makeString(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard isValid(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `bytes` are well-formed UTF-8: no overlong forms, surrogates, or scalars above U+10FFFF.
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            // Eight ASCII bytes at a time.
            while index + 8 <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                index += 8
            }
            guard index < count else { return true }
            let lead = base[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80   // the range of the second byte
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return false
            }
            guard count - index >= length else { return false }
            let second = base[index + 1]
            guard second >= low && second <= high else { return false }
            if length > 2 {
                guard base[index + 2] & 0xC0 == 0x80 else { return false }
                if length > 3 {
                    guard base[index + 3] & 0xC0 == 0x80 else { return false }
                }
            }
            index += length
        }
        return true
    }
}
