/// Writes protobuf into memory sized in advance, front to back: the encoders of Loki push, OTLP and
/// `google.rpc.Status` compute their exact size with the size functions below, allocate once with
/// `bytes(count:_:)`, then write. Nothing is checked while writing: the size computed is the contract.
///
/// The `…Field` functions take the field number and write its tag; the size functions assume fields 1 to 15,
/// whose tags are one byte (true of every message written here).
struct ProtobufWriter {
    private(set) var cursor: UnsafeMutablePointer<UInt8>

    init(cursor: UnsafeMutablePointer<UInt8>) {
        self.cursor = cursor
    }

    /// An array of exactly `count` bytes, filled by `write`, which must write exactly that many.
    @inline(__always)
    static func bytes(count: Int, _ write: (inout ProtobufWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            guard let base = buffer.baseAddress else {
                initializedCount = 0
                return
            }
            var writer = ProtobufWriter(cursor: base)
            write(&writer)
            initializedCount = writer.cursor - base
            precondition(initializedCount == count, "a protobuf encoder wrote a different size than it computed")
        }
    }

    // MARK: Sizes

    static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per started group of 7 bits; 0 takes one byte.
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// A varint field: tag and value.
    static func varintFieldSize(_ value: UInt64) -> Int {
        1 + varintSize(value)
    }

    /// A length-delimited field of `byteCount` bytes (a message, or a string or bytes written even when empty):
    /// tag, length and the bytes.
    static func lengthDelimitedFieldSize(_ byteCount: Int) -> Int {
        1 + varintSize(UInt64(byteCount)) + byteCount
    }

    /// A string or bytes field of `byteCount` bytes, left out when empty as proto3 does.
    static func stringFieldSize(_ byteCount: Int) -> Int {
        byteCount == 0 ? 0 : lengthDelimitedFieldSize(byteCount)
    }

    // MARK: Fields

    @inline(__always)
    mutating func writeTag(_ field: Int, _ wire: ProtobufWireType) {
        let tag = UInt64(field) << 3 | UInt64(wire.rawValue)
        if tag < 0x80 {
            writeByte(UInt8(tag))
        } else {
            writeVarint(tag)
        }
    }

    @inline(__always)
    mutating func writeVarintField(_ field: Int, _ value: UInt64) {
        writeTag(field, .varint)
        writeVarint(value)
    }

    @inline(__always)
    mutating func writeFixed64Field(_ field: Int, _ value: UInt64) {
        writeTag(field, .fixed64)
        writeLittleEndian(value)
    }

    @inline(__always)
    mutating func writeFixed32Field(_ field: Int, _ value: UInt32) {
        writeTag(field, .fixed32)
        writeLittleEndian(value)
    }

    /// The tag and length of a nested message of `size` bytes, which the caller writes next.
    @inline(__always)
    mutating func writeMessageHeader(_ field: Int, size: Int) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(size))
    }

    /// A bytes field; left out when empty unless `evenIfEmpty` (a `oneof` member, which has presence).
    mutating func writeBytesField(_ field: Int, _ bytes: UnsafeRawBufferPointer, evenIfEmpty: Bool = false) {
        guard evenIfEmpty || !bytes.isEmpty else { return }
        writeMessageHeader(field, size: bytes.count)
        if let source = bytes.baseAddress, !bytes.isEmpty {
            UnsafeMutableRawPointer(cursor).copyMemory(from: source, byteCount: bytes.count)
            cursor += bytes.count
        }
    }

    mutating func writeBytesField(_ field: Int, _ bytes: [UInt8], evenIfEmpty: Bool = false) {
        bytes.withUnsafeBytes { writeBytesField(field, $0, evenIfEmpty: evenIfEmpty) }
    }

    mutating func writeBytesField(_ field: Int, _ bytes: ArraySlice<UInt8>, evenIfEmpty: Bool = false) {
        bytes.withUnsafeBytes { writeBytesField(field, $0, evenIfEmpty: evenIfEmpty) }
    }

    /// A string field, as its UTF-8; left out when empty unless `evenIfEmpty`.
    mutating func writeStringField(_ field: Int, _ string: String, evenIfEmpty: Bool = false) {
        var string = string
        string.withUTF8 { writeBytesField(field, UnsafeRawBufferPointer($0), evenIfEmpty: evenIfEmpty) }
    }

    // MARK: Wire primitives

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) {
        cursor.pointee = byte
        cursor += 1
    }

    @inline(__always)
    mutating func writeLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        UnsafeMutableRawPointer(cursor).storeBytes(of: value.littleEndian, as: Value.self)
        cursor += MemoryLayout<Value>.size
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            writeByte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        writeByte(UInt8(value))
    }
}
