/// Reads big-endian integers from untrusted DNS bytes: every read checks the bounds and throws, none traps.
struct DNSByteCursor {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func readUInt8(_ what: @autoclosure () -> String) throws(DNSMessageError) -> UInt8 {
        guard offset < bytes.count else { throw truncated(what(), needed: 1) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16(_ what: @autoclosure () -> String) throws(DNSMessageError) -> UInt16 {
        guard remaining >= 2 else { throw truncated(what(), needed: 2) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32(_ what: @autoclosure () -> String) throws(DNSMessageError) -> UInt32 {
        guard remaining >= 4 else { throw truncated(what(), needed: 4) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw truncated(what(), needed: count) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) {
        guard count >= 0, remaining >= count else { throw truncated(what(), needed: count) }
        offset += count
    }

    private func truncated(_ what: String, needed: Int) -> DNSMessageError {
        DNSMessageError("truncated \(what) at byte \(offset): needs \(needed) bytes, \(max(0, remaining)) left")
    }
}

/// Writes a DNS message: big-endian integers and uncompressed names.
struct DNSByteWriter {
    var bytes: [UInt8] = []

    mutating func write(_ value: UInt8) { bytes.append(value) }

    mutating func write(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func write(_ value: UInt32) {
        write(UInt16(value >> 16))
        write(UInt16(truncatingIfNeeded: value))
    }

    mutating func write(_ value: [UInt8]) { bytes.append(contentsOf: value) }
}
