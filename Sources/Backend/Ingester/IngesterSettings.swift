/// The `ingester` block of the config, in the units the ingester uses (bytes, nanoseconds).
public struct IngesterSettings: Sendable, Equatable {
    public var chunkEncoding: ChunkEncoding = .snappy
    public var blockSize: Int = 262_144
    public var targetSize: Int = 1_572_864
    public var idlePeriod: Int64 = 30 * 60 * 1_000_000_000
    public var maxChunkAge: Int64 = 2 * 3600 * 1_000_000_000
    public var flushCheckPeriod: Duration = .seconds(30)
    public var concurrentFlushes: Int = 32
    /// How long a flushed chunk stays queryable in memory (`chunk_retain_period`).
    public var retainPeriod: Int64 = 0

    public init() {}
}

/// Why a chunk was flushed: the `reason` label of `loki_ingester_chunks_flushed_total`.
public enum FlushReason: String, Sendable, CaseIterable {
    case full
    case idle
    case maxAge = "max_age"
    case forced
}
