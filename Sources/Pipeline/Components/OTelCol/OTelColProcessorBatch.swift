import AlloyLanguage
import Logging
import Prometheus
import Synchronization
import Wire

/// `otelcol.processor.batch`: gathers OTLP logs into batches of `send_batch_size` records (never more than
/// `send_batch_max_size`), sending a smaller batch once `timeout` has passed since its first record.
///
/// With `metadata_keys`, records are batched apart by the values those keys have in the request's
/// ``ClientMetadata`` (the receiver's `include_metadata`), and each batch is handed on with just those keys, as the
/// collector does; at most `metadata_cardinality_limit` combinations are kept, past it records are refused.
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
        /// Client metadata keys that batches are kept apart by; empty: one batcher for everything.
        public var metadataKeys: [String] = []
        public var metadataCardinalityLimit = 1000
        public var logs = OTLPLogsConsumers()

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            timeout = try reader.duration("timeout", default: timeout)
            sendBatchSize = try reader.int("send_batch_size", default: sendBatchSize)
            sendBatchMaxSize = try reader.int("send_batch_max_size", default: sendBatchMaxSize)
            metadataKeys = try reader.stringList("metadata_keys")
            metadataCardinalityLimit = try reader.int("metadata_cardinality_limit", default: metadataCardinalityLimit)
            logs = try reader.otelcolOutput()
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
            var seen = Set<String>()
            for key in metadataKeys where !seen.insert(key.lowercased()).inserted {
                throw ArgumentError("duplicate entry in metadata_keys: \(GoQuote.quote(key)) (case-insensitive)")
            }
            guard metadataCardinalityLimit >= 0 else { throw ArgumentError("metadata_cardinality_limit must not be negative") }
        }

        /// The largest batch sent: `send_batch_max_size`, or `send_batch_size` when that is 0 (no limit).
        var batchLimit: Int { sendBatchMaxSize > 0 ? sendBatchMaxSize : max(sendBatchSize, 1) }
        /// Records held before `consume` refuses more.
        var capacity: Int { 10 * max(batchLimit, 1000) }
    }

    /// The records of one combination of metadata values.
    private struct Shard {
        /// Handed on with every batch of the shard: the metadata keys and their values.
        let metadata: ClientMetadata
        var pending: [OTLPLogsData] = []
        var pendingRecords = 0
        /// When the oldest pending record arrived.
        var oldest: ContinuousClock.Instant?
    }

    private struct State {
        var arguments: Arguments
        var shards: [Shard] = [Shard(metadata: ClientMetadata())]
        /// Where each metadata combination's shard is; the first shard serves records when there are no keys.
        var shardIndex: [ClientMetadata: Int] = [ClientMetadata(): 0]
        var pendingRecords = 0
        /// The shard the sender looks at first, turning round so that no combination waits behind another.
        var cursor = 0
    }

    private let context: ComponentContext
    private let state: Mutex<State>
    private let wakeUp = WakeUp()
    private let sizeHistogram: Histogram<Double>
    private let timeoutTrigger: Counter
    private let sizeTrigger: Counter
    private let cardinality: Gauge

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments))
        let labels = [("component_id", context.id), ("processor", context.id)]
        sizeHistogram = context.metrics.makeValueHistogram(
            descriptor: .init("otelcol_processor_batch_batch_send_size", help: "Number of units in the batch"),
            labels: labels,
            buckets: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
                      20000, 30000, 50000, 100000])
        timeoutTrigger = context.metrics.makeCounter(
            descriptor: .init("otelcol_processor_batch_timeout_trigger_send_total", help: "Number of times the batch was sent due to a timeout trigger"),
            labels: labels)
        sizeTrigger = context.metrics.makeCounter(
            descriptor: .init("otelcol_processor_batch_batch_size_trigger_send_total", help: "Number of times the batch was sent due to a size trigger"),
            labels: labels)
        cardinality = context.metrics.makeGauge(
            descriptor: .init("otelcol_processor_batch_metadata_cardinality", help: "Number of distinct metadata value combinations being processed"),
            labels: labels)
        cardinality.set(1.0)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        state.withLock { $0.arguments = arguments }
        wakeUp.signal()
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        let count = logs.recordCount
        guard count > 0 else { return }
        let request = ClientMetadata.current
        // The sender sleeps until there is something to time; wake it for the first record and for a full batch.
        let (wake, shards) = try state.withLock { state throws(PipelineError) -> (Bool, Int) in
            if state.pendingRecords + count > state.arguments.capacity && state.pendingRecords > 0 {
                throw PipelineError.backpressure(
                    retryAfter: .seconds(1),
                    reason: "\(context.id) holds \(state.pendingRecords) records, its limit is \(state.arguments.capacity)")
            }
            let keys = state.arguments.metadataKeys
            let metadata = keys.isEmpty ? ClientMetadata() : request.only(keys)
            let index: Int
            if let found = state.shardIndex[metadata] {
                index = found
            } else {
                // The shard of no keys always exists and does not count towards the limit.
                guard state.shards.count - 1 < state.arguments.metadataCardinalityLimit else {
                    throw PipelineError.backpressure(
                        retryAfter: .seconds(1),
                        reason: "too many batcher metadata-value combinations (metadata_cardinality_limit = \(state.arguments.metadataCardinalityLimit))")
                }
                index = state.shards.count
                state.shards.append(Shard(metadata: metadata))
                state.shardIndex[metadata] = index
            }
            let wasEmpty = state.shards[index].pendingRecords == 0
            state.shards[index].pending.append(logs)
            state.shards[index].pendingRecords += count
            state.pendingRecords += count
            if state.shards[index].oldest == nil { state.shards[index].oldest = .now }
            let full = state.shards[index].pendingRecords >= max(state.arguments.sendBatchSize, 1)
            return (wasEmpty || full, state.shards.count)
        }
        cardinality.set(Double(shards))
        if wake { wakeUp.signal() }
    }

    public func run() async throws {
        // Short and capped: downstream queues drain in milliseconds, and every moment waited here is a moment the
        // receiver answers 503 because this queue is full.
        var backoff = Duration.milliseconds(5)
        while !Task.isCancelled {
            let (next, wait) = nextBatch(draining: false)
            guard let next else {
                await wakeUp.wait(timeout: wait)
                continue
            }
            if await send(next) {
                backoff = .milliseconds(5)
            } else {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(100))
            }
        }
        // Stopping: hand on what is held, once each; the downstream decides what it can still take.
        while let next = nextBatch(draining: true).batch {
            _ = await send(next, retry: false)
        }
    }

    private struct Outgoing {
        var logs: OTLPLogsData
        var shard: Int
        var metadata: ClientMetadata
    }

    /// The batch to send now, or how long to wait for one.
    private func nextBatch(draining: Bool) -> (batch: Outgoing?, wait: Duration) {
        state.withLock { state in
            let arguments = state.arguments
            let now = ContinuousClock.now
            var wait = Duration.seconds(3600)
            let count = state.shards.count
            for step in 0..<count {
                let index = (state.cursor + step) % count
                guard state.shards[index].pendingRecords > 0, let oldest = state.shards[index].oldest else { continue }
                let dueAt = oldest + arguments.timeout
                let bySize = state.shards[index].pendingRecords >= max(arguments.sendBatchSize, 1)
                guard draining || bySize || dueAt <= now else {
                    wait = min(wait, dueAt - now)
                    continue
                }
                (bySize ? sizeTrigger : timeoutTrigger).increment()
                state.cursor = (index + 1) % count
                let logs = Self.take(upTo: arguments.batchLimit, from: &state.shards[index])
                state.pendingRecords -= logs.recordCount
                return (Outgoing(logs: logs, shard: index, metadata: state.shards[index].metadata), .zero)
            }
            return (nil, wait)
        }
    }

    /// Takes the oldest `limit` records of `shard`, splitting a request when needed.
    private static func take(upTo limit: Int, from shard: inout Shard) -> OTLPLogsData {
        var batch = OTLPLogsData()
        var taken = 0
        while taken < limit, !shard.pending.isEmpty {
            let (head, rest) = shard.pending[0].split(maxRecords: limit - taken)
            batch.resourceLogs.append(contentsOf: head.resourceLogs)
            taken += head.recordCount
            if let rest { shard.pending[0] = rest } else { shard.pending.removeFirst() }
        }
        shard.pendingRecords -= taken
        shard.oldest = shard.pending.isEmpty ? nil : .now
        return batch
    }

    /// Sends one batch with its shard's metadata. On backpressure the batch goes back to the front of its shard
    /// (when `retry`) and false is returned; other failures are logged and the batch is dropped, as the
    /// collector's batch processor does.
    private func send(_ outgoing: Outgoing, retry: Bool = true) async -> Bool {
        let count = outgoing.logs.recordCount
        let consumers = state.withLock { $0.arguments.logs }
        do {
            try await ClientMetadata.$current.withValue(outgoing.metadata) {
                try await consumers.send(outgoing.logs)
            }
            sizeHistogram.record(Double(count))
            return true
        } catch let error as PipelineError where error.isRetryable && retry {
            state.withLock { state in
                state.shards[outgoing.shard].pending.insert(outgoing.logs, at: 0)
                state.shards[outgoing.shard].pendingRecords += count
                state.pendingRecords += count
                if state.shards[outgoing.shard].oldest == nil { state.shards[outgoing.shard].oldest = .now }
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
