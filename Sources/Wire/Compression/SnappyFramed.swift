/// Snappy framing format, as golang/snappy `NewBufferedWriter` writes it and `NewReader` reads it; Loki
/// stores chunk blocks with encoding `snappy` this way.
///
/// A stream is a sequence of chunks, each a type byte, a 3-byte little-endian length and a body:
///
/// | type        | body                                                                   |
/// |-------------|------------------------------------------------------------------------|
/// | 0xff        | stream identifier `sNaPpY`; first in every stream, may repeat          |
/// | 0x00        | masked CRC-32C (4 bytes LE) of the uncompressed data, then a snappy block |
/// | 0x01        | masked CRC-32C (4 bytes LE), then the data itself                      |
/// | 0x02...0x7f | reserved, unskippable: the stream is rejected                          |
/// | 0x80...0xfe | skippable (0xfe is padding): ignored                                   |
///
/// Each data chunk holds at most 65536 uncompressed bytes. Safe to call from any thread.
public enum SnappyFramed {
    /// The stream identifier chunk that starts every stream.
    static let streamIdentifier: [UInt8] = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]
    static let chunkHeaderSize = 4
    static let checksumSize = 4
    /// A data chunk's header plus checksum.
    static let dataChunkOverhead = chunkHeaderSize + checksumSize

    /// Frames `input`: the stream identifier, then one chunk per 64 KiB. A chunk is stored uncompressed
    /// when compressing it does not save at least 12.5%, as golang/snappy decides. Empty input gives an
    /// empty stream (no bytes at all), as golang/snappy's writer does.
    public static func encode(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        guard let source = input.baseAddress, !input.isEmpty else { return [] }
        let chunkCount = (input.count + Snappy.maxBlockSize - 1) / Snappy.maxBlockSize
        let chunkBound = dataChunkOverhead + Snappy.maxEncodedLength(Snappy.maxBlockSize)
        let bound = streamIdentifier.count + chunkCount * chunkBound
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 16)
        defer { scratch.deallocate() }
        let table = Snappy.HashTable()
        defer { table.deallocate() }

        for (index, byte) in streamIdentifier.enumerated() {
            scratch.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
        }
        var written = streamIdentifier.count
        var start = 0
        while start < input.count {
            let length = min(Snappy.maxBlockSize, input.count - start)
            let chunk = UnsafeRawBufferPointer(start: source + start, count: length)
            let header = scratch + written
            let body = header + dataChunkOverhead
            var bodySize = Snappy.encode(chunk, into: body, table: table)
            var type: UInt8 = 0x00
            if bodySize >= length - length / 8 {
                type = 0x01
                body.copyMemory(from: source + start, byteCount: length)
                bodySize = length
            }
            let chunkLength = UInt32(truncatingIfNeeded: checksumSize + bodySize)
            header.storeBytes(of: (chunkLength << 8 | UInt32(type)).littleEndian, as: UInt32.self)
            header.storeBytes(of: CRC32C.masked(chunk).littleEndian, toByteOffset: chunkHeaderSize, as: UInt32.self)
            written += dataChunkOverhead + bodySize
            start += length
        }
        return Array(UnsafeRawBufferPointer(start: scratch, count: written))
    }

    /// Frames `input`; see ``encode(_:)-(UnsafeRawBufferPointer)``.
    public static func encode(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { encode($0) }
    }

    /// Decodes a framed stream. The stream must start with the stream identifier (empty input decodes
    /// to nothing). Every data chunk's checksum is verified.
    ///
    /// - Parameter maxLength: the largest decompressed size accepted. The whole stream's declared size is
    ///   added up and checked before the output is allocated.
    /// - Throws: ``CodecError`` (codec `"snappy"`) `.tooLarge` past `maxLength`, `.corrupt` for malformed
    ///   or truncated chunks, reserved chunk types and checksum mismatches.
    ///
    /// `verifyChecksums: false` skips the per-chunk CRC of the uncompressed data, for callers whose input is
    /// already covered by a checksum of its own (a chunk block's CRC32-C is checked before it is decompressed).
    public static func decode(
        _ input: UnsafeRawBufferPointer, maxLength: Int = .max, verifyChecksums: Bool = true
    ) throws(CodecError) -> [UInt8] {
        // Pass 1 validates the chunk structure and adds up the output size; pass 2 decodes in place.
        let total = try scan(input, maxLength: maxLength)
        var failure: CodecError?
        // Capacity of at least 1 so the buffer always has an address, even for chunks of no data.
        let output = [UInt8](unsafeUninitializedCapacity: max(total, 1)) { buffer, initialized in
            do throws(CodecError) {
                try decodeChunks(input, into: buffer, verifyChecksums: verifyChecksums)
                initialized = total
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Decodes a framed stream into `buffer` starting at `offset`, growing the buffer when it is too small and
    /// otherwise reusing its storage (a query decoding block after block allocates once). Returns the decoded size;
    /// bytes before `offset` are kept, bytes past `offset + size` are left from earlier calls. Errors and checks as
    /// ``decode(_:maxLength:verifyChecksums:)``.
    public static func decode(
        _ input: UnsafeRawBufferPointer, into buffer: inout [UInt8], at offset: Int = 0, maxLength: Int = .max,
        verifyChecksums: Bool = true
    ) throws(CodecError) -> Int {
        precondition(offset >= 0 && offset <= buffer.count, "decode offset \(offset) outside the buffer of \(buffer.count)")
        let total = try scan(input, maxLength: maxLength)
        // At least one byte past the offset, so the output has an address even for data chunks of no data.
        let needed = offset + max(total, 1)
        if buffer.count < needed {
            buffer.append(contentsOf: repeatElement(0, count: max(needed, buffer.count * 2) - buffer.count))
        }
        let result: Result<Void, CodecError> = buffer.withUnsafeMutableBufferPointer { all in
            Result { () throws(CodecError) in
                try decodeChunks(input, into: UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + total)]),
                                 verifyChecksums: verifyChecksums)
            }
        }
        try result.get()
        return total
    }

    /// Decodes a framed stream; see ``decode(_:maxLength:)-(UnsafeRawBufferPointer,_)``.
    public static func decode(_ input: [UInt8], maxLength: Int = .max) throws(CodecError) -> [UInt8] {
        let result: Result<[UInt8], CodecError> = input.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in try decode(bytes, maxLength: maxLength) }
        }
        return try result.get()
    }

    /// One chunk: its type, where its body starts in the input and how long the body is.
    struct Chunk {
        var type: UInt8
        var offset: Int
        var bodyStart: Int
        var bodyLength: Int
    }

    /// Reads the chunk header at `offset`, checking that its body is inside the input.
    static func chunk(in input: UnsafeRawBufferPointer, at offset: Int) throws(CodecError) -> Chunk {
        guard input.count - offset >= chunkHeaderSize else {
            throw .corruptSnappy("truncated chunk header at input byte \(offset)")
        }
        let type = input[offset]
        let length = Int(input[offset + 1]) | Int(input[offset + 2]) << 8 | Int(input[offset + 3]) << 16
        let bodyStart = offset + chunkHeaderSize
        guard input.count - bodyStart >= length else {
            throw .corruptSnappy(
                "chunk at input byte \(offset) declares \(length) bytes but only \(input.count - bodyStart) remain")
        }
        return Chunk(type: type, offset: offset, bodyStart: bodyStart, bodyLength: length)
    }

    /// Validates every chunk header and returns the total uncompressed size.
    static func scan(_ input: UnsafeRawBufferPointer, maxLength: Int) throws(CodecError) -> Int {
        var offset = 0
        var total = 0
        var sawIdentifier = false
        while offset < input.count {
            let chunk = try chunk(in: input, at: offset)
            let body = UnsafeRawBufferPointer(rebasing: input[chunk.bodyStart..<(chunk.bodyStart + chunk.bodyLength)])
            if !sawIdentifier && chunk.type != 0xff {
                throw .corruptSnappy("stream does not start with the stream identifier (first chunk type 0x\(hex(chunk.type)))")
            }
            var size = 0
            switch chunk.type {
            case 0xff:
                guard body.elementsEqual(streamIdentifier[chunkHeaderSize...]) else {
                    throw .corruptSnappy("bad stream identifier at input byte \(offset)")
                }
                sawIdentifier = true
            case 0x00:
                guard chunk.bodyLength >= checksumSize else {
                    throw .corruptSnappy("compressed chunk at input byte \(offset) is shorter than its checksum")
                }
                let block = UnsafeRawBufferPointer(rebasing: body[checksumSize...])
                let header = try Snappy.decodeHeader(block)
                size = header.length
                guard size <= Snappy.maxBlockSize else {
                    throw .corruptSnappy("chunk at input byte \(offset) declares \(size) bytes, more than the 65536 allowed")
                }
                // Without this, many tiny chunks each declaring 64 KiB could make decode() allocate far
                // more than the input can describe.
                try Snappy.checkExpansion(declared: size, bodySize: block.count - header.headerSize)
            case 0x01:
                guard chunk.bodyLength >= checksumSize else {
                    throw .corruptSnappy("uncompressed chunk at input byte \(offset) is shorter than its checksum")
                }
                size = chunk.bodyLength - checksumSize
                guard size <= Snappy.maxBlockSize else {
                    throw .corruptSnappy("chunk at input byte \(offset) holds \(size) bytes, more than the 65536 allowed")
                }
            case 0x02...0x7f:
                throw .corruptSnappy("reserved unskippable chunk type 0x\(hex(chunk.type)) at input byte \(offset)")
            default:
                break  // 0x80...0xfe: skippable chunks and padding
            }
            total += size
            if total > maxLength { throw .tooLarge("snappy", limit: maxLength) }
            offset = chunk.bodyStart + chunk.bodyLength
        }
        return total
    }

    /// Decodes the data chunks of a stream that `scan` accepted into `output`, which holds the total size.
    static func decodeChunks(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>, verifyChecksums: Bool
    ) throws(CodecError) {
        var offset = 0
        var written = 0
        while offset < input.count {
            let chunk = try chunk(in: input, at: offset)
            offset = chunk.bodyStart + chunk.bodyLength
            guard chunk.type <= 0x01 else { continue }
            guard let base = output.baseAddress else { preconditionFailure("decode() allocates at least one byte") }
            let expected = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: chunk.bodyStart, as: UInt32.self))
            let dataStart = chunk.bodyStart + checksumSize
            let data = UnsafeRawBufferPointer(rebasing: input[dataStart..<offset])
            let destination = UnsafeMutableRawPointer(base + written)
            let size: Int
            if chunk.type == 0x00 {
                let header = try Snappy.decodeHeader(data)
                size = header.length
                guard size <= output.count - written else {
                    preconditionFailure("scan() added up every chunk's declared size")
                }
                let elements = UnsafeRawBufferPointer(rebasing: data[header.headerSize...])
                if let failure = Snappy.decodeBlock(elements, into: destination, count: size) {
                    throw failure.error(headerSize: dataStart + header.headerSize)
                }
            } else {
                size = data.count
                guard size <= output.count - written else {
                    preconditionFailure("scan() added up every chunk's declared size")
                }
                if let source = data.baseAddress { destination.copyMemory(from: source, byteCount: size) }
            }
            let actual = verifyChecksums ? CRC32C.masked(UnsafeRawBufferPointer(start: destination, count: size)) : expected
            guard actual == expected else {
                throw .corruptSnappy(
                    "checksum mismatch in chunk at input byte \(chunk.offset): stored 0x\(hex(expected)), computed 0x\(hex(actual))")
            }
            written += size
        }
    }

    static func hex<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, MemoryLayout<T>.size * 2 - digits.count)) + digits
    }
}
