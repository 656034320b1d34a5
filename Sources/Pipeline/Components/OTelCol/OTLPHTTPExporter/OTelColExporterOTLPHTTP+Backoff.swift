extension OTelColExporterOTLPHTTP {
    /// The waits between attempts to send one batch: the exponential backoff the collector's `retry_on_failure`
    /// uses (cenkalti/backoff).
    ///
    /// The n-th wait is drawn uniformly from `[I·(1−f), I·(1+f)]`, where `I` starts at `initial_interval` and is
    /// multiplied by `multiplier` after every wait up to `max_interval`, and `f` is `randomization_factor`.
    /// Whether the wait still fits in `max_elapsed_time` is the caller's question (``fits(_:after:)``).
    struct Backoff: Sendable {
        let options: RetryOptions
        private(set) var interval: Duration

        init(_ options: RetryOptions) {
            self.options = options
            interval = options.initialInterval
        }

        /// The next wait; grows the interval for the one after.
        mutating func next(using random: inout some RandomNumberGenerator) -> Duration {
            let current = Self.seconds(interval)
            let delta = options.randomizationFactor * current
            let wait = delta > 0 ? Double.random(in: (current - delta)...(current + delta), using: &random) : current
            let maximum = Self.seconds(options.maxInterval)
            interval = current >= maximum / options.multiplier ? options.maxInterval : .seconds(current * options.multiplier)
            return .seconds(max(0, wait))
        }

        /// Whether waiting `wait` more, `elapsed` after the first attempt, stays within `max_elapsed_time`
        /// (always, when it is 0).
        func fits(_ wait: Duration, after elapsed: Duration) -> Bool {
            options.maxElapsedTime == .zero || elapsed + wait <= options.maxElapsedTime
        }

        static func seconds(_ duration: Duration) -> Double {
            let (seconds, attoseconds) = duration.components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
    }
}
