import Wire

/// The entries a range aggregation reads, and what it makes of each.
public struct SampleQuery: Sendable {
    public var tenant: String
    public var aggregation: RangeAggregation
    /// Entries with `from < timestamp <= through` nanoseconds, as Loki's range windows are left-open.
    public var from: Int64
    public var through: Int64
    public var deletes: DeleteFilter = .none
    /// The evaluation steps the samples feed, when known: a block no window edge cuts through is counted from its
    /// summary without being decompressed.
    public var steps: EvaluationSteps?
    /// The query's memory budget, which the samples are taken from.
    public var budget: QueryMemoryBudget?

    /// The only labels the query reads from the samples (see `MetricEvaluator.keptLabels`), or nil for all.
    public var keepLabels: Set<String>?
    /// The part of the matching streams to read, when the frontend runs the query as shards; nil for all.
    public var shard: StreamShard?

    public init(tenant: String, aggregation: RangeAggregation, from: Int64, through: Int64) {
        self.tenant = tenant
        self.aggregation = aggregation
        self.from = from
        self.through = through
    }
}

extension Querier {
    /// The samples of one range aggregation: for every entry of the matching streams in the span that the
    /// pipeline keeps, its series (stream labels, structured metadata and extracted labels) and value (1 for
    /// counting, the line's bytes, or the unwrapped value), series sorted by time.
    public func selectSamples(_ query: SampleQuery) async throws -> (series: [SeriesSamples], stats: QueryStats) {
        let started = ContinuousClock.now
        let extractor = try SampleExtractor(query.aggregation, keepLabels: query.keepLabels)
        let matchers = query.aggregation.log.matchers
        let shard = query.shard
        var stats = QueryStats()
        var collected = SampleCollector()
        let start = query.from.saturatingAdding(1)
        let end = query.through.saturatingAdding(1)

        var sources: [(labels: LabelSet, ref: ChunkRef, bytes: [UInt8]?, deletes: StreamDeletes?)] = []
        var seen = Set<ChunkIdentity>()
        let snapshots = try ingester.snapshot(
            tenant: query.tenant, from: start, through: end, direction: .forward, limit: .max,
            matches: { labels in
                matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") } && shard?.contains(labels) != false
            },
            lineFilter: { extractor.lineFilters.matches($0) })
        for snapshot in snapshots {
            let deletes = query.deletes.forStream(snapshot.labels)
            stats.ingesterBytes += snapshot.headBytesScanned
            stats.ingesterLines += snapshot.headLinesScanned
            for chunk in snapshot.closedChunks where seen.insert(ChunkIdentity(chunk.ref)).inserted {
                sources.append((snapshot.labels, chunk.ref, chunk.bytes, deletes))
                stats.ingesterChunks += 1
            }
        }
        let stored = try await index.series(
            tenant: query.tenant, from: start / 1_000_000, through: end.saturatingSubtracting(1) / 1_000_000,
            matching: { pairs in Self.matches(matchers, pairs) && shard?.contains(LabelSet(pairs)) != false })
        for series in stored {
            let labels = LabelSet(series.labels)
            let deletes = query.deletes.forStream(labels)
            for ref in series.chunks where seen.insert(ChunkIdentity(ref)).inserted {
                sources.append((labels, ref, nil, deletes))
                stats.chunksRefs += 1
            }
        }

        // Entries are counted once even when a stream's chunks overlap in time (a line pushed again after its
        // chunk was flushed, replicas): entries in the time spans a source shares with another source of its stream
        // keep line hashes, and samples with the same series, time and line hash are merged, as Loki's heap
        // iterators do. Entries outside those spans cannot have a copy elsewhere and are taken as they are.
        let overlapping = Self.overlappingSources(sources.map { ($0.labels, $0.ref.from, $0.ref.through) },
                                                  heads: snapshots.map { ($0.labels, $0.headEntries) })
        for snapshot in snapshots where !snapshot.headEntries.isEmpty {
            let deletes = query.deletes.forStream(snapshot.labels)
            var stream = extractor.stream(snapshot.labels)
            let overlaps = overlapping.heads[snapshot.labels]
            var head = SampleCollector()
            var shared = SampleCollector(deduplicates: true)
            var previous: QueryEntry?
            for entry in snapshot.headEntries where deletes?.deletes(entry) != true {
                // The same line pushed twice at the same time is one entry, as Loki's ingester keeps it.
                defer { previous = entry }
                if let previous, previous.timestamp == entry.timestamp, previous.line == entry.line { continue }
                try entry.line.withUnsafeBytes { line in
                    if overlaps?.contains(entry.timestamp) == true {
                        try stream.add(entry.timestamp, line, metadata: { entry.structuredMetadata }, into: &shared)
                    } else {
                        try stream.add(entry.timestamp, line, metadata: { entry.structuredMetadata }, into: &head)
                    }
                }
            }
            try query.budget?.reserve(QueryMemoryBudget.bytes(samples: head.sampleCount + shared.sampleCount))
            collected.merge(head)
            collected.merge(shared)
        }

        var position = 0
        while position < sources.count {
            try Task.checkCancellation()
            let batch = sources[position..<min(sources.count, position + parallelism)]
            position += batch.count
            let results = try await withThrowingTaskGroup(of: (SampleCollector, SampleCollector, QueryStats).self) {
                group in
                for (offset, source) in batch.enumerated() {
                    let overlaps = overlapping.chunks[position - batch.count + offset]
                    group.addTask {
                        var chunkStats = QueryStats()
                        let chunk = try await load(source.ref, held: source.bytes, stats: &chunkStats)
                        var partial = SampleCollector()
                        var shared = SampleCollector(deduplicates: true)
                        var stream = extractor.stream(source.labels)
                        var scannedBytes = 0
                        var scannedLines = 0
                        var summarisedBytes = 0
                        var scratch = buffers.take()
                        defer { buffers.give(scratch) }
                        var takesWholeBlock: ((BlockSummary) -> Bool)?
                        if let (grid, ignoresMetadata) = extractor.countGrid(query, streamLabels: source.labels),
                           source.deletes == nil {
                            let series = stream.kept
                            takesWholeBlock = { block in
                                guard !block.hasMetadata || ignoresMetadata, block.mint >= start, block.maxt < end,
                                      overlaps?.intersects(from: block.mint, through: block.maxt) != true,
                                      grid.keepsWhole(from: block.mint, through: block.maxt)
                                else { return false }
                                // Every window holds all of the block or none of it: one sample of its count.
                                partial.add(series, block.maxt, Double(block.entries))
                                scannedBytes += block.uncompressedSize
                                summarisedBytes += block.uncompressedSize
                                scannedLines += block.entries
                                return true
                            }
                        }
                        if let literals = extractor.lineFilters.requiredLiterals {
                            // A block whose sketch rules the filters' literals out holds no sample.
                            takesWholeBlock = { [counts = takesWholeBlock] block in
                                if block.mayMatch(literals) { return counts?(block) ?? false }
                                scannedBytes += block.uncompressedSize
                                summarisedBytes += block.uncompressedSize
                                scannedLines += block.entries
                                return true
                            }
                        }
                        let readsMetadata = extractor.pipeline == nil || extractor.metadataMatters(symbols: chunk.symbols)
                        try chunk.forEachEntry(from: start, through: end, direction: .forward, scratch: &scratch,
                                               takesWholeBlock: takesWholeBlock) {
                            timestamp, line, metadata in
                            scannedBytes += line.count
                            scannedLines += 1
                            guard extractor.lineFilters.matches(line),
                                  source.deletes?.deletes(timestamp: timestamp, line: line) != true
                            else { return true }
                            let resolve = { readsMetadata ? try metadata.resolve() : [] }
                            if overlaps?.contains(timestamp) == true {
                                try stream.add(timestamp, line, metadata: resolve, into: &shared)
                            } else {
                                try stream.add(timestamp, line, metadata: resolve, into: &partial)
                            }
                            return true
                        }
                        if source.bytes == nil {
                            chunkStats.bytesProcessed = scannedBytes
                            chunkStats.linesProcessed = scannedLines
                            chunkStats.decompressedBytes = scannedBytes - summarisedBytes
                        } else {
                            chunkStats.ingesterBytes = scannedBytes
                            chunkStats.ingesterLines = scannedLines
                        }
                        return (partial, shared, chunkStats)
                    }
                }
                var all: [(SampleCollector, SampleCollector, QueryStats)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (partial, shared, chunkStats) in results {
                try query.budget?.reserve(QueryMemoryBudget.bytes(samples: partial.sampleCount + shared.sampleCount))
                collected.merge(partial)
                collected.merge(shared)
                stats.add(chunkStats)
            }
        }
        let series = collected.series()
        stats.postFilterLines = series.reduce(0) { $0 + $1.timestamps.count }
        stats.bytesProcessed += stats.ingesterBytes
        stats.linesProcessed += stats.ingesterLines
        stats.execTime = ContinuousClock.now - started
        return (series, stats)
    }
}

/// What a range aggregation makes of one entry: whether it is kept, its series and its value.
struct SampleExtractor: Sendable {
    /// The line filters before any other stage, tested on the raw line first.
    let lineFilters: LineFilterChain
    /// The rest of the pipeline, with the unwrap; nil when there is nothing after the leading line filters.
    let pipeline: LogPipeline?
    let operation: RangeAggregation.Operation
    /// The only labels the query reads from these samples (`sum by (level)` over a count), or nil for all.
    let keepLabels: Set<String>?
    /// Samples are the unwrapped values (`rate(… | unwrap x [1m])` too), not counts or bytes.
    let unwraps: Bool

    init(_ aggregation: RangeAggregation, keepLabels: Set<String>? = nil) throws(LogQLError) {
        unwraps = aggregation.unwrap != nil
        var needed = keepLabels
        if needed == nil, let grouping = aggregation.grouping, !grouping.without { needed = Set(grouping.labels) }
        (lineFilters, pipeline) = try LogPipeline.split(aggregation.log.stages, unwrap: aggregation.unwrap,
                                                        neededLabels: needed)
        operation = aggregation.operation
        self.keepLabels = keepLabels
    }

    /// The window edges of a count or rate that needs no line (no stages) and no metadata (the chunk has none, or
    /// only labels of the stream are kept), for counting whole blocks.
    func countGrid(_ query: SampleQuery, streamLabels: LabelSet) -> (grid: WindowGrid, ignoresMetadata: Bool)? {
        guard operation == .countOverTime || operation == .rate, lineFilters.filters.isEmpty, pipeline == nil,
              let steps = query.steps, steps.count > 0 else { return nil }
        let ignoresMetadata = keepLabels.map { $0.allSatisfy { streamLabels[$0] != nil } } ?? false
        return (WindowGrid(steps: steps, range: query.aggregation.range, offset: query.aggregation.offset), ignoresMetadata)
    }

    /// Whether entries' structured metadata can change a sample, for a chunk whose metadata uses `symbols`: not
    /// when the query keeps only some labels, every label the pipeline reads is known, and no symbol is one of
    /// those labels (or a parsed label's `_extracted` form). Resolving metadata nobody reads is most of a
    /// `detected_level` chunk's cost per entry.
    func metadataMatters(symbols: [String]) -> Bool {
        guard !symbols.isEmpty else { return false }
        guard let keepLabels, let pipeline, let required = pipeline.hints.required else { return true }
        return symbols.contains { symbol in
            keepLabels.contains(symbol) || required.contains(symbol)
                || required.contains(symbol + LogPipeline.duplicateSuffix)
        }
    }

    func stream(_ labels: LabelSet) -> StreamSampler {
        StreamSampler(labels: labels, byBytes: operation == .bytesOverTime || operation == .bytesRate,
                      unwraps: unwraps, keepLabels: keepLabels,
                      pipeline: pipeline?.stream(labels: labels))
    }
}

/// One stream's part of an extraction, used by one task at a time.
struct StreamSampler {
    let labels: LabelSet
    let byBytes: Bool
    let unwraps: Bool
    let keepLabels: Set<String>?
    let pipeline: StreamPipeline?
    /// The stream's labels as the query keeps them.
    let kept: LabelSet
    /// Series of this stream with structured metadata, by the metadata pairs.
    private var withMetadata: [[LabelPair]: LabelSet] = [:]
    /// Series by the pipeline's label-set id.
    private var byLabelsID: [Int: LabelSet] = [:]

    init(labels: LabelSet, byBytes: Bool, unwraps: Bool, keepLabels: Set<String>?, pipeline: StreamPipeline?) {
        self.labels = labels
        self.byBytes = byBytes
        self.unwraps = unwraps
        self.keepLabels = keepLabels
        self.pipeline = pipeline
        kept = keepLabels.map { keep in LabelSet(labels.pairs.filter { keep.contains($0.name) }) } ?? labels
    }

    /// The series labels as the query keeps them; a label with an empty value is no label (Prometheus').
    func reduced(_ labels: LabelSet) -> LabelSet {
        LabelSet(labels.pairs.filter { !$0.value.isEmpty && keepLabels?.contains($0.name) != false })
    }

    mutating func add(
        _ timestamp: Int64, _ line: UnsafeRawBufferPointer, metadata: () throws -> [LabelPair],
        into collector: inout SampleCollector
    ) throws {
        let hash = collector.deduplicates ? XXHash64.hash(line) : 0
        if let pipeline {
            guard let result = pipeline.process(timestamp: timestamp, line: line, metadata: try metadata()) else { return }
            if let error = result.labels[LogPipeline.errorLabel] {
                throw MetricQueryError.pipelineError(error, series: result.labels)
            }
            let value: Double
            if unwraps {
                value = result.value
            } else if byBytes {
                value = Double(result.rewrittenLine?.count ?? line.count)
            } else {
                value = 1
            }
            let series: LabelSet
            if let known = byLabelsID[result.labelsID] {
                series = known
            } else {
                series = reduced(result.labels)
                byLabelsID[result.labelsID] = series
            }
            collector.add(series, timestamp, value, hash: hash)
            return
        }
        let value = byBytes ? Double(line.count) : 1
        if keepLabels != nil, keepLabels?.allSatisfy({ labels[$0] != nil }) == true {
            // Only stream labels are kept: metadata cannot change the series.
            collector.add(kept, timestamp, value, hash: hash)
            return
        }
        let pairs = try metadata()
        guard !pairs.isEmpty else {
            collector.add(kept, timestamp, value, hash: hash)
            return
        }
        let series: LabelSet
        if let known = withMetadata[pairs] {
            series = known
        } else {
            series = reduced(labels.adding(metadata: pairs))
            withMetadata[pairs] = series
        }
        collector.add(series, timestamp, value, hash: hash)
    }
}

/// Samples gathered by series; parts from parallel scans merge, and series come out sorted by time.
struct SampleCollector: Sendable {
    private var slots: [LabelSet: Int] = [:]
    private var collected: [SeriesSamples] = []
    /// Per series, the line hash of each sample, kept only by a collector that `deduplicates`.
    private var hashes: [[UInt64]] = []
    let deduplicates: Bool

    init(deduplicates: Bool = false) {
        self.deduplicates = deduplicates
    }

    /// The series most recently added to, newest last: callers hand in the same few label sets again and again
    /// (a stream sampler's cached ones, whose pair arrays compare equal by identity), and comparing them is much
    /// cheaper than hashing a label set for every sample.
    private var recent: [(labels: LabelSet, slot: Int)] = []
    private static let recentLimit = 8

    mutating func add(_ labels: LabelSet, _ timestamp: Int64, _ value: Double, hash: UInt64 = 0) {
        let slot: Int
        if let known = recent.lastIndex(where: { $0.labels == labels }) {
            slot = recent[known].slot
        } else {
            if let found = slots[labels] {
                slot = found
            } else {
                slot = collected.count
                slots[labels] = slot
                collected.append(SeriesSamples(labels: labels))
                if deduplicates { hashes.append([]) }
            }
            if recent.count == Self.recentLimit { recent.removeFirst() }
            recent.append((labels, slot))
        }
        collected[slot].timestamps.append(timestamp)
        collected[slot].values.append(value)
        if deduplicates { hashes[slot].append(hash) }
    }

    /// Samples held, over all series.
    var sampleCount: Int { collected.reduce(0) { $0 + $1.timestamps.count } }

    /// Adds `other`'s samples; samples of deduplicating collectors that share series, time and line hash with a
    /// sample merged before count once.
    mutating func merge(_ other: SampleCollector) {
        for (index, series) in other.collected.enumerated() {
            if other.deduplicates {
                for (position, timestamp) in series.timestamps.enumerated() {
                    let key = SampleIdentity(labels: series.labels, timestamp: timestamp, hash: other.hashes[index][position])
                    guard seen.insert(key).inserted else { continue }
                    add(series.labels, timestamp, series.values[position])
                }
                continue
            }
            if let slot = slots[series.labels] {
                collected[slot].timestamps.append(contentsOf: series.timestamps)
                collected[slot].values.append(contentsOf: series.values)
            } else {
                slots[series.labels] = collected.count
                collected.append(series)
            }
        }
    }

    /// Samples of overlapping sources merged so far.
    private var seen = Set<SampleIdentity>()

    private struct SampleIdentity: Hashable {
        let labels: LabelSet
        let timestamp: Int64
        let hash: UInt64
    }

    /// Each series in time order (a stable sort: entries with one timestamp keep their order).
    func series() -> [SeriesSamples] {
        collected.map { series in
            var ordered = true
            for index in series.timestamps.indices.dropFirst() where series.timestamps[index] < series.timestamps[index - 1] {
                ordered = false
                break
            }
            if ordered { return series }
            let order = series.timestamps.indices.sorted {
                (series.timestamps[$0], $0) < (series.timestamps[$1], $1)
            }
            return SeriesSamples(labels: series.labels, timestamps: order.map { series.timestamps[$0] },
                                 values: order.map { series.values[$0] })
        }
    }
}

/// The edges of a range aggregation's windows `(t - offset - range, t - offset]` over all steps.
struct WindowGrid: Sendable {
    let firstLeft: Int64
    let firstRight: Int64
    let step: Int64
    let count: Int

    init(steps: EvaluationSteps, range: Int64, offset: Int64) {
        firstRight = steps.start - offset
        firstLeft = firstRight - range
        step = steps.step
        count = steps.count
    }

    /// True when no window edge falls in `[from, through)`, so that each window holds every entry of that span
    /// (the latest at `through`) or none.
    func keepsWhole(from: Int64, through: Int64) -> Bool {
        !hasEdge(firstLeft, in: from, through) && !hasEdge(firstRight, in: from, through)
    }

    private func hasEdge(_ first: Int64, in from: Int64, _ through: Int64) -> Bool {
        guard through > from else { return false }
        // The first edge at or after `from`.
        var k: Int64 = 0
        if from > first { k = (from - first + step - 1) / step }
        guard k < Int64(count) else { return false }
        return first + k * step < through
    }
}

/// The time spans one source shares with other sources of its stream (nanoseconds, both ends included).
struct OverlapSpans: Sendable {
    var spans: [(from: Int64, through: Int64)] = []

    func contains(_ timestamp: Int64) -> Bool {
        spans.contains { $0.from <= timestamp && timestamp <= $0.through }
    }

    func intersects(from: Int64, through: Int64) -> Bool {
        spans.contains { $0.from <= through && from <= $0.through }
    }
}

extension Querier {
    /// For each chunk source (by position) and each stream's head entries, the spans they share with another source
    /// of the same stream; sources that share nothing are absent.
    static func overlappingSources(
        _ chunks: [(labels: LabelSet, from: Int64, through: Int64)], heads: [(labels: LabelSet, entries: [QueryEntry])]
    ) -> (chunks: [Int: OverlapSpans], heads: [LabelSet: OverlapSpans]) {
        // Spans in nanoseconds, inclusive; chunk refs are in milliseconds. Index -1 stands for the head.
        var spans: [LabelSet: [(from: Int64, through: Int64, index: Int)]] = [:]
        for (index, chunk) in chunks.enumerated() {
            spans[chunk.labels, default: []].append((chunk.from.saturatingMultiplied(by: 1_000_000),
                                                    chunk.through.saturatingMultiplied(by: 1_000_000).saturatingAdding(999_999),
                                                    index))
        }
        for head in heads where !head.entries.isEmpty {
            let times = head.entries.map(\.timestamp)
            spans[head.labels, default: []].append((times.min() ?? 0, times.max() ?? 0, -1))
        }
        var chunkOverlaps: [Int: OverlapSpans] = [:]
        var headOverlaps: [LabelSet: OverlapSpans] = [:]
        for (labels, list) in spans where list.count > 1 {
            // By start time, so that each source is compared only with those starting before it ends.
            let sorted = list.sorted { $0.from < $1.from }
            for (i, a) in sorted.enumerated() {
                for b in sorted[(i + 1)...] {
                    guard b.from <= a.through else { break }
                    let shared = (from: max(a.from, b.from), through: min(a.through, b.through))
                    for index in [a.index, b.index] {
                        if index < 0 {
                            headOverlaps[labels, default: OverlapSpans()].spans.append(shared)
                        } else {
                            chunkOverlaps[index, default: OverlapSpans()].spans.append(shared)
                        }
                    }
                }
            }
        }
        return (chunkOverlaps, headOverlaps)
    }
}
