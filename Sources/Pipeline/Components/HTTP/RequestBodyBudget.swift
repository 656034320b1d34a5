import Prometheus
import Synchronization

/// The bytes of request bodies one listener holds at once (`loki.source.api`, `otelcol.receiver.otlp`): each body
/// is bounded on its own, and this bounds them together, so that many large requests arriving at the same time
/// cannot take the agent's memory. A request reserves its bytes as they arrive (all of them at once when
/// `Content-Length` says how many) and gives them back when its answer is sent; a request that does not fit is
/// answered 503 with `Retry-After` before more of it is read, and counted in `refused`.
///
/// Shared by the listener's request tasks: every method is safe to call from any task.
final class RequestBodyBudget: Sendable {
    private struct State {
        var limit: Int
        var inUse = 0
    }

    private let state: Mutex<State>
    /// The bytes held now (a gauge, so operators see how close to the limit the listener runs).
    private let inFlightBytes: Gauge
    /// Requests refused because the budget was spent (`reason="in_flight_limit"`).
    private let refusedInFlight: Counter
    /// Requests refused because the body alone is over the per-request limit (`reason="too_large"`).
    private let refusedTooLarge: Counter

    init(limit: Int, inFlightBytes: Gauge, refusedInFlight: Counter, refusedTooLarge: Counter) {
        state = Mutex(State(limit: limit))
        self.inFlightBytes = inFlightBytes
        self.refusedInFlight = refusedInFlight
        self.refusedTooLarge = refusedTooLarge
    }

    /// A new limit (on reload); bytes already held stay held, and new requests see the new limit.
    func setLimit(_ limit: Int) {
        state.withLock { $0.limit = limit }
    }

    var limit: Int { state.withLock { $0.limit } }

    /// The bytes reserved now.
    var inUse: Int { state.withLock { $0.inUse } }

    /// Takes `bytes` from the budget if they fit; false (and nothing taken) when they do not.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        // The gauge is set under the lock: set after it, two requests finishing at once could leave it showing
        // the value of the one that set it last rather than what is held.
        return state.withLock { state -> Bool in
            guard bytes <= state.limit - state.inUse else { return false }
            state.inUse += bytes
            inFlightBytes.set(Double(state.inUse))
            return true
        }
    }

    /// Gives back bytes taken by `reserve(_:)`.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        state.withLock { state in
            state.inUse = max(0, state.inUse - bytes)
            inFlightBytes.set(Double(state.inUse))
        }
    }

    /// Counts a request refused for `reason`; the one place such a refusal is counted.
    func countRefusal(_ reason: RequestBody.RefusalReason) {
        switch reason {
        case .inFlightLimit: refusedInFlight.increment()
        case .tooLarge: refusedTooLarge.increment()
        }
    }
}
