/// A decoded Loki push request (`logproto.PushRequest`), from either protobuf or JSON.
///
/// Bytes stay bytes: an entry's `line` is a slice of one shared buffer (the decompressed protobuf body, or the
/// arena the JSON decoder unescapes into), so decoding allocates per stream, not per entry.
public struct PushRequest: Sendable {
    public var streams: [PushStream]

    public init(streams: [PushStream] = []) {
        self.streams = streams
    }
}

/// One stream of a push request.
public struct PushStream: Sendable {
    /// The stream's labels in Loki's selector syntax, as the client sent them (`{job="x", env="y"}`), not yet
    /// parsed or validated: a stream with bad labels is rejected on its own, the rest of the request still lands.
    public var labels: String
    public var entries: [PushEntry]

    public init(labels: String, entries: [PushEntry] = []) {
        self.labels = labels
        self.entries = entries
    }
}

/// One log entry.
public struct PushEntry: Sendable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// The log line's bytes (UTF-8 as sent; not validated here).
    public var line: ArraySlice<UInt8>
    /// Structured metadata attached to the entry (empty for most entries; an empty array does not allocate).
    public var structuredMetadata: [LabelPair]

    public init(timestamp: Int64, line: ArraySlice<UInt8>, structuredMetadata: [LabelPair] = []) {
        self.timestamp = timestamp
        self.line = line
        self.structuredMetadata = structuredMetadata
    }
}
