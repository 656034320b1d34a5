import Glibc

/// The character encoding of a file, from `encoding` or its byte-order mark: lines are split on the encoding's
/// newline and handed on as UTF-8.
enum TextEncoding: Sendable, Equatable {
    case utf8
    case utf16LittleEndian
    case utf16BigEndian
    /// `UTF-16` without a byte order: the byte-order mark decides, big-endian without one (RFC 2781).
    case utf16
    case latin1

    /// The encoding an `encoding` argument names (IANA names, any case); nil for one Estuary cannot read.
    init?(ianaName: String) {
        switch ianaName.lowercased().replacingOccurrences(of: "_", with: "-") {
        case "", "utf-8", "utf8": self = .utf8
        case "utf-16le", "utf16le": self = .utf16LittleEndian
        case "utf-16be", "utf16be": self = .utf16BigEndian
        case "utf-16", "utf16": self = .utf16
        case "iso-8859-1", "latin1", "iso8859-1", "l1": self = .latin1
        default: return nil
        }
    }

    static let supportedNames = "UTF-8, UTF-16, UTF-16LE, UTF-16BE, ISO-8859-1"

    /// Bytes per code unit: newlines are found on unit boundaries.
    var unitSize: Int {
        switch self {
        case .utf16LittleEndian, .utf16BigEndian, .utf16: 2
        case .utf8, .latin1: 1
        }
    }

    /// At the start of a file: the encoding its byte-order mark says (if any) and the mark's length.
    func detectingMark(_ bytes: ArraySlice<UInt8>) -> (TextEncoding, Int) {
        let start = bytes.startIndex
        if bytes.count >= 3, bytes[start] == 0xEF, bytes[start + 1] == 0xBB, bytes[start + 2] == 0xBF,
            self == .utf8
        {
            return (.utf8, 3)
        }
        if bytes.count >= 2 {
            if bytes[start] == 0xFF, bytes[start + 1] == 0xFE { return (.utf16LittleEndian, 2) }
            if bytes[start] == 0xFE, bytes[start + 1] == 0xFF { return (.utf16BigEndian, 2) }
        }
        return (self == .utf16 ? .utf16BigEndian : self, 0)
    }

    /// Where the next newline unit at or after `from` starts, on a unit boundary relative to `base`.
    func newline(in bytes: UnsafeBufferPointer<UInt8>, from: Int, base: Int) -> Int? {
        switch self {
        case .utf8, .latin1:
            guard from < bytes.count, let start = bytes.baseAddress else { return nil }
            guard let found = memchr(start + from, 0x0A, bytes.count - from) else { return nil }
            return UnsafeRawPointer(found) - UnsafeRawPointer(start)
        case .utf16LittleEndian, .utf16BigEndian, .utf16:
            var index = from + ((from - base) & 1)
            let little = self == .utf16LittleEndian
            while index + 1 < bytes.count {
                let (low, high) = little ? (bytes[index], bytes[index + 1]) : (bytes[index + 1], bytes[index])
                if low == 0x0A && high == 0 { return index }
                index += 2
            }
            return nil
        }
    }

    /// The line's text as UTF-8, without its newline and a carriage return before it. Invalid sequences become
    /// U+FFFD and count as an encoding failure.
    func utf8Line(_ raw: UnsafeBufferPointer<UInt8>, failures: inout Int) -> [UInt8] {
        switch self {
        case .utf8:
            var end = raw.count
            if end > 0, raw[end - 1] == 0x0D { end -= 1 }
            return Array(UnsafeBufferPointer(rebasing: raw[0..<end]))
        case .latin1:
            var end = raw.count
            if end > 0, raw[end - 1] == 0x0D { end -= 1 }
            var out: [UInt8] = []
            out.reserveCapacity(end)
            for byte in raw[0..<end] {
                if byte < 0x80 {
                    out.append(byte)
                } else {
                    out.append(0xC0 | (byte >> 6))
                    out.append(0x80 | (byte & 0x3F))
                }
            }
            return out
        case .utf16LittleEndian, .utf16BigEndian, .utf16:
            let little = self == .utf16LittleEndian
            var units: [UInt16] = []
            units.reserveCapacity(raw.count / 2)
            var index = 0
            while index + 1 < raw.count {
                units.append(little ? UInt16(raw[index]) | UInt16(raw[index + 1]) << 8
                                    : UInt16(raw[index + 1]) | UInt16(raw[index]) << 8)
                index += 2
            }
            if units.last == 0x0D { units.removeLast() }
            var out: [UInt8] = []
            out.reserveCapacity(units.count)
            // Invalid units become U+FFFD.
            let sawError = transcode(units.makeIterator(), from: UTF16.self, to: UTF8.self, stoppingOnError: false) {
                out.append($0)
            }
            if sawError || raw.count % 2 == 1 { failures += 1 }
            return out
        }
    }
}
