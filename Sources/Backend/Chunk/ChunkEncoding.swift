import Wire

/// How a chunk's blocks are compressed: `ingester.chunk_encoding`, with Loki's names and on-disk byte values
/// (`pkg/compression` codec numbers), so chunks are readable by Loki's tools.
public enum ChunkEncoding: String, Sendable, CaseIterable {
    case none
    case gzip
    case snappy
    case flate

    /// The encoding byte in the chunk header.
    var byte: UInt8 {
        switch self {
        case .none: 0
        case .gzip: 1
        case .snappy: 4
        case .flate: 8
        }
    }

    init?(byte: UInt8) {
        guard let found = Self.allCases.first(where: { $0.byte == byte }) else { return nil }
        self = found
    }

    /// Compresses one block's serialised entries as Loki's writer pool for this encoding does (snappy: the framed
    /// stream format of `snappy.NewBufferedWriter`; gzip: one gzip member; flate: raw deflate).
    func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        switch self {
        case .none: Array(input)
        case .gzip: Gzip.compress(input)
        case .snappy: SnappyFramed.encode(input)
        case .flate: Deflate.compress(Array(input))
        }
    }

    /// Undoes `compress`; `maxLength` bounds the output (a block's recorded uncompressed size plus slack). Callers
    /// have checked the block's CRC32-C, so snappy's per-frame checksums are not computed a second time.
    func decompress(_ input: UnsafeRawBufferPointer, maxLength: Int) throws(CodecError) -> [UInt8] {
        var output: [UInt8] = []
        let size = try decompress(input, maxLength: maxLength, into: &output)
        output.removeLast(output.count - size)
        return output
    }

    /// As `decompress(_:maxLength:)`, into `buffer` from `offset` on; the buffer keeps its storage across calls and
    /// the bytes before `offset`. Returns the decompressed size; bytes past `offset + size` are stale.
    func decompress(
        _ input: UnsafeRawBufferPointer, maxLength: Int, into buffer: inout [UInt8], at offset: Int = 0
    ) throws(CodecError) -> Int {
        let output: [UInt8]
        switch self {
        case .snappy:
            return try SnappyFramed.decode(input, into: &buffer, at: offset, maxLength: maxLength, verifyChecksums: false)
        case .none: output = Array(input)
        case .gzip: output = try Gzip.decompress(input, maxLength: maxLength)
        case .flate: output = try Deflate.decompress(input, maxLength: maxLength)
        }
        buffer.replaceSubrange(offset..., with: output)
        return output.count
    }
}

/// The order a query reads entries in: `direction=forward` (oldest first) or `backward` (newest first, Loki's
/// default).
public enum Direction: String, Sendable {
    case forward
    case backward
}
