import DequeModule
import Synchronization

extension LokiWrite {
    /// One endpoint's bounded queue of received batches, between the receiver and the endpoint's sender, and the
    /// account of every byte the endpoint holds.
    ///
    /// Producers (any number, any task) `offer` batches and never wait. A batch's bytes (``LogBatch/heldBytes``)
    /// stay counted from the offer until the sender gives them back with `release(_:)`, once the push request
    /// they went into was sent or dropped: so `capacity` bounds what is queued, being batched and in flight
    /// together, and a slow endpoint pushes back on its sources instead of holding ever more. A batch is refused
    /// when it would take the count past `capacity` (it is always accepted when nothing is held, so that one larger
    /// than the capacity still moves). One consumer, the endpoint's sender task, takes batches with `next(until:)`
    /// and is the only caller of the waiting methods. `close()` stops intake; what was queued can still be taken.
    final class Queue: Sendable {
        enum Offer: Equatable {
            case accepted
            case full
            case closed
        }

        enum Event {
            case batch(LogBatch)
            /// The deadline passed with nothing queued.
            case timedOut
            /// Closed, and everything queued was taken.
            case closed
            /// The consumer's task was cancelled.
            case cancelled
        }

        let capacity: Int
        private let state: Mutex<State>
        /// Told the bytes held after every change (the `loki_write_queue_bytes` gauge).
        private let observe: @Sendable (Int) -> Void

        private struct Waiter {
            let id: UInt64
            let continuation: CheckedContinuation<Void, Never>
        }

        private enum WaitKind {
            case data
            case close
        }

        private struct Item {
            let batch: LogBatch
            let bytes: Int
        }

        private struct State {
            var batches = Deque<Item>()
            /// Bytes of the batches queued, and of those taken but not yet released.
            var bytes = 0
            var closed = false
            var nextWaiterID: UInt64 = 0
            var dataWaiter: Waiter?
            var closeWaiter: Waiter?
            /// A waiter cancelled before it was installed (cancellation raced with the check), per kind.
            var cancelledData: UInt64?
            var cancelledClose: UInt64?
        }

        init(capacity: Int, observe: @escaping @Sendable (Int) -> Void = { _ in }) {
            self.capacity = capacity
            self.observe = observe
            state = Mutex(State())
        }

        /// Bytes held now: queued, or taken and not yet released.
        var heldBytes: Int { state.withLock { $0.bytes } }

        var isClosed: Bool { state.withLock { $0.closed } }

        /// Queues `batch` (holding `bytes`) unless the queue is closed or has no room for it.
        func offer(_ batch: LogBatch, bytes: Int) -> Offer {
            let (result, waiter, queued) = state.withLock { state -> (Offer, Waiter?, Int) in
                if state.closed { return (.closed, nil, state.bytes) }
                if state.bytes > 0 && state.bytes + bytes > capacity { return (.full, nil, state.bytes) }
                state.batches.append(Item(batch: batch, bytes: bytes))
                state.bytes += bytes
                let waiter = state.dataWaiter
                state.dataWaiter = nil
                return (.accepted, waiter, state.bytes)
            }
            if result == .accepted { observe(queued) }
            waiter?.continuation.resume()
            return result
        }

        /// Stops intake and wakes the consumer.
        func close() {
            let waiters = state.withLock { state -> [Waiter] in
                state.closed = true
                let waiters = [state.dataWaiter, state.closeWaiter].compactMap { $0 }
                state.dataWaiter = nil
                state.closeWaiter = nil
                return waiters
            }
            for waiter in waiters { waiter.continuation.resume() }
        }

        /// Removes and returns everything queued (to be counted as dropped); their bytes are no longer held.
        func removeAll() -> [LogBatch] {
            let (all, held) = state.withLock { state -> ([LogBatch], Int) in
                let all = state.batches.map(\.batch)
                state.bytes -= state.batches.reduce(0) { $0 + $1.bytes }
                state.batches.removeAll()
                return (all, state.bytes)
            }
            observe(held)
            return all
        }

        /// Gives back `bytes` of taken batches: the push request they went into was sent or dropped.
        func release(_ bytes: Int) {
            guard bytes != 0 else { return }
            let held = state.withLock { state -> Int in
                state.bytes = max(0, state.bytes - bytes)
                return state.bytes
            }
            observe(held)
        }

        /// The next queued batch, whose bytes stay held until released; waits until one is offered, the queue is closed, `deadline` passes or the task is
        /// cancelled. Consumer only.
        func next(until deadline: ContinuousClock.Instant?) async -> Event {
            while true {
                let taken = state.withLock { state -> Event? in
                    if let item = state.batches.popFirst() { return .batch(item.batch) }
                    return state.closed ? .closed : nil
                }
                if let taken { return taken }
                if Task.isCancelled { return .cancelled }
                if let deadline, ContinuousClock.now >= deadline { return .timedOut }
                if let deadline {
                    // Whichever comes first: data (or close) or the deadline; the loop then looks again.
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await self.wait(.data) }
                        group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                        await group.next()
                        group.cancelAll()
                    }
                } else {
                    await wait(.data)
                }
            }
        }

        /// Returns once the queue is closed, or when the task is cancelled. Consumer only (its drain timer).
        func waitUntilClosed() async {
            await wait(.close)
        }

        /// Waits for data or close (`.data`) or for close alone (`.close`); one waiter per kind at a time.
        private func wait(_ kind: WaitKind) async {
            let id = state.withLock { state -> UInt64 in
                state.nextWaiterID += 1
                return state.nextWaiterID
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        switch kind {
                        case .data:
                            if state.cancelledData == id || !state.batches.isEmpty || state.closed { return true }
                            precondition(state.dataWaiter == nil, "a loki.write queue has exactly one consumer")
                            state.dataWaiter = Waiter(id: id, continuation: continuation)
                        case .close:
                            if state.cancelledClose == id || state.closed { return true }
                            precondition(state.closeWaiter == nil, "a loki.write queue has exactly one consumer")
                            state.closeWaiter = Waiter(id: id, continuation: continuation)
                        }
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    switch kind {
                    case .data:
                        if let waiter = state.dataWaiter, waiter.id == id {
                            state.dataWaiter = nil
                            return waiter
                        }
                        state.cancelledData = id
                    case .close:
                        if let waiter = state.closeWaiter, waiter.id == id {
                            state.closeWaiter = nil
                            return waiter
                        }
                        state.cancelledClose = id
                    }
                    return nil
                }
                waiter?.continuation.resume()
            }
        }
    }
}
