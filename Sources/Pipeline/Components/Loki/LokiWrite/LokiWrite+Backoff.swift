import Wire

extension LokiWrite {
    /// The waits between attempts to send one batch: dskit's backoff, as Alloy's client uses it.
    ///
    /// The n-th wait is drawn uniformly from `[min·2ⁿ⁻¹, min·2ⁿ)`, both ends capped at `max`, so that many
    /// agents retrying against one Loki spread out. `maxAttempts` counts every send of the batch; 0 is unlimited.
    struct Backoff: Sendable {
        let minimum: Duration
        let maximum: Duration
        let maxAttempts: Int
        private(set) var attempts = 0
        private var low: Duration
        private var high: Duration

        init(min: Duration, max: Duration, maxAttempts: Int) {
            self.minimum = min
            self.maximum = max
            self.maxAttempts = maxAttempts
            low = min
            high = Self.doubled(min, cap: max)
        }

        /// Records a failed attempt; the wait before the next one, or nil when the batch has had all its attempts.
        mutating func failed(using random: inout some RandomNumberGenerator) -> Duration? {
            attempts += 1
            if maxAttempts > 0 && attempts >= maxAttempts { return nil }
            if minimum >= maximum { return minimum }
            let wait: Duration
            if high > low {
                let span = DurationText.nanoseconds(high - low)
                wait = low + .nanoseconds(Int64.random(in: 0..<span, using: &random))
            } else {
                wait = low
            }
            low = Self.doubled(low, cap: maximum)
            high = Self.doubled(high, cap: maximum)
            return wait
        }

        private static func doubled(_ duration: Duration, cap: Duration) -> Duration {
            duration > cap / 2 ? cap : duration * 2
        }
    }
}
