/// The waits between attempts to send one batch, for the agent's senders and the backend's S3 client: each with the
/// policy of the Go component it replaces, and all honouring the server's `Retry-After` when it asks for a longer
/// wait.
public struct RetryBackoff: Sendable {
    public enum Policy: Sendable, Equatable {
        /// dskit's backoff, as Alloy's `loki.write` client uses it: the n-th wait is drawn uniformly from
        /// `[min·2ⁿ⁻¹, min·2ⁿ)`, both ends capped at `max`, so that many agents retrying against one Loki spread
        /// out. `maxAttempts` counts every send of the batch; 0 is unlimited. A `Retry-After` is honoured up to `max`.
        case dskit(min: Duration, max: Duration, maxAttempts: Int)
        /// The collector's `retry_on_failure` (cenkalti/backoff): the n-th wait is drawn uniformly from
        /// `[I·(1−f), I·(1+f)]`, where `I` starts at `initial` and is multiplied by `multiplier` after every wait up
        /// to `max`, and `f` is `randomizationFactor`. A wait, `Retry-After` included, must end within `maxElapsed`
        /// of the first attempt (no limit when it is 0).
        case exponential(initial: Duration, multiplier: Double, randomizationFactor: Double, max: Duration,
                         maxElapsed: Duration)
    }

    public enum Decision: Sendable, Equatable {
        case wait(Duration)
        /// `dskit`: the batch has had all its `maxAttempts`.
        case attemptsExhausted
        /// `exponential`: the next wait would end past `maxElapsed`.
        case pastMaxElapsed(wait: Duration)
    }

    public let policy: Policy
    /// Failed attempts so far.
    public private(set) var attempts = 0
    /// The next wait's range (`dskit`), or its interval in `low` (`exponential`).
    private(set) var low: Duration
    private var high: Duration

    public init(_ policy: Policy) {
        self.policy = policy
        switch policy {
        case .dskit(let min, let max, _):
            low = min
            high = Self.doubled(min, cap: max)
        case .exponential(let initial, _, _, _, _):
            low = initial
            high = initial
        }
    }

    /// Records a failed attempt, `elapsed` after the first one, whose answer asked for `retryAfter`: how long to
    /// wait before the next attempt, or why there is none.
    public mutating func failed(retryAfter: Duration? = nil, elapsed: Duration = .zero,
                         using random: inout some RandomNumberGenerator) -> Decision {
        attempts += 1
        switch policy {
        case .dskit(let minimum, let maximum, let maxAttempts):
            if maxAttempts > 0 && attempts >= maxAttempts { return .attemptsExhausted }
            var wait = minimum
            if minimum < maximum {
                if high > low {
                    wait = low + .nanoseconds(Int64.random(in: 0..<DurationText.nanoseconds(high - low), using: &random))
                } else {
                    wait = low
                }
                low = Self.doubled(low, cap: maximum)
                high = Self.doubled(high, cap: maximum)
            }
            if let retryAfter, retryAfter > wait { wait = Swift.min(retryAfter, maximum) }
            return .wait(wait)
        case .exponential(_, let multiplier, let randomizationFactor, let maximum, let maxElapsed):
            let current = Self.seconds(low)
            let delta = randomizationFactor * current
            let drawn = delta > 0 ? Double.random(in: (current - delta)...(current + delta), using: &random) : current
            low = current >= Self.seconds(maximum) / multiplier ? maximum : .seconds(current * multiplier)
            var wait = Duration.seconds(Swift.max(0, drawn))
            if let retryAfter, retryAfter > wait { wait = retryAfter }
            guard maxElapsed == .zero || elapsed + wait <= maxElapsed else { return .pastMaxElapsed(wait: wait) }
            return .wait(wait)
        }
    }

    private static func doubled(_ duration: Duration, cap: Duration) -> Duration {
        duration > cap / 2 ? cap : duration * 2
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// The one retry loop of the agent's senders (`loki.write` and `otelcol.exporter.otlphttp`) and the backend's S3
/// client: attempt, and on a
/// failure the sender calls retryable, wait as `RetryBackoff` says, until an attempt succeeds, one fails for good,
/// the backoff gives up or the task is cancelled (the drain deadline). Each sender classifies its own answers
/// (`Failure` carries what it needs to count and log a drop); the loop decides nothing else.
public enum RetryingSend<Failure: Sendable> {
    /// How one attempt went, as the sender judges it.
    public enum Attempt: Sendable {
        case succeeded
        /// Worth another attempt; `retryAfter` is the server's `Retry-After`, when it sent one.
        case retryable(Failure, retryAfter: Duration?)
        /// The same request would fail again.
        case permanent(Failure)
    }

    /// How the batch ended.
    public enum Outcome: Sendable {
        case sent
        /// An attempt failed for good.
        case refused(Failure)
        /// The backoff has no wait left: `decision` is `.attemptsExhausted` or `.pastMaxElapsed`, after
        /// `attempts` failed attempts.
        case gaveUp(Failure, RetryBackoff.Decision, attempts: Int)
        /// Cancelled after a failed attempt; `waiting` says it was while waiting to retry.
        case cancelled(Failure, waiting: Bool)
    }

    /// Runs the loop. `willRetry` is told each failure that will be retried, the wait and the attempts so far.
    public static func run(
        _ policy: RetryBackoff.Policy,
        attempt: () async -> Attempt,
        willRetry: (Failure, Duration, Int) -> Void
    ) async -> Outcome {
        let first = ContinuousClock.now
        var backoff = RetryBackoff(policy)
        var random = SystemRandomNumberGenerator()
        while true {
            let failure: Failure
            let retryAfter: Duration?
            switch await attempt() {
            case .succeeded: return .sent
            case .permanent(let reason): return .refused(reason)
            case .retryable(let reason, let after): (failure, retryAfter) = (reason, after)
            }
            if Task.isCancelled { return .cancelled(failure, waiting: false) }
            let decision = backoff.failed(retryAfter: retryAfter, elapsed: .now - first, using: &random)
            guard case .wait(let wait) = decision else {
                return .gaveUp(failure, decision, attempts: backoff.attempts)
            }
            willRetry(failure, wait, backoff.attempts)
            do {
                try await Task.sleep(for: wait)
            } catch {
                return .cancelled(failure, waiting: true)
            }
        }
    }
}
