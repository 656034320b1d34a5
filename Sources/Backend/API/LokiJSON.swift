import Wire

/// Loki's JSON response bodies, written straight to bytes.
enum LokiJSON {
    /// A `query_range` result of log streams. Structured metadata is folded into the stream labels, as Loki
    /// answers clients that do not ask for categorized labels: entries with different metadata form
    /// different streams.
    static func streams(_ streams: [ResultStream], stats: QueryStats) -> [UInt8] {
        var json = JSONWriter(capacity: 4096)
        json.raw("{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[")
        var first = true
        for stream in streams {
            for (labels, entries) in split(stream) {
                if !first { json.raw(",") }
                first = false
                json.raw("{\"stream\":")
                json.object(labels.pairs)
                json.raw(",\"values\":[")
                for (i, entry) in entries.enumerated() {
                    if i > 0 { json.raw(",") }
                    json.raw("[\"")
                    json.raw(String(entry.timestamp))
                    json.raw("\",")
                    json.string(entry.line)
                    json.raw("]")
                }
                json.raw("]}")
            }
        }
        json.raw("],\"stats\":")
        statsObject(stats, into: &json)
        json.raw("}}")
        return json.bytes
    }

    private static func split(_ stream: ResultStream) -> [(LabelSet, [QueryEntry])] {
        guard stream.entries.contains(where: { !$0.structuredMetadata.isEmpty }) else {
            return [(stream.labels, stream.entries)]
        }
        var order: [LabelSet] = []
        var groups: [LabelSet: [QueryEntry]] = [:]
        for entry in stream.entries {
            let labels = stream.labels.adding(metadata: entry.structuredMetadata)
            if groups[labels] == nil { order.append(labels) }
            groups[labels, default: []].append(entry)
        }
        return order.map { ($0, groups[$0] ?? []) }
    }

    static func strings(_ values: [String]) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\"status\":\"success\",\"data\":[")
        for (i, value) in values.enumerated() {
            if i > 0 { json.raw(",") }
            json.string(value)
        }
        json.raw("]}")
        return json.bytes
    }

    static func series(_ sets: [LabelSet]) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\"status\":\"success\",\"data\":[")
        for (i, labels) in sets.enumerated() {
            if i > 0 { json.raw(",") }
            json.object(labels.pairs)
        }
        json.raw("]}")
        return json.bytes
    }

    /// Loki's `stats` object (`pkg/logqlmodel/stats`): summary, querier store and ingester parts.
    static func statsObject(_ stats: QueryStats, into json: inout JSONWriter) {
        let seconds = Double(stats.execTime.nanoseconds) / 1e9
        let perSecond = { (value: Int) -> Int in seconds > 0 ? Int(clampingTruncating: Double(value) / seconds) : 0 }
        json.raw("{\"summary\":{\"bytesProcessedPerSecond\":")
        json.number(perSecond(stats.bytesProcessed))
        json.raw(",\"linesProcessedPerSecond\":")
        json.number(perSecond(stats.linesProcessed))
        json.raw(",\"totalBytesProcessed\":")
        json.number(stats.bytesProcessed)
        json.raw(",\"totalLinesProcessed\":")
        json.number(stats.linesProcessed)
        json.raw(",\"execTime\":")
        json.number(seconds)
        json.raw(",\"queueTime\":0,\"subqueries\":0,\"totalEntriesReturned\":")
        json.number(stats.entriesReturned)
        json.raw(",\"splits\":")
        json.number(stats.splits)
        json.raw(",\"shards\":")
        json.number(stats.shards)
        json.raw(",\"totalPostFilterLines\":")
        json.number(stats.postFilterLines)
        json.raw(",\"totalStructuredMetadataBytesProcessed\":")
        json.number(stats.structuredMetadataBytes)
        json.raw("},\"querier\":{\"store\":{\"totalChunksRef\":")
        json.number(stats.chunksRefs)
        json.raw(",\"totalChunksDownloaded\":")
        json.number(stats.chunksDownloaded)
        json.raw(",\"chunksDownloadTime\":0,\"queryReferencedStructuredMetadata\":false,\"chunk\":{")
        chunkObject(headBytes: 0, headLines: 0, decompressedBytes: stats.decompressedBytes,
                    decompressedLines: stats.linesProcessed - stats.ingesterLines,
                    compressedBytes: stats.compressedBytes, into: &json)
        json.raw("}}},\"ingester\":{\"totalReached\":1,\"totalChunksMatched\":")
        json.number(stats.ingesterChunks)
        json.raw(",\"totalBatches\":1,\"totalLinesSent\":")
        json.number(stats.ingesterLines)
        json.raw(",\"store\":{\"totalChunksRef\":0,\"totalChunksDownloaded\":0,\"chunksDownloadTime\":0,\"queryReferencedStructuredMetadata\":false,\"chunk\":{")
        chunkObject(headBytes: stats.ingesterBytes, headLines: stats.ingesterLines, decompressedBytes: 0,
                    decompressedLines: 0, compressedBytes: 0, into: &json)
        json.raw("}}}}")
    }

    private static func chunkObject(
        headBytes: Int, headLines: Int, decompressedBytes: Int, decompressedLines: Int, compressedBytes: Int,
        into json: inout JSONWriter
    ) {
        json.raw("\"headChunkBytes\":")
        json.number(headBytes)
        json.raw(",\"headChunkLines\":")
        json.number(headLines)
        json.raw(",\"decompressedBytes\":")
        json.number(decompressedBytes)
        json.raw(",\"decompressedLines\":")
        json.number(decompressedLines)
        json.raw(",\"compressedBytes\":")
        json.number(compressedBytes)
        json.raw(",\"totalDuplicates\":0,\"headChunkStructuredMetadataBytes\":0,\"decompressedStructuredMetadataBytes\":0")
    }
}
