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
    /// `ingester.wal`.
    public var wal = WALSettings()
    /// `memory_ceiling` (Estuary's own key): pushes are refused with 503 while the chunks held in memory (head
    /// chunks' raw lines, closed chunks encoded) take more than this many bytes; 0 means no ceiling.
    public var memoryCeiling = 0

    public init() {}
}

/// `ingester.wal`: the write-ahead log that makes an acknowledged push survive a crash.
public struct WALSettings: Sendable, Equatable {
    /// `enabled`: with it off, a push is acknowledged once it is in memory, and a crash loses what was not flushed.
    public var enabled = true
    /// `dir`: where segments and checkpoints are written.
    public var directory = "wal"
    /// `checkpoint_duration`: how often the in-memory streams are written to a checkpoint, after which the segments
    /// it covers are deleted.
    public var checkpointDuration: Duration = .seconds(300)
    /// `flush_on_shutdown`: flush every chunk to the store on a clean stop; when false (Loki's default) a clean stop
    /// writes a checkpoint and the next start replays it.
    public var flushOnShutdown = false
    /// `replay_memory_ceiling`: replay flushes to the store whenever the ingester holds more than this.
    public var replayMemoryCeiling = 4 << 30
    /// `disk_full_threshold`: pushes are refused while the WAL's filesystem is fuller than this fraction.
    public var diskFullThreshold = 0.90
    /// `sync_policy` (Estuary's own key): when the log is forced to the disk.
    public var syncPolicy: WALSyncPolicy = .segment
    /// Segment size: a segment is finished (and synced) once it is this large.
    public var segmentSize = 128 << 20

    public init() {}
}

/// Why a chunk was flushed: the `reason` label of `loki_ingester_chunks_flushed_total`.
public enum FlushReason: String, Sendable, CaseIterable {
    case full
    case idle
    case maxAge = "max_age"
    case forced
}
