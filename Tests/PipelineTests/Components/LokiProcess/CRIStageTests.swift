import Testing
import TestSupport
import Wire
@testable import Pipeline

@Suite struct CRIStageTests {
    struct Case: Sendable, CustomStringConvertible {
        var line: String
        var content: String
        var stream: String?
        var timestamp: Int64
        var description: String { line }
    }

    /// Alloy's documented example and the parser's leniencies (from Alloy's cri/parse_test.go cases).
    static let cases: [Case] = [
        Case(line: "2019-04-30T02:12:41.8443515Z stdout F message", content: "message", stream: "stdout",
             timestamp: utc(2019, 4, 30, 2, 12, 41, nanos: 844_351_500)),
        Case(line: "2019-01-01T01:00:00.000000001Z stderr F i'm a log message!", content: "i'm a log message!",
             stream: "stderr", timestamp: utc(2019, 1, 1, 1, 0, 0, nanos: 1)),
        Case(line: "2024-05-01T10:00:00+02:00   stdout   F   spaced", content: "spaced", stream: "stdout",
             timestamp: utc(2024, 5, 1, 8)),
        // No flag: full; empty content.
        Case(line: "2024-05-01T10:00:00Z stdout hello", content: "hello", stream: "stdout", timestamp: utc(2024, 5, 1, 10)),
        Case(line: "2024-05-01T10:00:00Z stdout F", content: "", stream: "stdout", timestamp: utc(2024, 5, 1, 10)),
        // A timestamp that is not RFC3339 keeps the entry's own.
        Case(line: "yesterday stderr F text", content: "text", stream: "stderr", timestamp: 7),
        // Not CRI: unchanged.
        Case(line: "2024-05-01T10:00:00Z stdin F text", content: "2024-05-01T10:00:00Z stdin F text", stream: nil, timestamp: 7),
        Case(line: "plain text line", content: "plain text line", stream: nil, timestamp: 7),
        Case(line: "", content: "", stream: nil, timestamp: 7),
    ]

    @Test(arguments: cases) func parsesLikeAlloy(_ example: Case) throws {
        let out = try #require(try Stages.run("stage.cri {}", [Stages.entry(example.line, labels: ["job": "pods"], timestamp: 7)]).entries.first)
        #expect(out.text == example.content)
        #expect(out.labels["stream"] == example.stream)
        #expect(out.labels["job"] == "pods")
        #expect(out.timestamp == example.timestamp)
    }

    @Test func fillsTheExtractedMap() throws {
        let extracted = try Stages.extracted("stage.cri {}", line: "2019-04-30T02:12:41.8443515Z stdout P part", labels: ["job": "x"])
        #expect(extracted["content"] == .string("part"))
        #expect(extracted["stream"] == .string("stdout"))
        #expect(extracted["flags"] == .string("P"))
        #expect(extracted["time"] == .string("2019-04-30T02:12:41.8443515Z"))
        #expect(extracted["job"] == .string("x"))
    }

    static func cri(_ stream: String, _ flag: String, _ text: String) -> String {
        "2024-05-01T10:00:00Z \(stream) \(flag) \(text)"
    }

    @Test func joinsPartialLinesPerStreamAcrossBatches() throws {
        var pipeline = try Stages.pipeline("stage.cri {}")
        var context = StageContext(now: Stages.now)
        let a = ["pod": "a"]
        let b = ["pod": "b"]
        let first = pipeline.run([
            Stages.entry(Self.cri("stdout", "P", "a1 "), labels: a),
            Stages.entry(Self.cri("stdout", "P", "b1 "), labels: b),
            Stages.entry(Self.cri("stderr", "F", "a-err"), labels: a),
            Stages.entry(Self.cri("stdout", "P", "a2 "), labels: a),
        ], &context)
        #expect(first.map(\.text) == ["a-err"])
        let second = pipeline.run([
            Stages.entry(Self.cri("stdout", "F", "b2"), labels: b),
            Stages.entry(Self.cri("stdout", "F", "a3"), labels: a),
            Stages.entry(Self.cri("stdout", "F", "alone"), labels: a),
        ], &context)
        #expect(second.map(\.text) == ["b1 b2", "a1 a2 a3", "alone"])
        #expect(second.map { $0.labels["pod"] } == ["b", "a", "a"])
        #expect(context.partialLinesFlushed == 0)
    }

    @Test func tooManyHeldStreamsAreSentAheadOfTheBatch() throws {
        var pipeline = try Stages.pipeline("stage.cri { max_partial_lines = 2 }")
        var context = StageContext(now: Stages.now)
        let out = pipeline.run([
            Stages.entry(Self.cri("stdout", "F", "first"), labels: ["pod": "z"]),
            Stages.entry(Self.cri("stdout", "P", "one"), labels: ["pod": "1"]),
            Stages.entry(Self.cri("stdout", "P", "two"), labels: ["pod": "2"]),
            Stages.entry(Self.cri("stdout", "P", "three"), labels: ["pod": "3"]),
        ], &context)
        #expect(out.map(\.text) == ["one", "two", "first"])
        #expect(context.partialLinesFlushed == 2)
        let end = pipeline.run([Stages.entry(Self.cri("stdout", "F", "!"), labels: ["pod": "3"])], &context)
        #expect(end.map(\.text) == ["three!"])
    }

    @Test func partialLineSizeTruncatesOnlyWhenAsked() throws {
        let lines = [Self.cri("stdout", "P", "abcdef"), Self.cri("stdout", "F", "ghij")].map { Stages.entry($0) }
        let kept = try Stages.run("stage.cri { max_partial_line_size = 4 }", lines)
        #expect(kept.entries.map(\.text) == ["abcdefghij"])
        #expect(kept.context.linesTruncated == 0)
        let cut = try Stages.run("stage.cri {\n max_partial_line_size = 4\n max_partial_line_size_truncate = true\n}", lines)
        #expect(cut.entries.map(\.text) == ["abcd"])
        #expect(cut.context.linesTruncated == 2)
    }

    @Test func badArgumentsAreRefusedAtTheAttribute() {
        let problem = Stages.problem("stage.cri { max_partial_lines = 0 }")
        #expect(problem?.contains("max_partial_lines must be greater than 0, got 0") == true)
        #expect(problem?.contains("test.alloy:3") == true)
        #expect(Stages.problem("stage.cri { max_lines = 3 }")?.contains("unrecognized attribute name \"max_lines\" in loki.process.test > stage.cri") == true)
    }

    /// Random and mutated CRI lines: never a crash; a line that parses gives content that is a suffix of it.
    @Test func fuzzedLinesNeverCrash() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0xC121))
        var pipeline = try Stages.pipeline("stage.cri { max_partial_lines = 3 }")
        let seeds = Array(Self.cri("stdout", "P", "hello wörld").utf8)
        let alphabet = Array(" \tPF stdoutstderr0123456789-:TZ.".utf8) + [0xC2, 0xA0, 0xE2, 0x80, 0x80, 0xFF]
        for _ in 0..<FuzzBudget.scaled(3000) {
            var bytes: [UInt8]
            if random.chance(50) {
                bytes = seeds
                for _ in 0...random.int(0...6) where !bytes.isEmpty {
                    let at = random.int(0...bytes.count - 1)
                    switch random.int(0...2) {
                    case 0: bytes[at] = alphabet[random.int(0...alphabet.count - 1)]
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(alphabet[random.int(0...alphabet.count - 1)], at: at)
                    }
                }
            } else {
                bytes = (0..<random.int(0...40)).map { _ in alphabet[random.int(0...alphabet.count - 1)] }
            }
            if let fields = CRIParser.parse(bytes) {
                #expect(fields.content.upperBound == bytes.count)
                #expect(fields.time.upperBound <= fields.content.lowerBound)
            }
            var context = StageContext(now: Stages.now)
            let entry = LogEntry(timestamp: 1, line: bytes, labels: LabelSet([LabelPair(name: "s", value: "\(random.int(0...4))")]))
            _ = pipeline.run([entry], &context)
        }
    }
}
