import Testing
@testable import Backend

@Suite struct TokenBucketTests {
    @Test func burstThenRate() {
        var bucket = TokenBucket(rate: 100, burst: 200, now: 0)
        #expect(bucket.allow(200, now: 0))
        #expect(!bucket.allow(1, now: 0))
        // Half a second refills 50 tokens.
        #expect(bucket.allow(50, now: 500_000_000))
        #expect(!bucket.allow(1, now: 500_000_000))
        // Never more than the burst, however long it waits.
        #expect(!bucket.allow(201, now: 1_000_000_000_000))
        #expect(bucket.allow(200, now: 1_000_000_000_000))
    }

    @Test func refusedRequestTakesNothing() {
        var bucket = TokenBucket(rate: 10, burst: 10, now: 0)
        #expect(!bucket.allow(11, now: 0))
        #expect(bucket.allow(10, now: 0))
    }
}
