/// Encodes a `PushRequest` as an uncompressed protobuf `logproto.PushRequest` (callers snappy-compress it).
///
/// Writes the bytes the generated SwiftProtobuf code writes for the same message: fields in number order, empty
/// strings and zero numbers left out as proto3 does, every entry's timestamp present (as Loki's non-nullable
/// timestamp is). Sizes are computed first so the output is allocated once and written front to back.
public enum PushProtobufEncoder {
    public static func encode(_ request: PushRequest) -> [UInt8] {
        var total = 0
        for stream in request.streams {
            let size = streamSize(stream)
            total += 1 + varintSize(UInt64(size)) + size
        }
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initializedCount in
            guard let base = buffer.baseAddress else {
                initializedCount = 0
                return
            }
            var writer = ProtobufWriter(cursor: base)
            for stream in request.streams {
                writer.writeTag(field: 1, wire: 2)
                writer.writeVarint(UInt64(streamSize(stream)))
                writer.writeStream(stream)
            }
            initializedCount = writer.cursor - base
            precondition(initializedCount == total, "PushProtobufEncoder wrote a different size than it computed")
        }
    }

    // MARK: Sizes

    static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per started group of 7 bits; 0 takes one byte.
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    static func stringFieldSize(_ byteCount: Int) -> Int {
        byteCount == 0 ? 0 : 1 + varintSize(UInt64(byteCount)) + byteCount
    }

    static func streamSize(_ stream: PushStream) -> Int {
        var size = stringFieldSize(stream.labels.utf8.count)
        for entry in stream.entries {
            let entrySize = entrySize(entry)
            size += 1 + varintSize(UInt64(entrySize)) + entrySize
        }
        return size
    }

    static func entrySize(_ entry: PushEntry) -> Int {
        let timestamp = timestampSize(entry.timestamp)
        var size = 1 + varintSize(UInt64(timestamp)) + timestamp + stringFieldSize(entry.line.count)
        for pair in entry.structuredMetadata {
            let pairSize = labelPairSize(pair)
            size += 1 + varintSize(UInt64(pairSize)) + pairSize
        }
        return size
    }

    static func labelPairSize(_ pair: LabelPair) -> Int {
        stringFieldSize(pair.name.utf8.count) + stringFieldSize(pair.value.utf8.count)
    }

    /// The normalized `google.protobuf.Timestamp` for nanoseconds since the epoch: nanos always in `[0, 1e9)`.
    static func timestampParts(_ nanoseconds: Int64) -> (seconds: Int64, nanos: Int32) {
        var seconds = nanoseconds / 1_000_000_000
        var nanos = nanoseconds % 1_000_000_000
        if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        return (seconds, Int32(nanos))
    }

    static func timestampSize(_ nanoseconds: Int64) -> Int {
        let (seconds, nanos) = timestampParts(nanoseconds)
        var size = 0
        if seconds != 0 { size += 1 + varintSize(UInt64(bitPattern: seconds)) }
        if nanos != 0 { size += 1 + varintSize(UInt64(nanos)) }
        return size
    }
}

/// Writes protobuf primitives into memory sized in advance by `PushProtobufEncoder`'s size functions.
private struct ProtobufWriter {
    var cursor: UnsafeMutablePointer<UInt8>

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) {
        cursor.pointee = byte
        cursor += 1
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

    @inline(__always)
    mutating func writeTag(field: UInt64, wire: UInt64) {
        writeByte(UInt8(field << 3 | wire))
    }

    mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        UnsafeMutableRawPointer(cursor).copyMemory(from: source, byteCount: bytes.count)
        cursor += bytes.count
    }

    mutating func writeStringField(field: UInt64, _ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            guard !utf8.isEmpty else { return }
            writeTag(field: field, wire: 2)
            writeVarint(UInt64(utf8.count))
            writeBytes(UnsafeRawBufferPointer(utf8))
        }
    }

    mutating func writeStream(_ stream: PushStream) {
        writeStringField(field: 1, stream.labels)
        for entry in stream.entries {
            writeTag(field: 2, wire: 2)
            writeVarint(UInt64(PushProtobufEncoder.entrySize(entry)))
            writeEntry(entry)
        }
    }

    mutating func writeEntry(_ entry: PushEntry) {
        let (seconds, nanos) = PushProtobufEncoder.timestampParts(entry.timestamp)
        writeTag(field: 1, wire: 2)
        writeVarint(UInt64(PushProtobufEncoder.timestampSize(entry.timestamp)))
        if seconds != 0 {
            writeTag(field: 1, wire: 0)
            writeVarint(UInt64(bitPattern: seconds))
        }
        if nanos != 0 {
            writeTag(field: 2, wire: 0)
            writeVarint(UInt64(nanos))
        }
        if !entry.line.isEmpty {
            writeTag(field: 2, wire: 2)
            writeVarint(UInt64(entry.line.count))
            entry.line.withUnsafeBytes { writeBytes($0) }
        }
        for pair in entry.structuredMetadata {
            writeTag(field: 3, wire: 2)
            writeVarint(UInt64(PushProtobufEncoder.labelPairSize(pair)))
            writeStringField(field: 1, pair.name)
            writeStringField(field: 2, pair.value)
        }
    }
}
