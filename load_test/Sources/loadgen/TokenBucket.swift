/// Paces a load at `rate` records a second, shared by all workers (it lives in a `Mutex`).
///
/// A token bucket that takes reservations: `reserve(n, now:)` takes `n` tokens at once, even into debt, and says how
/// long the caller must wait before sending them. Later callers queue behind the debt, so over any interval the
/// records sent are `rate × interval` plus at most `burst`, however many workers ask and whatever the request size;
/// nothing sleeps per record. Time is passed in (elapsed time on a monotonic clock) so tests drive it.
struct TokenBucket: Sendable {
    /// Tokens (records) added per second.
    let rate: Double
    /// The most tokens saved while nobody asks.
    let burst: Double
    private var tokens: Double
    private var last: Duration

    /// A full bucket at `now`. `rate` must be positive; `burst` is raised to at least one token.
    init(rate: Double, burst: Double, now: Duration = .zero) {
        precondition(rate > 0, "a token bucket needs a positive rate")
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = self.burst
        self.last = now
    }

    /// Takes `count` tokens at `now` and returns how long to wait before using them: zero when enough were saved,
    /// else the time until the bucket has refilled the debt (including that of callers before this one).
    mutating func reserve(_ count: Int, now: Duration) -> Duration {
        if now > last {
            tokens = min(burst, tokens + (now - last).seconds * rate)
            last = now
        }
        tokens -= Double(count)
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }
}
