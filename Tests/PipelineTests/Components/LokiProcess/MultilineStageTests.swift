import Testing
import TestSupport
import Wire
@testable import Pipeline

@Suite struct MultilineStageTests {
    /// Alloy's documented `firstline`: a line starting with a bracketed timestamp.
    static let stage = #"stage.multiline { firstline = "^\\[\\d{4}-\\d{2}-\\d{2} \\d{1,2}:\\d{2}:\\d{2}\\]" }"#

    static let javaLog = [
        #"[2023-01-18 17:41:21] "GET /hello HTTP/1.1" 200 -"#,
        "[2023-01-18 17:42:24] ERROR in app: Exception on /error [GET]",
        "java.lang.IllegalStateException: Sorry, this route always breaks",
        "\tat com.example.ErrorController.error(ErrorController.java:27)",
        "\tat java.base/java.lang.Thread.run(Thread.java:833)",
        #"[2023-01-18 17:42:29] "GET /error HTTP/1.1" 500 -"#,
    ]

    static func entries(_ lines: [String], labels: [String: String] = ["app": "web"]) -> [LogEntry] {
        lines.enumerated().map { Stages.entry($0.element, labels: labels, timestamp: Int64($0.offset + 1)) }
    }

    @Test func joinsAJavaStackTraceIntoItsFirstLine() throws {
        var pipeline = try Stages.pipeline(Self.stage)
        var context = StageContext(now: Stages.now)
        let out = pipeline.run(Self.entries(Self.javaLog), &context)
        // The last block stays open: more of it may come.
        #expect(out.map(\.text) == [
            Self.javaLog[0],
            Self.javaLog[1...4].joined(separator: "\n"),
        ])
        #expect(out.map(\.timestamp) == [1, 2])
        #expect(out.allSatisfy { $0.labels["app"] == "web" })
        let next = pipeline.run(Self.entries(["[2023-01-18 17:43:00] next"]), &context)
        #expect(next.map(\.text) == [Self.javaLog[5]])
        #expect(next.first?.timestamp == 6)
    }

    @Test func linesBeforeTheFirstFirstLinePassUnchanged() throws {
        let out = try Stages.run(Self.stage, Self.entries(["orphan 1", "orphan 2", "[2023-01-18 17:41:21] a", "b"]))
        #expect(out.entries.map(\.text) == ["orphan 1", "orphan 2"])
    }

    @Test func streamsAreJoinedEachOnItsOwn() throws {
        var pipeline = try Stages.pipeline(#"stage.multiline { firstline = "^START" }"#)
        var context = StageContext(now: Stages.now)
        let a = ["pod": "a"]
        let b = ["pod": "b"]
        let out = pipeline.run([
            Stages.entry("START a1", labels: a),
            Stages.entry("START b1", labels: b),
            Stages.entry("  a2", labels: a),
            Stages.entry("  b2", labels: b),
            Stages.entry("  a3", labels: a),
            Stages.entry("START a4", labels: a),
            Stages.entry("START b3", labels: b),
        ], &context)
        #expect(out.map(\.text) == ["START a1\n  a2\n  a3", "START b1\n  b2"])
        #expect(out.map { $0.labels["pod"] } == ["a", "b"])
    }

    @Test func maxLinesSendsTheBlockOn() throws {
        var pipeline = try Stages.pipeline(#"stage.multiline {\#n firstline = "^S"\#n max_lines = 3\#n}"#)
        var context = StageContext(now: Stages.now)
        let out = pipeline.run(Self.entries(["S1", "2", "3", "4", "5", "6", "7", "S8"]), &context)
        // As Alloy: lines after a full block start a new block that keeps the first line's timestamp.
        #expect(out.map(\.text) == ["S1\n2\n3", "4\n5\n6", "7"])
        #expect(out.map(\.timestamp) == [1, 1, 1])
    }

    @Test func anIdleBlockIsSentOnAfterMaxWaitTime() throws {
        var pipeline = try Stages.pipeline(#"stage.multiline {\#n firstline = "^S"\#n max_wait_time = "2s"\#n}"#)
        var context = StageContext(now: Stages.now)
        #expect(pipeline.run(Self.entries(["S1", "x"]), &context).isEmpty)
        context.now += 1_999_999_999
        #expect(pipeline.run([], &context).isEmpty)
        // Another line of the stream restarts the wait.
        #expect(pipeline.run(Self.entries(["y"]), &context).isEmpty)
        context.now += 2_000_000_000
        let other = Stages.entry("other", labels: ["app": "api"])
        let out = pipeline.run([other], &context)
        // The idle block goes out ahead of the batch, and the idle stream is forgotten.
        #expect(out.map(\.text) == ["S1\nx\ny", "other"])
        #expect(pipeline.run(Self.entries(["z"]), &context).map(\.text) == ["z"])
    }

    @Test func laterStagesSeeTheJoinedBlockWithTheFirstLinesExtractedValues() throws {
        let stages = """
            stage.regex { expression = "^(?P<level>[A-Z]+) " }
            stage.multiline { firstline = "^[A-Z]+ " }
            stage.labels { values = { level = "" } }
            """
        let out = try Stages.run(stages, Self.entries(["ERROR boom", "  at x", "INFO ok"]))
        #expect(out.entries.map(\.text) == ["ERROR boom\n  at x"])
        #expect(out.entries.first?.labels["level"] == "ERROR")
    }

    @Test func badArgumentsAreRefusedAtTheAttribute() {
        #expect(Stages.problem("stage.multiline { max_lines = 3 }")?.contains("firstline") == true)
        #expect(Stages.problem(#"stage.multiline { firstline = "(" }"#)?.contains("firstline: invalid regular expression") == true)
        #expect(Stages.problem(#"stage.multiline {\#n firstline = "^a"\#n max_wait_time = "0s"\#n}"#)?.contains("max_wait_time must be greater than 0") == true)
        #expect(Stages.problem(#"stage.multiline {\#n firstline = "^a"\#n max_lines = -1\#n}"#)?.contains("max_lines must be 0 (no limit) or more, got -1") == true)
    }

    @Test func flushIntervalFollowsTheStagesThatHoldEntries() throws {
        let none = try Stages.arguments("stage.cri {}").stages
        #expect(MultilineStage.flushInterval(none) == nil)
        let multiline = try Stages.arguments(#"stage.multiline {\#n firstline = "^a"\#n max_wait_time = "2s"\#n}"#).stages
        #expect(MultilineStage.flushInterval(multiline) == .milliseconds(500))
    }

    /// Random lines, streams and clock steps: never a crash, and no line is lost or duplicated once everything
    /// is flushed.
    @Test func randomStreamsLoseNoLine() throws {
        var random = SeededRandom(seed: 0x3117)
        var pipeline = try Stages.pipeline(#"stage.multiline {\#n firstline = "^S"\#n max_lines = 4\#n max_wait_time = "1s"\#n}"#)
        var context = StageContext(now: Stages.now)
        var sent: [String: [String]] = [:]
        var received: [String: [String]] = [:]
        var numbers = 0
        for _ in 0..<400 {
            var batch: [LogEntry] = []
            for _ in 0..<random.int(0...6) {
                let stream = "\(random.int(0...3))"
                numbers += 1
                let line = (random.chance(30) ? "S" : "c") + "\(numbers)"
                sent[stream, default: []].append(line)
                batch.append(Stages.entry(line, labels: ["s": stream]))
            }
            context.now += Int64(random.int(0...600)) * 1_000_000
            for entry in pipeline.run(batch, &context) {
                received[entry.labels["s"] ?? "", default: []].append(contentsOf: entry.text.split(separator: "\n").map(String.init))
            }
        }
        context.now += 2_000_000_000
        for entry in pipeline.run([], &context) {
            received[entry.labels["s"] ?? "", default: []].append(contentsOf: entry.text.split(separator: "\n").map(String.init))
        }
        #expect(received == sent)
    }
}
