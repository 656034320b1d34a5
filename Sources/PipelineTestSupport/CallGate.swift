import Synchronization

/// Holds calls until the test lets them through, so that a request can be kept in flight on purpose.
///
/// `pass()` lets one call through (one waiting now, or the next to arrive); `open()` lets every call through from
/// then on. A call waiting at the gate also returns when its task is cancelled.
public final class CallGate: Sendable {
    private struct State {
        var open = false
        var passes = 0
        var nextWaiter = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Returns once this call may go on: the gate passed it or is open, or the task was cancelled.
    public func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let go = state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    if state.passes > 0 {
                        state.passes -= 1
                        return true
                    }
                    state.waiters.append((id, continuation))
                    return false
                }
                if go { continuation.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume()
        }
    }

    /// Lets `count` calls through: those waiting longest first, then calls still to come.
    public func pass(_ count: Int = 1) {
        let released = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let now = min(count, state.waiters.count)
            state.passes += count - now
            defer { state.waiters.removeFirst(now) }
            return state.waiters.prefix(now).map(\.continuation)
        }
        for continuation in released { continuation.resume() }
    }

    /// Lets every call through, waiting or to come.
    public func open() {
        let released = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters.map(\.continuation)
        }
        for continuation in released { continuation.resume() }
    }
}
