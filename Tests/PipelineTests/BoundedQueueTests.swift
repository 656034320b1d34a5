import Synchronization
import Testing
@testable import Pipeline

/// The queue kit behind `loki.write`'s endpoints and `otelcol.exporter.otlphttp`'s `sending_queue`.
@Suite struct BoundedQueueTests {
    /// `loki.write`: bytes held until released, and one batch always moves even when larger than the capacity.
    @Test func heldUntilReleasedRefusesPastCapacityButAlwaysTakesOne() async {
        let observed = Mutex<[Int]>([])
        let queue = BoundedQueue<String>(capacity: 10, accounting: .untilReleased, oversize: .acceptWhenEmpty) { used in
            observed.withLock { $0.append(used) }
        }
        #expect(queue.offer("0123456789abcdef", weight: 16) == .accepted)
        #expect(queue.offer("x", weight: 1) == .full)
        guard case .element(let first) = await queue.take(consumer: 0) else {
            Issue.record("expected an element")
            return
        }
        #expect(first == "0123456789abcdef")
        // Taken is still held, until the consumer releases it: nothing more fits meanwhile.
        #expect(queue.used == 16)
        #expect(queue.offer("x", weight: 1) == .full)
        queue.release(16)
        #expect(queue.used == 0)
        // A gauge follows every accepted offer and every release.
        #expect(observed.withLock { $0 } == [16, 0])
        #expect(queue.offer("12345", weight: 5) == .accepted)
        #expect(queue.offer("12345", weight: 5) == .accepted)
        #expect(queue.offer("1", weight: 1) == .full)
        queue.close()
        #expect(queue.offer("1", weight: 1) == .closed)
        var taken = 0
        while case .element = await queue.take(consumer: 0) { taken += 1 }
        #expect(taken == 2)
    }

    @Test func takeWakesOnOfferAndTimesOutAndStopsOnCancel() async {
        let queue = BoundedQueue<Int>(capacity: 100, accounting: .untilReleased, oversize: .acceptWhenEmpty)
        let waiting = Task { await queue.take(consumer: 0) }
        #expect(queue.offer(1, weight: 1) == .accepted)
        guard case .element(1) = await waiting.value else {
            Issue.record("expected the offered element")
            return
        }
        let started = ContinuousClock.now
        guard case .timedOut = await queue.take(consumer: 0, until: .now + .milliseconds(20)) else {
            Issue.record("expected a timeout")
            return
        }
        #expect(ContinuousClock.now - started >= .milliseconds(20))
        let cancelled = Task { await queue.take(consumer: 0) }
        cancelled.cancel()
        guard case .cancelled = await cancelled.value else {
            Issue.record("expected cancellation")
            return
        }
        let closing = Task { await queue.waitUntilClosed() }
        queue.close()
        await closing.value
    }

    /// `otelcol.exporter.otlphttp`: taking frees room, a blocked producer waits for it, and an element heavier
    /// than the whole queue is refused.
    @Test func freedOnTakeAndProducersWaitForRoom() async {
        let queue = BoundedQueue<String>(capacity: 3, consumerLimit: 2, accounting: .untilTaken, oversize: .refuse)
        #expect(queue.offer("big", weight: 4) == .tooLarge)
        #expect(queue.offer("a", weight: 2) == .accepted)
        #expect(queue.offer("b", weight: 2) == .full)
        let producer = Task { await queue.put("b", weight: 2) }
        guard case .element("a") = await queue.take(consumer: 1) else {
            Issue.record("expected a")
            return
        }
        #expect(await producer.value == .accepted)
        #expect(queue.used == 2)
        let blocked = Task { await queue.put("c", weight: 2) }
        blocked.cancel()
        #expect(await blocked.value == .cancelled)
        queue.close()
        guard case .element("b") = await queue.take(consumer: 0), case .closed = await queue.take(consumer: 0) else {
            Issue.record("expected b, then the end")
            return
        }
    }

    /// A reload keeps what is queued, reweighs it, and retires consumers past the new limit.
    @Test func configureReweighsAndRetiresConsumers() async {
        let queue = BoundedQueue<Int>(capacity: 10, consumerLimit: 3, accounting: .untilTaken, oversize: .refuse)
        #expect(queue.claimMissingConsumers() == [0, 1, 2])
        #expect(queue.claimMissingConsumers() == [])
        let waiting = Task { await queue.take(consumer: 2, until: .now + .seconds(60)) }
        queue.configure(capacity: 10, consumerLimit: 2)
        guard case .retired = await waiting.value else {
            Issue.record("consumer 2 should retire once the limit is 2")
            return
        }
        #expect(queue.claimMissingConsumers() == [])
        #expect(queue.offer(4, weight: 1) == .accepted)
        #expect(queue.offer(5, weight: 1) == .accepted)
        queue.configure(capacity: 9, consumerLimit: 2) { $0 }
        #expect(queue.used == 9)
        #expect(queue.count == 2)
    }
}
