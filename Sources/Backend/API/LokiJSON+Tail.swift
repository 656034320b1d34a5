import Wire

extension LokiJSON {
    /// One tail message (Loki's `TailResponse`): `{"streams":[{"stream":{…},"values":[["<ns>","line"]…]}…],
    /// "dropped_entries":[{"labels":{…},"timestamp":"<ns>"}…]}`, entries in the order given, consecutive entries of
    /// one stream sharing a stream object.
    ///
    /// Without `categorize` (what clients get unless they send `X-Loki-Response-Encoding-Flags: categorize-labels`)
    /// structured metadata is folded into the stream labels, as Loki answers such clients (a pipeline's labels are
    /// in them already). With it the stream holds only the stream labels, each value carries a third element
    /// `{"structuredMetadata":{…},"parsed":{…}}` (each only when there is some, `{}` when neither) and the message
    /// ends with `"encodingFlags":["categorize-labels"]`, as in Loki 3.
    static func tail(_ entries: [TailEntry], dropped: [DroppedTailEntry], categorize: Bool) -> [UInt8] {
        var json = JSONWriter(capacity: 256 + entries.reduce(0) { $0 + $1.line.count + 48 })
        json.raw("{\"streams\":[")
        var current: LabelSet? = nil
        for (index, entry) in entries.enumerated() {
            let labels = categorize ? entry.labels : folded(entry.labels, entry.structuredMetadata)
            if labels != current {
                if current != nil { json.raw("]},") }
                json.raw("{\"stream\":")
                json.object(labels.pairs)
                json.raw(",\"values\":[")
                current = labels
            } else if index > 0 {
                json.raw(",")
            }
            json.raw("[\"")
            json.raw(String(entry.timestamp))
            json.raw("\",")
            json.string(entry.line)
            if categorize {
                json.raw(",{")
                if !entry.structuredMetadata.isEmpty {
                    json.raw("\"structuredMetadata\":")
                    json.object(entry.structuredMetadata)
                }
                if !entry.parsed.isEmpty {
                    if !entry.structuredMetadata.isEmpty { json.raw(",") }
                    json.raw("\"parsed\":")
                    json.object(entry.parsed)
                }
                json.raw("}")
            }
            json.raw("]")
        }
        if current != nil { json.raw("]}") }
        json.raw("]")
        if !dropped.isEmpty {
            json.raw(",\"dropped_entries\":[")
            for (index, drop) in dropped.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{\"timestamp\":\"")
                json.raw(String(drop.timestamp))
                json.raw("\"")
                if !drop.labels.pairs.isEmpty {
                    json.raw(",\"labels\":")
                    json.object(drop.labels.pairs)
                }
                json.raw("}")
            }
            json.raw("]")
        }
        if categorize { json.raw(",\"encodingFlags\":[\"categorize-labels\"]") }
        json.raw("}")
        return json.bytes
    }

    /// Stream labels with the entry's structured metadata added (a stream label wins a name clash).
    static func folded(_ labels: LabelSet, _ metadata: [LabelPair]) -> LabelSet {
        guard !metadata.isEmpty else { return labels }
        var pairs = labels.pairs
        for meta in metadata where !pairs.contains(where: { $0.name == meta.name }) { pairs.append(meta) }
        return LabelSet(pairs)
    }
}
