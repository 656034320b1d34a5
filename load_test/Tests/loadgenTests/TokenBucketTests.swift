import Testing

@testable import loadgen

/// The rate limiter of `loadgen otlp --rate`, driven by a simulated clock: no test sleeps.
@Suite struct TokenBucketTests {
    /// Workers that reserve a request's tokens, wait as told, "send" and get an answer after `latency`, for
    /// `seconds` of simulated time. Returns the simulated send times and sizes.
    private static func simulate(
        rate: Double, perRequest: Int, workers: Int, latency: Duration, seconds: Int
    ) -> [(time: Duration, records: Int)] {
        var bucket = TokenBucket(rate: rate, burst: Double(perRequest))
        let end = Duration.seconds(seconds)
        var readyAt = Array(repeating: Duration.zero, count: workers)
        var sends: [(time: Duration, records: Int)] = []
        while let worker = readyAt.indices.min(by: { readyAt[$0] < readyAt[$1] }), readyAt[worker] < end {
            let now = readyAt[worker]
            let sendAt = now + bucket.reserve(perRequest, now: now)
            if sendAt >= end {
                readyAt[worker] = end
                continue
            }
            sends.append((sendAt, perRequest))
            readyAt[worker] = sendAt + latency
        }
        return sends
    }

    @Test(arguments: [
        (100_000.0, 1000, 4, Duration.milliseconds(3)),
        (100_000.0, 1000, 1, .microseconds(100)),
        (25_000.0, 1000, 8, .milliseconds(50)),
        (1234.0, 100, 3, .milliseconds(1)),
        (50.0, 1000, 2, .milliseconds(1)),  // slower than one request a second
        (1_000_000.0, 500, 16, .milliseconds(5)),
    ])
    func sendsTheRateOverTheRun(rate: Double, perRequest: Int, workers: Int, latency: Duration) {
        let seconds = 60
        let sends = Self.simulate(rate: rate, perRequest: perRequest, workers: workers, latency: latency,
                                  seconds: seconds)
        let sent = Double(sends.reduce(0) { $0 + $1.records })
        let expected = rate * Double(seconds)
        // The bucket starts full (one request) and a request is indivisible: within one request either way.
        #expect(abs(sent - expected) <= 2 * Double(perRequest), "sent \(sent), expected \(expected)")
    }

    @Test func neverBurstsAboveTheRateInAnyWindow() {
        let rate = 200_000.0, perRequest = 1000
        let sends = Self.simulate(rate: rate, perRequest: perRequest, workers: 6, latency: .milliseconds(2),
                                  seconds: 10)
        let times = sends.map(\.time)
        let window = Duration.milliseconds(100)
        var first = 0
        for last in times.indices {
            while times[last] - times[first] >= window { first += 1 }
            let records = Double((last - first + 1) * perRequest)
            #expect(records <= rate * window.seconds + 2 * Double(perRequest), "burst of \(records) at \(times[last])")
        }
    }

    @Test func queuesReservationsMadeAtTheSameInstant() {
        var bucket = TokenBucket(rate: 1000, burst: 100, now: .zero)
        #expect(bucket.reserve(100, now: .zero) == .zero)  // the saved burst
        #expect(bucket.reserve(100, now: .zero) == .milliseconds(100))
        #expect(bucket.reserve(100, now: .zero) == .milliseconds(200))
        // At 200 ms the debt is paid and nothing is saved yet; by 400 ms one burst is saved again.
        #expect(bucket.reserve(100, now: .milliseconds(200)) == .milliseconds(100))
        #expect(bucket.reserve(100, now: .milliseconds(400)) == .zero)
    }

    @Test func savesNoMoreThanTheBurstWhileIdle() {
        var bucket = TokenBucket(rate: 10_000, burst: 1000, now: .zero)
        #expect(bucket.reserve(1000, now: .zero) == .zero)
        // An hour idle saves one burst, not 36 million tokens.
        #expect(bucket.reserve(1000, now: .seconds(3600)) == .zero)
        #expect(bucket.reserve(1000, now: .seconds(3600)) == .milliseconds(100))
    }

    @Test func ignoresAClockReadOutOfOrder() {
        // Two workers read the clock, then take the lock in the other order: no tokens appear from nowhere.
        var bucket = TokenBucket(rate: 1000, burst: 10, now: .zero)
        _ = bucket.reserve(10, now: .seconds(1))
        #expect(bucket.reserve(10, now: .milliseconds(990)) == .milliseconds(10))
    }
}
