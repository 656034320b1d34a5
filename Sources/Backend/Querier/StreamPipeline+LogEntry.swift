import Wire

/// An entry a log pipeline kept, as log queries and live tails answer it.
struct PipelineEntry {
    /// The line after `line_format`, `decolorize` or `unpack` rewrote it; nil when it is the line given.
    var rewrittenLine: [UInt8]?
    /// The entry's labels without empty values. Uncategorized: every label (stream labels, structured metadata,
    /// parsed labels, `__error__`). Categorized: only the stream labels left once the others are taken out.
    var labels: LabelSet
    /// Categorized only: the entry's structured metadata, and its parsed labels with `__error__` and
    /// `__error_details__` (Loki's `LabelsResult.StructuredMetadata()` and `Parsed()`).
    var structuredMetadata: [LabelPair] = []
    var parsed: [LabelPair] = []
}

extension StreamPipeline {
    /// Runs the pipeline on one entry and builds what a log query (or a live tail) answers for it: nil when a stage
    /// drops it. `categorize`: the client sent `X-Loki-Response-Encoding-Flags: categorize-labels`, so structured
    /// metadata and parsed labels travel beside the line instead of in the stream labels, as Loki 3 answers it.
    func logEntry(
        timestamp: Int64, line: UnsafeRawBufferPointer, metadata: [LabelPair], categorize: Bool
    ) -> PipelineEntry? {
        guard let kept = process(timestamp: timestamp, line: line, metadata: metadata) else { return nil }
        let labels = kept.labels.withoutEmptyValues
        guard categorize else { return PipelineEntry(rewrittenLine: kept.rewrittenLine, labels: labels) }
        var parsed = builder.added[LabelCategory.parsed.rawValue].filter { !$0.value.isEmpty }
        if builder.hasError { parsed.append(LabelPair(name: LogPipeline.errorLabel, value: builder.error)) }
        if !builder.errorDetails.isEmpty {
            parsed.append(LabelPair(name: LogPipeline.errorDetailsLabel, value: builder.errorDetails))
        }
        let structuredMetadata = builder.added[LabelCategory.structuredMetadata.rawValue].filter { pair in
            !pair.value.isEmpty && !parsed.contains { $0.name == pair.name }
        }
        guard !parsed.isEmpty || !structuredMetadata.isEmpty else {
            return PipelineEntry(rewrittenLine: kept.rewrittenLine, labels: labels)
        }
        let moved = Set(parsed.map(\.name)).union(structuredMetadata.map(\.name))
        return PipelineEntry(rewrittenLine: kept.rewrittenLine,
                             labels: LabelSet(labels.pairs.filter { !moved.contains($0.name) }),
                             structuredMetadata: structuredMetadata.sorted { $0.name < $1.name },
                             parsed: parsed.sorted { $0.name < $1.name })
    }
}
