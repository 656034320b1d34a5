import Logging
import Prometheus
import Synchronization
import Wire

/// `otelcol.processor.batch`: gathers OTLP logs into batches of `send_batch_size` records (never more than
/// `send_batch_max_size`), sending a smaller batch once `timeout` has passed since its first record.
///
/// The queue in front of the sender is bounded (ten maximum batches): past it `consume` throws
/// ``PipelineError/backpressure(retryAfter:reason:)``, which the receiver turns into 503 and a retry, instead of
/// memory growing. A batch the downstream refuses with backpressure is kept and offered again, so nothing the
/// processor accepted is lost while the agent runs.
public final class OTelColProcessorBatch: Component, OTLPLogsConsumer {
    public static let name = "otelcol.processor.batch"

    public struct Arguments: ComponentArguments {
        public var timeout: Duration = .milliseconds(200)
        public var sendBatchSize = 2000
        public var sendBatchMaxSize = 3000
        /// Accepted for compatibility. Request metadata is not carried through the pipeline yet, so every record
        /// shares one batcher, as when the list is empty.
        public var metadataKeys: [String] = []
        public var metadataCardinalityLimit = 1000
        public var logs = OTLPLogsConsumers()

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            timeout = try reader.duration("timeout", default: timeout)
            sendBatchSize = try reader.int("send_batch_size", default: sendBatchSize)
            sendBatchMaxSize = try reader.int("send_batch_max_size", default: sendBatchMaxSize)
            metadataKeys = try reader.stringList("metadata_keys")
            metadataCardinalityLimit = try reader.int("metadata_cardinality_limit", default: metadataCardinalityLimit)
            guard let output = try reader.block("output") else {
                throw reader.blockError("missing required block \"output\" in \(reader.name)")
            }
            logs = try output.otlpConsumers("logs")
            _ = try output.value("metrics")
            _ = try output.value("traces")
        }

        public func validate() throws(ArgumentError) {
            guard sendBatchSize >= 0, sendBatchMaxSize >= 0 else {
                throw ArgumentError("send_batch_size and send_batch_max_size must not be negative")
            }
            if sendBatchMaxSize > 0 && sendBatchMaxSize < sendBatchSize {
                throw ArgumentError(
                    "send_batch_max_size (\(sendBatchMaxSize)) must be greater or equal to send_batch_size (\(sendBatchSize))")
            }
            guard timeout >= .zero else { throw ArgumentError("timeout must not be negative") }
        }

        /// The largest batch sent: `send_batch_max_size`, or `send_batch_size` when that is 0 (no limit).
        var batchLimit: Int { sendBatchMaxSize > 0 ? sendBatchMaxSize : max(sendBatchSize, 1) }
        /// Records held before `consume` refuses more.
        var capacity: Int { 10 * max(batchLimit, 1000) }
    }

    private struct State {
        var arguments: Arguments
        var pending: [OTLPLogsData] = []
        var pendingRecords = 0
        /// When the oldest pending record arrived.
        var oldest: ContinuousClock.Instant?
    }

    private let context: ComponentContext
    private let state: Mutex<State>
    private let wakeUp = WakeUp()
    private let sizeHistogram: Histogram<Double>
    private let timeoutTrigger: Counter
    private let sizeTrigger: Counter

    public var exports: ValueObject {
        ValueObject([("input", .capsule(Capsule(typeName: "otelcol.Consumer", object: self)))])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments))
        let labels = [("component_id", context.id), ("processor", context.id)]
        sizeHistogram = context.metrics.makeValueHistogram(
            name: "otelcol_processor_batch_batch_send_size", labels: labels,
            buckets: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
                      20000, 30000, 50000, 100000],
            help: "Number of units in the batch")
        timeoutTrigger = context.metrics.makeCounter(
            name: "otelcol_processor_batch_timeout_trigger_send_total", labels: labels,
            help: "Number of times the batch was sent due to a timeout trigger")
        sizeTrigger = context.metrics.makeCounter(
            name: "otelcol_processor_batch_batch_size_trigger_send_total", labels: labels,
            help: "Number of times the batch was sent due to a size trigger")
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        state.withLock { $0.arguments = arguments }
        wakeUp.signal()
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        let count = logs.recordCount
        guard count > 0 else { return }
        // The sender sleeps until there is something to time; wake it for the first record and for a full batch.
        let wake = try state.withLock { state throws(PipelineError) -> Bool in
            if state.pendingRecords + count > state.arguments.capacity && state.pendingRecords > 0 {
                throw PipelineError.backpressure(
                    retryAfter: .seconds(1),
                    reason: "\(context.id) holds \(state.pendingRecords) records, its limit is \(state.arguments.capacity)")
            }
            let wasEmpty = state.pendingRecords == 0
            state.pending.append(logs)
            state.pendingRecords += count
            if state.oldest == nil { state.oldest = .now }
            return wasEmpty || state.pendingRecords >= max(state.arguments.sendBatchSize, 1)
        }
        if wake { wakeUp.signal() }
    }

    public func run() async throws {
        // Short and capped: downstream queues drain in milliseconds, and every moment waited here is a moment the
        // receiver answers 503 because this queue is full.
        var backoff = Duration.milliseconds(5)
        while !Task.isCancelled {
            let (batch, wait) = nextBatch(draining: false)
            guard let batch else {
                await wakeUp.wait(timeout: wait)
                continue
            }
            if await send(batch) {
                backoff = .milliseconds(5)
            } else {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(100))
            }
        }
        // Stopping: hand on what is held, once each; the downstream decides what it can still take.
        while let batch = nextBatch(draining: true).batch {
            _ = await send(batch, retry: false)
        }
    }

    /// The batch to send now, or how long to wait for one.
    private func nextBatch(draining: Bool) -> (batch: OTLPLogsData?, wait: Duration) {
        state.withLock { state in
            guard state.pendingRecords > 0, let oldest = state.oldest else { return (nil, .seconds(3600)) }
            let arguments = state.arguments
            let dueAt = oldest + arguments.timeout
            let bySize = state.pendingRecords >= max(arguments.sendBatchSize, 1)
            guard draining || bySize || dueAt <= .now else { return (nil, dueAt - .now) }
            (bySize ? sizeTrigger : timeoutTrigger).increment()
            var batch = OTLPLogsData()
            var taken = 0
            while taken < arguments.batchLimit, !state.pending.isEmpty {
                let (head, rest) = state.pending[0].split(maxRecords: arguments.batchLimit - taken)
                batch.resourceLogs.append(contentsOf: head.resourceLogs)
                taken += head.recordCount
                if let rest { state.pending[0] = rest } else { state.pending.removeFirst() }
            }
            state.pendingRecords -= taken
            state.oldest = state.pending.isEmpty ? nil : .now
            return (batch, .zero)
        }
    }

    /// Sends one batch. On backpressure the batch goes back to the front of the queue (when `retry`) and false is
    /// returned; other failures are logged and the batch is dropped, as the collector's batch processor does.
    private func send(_ batch: OTLPLogsData, retry: Bool = true) async -> Bool {
        let count = batch.recordCount
        let consumers = state.withLock { $0.arguments.logs }
        do {
            try await consumers.send(batch)
            sizeHistogram.record(Double(count))
            return true
        } catch let error as PipelineError where error.isRetryable && retry {
            state.withLock { state in
                state.pending.insert(batch, at: 0)
                state.pendingRecords += count
                if state.oldest == nil { state.oldest = .now }
            }
            return false
        } catch {
            context.logger.error("dropping batch the next component refused", metadata: [
                "records": "\(count)", "error": "\(error)",
            ])
            return true
        }
    }
}

extension OTLPLogsData {
    /// The first `maxRecords` records (keeping their resource and scope) and the rest, or nil when nothing is left.
    func split(maxRecords: Int) -> (head: OTLPLogsData, rest: OTLPLogsData?) {
        guard recordCount > maxRecords else { return (self, nil) }
        var head = OTLPLogsData()
        var rest = OTLPLogsData()
        var room = maxRecords
        for resource in resourceLogs {
            var headResource = resource
            headResource.scopeLogs = []
            var restResource = resource
            restResource.scopeLogs = []
            for scope in resource.scopeLogs {
                if room >= scope.logRecords.count {
                    headResource.scopeLogs.append(scope)
                    room -= scope.logRecords.count
                } else if room > 0 {
                    var first = scope
                    first.logRecords = Array(scope.logRecords[..<room])
                    var second = scope
                    second.logRecords = Array(scope.logRecords[room...])
                    headResource.scopeLogs.append(first)
                    restResource.scopeLogs.append(second)
                    room = 0
                } else {
                    restResource.scopeLogs.append(scope)
                }
            }
            if !headResource.scopeLogs.isEmpty { head.resourceLogs.append(headResource) }
            if !restResource.scopeLogs.isEmpty { rest.resourceLogs.append(restResource) }
        }
        return (head, rest)
    }
}
