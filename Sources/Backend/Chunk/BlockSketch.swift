import Wire

/// Which four-byte sequences occur at even offsets of a block's lines, as a one-hash Bloom filter: a query for a
/// literal skips the block without decompressing it when the literal cannot be in any line.
///
/// A literal of five bytes or more that occurs at an even offset of a line has its 4-grams at its own even offsets
/// (0, 2, 4, …) in the sketch; at an odd offset, its 4-grams at its odd offsets. So a literal is ruled out when
/// some 4-gram of each of those two sets is missing. Taking every other offset halves the work of building the sketch
/// (it runs on the push path, when a block is compressed) against taking every offset, and 4-grams tell more apart
/// than trigrams do; literals of up to four bytes are never ruled out.
///
/// Built over the line bytes only (timestamps and framing would add noise). The filter
/// starts at 65,536 bits and is folded in halves while that keeps at most `targetFill` of its bits set, so a block
/// of repetitive lines takes a few hundred bytes and a block of varied text at most 8 KiB; a block with so many
/// distinct 4-grams that the full-size filter is more than `uselessFill` set gets no sketch (it would rule out
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

    /// The bit a 4-gram (its bytes as a little-endian number) sets in a filter of `mask + 1` bits; folding a filter
    /// in halves drops the top index bit.
    @inline(__always)
    private static func bit(_ gram: UInt32, mask: UInt32) -> UInt32 {
        ((gram &* 0x9E37_79B1) >> 16) & mask
    }

    /// The shortest literal a sketch can rule out: one 4-gram at an even and one at an odd offset.
    static let shortestRuledOut = 5

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
                var offset = span.lineStart
                while offset + 4 <= span.lineEnd {
                    let gram = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                    let position = Int(Self.bit(gram, mask: mask))
                    bits[position &>> 6] |= 1 &<< UInt64(position & 63)
                    offset += 2
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

    /// False only when `literal` cannot occur in any line of the block. Literals under five bytes may occur.
    public func mayContain(_ literal: [UInt8]) -> Bool {
        guard literal.count >= Self.shortestRuledOut else { return true }
        let mask = UInt32(words.count * 64 - 1)
        return literal.withUnsafeBytes { bytes in
            func holdsAll(from first: Int) -> Bool {
                var offset = first
                while offset + 4 <= bytes.count {
                    let gram = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                    let bit = Self.bit(gram, mask: mask)
                    if words[Int(bit >> 6)] & (1 << UInt64(bit & 63)) == 0 { return false }
                    offset += 2
                }
                return true
            }
            return holdsAll(from: 0) || holdsAll(from: 1)
        }
    }

    /// Bytes the sketch takes in memory and in the chunk.
    var byteCount: Int { words.count * 8 }
}

/// The sketches section of a stored chunk: `magic "ESK2" | uvarint #blocks | per block: uvarint log2(bits) (0: no
/// sketch), then the bits as little-endian 64-bit words | CRC32-C of everything before it`.
enum BlockSketchSection {
    static let magic: [UInt8] = Array("ESK2".utf8)

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
