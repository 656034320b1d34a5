@testable import AlloyLanguage
import Synchronization
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport
import PipelineTestSupport

/// Runs `loki.process` stages written as Alloy text over entries, without the component: decode, build the
/// pipeline, run one batch at a fixed clock.
enum Stages {
    /// 2024-06-01T12:00:00Z.
    static let now: Int64 = 1_717_243_200_000_000_000

    static func scope(_ out: any LogsReceiver = CollectingReceiver()) -> Scope {
        ComponentHarness.scope(receivers: ["out": out])
    }

    static func config(_ stages: String) -> String {
        """
        loki.process "test" {
          forward_to = [out]
          \(stages)
        }
        """
    }

    static func arguments(_ stages: String, out: any LogsReceiver = CollectingReceiver()) throws -> LokiProcess.Arguments {
        try ComponentHarness.decode(LokiProcess.Arguments.self, config(stages), scope: scope(out)).arguments
    }

    /// The error `stages` are refused with, or nil.
    static func problem(_ stages: String) -> String? {
        ComponentHarness.problem(LokiProcess.Arguments.self, config(stages), scope: scope())
    }

    static func pipeline(_ stages: String) throws -> ProcessPipeline {
        ProcessPipeline(try arguments(stages).stages)
    }

    static func entry(_ line: String, labels: [String: String] = [:], timestamp: Int64 = 1) -> LogEntry {
        LogEntry(
            timestamp: timestamp, line: Array(line.utf8),
            labels: LabelSet(labels.map { LabelPair(name: $0.key, value: $0.value) }))
    }

    /// Runs `stages` over `entries` once.
    static func run(_ stages: String, _ entries: [LogEntry], now: Int64 = now) throws -> (entries: [LogEntry], context: StageContext) {
        var pipeline = try pipeline(stages)
        var context = StageContext(now: now)
        let out = pipeline.run(entries, &context)
        return (out, context)
    }

    static func run(_ stages: String, line: String, labels: [String: String] = [:]) throws -> LogEntry? {
        try run(stages, [entry(line, labels: labels)]).entries.first
    }

    /// Runs the stages and returns the extracted map of the one entry (before compaction).
    static func extracted(_ stages: String, line: String, labels: [String: String] = [:]) throws -> [String: ExtractedValue] {
        let configs = try arguments(stages).stages
        var entries = [ProcessEntry(entry(line, labels: labels))]
        var context = StageContext(now: now)
        for config in configs {
            var stage = config.makeStage()
            stage.process(&entries, &context)
        }
        return entries.first?.allExtracted() ?? [:]
    }
}

extension LogEntry {
    var text: String { String(decoding: line, as: UTF8.self) }
    var labelText: String { labels.description }
}

/// Nanoseconds since the epoch of a UTC wall-clock time.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0, nanos: Int64 = 0) -> Int64 {
    Civil.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second) * 1_000_000_000 + nanos
}
