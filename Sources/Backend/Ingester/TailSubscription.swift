import Prometheus
import Synchronization
import Wire

/// What a live tail makes of the entries pushed to one stream: those its query keeps, as it answers them (lines
/// rewritten, labels as its pipeline left them), in push order.
///
/// Called by pushers (any task, many at once) after their append, never under a lock the push path needs, for
/// every stream a push appended to while the tenant has a tail open: it must not block, and should decide quickly
/// for streams its selector does not match.
public protocol TailFilter: Sendable {
    func entries(labels: LabelSet, pushed: [PushEntry]) -> [TailEntry]
}

/// One entry handed to a live tail.
public struct TailEntry: Sendable, Equatable {
    /// The labels its stream is answered with: the pushed stream's, or those the query's pipeline left (only the
    /// stream labels among them when labels are categorized).
    public var labels: LabelSet
    public var timestamp: Int64
    /// The line as pushed, or as the pipeline rewrote it.
    public var line: [UInt8]
    /// The entry's structured metadata, unless a pipeline already folded it into `labels`.
    public var structuredMetadata: [LabelPair]
    /// Labels the pipeline parsed (with `__error__`), when labels are categorized.
    public var parsed: [LabelPair]

    public init(
        labels: LabelSet, timestamp: Int64, line: [UInt8], structuredMetadata: [LabelPair], parsed: [LabelPair] = []
    ) {
        self.labels = labels
        self.timestamp = timestamp
        self.line = line
        self.structuredMetadata = structuredMetadata
        self.parsed = parsed
    }
}

/// An entry a tail had no room for: reported to its client as one of Loki's `dropped_entries`.
public struct DroppedTailEntry: Sendable, Equatable {
    public var labels: LabelSet
    public var timestamp: Int64
}

/// A live tail's place in the ingester: the entries pushed since it subscribed that pass its filter, waiting for its
/// sender, in a bounded buffer.
///
/// Pushers call `offer` and never wait: when the buffer is full (a client that reads slower than entries arrive)
/// the entry is dropped and remembered as a `DroppedTailEntry`, up to `maxDropped` of them (past that, as in Loki,
/// drops are no longer listed). The sender (one task per tail) calls `take`, which hands over the dropped list
/// with the entries, and waits on `wakeups` between takes.
public final class TailSubscription: Sendable {
    /// Loki's querier holds 10 responses of at most 100 entries for a tail.
    public static let maxEntries = 1000
    /// A byte bound beside Loki's entry bound, so that long lines cannot make one tail hold much memory.
    public static let maxBytes = 8 << 20
    /// Loki's `maxDroppedEntriesPerTailResponse`.
    public static let maxDropped = 1000

    public let tenant: String
    let filter: any TailFilter
    /// Signalled when entries arrive (and by the sender's own keepalive timer); holds at most one signal.
    public let wakeups: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    private struct Buffer {
        var entries: [TailEntry] = []
        var bytes = 0
        var dropped: [DroppedTailEntry] = []
    }

    private let buffer = Mutex(Buffer())
    /// `estuary_tail_dropped_entries_total`.
    private let droppedCounter: Counter

    init(tenant: String, filter: any TailFilter, dropped: Counter) {
        self.tenant = tenant
        self.filter = filter
        self.droppedCounter = dropped
        (wakeups, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Wakes the sender (new entries, or its keepalive timer).
    public func wake() { signal.yield() }

    /// Ends `wakeups`: the tail is over.
    func finish() { signal.finish() }

    /// Adds what the filter keeps of one stream's entries. Called by pushers after their append; never waits.
    func offer(labels: LabelSet, entries: [PushEntry]) {
        let wanted = filter.entries(labels: labels, pushed: entries)
        guard !wanted.isEmpty else { return }
        let dropped = buffer.withLock { buffer -> Int in
            var dropped = 0
            for entry in wanted {
                if buffer.entries.count < Self.maxEntries && buffer.bytes + entry.line.count <= Self.maxBytes {
                    buffer.bytes += entry.line.count
                    buffer.entries.append(entry)
                } else {
                    dropped += 1
                    if buffer.dropped.count < Self.maxDropped {
                        buffer.dropped.append(DroppedTailEntry(labels: entry.labels, timestamp: entry.timestamp))
                    }
                }
            }
            return dropped
        }
        if dropped > 0 { droppedCounter.increment(by: Int64(dropped)) }
        signal.yield()
    }

    /// Takes up to `limit` entries, oldest first, that are due (timestamp at or before `due`, nil: all), and every
    /// drop remembered so far. With a `due` bound entries are taken in timestamp order (Loki's `delay_for` holds
    /// entries back so that late ones can be put in order); without one, in the order they were pushed.
    public func take(limit: Int, due: Int64? = nil) -> (entries: [TailEntry], dropped: [DroppedTailEntry]) {
        buffer.withLock { buffer in
            var count = min(limit, buffer.entries.count)
            if let due {
                buffer.entries.sort { $0.timestamp < $1.timestamp }
                count = buffer.entries.prefix(count).prefix { $0.timestamp <= due }.count
            }
            let taken = Array(buffer.entries.prefix(count))
            buffer.entries.removeFirst(count)
            buffer.bytes -= taken.reduce(0) { $0 + $1.line.count }
            // Dropped entries travel with entries, as in Loki: a response is never made of drops alone.
            guard !taken.isEmpty else { return ([], []) }
            let dropped = buffer.dropped
            buffer.dropped.removeAll()
            return (taken, dropped)
        }
    }

    /// The oldest timestamp waiting, if any (for `delay_for`: when the next entry becomes due).
    public var oldestWaiting: Int64? {
        buffer.withLock { buffer in buffer.entries.lazy.map(\.timestamp).min() }
    }
}
