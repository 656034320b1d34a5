import AlloyLanguage
import AsyncHTTPClient
import Logging
import Synchronization
import Wire

/// `otelcol.exporter.otlphttp`: sends the OTLP logs it is given to an OTLP/HTTP endpoint (`POST …/v1/logs`,
/// protobuf or JSON, gzip by default), for example another agent's `otelcol.receiver.otlp` or Loki's OTLP endpoint
/// (`client { endpoint = "http://loki:3100/otlp" }`). Exports `input`, an `otelcol.Consumer`.
///
/// Batches wait in a bounded `sending_queue` for one of `num_consumers` senders. When the queue is full, `consume`
/// throws ``PipelineError/backpressure(retryAfter:reason:)`` at once (or waits for room with `block_on_overflow`),
/// so the OTLP receiver upstream answers 503 and its client retries. A sender retries 429, 502, 503 and 504 and
/// failed connections with the collector's exponential backoff, honouring `Retry-After`; any other status is
/// permanent and the batch is counted as failed. On reload the queue and what it holds are kept; on stop, intake
/// ends and the senders drain the queue for up to `drainTimeout`.
public final class OTelColExporterOTLPHTTP: Component, OTLPLogsConsumer {
    public static let name = "otelcol.exporter.otlphttp"
    /// How long stopping waits for the queue to drain (Alloy has no argument for it: loki.write's default).
    public static let defaultDrainTimeout = LokiWrite.EndpointOptions.Defaults.drainTimeout
    /// How long an upstream is asked to wait when the queue is full.
    static let retryAfterWhenFull = Duration.seconds(1)
    /// A failing endpoint fails every batch; the log says so at most once per interval, the metric counts all.
    static let failureLogInterval = Duration.seconds(5)

    let logger: Logger
    let httpClient: HTTPClient
    let metrics: Metrics
    let queue: SendQueue
    let drainTimeout: Duration
    private let componentID: String
    private let arguments: Mutex<Arguments>
    private let senders = SenderTasks<Int>()
    private let lastFailureLog = Mutex<ContinuousClock.Instant?>(nil)

    /// The arguments in force now.
    var current: Arguments { arguments.withLock { $0 } }

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    public convenience init(context: ComponentContext, arguments: Arguments) throws {
        try self.init(context: context, arguments: arguments, drainTimeout: Self.defaultDrainTimeout)
    }

    /// `drainTimeout` is for tests that stop against an endpoint that never recovers.
    init(context: ComponentContext, arguments: Arguments, drainTimeout: Duration) throws {
        componentID = context.id
        logger = context.logger
        httpClient = context.httpClient
        metrics = Metrics(context)
        self.drainTimeout = drainTimeout
        self.arguments = Mutex(arguments)
        let gauge = metrics.queueSize
        queue = SendQueue(capacity: arguments.queue.queueSize, consumerLimit: arguments.queue.numConsumers,
                          accounting: .untilTaken, oversize: .refuse) { gauge.set(Int64($0)) }
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        self.arguments.withLock { $0 = arguments }
        let options = arguments.queue
        queue.configure(capacity: options.queueSize, consumerLimit: options.numConsumers) {
            options.weight(records: $0.records)
        }
        metrics.queueCapacity.set(Int64(arguments.queue.queueSize))
        senders.wake()
    }

    /// Runs the senders (as many as `num_consumers`, adjusted on reload); when cancelled, refuses new batches and
    /// lets the senders drain the queue for up to `drainTimeout`, then counts what is left as failed.
    public func run() async throws {
        let senders = await senders.run(componentID, reconcile: startSenders, stopping: queue.close)
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
                "still queued when the drain timeout (\(RetryOptions.text(limit))) ran out on stop", retryable: true)
        }
    }

    /// Starts a sender for each consumer number the queue has no sender for (more after `num_consumers` grew).
    private func startSenders(_ running: inout [SenderTasks<Int>.Sender]) {
        for number in queue.claimMissingConsumers() {
            running.append((number, Task { await self.sendLoop(number) }))
        }
    }

    private func sendLoop(_ number: Int) async {
        while !Task.isCancelled, case .element(let item) = await queue.take(consumer: number) {
            _ = await deliver(item)
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
    public func consume(_ logs: OTLPLogsData) async throws {
        let records = logs.recordCount
        guard records > 0 else { return }
        let options = current.queue
        let item = SendItem(logs: logs, records: records)
        guard options.enabled else {
            switch await deliver(item) {
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

    // MARK: Outcomes

    /// Records a batch that will not be delivered: counted, and logged at most once per `failureLogInterval`.
    func failed(_ item: SendItem, _ why: String, retryable: Bool) -> Delivery {
        failed(records: item.records, why, retryable: retryable)
    }

    func failed(records: Int, _ why: String, retryable: Bool) -> Delivery {
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
