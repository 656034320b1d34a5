import Wire

/// Which three-byte sequences (trigrams) occur in a block's lines, as a one-hash Bloom filter: a query for a literal
/// skips the block without decompressing it when one of the literal's trigrams is missing.
///
/// Built when a block is compressed, over the line bytes only (timestamps and framing would add noise). The filter
/// starts at 65,536 bits and is folded in halves while that keeps at most `targetFill` of its bits set, so a block
/// of repetitive lines takes a few hundred bytes and a block of varied text at most 8 KiB; a block with so many
/// distinct trigrams that the full-size filter is more than `uselessFill` set gets no sketch (it would rule out
/// almost nothing). Stored in the chunk object between the blocks and the symbols section, where Loki's reader, which
/// finds every section by offset, never looks (see `docs/storage.md`).
///
/// A sketch never says a present literal is absent; a missing sketch (an older chunk, Loki's) rules out nothing.
public struct BlockSketch: Sendable, Equatable {
    /// The filter's bits, a power-of-two count of them in 64-bit words.
    let words: [UInt64]

    static let maxLog2Bits = 16
    static let minLog2Bits = 9
    static let targetFill = 0.30
    static let uselessFill = 0.60

    init?(words: [UInt64]) {
        guard words.count.nonzeroBitCount == 1, words.count >= 1 << (Self.minLog2Bits - 6),
              words.count <= 1 << (Self.maxLog2Bits - 6)
        else { return nil }
        self.words = words
    }

    /// The bit a trigram sets in a filter of `mask + 1` bits; folding a filter in halves drops the top index bit.
    @inline(__always)
    private static func bit(_ trigram: UInt32, mask: UInt32) -> UInt32 {
        ((trigram &* 0x9E37_79B1) >> 16) & mask
    }

    /// The sketch of a block's serialised entries (the layout `MemChunk` cuts), or nil when the block's lines are too
    /// varied for a sketch to help, or the bytes do not parse.
    static func build(entries raw: UnsafeRawBufferPointer) -> BlockSketch? {
        let fullBits = 1 << maxLog2Bits
        guard let base = raw.baseAddress else { return nil }
        var words = [UInt64](repeating: 0, count: fullBits / 64)
        let mask = UInt32(fullBits - 1)
        var reader = ByteReader(raw)
        let parsed = words.withUnsafeMutableBufferPointer { bits -> Bool in
            while !reader.isAtEnd {
                guard let span = try? EntrySpan.read(&reader) else { return false }
                guard span.lineEnd - span.lineStart >= 3 else { continue }
                var index = span.lineStart
                var trigram = UInt32(base.load(fromByteOffset: index, as: UInt8.self)) << 8
                    | UInt32(base.load(fromByteOffset: index + 1, as: UInt8.self))
                index += 2
                while index < span.lineEnd {
                    trigram = (trigram << 8 | UInt32(base.load(fromByteOffset: index, as: UInt8.self))) & 0xFF_FFFF
                    let position = Int(Self.bit(trigram, mask: mask))
                    bits[position &>> 6] |= 1 &<< UInt64(position & 63)
                    index += 1
                }
            }
            return true
        }
        // Bytes that do not parse as entries are not a block this code wrote: no sketch rather than a partial one.
        guard parsed else { return nil }
        let set = words.reduce(0) { $0 + $1.nonzeroBitCount }
        if Double(set) > uselessFill * Double(fullBits) { return nil }
        while words.count > 1 << (minLog2Bits - 6) {
            let half = words.count / 2
            var folded = [UInt64](repeating: 0, count: half)
            var foldedSet = 0
            for index in 0..<half {
                folded[index] = words[index] | words[index + half]
                foldedSet += folded[index].nonzeroBitCount
            }
            if Double(foldedSet) > targetFill * Double(half * 64) { break }
            words = folded
        }
        return BlockSketch(words: words)
    }

    /// False only when `literal` cannot occur in any line of the block. Literals shorter than a trigram may occur.
    public func mayContain(_ literal: [UInt8]) -> Bool {
        guard literal.count >= 3 else { return true }
        let mask = UInt32(words.count * 64 - 1)
        var trigram = UInt32(literal[0]) << 8 | UInt32(literal[1])
        for byte in literal[2...] {
            trigram = (trigram << 8 | UInt32(byte)) & 0xFF_FFFF
            let bit = Self.bit(trigram, mask: mask)
            if words[Int(bit >> 6)] & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Bytes the sketch takes in memory and in the chunk.
    var byteCount: Int { words.count * 8 }
}

/// The sketches section of a stored chunk: `magic "ESK1" | uvarint #blocks | per block: uvarint log2(bits) (0: no
/// sketch), then the bits as little-endian 64-bit words | CRC32-C of everything before it`.
enum BlockSketchSection {
    static let magic: [UInt8] = Array("ESK1".utf8)

    static func encode(_ sketches: [BlockSketch?]) -> [UInt8]? {
        guard sketches.contains(where: { $0 != nil }) else { return nil }
        var out = ByteWriter()
        out.append(magic)
        out.uvarint(sketches.count)
        for sketch in sketches {
            guard let sketch else {
                out.byte(0)
                continue
            }
            out.uvarint((sketch.words.count * 64).trailingZeroBitCount)
            for word in sketch.words {
                withUnsafeBytes(of: word.littleEndian) { out.append($0) }
            }
        }
        out.be32(CRC32C.checksum(out.bytes))
        return out.bytes
    }

    /// The sketches of `blockCount` blocks, or nil when `raw` is not a whole, intact section: a sketch only saves
    /// work, so a chunk whose sketches cannot be read is read without them.
    static func decode(_ raw: UnsafeRawBufferPointer, blockCount: Int) -> [BlockSketch?]? {
        guard raw.count >= magic.count + 5, raw.prefix(magic.count).elementsEqual(magic) else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 4)])
        let stored = raw.loadUnaligned(fromByteOffset: raw.count - 4, as: UInt32.self).bigEndian
        guard CRC32C.checksum(body) == stored else { return nil }
        var reader = ByteReader(body, from: magic.count)
        guard let count = try? reader.length("sketch count", limit: body.count), count == blockCount else { return nil }
        var sketches: [BlockSketch?] = []
        sketches.reserveCapacity(count)
        for _ in 0..<count {
            guard let log2 = try? reader.uvarint("sketch size") else { return nil }
            if log2 == 0 {
                sketches.append(nil)
                continue
            }
            guard log2 >= UInt64(BlockSketch.minLog2Bits), log2 <= UInt64(BlockSketch.maxLog2Bits) else { return nil }
            let wordCount = 1 << Int(log2 - 6)
            guard reader.remaining >= wordCount * 8 else { return nil }
            var words = [UInt64](repeating: 0, count: wordCount)
            for index in 0..<wordCount {
                words[index] = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: reader.offset, as: UInt64.self))
                reader.offset += 8
            }
            sketches.append(BlockSketch(words: words))
        }
        return reader.isAtEnd ? sketches : nil
    }
}
