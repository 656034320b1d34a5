import Testing
import TestSupport
import Wire
@testable import Pipeline

@Suite struct LimitStageTests {
    static let second: Int64 = 1_000_000_000

    static func lines(_ count: Int, from start: Int = 0, labels: [String: String] = [:]) -> [LogEntry] {
        (start..<start + count).map { Stages.entry("l\($0)", labels: labels) }
    }

    @Test func dropsWhatFindsNoTokenAndRefillsAtTheRate() throws {
        var pipeline = try Stages.pipeline("stage.limit {\n rate = 2\n burst = 3\n drop = true\n}")
        var context = StageContext(now: Stages.now)
        #expect(pipeline.run(Self.lines(5), &context).map(\.text) == ["l0", "l1", "l2"])
        #expect(context.dropped == ["ratelimit_drop_stage": 2])
        // Half a second later: one token (rate 2/s).
        context.now += Self.second / 2
        #expect(pipeline.run(Self.lines(3, from: 5), &context).map(\.text) == ["l5"])
        // Ten seconds later: the bucket is full again, but holds no more than burst.
        context.now += 10 * Self.second
        #expect(pipeline.run(Self.lines(5, from: 8), &context).count == 3)
        #expect(context.dropped == ["ratelimit_drop_stage": 6])
    }

    @Test func byLabelNameLimitsEachValueOnItsOwn() throws {
        var pipeline = try Stages.pipeline("stage.limit {\n rate = 1\n burst = 1\n drop = true\n by_label_name = \"app\"\n}")
        var context = StageContext(now: Stages.now)
        let out = pipeline.run([
            Stages.entry("a1", labels: ["app": "a"]),
            Stages.entry("b1", labels: ["app": "b"]),
            Stages.entry("a2", labels: ["app": "a"]),
            Stages.entry("n1"),
            Stages.entry("n2"),
        ], &context)
        // Entries without the label are not limited.
        #expect(out.map(\.text) == ["a1", "b1", "n1", "n2"])
        #expect(context.dropped == ["ratelimit_drop_stage": 1])
    }

    @Test func withoutDropEntriesWaitInOrderForTokens() throws {
        var pipeline = try Stages.pipeline("stage.limit {\n rate = 1\n burst = 2\n}")
        var context = StageContext(now: Stages.now)
        #expect(pipeline.run(Self.lines(4), &context).map(\.text) == ["l0", "l1"])
        // A new entry waits behind the held ones.
        context.now += Self.second
        #expect(pipeline.run(Self.lines(1, from: 4), &context).map(\.text) == ["l2"])
        context.now += 2 * Self.second
        // The timer's empty batch sends held entries on.
        #expect(pipeline.run([], &context).map(\.text) == ["l3", "l4"])
        #expect(context.dropped.isEmpty)
    }

    @Test func badArgumentsAreRefused() {
        #expect(Stages.problem("stage.limit { burst = 1 }")?.contains("missing required attribute \"rate\"") == true)
        #expect(Stages.problem("stage.limit { rate = 1 }")?.contains("missing required attribute \"burst\"") == true)
        #expect(Stages.problem("stage.limit {\n rate = 0\n burst = 1\n}")?.contains("rate must be a number of entries a second greater than 0, got 0.0") == true)
        #expect(Stages.problem("stage.limit {\n rate = 1\n burst = 0\n}")?.contains("burst must be greater than 0, got 0") == true)
        #expect(Stages.problem("stage.limit {\n rate = 1\n burst = 1\n by_label_name = \"app\"\n}")?.contains("by_label_name needs drop = true") == true)
    }

    @Test func maxDistinctLabelsIsRaisedToAlloysFloor() throws {
        let stages = try Stages.arguments("stage.limit {\n rate = 1\n burst = 1\n drop = true\n by_label_name = \"a\"\n max_distinct_labels = 5\n}").stages
        guard case .limit(let config) = stages.first else {
            Issue.record("expected a limit stage, got \(stages)")
            return
        }
        #expect(config.maxDistinctLabels == 10_000)
    }

    /// Many label values turn the generational map over: a value used in the last generation keeps its bucket.
    @Test func recentlyUsedValuesKeepTheirBucketAcrossTurnover() throws {
        var pipeline = try Stages.pipeline("stage.limit {\n rate = 0.001\n burst = 1\n drop = true\n by_label_name = \"v\"\n}")
        var context = StageContext(now: Stages.now)
        #expect(pipeline.run([Stages.entry("hot", labels: ["v": "hot"])], &context).count == 1)
        let many = (0..<15_000).map { Stages.entry("x", labels: ["v": "\($0)"]) }
        #expect(pipeline.run(many, &context).count == 15_000)
        // "hot" went to the older generation at the turnover and keeps its spent bucket.
        #expect(pipeline.run([Stages.entry("hot", labels: ["v": "hot"])], &context).isEmpty)
        // A value that fell out of both generations starts with a full bucket: "0" was in the older generation,
        // which the next turnover (10000 new values) throws away.
        let fresh = (20_000..<30_000).map { Stages.entry("x", labels: ["v": "\($0)"]) }
        #expect(pipeline.run(fresh, &context).count == 10_000)
        #expect(pipeline.run([Stages.entry("0", labels: ["v": "0"])], &context).count == 1)
    }

    /// Random batches and clock steps: what passes never beats the bucket (burst plus rate times the time gone
    /// by); without `drop`, nothing is lost and the order is kept once the clock has run long enough.
    @Test(arguments: [true, false]) func randomTrafficKeepsToTheRate(drop: Bool) throws {
        var random = SeededRandom(seed: drop ? 0x11 : 0x12)
        var pipeline = try Stages.pipeline("stage.limit {\n rate = 5\n burst = 4\n drop = \(drop)\n}")
        var context = StageContext(now: Stages.now)
        var sent = 0
        var passed: [String] = []
        for _ in 0..<300 {
            let count = random.int(0...5)
            let batch = Self.lines(count, from: sent)
            sent += count
            context.now += Int64(random.int(0...300)) * 1_000_000
            passed += pipeline.run(batch, &context).map(\.text)
            let elapsed = Double(context.now - Stages.now) / 1e9
            #expect(Double(passed.count) <= 4 + 5 * elapsed + 1e-9)
        }
        if drop {
            #expect(passed.count + (context.dropped["ratelimit_drop_stage"] ?? 0) == sent)
        } else {
            // The timer's empty batches, a second apart: at most burst entries each.
            for _ in 0..<sent where passed.count < sent {
                context.now += Self.second
                let released = pipeline.run([], &context).map(\.text)
                #expect(released.count <= 4)
                passed += released
            }
            #expect(passed == (0..<sent).map { "l\($0)" })
            #expect(context.dropped.isEmpty)
        }
    }
}
