import DequeModule
import Synchronization

/// The one queue kit of the agent's senders: a bounded queue of weighted elements between any number of producers
/// and numbered consumers. `loki.write` keeps one per endpoint (weights are bytes, held until the push request is
/// answered); `otelcol.exporter.otlphttp` keeps its `sending_queue` in one (weights are batches or records).
///
/// - `capacity` bounds the sum of the weights the queue accounts for. With `Accounting.untilReleased` an element's
///   weight stays counted after it is taken, until the consumer gives it back with `release(_:)`, so the capacity
///   bounds what is queued and in flight together; with `.untilTaken` taking frees it.
/// - An element heavier than the whole capacity is refused as `.tooLarge`, or with `Oversize.acceptWhenEmpty`
///   accepted when nothing is held, so that it still moves.
/// - Producers `offer` (never waits) or `put` (waits for room until the queue is closed or the producer's task is
///   cancelled). Consumers are numbered `0..<consumerLimit`, each number used by one task at a time; `take` waits
///   for an element, the queue's close, a deadline, or the task's cancellation, and tells a consumer whose number
///   is no longer below the limit to stop. `configure` changes capacity, limit and weights in place, so a reload
///   loses nothing queued.
final class BoundedQueue<Element: Sendable>: Sendable {
    enum Accounting: Sendable {
        case untilTaken
        case untilReleased
    }

    enum Oversize: Sendable {
        case refuse
        case acceptWhenEmpty
    }

    enum Offer: Equatable, Sendable {
        case accepted
        case full
        case closed
        /// The element alone is heavier than the whole capacity (with `Oversize.refuse`).
        case tooLarge
        /// The producer's task was cancelled while it waited for room.
        case cancelled
    }

    enum Take {
        case element(Element)
        /// The deadline passed with nothing queued.
        case timedOut
        /// Closed, and everything queued was taken.
        case closed
        /// The consumer's number is no longer below the limit.
        case retired
        /// The consumer's task was cancelled.
        case cancelled
    }

    private struct Item {
        let element: Element
        var weight: Int
    }

    private enum WaitKind {
        case producer(weight: Int)
        case consumer(Int)
        case close
    }

    private struct Waiter {
        let id: UInt64
        let kind: WaitKind
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var items = Deque<Item>()
        /// The weight accounted for: queued, and with `.untilReleased` also taken and not yet released.
        var used = 0
        var capacity: Int
        var consumerLimit: Int
        var activeConsumers: Set<Int> = []
        var closed = false
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Waits that started but have not installed their continuation yet, and those among them already
        /// cancelled (so they do not sleep).
        var starting: Set<UInt64> = []
        var cancelledWhileStarting: Set<UInt64> = []

        func fits(_ weight: Int, oversize: Oversize) -> Bool {
            used + weight <= capacity || (oversize == .acceptWhenEmpty && used == 0)
        }

        func isSatisfied(_ kind: WaitKind, oversize: Oversize) -> Bool {
            switch kind {
            case .producer(let weight): closed || fits(weight, oversize: oversize)
            case .consumer(let number): closed || !items.isEmpty || number >= consumerLimit
            case .close: closed
            }
        }

        /// Removes and returns the waiters whose condition now holds.
        mutating func takeSatisfied(oversize: Oversize) -> [Waiter] {
            guard !waiters.isEmpty else { return [] }
            var ready: [Waiter] = []
            var waiting: [Waiter] = []
            for waiter in waiters {
                if isSatisfied(waiter.kind, oversize: oversize) { ready.append(waiter) } else { waiting.append(waiter) }
            }
            waiters = waiting
            return ready
        }
    }

    private let state: Mutex<State>
    private let accounting: Accounting
    private let oversize: Oversize
    /// Told the weight accounted for whenever it changes, under the queue's lock, so that a gauge is never left
    /// behind by a race.
    private let usedChanged: @Sendable (Int) -> Void

    init(capacity: Int, consumerLimit: Int = 1, accounting: Accounting, oversize: Oversize,
         usedChanged: @escaping @Sendable (Int) -> Void = { _ in }) {
        state = Mutex(State(capacity: capacity, consumerLimit: consumerLimit))
        self.accounting = accounting
        self.oversize = oversize
        self.usedChanged = usedChanged
    }

    /// Elements queued now.
    var count: Int { state.withLock { $0.items.count } }
    /// The weight accounted for now.
    var used: Int { state.withLock { $0.used } }
    var capacity: Int { state.withLock { $0.capacity } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Applies new settings; what is queued stays queued, reweighed by `weight` when given.
    func configure(capacity: Int, consumerLimit: Int, weight: ((Element) -> Int)? = nil) {
        let ready = state.withLock { state -> [Waiter] in
            state.capacity = capacity
            state.consumerLimit = consumerLimit
            if let weight {
                precondition(accounting == .untilTaken, "taken elements cannot be reweighed")
                for index in state.items.indices { state.items[index].weight = weight(state.items[index].element) }
                state.used = state.items.reduce(0) { $0 + $1.weight }
                usedChanged(state.used)
            }
            return state.takeSatisfied(oversize: oversize)
        }
        resume(ready)
    }

    /// The consumer numbers below the limit that have no task now, marked as taken: the caller starts a consumer
    /// for each.
    func claimMissingConsumers() -> [Int] {
        state.withLock { state in
            guard !state.closed else { return [] }
            let missing = (0..<state.consumerLimit).filter { !state.activeConsumers.contains($0) }
            state.activeConsumers.formUnion(missing)
            return missing
        }
    }

    /// Queues `element` if there is room; never waits.
    func offer(_ element: Element, weight: Int) -> Offer {
        let (result, ready) = state.withLock { state -> (Offer, [Waiter]) in
            if state.closed { return (.closed, []) }
            if oversize == .refuse && weight > state.capacity { return (.tooLarge, []) }
            guard state.fits(weight, oversize: oversize) else { return (.full, []) }
            state.items.append(Item(element: element, weight: weight))
            state.used += weight
            usedChanged(state.used)
            return (.accepted, state.takeSatisfied(oversize: oversize))
        }
        resume(ready)
        return result
    }

    /// Queues `element`, waiting for room while the queue is full.
    func put(_ element: Element, weight: Int) async -> Offer {
        while true {
            let result = offer(element, weight: weight)
            guard result == .full else { return result }
            if Task.isCancelled { return .cancelled }
            await wait(.producer(weight: weight))
        }
    }

    /// The next element for consumer `number`, or why there is none; waits at most until `deadline`.
    func take(consumer number: Int, until deadline: ContinuousClock.Instant? = nil) async -> Take {
        while true {
            let (taken, ready) = state.withLock { state -> (Take?, [Waiter]) in
                if number >= state.consumerLimit {
                    state.activeConsumers.remove(number)
                    return (.retired, [])
                }
                if let item = state.items.popFirst() {
                    if accounting == .untilTaken {
                        state.used -= item.weight
                        usedChanged(state.used)
                    }
                    return (.element(item.element), state.takeSatisfied(oversize: oversize))
                }
                if state.closed {
                    state.activeConsumers.remove(number)
                    return (.closed, [])
                }
                return (nil, [])
            }
            resume(ready)
            if let taken { return taken }
            if Task.isCancelled {
                state.withLock { _ = $0.activeConsumers.remove(number) }
                return .cancelled
            }
            guard let deadline else {
                await wait(.consumer(number))
                continue
            }
            if ContinuousClock.now >= deadline { return .timedOut }
            // Whichever comes first: an element (or close) or the deadline; the loop then looks again.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.wait(.consumer(number)) }
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Gives back `weight` of taken elements (with `.untilReleased`): what they went into was sent or dropped.
    func release(_ weight: Int) {
        guard weight != 0 else { return }
        let ready = state.withLock { state -> [Waiter] in
            state.used = max(0, state.used - weight)
            usedChanged(state.used)
            return state.takeSatisfied(oversize: oversize)
        }
        resume(ready)
    }

    /// Stops intake: waiting producers get `.closed`; consumers take what is queued and then get `.closed`.
    func close() {
        let ready = state.withLock { state -> [Waiter] in
            state.closed = true
            return state.takeSatisfied(oversize: oversize)
        }
        resume(ready)
    }

    /// Returns once the queue is closed, or when the task is cancelled.
    func waitUntilClosed() async {
        await wait(.close)
    }

    /// Removes and returns everything queued (for the caller to count as dropped); its weight is no longer held.
    func removeAll() -> [Element] {
        let (all, ready) = state.withLock { state -> ([Element], [Waiter]) in
            let all = state.items.map(\.element)
            state.used -= state.items.reduce(0) { $0 + $1.weight }
            state.items.removeAll()
            usedChanged(state.used)
            return (all, state.takeSatisfied(oversize: oversize))
        }
        resume(ready)
        return all
    }

    private func resume(_ waiters: [Waiter]) {
        for waiter in waiters { waiter.continuation.resume() }
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
                    if state.cancelledWhileStarting.remove(id) != nil || state.isSatisfied(kind, oversize: oversize) {
                        return true
                    }
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
