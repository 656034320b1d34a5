/// Encodes a `PushRequest` as Loki's JSON push body:
/// `{"streams":[{"stream":{"job":"x"},"values":[["<unix ns>","line"],["<unix ns>","line",{"meta":"v"}]]}]}`.
///
/// Timestamps are written as strings of nanoseconds, as Loki's clients do; the third element of an entry appears
/// only when it has structured metadata. The label object comes from parsing `PushStream.labels` with
/// `LabelParser`, so pairs with empty values are left out (Loki treats an empty value as an absent label); labels
/// that do not parse are written as `{}`. Bytes of a line that are not valid UTF-8 become U+FFFD, as Go's `encoding/json` does.
public enum PushJSONEncoder {
    public static func encode(_ request: PushRequest) -> [UInt8] {
        var estimate = 16
        for stream in request.streams {
            estimate += 64 + stream.labels.utf8.count
            for entry in stream.entries { estimate += entry.line.count + 32 }
        }
        var json = JSONWriter(capacity: estimate)
        json.raw(#"{"streams":["#)
        for (streamIndex, stream) in request.streams.enumerated() {
            if streamIndex > 0 { json.raw(",") }
            json.raw(#"{"stream":"#)
            json.object((try? LabelParser.parse(stream.labels)) ?? [])
            json.raw(#","values":["#)
            for (entryIndex, entry) in stream.entries.enumerated() {
                if entryIndex > 0 { json.raw(",") }
                json.raw(#"[""#)
                json.decimal(entry.timestamp)
                json.raw(#"","#)
                entry.line.withUnsafeBufferPointer { json.string($0) }
                if !entry.structuredMetadata.isEmpty {
                    json.raw(",")
                    json.object(entry.structuredMetadata)
                }
                json.raw("]")
            }
            json.raw("]}")
        }
        json.raw("]}")
        return json.bytes
    }
}
