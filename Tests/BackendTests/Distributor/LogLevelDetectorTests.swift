import Testing
import Wire
@testable import Backend

/// `detected_level` as Loki 3 finds it: labels, then structured metadata, then OTLP severity, then the line.
@Suite struct LogLevelDetectorTests {
    static func detect(_ line: String, metadata: [LabelPair] = [], stream: String? = nil) -> (String?, Bool) {
        var entry = PushEntry(timestamp: 0, line: Array(line.utf8)[...], structuredMetadata: metadata)
        let changed = LogLevelDetector.apply(to: &entry, streamLevel: stream)
        return (entry.structuredMetadata.first { $0.name == "detected_level" }?.value, changed)
    }

    @Test(arguments: [
        (#"{"level":"WARNING","msg":"x"}"#, "warn"),
        (#"{"msg":"x","log":{"lvl":"dbg"}}"#, "debug"),
        (#"{"a":{"b":{"level":"error"}}, "m":"info here"}"#, "info"),   // too deep: keywords
        (#"{"level":"notice"}"#, "unknown"),
        (#"{"level":5,"msg":"an error"}"#, "unknown"),
        (#"ts=1 level=error msg="boom""#, "error"),
        (#"ts=1 Severity=Information msg="x" level=debug"#, "debug"),   // `level` ranks first
        (#"msg="x" lvl="Fatal""#, "fatal"),
        ("2024 [ERROR] disk", "error"),
        ("WARNING: low", "warn"),
        ("something critical: x", "critical"),
        ("DEBUG payload", "debug"),
        ("information about errors", "info"),
        ("nothing to see", "unknown"),
        ("", "unknown"),
        ("{broken", "unknown"),
        (#"{"level":"info""#, "info"),
    ])
    func linesAreReadAsLokiReadsThem(_ line: String, _ level: String) {
        #expect(Self.detect(line).0 == level)
    }

    @Test func labelsAndMetadataComeBeforeTheLine() {
        #expect(Self.detect("[ERROR] x", stream: "warn").0 == "warn")
        #expect(Self.detect("[ERROR] x", metadata: [LabelPair(name: "severity_text", value: "Info")]).0 == "info")
        #expect(Self.detect("[ERROR] x", metadata: [LabelPair(name: "severity_number", value: "13")]).0 == "warn")
        #expect(Self.detect("x", metadata: [LabelPair(name: "severity_number", value: "0")]).0 == "unknown")
        #expect(Self.detect("x", metadata: [LabelPair(name: "severity_number", value: "21")]).0 == "fatal")
    }

    @Test func anExistingDetectedLevelIsOnlyNormalised() {
        #expect(Self.detect("[ERROR]", metadata: [LabelPair(name: "detected_level", value: "info")]) == ("info", false))
        #expect(Self.detect("[ERROR]", metadata: [LabelPair(name: "detected_level", value: "WARNING")]) == ("warn", true))
    }

    @Test func streamLevelLabelsAreNormalised() {
        #expect(LogLevelDetector.level(of: LabelSet([LabelPair(name: "level", value: "ERR")])) == "error")
        #expect(LogLevelDetector.level(of: LabelSet([LabelPair(name: "job", value: "x")])) == nil)
    }
}
