/// Writes JSON straight into bytes: responses are built without intermediate objects or `Codable`.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func number(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func number(_ value: Double) {
        if value.isFinite {
            bytes.append(contentsOf: String(value).utf8)
        } else {
            raw("0")
        }
    }

    mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }

    mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    mutating func string(_ value: [UInt8]) {
        value.withUnsafeBytes { string($0) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string from UTF-8 bytes; invalid UTF-8 sequences become U+FFFD, as Go's encoder does.
    mutating func string(_ value: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        var i = 0
        let count = value.count
        while i < count {
            let byte = value[i]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte < 0x80 {
                i += 1
                continue
            }
            if byte >= 0x80 {
                let length = Self.validSequenceLength(value, at: i)
                if length > 0 {
                    i += length
                    continue
                }
            }
            if start < i { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[start..<i])) }
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0x80...: raw("\u{FFFD}")
            default:
                raw("\\u00")
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            }
            i += 1
            start = i
        }
        if start < count { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[start..<count])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Length of the valid UTF-8 sequence starting at `i` (a non-ASCII lead byte), or 0 if invalid.
    private static func validSequenceLength(_ s: UnsafeRawBufferPointer, at i: Int) -> Int {
        let lead = s[i]
        let length: Int
        var minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; scalar = UInt32(lead & 0x1F); minimum = 0x80
        case 0xE0...0xEF: length = 3; scalar = UInt32(lead & 0x0F); minimum = 0x800
        case 0xF0...0xF4: length = 4; scalar = UInt32(lead & 0x07); minimum = 0x10000
        default: return 0
        }
        guard i + length <= s.count else { return 0 }
        for k in 1..<length {
            let next = s[i + k]
            guard next & 0xC0 == 0x80 else { return 0 }
            scalar = scalar << 6 | UInt32(next & 0x3F)
        }
        if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return 0 }
        return length
    }
}
