import Synchronization

/// Tells a source when every component that took one of its batches is finished with it: sent it on over the
/// network, or dropped it for a counted reason. A source that must not lose data on a crash (`loki.source.file`,
/// `loki.source.journal`) records its read position only then.
///
/// Protocol: the source creates the acknowledgement (it holds it once) and sends it with the batch. A component
/// that keeps the batch beyond `receive` (a queue) calls ``hold()`` before `receive` returns and ``done()`` when it
/// is finished; one that hands entries on within `receive` passes the acknowledgement on with them. After `send`
/// returned the source calls ``done()`` for its own hold. When the last hold is released the completion runs once,
/// on whichever task released it, told whether the batch was delivered: a holder that gave up on it only because
/// the agent is stopping (`loki.write`'s `drain_timeout`) releases it with `lost: true`, and the source then reads
/// those lines again after the restart instead of recording them as done.
public final class DeliveryAck: Sendable {
    private struct State {
        var holds = 1
        var lost = false
        var completion: (@Sendable (_ delivered: Bool) -> Void)?
    }

    private let state: Mutex<State>

    public init(_ completion: @escaping @Sendable (_ delivered: Bool) -> Void) {
        state = Mutex(State(completion: completion))
    }

    public func hold() {
        state.withLock { $0.holds += 1 }
    }

    public func done(lost: Bool = false) {
        let (completion, delivered) = state.withLock { state -> ((@Sendable (Bool) -> Void)?, Bool) in
            state.holds -= 1
            if lost { state.lost = true }
            guard state.holds == 0 else { return (nil, false) }
            defer { state.completion = nil }
            return (state.completion, !state.lost)
        }
        completion?(delivered)
    }
}
