import Synchronization
import Wire

extension LokiWrite {
    /// The `receiver` export: adds `external_labels` and hands each batch to every endpoint's queue.
    ///
    /// `receive` never waits. An endpoint whose queue is full drops the batch (reason `queue_is_full`) while the
    /// others take it, so one slow or dead endpoint never holds up the rest; only when no endpoint can take it is
    /// the batch refused with ``PipelineError/backpressure(retryAfter:reason:)``, and then nothing was queued
    /// anywhere, so the source can retry without duplicates.
    final class Receiver: LogsReceiver {
        private let componentID: String
        private let state = Mutex(State())

        private struct State {
            var endpoints: [Endpoint] = []
            /// `external_labels`, sorted by name.
            var externalLabels: [LabelPair] = []
            var stopped = false
        }

        /// How long a source is asked to wait when every queue is full: Alloy's default `batch_wait`.
        static let retryAfter = Duration.seconds(1)

        init(componentID: String) {
            self.componentID = componentID
        }

        func receive(_ batch: LogBatch) async throws {
            if batch.isEmpty { return }
            let external = state.withLock { $0.externalLabels }
            let labelled = Self.addingLabels(external, to: batch)
            let bytes = labelled.heldBytes
            let (stopped, accepted, full) = state.withLock { state -> (Bool, Int, [Endpoint]) in
                if state.stopped { return (true, 0, []) }
                var accepted = 0
                var full: [Endpoint] = []
                for endpoint in state.endpoints {
                    // Each queue that takes the batch holds its acknowledgement until the batch is sent or dropped.
                    // A full endpoint's hold is released when its drop is counted below, or on refusal.
                    labelled.ack?.hold()
                    switch endpoint.queue.offer(labelled, weight: bytes) {
                    case .accepted: accepted += 1
                    case .full: full.append(endpoint)
                    case .closed, .tooLarge, .cancelled: labelled.ack?.done()
                    }
                }
                return (false, accepted, full)
            }
            if stopped {
                throw PipelineError.backpressure(retryAfter: Self.retryAfter, reason: "\(componentID) is stopping")
            }
            if accepted == 0, let first = full.first {
                for _ in full { labelled.ack?.done() }
                throw PipelineError.backpressure(
                    retryAfter: Self.retryAfter,
                    reason: "the queue of every endpoint of \(componentID) is full (\(first.options.host): \(first.queue.used) of \(first.queue.capacity) bytes held); the endpoints are not keeping up")
            }
            for endpoint in full {
                endpoint.dropped(
                    [labelled], reason: .queueIsFull,
                    "the endpoint's queue is full (queue_config.capacity = \(endpoint.queue.capacity) bytes) while other endpoints keep up")
            }
        }

        /// Makes `endpoints` the ones that receive from now on, and closes the queues of `retired` so that their
        /// senders drain and stop. Atomic with respect to `receive`: no batch lands in a retired queue afterwards.
        func replace(endpoints: [Endpoint], externalLabels: [String: String], retired: [Endpoint]) {
            let sorted = externalLabels.map { LabelPair(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
            state.withLock { state in
                state.endpoints = endpoints
                state.externalLabels = sorted
                for endpoint in retired { endpoint.queue.close() }
            }
        }

        /// Refuses everything from now on and closes every queue.
        func stop() {
            state.withLock { state in
                state.stopped = true
                for endpoint in state.endpoints { endpoint.queue.close() }
            }
        }

        /// Every entry's labels with `external` added; an entry's own label of the same name wins (Alloy merges the
        /// entry's labels over the external ones).
        static func addingLabels(_ external: [LabelPair], to batch: LogBatch) -> LogBatch {
            if external.isEmpty { return batch }
            var result = batch
            var lastInput: LabelSet?
            var lastOutput: LabelSet?
            for index in result.entries.indices {
                let labels = result.entries[index].labels
                if let lastInput, let lastOutput, lastInput == labels {
                    result.entries[index].labels = lastOutput
                    continue
                }
                let merged = merge(labels.pairs, over: external)
                result.entries[index].labels = merged
                lastInput = labels
                lastOutput = merged
            }
            return result
        }

        /// Merges two name-sorted lists; on equal names the pairs of `own` are kept and the external one is not.
        static func merge(_ own: [LabelPair], over external: [LabelPair]) -> LabelSet {
            var merged: [LabelPair] = []
            merged.reserveCapacity(own.count + external.count)
            var i = 0
            var j = 0
            while i < own.count, j < external.count {
                if own[i].name < external[j].name {
                    merged.append(own[i])
                    i += 1
                } else if own[i].name > external[j].name {
                    merged.append(external[j])
                    j += 1
                } else {
                    let name = own[i].name
                    while i < own.count, own[i].name == name {
                        merged.append(own[i])
                        i += 1
                    }
                    j += 1
                }
            }
            merged.append(contentsOf: own[i...])
            merged.append(contentsOf: external[j...])
            return LabelSet(merged)
        }
    }
}
