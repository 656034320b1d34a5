import AsyncHTTPClient
import Logging
import Synchronization
import Wire

extension LokiWrite {
    /// One endpoint's queue of received batches, between the receiver and the endpoint's sender, and the account
    /// of every byte the endpoint holds: a batch's bytes (``LogBatch/heldBytes``) stay counted from the offer until
    /// the sender releases them, once the push request they went into was sent or dropped, so
    /// `queue_config.capacity` bounds what is queued, being batched and in flight together, and a slow endpoint
    /// pushes back on its sources instead of holding ever more. The endpoint's sender is its one consumer.
    typealias Queue = BoundedQueue<LogBatch>

    /// What makes two endpoints the same one across a reload: every option of its block, and `max_streams`.
    struct EndpointKey: Hashable, Sendable {
        let options: EndpointOptions
        let maxStreams: Int
    }

    /// One endpoint: its queue, its metrics and its sender.
    ///
    /// The sender (`run()`, in a task of its own started by the component's `run()`) takes batches off the queue,
    /// gathers them per tenant into push requests of up to `batch_size`, and sends each with retries, up to
    /// ``requestsInFlight`` at a time; a slow endpoint only ever holds up itself. When the queue is closed (the endpoint was removed
    /// on reload, or the component is stopping) it keeps sending what was queued for up to `drain_timeout`, then
    /// gives up and counts the rest as dropped.
    final class Endpoint: Sendable {
        let options: EndpointOptions
        let maxStreams: Int
        let queue: Queue
        let metrics: Metrics
        let httpClient: HTTPClient
        let logger: Logger
        private let finished = Atomic<Bool>(false)
        /// When a drop of each reason was last logged: a dead endpoint drops every batch, and the log must not flood.
        private let lastDropLog = Mutex<[DropReason: ContinuousClock.Instant]>([:])
        static let dropLogInterval = Duration.seconds(5)

        init(options: EndpointOptions, maxStreams: Int, context: ComponentContext) {
            self.options = options
            self.maxStreams = maxStreams
            let metrics = Metrics(registry: context.metrics, componentID: context.id, host: options.host)
            self.metrics = metrics
            metrics.queueCapacity.set(Int64(options.queue.capacity))
            let queued = metrics.queuedBytes
            queue = Queue(capacity: options.queue.capacity, accounting: .untilReleased, oversize: .acceptWhenEmpty) {
                queued.set(Int64($0))
            }
            httpClient = context.httpClient
            var logger = context.logger
            logger[metadataKey: "host"] = "\(options.host)"
            if let name = options.name { logger[metadataKey: "endpoint"] = "\(name)" }
            self.logger = logger
            // Create the tenant's series up front, as Alloy does, so they are exported before anything happens.
            _ = metrics.tenant(options.tenantID ?? "")
        }

        var key: EndpointKey { EndpointKey(options: options, maxStreams: maxStreams) }

        /// Whether the sender has returned (after its queue was closed and drained).
        var isFinished: Bool { finished.load(ordering: .acquiring) }

        /// The sender task's body: returns once the queue was closed and drained, or `drain_timeout` after the
        /// queue was closed, whichever comes first.
        func run() async {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.sendLoop() }
                group.addTask {
                    await self.queue.waitUntilClosed()
                    if Task.isCancelled { return }
                    try? await Task.sleep(for: self.options.queue.drainTimeout)
                }
                await group.next()
                // Either everything was sent, or the drain deadline passed and the send loop must give up.
                group.cancelAll()
            }
            finished.store(true, ordering: .releasing)
            logger.debug("loki.write endpoint stopped")
        }

        /// Push requests of one endpoint in flight at once. While one waits for its answer the next is gathered and
        /// encoded, so a distant endpoint's round trip does not cap the endpoint's throughput at one batch per
        /// round trip (Alloy's client sends one at a time). Loki accepts a stream's entries out of order, so
        /// overlapping requests are safe; the queue in front stays bounded.
        static let requestsInFlight = 4

        private func sendLoop() async {
            await withTaskGroup(of: Void.self) { requests in
                var inFlight = 0
                // Starts sending `batch` once fewer than `requestsInFlight` requests are out.
                func dispatch(_ batch: Batch) async {
                    if inFlight >= Self.requestsInFlight {
                        await requests.next()
                        inFlight -= 1
                    }
                    let outgoing = Outgoing(batch)
                    requests.addTask { await self.send(outgoing) }
                    inFlight += 1
                }
                var batcher = Batcher(
                    batchSize: options.batchSize, maxStreams: maxStreams, defaultTenant: options.tenantID ?? "")
                while true {
                    switch await queue.take(consumer: 0, until: batcher.deadline(batchWait: options.batchWait)) {
                    case .element(let received):
                        if Task.isCancelled {
                            // The drain deadline passed: what is left is counted, not batched and encoded first.
                            for batch in batcher.takeAll() { await dispatch(batch) }
                            queue.release(received.heldBytes)
                            dropped([received] + queue.removeAll(), reason: .drainTimeout, "drain_timeout ran out before it was sent")
                            return
                        }
                        let now = ContinuousClock.now
                        // The queue's hold on the batch's acknowledgement passes to the push batches it went into.
                        defer { received.ack?.done() }
                        for entry in received.entries {
                            switch batcher.add(entry, ack: received.ack, now: now) {
                            case .added:
                                break
                            case .cut(let full):
                                await dispatch(full)
                            case .streamLimited(let tenant):
                                queue.release(entry.heldBytes)
                                dropped(
                                    tenant: tenant, reason: .streamLimited, entries: 1, bytes: entry.line.count,
                                    "the batch already holds max_streams = \(maxStreams) streams")
                            }
                        }
                    case .timedOut:
                        break
                    case .closed, .retired:
                        // Shutting down: send what is gathered now rather than waiting for batch_wait.
                        for batch in batcher.takeAll() { await dispatch(batch) }
                        return
                    case .cancelled:
                        for batch in batcher.takeAll() { await dispatch(batch) }
                        dropped(queue.removeAll(), reason: .drainTimeout, "drain_timeout ran out before it was sent")
                        return
                    }
                    for batch in batcher.takeExpired(now: .now, batchWait: options.batchWait) { await dispatch(batch) }
                }
            }
        }

        /// Counts and logs dropped entries: the one place a drop is recorded. Every drop is counted; the log says
        /// so at most once per reason every `dropLogInterval`.
        func dropped(tenant: String, reason: DropReason, entries: Int, bytes: Int, _ why: String) {
            guard entries > 0 else { return }
            metrics.dropped(tenant: tenant, reason: reason, entries: entries, bytes: bytes)
            let now = ContinuousClock.now
            let log = lastDropLog.withLock { last -> Bool in
                if let previous = last[reason], now - previous < Self.dropLogInterval { return false }
                last[reason] = now
                return true
            }
            guard log else { return }
            logger.warning(
                "loki.write dropped entries",
                metadata: [
                    "tenant": "\(tenant)", "reason": "\(reason.rawValue)", "entries": "\(entries)", "bytes": "\(bytes)",
                    "why": "\(why)",
                    "note": "further drops for this reason within \(Self.dropLogInterval) are only counted in loki_write_dropped_entries_total",
                ])
        }

        /// Counts received batches that will never be sent, per tenant.
        func dropped(_ batches: [LogBatch], reason: DropReason, _ why: String) {
            var perTenant: [String: (entries: Int, bytes: Int)] = [:]
            let fallback = options.tenantID ?? ""
            defer { for batch in batches { batch.ack?.done(lost: reason == .drainTimeout) } }
            for batch in batches {
                for entry in batch.entries {
                    let tenant = Batcher.tenant(of: entry, default: fallback)
                    perTenant[tenant, default: (0, 0)].entries += 1
                    perTenant[tenant, default: (0, 0)].bytes += entry.line.count
                }
            }
            for (tenant, count) in perTenant.sorted(by: { $0.key < $1.key }) {
                dropped(tenant: tenant, reason: reason, entries: count.entries, bytes: count.bytes, why)
            }
        }
    }
}
