import Wire

/// One immutable index object: the series and chunk references of one flush, for one tenant and one 24h period.
///
/// Layout (see `docs/index.md`): `"EIDX" | version u8 | uvarint #series | series... | CRC32-C (u32 BE)`, where a
/// series is `fingerprint u64 BE | uvarint #labels | (uvarint len | name | uvarint len | value)... | uvarint
/// #chunks | chunk...` and a chunk is `varint from | varint through | checksum u32 BE | uvarint size | uvarint
/// entries | uvarint uncompressed size`.
enum IndexSegment {
    static let magic: [UInt8] = Array("EIDX".utf8)
    static let version: UInt8 = 1

    struct FormatError: Error, CustomStringConvertible {
        let key: String
        let why: String
        var description: String { "index object \(key): \(why)" }
    }

    static func encode(tenant: String, _ entries: [SeriesChunks]) -> [UInt8] {
        var out = ByteWriter(capacity: 64 + entries.count * 128)
        out.append(magic)
        out.byte(version)
        out.uvarint(entries.count)
        for series in entries {
            out.be64(series.fingerprint)
            out.uvarint(series.labels.count)
            for pair in series.labels {
                out.uvarint(pair.name.utf8.count)
                out.append(pair.name.utf8)
                out.uvarint(pair.value.utf8.count)
                out.append(pair.value.utf8)
            }
            out.uvarint(series.chunks.count)
            for chunk in series.chunks {
                out.varint(chunk.from)
                out.varint(chunk.through)
                out.be32(chunk.checksum)
                out.uvarint(chunk.size)
                out.uvarint(chunk.entries)
                out.uvarint(chunk.uncompressedSize)
            }
        }
        out.be32(CRC32C.checksum(out.bytes))
        return out.bytes
    }

    static func decode(_ bytes: [UInt8], tenant: String, key: String) throws -> [SeriesChunks] {
        try bytes.withUnsafeBytes { raw in
            guard raw.count >= 9, Array(raw[0..<4]) == magic else { throw FormatError(key: key, why: "not an index object") }
            guard raw[4] == version else { throw FormatError(key: key, why: "unsupported version \(raw[4])") }
            let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)])
            let stored = raw.loadUnaligned(fromByteOffset: raw.count - 4, as: UInt32.self).bigEndian
            guard CRC32C.checksum(body) == stored else { throw FormatError(key: key, why: "checksum mismatch") }
            var reader = ByteReader(body, from: 5)
            do {
                let count = try reader.length("series count", limit: body.count)
                var result: [SeriesChunks] = []
                result.reserveCapacity(count)
                for _ in 0..<count {
                    let fingerprint = try reader.be64("fingerprint")
                    let labelCount = try reader.length("label count", limit: reader.remaining)
                    var labels: [LabelPair] = []
                    labels.reserveCapacity(labelCount)
                    for _ in 0..<labelCount {
                        let name = try reader.string(try reader.length("name length", limit: reader.remaining))
                        let value = try reader.string(try reader.length("value length", limit: reader.remaining))
                        labels.append(LabelPair(name: name, value: value))
                    }
                    let chunkCount = try reader.length("chunk count", limit: reader.remaining)
                    var chunks: [ChunkRef] = []
                    chunks.reserveCapacity(chunkCount)
                    for _ in 0..<chunkCount {
                        let from = try reader.varint("from")
                        let through = try reader.varint("through")
                        let checksum = try reader.be32("checksum")
                        let size = try reader.length("size", limit: Int.max)
                        let entries = try reader.length("entries", limit: Int.max)
                        let uncompressed = try reader.length("uncompressed size", limit: Int.max)
                        chunks.append(ChunkRef(tenant: tenant, fingerprint: fingerprint, from: from, through: through,
                                               checksum: checksum, size: size, entries: entries,
                                               uncompressedSize: uncompressed))
                    }
                    result.append(SeriesChunks(labels: labels, fingerprint: fingerprint, chunks: chunks))
                }
                return result
            } catch let error as ByteReader.Truncated {
                throw FormatError(key: key, why: error.description)
            }
        }
    }
}
