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
public final class MemChunk: @unchecked Sendable {  // invariant: one owner at a time (shard lock or one query task)
    /// A cut block: compressed serialised entries and what the block meta records about them.
    struct Block {
        var data: [UInt8]
        var entries: Int
        var mint: Int64
        var maxt: Int64
        var uncompressedSize: Int
        /// Whether `data` still holds the serialised entries uncompressed: cut by an append of a chunk that defers
        /// compression, waiting for `install(compressed:)`.
        var raw = false
        /// The trigrams of the block's lines, made when it was compressed (nil when raw, or too varied to help).
        var sketch: BlockSketch?
    }

    /// Longest line a chunk accepts (Loki's `maxLineLength`).
    static let maxLineLength = 1 << 30

    public let encoding: ChunkEncoding
    let blockSize: Int
    let targetSize: Int
    /// When set, a block cut by `append` is kept uncompressed (`Block.raw`) for its owner to compress without
    /// holding the lock that guards the chunk: see `rawBlocks()` and `install(compressed:)`.
    var defersCompression = false
    private(set) var blocks: [Block] = []
    /// Compressed bytes of all cut blocks.
    private var cutBlockSize = 0
    /// Bytes of the cut blocks' sketches.
    private var sketchBytes = 0

    private var head = ByteWriter()
    private var headEntries = 0
    /// Loki's head size accounting: line bytes plus structured metadata bytes.
    private var headSize = 0
    private var headMin: Int64 = .max
    private var headMax: Int64 = .min
    private var headOrdered = true
    /// Oldest and newest timestamps over blocks and head, kept as entries arrive.
    private var firstTime: Int64 = .max
    private var lastTime: Int64 = .min

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
        self.sketchBytes = blocks.reduce(0) { $0 + ($1.sketch?.byteCount ?? 0) }
        for block in blocks {
            firstTime = min(firstTime, block.mint)
            lastTime = max(lastTime, block.maxt)
        }
    }

    /// A chunk with the same entries that shares this one's storage (copy-on-write arrays): taken under the
    /// stream's shard lock in O(blocks), then read by one query task without the lock while this chunk goes on
    /// taking appends (the first append after it copies the head block once).
    func readCopy() -> MemChunk {
        let copy = MemChunk(encoding: encoding, blocks: blocks, symbols: symbols)
        copy.head = head
        copy.headEntries = headEntries
        copy.headSize = headSize
        copy.headMin = headMin
        copy.headMax = headMax
        copy.headOrdered = headOrdered
        copy.firstTime = firstTime
        copy.lastTime = lastTime
        return copy
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
        // The head grows by doubling, but stops at what a full block of typical lines takes (the lines and their
        // framing) before doubling again: doubling a 256 KiB block's buffer to 512 KiB for its last few lines
        // would hold twice the memory the block needs.
        let needed = head.count + line.count + 24 + structuredMetadata.count * 10
        let capacity = head.bytes.capacity
        if needed > capacity {
            let full = blockSize + blockSize / 4
            head.bytes.reserveCapacity(max(needed, capacity < full ? min(capacity * 2, full) : capacity * 2))
        }
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
        firstTime = min(firstTime, timestamp)
        lastTime = max(lastTime, timestamp)
        if headSize >= blockSize {
            cut(compressing: !defersCompression)
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

    /// The memory the chunk's data takes: the head buffer as allocated (not only the part in use) and the cut
    /// blocks as they are now (raw until compressed). What the ingester's memory ceiling counts for a head chunk.
    var heldBytes: Int { head.bytes.capacity + cutBlockSize + sketchBytes }

    /// Raw line and metadata bytes held, compressed blocks counted at their uncompressed size.
    public var uncompressedSize: Int { blocks.reduce(headSize) { $0 + $1.uncompressedSize } }

    /// Oldest and newest entry timestamps (nanoseconds); (.max, .min) when empty.
    public var bounds: (from: Int64, through: Int64) { (firstTime, lastTime) }

    /// Turns the head into a block, compressed unless `compressing` is false.
    func cut(compressing: Bool = true) {
        guard headEntries > 0 else { return }
        if !headOrdered { sortHead() }
        var block = Block(data: head.bytes, entries: headEntries, mint: headMin, maxt: headMax,
                          uncompressedSize: headSize, raw: true)
        if compressing {
            (block.data, block.sketch) = seal(head.bytes)
            block.raw = false
            sketchBytes += block.sketch?.byteCount ?? 0
        }
        blocks.append(block)
        cutBlockSize += block.data.count
        head = ByteWriter(capacity: min(head.bytes.capacity, blockSize + blockSize / 4))
        headEntries = 0
        headSize = 0
        headMin = .max
        headMax = .min
        headOrdered = true
    }

    /// Cuts the head so every entry is in a block, and compresses blocks still raw. Blocks may overlap in time when
    /// entries arrived out of order; readers merge them (as Loki's iterators do), so closing never recompresses the
    /// chunk.
    func close() {
        cut()
        for (index, data) in rawBlocks() {
            install(seal(data), at: index, rawSize: data.count)
        }
    }

    /// A raw block's compressed bytes and sketch. Needs no lock: it reads only the bytes it is given.
    func seal(_ raw: [UInt8]) -> (data: [UInt8], sketch: BlockSketch?) {
        raw.withUnsafeBytes { (encoding.compress($0), BlockSketch.build(entries: $0)) }
    }

    /// Whether the newest block is still uncompressed (an append just cut it).
    var newestBlockIsRaw: Bool { blocks.last?.raw ?? false }

    /// The blocks still uncompressed, by position. Taken under the owner's lock; the arrays are copy-on-write, so
    /// they can be compressed after the lock is let go.
    func rawBlocks() -> [(index: Int, data: [UInt8])] {
        blocks.indices.filter { blocks[$0].raw }.map { ($0, blocks[$0].data) }
    }

    /// Puts the sealed form (`seal`) of the raw block at `index` in its place (under the owner's lock). Blocks are
    /// only ever appended, so the index still names the block; one already compressed meanwhile is left alone.
    func install(_ sealed: (data: [UInt8], sketch: BlockSketch?), at index: Int, rawSize: Int) {
        guard index < blocks.count, blocks[index].raw, blocks[index].data.count == rawSize else { return }
        blocks[index].data = sealed.data
        blocks[index].sketch = sealed.sketch
        blocks[index].raw = false
        cutBlockSize += sealed.data.count - rawSize
        sketchBytes += sealed.sketch?.byteCount ?? 0
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
    /// for `.backward`, until `body` returns false. The line and metadata are only valid during the call.
    ///
    /// Blocks are decompressed into `scratch`, which a caller reading many chunks passes again and again so that
    /// the scan allocates nothing. Blocks in time order (the common case) are decompressed one at a time, so the
    /// entries being filtered are still in the CPU cache.
    ///
    /// `takesWholeBlock`, when given, is offered each compressed block in the range before anything is read; when it
    /// returns true the caller has accounted for the whole block from its summary (a count needs no line bytes)
    /// and the block is not read.
    public func forEachEntry(
        from: Int64, through: Int64, direction: Direction, scratch: inout [UInt8],
        takesWholeBlock: ((BlockSummary) -> Bool)? = nil,
        _ body: (Int64, UnsafeRawBufferPointer, EntryMetadata) throws -> Bool
    ) throws {
        var selected = blocks.indices.filter { blocks[$0].maxt >= from && blocks[$0].mint < through }
        if let takesWholeBlock {
            // Offered before anything is read, and whatever the blocks' order: a summary needs neither.
            let hasMetadata = !symbols.isEmpty
            selected.removeAll { index in
                let block = blocks[index]
                return !block.raw && takesWholeBlock(BlockSummary(
                    mint: block.mint, maxt: block.maxt, entries: block.entries,
                    uncompressedSize: block.uncompressedSize, hasMetadata: hasMetadata, sketch: block.sketch))
            }
        }
        let readsHead = headEntries > 0 && headMax >= from && headMin < through
        var lastMax = Int64.min
        var ordered = true
        for index in selected {
            if blocks[index].mint < lastMax { ordered = false }
            lastMax = max(lastMax, blocks[index].maxt)
        }
        if readsHead && (headMin < lastMax || !headOrdered) { ordered = false }
        guard ordered else {
            return try mergeOverlapping(selected, readsHead: readsHead, from: from, through: through,
                                        direction: direction, scratch: &scratch, body)
        }

        var spans: [EntrySpan] = []
        let sourceCount = selected.count + (readsHead ? 1 : 0)
        let ordering = direction == .forward ? Array(0..<sourceCount) : (0..<sourceCount).reversed()
        for source in ordering {
            // A query past its timeout stops between blocks.
            try Task.checkCancellation()
            let keepGoing: Bool
            if source == selected.count {
                keepGoing = try head.bytes.withUnsafeBytes { raw in
                    try visit(raw, from: from, through: through, direction: direction, spans: &spans, body)
                }
            } else {
                let size = try decompress(blocks[selected[source]], into: &scratch)
                keepGoing = try scratch.withUnsafeBytes { raw in
                    try visit(UnsafeRawBufferPointer(rebasing: raw[..<size]), from: from, through: through,
                              direction: direction, spans: &spans, body)
                }
            }
            if !keepGoing { return }
        }
    }

    /// `forEachEntry` with a scratch buffer of its own: for reading one chunk.
    public func forEachEntry(
        from: Int64, through: Int64, direction: Direction,
        _ body: (Int64, UnsafeRawBufferPointer, EntryMetadata) throws -> Bool
    ) throws {
        var scratch: [UInt8] = []
        try forEachEntry(from: from, through: through, direction: direction, scratch: &scratch, body)
    }

    /// Decompresses a block into `buffer` from `offset` on (growing it as needed, never shrinking) and returns its
    /// size.
    private func decompress(_ block: Block, into buffer: inout [UInt8], at offset: Int = 0) throws -> Int {
        if block.raw {
            buffer.replaceSubrange(min(offset, buffer.count)..., with: block.data)
            return block.data.count
        }
        let limit = block.uncompressedSize + block.entries * 24 + 64
        do {
            return try block.data.withUnsafeBytes { raw throws(CodecError) in
                try encoding.decompress(raw, maxLength: limit, into: &buffer, at: offset)
            }
        } catch {
            throw ChunkFormatError.corruptBlock("\(error)")
        }
    }

    /// Overlapping blocks (entries arrived out of order): every selected block is decompressed, back to back into
    /// one buffer, and the entries are merged by timestamp across all of them, as Loki's heap iterator does. Each
    /// block is sorted, so the sort merges runs.
    private func mergeOverlapping(
        _ selected: [Int], readsHead: Bool, from: Int64, through: Int64, direction: Direction,
        scratch combined: inout [UInt8], _ body: (Int64, UnsafeRawBufferPointer, EntryMetadata) throws -> Bool
    ) throws {
        var used = 0
        for index in selected {
            used += try decompress(blocks[index], into: &combined, at: used)
        }
        if readsHead {
            combined.replaceSubrange(used..., with: head.bytes)
            used = combined.count
        }
        var spans: [EntrySpan] = []
        try combined.withUnsafeBytes { all in
            let raw = UnsafeRawBufferPointer(rebasing: all[..<used])
            var reader = ByteReader(raw)
            while !reader.isAtEnd {
                let span = try EntrySpan.read(&reader)
                if span.timestamp >= from && span.timestamp < through { spans.append(span) }
            }
            switch direction {
            case .forward: spans.sort { $0.timestamp < $1.timestamp }
            case .backward: spans.sort { $0.timestamp > $1.timestamp }
            }
            for span in spans where try !span.deliver(raw, chunk: self, body) { return }
        }
    }

    /// Visits one serialised block's entries in the given direction. Returns false once `body` asked to stop.
    /// `spans` is scratch space for the backward direction, kept by the caller across blocks.
    private func visit(
        _ raw: UnsafeRawBufferPointer, from: Int64, through: Int64, direction: Direction, spans: inout [EntrySpan],
        _ body: (Int64, UnsafeRawBufferPointer, EntryMetadata) throws -> Bool
    ) throws -> Bool {
        var reader = ByteReader(raw)
        if direction == .forward {
            while !reader.isAtEnd {
                let span = try EntrySpan.read(&reader)
                if span.timestamp < from { continue }
                if span.timestamp >= through { return true }
                if try !span.deliver(raw, chunk: self, body) { return false }
            }
            return true
        }
        spans.removeAll(keepingCapacity: true)
        while !reader.isAtEnd {
            let span = try EntrySpan.read(&reader)
            if span.timestamp >= from && span.timestamp < through { spans.append(span) }
        }
        for span in spans.reversed() where try !span.deliver(raw, chunk: self, body) {
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

    /// Hands the entry to `body`; its structured metadata stays unresolved until the caller asks.
    @inline(__always)
    func deliver(
        _ raw: UnsafeRawBufferPointer, chunk: MemChunk,
        _ body: (Int64, UnsafeRawBufferPointer, EntryMetadata) throws -> Bool
    ) throws -> Bool {
        try body(timestamp, UnsafeRawBufferPointer(rebasing: raw[lineStart..<lineEnd]),
                 EntryMetadata(section: UnsafeRawBufferPointer(rebasing: raw[metadataStart..<end]), chunk: chunk))
    }
}

/// What a block's meta says without reading the block: its time span, entry count and size.
public struct BlockSummary: Sendable {
    public var mint: Int64
    public var maxt: Int64
    public var entries: Int
    /// The block's bytes before compression: lines plus per-entry timestamps, lengths and metadata references.
    public var uncompressedSize: Int
    /// Whether any entry of the chunk may carry structured metadata (the chunk has symbols).
    public var hasMetadata: Bool
    /// The trigrams of the block's lines, when it has a sketch.
    public var sketch: BlockSketch?

    /// Whether a line of the block may pass a filter chain that needs `literals`: false rules the block out.
    public func mayMatch(_ literals: RequiredLiterals) -> Bool {
        guard let sketch else { return true }
        return literals.holds { sketch.mayContain($0) }
    }
}

/// An entry's structured metadata as its block stores it: references into the chunk's symbol table, resolved only
/// for the entries a query keeps. Valid only during the `forEachEntry` call that produced it, like the line.
public struct EntryMetadata {
    let section: UnsafeRawBufferPointer
    /// `unowned(unsafe)`: the chunk outlives the call that hands this out, and a strong reference would cost a
    /// retain and a release per scanned entry.
    unowned(unsafe) let chunk: MemChunk

    /// The name/value pairs, in stored order.
    public func resolve() throws -> [LabelPair] {
        // A section of one byte is the common "no metadata" case (count 0).
        guard section.count > 1 else { return [] }
        let symbols = chunk.symbols
        var reader = ByteReader(section)
        let count = try reader.length("structured metadata count", limit: reader.remaining / 2)
        var metadata: [LabelPair] = []
        metadata.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.uvarint("structured metadata name")
            let value = try reader.uvarint("structured metadata value")
            guard name < UInt64(symbols.count), value < UInt64(symbols.count) else {
                throw ChunkFormatError.corruptBlock("structured metadata refers to symbol \(max(name, value)) of \(symbols.count)")
            }
            metadata.append(LabelPair(name: symbols[Int(name)], value: symbols[Int(value)]))
        }
        return metadata
    }
}
