import Testing
@testable import Backend

@Suite struct TokenBucketTests {
    @Test func burstThenRate() {
        var bucket = TokenBucket(rate: 100, burst: 200, now: 0)
        var outcomes: [Bool] = []
        outcomes.append(bucket.allow(200, now: 0))
        outcomes.append(bucket.allow(1, now: 0))
        // Half a second refills 50 tokens.
        outcomes.append(bucket.allow(50, now: 500_000_000))
        outcomes.append(bucket.allow(1, now: 500_000_000))
        // Never more than the burst, however long it waits.
        outcomes.append(bucket.allow(201, now: 1_000_000_000_000))
        outcomes.append(bucket.allow(200, now: 1_000_000_000_000))
        #expect(outcomes == [true, false, true, false, false, true])
    }

    @Test func refusedRequestTakesNothing() {
        var bucket = TokenBucket(rate: 10, burst: 10, now: 0)
        let tooMany = bucket.allow(11, now: 0)
        let all = bucket.allow(10, now: 0)
        #expect(!tooMany)
        #expect(all)
    }
}
