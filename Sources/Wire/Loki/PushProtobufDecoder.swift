/// Decodes an uncompressed protobuf `logproto.PushRequest` (Loki's `pkg/push/push.proto`).
///
/// Hand-written for the ingest hot path: one pass over the bytes, no intermediate messages. Every entry's `line`
/// is a slice of `bytes` itself and a stream's labels string is made once, so decoding allocates per stream, not
/// per entry (entries with structured metadata also allocate their pairs). Unknown fields of every wire type are
/// skipped, as protobuf requires; everything else is validated, and malformed input throws a `PushDecodeError`
/// whose message starts with `proto:` and says which field of which message failed and at which byte.
///
/// Timestamps (`google.protobuf.Timestamp`) become nanoseconds since the epoch; like Loki (gogo's
/// `TimestampFromProto`), nanos outside `[0, 1e9)` are rejected, and so are instants an `Int64` of nanoseconds
/// cannot hold (before 1677 or after 2262). Label names and values must be UTF-8; lines are bytes as sent.
public enum PushProtobufDecoder {
    public static func decode(_ bytes: [UInt8]) throws(PushDecodeError) -> PushRequest {
        try bytes.withUnsafeBufferPointer { (buffer) throws(PushDecodeError) in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return PushRequest() }
            return try ProtobufPushReader(bytes: bytes, base: base).decodeRequest(count: buffer.count)
        }
    }
}

/// The message names used in error texts, and the texts of `ProtobufReader`'s failures, worded like Go's protobuf
/// errors.
private enum ProtoMessage: String, ProtobufDecoderMessage {
    case pushRequest = "PushRequest"
    case streamAdapter = "StreamAdapter"
    case entryAdapter = "EntryAdapter"
    case timestamp = "Timestamp"
    case labelPairAdapter = "LabelPairAdapter"

    func error(_ failure: ProtobufReadFailure, at offset: Int) -> PushDecodeError {
        PushDecodeError(message: "proto: PushRequest: \(failure.reason(in: rawValue)) at byte \(offset)")
    }
}

/// Reads one `PushRequest` out of memory owned by `bytes`, which must stay alive (and unmodified) while the reader
/// is in use: `PushProtobufDecoder.decode` guarantees this by reading inside `bytes.withUnsafeBufferPointer`.
private struct ProtobufPushReader {
    let bytes: [UInt8]
    let base: UnsafePointer<UInt8>

    private func makeReader(_ range: Range<Int>, _ message: ProtoMessage) -> ProtobufReader<ProtoMessage> {
        ProtobufReader(base: base, range: range, message: message)
    }

    func decodeRequest(count: Int) throws(PushDecodeError) -> PushRequest {
        var streams: [PushStream] = []
        var reader = makeReader(0..<count, .pushRequest)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            if tag.field == 1 {
                streams.append(try decodeStream(try reader.lengthDelimited(tag, "streams")))
            } else {
                try reader.skipField(tag)
            }
        }
        return PushRequest(streams: streams)
    }

    private func decodeStream(_ range: Range<Int>) throws(PushDecodeError) -> PushStream {
        var labels = ""
        var entries: [PushEntry] = []
        var reader = makeReader(range, .streamAdapter)
        entries.reserveCapacity(reader.countFields(tagged: 0x12, from: range.lowerBound))
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                labels = try reader.string(tag, "labels")
            case 2:
                entries.append(try decodeEntry(try reader.lengthDelimited(tag, "entries")))
            case 3:
                _ = try reader.varint(tag, "hash")
            default:
                try reader.skipField(tag)
            }
        }
        return PushStream(labels: labels, entries: entries)
    }

    private func decodeEntry(_ range: Range<Int>) throws(PushDecodeError) -> PushEntry {
        // Repeated occurrences of the timestamp merge, as protobuf specifies: later fields overwrite earlier ones.
        var seconds: Int64 = 0
        var nanos: Int32 = 0
        var line = 0..<0
        var metadata: [LabelPair] = []
        var reader = makeReader(range, .entryAdapter)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                try decodeTimestamp(try reader.lengthDelimited(tag, "timestamp"), seconds: &seconds, nanos: &nanos)
            case 2:
                line = try reader.lengthDelimited(tag, "line")
            case 3:
                metadata.append(try decodeLabelPair(try reader.lengthDelimited(tag, "structuredMetadata")))
            default:
                try reader.skipField(tag)
            }
        }
        guard nanos >= 0 && nanos < 1_000_000_000 else {
            throw PushDecodeError(message: "proto: PushRequest: timestamp nanos \(nanos) not in range [0, 1e9) "
                + "in EntryAdapter at byte \(range.lowerBound)")
        }
        // Borrow a second for negative instants so that Int64.min itself stays representable.
        let (wholeSeconds, fraction) = seconds < 0 && nanos > 0
            ? (seconds + 1, Int64(nanos) - 1_000_000_000)
            : (seconds, Int64(nanos))
        let (scaled, overflowMultiply) = wholeSeconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (timestamp, overflowAdd) = scaled.addingReportingOverflow(fraction)
        guard !overflowMultiply && !overflowAdd else {
            throw PushDecodeError(message: "proto: PushRequest: timestamp seconds \(seconds) out of range "
                + "(nanoseconds since 1970 must fit in 64 bits) in EntryAdapter at byte \(range.lowerBound)")
        }
        return PushEntry(timestamp: timestamp, line: bytes[line], structuredMetadata: metadata)
    }

    private func decodeTimestamp(_ range: Range<Int>, seconds: inout Int64, nanos: inout Int32)
        throws(PushDecodeError)
    {
        var reader = makeReader(range, .timestamp)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                seconds = Int64(bitPattern: try reader.varint(tag, "seconds"))
            case 2:
                nanos = Int32(truncatingIfNeeded: try reader.varint(tag, "nanos"))
            default:
                try reader.skipField(tag)
            }
        }
    }

    private func decodeLabelPair(_ range: Range<Int>) throws(PushDecodeError) -> LabelPair {
        var name = ""
        var value = ""
        var reader = makeReader(range, .labelPairAdapter)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                name = try reader.string(tag, "name")
            case 2:
                value = try reader.string(tag, "value")
            default:
                try reader.skipField(tag)
            }
        }
        return LabelPair(name: name, value: value)
    }
}
