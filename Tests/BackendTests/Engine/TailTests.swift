import Testing
import Wire
@testable import Backend

/// The ingester's tail subscriptions and the tail's messages, without HTTP (the Python tests drive the websocket).
@Suite struct TailTests {
    typealias Engine = EngineTests.Engine

    /// The tail of a query, as the API opens it.
    static func tail(_ query: String, categorize: Bool = false) throws -> TailPipeline {
        guard case .log(let log) = try LogQLParser.parse(query) else { throw TailTestError.notALogQuery }
        let (leading, pipeline) = try LogPipeline.split(log.stages)
        return TailPipeline(matchers: log.matchers, lineFilters: leading, pipeline: pipeline, categorize: categorize)
    }

    static var everything: TailPipeline {
        get throws { try tail(#"{job=~".+"}"#) }
    }

    enum TailTestError: Error { case notALogQuery }

    private static func lines(_ entries: [TailEntry]) -> [String] {
        entries.map { String(decoding: $0.line, as: UTF8.self) }
    }

    @Test func aTailGetsWhatItsFilterTakesInPushOrder() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10, filter: Self.tail(#"{job="a"} != "skip""#))
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
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10, filter: Self.everything)
        defer { engine.ingester.unsubscribeTail(tail) }
        // Far older than half of max_chunk_age before the newest entry: refused as too far behind.
        _ = try await engine.push(#"{job="a"}"#, [(t - 86_400_000_000_000, "too old"), (t + 1, "fine")])
        #expect(Self.lines(tail.take(limit: 100).entries) == ["fine"])
    }

    @Test func aFullBufferDropsAndReportsWithTheNextEntries() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10, filter: Self.everything)
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
        let a = try engine.ingester.subscribeTail(tenant: "t", limit: 2, filter: Self.everything)
        let b = try engine.ingester.subscribeTail(tenant: "t", limit: 2, filter: Self.everything)
        #expect(throws: Ingester.TailLimitReached.self) {
            try engine.ingester.subscribeTail(tenant: "t", limit: 2, filter: Self.everything)
        }
        let other = try engine.ingester.subscribeTail(tenant: "u", limit: 2, filter: Self.everything)
        engine.ingester.unsubscribeTail(a)
        let c = try engine.ingester.subscribeTail(tenant: "t", limit: 2, filter: Self.everything)
        for tail in [b, c, other] { engine.ingester.unsubscribeTail(tail) }
        #expect(engine.ingester.tails.isEmpty)
    }

    @Test func delayForTakesOnlyDueEntriesInTimeOrder() async throws {
        let engine = Engine.keepingLabels()
        let t = engine.clock.now
        let tail = try engine.ingester.subscribeTail(tenant: "t", limit: 10, filter: Self.everything)
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

    private static func push(_ lines: [String], at t: Int64 = 1, metadata: [LabelPair] = []) -> [PushEntry] {
        lines.enumerated().map { PushEntry(timestamp: t + Int64($0.offset), line: ArraySlice($0.element.utf8),
                                           structuredMetadata: metadata) }
    }

    private static func labels(_ pairs: KeyValuePairs<String, String>) -> LabelSet {
        LabelSet(pairs.map { LabelPair(name: $0.key, value: $0.value) })
    }

    @Test func thePipelineDropsRewritesAndRelabels() throws {
        let tail = try Self.tail(#"{job="a"} |= "level" | logfmt | level="error" | line_format "{{.msg}}""#)
        let kept = tail.entries(labels: Self.labels(["job": "a"]), pushed: Self.push([
            "level=info msg=fine", "level=error msg=boom code=1", "no level here", "level=error msg=again",
        ]))
        #expect(Self.lines(kept) == ["boom", "again"])
        #expect(kept.map(\.labels) == [Self.labels(["job": "a", "level": "error", "msg": "boom", "code": "1"]),
                                       Self.labels(["job": "a", "level": "error", "msg": "again"])])
        #expect(kept.map(\.timestamp) == [2, 4])
        #expect(tail.entries(labels: Self.labels(["job": "b"]), pushed: Self.push(["level=error msg=x"])).isEmpty)
    }

    @Test func categorizedLabelsTravelBesideTheLine() throws {
        let tail = try Self.tail(#"{job="a"} | json"#, categorize: true)
        let kept = tail.entries(labels: Self.labels(["job": "a"]),
                                pushed: Self.push([#"{"level":"warn","job":"x"}"#, "not json"],
                                                  metadata: [LabelPair(name: "trace", value: "t1")]))
        #expect(kept.count == 2)
        #expect(kept.allSatisfy { $0.labels == Self.labels(["job": "a"]) })
        #expect(kept[0].structuredMetadata == [LabelPair(name: "trace", value: "t1")])
        #expect(kept[0].parsed == [LabelPair(name: "job_extracted", value: "x"), LabelPair(name: "level", value: "warn")])
        #expect(kept[1].parsed.map(\.name) == ["__error__", "__error_details__"])
        #expect(kept[1].parsed.first?.value == "JSONParserErr")
        let json = String(decoding: LokiJSON.tail(Array(kept.prefix(1)), dropped: [], categorize: true), as: UTF8.self)
        #expect(json == #"{"streams":[{"stream":{"job":"a"},"values":[["1","{\"level\":\"warn\",\"job\":\"x\"}",{"structuredMetadata":{"trace":"t1"},"parsed":{"job_extracted":"x","level":"warn"}}]]}],"encodingFlags":["categorize-labels"]}"#)
    }

    @Test func aTailRemembersABoundedNumberOfStreams() throws {
        let tail = try Self.tail(#"{job="a"} | logfmt | line_format "{{.n}}""#)
        // Many short-lived streams, selected or not: the remembered ones never pass the bound.
        for i in 0..<(TailPipeline.maxStreams * 3) {
            let kept = tail.entries(labels: Self.labels(["job": i % 2 == 0 ? "a" : "b", "pod": "p\(i)"]),
                                    pushed: Self.push(["n=\(i)"]))
            #expect(Self.lines(kept) == (i % 2 == 0 ? ["\(i)"] : []))
            #expect(tail.rememberedStreams <= TailPipeline.maxStreams)
        }
        #expect(tail.rememberedStreams >= TailPipeline.maxStreams / 2)
        // A stream pushed all along stays remembered and keeps working.
        let steady = Self.labels(["job": "a", "pod": "steady"])
        for i in 0..<(TailPipeline.maxStreams * 2) {
            _ = tail.entries(labels: Self.labels(["job": "b", "pod": "q\(i)"]), pushed: Self.push(["n=0"]))
            #expect(Self.lines(tail.entries(labels: steady, pushed: Self.push(["n=\(i)"]))) == ["\(i)"])
        }
        #expect(tail.rememberedStreams <= TailPipeline.maxStreams)
        // Without stages beyond line filters only decisions are remembered, within the same bound.
        let filtered = try Self.tail(#"{job="a"} |= "keep""#)
        for i in 0..<(TailPipeline.maxStreams * 2) {
            let kept = filtered.entries(labels: Self.labels(["job": "a", "pod": "p\(i)"]), pushed: Self.push(["keep", "drop"]))
            #expect(Self.lines(kept) == ["keep"])
        }
        #expect(filtered.rememberedStreams <= TailPipeline.maxStreams)
    }

    @Test func aStreamPipelineWithTooManyLabelSetsStartsAfresh() throws {
        let tail = try Self.tail(#"{job="a"} | logfmt"#)
        let stream = Self.labels(["job": "a"])
        let count = TailPipeline.maxLabelSetsPerStream * 2 + 10
        for i in 0..<count {
            let kept = tail.entries(labels: stream, pushed: Self.push(["id=\(i)"]))
            #expect(kept.map(\.labels) == [Self.labels(["job": "a", "id": "\(i)"])])
        }
        #expect(tail.internedLabelSets(of: stream) <= TailPipeline.maxLabelSetsPerStream + 1)
    }
}
