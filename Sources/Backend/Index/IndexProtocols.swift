import Wire

/// One stream and some of its chunks: what the index stores and answers with.
public struct SeriesChunks: Sendable {
    /// The stream's labels, sorted by name.
    public var labels: [LabelPair]
    public var fingerprint: UInt64
    public var chunks: [ChunkRef]

    public init(labels: [LabelPair], fingerprint: UInt64, chunks: [ChunkRef]) {
        self.labels = labels
        self.fingerprint = fingerprint
        self.chunks = chunks
    }
}

/// Records flushed chunks. Called by the ingester's flush loop after the chunk objects are stored; when `add`
/// returns the references are durable and visible to every `IndexReader` on the same store.
public protocol IndexWriter: Sendable {
    func add(tenant: String, entries: [SeriesChunks]) async throws
}

/// Finds stored chunks by tenant, time and labels. Called by queriers, many at once. Times are milliseconds,
/// both bounds inclusive (Loki's `model.Time`).
public protocol IndexReader: Sendable {
    /// Series of `tenant` whose labels satisfy `matching`, each with its chunks that overlap [from, through].
    func series(tenant: String, from: Int64, through: Int64,
                matching: @escaping @Sendable ([LabelPair]) -> Bool) async throws -> [SeriesChunks]
    func labelNames(tenant: String, from: Int64, through: Int64) async throws -> [String]
    func labelValues(tenant: String, name: String, from: Int64, through: Int64) async throws -> [String]
}
