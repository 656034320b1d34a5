import Wire

/// One stream held in an ingester's memory: the chunk being appended to and the closed chunks waiting to be
/// flushed.
///
/// Owned by one ingester shard.
// @unchecked Sendable invariant: every field is read and written only under the owning shard's lock.
final class MemoryStream: @unchecked Sendable {  // invariant: touched only under the owning shard's lock
    let tenant: String
    let labels: LabelSet
    let fingerprint: UInt64
    /// `labels.description`, kept for error messages and responses.
    let labelsText: String

    /// The chunk entries are appended to; nil right after a cut until the next entry arrives.
    var head: MemChunk?
    /// Wall-clock time the head chunk was created and last appended to (nanoseconds).
    var headCreated: Int64 = 0
    var lastAppend: Int64 = 0
    /// Chunks no longer appended to but not yet encoded: the flush loop encodes them without the shard lock.
    var sealed: [SealedChunk] = []
    /// Closed chunks, encoded, waiting for (or recently done with) their flush.
    var closed: [ClosedChunk] = []
    /// The newest entry timestamp ever accepted (Loki's out-of-order window is measured from it).
    var newest: Int64 = .min
    var rate: TokenBucket
    /// The counter of the newest entry appended (see ``WALRecord``), and of the head chunk's first entry.
    var lastCounter: Int64 = 0
    var headFirstCounter: Int64 = 0
    /// What the head chunk takes (``MemChunk/heldBytes`` when last counted), as counted in the ingester's memory
    /// figure.
    var headBytes = 0
    /// Whether the WAL holds this stream's series record since the stream was created in memory.
    var seriesLogged = false

    init(tenant: String, labels: LabelSet, fingerprint: UInt64, rate: TokenBucket) {
        self.tenant = tenant
        self.labels = labels
        self.fingerprint = fingerprint
        self.labelsText = labels.description
        self.rate = rate
    }

    var isEmpty: Bool { head == nil && sealed.isEmpty && closed.isEmpty }

    /// The chunks not yet encoded, which queries read entry by entry: the sealed ones, then the head.
    var openChunks: [MemChunk] { sealed.map(\.chunk) + (head.map { [$0] } ?? []) }
}

/// A head chunk that was closed and waits to be encoded. Queries read it like a head chunk.
struct SealedChunk: Sendable {
    let chunk: MemChunk
    let reason: FlushReason
    let counters: ClosedRange<Int64>
    /// What it counts for in the ingester's memory figure (its head bytes) until its encoded form replaces it.
    let heldBytes: Int
}

/// A chunk that is no longer appended to: its stored object bytes, ready to be written.
struct ClosedChunk: Sendable {
    let ref: ChunkRef
    let bytes: [UInt8]
    let reason: FlushReason
    /// The counters of the entries in the chunk (they are consecutive among the stream's counters).
    let counters: ClosedRange<Int64>
    /// Wall-clock time of a successful flush; nil while it still has to be written.
    var flushedAt: Int64?
}
