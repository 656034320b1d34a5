/// Appends Loki's primitive encodings (Go `binary.PutUvarint`/`PutVarint`, big-endian integers) to a byte array.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func uvarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func uvarint(_ value: Int) { uvarint(UInt64(value)) }

    /// Zig-zag signed varint, as Go's `binary.PutVarint`.
    mutating func varint(_ value: Int64) {
        uvarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func be32(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func be64(_ value: UInt64) {
        be32(UInt32(truncatingIfNeeded: value >> 32))
        be32(UInt32(truncatingIfNeeded: value))
    }

    mutating func append<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }
    mutating func append(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }
    mutating func byte(_ value: UInt8) { bytes.append(value) }
}

/// Reads what `ByteWriter` writes from a byte buffer, checking every bound: a corrupt or truncated object gives a
/// `ByteReader.Truncated` error, never a crash.
struct ByteReader {
    struct Truncated: Error, CustomStringConvertible {
        let what: String
        let offset: Int
        var description: String { "truncated or corrupt data reading \(what) at byte \(offset)" }
    }

    let base: UnsafeRawBufferPointer
    var offset: Int
    let end: Int

    init(_ base: UnsafeRawBufferPointer, from: Int = 0, to: Int? = nil) {
        self.base = base
        self.offset = from
        self.end = to ?? base.count
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    mutating func uvarint(_ what: @autoclosure () -> String = "varint") throws(Truncated) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end {
            let byte = base[offset]
            offset += 1
            if shift == 63 && byte > 1 { throw Truncated(what: what(), offset: offset - 1) }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw Truncated(what: what(), offset: offset - 1) }
        }
        throw Truncated(what: what(), offset: offset)
    }

    /// A uvarint that must fit a non-negative `Int` no larger than `limit`.
    mutating func length(_ what: @autoclosure () -> String, limit: Int) throws(Truncated) -> Int {
        let value = try uvarint(what())
        guard value <= UInt64(limit) else { throw Truncated(what: what(), offset: offset) }
        return Int(value)
    }

    mutating func varint(_ what: @autoclosure () -> String = "varint") throws(Truncated) -> Int64 {
        let raw = try uvarint(what())
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func be32(_ what: @autoclosure () -> String = "uint32") throws(Truncated) -> UInt32 {
        guard remaining >= 4 else { throw Truncated(what: what(), offset: offset) }
        let value = base.loadUnaligned(fromByteOffset: offset, as: UInt32.self).bigEndian
        offset += 4
        return value
    }

    mutating func be64(_ what: @autoclosure () -> String = "uint64") throws(Truncated) -> UInt64 {
        guard remaining >= 8 else { throw Truncated(what: what(), offset: offset) }
        let value = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self).bigEndian
        offset += 8
        return value
    }

    mutating func byte(_ what: @autoclosure () -> String = "byte") throws(Truncated) -> UInt8 {
        guard offset < end else { throw Truncated(what: what(), offset: offset) }
        defer { offset += 1 }
        return base[offset]
    }

    /// The next `count` bytes, as a view into the buffer.
    mutating func bytes(_ count: Int, _ what: @autoclosure () -> String = "bytes") throws(Truncated) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw Truncated(what: what(), offset: offset) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + count])
    }

    mutating func string(_ count: Int, _ what: @autoclosure () -> String = "string") throws(Truncated) -> String {
        String(decoding: try bytes(count, what()), as: UTF8.self)
    }
}
