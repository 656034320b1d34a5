import Wire

/// One log entry moving through the agent's pipeline.
public struct LogEntry: Sendable, Equatable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    public var line: [UInt8]
    public var labels: LabelSet
    public var structuredMetadata: [LabelPair]

    public init(timestamp: Int64, line: [UInt8], labels: LabelSet, structuredMetadata: [LabelPair] = []) {
        self.timestamp = timestamp
        self.line = line
        self.labels = labels
        self.structuredMetadata = structuredMetadata
    }
}

/// Entries move between components in batches, never one at a time.
public struct LogBatch: Sendable, Equatable {
    public var entries: [LogEntry]
    /// Whom to tell when the batch was sent on or dropped (see ``DeliveryAck``); components that hand entries on
    /// within `receive` pass it on with them.
    public var ack: DeliveryAck?

    public init(entries: [LogEntry] = [], ack: DeliveryAck? = nil) {
        self.entries = entries
        self.ack = ack
    }

    /// Batches are equal when their entries are; the acknowledgement is not part of the data.
    public static func == (lhs: LogBatch, rhs: LogBatch) -> Bool {
        lhs.entries == rhs.entries
    }

    /// The batch as a Loki push request: one stream per distinct label set, entries in arrival order.
    public func pushRequest() -> PushRequest {
        var order: [LabelSet] = []
        var streams: [LabelSet: [PushEntry]] = [:]
        for entry in entries {
            if streams[entry.labels] == nil { order.append(entry.labels) }
            streams[entry.labels, default: []].append(
                PushEntry(timestamp: entry.timestamp, line: entry.line[...], structuredMetadata: entry.structuredMetadata))
        }
        return PushRequest(streams: order.map { PushStream(labels: $0.description, entries: streams[$0] ?? []) })
    }
}
