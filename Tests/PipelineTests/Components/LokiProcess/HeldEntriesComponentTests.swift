import Synchronization
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport
import TestSupport

/// `loki.process` sending on what `stage.multiline` and `stage.limit` hold, from its `run()`.
@Suite struct HeldEntriesComponentTests {
    final class TestClock: Sendable {
        private let now = Mutex(Stages.now)
        func advance(by nanoseconds: Int64) { now.withLock { $0 += nanoseconds } }
        var value: Int64 { now.withLock { $0 } }
    }

    static func make(_ stages: String, out: CollectingReceiver, clock: TestClock) throws -> LokiProcess {
        let context = ComponentHarness.context(id: "loki.process.test")
        return try LokiProcess(context: context, arguments: try Stages.arguments(stages, out: out), clock: { clock.value })
    }

    @Test func anIdleMultilineBlockIsSentByTheTimer() async throws {
        let out = CollectingReceiver()
        let clock = TestClock()
        let process = try Self.make(#"stage.multiline {\#n firstline = "^S"\#n max_wait_time = "40ms"\#n}"#, out: out, clock: clock)
        let running = Task { try await process.run() }
        defer { running.cancel() }
        try await process.receive(LogBatch(entries: [Stages.entry("S1"), Stages.entry("  at x")]))
        #expect(out.lines.isEmpty)
        clock.advance(by: 1_000_000_000)
        #expect(await eventually { out.lines == ["S1\n  at x"] })
    }

    @Test func stoppingSendsOnTheOpenBlock() async throws {
        let out = CollectingReceiver()
        let process = try Self.make(#"stage.multiline { firstline = "^S" }"#, out: out, clock: TestClock())
        let running = Task { try await process.run() }
        try await process.receive(LogBatch(entries: [Stages.entry("S1"), Stages.entry("more")]))
        running.cancel()
        try await running.value
        #expect(out.lines == ["S1\nmore"])
    }

    @Test func stoppingSendsOnCRIPartialLinesAndRateLimitedEntriesInsideAMatch() async throws {
        let out = CollectingReceiver()
        let stages = """
            stage.cri {}
            stage.match {
              selector = "{stream=\\"stdout\\"}"
              stage.limit {
                rate  = 1
                burst = 1
              }
            }
            """
        let process = try Self.make(stages, out: out, clock: TestClock())
        let running = Task { try await process.run() }
        try await process.receive(LogBatch(entries: [
            Stages.entry("2024-06-01T12:00:00.000000000Z stdout F one"),
            Stages.entry("2024-06-01T12:00:00.000000001Z stdout F two"),
            Stages.entry("2024-06-01T12:00:00.000000002Z stderr P half a line"),
        ]))
        #expect(out.lines == ["one"])
        running.cancel()
        try await running.value
        #expect(out.lines.sorted() == ["half a line", "one", "two"])
    }

    @Test func heldRateLimitedEntriesGoOutAsTokensCome() async throws {
        let out = CollectingReceiver()
        let clock = TestClock()
        let process = try Self.make("stage.limit {\n rate = 100\n burst = 1\n}", out: out, clock: clock)
        let running = Task { try await process.run() }
        defer { running.cancel() }
        try await process.receive(LogBatch(entries: [Stages.entry("a"), Stages.entry("b"), Stages.entry("c")]))
        #expect(out.lines == ["a"])
        // One token a step of the clock (burst 1).
        clock.advance(by: 1_000_000_000)
        #expect(await eventually { out.lines == ["a", "b"] })
        clock.advance(by: 1_000_000_000)
        #expect(await eventually { out.lines == ["a", "b", "c"] })
    }
}
