import Pipeline
import Synchronization
import Wire

/// A `loki.LogsReceiver` for tests: keeps every batch it accepts, and can refuse calls, hold them at a gate, or keep
/// their delivery acknowledgements until the test releases them.
public final class CollectingReceiver: LogsReceiver {
    private struct State {
        var arrivals = 0
        var batches: [LogBatch] = []
        var refusals: [PipelineError]
        var heldAcks: [DeliveryAck] = []
    }

    private let state: Mutex<State>
    private let refusingEvery: PipelineError?
    private let gate: CallGate?
    private let holdingAcks: Bool

    /// - Parameters:
    ///   - refusals: thrown by the first calls, one each, before any batch is kept.
    ///   - refusingEvery: thrown by every call after `refusals`; nothing is kept.
    ///   - gate: each call waits there first; a call cancelled while waiting throws `CancellationError`.
    ///   - holdingAcks: keeps each batch's acknowledgement open until ``releaseAcks()``, as a queue in front of a
    ///     slow endpoint would.
    public init(
        refusing refusals: [PipelineError] = [], refusingEvery: PipelineError? = nil, gate: CallGate? = nil,
        holdingAcks: Bool = false
    ) {
        state = Mutex(State(refusals: refusals))
        self.refusingEvery = refusingEvery
        self.gate = gate
        self.holdingAcks = holdingAcks
    }

    public func receive(_ batch: LogBatch) async throws {
        state.withLock { $0.arrivals += 1 }
        if let gate {
            await gate.wait()
            try Task.checkCancellation()
        }
        let refusal = state.withLock { state -> PipelineError? in
            if !state.refusals.isEmpty { return state.refusals.removeFirst() }
            if let refusingEvery { return refusingEvery }
            if holdingAcks, let ack = batch.ack {
                ack.hold()
                state.heldAcks.append(ack)
            }
            state.batches.append(batch)
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Calls that have started, including those refused or still waiting at the gate.
    public var arrivals: Int { state.withLock { $0.arrivals } }
    public var batches: [LogBatch] { state.withLock { $0.batches } }
    public var batchCount: Int { state.withLock { $0.batches.count } }
    public var entryCount: Int { state.withLock { $0.batches.reduce(0) { $0 + $1.count } } }
    public var entries: [LogEntry] { batches.flatMap(\.entries) }
    public var lines: [String] { entries.map { String(decoding: $0.line, as: UTF8.self) } }

    /// Acknowledges every batch held so far.
    public func releaseAcks() {
        let held = state.withLock { state in
            defer { state.heldAcks = [] }
            return state.heldAcks
        }
        for ack in held { ack.done() }
    }
}

/// An `otelcol.Consumer` for tests: keeps the log bodies of every call it accepts with the call's client metadata,
/// and can refuse calls or hold them at a gate.
public final class CollectingConsumer: OTLPLogsConsumer {
    public struct Call: Sendable {
        public var bodies: [String]
        public var recordCount: Int
        public var metadata: ClientMetadata
    }

    private struct State {
        var arrivals = 0
        var calls: [Call] = []
        var refusals: [PipelineError]
    }

    private let state: Mutex<State>
    private let gate: CallGate?

    /// - Parameters:
    ///   - refusals: thrown by the first calls, one each, before any call is kept.
    ///   - gate: each call waits there first.
    public init(refusing refusals: [PipelineError] = [], gate: CallGate? = nil) {
        state = Mutex(State(refusals: refusals))
        self.gate = gate
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        let metadata = ClientMetadata.current
        state.withLock { $0.arrivals += 1 }
        if let gate { await gate.wait() }
        let records = logs.resourceLogs.flatMap(\.scopeLogs).flatMap(\.logRecords)
        let bodies = records.map { record -> String in
            if case .string(let text) = record.body { return text }
            return ""
        }
        let refusal = state.withLock { state -> PipelineError? in
            if !state.refusals.isEmpty { return state.refusals.removeFirst() }
            state.calls.append(Call(bodies: bodies, recordCount: records.count, metadata: metadata))
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Calls that have started, including those refused or still waiting at the gate.
    public var arrivals: Int { state.withLock { $0.arrivals } }
    public var calls: [Call] { state.withLock { $0.calls } }
    /// The string bodies of every record kept, in order (an empty string for a body of another type).
    public var bodies: [String] { calls.flatMap(\.bodies) }
    public var recordCount: Int { calls.reduce(0) { $0 + $1.recordCount } }
}

extension Array where Element == PipelineError {
    /// `count` backpressure refusals that ask to retry after 10 ms, for `refusing:`.
    public static func backpressure(_ count: Int) -> Self {
        Array(repeating: .backpressure(retryAfter: .milliseconds(10), reason: "test refusal"), count: count)
    }
}
