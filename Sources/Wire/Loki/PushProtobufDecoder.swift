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
        // `withUnsafeBytes` only rethrows untyped errors, so the typed error travels out in a Result.
        let result = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<PushRequest, PushDecodeError> in
            guard let base = raw.baseAddress, raw.count > 0 else { return .success(PushRequest()) }
            let reader = ProtobufPushReader(bytes: bytes, base: base.assumingMemoryBound(to: UInt8.self))
            do throws(PushDecodeError) {
                return .success(try reader.decodeRequest(count: raw.count))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The message names used in error texts, so they read like Go's protobuf errors.
private enum ProtoMessage: String {
    case pushRequest = "PushRequest"
    case streamAdapter = "StreamAdapter"
    case entryAdapter = "EntryAdapter"
    case timestamp = "Timestamp"
    case labelPairAdapter = "LabelPairAdapter"
}

private enum WireType: UInt8 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

/// Reads one `PushRequest` out of memory owned by `bytes`, which must stay alive (and unmodified) while the reader
/// is in use: `PushProtobufDecoder.decode` guarantees this by reading inside `bytes.withUnsafeBytes`.
private struct ProtobufPushReader {
    let bytes: [UInt8]
    let base: UnsafePointer<UInt8>

    /// Deeper group nesting than this in unknown fields is rejected rather than recursed into.
    static let maxGroupDepth = 64

    // MARK: Messages

    func decodeRequest(count: Int) throws(PushDecodeError) -> PushRequest {
        var streams: [PushStream] = []
        var position = 0
        while position < count {
            let tagOffset = position
            let (field, wire) = try readTag(&position, end: count, in: .pushRequest)
            if field == 1 {
                try expect(wire, .lengthDelimited, field: 1, name: "streams", in: .pushRequest, at: tagOffset)
                let body = try readLengthDelimited(&position, end: count, field: 1, in: .pushRequest)
                streams.append(try decodeStream(body))
            } else {
                try skipField(field: field, wire: wire, &position, end: count, in: .pushRequest, at: tagOffset)
            }
        }
        return PushRequest(streams: streams)
    }

    private func decodeStream(_ range: Range<Int>) throws(PushDecodeError) -> PushStream {
        var labels = ""
        var entries: [PushEntry] = []
        entries.reserveCapacity(countEntries(range))
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tagOffset = position
            let (field, wire) = try readTag(&position, end: end, in: .streamAdapter)
            switch field {
            case 1:
                try expect(wire, .lengthDelimited, field: 1, name: "labels", in: .streamAdapter, at: tagOffset)
                let text = try readLengthDelimited(&position, end: end, field: 1, in: .streamAdapter)
                labels = try makeString(text, field: 1, name: "labels", in: .streamAdapter)
            case 2:
                try expect(wire, .lengthDelimited, field: 2, name: "entries", in: .streamAdapter, at: tagOffset)
                let body = try readLengthDelimited(&position, end: end, field: 2, in: .streamAdapter)
                entries.append(try decodeEntry(body))
            case 3:
                try expect(wire, .varint, field: 3, name: "hash", in: .streamAdapter, at: tagOffset)
                _ = try readVarint(&position, end: end, field: 3, in: .streamAdapter)
            default:
                try skipField(field: field, wire: wire, &position, end: end, in: .streamAdapter, at: tagOffset)
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
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tagOffset = position
            let (field, wire) = try readTag(&position, end: end, in: .entryAdapter)
            switch field {
            case 1:
                try expect(wire, .lengthDelimited, field: 1, name: "timestamp", in: .entryAdapter, at: tagOffset)
                let body = try readLengthDelimited(&position, end: end, field: 1, in: .entryAdapter)
                try decodeTimestamp(body, seconds: &seconds, nanos: &nanos)
            case 2:
                try expect(wire, .lengthDelimited, field: 2, name: "line", in: .entryAdapter, at: tagOffset)
                line = try readLengthDelimited(&position, end: end, field: 2, in: .entryAdapter)
            case 3:
                try expect(wire, .lengthDelimited, field: 3, name: "structuredMetadata", in: .entryAdapter,
                           at: tagOffset)
                let body = try readLengthDelimited(&position, end: end, field: 3, in: .entryAdapter)
                metadata.append(try decodeLabelPair(body))
            default:
                try skipField(field: field, wire: wire, &position, end: end, in: .entryAdapter, at: tagOffset)
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
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tagOffset = position
            let (field, wire) = try readTag(&position, end: end, in: .timestamp)
            switch field {
            case 1:
                try expect(wire, .varint, field: 1, name: "seconds", in: .timestamp, at: tagOffset)
                seconds = Int64(bitPattern: try readVarint(&position, end: end, field: 1, in: .timestamp))
            case 2:
                try expect(wire, .varint, field: 2, name: "nanos", in: .timestamp, at: tagOffset)
                nanos = Int32(truncatingIfNeeded: try readVarint(&position, end: end, field: 2, in: .timestamp))
            default:
                try skipField(field: field, wire: wire, &position, end: end, in: .timestamp, at: tagOffset)
            }
        }
    }

    private func decodeLabelPair(_ range: Range<Int>) throws(PushDecodeError) -> LabelPair {
        var name = ""
        var value = ""
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tagOffset = position
            let (field, wire) = try readTag(&position, end: end, in: .labelPairAdapter)
            switch field {
            case 1:
                try expect(wire, .lengthDelimited, field: 1, name: "name", in: .labelPairAdapter, at: tagOffset)
                let text = try readLengthDelimited(&position, end: end, field: 1, in: .labelPairAdapter)
                name = try makeString(text, field: 1, name: "name", in: .labelPairAdapter)
            case 2:
                try expect(wire, .lengthDelimited, field: 2, name: "value", in: .labelPairAdapter, at: tagOffset)
                let text = try readLengthDelimited(&position, end: end, field: 2, in: .labelPairAdapter)
                value = try makeString(text, field: 2, name: "value", in: .labelPairAdapter)
            default:
                try skipField(field: field, wire: wire, &position, end: end, in: .labelPairAdapter, at: tagOffset)
            }
        }
        return LabelPair(name: name, value: value)
    }

    /// Counts the `entries` fields of a stream so its array is allocated once. Best effort: it stops at the
    /// first malformed byte and leaves reporting it to the decoding pass.
    private func countEntries(_ range: Range<Int>) -> Int {
        var count = 0
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            guard let tag = peekVarint(&position, end: end) else { return count }
            switch tag & 7 {
            case 0:
                guard peekVarint(&position, end: end) != nil else { return count }
            case 1:
                position += 8
            case 2:
                guard let length = peekVarint(&position, end: end), length <= UInt64(end - position) else {
                    return count
                }
                position += Int(length)
                if tag == 0x12 { count += 1 }
            case 5:
                position += 4
            default:
                return count
            }
        }
        return count
    }

    // MARK: Wire primitives

    @inline(__always)
    private func readTag(_ position: inout Int, end: Int, in message: ProtoMessage) throws(PushDecodeError)
        -> (field: Int, wire: WireType)
    {
        let offset = position
        var tag: UInt64
        if position < end && base[position] < 0x80 {
            tag = UInt64(base[position])
            position += 1
        } else {
            guard let value = peekVarint(&position, end: end) else {
                throw PushDecodeError(message: "proto: PushRequest: unexpected EOF in a field tag of \(message.rawValue) "
                    + "at byte \(offset)")
            }
            tag = value
        }
        let field = tag >> 3
        guard field > 0, tag <= UInt64(UInt32.max) else {
            throw PushDecodeError(message: "proto: PushRequest: illegal tag \(tag) (field number \(field)) "
                + "in \(message.rawValue) at byte \(offset)")
        }
        guard let wire = WireType(rawValue: UInt8(tag & 7)) else {
            throw PushDecodeError(message: "proto: PushRequest: illegal wire type \(tag & 7) for field \(field) "
                + "of \(message.rawValue) at byte \(offset)")
        }
        return (Int(field), wire)
    }

    @inline(__always)
    private func expect(_ wire: WireType, _ expected: WireType, field: Int, name: StaticString,
                        in message: ProtoMessage, at offset: Int) throws(PushDecodeError)
    {
        guard wire == expected else {
            throw PushDecodeError(message: "proto: PushRequest: wrong wire type \(wire.rawValue) for field \(field) "
                + "(\(name)) of \(message.rawValue) at byte \(offset), expected \(expected.rawValue)")
        }
    }

    /// Reads a varint; nil when it is truncated or longer than 10 bytes. Like Go's protobuf code (and
    /// SwiftProtobuf), bits beyond 64 in the tenth byte are dropped rather than rejected.
    @inline(__always)
    private func peekVarint(_ position: inout Int, end: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var current = position
        while current < end {
            let byte = base[current]
            current += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                position = current
                return result
            }
            shift += 7
            if shift >= 70 { return nil }
        }
        return nil
    }

    @inline(__always)
    private func readVarint(_ position: inout Int, end: Int, field: Int, in message: ProtoMessage)
        throws(PushDecodeError) -> UInt64
    {
        if position < end && base[position] < 0x80 {
            defer { position += 1 }
            return UInt64(base[position])
        }
        let offset = position
        guard let value = peekVarint(&position, end: end) else {
            throw varintFailure(at: offset, end: end, field: field, in: message)
        }
        return value
    }

    private func varintFailure(at offset: Int, end: Int, field: Int, in message: ProtoMessage) -> PushDecodeError {
        var current = offset
        while current < end && current - offset < 10 && base[current] >= 0x80 { current += 1 }
        let problem = current - offset >= 10 ? "varint overflows 64 bits (longer than 10 bytes)" : "unexpected EOF"
        return PushDecodeError(message: "proto: PushRequest: \(problem) in field \(field) of \(message.rawValue) "
            + "at byte \(offset)")
    }

    /// Reads a length prefix and returns the byte range it covers, which must lie within `end`.
    @inline(__always)
    private func readLengthDelimited(_ position: inout Int, end: Int, field: Int, in message: ProtoMessage)
        throws(PushDecodeError) -> Range<Int>
    {
        let offset = position
        let length = try readVarint(&position, end: end, field: field, in: message)
        guard length <= UInt64(end - position) else {
            throw PushDecodeError(message: "proto: PushRequest: unexpected EOF in field \(field) of "
                + "\(message.rawValue) at byte \(offset): length \(length) exceeds the \(end - position) bytes left")
        }
        let start = position
        position += Int(length)
        return start..<position
    }

    private func makeString(_ range: Range<Int>, field: Int, name: StaticString, in message: ProtoMessage)
        throws(PushDecodeError) -> String
    {
        if range.isEmpty { return "" }
        let buffer = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
        guard let string = String(validating: buffer, as: UTF8.self) else {
            throw PushDecodeError(message: "proto: PushRequest: invalid UTF-8 in field \(field) (\(name)) of "
                + "\(message.rawValue) at byte \(range.lowerBound)")
        }
        return string
    }

    /// Skips a field this decoder does not know, of any wire type (groups included, nested up to a limit).
    private func skipField(field: Int, wire: WireType, _ position: inout Int, end: Int, in message: ProtoMessage,
                           at offset: Int, depth: Int = 0) throws(PushDecodeError)
    {
        func truncated() -> PushDecodeError {
            PushDecodeError(message: "proto: PushRequest: unexpected EOF in field \(field) of \(message.rawValue) "
                + "at byte \(offset)")
        }
        switch wire {
        case .varint:
            _ = try readVarint(&position, end: end, field: field, in: message)
        case .fixed64:
            guard end - position >= 8 else { throw truncated() }
            position += 8
        case .fixed32:
            guard end - position >= 4 else { throw truncated() }
            position += 4
        case .lengthDelimited:
            _ = try readLengthDelimited(&position, end: end, field: field, in: message)
        case .startGroup:
            guard depth < Self.maxGroupDepth else {
                throw PushDecodeError(message: "proto: PushRequest: groups nested deeper than \(Self.maxGroupDepth) "
                    + "in field \(field) of \(message.rawValue) at byte \(offset)")
            }
            while true {
                guard position < end else {
                    throw PushDecodeError(message: "proto: PushRequest: unexpected EOF in group (field \(field)) "
                        + "of \(message.rawValue) at byte \(offset): no end-group tag")
                }
                let innerOffset = position
                let (innerField, innerWire) = try readTag(&position, end: end, in: message)
                if innerWire == .endGroup {
                    guard innerField == field else {
                        throw PushDecodeError(message: "proto: PushRequest: end-group tag for field \(innerField) "
                            + "does not match the group of field \(field) in \(message.rawValue) at byte \(innerOffset)")
                    }
                    return
                }
                try skipField(field: innerField, wire: innerWire, &position, end: end, in: message, at: innerOffset,
                              depth: depth + 1)
            }
        case .endGroup:
            throw PushDecodeError(message: "proto: PushRequest: unexpected end-group tag for field \(field) "
                + "in \(message.rawValue) at byte \(offset)")
        }
    }
}
