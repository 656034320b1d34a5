import Synchronization

/// The sender tasks of a component that sends (`loki.write`, `otelcol.exporter.otlphttp`), and the one `run()`
/// that owns them: it starts senders at once and again after every `wake()` (an update that needs new ones), and
/// once cancelled calls `stopping`, starts what is still pending (so it drains too) and hands back every task for
/// the component to drain. Each sender is kept with a `Tag` the component chooses (its endpoint, its number).
final class SenderTasks<Tag: Sendable>: Sendable {
    typealias Sender = (tag: Tag, task: Task<Void, Never>)

    private enum Phase {
        case created
        case running
        case stopped
    }

    private struct State {
        var phase = Phase.created
        var senders: [Sender] = []
    }

    private let state = Mutex(State())
    private let wakes: AsyncStream<Void>
    private let waker: AsyncStream<Void>.Continuation

    init() {
        (wakes, waker) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks `run` to call its `reconcile` again; a no-op before it starts (it reconciles first thing) and after
    /// it stopped.
    func wake() {
        waker.yield()
    }

    /// Runs until the task is cancelled; returns the tasks to drain. `reconcile` adjusts the running senders
    /// (starts new ones, forgets finished ones) under the lock, so none can start after the stop.
    func run(
        _ componentID: String, reconcile: (inout [Sender]) -> Void, stopping: () -> Void
    ) async -> [Task<Void, Never>] {
        let first = state.withLock { state -> Bool in
            guard state.phase == .created else { return false }
            state.phase = .running
            return true
        }
        guard first else { preconditionFailure("\(componentID): run() is started once per component") }
        func adjust() {
            state.withLock { state in
                if state.phase == .running { reconcile(&state.senders) }
            }
        }
        adjust()
        for await _ in wakes { adjust() }
        stopping()
        adjust()
        return state.withLock { state in
            state.phase = .stopped
            return state.senders.map(\.task)
        }
    }
}
