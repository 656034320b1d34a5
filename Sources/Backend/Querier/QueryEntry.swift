import Wire

/// One log entry in a query result.
public struct QueryEntry: Sendable, Equatable {
    public var timestamp: Int64
    public var line: [UInt8]
    public var structuredMetadata: [LabelPair]
    /// The labels a pipeline parsed, with `__error__`: only for a query that asks for categorized labels.
    public var parsed: [LabelPair]

    public init(timestamp: Int64, line: [UInt8], structuredMetadata: [LabelPair] = [], parsed: [LabelPair] = []) {
        self.timestamp = timestamp
        self.line = line
        self.structuredMetadata = structuredMetadata
        self.parsed = parsed
    }

    /// An entry a pipeline kept: its rewritten line, or `line` as read.
    init(_ kept: PipelineEntry, timestamp: Int64, line: @autoclosure () -> [UInt8]) {
        self.init(timestamp: timestamp, line: kept.rewrittenLine ?? line(),
                  structuredMetadata: kept.structuredMetadata, parsed: kept.parsed)
    }
}

/// One stream of a query result, entries in the query's direction.
public struct ResultStream: Sendable {
    public var labels: LabelSet
    public var entries: [QueryEntry]
}

/// What a query read, reported in the response's `stats` object with Loki's field names.
public struct QueryStats: Sendable {
    public var bytesProcessed = 0
    public var linesProcessed = 0
    public var postFilterLines = 0
    public var structuredMetadataBytes = 0
    public var chunksRefs = 0
    public var chunksDownloaded = 0
    public var compressedBytes = 0
    public var decompressedBytes = 0
    public var ingesterBytes = 0
    public var ingesterLines = 0
    public var ingesterChunks = 0
    public var entriesReturned = 0
    /// Pieces the frontend split the query into.
    public var splits = 0
    /// Shard queries the frontend ran, over all pieces (0 when no piece was sharded).
    public var shards = 0
    public var execTime: Duration = .zero

    public init() {}

    mutating func add(_ other: QueryStats) {
        bytesProcessed += other.bytesProcessed
        linesProcessed += other.linesProcessed
        postFilterLines += other.postFilterLines
        structuredMetadataBytes += other.structuredMetadataBytes
        chunksRefs += other.chunksRefs
        chunksDownloaded += other.chunksDownloaded
        compressedBytes += other.compressedBytes
        decompressedBytes += other.decompressedBytes
        ingesterBytes += other.ingesterBytes
        ingesterLines += other.ingesterLines
        ingesterChunks += other.ingesterChunks
    }
}
