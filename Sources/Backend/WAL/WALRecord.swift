import Wire

/// What the ingester writes to its write-ahead log before it acknowledges a push, and to its checkpoints.
///
/// Every entry an ingester accepts gets a counter, unique in the ingester and increasing along each stream's
/// entries (a process restarting from its WAL continues after the largest counter it replayed). Counters let replay
/// skip what a checkpoint already holds and what was flushed to the store.
enum WALRecord: Sendable {
    /// A stream of `tenant`, known by `fingerprint` in the records that follow. `last` is the counter of the stream's
    /// newest entry when the record was written: 0 when a push created the stream, the newest entry held in memory
    /// when a checkpoint wrote it.
    case series(tenant: String, fingerprint: UInt64, labels: String, last: Int64)
    /// Entries appended to the stream `fingerprint` of `tenant`, in the order they were appended, with counters
    /// `counter`, `counter + 1`, ... In a checkpoint, the stream's head chunk, whose first entry has `counter`.
    case entries(tenant: String, fingerprint: UInt64, counter: Int64, entries: [PushEntry])
    /// The stream's entries with counters in `counters` are in a chunk that is now in the store: replay skips them.
    case flushed(tenant: String, fingerprint: UInt64, counters: ClosedRange<Int64>)
    /// A closed chunk not yet flushed, as its stored object (checkpoints only), holding the entries `counters`.
    case chunk(ref: ChunkRef, counters: ClosedRange<Int64>, reason: FlushReason, bytes: [UInt8])
}

/// How records are laid out in a segment file.
///
/// A segment is a sequence of frames: the length of the body (4 bytes, big-endian), the CRC-32C of the body (4
/// bytes, big-endian), then the body: a type byte and the record. A frame is written whole with one `write(2)` of
/// a whole group of frames, but a crash or a full disk can still leave a torn frame at the end of the last segment;
/// the reader stops at the first frame whose length runs past the file or whose checksum does not match.
///
/// Records (integers as `ByteWriter` writes them: unsigned and zig-zag varints, big-endian fixed width). Each starts
/// with its type byte, the tenant (length, bytes) and the stream's fingerprint (8 bytes); then
/// - series (type 1): labels (length, bytes), last counter;
/// - entries (type 2): first counter, entry count; each entry: timestamp (zig-zag varint), line (length, bytes),
///   structured metadata count, then each name and value (length, bytes);
/// - flushed (type 3): first and last counter;
/// - chunk (type 4): first and last counter, flush reason (length, bytes), from and through (milliseconds),
///   checksum (4 bytes), entry count, raw line bytes, then the chunk object (length, bytes).
enum WALFrame {
    static let headerSize = 8
    /// The largest body a reader accepts: larger lengths are corruption (no push makes a record this big).
    static let maxBodySize = 1 << 30

    private static let seriesType: UInt8 = 1
    private static let entriesType: UInt8 = 2
    static let flushedType: UInt8 = 3
    private static let chunkType: UInt8 = 4

    /// Appends one frame holding `record` to `out`.
    static func append(_ record: WALRecord, to out: inout ByteWriter) {
        let start = out.count
        out.be32(0)   // length and checksum, filled in below
        out.be32(0)
        switch record {
        case .series(let tenant, let fingerprint, let labels, let last):
            out.byte(seriesType)
            text(tenant, to: &out)
            out.be64(fingerprint)
            text(labels, to: &out)
            out.varint(last)
        case .entries(let tenant, let fingerprint, let counter, let entries):
            out.byte(entriesType)
            text(tenant, to: &out)
            out.be64(fingerprint)
            out.varint(counter)
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
        case .flushed(let tenant, let fingerprint, let counters):
            out.byte(flushedType)
            text(tenant, to: &out)
            out.be64(fingerprint)
            out.varint(counters.lowerBound)
            out.varint(counters.upperBound)
        case .chunk(let ref, let counters, let reason, let bytes):
            out.byte(chunkType)
            text(ref.tenant, to: &out)
            out.be64(ref.fingerprint)
            out.varint(counters.lowerBound)
            out.varint(counters.upperBound)
            text(reason.rawValue, to: &out)
            out.varint(ref.from)
            out.varint(ref.through)
            out.be32(ref.checksum)
            out.uvarint(ref.entries)
            out.uvarint(ref.uncompressedSize)
            out.uvarint(bytes.count)
            out.append(bytes)
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
    ///
    /// With `only`, frames of other record types are stepped over by their length without being checked or
    /// decoded: a quick pass for one kind of record, which stops at a length that runs past the end.
    static func read(
        _ bytes: UnsafeRawBufferPointer, only: UInt8? = nil, _ body: (WALRecord) throws -> Void
    ) rethrows -> Damage? {
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
            if let only, frame[0] != only {
                offset = bodyStart + length
                continue
            }
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
        let record: WALRecord
        switch type {
        case seriesType:
            let labels = try reader.string(try reader.length("labels length", limit: reader.remaining), "labels")
            record = .series(tenant: tenant, fingerprint: fingerprint, labels: labels, last: try reader.varint("last"))
        case entriesType:
            let counter = try reader.varint("counter")
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
            record = .entries(tenant: tenant, fingerprint: fingerprint, counter: counter, entries: entries)
        case flushedType:
            record = .flushed(tenant: tenant, fingerprint: fingerprint, counters: try counters(&reader))
        case chunkType:
            let counters = try counters(&reader)
            let reasonText = try reader.string(try reader.length("reason length", limit: reader.remaining), "reason")
            guard let reason = FlushReason(rawValue: reasonText) else {
                throw ByteReader.Truncated(what: "flush reason \(reasonText)", offset: reader.offset)
            }
            let from = try reader.varint("from")
            let through = try reader.varint("through")
            let checksum = try reader.be32("checksum")
            let entries = try reader.length("entry count", limit: .max)
            let uncompressed = try reader.length("uncompressed size", limit: .max)
            let bytes = Array(try reader.bytes(try reader.length("chunk length", limit: reader.remaining), "chunk"))
            let ref = ChunkRef(tenant: tenant, fingerprint: fingerprint, from: from, through: through,
                               checksum: checksum, size: bytes.count, entries: entries, uncompressedSize: uncompressed)
            record = .chunk(ref: ref, counters: counters, reason: reason, bytes: bytes)
        default:
            throw ByteReader.Truncated(what: "record type \(type)", offset: 0)
        }
        guard reader.isAtEnd else { throw ByteReader.Truncated(what: "record end", offset: reader.offset) }
        return record
    }

    private static func counters(_ reader: inout ByteReader) throws(ByteReader.Truncated) -> ClosedRange<Int64> {
        let first = try reader.varint("first counter")
        let last = try reader.varint("last counter")
        guard first <= last else { throw ByteReader.Truncated(what: "counter range \(first)...\(last)", offset: reader.offset) }
        return first...last
    }
}
