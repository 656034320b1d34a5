import Logging
import Prometheus
import Synchronization
import Wire

/// The part of an OTLP exporter that does not depend on the wire, shared by `otelcol.exporter.otlphttp` and
/// `otelcol.exporter.otlp` (gRPC): the bounded `sending_queue`, its `num_consumers` senders, `retry_on_failure`,
/// the drain on stop, and the one place a batch's outcome is counted and logged.
///
/// Batches wait in the queue for a sender. When the queue is full, `consume` throws
/// ``PipelineError/backpressure(retryAfter:reason:)`` at once (or waits for room with `block_on_overflow`), so the
/// receiver upstream answers 503 / UNAVAILABLE and its client retries. A sender retries what the transport calls
/// retryable with the collector's exponential backoff, honouring the server's delay; anything else is permanent and
/// the batch is counted as failed. On reload the queue and what it holds are kept; on stop, intake ends and the
/// senders drain the queue for up to `drainTimeout`.
///
/// The component owns one core and hands itself (its ``OTLPExportTransport``) to `run`, `consume` and `deliver`;
/// the core keeps no reference to it, so a removed component is freed.
final class OTLPExporterCore: Sendable {
    /// How long an upstream is asked to wait when the queue is full.
    static let retryAfterWhenFull = Duration.seconds(1)
    /// A failing endpoint fails every batch; the log says so at most once per interval, the metric counts all.
    static let failureLogInterval = Duration.seconds(5)

    let logger: Logger
    let metrics: OTLPExporterMetrics
    let queue: BoundedQueue<OTLPExportItem>
    let drainTimeout: Duration
    /// `otlphttp` or `otlp`: the collector's exporter type, for messages.
    let kind: String
    private let componentID: String
    private let options: Mutex<Options>
    private let senders = SenderTasks<Int>()
    private let lastFailureLog = Mutex<ContinuousClock.Instant?>(nil)

    struct Options: Sendable, Equatable {
        var retry: OTLPExporterRetryOptions
        var queue: OTLPExporterQueueOptions
    }

    init(context: ComponentContext, kind: String, options: Options, drainTimeout: Duration) {
        componentID = context.id
        logger = context.logger
        self.kind = kind
        metrics = OTLPExporterMetrics(context, kind: kind)
        self.drainTimeout = drainTimeout
        self.options = Mutex(options)
        let gauge = metrics.queueSize
        queue = BoundedQueue(capacity: options.queue.queueSize, consumerLimit: options.queue.numConsumers,
                             accounting: .untilTaken, oversize: .refuse) { gauge.set(Int64($0)) }
        update(options)
    }

    func update(_ options: Options) {
        self.options.withLock { $0 = options }
        let queueOptions = options.queue
        queue.configure(capacity: queueOptions.queueSize, consumerLimit: queueOptions.numConsumers) {
            queueOptions.weight(records: $0.records)
        }
        metrics.queueCapacity.set(Int64(queueOptions.queueSize))
        senders.wake()
    }

    // MARK: Senders

    /// Runs the senders (as many as `num_consumers`, adjusted on reload); when cancelled, refuses new batches and
    /// lets the senders drain the queue for up to `drainTimeout`, then counts what is left as failed.
    func run(_ transport: some OTLPExportTransport) async {
        let senders = await senders.run(componentID, reconcile: { running in
            for number in queue.claimMissingConsumers() {
                running.append((number, Task { await self.sendLoop(number, transport) }))
            }
        }, stopping: queue.close)
        // An unstructured task: this one is cancelled, and the drain timer must still run.
        let limit = drainTimeout
        let drained = await Task { await Self.waitForAll(senders, atMost: limit) }.value
        guard !drained else { return }
        for sender in senders { sender.cancel() }
        for sender in senders { await sender.value }
        let left = queue.removeAll()
        if !left.isEmpty {
            _ = failed(
                records: left.reduce(0) { $0 + $1.records },
                "still queued when the drain timeout (\(OTLPExporterRetryOptions.text(limit))) ran out on stop",
                retryable: true)
        }
    }

    private func sendLoop(_ number: Int, _ transport: some OTLPExportTransport) async {
        while !Task.isCancelled, case .element(let item) = await queue.take(consumer: number) {
            _ = await deliver(item, via: transport)
        }
    }

    /// Whether every task finished within `limit`. Awaiting a task's value cannot be interrupted, so a watcher
    /// task awaits them and signals through a stream, whose iteration ends when the timer wins.
    private static func waitForAll(_ tasks: [Task<Void, Never>], atMost limit: Duration) async -> Bool {
        let (finished, signal) = AsyncStream.makeStream(of: Void.self)
        Task {
            for task in tasks { await task.value }
            signal.finish()
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in finished {}
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    // MARK: Intake

    /// Queues `logs` for sending (or, with the queue disabled, sends them before returning). Throws
    /// ``PipelineError/backpressure(retryAfter:reason:)`` when the queue is full or the component is stopping,
    /// ``PipelineError/rejected(_:)`` when the batch can never fit or (queue disabled) the server refused it.
    func consume(_ logs: OTLPLogsData, via transport: some OTLPExportTransport) async throws {
        let records = logs.recordCount
        guard records > 0 else { return }
        let options = self.options.withLock { $0.queue }
        let item = OTLPExportItem(logs: logs, records: records)
        guard options.enabled else {
            switch await deliver(item, via: transport) {
            case .sent: return
            case .failed(let why, let retryable):
                throw retryable ? PipelineError.backpressure(retryAfter: nil, reason: why) : PipelineError.rejected(why)
            }
        }
        let weight = options.weight(records: records)
        let offer = options.blockOnOverflow ? await queue.put(item, weight: weight) : queue.offer(item, weight: weight)
        let error: PipelineError
        switch offer {
        case .accepted:
            return
        case .full:
            error = .backpressure(
                retryAfter: Self.retryAfterWhenFull,
                reason: "sending queue is full (queue_size = \(queue.capacity) \(options.sizer == .requests ? "batches" : "log records")) in \(componentID): the endpoint is not keeping up")
        case .closed:
            error = .backpressure(retryAfter: Self.retryAfterWhenFull, reason: "\(componentID) is stopping")
        case .cancelled:
            error = .backpressure(retryAfter: Self.retryAfterWhenFull, reason: "cancelled while waiting for room in the sending queue of \(componentID)")
        case .tooLarge:
            error = .rejected(
                "a batch of \(records) log records is larger than the whole sending queue of \(componentID) (queue_size = \(queue.capacity) with sizer = \"items\")")
        }
        metrics.enqueueFailed.increment(by: Int64(records))
        throw error
    }

    // MARK: Delivery

    /// Why an attempt failed, and whether the same batch could succeed later (for the caller's backpressure).
    private struct Failure: Sendable {
        var message: String
        var retryable: Bool
    }

    /// Sends `item` with retries as `retry_on_failure` says, and counts it as sent or failed: the one place a
    /// batch's outcome is recorded. Each attempt is the transport's, which reads the component's current
    /// arguments, so a reload that changes the endpoint or headers applies to batches already queued.
    /// Cancellation (the drain deadline) ends it as failed.
    func deliver<Transport: OTLPExportTransport>(_ item: OTLPExportItem, via transport: Transport) async -> OTLPExportDelivery {
        let retry = options.withLock { $0.retry }
        var prepared: Transport.Prepared?
        let outcome = await RetryingSend<Failure>.run(retry.policy) {
            let enabled = options.withLock { $0.retry.enabled }
            switch await transport.attempt(item, prepared: &prepared) {
            case .delivered(let rejected, let message):
                if rejected != 0 || !message.isEmpty { partialSuccess(rejected: rejected, message: message) }
                return .succeeded
            case .permanent(let message):
                return .permanent(Failure(message: "\(message) (not retried: the server refused the request)", retryable: false))
            case .retryable(let message, _) where !enabled:
                return .permanent(Failure(message: "\(message) (retry_on_failure is disabled)", retryable: true))
            case .retryable(let message, let retryAfter):
                return .retryable(Failure(message: message, retryable: true), retryAfter: retryAfter)
            }
        } willRetry: { failure, wait, _ in
            logger.debug(
                "\(kind) export failed, will retry", metadata: ["error": "\(failure.message)", "interval": "\(wait)"])
        }
        switch outcome {
        case .sent:
            metrics.sent.increment(by: Int64(item.records))
            return .sent
        case .refused(let failure):
            return failed(records: item.records, failure.message, retryable: failure.retryable)
        case .gaveUp(let failure, .pastMaxElapsed(let wait), _):
            return failed(
                records: item.records,
                "\(failure.message) (no more retries left: the next one, in \(OTLPExporterRetryOptions.text(wait)), would pass max_elapsed_time = \(OTLPExporterRetryOptions.text(retry.maxElapsedTime)))",
                retryable: true)
        case .gaveUp(let failure, _, _):
            return failed(records: item.records, "\(failure.message) (no more retries left)", retryable: true)
        case .cancelled(let failure, _):
            return failed(records: item.records, "\(failure.message) (stopping: no time left to retry)", retryable: true)
        }
    }

    /// Records a batch that will not be delivered: counted, and logged at most once per `failureLogInterval`.
    func failed(records: Int, _ why: String, retryable: Bool) -> OTLPExportDelivery {
        metrics.sendFailed.increment(by: Int64(records))
        let now = ContinuousClock.now
        let log = lastFailureLog.withLock { last -> Bool in
            if let last, now - last < Self.failureLogInterval { return false }
            last = now
            return true
        }
        if log {
            logger.error(
                "Exporting failed. Dropping data.",
                metadata: [
                    "component_id": "\(componentID)", "error": "\(why)", "dropped_items": "\(records)",
                    "note": "further failures within \(Self.failureLogInterval) are only counted in otelcol_exporter_send_failed_log_records_total",
                ])
        }
        return .failed(why, retryable: retryable)
    }

    /// The server took the request but refused some records (OTLP partial success): logged as the collector does;
    /// the batch counts as sent.
    func partialSuccess(rejected: Int64, message: String) {
        logger.warning(
            "Partial success response",
            metadata: ["component_id": "\(componentID)", "message": "\(message)", "dropped_log_records": "\(rejected)"])
    }
}

/// The wire side of an OTLP exporter: one attempt at sending a batch, sorted the collector's way.
///
/// Called by the core's senders (up to `num_consumers` at once, from their own tasks) and, with the queue
/// disabled, from `consume`'s caller. An attempt reads the component's arguments as they are now.
protocol OTLPExportTransport: Sendable {
    /// What the attempts at one batch share (its encoded request), built by the first and kept by the core.
    associatedtype Prepared: Sendable
    func attempt(_ item: OTLPExportItem, prepared: inout Prepared?) async -> OTLPExportAttempt
}

/// What one attempt came back with.
enum OTLPExportAttempt: Sendable, Equatable {
    /// The server took the request. A partial success names the records it refused (logged, not retried).
    case delivered(rejected: Int64, message: String)
    /// Worth retrying (the server is busy or unreachable); `retryAfter` is the delay the server asked for.
    case retryable(String, retryAfter: Duration?)
    /// The same request would fail again.
    case permanent(String)
}

/// How one batch ended.
enum OTLPExportDelivery: Sendable, Equatable {
    case sent
    case failed(String, retryable: Bool)
}

/// A batch of the sending queue, and how many log records it holds.
struct OTLPExportItem: Sendable {
    let logs: OTLPLogsData
    let records: Int
}
