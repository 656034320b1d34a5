import DequeModule
import Synchronization
import Wire

extension OTelColExporterOTLPHTTP {
    /// The `sending_queue`: batches between `consume` and the senders, bounded by `queue_size`.
    ///
    /// Producers (any task) `offer` a batch, which never waits, or `put` it, which waits for room
    /// (`block_on_overflow`) until the queue is closed or the producer's task is cancelled. Consumers are numbered
    /// `0..<consumerLimit`; each sender task calls `take(consumer:)` with its number, which returns nil once the
    /// queue is closed and empty, once the number is no longer below the limit (fewer `num_consumers` on reload),
    /// or when the sender's task is cancelled. Capacity, limit and sizer change in place, so a reload never loses
    /// what is queued.
    final class SendQueue: Sendable {
        enum Offer: Equatable {
            case accepted
            case full
            case closed
            /// The batch alone is larger than the whole queue (only with `sizer = "items"`).
            case tooLarge
            /// The producer's task was cancelled while it waited for room.
            case cancelled
        }

        struct Item: Sendable {
            let logs: OTLPLogsData
            let records: Int
        }

        private enum WaitKind {
            case producer(weight: Int)
            case consumer(Int)
        }

        private struct Waiter {
            let id: UInt64
            let kind: WaitKind
            let continuation: CheckedContinuation<Void, Never>
        }

        private struct State {
            var items = Deque<Item>()
            var used = 0
            var capacity: Int
            var sizer: QueueOptions.Sizer
            var consumerLimit: Int
            var activeConsumers: Set<Int> = []
            var closed = false
            var waiters: [Waiter] = []
            var nextID: UInt64 = 0
            /// Waits that started but have not installed their continuation yet, and those among them already
            /// cancelled (so they do not sleep).
            var starting: Set<UInt64> = []
            var cancelledWhileStarting: Set<UInt64> = []

            func weight(_ item: Item) -> Int { sizer == .requests ? 1 : item.records }

            func isSatisfied(_ kind: WaitKind) -> Bool {
                Self.holds(kind, closed: closed, used: used, capacity: capacity, hasItems: !items.isEmpty, limit: consumerLimit)
            }

            static func holds(_ kind: WaitKind, closed: Bool, used: Int, capacity: Int, hasItems: Bool, limit: Int) -> Bool {
                switch kind {
                case .producer(let weight): closed || used + weight <= capacity
                case .consumer(let number): closed || hasItems || number >= limit
                }
            }

            /// Removes and returns the waiters whose condition now holds.
            mutating func takeSatisfied() -> [Waiter] {
                let (closed, used, capacity, hasItems, limit) = (closed, used, capacity, !items.isEmpty, consumerLimit)
                var ready: [Waiter] = []
                waiters.removeAll { waiter in
                    guard Self.holds(waiter.kind, closed: closed, used: used, capacity: capacity, hasItems: hasItems, limit: limit)
                    else { return false }
                    ready.append(waiter)
                    return true
                }
                return ready
            }
        }

        private let state: Mutex<State>
        /// Told the queue's size (in `sizer` units) whenever it changes, under the queue's lock, so that the
        /// gauge is never left behind by a race.
        private let sizeChanged: @Sendable (Int) -> Void

        init(options: QueueOptions, sizeChanged: @escaping @Sendable (Int) -> Void) {
            state = Mutex(State(capacity: options.queueSize, sizer: options.sizer, consumerLimit: options.numConsumers))
            self.sizeChanged = sizeChanged
        }

        /// Queued batches and their size in `sizer` units.
        var count: Int { state.withLock { $0.items.count } }
        var used: Int { state.withLock { $0.used } }
        var capacity: Int { state.withLock { $0.capacity } }

        /// Applies reloaded `sending_queue` settings; what is queued stays queued.
        func configure(_ options: QueueOptions) {
            let ready = state.withLock { state -> [Waiter] in
                state.capacity = options.queueSize
                state.consumerLimit = options.numConsumers
                if state.sizer != options.sizer {
                    state.sizer = options.sizer
                    state.used = state.items.reduce(0) { $0 + state.weight($1) }
                    sizeChanged(state.used)
                }
                return state.takeSatisfied()
            }
            for waiter in ready { waiter.continuation.resume() }
        }

        /// The consumer numbers below the limit that have no sender now, marked as taken: the caller starts a
        /// sender for each.
        func claimMissingConsumers() -> [Int] {
            state.withLock { state in
                guard !state.closed else { return [] }
                let missing = (0..<state.consumerLimit).filter { !state.activeConsumers.contains($0) }
                state.activeConsumers.formUnion(missing)
                return missing
            }
        }

        /// Queues `item` if there is room; never waits.
        func offer(_ item: Item) -> Offer {
            let (result, ready) = state.withLock { state -> (Offer, [Waiter]) in
                if state.closed { return (.closed, []) }
                let weight = state.weight(item)
                if weight > state.capacity { return (.tooLarge, []) }
                if state.used + weight > state.capacity { return (.full, []) }
                state.items.append(item)
                state.used += weight
                sizeChanged(state.used)
                return (.accepted, state.takeSatisfied())
            }
            for waiter in ready { waiter.continuation.resume() }
            return result
        }

        /// Queues `item`, waiting for room while the queue is full.
        func put(_ item: Item) async -> Offer {
            let weight = state.withLock { $0.weight(item) }
            while true {
                let result = offer(item)
                guard result == .full else { return result }
                if Task.isCancelled { return .cancelled }
                await wait(.producer(weight: weight))
            }
        }

        /// The next batch for sender `consumer`; nil when it should stop (see the type's documentation).
        func take(consumer: Int) async -> Item? {
            while true {
                let (taken, ready) = state.withLock { state -> (Item??, [Waiter]) in
                    if consumer >= state.consumerLimit {
                        state.activeConsumers.remove(consumer)
                        return (.some(nil), [])
                    }
                    if let item = state.items.popFirst() {
                        state.used -= state.weight(item)
                        sizeChanged(state.used)
                        return (.some(item), state.takeSatisfied())
                    }
                    if state.closed {
                        state.activeConsumers.remove(consumer)
                        return (.some(nil), [])
                    }
                    return (nil, [])
                }
                for waiter in ready { waiter.continuation.resume() }
                if let taken { return taken }
                if Task.isCancelled {
                    state.withLock { _ = $0.activeConsumers.remove(consumer) }
                    return nil
                }
                await wait(.consumer(consumer))
            }
        }

        /// Stops intake: waiting producers get `.closed`, consumers drain what is queued and then get nil.
        func close() {
            let ready = state.withLock { state -> [Waiter] in
                state.closed = true
                return state.takeSatisfied()
            }
            for waiter in ready { waiter.continuation.resume() }
        }

        /// Removes and returns everything queued (to be counted as failed).
        func removeAll() -> [Item] {
            state.withLock { state in
                let all = Array(state.items)
                state.items.removeAll()
                state.used = 0
                sizeChanged(0)
                return all
            }
        }

        /// Sleeps until the condition of `kind` may hold, or the task is cancelled.
        private func wait(_ kind: WaitKind) async {
            let id = state.withLock { state -> UInt64 in
                state.nextID += 1
                state.starting.insert(state.nextID)
                return state.nextID
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        state.starting.remove(id)
                        if state.cancelledWhileStarting.remove(id) != nil || state.isSatisfied(kind) { return true }
                        state.waiters.append(Waiter(id: id, kind: kind, continuation: continuation))
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                        return state.waiters.remove(at: index)
                    }
                    if state.starting.contains(id) { state.cancelledWhileStarting.insert(id) }
                    return nil
                }
                waiter?.continuation.resume()
            }
        }
    }
}
