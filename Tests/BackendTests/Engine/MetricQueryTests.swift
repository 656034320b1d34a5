import Testing
import TestSupport
import Wire
@testable import Backend

/// Metric queries end to end over the ingester and the store, and the evaluator's functions on hand-made series.
@Suite struct MetricQueryTests {
    typealias Engine = EngineTests.Engine
    static let second: Int64 = 1_000_000_000

    private func evaluate(
        _ engine: Engine, _ query: String, start: Int64, end: Int64, step: Int64, instant: Bool = false
    ) async throws -> MetricResult {
        guard case .sample(let expression) = try LogQLParser.parse(query) else {
            Issue.record("\(query) is not a metric query")
            return .matrix([])
        }
        let steps = EvaluationSteps(start: start, end: end, step: step, isInstant: instant)
        return try await engine.querier.evaluate(expression, tenant: "t", steps: steps, maxSeries: 0).result
    }

    private func matrix(_ result: MetricResult) -> [String: [Double]] {
        guard case .matrix(let series) = result else { return [:] }
        var out: [String: [Double]] = [:]
        for one in series { out[one.labels.description] = one.values }
        return out
    }

    /// Entries one second apart from `t0 + 1 s`; `level` alternates error, info, info.
    private func fill(_ engine: Engine, count: Int, t0: Int64) async throws {
        let lines = (1...count).map { i in
            (t0 + Int64(i) * Self.second, "level=\(i % 3 == 0 ? "error" : "info") n=\(i) " + String(repeating: "x", count: i % 7))
        }
        #expect(try await engine.push(#"{app="a", pod="p1"}"#, lines).status == 204)
        #expect(try await engine.push(#"{app="a", pod="p2"}"#, lines.prefix(count / 2).map { $0 }).status == 204)
    }

    @Test func countsRatesAndBytesOverLeftOpenWindows() async throws {
        let engine = Engine.keepingLabels()
        let t0 = engine.clock.now - 3600 * Self.second
        try await fill(engine, count: 120, t0: t0)
        // Windows (t - 60 s, t]: at t0 + 60 s the entries 1...60; at t0 + 120 s the entries 61...120.
        let counts = matrix(try await evaluate(engine, #"count_over_time({app="a"}[1m])"#,
                                               start: t0 + 60 * Self.second, end: t0 + 120 * Self.second, step: 60 * Self.second))
        #expect(counts[#"{app="a", pod="p1"}"#] == [60, 60])
        #expect(counts[#"{app="a", pod="p2"}"#] == [60])
        let rates = matrix(try await evaluate(engine, #"sum(rate({app="a"} |= "level=error"[1m]))"#,
                                              start: t0 + 60 * Self.second, end: t0 + 120 * Self.second, step: 60 * Self.second))
        #expect(rates["{}"] == [40.0 / 60, 20.0 / 60])
        let bytes = matrix(try await evaluate(engine, #"bytes_over_time({pod="p2"}[10s])"#,
                                              start: t0 + 10 * Self.second, end: t0 + 10 * Self.second, step: Self.second))
        let expected = (1...10).map { i in "level=\(i % 3 == 0 ? "error" : "info") n=\(i) ".utf8.count + i % 7 }.reduce(0, +)
        #expect(bytes[#"{app="a", pod="p2"}"#] == [Double(expected)])
    }

    @Test func aggregationsAndBinaryOperationsPerStep() async throws {
        let engine = Engine.keepingLabels()
        let t0 = engine.clock.now - 3600 * Self.second
        try await fill(engine, count: 120, t0: t0)
        let at = t0 + 120 * Self.second
        func instant(_ query: String) async throws -> [String: Double] {
            guard case .vector(_, let samples) = try await evaluate(engine, query, start: at, end: at, step: 1, instant: true)
            else { return [:] }
            return Dictionary(uniqueKeysWithValues: samples.map { ($0.labels.description, $0.value) })
        }
        #expect(try await instant(#"sum by (app) (count_over_time({app="a"}[2m]))"#) == [#"{app="a"}"#: 180])
        #expect(try await instant(#"count(count_over_time({app="a"}[2m]))"#) == ["{}": 2])
        #expect(try await instant(#"topk(1, count_over_time({app="a"}[2m]))"#) == [#"{app="a", pod="p1"}"#: 120])
        #expect(try await instant(#"count_over_time({app="a"}[2m]) > 100"#) == [#"{app="a", pod="p1"}"#: 120])
        #expect(try await instant(#"count_over_time({app="a"}[2m]) > bool 100"#)
            == [#"{app="a", pod="p1"}"#: 1, #"{app="a", pod="p2"}"#: 0])
        #expect(try await instant(#"count_over_time({pod="p1"}[2m]) / on (app) count_over_time({pod="p2"}[2m])"#)
            == [#"{app="a"}"#: 2])
        #expect(try await instant(#"count_over_time({app="a"}[2m]) / ignoring (pod) group_left sum by (app) (count_over_time({app="a"}[2m]))"#)
            == [#"{app="a", pod="p1"}"#: 120.0 / 180, #"{app="a", pod="p2"}"#: 60.0 / 180])
        #expect(try await instant(#"count_over_time({pod="p1"}[2m]) and count_over_time({pod="nope"}[2m])"#) == [:])
        #expect(try await instant(#"count_over_time({pod="p1"}[2m]) unless on (app) count_over_time({pod="p2"}[2m])"#) == [:])
        #expect(try await instant(#"absent_over_time({app="a", pod="zz"}[1m])"#) == [#"{app="a", pod="zz"}"#: 1])
        #expect(try await instant(#"absent_over_time({app="a"}[1m])"#) == [:])
        #expect(try await instant(#"label_replace(count_over_time({pod="p2"}[2m]), "node", "n-$1", "pod", "p(.*)")"#)
            == [#"{app="a", node="n-2", pod="p2"}"#: 60])
        #expect(try await instant("vector(1) + vector(1)") == ["{}": 2])
        guard case .scalar(_, let value) = try await evaluate(engine, "2 * 3", start: at, end: at, step: 1, instant: true) else {
            Issue.record("a literal answers a scalar")
            return
        }
        #expect(value == 6)
    }

    @Test func offsetShiftsTheWindow() async throws {
        let engine = Engine.keepingLabels()
        let t0 = engine.clock.now - 3600 * Self.second
        try await fill(engine, count: 120, t0: t0)
        let shifted = matrix(try await evaluate(engine, #"count_over_time({pod="p2"}[1m] offset 1m)"#,
                                                start: t0 + 120 * Self.second, end: t0 + 120 * Self.second, step: Self.second))
        #expect(shifted[#"{app="a", pod="p2"}"#] == [60])
    }

    @Test func tooManySeriesStopTheQuery() async throws {
        let engine = Engine.keepingLabels()
        let t0 = engine.clock.now - 3600 * Self.second
        try await fill(engine, count: 10, t0: t0)
        guard case .sample(let expression) = try LogQLParser.parse(#"count_over_time({app="a"}[1m])"#) else { return }
        let steps = EvaluationSteps(start: t0 + 20 * Self.second, end: t0 + 20 * Self.second, step: 1, isInstant: false)
        await #expect(throws: MetricQueryError.seriesLimit(1)) {
            _ = try await engine.querier.evaluate(expression, tenant: "t", steps: steps, maxSeries: 1)
        }
    }

    /// Whole blocks counted from their summaries give exactly what reading every entry gives, for any steps,
    /// ranges and offsets, from the store and from memory.
    @Test func countingWholeBlocksEqualsReadingEveryEntry() async throws {
        var settings = IngesterSettings()
        settings.blockSize = 512
        let engine = Engine.keepingLabels(settings: settings)
        let t0 = engine.clock.now - 3600 * Self.second
        var generator = SeededRandom(seed: FuzzBudget.seed(0x16_0_1))
        var time = t0
        var lines: [(Int64, String)] = []
        for i in 0..<3000 {
            time += Int64.random(in: 1...(2 * Self.second), using: &generator)
            lines.append((time, "entry \(i) " + String(repeating: "y", count: Int.random(in: 0...40, using: &generator))))
        }
        #expect(try await engine.push(#"{app="blocks"}"#, Array(lines.prefix(2000))).status == 204)
        await engine.ingester.flush()
        #expect(try await engine.push(#"{app="blocks"}"#, Array(lines.suffix(1000))).status == 204)
        let span = time - t0
        var summarised = false
        for _ in 0..<FuzzBudget.scaled(40) {
            let step = Int64.random(in: 1...(span / 10), using: &generator)
            let range = Int64.random(in: 1...(span / 4), using: &generator)
            let offset = Bool.random(using: &generator) ? 0 : Int64.random(in: 0...(span / 8), using: &generator)
            let start = t0 + Int64.random(in: 0...(span / 2), using: &generator)
            let end = start + Int64.random(in: 0...(span / 2), using: &generator)
            let rangeText = "\(range / 1_000_000)ms"
            let offsetText = offset == 0 ? "" : " offset \(offset / 1_000_000)ms"
            if step > range {
                // Most blocks lie wholly inside one window or between windows: they are counted, not read.
                guard case .sample(let fastQuery) = try LogQLParser.parse(#"count_over_time({app="blocks"}[\#(rangeText)])"#),
                      case .sample(let slowQuery) = try LogQLParser.parse(#"count_over_time({app="blocks"} |= ""[\#(rangeText)])"#)
                else { return }
                let steps = EvaluationSteps(start: start, end: end, step: step, isInstant: false)
                let fast = try await engine.querier.evaluate(fastQuery, tenant: "t", steps: steps, maxSeries: 0).stats
                let slow = try await engine.querier.evaluate(slowQuery, tenant: "t", steps: steps, maxSeries: 0).stats
                #expect(fast.linesProcessed == slow.linesProcessed || fast.decompressedBytes < slow.decompressedBytes)
                summarised = summarised || fast.decompressedBytes < slow.decompressedBytes
            }
            for function in ["count_over_time", "rate"] {
                let fast = try await evaluate(engine, #"\#(function)({app="blocks"}[\#(rangeText)]\#(offsetText))"#,
                                              start: start, end: end, step: step)
                let slow = try await evaluate(engine, #"\#(function)({app="blocks"} |= ""[\#(rangeText)]\#(offsetText))"#,
                                              start: start, end: end, step: step)
                #expect(fast == slow, "\(function) step \(step) range \(rangeText)\(offsetText)")
            }
        }
        #expect(summarised)
    }

    /// Blocks whose sketches rule out a needle are not decompressed, and the answers are those of a filter the
    /// sketches cannot use (a case-insensitive one, over lines with no upper case), from the store and from memory.
    @Test func blocksRuledOutBySketchesChangeNoAnswer() async throws {
        var settings = IngesterSettings()
        settings.blockSize = 1024
        let engine = Engine.keepingLabels(settings: settings)
        let t0 = engine.clock.now - 3600 * Self.second
        let lines = (0..<4000).map { i in
            (t0 + Int64(i) * 500_000_000, "level=info path=/api/\(i % 97) msg=\(i % 211 == 0 ? "needle found" : "served")")
        }
        #expect(try await engine.push(#"{app="s"}"#, Array(lines.prefix(3000))).status == 204)
        await engine.ingester.flush()
        #expect(try await engine.push(#"{app="s"}"#, Array(lines.suffix(1000))).status == 204)
        let start = t0, end = t0 + 2000 * Self.second
        for query in [#"count_over_time({app="s"} %@ [1m])"#, #"sum(bytes_over_time({app="s"} %@ [5m]))"#] {
            let fast = try await evaluate(engine, query.replacingOccurrences(of: "%@", with: #"|= "needle""#),
                                          start: start, end: end, step: 60 * Self.second)
            let slow = try await evaluate(engine, query.replacingOccurrences(of: "%@", with: #"|~ "(?i)needle""#),
                                          start: start, end: end, step: 60 * Self.second)
            #expect(fast == slow && !matrix(fast).isEmpty, "\(query)")
        }
        var found: [[(Int64, String)]] = []
        var decompressed: [Int] = []
        for filter in [#"|= "needle""#, #"|~ "(?i)needle""#] {
            let parsed = try LogSelection.parse(#"{app="s"} "# + filter)
            let (streams, stats) = try await engine.querier.selectLogs(LogQuery(
                tenant: "t", matchers: parsed.matchers, lineFilters: parsed.lineFilters,
                start: start, end: end, limit: 1000, direction: .backward))
            found.append(streams.flatMap { $0.entries.map { ($0.timestamp, String(decoding: $0.line, as: UTF8.self)) } })
            decompressed.append(stats.decompressedBytes)
        }
        #expect(found[0].count == lines.filter { $0.1.contains("needle") }.count)
        #expect(found[0].map(\.0) == found[1].map(\.0))
        #expect(decompressed[0] * 3 < decompressed[1])
    }

    /// Chunks whose structured metadata cannot change a `sum by` are read without resolving it; chunks where it
    /// can (metadata named like a label the query keeps or parses) still resolve it. Either way the answer from stored chunks is the answer from memory.
    @Test func unreadMetadataIsNotResolvedAndChangesNoAnswer() async throws {
        let engine = Engine.keepingLabels()
        let t0 = engine.clock.now - 3600 * Self.second
        func entries(_ stream: Int) -> [PushEntry] {
            (0..<600).map { i in
                let metadata = i % 3 == 0 ? [LabelPair(name: stream == 0 ? "detected_level" : "level", value: "meta\(i % 2)")] : []
                return PushEntry(timestamp: t0 + Int64(i) * Self.second,
                                 line: Array("level=\(["info", "error", "warn"][i % 3 == 0 ? 0 : i % 2 + 1]) n=\(i)".utf8)[...],
                                 structuredMetadata: metadata)
            }
        }
        let request = PushRequest(streams: [PushStream(labels: #"{app="m", s="0"}"#, entries: entries(0)),
                                            PushStream(labels: #"{app="m", s="1"}"#, entries: entries(1))])
        #expect(try await engine.distributor.push(tenant: "t", request: request).status == 204)
        let queries = [#"sum by (level) (count_over_time({app="m"} | logfmt [1m]))"#,
                       #"sum by (level_extracted) (count_over_time({app="m"} | logfmt [1m]))"#,
                       #"sum by (detected_level, level) (count_over_time({app="m"} | logfmt [1m]))"#]
        var fromMemory: [[String: [Double]]] = []
        for query in queries {
            fromMemory.append(matrix(try await evaluate(engine, query, start: t0, end: t0 + 600 * Self.second,
                                                        step: 60 * Self.second)))
        }
        // Parsed labels override metadata of the same name; metadata the query keeps is in the series.
        #expect(fromMemory[0].count == 3 && fromMemory[2].keys.contains(#"{detected_level="meta0", level="info"}"#))
        await engine.ingester.flush()
        for (query, expected) in zip(queries, fromMemory) {
            let stored = matrix(try await evaluate(engine, query, start: t0, end: t0 + 600 * Self.second,
                                                   step: 60 * Self.second))
            #expect(stored == expected, "\(query)")
        }
    }

    // MARK: Functions on hand-made series

    private func over(_ operation: RangeAggregation.Operation, _ values: [Double], parameter: Double? = nil) -> Double? {
        let timestamps = values.indices.map { Int64($0 + 1) * Self.second }
        return RangeFunctions.evaluate(operation, parameter: parameter, timestamps: timestamps, values: values,
                                       window: values.indices, rangeNanoseconds: 10 * Self.second,
                                       stepEnd: Int64(values.count + 1) * Self.second)
    }

    @Test func overTimeFunctionsFollowPrometheus() {
        let values: [Double] = [3, 1, 4, 1, 5, 9, 2, 6]
        #expect(over(.sumOverTime, values) == 31)
        #expect(over(.avgOverTime, values) == 3.875)
        #expect(over(.minOverTime, values) == 1)
        #expect(over(.maxOverTime, values) == 9)
        #expect(over(.firstOverTime, values) == 3)
        #expect(over(.lastOverTime, values) == 6)
        #expect(over(.stdvarOverTime, values).map { abs($0 - 6.609375) < 1e-12 } == true)
        #expect(over(.stddevOverTime, values).map { abs($0 - 6.609375.squareRoot()) < 1e-12 } == true)
        #expect(over(.quantileOverTime, values, parameter: 0.5) == 3.5)
        #expect(over(.quantileOverTime, values, parameter: 0) == 1)
        #expect(over(.quantileOverTime, values, parameter: 1) == 9)
        #expect(over(.quantileOverTime, values, parameter: 2) == .infinity)
        #expect(over(.quantileOverTime, values, parameter: -1) == -.infinity)
        #expect(over(.rate, values) == 3.1)
        // A counter that resets once: 10, 20, 5 is an increase of 25 over 2 s of samples, extrapolated.
        let counter = over(.rateCounter, [10, 20, 5])
        #expect(counter.map { $0 > 0 } == true)
    }

    @Test func vectorAggregationsGroupByAndWithout() {
        func labels(_ pairs: [(String, String)]) -> LabelSet { LabelSet(pairs.map { LabelPair(name: $0.0, value: $0.1) }) }
        let samples = [
            VectorSample(labels: labels([("a", "1"), ("b", "x")]), value: 1),
            VectorSample(labels: labels([("a", "1"), ("b", "y")]), value: 3),
            VectorSample(labels: labels([("a", "2"), ("b", "x")]), value: 5),
        ]
        func run(_ op: VectorAggregation.Operation, _ grouping: Grouping?, k: Int? = nil) -> [String: Double] {
            let aggregation = VectorAggregation(operation: op, grouping: grouping, parameter: k, inner: .literal(0))
            return Dictionary(uniqueKeysWithValues: VectorOperations.aggregate(aggregation, samples).map {
                ($0.labels.description, $0.value)
            })
        }
        #expect(run(.sum, Grouping(without: false, labels: ["a"])) == [#"{a="1"}"#: 4, #"{a="2"}"#: 5])
        #expect(run(.avg, Grouping(without: true, labels: ["a"])) == [#"{b="x"}"#: 3, #"{b="y"}"#: 3])
        #expect(run(.max, nil) == ["{}": 5])
        #expect(run(.min, nil) == ["{}": 1])
        #expect(run(.count, Grouping(without: false, labels: ["b"])) == [#"{b="x"}"#: 2, #"{b="y"}"#: 1])
        #expect(run(.stdvar, nil).values.first.map { abs($0 - 8.0 / 3) < 1e-12 } == true)
        #expect(run(.bottomk, Grouping(without: false, labels: ["b"]), k: 1)
            == [#"{a="1", b="x"}"#: 1, #"{a="1", b="y"}"#: 3])
    }
}
