/// A token bucket, Loki's rate limiter: `rate` tokens a second, at most `burst` saved.
///
/// Not thread-safe by itself: it lives inside a lock (the distributor's tenant state, the ingester's stream).
/// Time is passed in (nanoseconds on any monotonic clock) so tests control it.
struct TokenBucket: Sendable {
    private(set) var rate: Double
    private(set) var burst: Double
    private var tokens: Double
    private var last: Int64

    init(rate: Double, burst: Double, now: Int64) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now
    }

    /// Takes `n` tokens if there are enough at `now`; otherwise takes none and returns false.
    mutating func allow(_ n: Double, now: Int64) -> Bool {
        refill(now: now)
        guard n <= tokens else { return false }
        tokens -= n
        return true
    }

    /// Applies changed limits without resetting what is saved (beyond the new burst).
    mutating func setLimits(rate: Double, burst: Double, now: Int64) {
        refill(now: now)
        self.rate = rate
        self.burst = burst
        tokens = min(tokens, burst)
    }

    private mutating func refill(now: Int64) {
        if now > last {
            tokens = min(burst, tokens + Double(now - last) / 1e9 * rate)
            last = now
        }
    }
}
