import Synchronization

/// A bound on the bytes of request bodies held at once across every request, so that many large pushes at the
/// same time are refused (503, retry later) before they can take the process's memory, not after.
///
/// Called from HTTP handlers, many at once; `reserve` and `release` take a lock for an addition.
final class ByteBudget: Sendable {
    let capacity: Int
    private let used = Mutex(0)

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Takes `bytes` from the budget if they fit; otherwise takes nothing and returns false.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= capacity - used else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    var inUse: Int { used.withLock { $0 } }
}
