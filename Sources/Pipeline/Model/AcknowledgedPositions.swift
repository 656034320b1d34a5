import DequeModule
import Synchronization

/// A source's read positions waiting for their batches' ``DeliveryAck``s: positions become final in the order
/// the batches were sent, and only once every batch up to them was acknowledged (requests complete out of order,
/// but a position must never move past a batch that might still be lost).
///
/// Used by the source's own task; the acknowledgements arrive from any task.
struct AcknowledgedPositions<Position: Sendable> {
    private final class Completed: Sendable {
        let ids = Mutex<Set<UInt64>>([])
    }

    private var waiting = Deque<(id: UInt64, position: Position)>()
    private var nextID: UInt64 = 0
    private let completed = Completed()

    /// Batches sent and not yet acknowledged.
    var pending: Int { waiting.count }

    /// A new acknowledgement for a batch that moves the source to `position`; `wake` runs when it completes.
    /// Register before the batch is sent (the acknowledgement can complete while `send` still runs).
    mutating func acknowledgement(for position: Position, wake: @escaping @Sendable () -> Void) -> DeliveryAck {
        nextID += 1
        let id = nextID
        waiting.append((id, position))
        let completed = self.completed
        return DeliveryAck {
            completed.ids.withLock { _ = $0.insert(id) }
            wake()
        }
    }

    /// Forgets the last acknowledgement made: its batch was never handed on (the source stopped first).
    mutating func abandonLast() {
        _ = waiting.popLast()
    }

    /// The positions whose batches, and every batch before them, are acknowledged, oldest first.
    mutating func takeAcknowledged() -> [Position] {
        var result: [Position] = []
        while let first = waiting.first, completed.ids.withLock({ $0.remove(first.id) != nil }) {
            result.append(first.position)
            waiting.removeFirst()
        }
        return result
    }
}
