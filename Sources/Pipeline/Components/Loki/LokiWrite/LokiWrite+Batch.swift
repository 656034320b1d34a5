import Synchronization
import Wire

extension LokiWrite {
    /// One tenant's entries gathered for one push request: streams in arrival order, lines kept as slices of the
    /// received buffers (nothing is copied until the request is encoded).
    struct Batch: Sendable {
        /// The `X-Scope-OrgID` the batch is sent with; empty sends none.
        let tenant: String
        let created: ContinuousClock.Instant
        private(set) var streams: [PushStream] = []
        /// Bytes of log lines: what `batch_size` bounds.
        private(set) var bytes = 0
        /// What holding the entries takes (``LogEntry/heldBytes``): given back to the queue once sent or dropped.
        private(set) var heldBytes = 0
        private(set) var entryCount = 0
        /// The acknowledgements of the received batches whose entries are in this one, each held once; released
        /// when this batch was sent or dropped.
        private(set) var acks: [DeliveryAck] = []
        private var streamIndex: [LabelSet: Int] = [:]
        /// The stream the previous entry went to: consecutive entries usually share one.
        private var lastLabels: LabelSet?
        private var lastIndex = 0

        init(tenant: String, created: ContinuousClock.Instant) {
            self.tenant = tenant
            self.created = created
        }

        var streamCount: Int { streams.count }

        func index(of labels: LabelSet) -> Int? {
            if let lastLabels, lastLabels == labels { return lastIndex }
            return streamIndex[labels]
        }

        /// Adds `entry` to the stream of `labels` (its labels without the internal `__` ones).
        mutating func append(_ entry: LogEntry, labels: LabelSet, ack: DeliveryAck?) {
            if let ack, acks.last !== ack {
                ack.hold()
                acks.append(ack)
            }
            let pushEntry = PushEntry(
                timestamp: entry.timestamp, line: entry.line[...], structuredMetadata: entry.structuredMetadata)
            let index: Int
            if let found = self.index(of: labels) {
                index = found
            } else {
                index = streams.count
                streams.append(PushStream(labels: labels.description))
                streamIndex[labels] = index
            }
            streams[index].entries.append(pushEntry)
            lastLabels = labels
            lastIndex = index
            bytes += entry.line.count
            heldBytes += entry.heldBytes
            entryCount += 1
        }
    }

    /// A batch handed to the sender: what is counted and acknowledged about it, and its streams until they are
    /// encoded. The streams are let go of as soon as the push body is made, so that a request waiting to be
    /// retried holds only its compressed body.
    final class Outgoing: Sendable {
        let tenant: String
        let entryCount: Int
        /// Bytes of log lines.
        let bytes: Int
        let heldBytes: Int
        let acks: [DeliveryAck]
        private let streams: Mutex<[PushStream]>

        init(_ batch: Batch) {
            tenant = batch.tenant
            entryCount = batch.entryCount
            bytes = batch.bytes
            heldBytes = batch.heldBytes
            acks = batch.acks
            streams = Mutex(batch.streams)
        }

        /// The push body (protobuf, then snappy); the streams are gone afterwards. Called once.
        func encode() -> [UInt8] {
            let taken = streams.withLock { streams in
                defer { streams = [] }
                return streams
            }
            return Snappy.compress(PushProtobufEncoder.encode(PushRequest(streams: taken)))
        }
    }

    /// The batches an endpoint's sender is filling, one per tenant, cut at `batch_size` as Alloy's client does: an
    /// entry that would take its tenant's batch past the size starts a new batch (the full one is handed back to
    /// be sent), and a batch always takes its first entry, however large.
    struct Batcher: Sendable {
        enum Added {
            case added
            /// The entry went into a new batch; this one is full and must be sent.
            case cut(Batch)
            /// The batch already holds `max_streams` streams and the entry's stream is not one of them: dropped.
            case streamLimited(tenant: String)
        }

        /// Labels starting with `__` are internal: `__tenant_id__` chooses the tenant, none is sent.
        static let tenantLabel = "__tenant_id__"

        let batchSize: Int
        let maxStreams: Int
        let defaultTenant: String
        /// One open batch per tenant, oldest first. Tenants per endpoint are few, so a scan finds one fastest.
        private var open: [Batch] = []
        /// The labels of the previous entry, with its tenant and the labels it is sent with: consecutive entries
        /// usually share one label set (the same storage, so comparing is one pointer check).
        private var lastLabels: LabelSet?
        private var lastRoute: (tenant: String, sent: LabelSet) = ("", LabelSet([]))

        init(batchSize: Int, maxStreams: Int, defaultTenant: String) {
            self.batchSize = batchSize
            self.maxStreams = maxStreams
            self.defaultTenant = defaultTenant
        }

        var isEmpty: Bool { open.isEmpty }

        /// The tenant an entry is sent as: its `__tenant_id__` label, else the endpoint's `tenant_id`.
        static func tenant(of entry: LogEntry, default fallback: String) -> String {
            entry.labels[tenantLabel] ?? fallback
        }

        mutating func add(_ entry: LogEntry, ack: DeliveryAck? = nil, now: ContinuousClock.Instant) -> Added {
            if lastLabels != entry.labels {
                lastRoute = (Self.tenant(of: entry, default: defaultTenant), Self.sentLabels(entry.labels))
                lastLabels = entry.labels
            }
            let (tenant, labels) = lastRoute
            guard let index = open.firstIndex(where: { $0.tenant == tenant }) else {
                var batch = Batch(tenant: tenant, created: now)
                batch.append(entry, labels: labels, ack: ack)
                open.append(batch)
                return .added
            }
            if open[index].bytes + entry.line.count > batchSize {
                var next = Batch(tenant: tenant, created: now)
                next.append(entry, labels: labels, ack: ack)
                let full = open.remove(at: index)
                open.append(next)
                return .cut(full)
            }
            if maxStreams > 0, open[index].streamCount >= maxStreams, open[index].index(of: labels) == nil {
                return .streamLimited(tenant: tenant)
            }
            open[index].append(entry, labels: labels, ack: ack)
            return .added
        }

        /// When the oldest open batch has waited `batchWait`; nil when nothing is open.
        func deadline(batchWait: Duration) -> ContinuousClock.Instant? {
            open.first.map { $0.created + batchWait }
        }

        /// Removes and returns the batches that have waited `batchWait` or longer.
        mutating func takeExpired(now: ContinuousClock.Instant, batchWait: Duration) -> [Batch] {
            guard let first = open.first, first.created + batchWait <= now else { return [] }
            let expired = open.prefix { $0.created + batchWait <= now }
            open.removeFirst(expired.count)
            return Array(expired)
        }

        /// Removes and returns every open batch, oldest first.
        mutating func takeAll() -> [Batch] {
            defer { open.removeAll() }
            return open
        }

        /// The labels that are sent: without the internal ones (`__…`), which most entries do not have.
        static func sentLabels(_ labels: LabelSet) -> LabelSet {
            guard labels.pairs.contains(where: isInternal) else { return labels }
            return LabelSet(labels.pairs.filter { !isInternal($0) })
        }

        private static func isInternal(_ pair: LabelPair) -> Bool {
            pair.name.utf8.starts(with: [0x5F, 0x5F])
        }
    }
}
