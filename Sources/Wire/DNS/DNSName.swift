/// Domain names on the wire (RFC 1035 §3.1, §4.1.4) and as text (see ``DNSMessage`` for the escapes).
public enum DNSName {
    /// A name takes at most 255 bytes on the wire: its labels, their length bytes and the closing zero.
    public static let maxWireLength = 255
    public static let maxLabelLength = 63

    /// `name` for comparison: ASCII lower-cased, without a trailing dot.
    public static func canonical(_ name: String) -> String {
        var text = name.hasSuffix(".") && !name.hasSuffix("\\.") ? String(name.dropLast()) : name
        if text.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) {
            text = String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        return text
    }

    /// Checks that `name` can be written: labels of 1...63 bytes, at most 255 bytes in all, escapes complete.
    public static func validate(_ name: String) throws(DNSMessageError) {
        var writer = DNSByteWriter()
        try write(name, into: &writer)
    }

    /// Reads a name at the cursor, following compression pointers, and leaves the cursor after the name's bytes
    /// in place (after its first pointer, if any).
    ///
    /// A pointer must point before the labels it continues: real compressors only point back at names already
    /// written, and the rule makes every chain of pointers strictly decreasing, so a loop is impossible by
    /// construction and refused with an error rather than followed.
    static func read(_ cursor: inout DNSByteCursor, _ what: @autoclosure () -> String) throws(DNSMessageError) -> String {
        let bytes = cursor.bytes
        var text: [UInt8] = []
        var position = cursor.offset
        var floor = cursor.offset  // pointers must point below the start of the run of labels being read
        var wireLength = 1  // the closing zero
        var resume: Int?
        while true {
            guard position < bytes.count else {
                throw DNSMessageError("truncated \(what()) at byte \(position): the name has no end")
            }
            let length = Int(bytes[position])
            switch length >> 6 {
            case 0:
                if length == 0 {
                    cursor.offset = resume ?? position + 1
                    return String(decoding: text, as: UTF8.self)
                }
                guard position + 1 + length <= bytes.count else {
                    throw DNSMessageError("truncated \(what()) at byte \(position): a label of \(length) bytes, "
                        + "\(bytes.count - position - 1) left")
                }
                wireLength += 1 + length
                guard wireLength <= maxWireLength else {
                    throw DNSMessageError("\(what()) at byte \(cursor.offset) is longer than \(maxWireLength) bytes")
                }
                if !text.isEmpty { text.append(UInt8(ascii: ".")) }
                for byte in bytes[(position + 1)...(position + length)] { appendEscaped(byte, to: &text) }
                position += 1 + length
            case 3:
                guard position + 1 < bytes.count else {
                    throw DNSMessageError("truncated \(what()) at byte \(position): a compression pointer needs 2 bytes")
                }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < bytes.count else {
                    throw DNSMessageError("\(what()): the compression pointer at byte \(position) points to byte "
                        + "\(target), past the end of the \(bytes.count)-byte message")
                }
                guard target < floor else {
                    throw DNSMessageError("\(what()): the compression pointer at byte \(position) points to byte "
                        + "\(target), not before the name it continues (a pointer loop)")
                }
                if resume == nil { resume = position + 2 }
                floor = target
                position = target
            default:
                throw DNSMessageError("\(what()) at byte \(position): length byte \(length) is neither a label of "
                    + "at most \(maxLabelLength) bytes nor a compression pointer")
            }
        }
    }

    private static func appendEscaped(_ byte: UInt8, to text: inout [UInt8]) {
        if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: ".") && byte != UInt8(ascii: "\\") {
            text.append(byte)
        } else {
            text.append(UInt8(ascii: "\\"))
            text.append(UInt8(ascii: "0") + byte / 100)
            text.append(UInt8(ascii: "0") + byte / 10 % 10)
            text.append(UInt8(ascii: "0") + byte % 10)
        }
    }

    /// Writes `name` uncompressed; a trailing dot (an absolute name) and "" or "." (the root) are allowed.
    static func write(_ name: String, into writer: inout DNSByteWriter) throws(DNSMessageError) {
        let text = Array(name.utf8)
        if text == [UInt8(ascii: ".")] || text.isEmpty {
            writer.write(UInt8(0))
            return
        }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var index = 0
        var endsWithDot = false
        while index < text.count {
            let byte = text[index]
            endsWithDot = false
            if byte == UInt8(ascii: ".") {
                guard !label.isEmpty else { throw DNSMessageError("name \"\(name)\" has an empty label") }
                labels.append(label)
                label = []
                endsWithDot = true
                index += 1
            } else if byte == UInt8(ascii: "\\") {
                guard index + 1 < text.count else {
                    throw DNSMessageError("name \"\(name)\" ends with an unfinished \\ escape")
                }
                let digits = text[(index + 1)...].prefix(3)
                if let first = digits.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
                    guard digits.count == 3, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                    else { throw DNSMessageError("name \"\(name)\" has a \\DDD escape without three digits") }
                    let value = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                    guard value <= 255 else {
                        throw DNSMessageError("name \"\(name)\" has the escape \\\(value), above 255")
                    }
                    label.append(UInt8(value))
                    index += 4
                } else {
                    label.append(text[index + 1])
                    index += 2
                }
            } else {
                label.append(byte)
                index += 1
            }
            guard label.count <= maxLabelLength else {
                throw DNSMessageError("name \"\(name)\" has a label longer than \(maxLabelLength) bytes")
            }
        }
        if !endsWithDot { labels.append(label) }
        let wireLength = labels.reduce(1) { $0 + 1 + $1.count }
        guard wireLength <= maxWireLength else {
            throw DNSMessageError("name \"\(name)\" takes \(wireLength) bytes, more than \(maxWireLength)")
        }
        for label in labels {
            writer.write(UInt8(label.count))
            writer.write(label)
        }
        writer.write(UInt8(0))
    }
}
