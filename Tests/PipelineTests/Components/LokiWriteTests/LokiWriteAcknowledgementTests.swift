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
            let ack = DeliveryAck { _ in seen.update { $0.append(loki.pushes.count) } }
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

extension LokiWriteTests.Acknowledgement {
    @Test func aBatchGivenUpOnAtShutdownIsReportedLost() async throws {
        // Nothing listens on port 1: every attempt fails until drain_timeout ends the sender.
        let config = LokiWriteTests.Delivery.config(LokiWriteTests.Delivery.endpoint(
            "http://127.0.0.1:1/loki/api/v1/push", "queue_config {\n      drain_timeout = \"100ms\"\n    }"))
        let harness = try LokiWriteHarness(config)
        harness.start()
        let outcome = LockedValue<[Bool]>([])
        let ack = DeliveryAck { delivered in outcome.update { $0.append(delivered) } }
        var batch = logBatch(["never"])
        batch.ack = ack
        try await harness.receiver.receive(batch)
        ack.done()
        await harness.stop()
        #expect(await eventually { !outcome.get().isEmpty })
        #expect(outcome.get() == [false])
    }

    @Test func positionsBecomeFinalInSendingOrderAndStopAtALostBatch() {
        var positions = AcknowledgedPositions<Int>()
        let acks = (1...4).map { positions.acknowledgement(for: $0) {} }
        acks[2].done()
        #expect(positions.takeAcknowledged().isEmpty, "batch 3 is done but 1 and 2 are not")
        acks[0].done()
        #expect(positions.takeAcknowledged() == [1])
        acks[1].done(lost: true)
        acks[3].done()
        #expect(positions.takeAcknowledged().isEmpty, "nothing moves past the lost batch 2")
        #expect(positions.pending == 0)
    }
}
