import Wire

extension Ingester {
    /// The figures of one chunk the ingester holds, for index statistics and volumes. Times are milliseconds, both
    /// inclusive (Loki's `model.Time`).
    public struct ChunkFigures: Sendable, Equatable {
        public var from: Int64
        public var through: Int64
        public var entries: Int
        /// Uncompressed bytes: lines plus structured metadata, as a stored chunk's `uncompressedSize`.
        public var bytes: Int
        /// The stored chunk's checksum for a closed chunk (which the index may list too, once flushed); nil for
        /// the head chunk and chunks not yet encoded, which only the ingester has.
        public var checksum: UInt32?
    }

    /// Every in-memory chunk of `tenant` overlapping [from, through] milliseconds, per stream. Only plain figures
    /// are read under the shard locks; the caller matches labels afterwards.
    public func chunkFigures(tenant: String, from: Int64, through: Int64) -> [(labels: LabelSet, fingerprint: UInt64, chunks: [ChunkFigures])] {
        var result: [(labels: LabelSet, fingerprint: UInt64, chunks: [ChunkFigures])] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (key, stream) in shard.streams where key.tenant == tenant {
                    var chunks: [ChunkFigures] = []
                    for chunk in stream.closed where chunk.ref.through >= from && chunk.ref.from <= through {
                        chunks.append(ChunkFigures(from: chunk.ref.from, through: chunk.ref.through,
                                                   entries: chunk.ref.entries, bytes: chunk.ref.uncompressedSize,
                                                   checksum: chunk.ref.checksum))
                    }
                    for chunk in stream.openChunks where chunk.entryCount > 0 {
                        let bounds = chunk.bounds
                        let fromMs = bounds.from / 1_000_000
                        let throughMs = bounds.through / 1_000_000
                        guard throughMs >= from && fromMs <= through else { continue }
                        chunks.append(ChunkFigures(from: fromMs, through: throughMs, entries: chunk.entryCount,
                                                   bytes: chunk.uncompressedSize, checksum: nil))
                    }
                    if !chunks.isEmpty { result.append((stream.labels, key.fingerprint, chunks)) }
                }
            }
        }
        return result
    }
}
