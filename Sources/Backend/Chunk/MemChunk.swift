import Wire

/// One stream's chunk in Loki's v4 format: compressed blocks of entries plus a head block being appended to, and
/// the chunk-wide symbol table of structured metadata.
///
/// The head keeps entries already serialised the way a block stores them (`varint ts | uvarint len | line |
/// uvarint metadata length | metadata symbols`), so appending is a few byte copies and cutting a block is one
/// compression call. See `docs/storage.md` for the byte layout.
///
/// Not synchronised: an ingester's chunk is used only under its stream's shard lock; a chunk decoded for a query
/// belongs to that query.
// @unchecked Sendable invariant: one owner at a time (its stream's shard lock, or the one query task reading it).
public final class MemChunk: @unchecked Sendable {
    /// A cut block: compressed serialised entries and what the block meta records about them.
    struct Block {
        var data: [UInt8]
        var entries: Int
        var mint: Int64
        var maxt: Int64
        var uncompressedSize: Int
    }

    /// Longest line a chunk accepts (Loki's `maxLineLength`).
    static let maxLineLength = 1 << 30

    public let encoding: ChunkEncoding
    let blockSize: Int
    let targetSize: Int
    private(set) var blocks: [Block] = []
    /// Compressed bytes of all cut blocks.
    private var cutBlockSize = 0

    private var head = ByteWriter()
    private var headEntries = 0
    /// Loki's head size accounting: line bytes plus structured metadata bytes.
    private var headSize = 0
    private var headMin: Int64 = .max
    private var headMax: Int64 = .min
    private var headOrdered = true

    /// Structured metadata names and values, each stored once per chunk; entries refer to them by index.
    private(set) var symbols: [String] = []
    private var symbolIDs: [String: UInt32] = [:]

    public init(encoding: ChunkEncoding, blockSize: Int, targetSize: Int) {
        self.encoding = encoding
        self.blockSize = max(1, blockSize)
        self.targetSize = targetSize
    }

    init(encoding: ChunkEncoding, blocks: [Block], symbols: [String]) {
        self.encoding = encoding
        self.blockSize = 262_144
        self.targetSize = 0
        self.blocks = blocks
        self.symbols = symbols
        self.cutBlockSize = blocks.reduce(0) { $0 + $1.data.count }
    }

    // MARK: Writing

    public enum AppendError: Error, CustomStringConvertible {
        case lineTooLong(Int)

        public var description: String {
            switch self {
            case .lineTooLong(let size): "line of \(size) bytes exceeds the chunk limit of \(MemChunk.maxLineLength) bytes"
            }
        }
    }

    /// Appends one entry, in any time order. Returns true when the head was cut into a block.
    @discardableResult
    public func append(timestamp: Int64, line: ArraySlice<UInt8>, structuredMetadata: [LabelPair]) throws -> Bool {
        guard line.count <= Self.maxLineLength else { throw AppendError.lineTooLong(line.count) }
        if headEntries > 0 && timestamp < headMax { headOrdered = false }
        head.varint(timestamp)
        head.uvarint(line.count)
        head.append(line)
        var metadataBytes = 0
        if structuredMetadata.isEmpty {
            head.byte(1)   // section length
            head.byte(0)   // no symbols
        } else {
            var section = ByteWriter(capacity: 1 + structuredMetadata.count * 4)
            section.uvarint(structuredMetadata.count)
            for pair in structuredMetadata {
                section.uvarint(UInt64(symbol(pair.name)))
                section.uvarint(UInt64(symbol(pair.value)))
                metadataBytes += pair.name.utf8.count + pair.value.utf8.count
            }
            head.uvarint(section.count)
            head.append(section.bytes)
        }
        headEntries += 1
        headSize += line.count + metadataBytes
        headMin = min(headMin, timestamp)
        headMax = max(headMax, timestamp)
        if headSize >= blockSize {
            cut()
            return true
        }
        return false
    }

    private func symbol(_ text: String) -> UInt32 {
        if let id = symbolIDs[text] { return id }
        let id = UInt32(symbols.count)
        symbols.append(text)
        symbolIDs[text] = id
        return id
    }

    /// Whether an entry of `lineBytes` still fits under the chunk's target size (Loki's `SpaceFor`).
    public func spaceFor(lineBytes: Int) -> Bool {
        if targetSize > 0 {
            return cutBlockSize + headSize + lineBytes < targetSize
        }
        return blocks.count < 10
    }

    public var entryCount: Int { blocks.reduce(headEntries) { $0 + $1.entries } }

    /// Raw line and metadata bytes held, compressed blocks counted at their uncompressed size.
    public var uncompressedSize: Int { blocks.reduce(headSize) { $0 + $1.uncompressedSize } }

    /// Oldest and newest entry timestamps (nanoseconds); (.max, .min) when empty.
    public var bounds: (from: Int64, through: Int64) {
        blocks.reduce((headMin, headMax)) { (min($0.0, $1.mint), max($0.1, $1.maxt)) }
    }

    /// Compresses the head into a block.
    func cut() {
        guard headEntries > 0 else { return }
        if !headOrdered { sortHead() }
        let data = head.bytes.withUnsafeBytes { encoding.compress($0) }
        blocks.append(Block(data: data, entries: headEntries, mint: headMin, maxt: headMax, uncompressedSize: headSize))
        cutBlockSize += data.count
        head = ByteWriter(capacity: min(head.bytes.capacity, blockSize + blockSize / 4))
        headEntries = 0
        headSize = 0
        headMin = .max
        headMax = .min
        headOrdered = true
    }

    /// Cuts the head so every entry is in a block. Blocks may overlap in time when entries arrived out of order;
    /// readers merge them (as Loki's iterators do), so closing never recompresses the chunk.
    func close() {
        cut()
    }

    /// Rewrites the head with its entries in time order (stable for equal timestamps).
    private func sortHead() {
        var spans: [EntrySpan] = []
        spans.reserveCapacity(headEntries)
        head.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            while !reader.isAtEnd, let span = try? EntrySpan.read(&reader) { spans.append(span) }
        }
        spans.sort { $0.timestamp < $1.timestamp }
        var sorted = ByteWriter(capacity: head.bytes.count)
        head.bytes.withUnsafeBytes { raw in
            for span in spans { sorted.append(UnsafeRawBufferPointer(rebasing: raw[span.start..<span.end])) }
        }
        head = sorted
        headOrdered = true
    }

    // MARK: Reading

    /// Calls `body` for each entry with `from <= timestamp < through`, oldest first for `.forward` and newest first
    /// for `.backward`, until `body` returns false. The line buffer is only valid during the call.
    public func forEachEntry(
        from: Int64, through: Int64, direction: Direction,
        _ body: (Int64, UnsafeRawBufferPointer, [LabelPair]) throws -> Bool
    ) throws {
        var sources: [[UInt8]] = []
        var lastMax = Int64.min
        var ordered = true
        for block in blocks where block.maxt >= from && block.mint < through {
            if block.mint < lastMax { ordered = false }
            lastMax = max(lastMax, block.maxt)
            let limit = block.uncompressedSize + block.entries * 24 + 64
            do {
                sources.append(try block.data.withUnsafeBytes { try encoding.decompress($0, maxLength: limit) })
            } catch {
                throw ChunkFormatError.corruptBlock("\(error)")
            }
        }
        if headEntries > 0 && headMax >= from && headMin < through {
            if headMin < lastMax || !headOrdered { ordered = false }
            sources.append(head.bytes)
        }
        if ordered {
            let ordering = direction == .forward ? Array(sources.indices) : sources.indices.reversed()
            for index in ordering {
                let keepGoing = try sources[index].withUnsafeBytes { raw in
                    try visit(raw, from: from, through: through, direction: direction, body)
                }
                if !keepGoing { return }
            }
            return
        }
        // Overlapping blocks (entries arrived out of order): merge by timestamp across all of them.
        var spans: [(source: Int, span: EntrySpan)] = []
        for (index, source) in sources.enumerated() {
            try source.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                while !reader.isAtEnd {
                    let span = try EntrySpan.read(&reader)
                    if span.timestamp >= from && span.timestamp < through { spans.append((index, span)) }
                }
            }
        }
        spans.sort { direction == .forward ? $0.span.timestamp < $1.span.timestamp : $0.span.timestamp > $1.span.timestamp }
        for item in spans {
            let keepGoing = try sources[item.source].withUnsafeBytes { raw in
                try item.span.deliver(raw, symbols: symbols, body)
            }
            if !keepGoing { return }
        }
    }

    /// Visits one serialised block's entries in the given direction. Returns false once `body` asked to stop.
    private func visit(
        _ raw: UnsafeRawBufferPointer, from: Int64, through: Int64, direction: Direction,
        _ body: (Int64, UnsafeRawBufferPointer, [LabelPair]) throws -> Bool
    ) throws -> Bool {
        var reader = ByteReader(raw)
        if direction == .forward {
            while !reader.isAtEnd {
                let span = try EntrySpan.read(&reader)
                if span.timestamp < from { continue }
                if span.timestamp >= through { return true }
                if try !span.deliver(raw, symbols: symbols, body) { return false }
            }
            return true
        }
        var spans: [EntrySpan] = []
        while !reader.isAtEnd {
            let span = try EntrySpan.read(&reader)
            if span.timestamp >= from && span.timestamp < through { spans.append(span) }
        }
        for span in spans.reversed() where try !span.deliver(raw, symbols: symbols, body) {
            return false
        }
        return true
    }
}

/// Where one serialised entry sits in a block's bytes.
struct EntrySpan {
    var timestamp: Int64
    var start: Int
    var lineStart: Int
    var lineEnd: Int
    var metadataStart: Int
    var end: Int

    static func read(_ reader: inout ByteReader) throws(ByteReader.Truncated) -> EntrySpan {
        let start = reader.offset
        let timestamp = try reader.varint("entry timestamp")
        let length = try reader.length("entry line length", limit: reader.remaining)
        let lineStart = reader.offset
        reader.offset += length
        let metadataLength = try reader.length("structured metadata length", limit: reader.remaining)
        let metadataStart = reader.offset
        reader.offset += metadataLength
        return EntrySpan(timestamp: timestamp, start: start, lineStart: lineStart, lineEnd: lineStart + length,
                         metadataStart: metadataStart, end: reader.offset)
    }

    /// Resolves the entry's structured metadata and hands the entry to `body`.
    func deliver(
        _ raw: UnsafeRawBufferPointer, symbols: [String],
        _ body: (Int64, UnsafeRawBufferPointer, [LabelPair]) throws -> Bool
    ) throws -> Bool {
        var metadata: [LabelPair] = []
        // A section of one byte is the common "no metadata" case (count 0).
        if end - metadataStart > 1 {
            var reader = ByteReader(raw, from: metadataStart, to: end)
            let count = try reader.length("structured metadata count", limit: reader.remaining / 2)
            metadata.reserveCapacity(count)
            for _ in 0..<count {
                let name = try reader.uvarint("structured metadata name")
                let value = try reader.uvarint("structured metadata value")
                guard name < UInt64(symbols.count), value < UInt64(symbols.count) else {
                    throw ChunkFormatError.corruptBlock("structured metadata refers to symbol \(max(name, value)) of \(symbols.count)")
                }
                metadata.append(LabelPair(name: symbols[Int(name)], value: symbols[Int(value)]))
            }
        }
        return try body(timestamp, UnsafeRawBufferPointer(rebasing: raw[lineStart..<lineEnd]), metadata)
    }
}
