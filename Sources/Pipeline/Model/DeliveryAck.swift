import Synchronization

/// Tells a source when every component that took one of its batches is finished with it: sent it on over the
/// network, or dropped it for a counted reason. A source that must not lose data on a crash (`loki.source.file`,
/// `loki.source.journal`) records its read position only then.
///
/// Protocol: the source creates the acknowledgement (it holds it once) and sends it with the batch. A component
/// that keeps the batch beyond `receive` (a queue) calls ``hold()`` before `receive` returns and ``done()`` when it
/// is finished; one that hands entries on within `receive` passes the acknowledgement on with them. After `send`
/// returned the source calls ``done()`` for its own hold. When the last hold is released the completion runs once,
/// on whichever task released it.
public final class DeliveryAck: Sendable {
    private let state: Mutex<(holds: Int, completion: (@Sendable () -> Void)?)>

    public init(_ completion: @escaping @Sendable () -> Void) {
        state = Mutex((1, completion))
    }

    public func hold() {
        state.withLock { $0.holds += 1 }
    }

    public func done() {
        let completion = state.withLock { state -> (@Sendable () -> Void)? in
            state.holds -= 1
            guard state.holds == 0 else { return nil }
            defer { state.completion = nil }
            return state.completion
        }
        completion?()
    }
}
