import Testing
import Wire
@testable import Backend

/// The ingester's tail subscriptions and the tail's messages, without HTTP (the Python tests drive the websocket).
@Suite struct TailTests {
    typealias Engine = EngineTests.Engine

    private static func lines(_ entries: [TailEntry]) -> [String] {
        entries.map { String(decoding: $0.line, as: UTF8.self) }
    }

    @Test func aTailGetsWhatItsFilterTakesInPushOrder() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10) { labels, _, line, _ in
            labels["job"] == "a" && !line.elementsEqual("skip".utf8)
        }
        defer { engine.ingester.unsubscribeTail(tail) }
        _ = try await engine.push(#"{job="a"}"#, [(t, "one"), (t + 1, "skip"), (t + 2, "two")])
        _ = try await engine.push(#"{job="b"}"#, [(t, "other stream")])
        _ = try await engine.push(tenant: "u", #"{job="a"}"#, [(t, "other tenant")])
        let (entries, dropped) = tail.take(limit: 100)
        #expect(Self.lines(entries) == ["one", "two"])
        #expect(entries.allSatisfy { $0.labels == LabelSet([LabelPair(name: "job", value: "a")]) })
        #expect(dropped.isEmpty)
        #expect(tail.take(limit: 100).entries.isEmpty)
    }

    @Test func rejectedEntriesAreNotTailed() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        _ = try await engine.push(#"{job="a"}"#, [(t, "newest")])
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10) { _, _, _, _ in true }
        defer { engine.ingester.unsubscribeTail(tail) }
        // Far older than half of max_chunk_age before the newest entry: refused as too far behind.
        _ = try await engine.push(#"{job="a"}"#, [(t - 86_400_000_000_000, "too old"), (t + 1, "fine")])
        #expect(Self.lines(tail.take(limit: 100).entries) == ["fine"])
    }

    @Test func aFullBufferDropsAndReportsWithTheNextEntries() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10) { _, _, _, _ in true }
        defer { engine.ingester.unsubscribeTail(tail) }
        let total = TailSubscription.maxEntries + 5
        _ = try await engine.push(#"{job="a"}"#, (0..<total).map { (t + Int64($0), "line \($0)") })
        let first = tail.take(limit: 100)
        #expect(first.entries.count == 100)
        #expect(first.dropped.map(\.timestamp) == (TailSubscription.maxEntries..<total).map { t + Int64($0) })
        var rest = 0
        while true {
            let next = tail.take(limit: 100)
            if next.entries.isEmpty { break }
            #expect(next.dropped.isEmpty)
            rest += next.entries.count
        }
        #expect(100 + rest == TailSubscription.maxEntries)
        let metrics = String(decoding: engine.metrics.render(), as: UTF8.self)
        #expect(metrics.contains("estuary_tail_dropped_entries_total 5\n"))
        #expect(metrics.contains("loki_querier_tail_active 1.0\n"))
    }

    @Test func theTenantLimitCountsOpenTails() throws {
        let engine = Engine.keepingLabels()
        let a = try engine.ingester.subscribeTail(tenant: "t", limit: 2) { _, _, _, _ in true }
        let b = try engine.ingester.subscribeTail(tenant: "t", limit: 2) { _, _, _, _ in true }
        #expect(throws: Ingester.TailLimitReached.self) {
            try engine.ingester.subscribeTail(tenant: "t", limit: 2) { _, _, _, _ in true }
        }
        let other = try engine.ingester.subscribeTail(tenant: "u", limit: 2) { _, _, _, _ in true }
        engine.ingester.unsubscribeTail(a)
        let c = try engine.ingester.subscribeTail(tenant: "t", limit: 2) { _, _, _, _ in true }
        for tail in [b, c, other] { engine.ingester.unsubscribeTail(tail) }
        #expect(engine.ingester.tails.isEmpty)
    }

    @Test func delayForTakesOnlyDueEntriesInTimeOrder() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10) { _, _, _, _ in true }
        defer { engine.ingester.unsubscribeTail(tail) }
        _ = try await engine.push(#"{job="a"}"#, [(t + 5, "late"), (t + 1, "early"), (t + 9, "not yet")])
        #expect(Self.lines(tail.take(limit: 100, due: t + 5).entries) == ["early", "late"])
        #expect(Self.lines(tail.take(limit: 100, due: t + 9).entries) == ["not yet"])
    }

    @Test func tailMessagesHaveLokisShape() {
        let job = LabelSet([LabelPair(name: "job", value: "a")])
        let entries = [
            TailEntry(labels: job, timestamp: 1, line: Array("one".utf8), structuredMetadata: []),
            TailEntry(labels: job, timestamp: 2, line: Array("two".utf8), structuredMetadata: []),
            TailEntry(labels: job, timestamp: 3, line: Array("m".utf8),
                      structuredMetadata: [LabelPair(name: "trace", value: "x")]),
        ]
        let dropped = [DroppedTailEntry(labels: job, timestamp: 7)]
        #expect(String(decoding: LokiJSON.tail(entries, dropped: dropped, categorize: false), as: UTF8.self) ==
            #"{"streams":[{"stream":{"job":"a"},"values":[["1","one"],["2","two"]]},{"stream":{"job":"a","trace":"x"},"values":[["3","m"]]}],"dropped_entries":[{"timestamp":"7","labels":{"job":"a"}}]}"#)
        #expect(String(decoding: LokiJSON.tail(entries, dropped: [], categorize: true), as: UTF8.self) ==
            #"{"streams":[{"stream":{"job":"a"},"values":[["1","one",{}],["2","two",{}],["3","m",{"structuredMetadata":{"trace":"x"}}]]}],"encodingFlags":["categorize-labels"]}"#)
        #expect(String(decoding: LokiJSON.tail([], dropped: [], categorize: false), as: UTF8.self) == #"{"streams":[]}"#)
    }
}
