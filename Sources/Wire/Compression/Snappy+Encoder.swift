// The block encoder: a port of golang/snappy's portable `encodeBlock` (encode_other.go) that emits the
// same bytes, written on raw pointers so the hot loop has no bounds checks, retains or allocations.

extension Snappy {
    /// Snappy splits input into blocks of at most 64 KiB so that offsets fit in 16 bits.
    static let maxBlockSize = 65_536
    /// Bytes at the end of a block that the match finder never starts a lookup in, so its 4- and 8-byte
    /// loads stay inside the block (golang/snappy `inputMargin`).
    static let inputMargin = 16 - 1
    /// Blocks shorter than this are emitted as one literal (golang/snappy `minNonLiteralBlockSize`).
    static let minNonLiteralBlockSize = 1 + 1 + inputMargin

    /// The match finder's hash table: 2^14 block offsets, allocated once per call and cleared per block.
    struct HashTable {
        static let maxBits = 14
        static let maxSize = 1 << maxBits
        let slots: UnsafeMutablePointer<UInt16>

        init() {
            slots = .allocate(capacity: Self.maxSize)
        }

        func deallocate() {
            slots.deallocate()
        }
    }

    /// Writes the uvarint length and the blocks of `input` to `dst`, which must hold
    /// `maxEncodedLength(input.count)` bytes. Returns the number of bytes written.
    static func encode(_ input: UnsafeRawBufferPointer, into dst: UnsafeMutableRawPointer, table: HashTable) -> Int {
        var written = putUvarint(UInt64(input.count), to: dst)
        guard let source = input.baseAddress else { return written }
        var start = 0
        while start < input.count {
            let length = min(maxBlockSize, input.count - start)
            if length < minNonLiteralBlockSize {
                written += emitLiteral(source + start, length: length, to: dst + written)
            } else {
                written += encodeBlock(source + start, count: length, to: dst + written, table: table.slots)
            }
            start += length
        }
        return written
    }

    @inline(__always)
    static func putUvarint(_ value: UInt64, to dst: UnsafeMutableRawPointer) -> Int {
        var value = value
        var index = 0
        while value >= 0x80 {
            dst.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: index, as: UInt8.self)
            value >>= 7
            index += 1
        }
        dst.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self)
        return index + 1
    }

    @inline(__always)
    static func load32(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    static func load64(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    static func hash(_ value: UInt32, shift: UInt32) -> Int {
        Int(truncatingIfNeeded: (value &* 0x1e35_a7bd) >> shift)
    }

    /// Emits `length` (1...65536) bytes from `source` as one literal element.
    @inline(__always)
    static func emitLiteral(_ source: UnsafeRawPointer, length: Int, to dst: UnsafeMutableRawPointer) -> Int {
        let n = length - 1
        let headerSize: Int
        if n < 60 {
            dst.storeBytes(of: UInt8(truncatingIfNeeded: n << 2), as: UInt8.self)
            headerSize = 1
        } else if n < 256 {
            dst.storeBytes(of: 60 << 2, as: UInt8.self)
            dst.storeBytes(of: UInt8(truncatingIfNeeded: n), toByteOffset: 1, as: UInt8.self)
            headerSize = 2
        } else {
            dst.storeBytes(of: 61 << 2, as: UInt8.self)
            dst.storeBytes(of: UInt8(truncatingIfNeeded: n), toByteOffset: 1, as: UInt8.self)
            dst.storeBytes(of: UInt8(truncatingIfNeeded: n >> 8), toByteOffset: 2, as: UInt8.self)
            headerSize = 3
        }
        (dst + headerSize).copyMemory(from: source, byteCount: length)
        return headerSize + length
    }

    /// Emits a back reference of `length` (4...65536) bytes at `offset` (1...65535), in golang/snappy's
    /// element choice: copies of 64 while 68 or more remain, then one of 60 if more than 64 remain, then
    /// the rest as a 2-byte copy when it fits in one.
    @inline(__always)
    static func emitCopy(offset: Int, length: Int, to dst: UnsafeMutableRawPointer) -> Int {
        var length = length
        var index = 0
        let offsetLow = UInt8(truncatingIfNeeded: offset)
        let offsetHigh = UInt8(truncatingIfNeeded: offset >> 8)
        while length >= 68 {
            dst.storeBytes(of: 63 << 2 | 2, toByteOffset: index, as: UInt8.self)
            dst.storeBytes(of: offsetLow, toByteOffset: index + 1, as: UInt8.self)
            dst.storeBytes(of: offsetHigh, toByteOffset: index + 2, as: UInt8.self)
            index += 3
            length -= 64
        }
        if length > 64 {
            dst.storeBytes(of: 59 << 2 | 2, toByteOffset: index, as: UInt8.self)
            dst.storeBytes(of: offsetLow, toByteOffset: index + 1, as: UInt8.self)
            dst.storeBytes(of: offsetHigh, toByteOffset: index + 2, as: UInt8.self)
            index += 3
            length -= 60
        }
        if length >= 12 || offset >= 2048 {
            dst.storeBytes(of: UInt8(truncatingIfNeeded: (length - 1) << 2 | 2), toByteOffset: index, as: UInt8.self)
            dst.storeBytes(of: offsetLow, toByteOffset: index + 1, as: UInt8.self)
            dst.storeBytes(of: offsetHigh, toByteOffset: index + 2, as: UInt8.self)
            return index + 3
        }
        let tag = (offset >> 8) << 5 | (length - 4) << 2 | 1
        dst.storeBytes(of: UInt8(truncatingIfNeeded: tag), toByteOffset: index, as: UInt8.self)
        dst.storeBytes(of: offsetLow, toByteOffset: index + 1, as: UInt8.self)
        return index + 2
    }

    /// Compresses one block of `count` (minNonLiteralBlockSize...maxBlockSize) bytes. Returns bytes written.
    static func encodeBlock(
        _ src: UnsafeRawPointer, count: Int, to dst: UnsafeMutableRawPointer, table: UnsafeMutablePointer<UInt16>
    ) -> Int {
        // Size the table to the block as golang/snappy does: the hash then only uses as many bits as the
        // table has, and the table size decides which matches are found, so the bytes match too.
        var shift: UInt32 = 32 - 8
        var tableSize = 1 << 8
        while tableSize < HashTable.maxSize && tableSize < count {
            tableSize <<= 1
            shift -= 1
        }
        table.update(repeating: 0, count: tableSize)
        let tableMask = HashTable.maxSize - 1

        var d = 0
        let sLimit = count - inputMargin
        var nextEmit = 0
        var s = 1
        var nextHash = hash(load32(src, s), shift: shift)

        outer: while true {
            // Look for a 4-byte match, skipping faster the longer nothing matches (golang's heuristic:
            // after 32 misses the step grows by one byte every 32 lookups).
            var skip = 32
            var nextS = s
            var candidate = 0
            while true {
                s = nextS
                let step = skip >> 5
                nextS = s + step
                skip += step
                if nextS > sLimit { break outer }
                candidate = Int(table[nextHash & tableMask])
                table[nextHash & tableMask] = UInt16(truncatingIfNeeded: s)
                nextHash = hash(load32(src, nextS), shift: shift)
                if load32(src, s) == load32(src, candidate) { break }
            }

            d += emitLiteral(src + nextEmit, length: s - nextEmit, to: dst + d)

            // Emit copies for as long as the byte after one copy starts another match.
            while true {
                let base = s
                s += 4
                var i = candidate + 4
                // Extend the match 8 bytes at a time; the first differing byte ends it.
                extend: while true {
                    if s + 8 <= count {
                        let difference = load64(src, s) ^ load64(src, i)
                        if difference != 0 {
                            s += difference.trailingZeroBitCount >> 3
                            break extend
                        }
                        s += 8
                        i += 8
                    } else {
                        while s < count
                            && src.load(fromByteOffset: i, as: UInt8.self) == src.load(fromByteOffset: s, as: UInt8.self)
                        {
                            s += 1
                            i += 1
                        }
                        break extend
                    }
                }
                d += emitCopy(offset: base - candidate, length: s - base, to: dst + d)
                nextEmit = s
                if s >= sLimit { break outer }

                // Index the positions just before and at the end of the copy, and try the latter.
                let x = load64(src, s - 1)
                let previousHash = hash(UInt32(truncatingIfNeeded: x), shift: shift)
                table[previousHash & tableMask] = UInt16(truncatingIfNeeded: s - 1)
                let currentHash = hash(UInt32(truncatingIfNeeded: x >> 8), shift: shift)
                candidate = Int(table[currentHash & tableMask])
                table[currentHash & tableMask] = UInt16(truncatingIfNeeded: s)
                if UInt32(truncatingIfNeeded: x >> 8) != load32(src, candidate) {
                    nextHash = hash(UInt32(truncatingIfNeeded: x >> 16), shift: shift)
                    s += 1
                    break
                }
            }
        }

        if nextEmit < count {
            d += emitLiteral(src + nextEmit, length: count - nextEmit, to: dst + d)
        }
        return d
    }
}
