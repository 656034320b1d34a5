import TestSupport
import Testing
@testable import Wire

/// The waits between attempts of `loki.write` (dskit) and `otelcol.exporter.otlphttp` (cenkalti/backoff).
@Suite struct RetryBackoffTests {
    @Test func dskitDoublesWithinBoundsUpToTheMaximum() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<200 {
            var backoff = RetryBackoff(.dskit(min: .milliseconds(500), max: .seconds(5), maxAttempts: 10))
            var low = Duration.milliseconds(500)
            for _ in 0..<9 {
                guard case .wait(let wait) = backoff.failed(using: &random) else {
                    Issue.record("ran out early")
                    return
                }
                let high = Swift.min(low * 2, .seconds(5))
                #expect(wait >= low && (wait < high || (low == high && wait == low)), "\(wait) not in [\(low), \(high))")
                low = Swift.min(low * 2, .seconds(5))
            }
            // The tenth failure is the last attempt: no more waits.
            #expect(backoff.failed(using: &random) == .attemptsExhausted)
            #expect(backoff.attempts == 10)
        }
    }

    @Test func dskitZeroRetriesMeansForever() {
        var random = SeededRandom(seed: 8)
        var backoff = RetryBackoff(.dskit(min: .milliseconds(1), max: .milliseconds(1), maxAttempts: 0))
        for _ in 0..<1000 { #expect(backoff.failed(using: &random) == .wait(.milliseconds(1))) }
    }

    @Test func dskitHonoursRetryAfterUpToItsMaximum() {
        var random = SeededRandom(seed: 9)
        var backoff = RetryBackoff(.dskit(min: .milliseconds(10), max: .seconds(2), maxAttempts: 0))
        #expect(backoff.failed(retryAfter: .seconds(1), using: &random) == .wait(.seconds(1)))
        #expect(backoff.failed(retryAfter: .seconds(60), using: &random) == .wait(.seconds(2)))
    }

    @Test func exponentialFollowsTheCollectorsCurve() {
        var random = SeededRandom(seed: 42)
        for _ in 0..<200 {
            let initial = Duration.milliseconds(Int64(random.int(1...2000)))
            let factor = Double(random.int(0...100)) / 100
            let multiplier = 1 + Double(random.int(1...300)) / 100
            let maximum = initial * random.int(1...50)
            var backoff = RetryBackoff(.exponential(initial: initial, multiplier: multiplier, randomizationFactor: factor,
                                                    max: maximum, maxElapsed: .zero))
            var interval = RetryBackoff.seconds(initial)
            for _ in 0..<20 {
                guard case .wait(let drawn) = backoff.failed(using: &random) else {
                    Issue.record("gave up without max_elapsed_time")
                    return
                }
                let wait = RetryBackoff.seconds(drawn)
                let delta = factor * interval
                #expect(wait >= interval - delta - 1e-6 && wait <= interval + delta + 1e-6)
                interval = interval >= RetryBackoff.seconds(maximum) / multiplier ? RetryBackoff.seconds(maximum)
                    : interval * multiplier
                #expect(abs(RetryBackoff.seconds(backoff.low) - interval) < 1e-6)
            }
        }
    }

    @Test func exponentialGivesUpPastMaxElapsedTimeRetryAfterIncluded() {
        var random = SeededRandom(seed: 43)
        func backoff() -> RetryBackoff {
            RetryBackoff(.exponential(initial: .seconds(4), multiplier: 1.5, randomizationFactor: 0, max: .seconds(30),
                                      maxElapsed: .seconds(10)))
        }
        var fits = backoff()
        #expect(fits.failed(elapsed: .seconds(6), using: &random) == .wait(.seconds(4)))
        var past = backoff()
        #expect(past.failed(elapsed: .seconds(7), using: &random) == .pastMaxElapsed(wait: .seconds(4)))
        var asked = backoff()
        #expect(asked.failed(retryAfter: .seconds(5), elapsed: .seconds(6), using: &random) == .pastMaxElapsed(wait: .seconds(5)))
        var forever = RetryBackoff(.exponential(initial: .seconds(4), multiplier: 1.5, randomizationFactor: 0,
                                                max: .seconds(30), maxElapsed: .zero))
        #expect(forever.failed(retryAfter: .seconds(3600), elapsed: .seconds(3600), using: &random) == .wait(.seconds(3600)))
    }
}
