/// UTF-8 decoding as Go's `utf8.DecodeRune`: an invalid or truncated sequence, an overlong form or an encoded
/// surrogate is U+FFFD of width one, so every byte of any input is consumed exactly once.
enum RE2UTF8 {
    /// The scalar value the engines see at the end of the text (never equal to a real scalar).
    static let endOfText: UInt32 = .max

    /// The scalar at `position` and its width in bytes; `endOfText` and 0 at the end.
    @inline(__always)
    static func decode(_ text: UnsafeRawBufferPointer, _ position: Int) -> (value: UInt32, width: Int) {
        let count = text.count
        guard position < count else { return (endOfText, 0) }
        let first = text[position]
        if first < 0x80 { return (UInt32(first), 1) }
        return decodeMultibyte(text, position, first, count)
    }

    private static func decodeMultibyte(_ text: UnsafeRawBufferPointer, _ position: Int, _ first: UInt8, _ count: Int)
        -> (value: UInt32, width: Int)
    {
        let invalid: (UInt32, Int) = (0xFFFD, 1)
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> UInt32? {
            guard position + offset < count else { return nil }
            let byte = text[position + offset]
            return byte >= low && byte <= high ? UInt32(byte & 0x3F) : nil
        }
        switch first {
        case 0xC2...0xDF:
            guard let second = continuation(1) else { return invalid }
            return (UInt32(first & 0x1F) << 6 | second, 2)
        case 0xE0...0xEF:
            let low: UInt8 = first == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = first == 0xED ? 0x9F : 0xBF
            guard let second = continuation(1, low, high), let third = continuation(2) else { return invalid }
            return (UInt32(first & 0x0F) << 12 | second << 6 | third, 3)
        case 0xF0...0xF4:
            let low: UInt8 = first == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = first == 0xF4 ? 0x8F : 0xBF
            guard let second = continuation(1, low, high), let third = continuation(2), let fourth = continuation(3)
            else { return invalid }
            return (UInt32(first & 0x07) << 18 | second << 12 | third << 6 | fourth, 4)
        default:
            return invalid
        }
    }
}
