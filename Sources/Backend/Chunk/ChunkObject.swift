import Foundation
import Wire

/// Why stored chunk bytes could not be read.
public enum ChunkFormatError: Error, CustomStringConvertible {
    case truncated(String)
    case badMagic(UInt32)
    case unsupportedVersion(UInt8)
    case unsupportedEncoding(UInt8)
    case checksumMismatch(String)
    case corruptBlock(String)
    case badHeader(String)

    public var description: String {
        switch self {
        case .truncated(let what): "chunk: \(what)"
        case .badMagic(let magic): "chunk: invalid magic number \(String(magic, radix: 16)), expected 12ee56a"
        case .unsupportedVersion(let version): "chunk: unsupported chunk format version \(version) (3 and 4 are read)"
        case .unsupportedEncoding(let byte): "chunk: unsupported block encoding \(byte)"
        case .checksumMismatch(let what): "chunk: checksum mismatch in \(what)"
        case .corruptBlock(let why): "chunk: corrupt block: \(why)"
        case .badHeader(let why): "chunk: invalid object header: \(why)"
        }
    }
}

/// A chunk as stored in the object store: Loki's external chunk encoding (`chunk.Chunk.Encode`), so that Loki's
/// tools can read our objects and we can read theirs.
///
/// Layout (all integers big-endian; see `docs/storage.md`):
/// `u32 header length (incl. itself) | snappy-framed JSON header | u32 data length | MemChunk bytes`.
/// The object's checksum (the last part of its key) is CRC32-C over all of it.
public enum ChunkObject {
    /// Loki's chunk magic number and the formats we write and read.
    static let magic: UInt32 = 0x012E_E56A
    static let formatV3: UInt8 = 3
    static let formatV4: UInt8 = 4
    /// `encoding.Encoding` of a Loki log chunk in the JSON header (`chunkenc.LogChunk`).
    static let logChunkEncoding = 129

    /// What a stored chunk says about itself.
    public struct Decoded: Sendable {
        public var tenant: String
        public var fingerprint: UInt64
        /// Milliseconds, as in the header.
        public var from: Int64
        public var through: Int64
        public var labels: LabelSet
        public var chunk: MemChunk
    }

    /// Closes `chunk` (cuts its head) and encodes it with its stream's identity. The returned reference names the
    /// object and is what the index records.
    public static func encode(tenant: String, labels: LabelSet, chunk: MemChunk) throws -> (ref: ChunkRef, bytes: [UInt8]) {
        chunk.close()
        let (fromNs, throughNs) = chunk.bounds
        // Loki's `RoundToMilliseconds`: from rounds down, through rounds up.
        let from = floorDiv(fromNs, 1_000_000)
        let (throughQuotient, throughRemainder) = throughNs.quotientAndRemainder(dividingBy: 1_000_000)
        let through = throughRemainder > 0 ? throughQuotient + 1 : throughQuotient
        let fingerprint = labels.fingerprint
        let data = encodeData(chunk)

        var header = JSONWriter()
        header.raw("{\"fingerprint\":")
        header.raw(String(fingerprint))
        header.raw(",\"userID\":")
        header.string(tenant)
        header.raw(",\"from\":")
        header.raw(modelTime(from))
        header.raw(",\"through\":")
        header.raw(modelTime(through))
        header.raw(",\"metric\":")
        var metric = labels.pairs
        metric.append(LabelPair(name: "__name__", value: "logs"))
        metric.sort { $0.name < $1.name }
        header.object(metric)
        header.raw(",\"encoding\":")
        header.number(logChunkEncoding)
        header.raw("}\n")
        let compressedHeader = SnappyFramed.encode(header.bytes)

        var out = ByteWriter(capacity: 8 + compressedHeader.count + data.count)
        out.be32(UInt32(4 + compressedHeader.count))
        out.append(compressedHeader)
        out.be32(UInt32(data.count))
        out.append(data)
        let checksum = CRC32C.checksum(out.bytes)
        let ref = ChunkRef(
            tenant: tenant, fingerprint: fingerprint, from: from, through: through, checksum: checksum,
            size: out.count, entries: chunk.entryCount, uncompressedSize: chunk.uncompressedSize)
        return (ref, out.bytes)
    }

    /// Reads a stored chunk object.
    public static func decode(_ bytes: [UInt8]) throws -> Decoded {
        try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            do {
                let headerLength = Int(try reader.be32("header length"))
                guard headerLength >= 4, headerLength <= raw.count else {
                    throw ChunkFormatError.badHeader("header length \(headerLength) outside the object of \(raw.count) bytes")
                }
                let headerBytes = try reader.bytes(headerLength - 4, "header")
                let dataLength = Int(try reader.be32("data length"))
                let data = try reader.bytes(dataLength, "chunk data")
                let header = try parseHeader(headerBytes)
                let chunk = try decodeData(data)
                return Decoded(tenant: header.tenant, fingerprint: header.fingerprint, from: header.from,
                               through: header.through, labels: header.labels, chunk: chunk)
            } catch let error as ByteReader.Truncated {
                throw ChunkFormatError.truncated(error.description)
            }
        }
    }

    // MARK: Header

    private struct Header {
        var tenant: String
        var fingerprint: UInt64
        var from: Int64
        var through: Int64
        var labels: LabelSet
    }

    private static func parseHeader(_ compressed: UnsafeRawBufferPointer) throws -> Header {
        let json: [UInt8]
        do {
            json = try SnappyFramed.decode(compressed, maxLength: 16 << 20)
        } catch {
            throw ChunkFormatError.badHeader("\(error)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw ChunkFormatError.badHeader("not a JSON object")
        }
        guard let tenant = object["userID"] as? String,
              let fingerprint = (object["fingerprint"] as? NSNumber)?.uint64Value,
              let from = (object["from"] as? NSNumber)?.doubleValue,
              let through = (object["through"] as? NSNumber)?.doubleValue,
              let metric = object["metric"] as? [String: String]
        else { throw ChunkFormatError.badHeader("missing userID, fingerprint, from, through or metric") }
        // Stored bytes are untrusted too: a time that is not a number of milliseconds is corruption, not a trap.
        guard let fromMs = Int64(checkedTruncating: (from * 1000).rounded()),
              let throughMs = Int64(checkedTruncating: (through * 1000).rounded())
        else { throw ChunkFormatError.badHeader("from \(from) or through \(through) is not a time in milliseconds") }
        let pairs = metric.filter { $0.key != "__name__" }.map { LabelPair(name: $0.key, value: $0.value) }
        return Header(tenant: tenant, fingerprint: fingerprint, from: fromMs, through: throughMs,
                      labels: LabelSet(pairs))
    }

    /// Prometheus `model.Time` as JSON: seconds with the milliseconds as a decimal fraction.
    static func modelTime(_ ms: Int64) -> String {
        let seconds = floorDiv(ms, 1000)
        let fraction = ms - seconds * 1000
        guard fraction != 0 else { return String(seconds) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(seconds).\(digits)"
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    // MARK: Chunk data (MemChunk bytes)

    /// MemChunk v4 bytes: header, blocks with CRCs, structured metadata symbols, block metas, section trailer.
    static func encodeData(_ chunk: MemChunk) -> [UInt8] {
        var out = ByteWriter(capacity: chunk.blocks.reduce(64) { $0 + $1.data.count + 32 })
        out.be32(magic)
        out.byte(formatV4)
        out.byte(chunk.encoding.byte)
        var offsets: [Int] = []
        for block in chunk.blocks {
            offsets.append(out.count)
            out.append(block.data)
            out.be32(CRC32C.checksum(block.data))
        }
        // Estuary's block sketches, between the blocks and the symbols: Loki finds every section by its offset, so
        // it never reads these bytes.
        if let sketches = BlockSketchSection.encode(chunk.blocks.map(\.sketch)) {
            out.append(sketches)
        }

        let symbolsOffset = out.count
        var symbolsSection = ByteWriter()
        symbolsSection.uvarint(chunk.symbols.count)
        var symbolText = ByteWriter()
        for symbol in chunk.symbols {
            symbolText.uvarint(symbol.utf8.count)
            symbolText.append(symbol.utf8)
        }
        symbolsSection.append(symbolText.bytes.withUnsafeBytes { chunk.encoding.compress($0) })
        out.append(symbolsSection.bytes)
        out.be32(CRC32C.checksum(symbolsSection.bytes))

        let metasOffset = out.count
        var metas = ByteWriter()
        metas.uvarint(chunk.blocks.count)
        for (block, offset) in zip(chunk.blocks, offsets) {
            metas.uvarint(block.entries)
            metas.varint(block.mint)
            metas.varint(block.maxt)
            metas.uvarint(offset)
            metas.uvarint(block.uncompressedSize)
            metas.uvarint(block.data.count)
        }
        out.append(metas.bytes)
        out.be32(CRC32C.checksum(metas.bytes))

        out.be64(UInt64(symbolsSection.count))
        out.be64(UInt64(symbolsOffset))
        out.be64(UInt64(metas.count))
        out.be64(UInt64(metasOffset))
        return out.bytes
    }

    /// Reads MemChunk bytes of format v3 or v4. Blocks stay compressed until a query reads them.
    static func decodeData(_ raw: UnsafeRawBufferPointer) throws -> MemChunk {
        var reader = ByteReader(raw)
        let found = try reader.be32("magic number")
        guard found == magic else { throw ChunkFormatError.badMagic(found) }
        let version = try reader.byte("format version")
        guard version == formatV3 || version == formatV4 else { throw ChunkFormatError.unsupportedVersion(version) }
        let encodingByte = try reader.byte("encoding")
        guard let encoding = ChunkEncoding(byte: encodingByte) else {
            throw ChunkFormatError.unsupportedEncoding(encodingByte)
        }

        var metasRange: Range<Int>
        var symbols: [String] = []
        var symbolsStart = 0
        if version == formatV4 {
            guard raw.count >= 6 + 32 else { throw ChunkFormatError.truncated("no section trailer") }
            var trailer = ByteReader(raw, from: raw.count - 32)
            let symbolsLength = try section(&trailer, "symbols length", raw.count)
            let symbolsOffset = try section(&trailer, "symbols offset", raw.count)
            let metasLength = try section(&trailer, "metas length", raw.count)
            let metasOffset = try section(&trailer, "metas offset", raw.count)
            let symbolsRange = try checkedRange(symbolsOffset, symbolsLength, limit: raw.count - 32, "symbols")
            metasRange = try checkedRange(metasOffset, metasLength, limit: raw.count - 32, "metas")
            symbols = try decodeSymbols(raw, symbolsRange, encoding: encoding)
            symbolsStart = symbolsOffset
        } else {
            guard raw.count >= 6 + 12 else { throw ChunkFormatError.truncated("no metas trailer") }
            var trailer = ByteReader(raw, from: raw.count - 8)
            let metasOffset = try section(&trailer, "metas offset", raw.count)
            guard metasOffset <= raw.count - 12 else { throw ChunkFormatError.truncated("metas offset out of range") }
            metasRange = metasOffset..<(raw.count - 12)
        }
        try verify(raw, metasRange, "block metas")

        var metas = ByteReader(raw, from: metasRange.lowerBound, to: metasRange.upperBound)
        let count = try metas.length("block count", limit: raw.count)
        var blocks: [MemChunk.Block] = []
        blocks.reserveCapacity(count)
        var blocksEnd = 6
        for _ in 0..<count {
            let entries = try metas.length("block entries", limit: Int(Int32.max))
            let mint = try metas.varint("block mint")
            let maxt = try metas.varint("block maxt")
            let offset = try metas.length("block offset", limit: raw.count)
            let uncompressed = try metas.length("block uncompressed size", limit: Int(Int32.max))
            let length = try metas.length("block length", limit: raw.count)
            let range = try checkedRange(offset, length, limit: metasRange.lowerBound, "block")
            try verify(raw, range, "block at offset \(offset)")
            blocks.append(MemChunk.Block(data: Array(UnsafeRawBufferPointer(rebasing: raw[range])), entries: entries,
                                         mint: mint, maxt: maxt, uncompressedSize: uncompressed))
            blocksEnd = max(blocksEnd, range.upperBound + 4)
        }
        // Sketches sit between the last block and the symbols section when Estuary wrote the chunk.
        if symbolsStart > blocksEnd,
           let sketches = BlockSketchSection.decode(UnsafeRawBufferPointer(rebasing: raw[blocksEnd..<symbolsStart]),
                                                    blockCount: blocks.count)
        {
            for index in blocks.indices { blocks[index].sketch = sketches[index] }
        }
        return MemChunk(encoding: encoding, blocks: blocks, symbols: symbols)
    }

    private static func section(_ reader: inout ByteReader, _ what: String, _ limit: Int) throws -> Int {
        let value = try reader.be64(what)
        guard value <= UInt64(limit) else { throw ChunkFormatError.truncated("\(what) \(value) beyond the chunk") }
        return Int(value)
    }

    /// `offset..<offset+length`, which must leave room for a 4-byte CRC before `limit`.
    private static func checkedRange(_ offset: Int, _ length: Int, limit: Int, _ what: String) throws -> Range<Int> {
        guard offset >= 0, length >= 0, offset + length + 4 <= limit else {
            throw ChunkFormatError.truncated("\(what) section \(offset)+\(length) beyond the chunk")
        }
        return offset..<(offset + length)
    }

    /// Checks the big-endian CRC32-C that follows `range`.
    private static func verify(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ what: String) throws {
        guard range.upperBound + 4 <= raw.count else { throw ChunkFormatError.truncated("\(what) checksum") }
        let stored = raw.loadUnaligned(fromByteOffset: range.upperBound, as: UInt32.self).bigEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[range])) == stored else {
            throw ChunkFormatError.checksumMismatch(what)
        }
    }

    private static func decodeSymbols(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, encoding: ChunkEncoding) throws -> [String] {
        try verify(raw, range, "structured metadata symbols")
        var reader = ByteReader(raw, from: range.lowerBound, to: range.upperBound)
        let count = try reader.length("symbol count", limit: raw.count)
        guard count > 0 else { return [] }
        let text: [UInt8]
        do {
            text = try encoding.decompress(UnsafeRawBufferPointer(rebasing: raw[reader.offset..<range.upperBound]),
                                           maxLength: 64 << 20)
        } catch {
            throw ChunkFormatError.corruptBlock("structured metadata symbols: \(error)")
        }
        return try text.withUnsafeBytes { textRaw in
            var symbolsReader = ByteReader(textRaw)
            var symbols: [String] = []
            symbols.reserveCapacity(count)
            for _ in 0..<count {
                let length = try symbolsReader.length("symbol length", limit: textRaw.count)
                symbols.append(try symbolsReader.string(length, "symbol"))
            }
            return symbols
        }
    }
}

/// Object keys of stored chunks.
public enum ChunkKey {
    /// Schema v12+ external key: `<tenant>/<fingerprint hex>/<from hex>:<through hex>:<checksum hex>`.
    public static func external(_ ref: ChunkRef) -> String {
        "\(ref.tenant)/\(String(ref.fingerprint, radix: 16))/\(tail(ref))"
    }

    /// Loki's filesystem store key: as `external`, with the last part base64-encoded (no colons in file names).
    public static func filesystem(_ ref: ChunkRef) -> String {
        "\(ref.tenant)/\(String(ref.fingerprint, radix: 16))/\(Base64Codec.encoded(Array(tail(ref).utf8)))"
    }

    private static func tail(_ ref: ChunkRef) -> String {
        "\(hex(ref.from)):\(hex(ref.through)):\(String(ref.checksum, radix: 16))"
    }

    /// Go's `%x` of an int64 (a leading minus for negative values).
    private static func hex(_ value: Int64) -> String {
        value < 0 ? "-" + String(value.magnitude, radix: 16) : String(value, radix: 16)
    }
}
