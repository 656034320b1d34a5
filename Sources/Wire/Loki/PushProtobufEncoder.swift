/// Encodes a `PushRequest` as an uncompressed protobuf `logproto.PushRequest` (callers snappy-compress it).
///
/// Writes the bytes the generated SwiftProtobuf code writes for the same message: fields in number order, empty
/// strings and zero numbers left out as proto3 does, every entry's timestamp present (as Loki's non-nullable
/// timestamp is). Sizes are computed first so the output is allocated once and written front to back.
public enum PushProtobufEncoder {
    public static func encode(_ request: PushRequest) -> [UInt8] {
        var total = 0
        for stream in request.streams {
            total += ProtobufWriter.lengthDelimitedFieldSize(streamSize(stream))
        }
        return ProtobufWriter.bytes(count: total) { writer in
            for stream in request.streams {
                writer.writeMessageHeader(1, size: streamSize(stream))
                writer.writeStream(stream)
            }
        }
    }

    // MARK: Sizes

    static func streamSize(_ stream: PushStream) -> Int {
        var size = ProtobufWriter.stringFieldSize(stream.labels.utf8.count)
        for entry in stream.entries {
            size += ProtobufWriter.lengthDelimitedFieldSize(entrySize(entry))
        }
        return size
    }

    static func entrySize(_ entry: PushEntry) -> Int {
        var size = ProtobufWriter.lengthDelimitedFieldSize(timestampSize(entry.timestamp))
            + ProtobufWriter.stringFieldSize(entry.line.count)
        for pair in entry.structuredMetadata {
            size += ProtobufWriter.lengthDelimitedFieldSize(labelPairSize(pair))
        }
        return size
    }

    static func labelPairSize(_ pair: LabelPair) -> Int {
        ProtobufWriter.stringFieldSize(pair.name.utf8.count) + ProtobufWriter.stringFieldSize(pair.value.utf8.count)
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
        if seconds != 0 { size += ProtobufWriter.varintFieldSize(UInt64(bitPattern: seconds)) }
        if nanos != 0 { size += ProtobufWriter.varintFieldSize(UInt64(nanos)) }
        return size
    }
}

/// The messages of a push request, written into memory sized by `PushProtobufEncoder`'s size functions.
extension ProtobufWriter {
    fileprivate mutating func writeStream(_ stream: PushStream) {
        writeStringField(1, stream.labels)
        for entry in stream.entries {
            writeMessageHeader(2, size: PushProtobufEncoder.entrySize(entry))
            writeEntry(entry)
        }
    }

    fileprivate mutating func writeEntry(_ entry: PushEntry) {
        let (seconds, nanos) = PushProtobufEncoder.timestampParts(entry.timestamp)
        writeMessageHeader(1, size: PushProtobufEncoder.timestampSize(entry.timestamp))
        if seconds != 0 { writeVarintField(1, UInt64(bitPattern: seconds)) }
        if nanos != 0 { writeVarintField(2, UInt64(nanos)) }
        writeBytesField(2, entry.line)
        for pair in entry.structuredMetadata {
            writeMessageHeader(3, size: PushProtobufEncoder.labelPairSize(pair))
            writeStringField(1, pair.name)
            writeStringField(2, pair.value)
        }
    }
}
