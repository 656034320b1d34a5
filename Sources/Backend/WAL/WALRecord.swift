import Wire

/// What the ingester writes to its write-ahead log before it acknowledges a push: a stream's labels the first time
/// a segment mentions the stream, then the entries appended to it.
enum WALRecord: Sendable {
    /// A stream of `tenant`, known by `fingerprint` in the entries records that follow.
    case series(tenant: String, fingerprint: UInt64, labels: String)
    /// Entries appended to the stream `fingerprint` of `tenant`, in the order they were appended.
    case entries(tenant: String, fingerprint: UInt64, entries: [PushEntry])
}

/// How records are laid out in a segment file.
///
/// A segment is a sequence of frames: the length of the body (4 bytes, big-endian), the CRC-32C of the body (4
/// bytes, big-endian), then the body: a type byte and the record. A frame is written whole with one `write(2)` of
/// a whole group of frames, but a crash or a full disk can still leave a torn frame at the end of the last segment;
/// the reader stops at the first frame whose length runs past the file or whose checksum does not match.
///
/// Records (integers as `ByteWriter` writes them: unsigned and zig-zag varints, big-endian fixed width):
/// - series (type 1): tenant (length, bytes), fingerprint (8 bytes), labels (length, bytes);
/// - entries (type 2): tenant, fingerprint, entry count; each entry: timestamp (zig-zag varint), line (length,
///   bytes), structured metadata count, then each name and value (length, bytes).
enum WALFrame {
    static let headerSize = 8
    /// The largest body a reader accepts: larger lengths are corruption (no push makes a record this big).
    static let maxBodySize = 1 << 30

    private static let seriesType: UInt8 = 1
    private static let entriesType: UInt8 = 2

    /// Appends one frame holding `record` to `out`.
    static func append(_ record: WALRecord, to out: inout ByteWriter) {
        let start = out.count
        out.be32(0)   // length and checksum, filled in below
        out.be32(0)
        switch record {
        case .series(let tenant, let fingerprint, let labels):
            out.byte(seriesType)
            text(tenant, to: &out)
            out.be64(fingerprint)
            text(labels, to: &out)
        case .entries(let tenant, let fingerprint, let entries):
            out.byte(entriesType)
            text(tenant, to: &out)
            out.be64(fingerprint)
            out.uvarint(entries.count)
            for entry in entries {
                out.varint(entry.timestamp)
                out.uvarint(entry.line.count)
                out.append(entry.line)
                out.uvarint(entry.structuredMetadata.count)
                for pair in entry.structuredMetadata {
                    text(pair.name, to: &out)
                    text(pair.value, to: &out)
                }
            }
        }
        let bodyStart = start + headerSize
        let length = out.count - bodyStart
        let checksum = out.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        out.bytes.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt32(length).bigEndian, toByteOffset: start, as: UInt32.self)
            bytes.storeBytes(of: checksum.bigEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    private static func text(_ value: String, to out: inout ByteWriter) {
        var value = value
        value.withUTF8 { utf8 in
            out.uvarint(utf8.count)
            out.append(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Why reading a segment stopped before its end.
    struct Damage: Error, Equatable, CustomStringConvertible {
        /// Where the first frame that could not be read starts: everything before it is whole.
        let offset: Int
        let reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Reads the frames of one segment in order, handing each record to `body`. Returns the damage that stopped it
    /// early, or nil when every byte was read. Never traps on any input.
    static func read(_ bytes: UnsafeRawBufferPointer, _ body: (WALRecord) throws -> Void) rethrows -> Damage? {
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= headerSize else {
                return Damage(offset: offset, reason: "torn frame header (\(bytes.count - offset) of \(headerSize) bytes)")
            }
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).bigEndian)
            let checksum = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).bigEndian
            let bodyStart = offset + headerSize
            guard length > 0, length <= maxBodySize else {
                return Damage(offset: offset, reason: "invalid frame length \(length)")
            }
            guard length <= bytes.count - bodyStart else {
                return Damage(offset: offset, reason: "torn frame (\(bytes.count - bodyStart) of \(length) bytes)")
            }
            let frame = UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyStart + length])
            guard CRC32C.checksum(frame) == checksum else {
                return Damage(offset: offset, reason: "checksum mismatch")
            }
            let record: WALRecord
            do throws(ByteReader.Truncated) {
                record = try decode(frame)
            } catch {
                return Damage(offset: offset, reason: "undecodable record: \(error)")
            }
            try body(record)
            offset = bodyStart + length
        }
        return nil
    }

    private static func decode(_ frame: UnsafeRawBufferPointer) throws(ByteReader.Truncated) -> WALRecord {
        var reader = ByteReader(frame)
        let type = try reader.byte("record type")
        let tenant = try reader.string(try reader.length("tenant length", limit: reader.remaining), "tenant")
        let fingerprint = try reader.be64("fingerprint")
        switch type {
        case seriesType:
            let labels = try reader.string(try reader.length("labels length", limit: reader.remaining), "labels")
            guard reader.isAtEnd else { throw ByteReader.Truncated(what: "series record end", offset: reader.offset) }
            return .series(tenant: tenant, fingerprint: fingerprint, labels: labels)
        case entriesType:
            // Every entry takes at least three bytes, so a count larger than that allows is corruption, not a
            // reason to reserve memory.
            let count = try reader.length("entry count", limit: reader.remaining / 3)
            var entries: [PushEntry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let timestamp = try reader.varint("timestamp")
                let line = try reader.bytes(try reader.length("line length", limit: reader.remaining), "line")
                let pairs = try reader.length("metadata count", limit: reader.remaining / 2)
                var metadata: [LabelPair] = []
                if pairs > 0 { metadata.reserveCapacity(pairs) }
                for _ in 0..<pairs {
                    let name = try reader.string(try reader.length("metadata name length", limit: reader.remaining))
                    let value = try reader.string(try reader.length("metadata value length", limit: reader.remaining))
                    metadata.append(LabelPair(name: name, value: value))
                }
                entries.append(PushEntry(timestamp: timestamp, line: ArraySlice(line), structuredMetadata: metadata))
            }
            guard reader.isAtEnd else { throw ByteReader.Truncated(what: "entries record end", offset: reader.offset) }
            return .entries(tenant: tenant, fingerprint: fingerprint, entries: entries)
        default:
            throw ByteReader.Truncated(what: "record type \(type)", offset: 0)
        }
    }
}
