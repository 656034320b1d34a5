import Wire

/// Answers log and label queries by merging the ingester's memory with the chunks in the object store.
///
/// Called from HTTP handlers, any number at once; it holds no state of its own beyond what it is given.
/// Chunks are read newest-first (or oldest-first, by direction) a few at a time; once `limit` entries are in
/// hand, chunks that cannot hold anything nearer are skipped, so a `limit`ed query reads only what it needs.
public struct Querier: Sendable {
    let ingester: Ingester
    let index: any IndexReader
    let chunks: ChunkStore
    let parallelism: Int
    let buffers: ScanBufferPool

    public init(ingester: Ingester, index: any IndexReader, chunks: ChunkStore, parallelism: Int = 4) {
        self.ingester = ingester
        self.index = index
        self.chunks = chunks
        self.parallelism = max(1, parallelism)
        buffers = ScanBufferPool(keeping: 2 * self.parallelism)
    }

    /// A chunk to read: held in memory (the ingester's closed chunks) or in the store.
    private struct ChunkSource: Sendable {
        let stream: Int
        let labels: LabelSet
        let ref: ChunkRef
        let bytes: [UInt8]?
        /// Delete requests that hide some of the stream's lines.
        let deletes: StreamDeletes?
    }

    /// An entry found by the scan, tagged with its stream.
    private struct Found: Sendable {
        let stream: Int
        let entry: QueryEntry
        /// The labels the query's pipeline gave the entry; nil without a pipeline (the stream's, plus metadata).
        var labels: LabelSet? = nil
    }

    public func selectLogs(_ query: LogQuery) async throws -> (streams: [ResultStream], stats: QueryStats) {
        let started = ContinuousClock.now
        let matchers = query.matchers
        let filters = query.lineFilters
        var stats = QueryStats()
        var streams: [LabelSet] = []
        var streamIndex: [UInt64: [(LabelSet, Int)]] = [:]
        func slot(_ labels: LabelSet, _ fingerprint: UInt64) -> Int {
            if let found = streamIndex[fingerprint]?.first(where: { $0.0 == labels }) { return found.1 }
            streams.append(labels)
            streamIndex[fingerprint, default: []].append((labels, streams.count - 1))
            return streams.count - 1
        }

        var found: [Found] = []
        var sources: [ChunkSource] = []
        var seen = Set<ChunkIdentity>()
        // With a pipeline, the limit applies to what it keeps: the head is read whole.
        let snapshots = try ingester.snapshot(
            tenant: query.tenant, from: query.start, through: query.end, direction: query.direction,
            limit: query.pipeline == nil ? query.limit : .max,
            matches: { labels in matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") } },
            lineFilter: { filters.matches($0) })
        for snapshot in snapshots {
            let s = slot(snapshot.labels, snapshot.fingerprint)
            let deletes = query.deletes.forStream(snapshot.labels)
            stats.ingesterBytes += snapshot.headBytesScanned
            stats.ingesterLines += snapshot.headLinesScanned
            let head = snapshot.headEntries.filter { deletes?.deletes($0) != true }
            if let pipeline = query.pipeline {
                let stream = pipeline.stream(labels: snapshot.labels)
                for entry in head {
                    guard let kept = entry.line.withUnsafeBytes({
                        stream.logEntry(timestamp: entry.timestamp, line: $0, metadata: entry.structuredMetadata,
                                        categorize: query.categorizeLabels)
                    }) else { continue }
                    found.append(Found(stream: s, entry: QueryEntry(kept, timestamp: entry.timestamp,
                                                                    line: entry.line),
                                       labels: kept.labels))
                    stats.postFilterLines += 1
                }
            } else {
                stats.postFilterLines += head.count
                found.append(contentsOf: head.map { Found(stream: s, entry: $0) })
            }
            for chunk in snapshot.closedChunks where seen.insert(ChunkIdentity(chunk.ref)).inserted {
                sources.append(ChunkSource(stream: s, labels: snapshot.labels, ref: chunk.ref, bytes: chunk.bytes,
                                       deletes: deletes))
                stats.ingesterChunks += 1
            }
        }
        let stored = try await index.series(
            tenant: query.tenant, from: query.start / 1_000_000, through: query.end.saturatingSubtracting(1) / 1_000_000,
            matching: { pairs in Self.matches(matchers, pairs) })
        for series in stored {
            let labels = LabelSet(series.labels)
            let s = slot(labels, series.fingerprint)
            let deletes = query.deletes.forStream(labels)
            for ref in series.chunks where seen.insert(ChunkIdentity(ref)).inserted {
                sources.append(ChunkSource(stream: s, labels: labels, ref: ref, bytes: nil, deletes: deletes))
                stats.chunksRefs += 1
            }
        }

        // Entries at the same time are ordered by their stream's labels, so that the entries kept at the limit do
        // not depend on the order streams were found in (the frontend's pieces find them in other orders).
        let rank = Self.ranks(streams)

        // Nearest chunks first, so that the limit is reached early and the rest can be skipped.
        switch query.direction {
        case .backward: sources.sort { $0.ref.through > $1.ref.through }
        case .forward: sources.sort { $0.ref.from < $1.ref.from }
        }
        var position = 0
        while position < sources.count {
            if found.count >= query.limit {
                found = Self.best(found, limit: query.limit, direction: query.direction, rank: rank)
                if let boundary = found.last?.entry.timestamp {
                    // Drop chunks that lie wholly beyond the farthest entry kept.
                    sources = Array(sources[position...]).filter { source in
                        switch query.direction {
                        case .backward: source.ref.through.saturatingMultiplied(by: 1_000_000).saturatingAdding(999_999) >= boundary
                        case .forward: source.ref.from.saturatingMultiplied(by: 1_000_000) <= boundary
                        }
                    }
                    position = 0
                    if sources.isEmpty { break }
                }
            }
            try Task.checkCancellation()
            let batch = Array(sources[position..<min(sources.count, position + parallelism)])
            position += batch.count
            let results = try await withThrowingTaskGroup(of: ([Found], QueryStats).self) { group in
                for source in batch {
                    group.addTask { try await scan(source, query: query) }
                }
                var all: [([Found], QueryStats)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (entries, chunkStats) in results {
                found.append(contentsOf: entries)
                stats.add(chunkStats)
            }
        }
        found = Self.best(found, limit: query.limit, direction: query.direction, rank: rank)

        var grouped: [LabelSet: [QueryEntry]] = [:]
        for item in found { grouped[item.labels ?? streams[item.stream], default: []].append(item.entry) }
        var result = grouped.map { ResultStream(labels: $0.key, entries: $0.value) }
        result.sort { $0.labels.description < $1.labels.description }
        stats.bytesProcessed += stats.ingesterBytes
        stats.linesProcessed += stats.ingesterLines
        stats.entriesReturned = found.count
        stats.execTime = ContinuousClock.now - started
        return (result, stats)
    }

    /// Reads one chunk and returns its matching entries (at most `limit`, nearest first) and what it read.
    private func scan(_ source: ChunkSource, query: LogQuery) async throws -> ([Found], QueryStats) {
        var stats = QueryStats()
        let chunk = try await load(source.ref, held: source.bytes, stats: &stats)
        var found: [Found] = []
        var scannedBytes = 0
        var scannedLines = 0
        let filters = query.lineFilters
        let deletes = source.deletes
        let limit = query.limit
        var scratch = buffers.take()
        defer { buffers.give(scratch) }
        let pipeline = query.pipeline.map { $0.stream(labels: source.labels) }
        var skippedBytes = 0
        var skippedLines = 0
        // Blocks whose sketches rule out a literal the line filters need are not decompressed.
        let ruledOut: ((BlockSummary) -> Bool)? = filters.requiredLiterals.map { literals in
            { block in
                guard !block.mayMatch(literals) else { return false }
                skippedBytes += block.uncompressedSize
                skippedLines += block.entries
                return true
            }
        }
        try chunk.forEachEntry(from: query.start, through: query.end, direction: query.direction, scratch: &scratch,
                               takesWholeBlock: ruledOut) {
            ts, line, metadata in
            scannedBytes += line.count
            scannedLines += 1
            if let pipeline {
                guard filters.matches(line), deletes?.deletes(timestamp: ts, line: line) != true,
                      let kept = pipeline.logEntry(timestamp: ts, line: line, metadata: try metadata.resolve(),
                                                   categorize: query.categorizeLabels)
                else { return true }
                found.append(Found(stream: source.stream, entry: QueryEntry(kept, timestamp: ts, line: Array(line)),
                                   labels: kept.labels))
            } else if filters.matches(line), deletes?.deletes(timestamp: ts, line: line) != true {
                found.append(Found(stream: source.stream,
                                   entry: QueryEntry(timestamp: ts, line: Array(line),
                                                     structuredMetadata: try metadata.resolve())))
            }
            return found.count < limit
        }
        if source.bytes == nil {
            stats.bytesProcessed = scannedBytes + skippedBytes
            stats.linesProcessed = scannedLines + skippedLines
            stats.decompressedBytes = scannedBytes
        } else {
            stats.ingesterBytes = scannedBytes + skippedBytes
            stats.ingesterLines = scannedLines + skippedLines
        }
        stats.postFilterLines = found.count
        return (found, stats)
    }

    /// A chunk from the ingester's memory (`held`) or from the store, counted as downloaded in `stats` when it came
    /// from the store.
    func load(_ ref: ChunkRef, held: [UInt8]?, stats: inout QueryStats) async throws -> MemChunk {
        let bytes: [UInt8]
        if let held {
            bytes = held
        } else {
            bytes = try await chunks.get(ref)
            stats.chunksDownloaded = 1
            stats.compressedBytes = bytes.count
        }
        return try ChunkObject.decode(bytes).chunk
    }

    /// The `limit` nearest entries in the query's order, exact duplicates (same stream, time and line) removed.
    private static func best(_ entries: [Found], limit: Int, direction: Direction, rank: [Int]) -> [Found] {
        let sorted = entries.sorted { a, b in
            if a.entry.timestamp != b.entry.timestamp {
                return direction == .backward ? a.entry.timestamp > b.entry.timestamp
                                              : a.entry.timestamp < b.entry.timestamp
            }
            if a.stream != b.stream { return rank[a.stream] < rank[b.stream] }
            return a.entry.line.lexicographicallyPrecedes(b.entry.line)
        }
        var result: [Found] = []
        result.reserveCapacity(min(limit, sorted.count))
        for item in sorted {
            if let last = result.last, last.stream == item.stream, last.labels == item.labels,
               last.entry.timestamp == item.entry.timestamp,
               last.entry.line == item.entry.line {
                continue
            }
            result.append(item)
            if result.count == limit { break }
        }
        return result
    }

    /// Each stream's position when the streams are ordered by their labels.
    private static func ranks(_ streams: [LabelSet]) -> [Int] {
        var rank = Array(repeating: 0, count: streams.count)
        let ordered = streams.indices.sorted { VectorOperations.less(streams[$0], streams[$1]) }
        for (position, stream) in ordered.enumerated() {
            rank[stream] = position
        }
        return rank
    }

    static func matches(_ matchers: [LabelMatcher], _ pairs: [LabelPair]) -> Bool {
        matchers.allSatisfy { matcher in
            matcher.matches(pairs.first(where: { $0.name == matcher.name })?.value ?? "")
        }
    }

    // MARK: Labels and series

    /// Label names of the tenant's streams with data in [start, end) nanoseconds, optionally only of streams that
    /// match `matchers`; sorted.
    public func labelNames(
        tenant: String, start: Int64, end: Int64, matchers: [LabelMatcher]? = nil
    ) async throws -> [String] {
        if let matchers {
            let found = try await series(tenant: tenant, selectors: [matchers], start: start, end: end)
            return Set(found.flatMap { $0.pairs.map(\.name) }).sorted()
        }
        var names = Set(try await index.labelNames(tenant: tenant, from: start / 1_000_000,
                                                   through: end.saturatingSubtracting(1) / 1_000_000))
        for labels in ingester.series(tenant: tenant, from: start, through: end) {
            for pair in labels.pairs { names.insert(pair.name) }
        }
        return names.sorted()
    }

    /// Values of one label over the tenant's streams with data in [start, end), optionally only streams that
    /// match `matchers`; sorted.
    public func labelValues(
        tenant: String, name: String, start: Int64, end: Int64, matchers: [LabelMatcher]? = nil
    ) async throws -> [String] {
        if let matchers {
            let found = try await series(tenant: tenant, selectors: [matchers], start: start, end: end)
            return Set(found.compactMap { $0[name] }).sorted()
        }
        var values = Set(try await index.labelValues(tenant: tenant, name: name, from: start / 1_000_000,
                                                     through: end.saturatingSubtracting(1) / 1_000_000))
        for labels in ingester.series(tenant: tenant, from: start, through: end) {
            if let value = labels[name] { values.insert(value) }
        }
        return values.sorted()
    }

    /// Streams with data in [start, end) that match any of the selectors (each a list of matchers), deduplicated.
    public func series(tenant: String, selectors: [[LabelMatcher]], start: Int64, end: Int64) async throws -> [LabelSet] {
        let anyMatch: @Sendable ([LabelPair]) -> Bool = { pairs in
            selectors.isEmpty || selectors.contains { Self.matches($0, pairs) }
        }
        var result = Set<LabelSet>()
        for labels in ingester.series(tenant: tenant, from: start, through: end) where anyMatch(labels.pairs) {
            result.insert(labels)
        }
        let stored = try await index.series(tenant: tenant, from: start / 1_000_000, through: end.saturatingSubtracting(1) / 1_000_000,
                                            matching: anyMatch)
        for series in stored { result.insert(LabelSet(series.labels)) }
        return result.sorted { $0.description < $1.description }
    }
}

/// A chunk's identity for de-duplication: the same chunk may be both in memory and already in the index.
struct ChunkIdentity: Hashable {
    let fingerprint: UInt64
    let from: Int64
    let through: Int64
    let checksum: UInt32

    init(_ ref: ChunkRef) {
        fingerprint = ref.fingerprint
        from = ref.from
        through = ref.through
        checksum = ref.checksum
    }
}
