import Testing
import TestSupport
import Wire
@testable import Pipeline

/// `loki.write` releases a batch's ``DeliveryAck`` only once the batch was sent (or dropped for a counted reason):
/// what sources wait for before they record a read position.
extension LokiWriteTests {
    @Suite struct Acknowledgement {
        /// Sends `lines` with an acknowledgement through `harness`; the completion records what `loki` had accepted.
        static func send(_ lines: [String], to harness: LokiWriteHarness, loki: FakeLoki, seen: LockedValue<[Int]>) async throws {
            let ack = DeliveryAck { seen.update { $0.append(loki.pushes.count) } }
            var batch = logBatch(lines)
            batch.ack = ack
            try await harness.receiver.receive(batch)
            ack.done()
        }

        @Test func completesOnlyAfterTheEndpointAcceptedAfterRetries() async throws {
            let loki = try await FakeLoki.start()
            loki.script([.status(503), .status(500)])
            let harness = try LokiWriteHarness(Delivery.config(Delivery.endpoint(loki.url)))
            harness.start()
            let seen = LockedValue<[Int]>([])
            try await Self.send(["a", "b"], to: harness, loki: loki, seen: seen)
            #expect(await eventually { !seen.get().isEmpty })
            // When it completed, the third attempt had been accepted: the first two were retried, not lost.
            #expect(seen.get() == [1])
            #expect(loki.attempts == 3)
            await harness.stop()
            await loki.stop()
        }

        @Test func completesWhenTheBatchIsDroppedForGoodAndCountsTheDrop() async throws {
            let loki = try await FakeLoki.start(always: .status(400, body: "bad"))
            let harness = try LokiWriteHarness(Delivery.config(Delivery.endpoint(loki.url)))
            harness.start()
            let seen = LockedValue<[Int]>([])
            try await Self.send(["x"], to: harness, loki: loki, seen: seen)
            #expect(await eventually { !seen.get().isEmpty })
            #expect(harness.metric("loki_write_dropped_entries_total", ["reason": "ingester_error"]) == 1)
            await harness.stop()
            await loki.stop()
        }

        @Test func twoEndpointsBothHoldIt() async throws {
            let fast = try await FakeLoki.start()
            let slow = try await FakeLoki.start()
            slow.script([.status(503), .status(503), .status(503)])
            let harness = try LokiWriteHarness(Delivery.config(Delivery.endpoint(fast.url), Delivery.endpoint(slow.url)))
            harness.start()
            let seen = LockedValue<[Int]>([])
            try await Self.send(["y"], to: harness, loki: slow, seen: seen)
            #expect(await eventually { !seen.get().isEmpty })
            #expect(seen.get() == [1], "completed only after the slow endpoint took it too")
            #expect(fast.pushes.count == 1)
            await harness.stop()
            await fast.stop()
            await slow.stop()
        }
    }
}
