import DequeModule
import Synchronization

/// A source's read positions waiting for their batches' ``DeliveryAck``s: positions become final in the order
/// the batches were sent, and only once every batch up to them was acknowledged (requests complete out of order,
/// but a position must never move past a batch that might still be lost). A batch given up on at shutdown (see
/// ``DeliveryAck``) stops the positions there for good: the next start reads from it again.
///
/// Used by the source's own task; the acknowledgements arrive from any task.
struct AcknowledgedPositions<Position: Sendable> {
    private final class Completed: Sendable {
        /// Completed batches, and whether each was delivered.
        let ids = Mutex<[UInt64: Bool]>([:])
    }

    private var waiting = Deque<(id: UInt64, position: Position)>()
    private var nextID: UInt64 = 0
    /// A batch before every remaining one was lost: nothing after it may become final.
    private var blocked = false
    private let completed = Completed()

    /// Batches sent and not yet acknowledged (none count once a batch was lost: there is nothing to wait for).
    var pending: Int { blocked ? 0 : waiting.count }

    /// A new acknowledgement for a batch that moves the source to `position`; `wake` runs when it completes.
    /// Register before the batch is sent (the acknowledgement can complete while `send` still runs).
    mutating func acknowledgement(for position: Position, wake: @escaping @Sendable () -> Void) -> DeliveryAck {
        nextID += 1
        let id = nextID
        waiting.append((id, position))
        let completed = self.completed
        return DeliveryAck { delivered in
            completed.ids.withLock { $0[id] = delivered }
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
        while !blocked, let first = waiting.first, let delivered = completed.ids.withLock({ $0.removeValue(forKey: first.id) }) {
            waiting.removeFirst()
            guard delivered else {
                blocked = true
                break
            }
            result.append(first.position)
        }
        return result
    }
}
