@testable import AlloyLanguage
import Foundation
import Logging
import Prometheus
import Synchronization
import Testing
@testable import Pipeline

/// The `logging` block: its level and format reach every log line, at load and at reload; bad values are refused.
@Suite struct AgentLoggingTests {
    /// Collects what a handler writes.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    static func logger(_ settings: LogSettings, into lines: Lines) -> Logger {
        Logger(label: "test") { _ in AgentLogHandler(settings: settings) { lines.append($0) } }
    }

    static func graph(_ settings: LogSettings) -> AgentGraph {
        AgentGraph(
            registry: ComponentRegistry([]), storagePath: NSTemporaryDirectory(), logger: Logger(label: "test"),
            metrics: PrometheusCollectorRegistry(), httpClient: .shared, logSettings: settings)
    }

    static func load(_ graph: AgentGraph, _ text: String) async throws(Diagnostics) {
        try await graph.load(try AlloyParser.parse(name: "test.alloy", text: text))
    }

    @Test func logfmtLinesLookLikeAlloys() throws {
        let lines = Lines()
        let logger = Self.logger(LogSettings(), into: lines)
        logger.info("started component", metadata: ["component_id": "loki.write.default", "note": "a b=\"c\""])
        let line = try #require(lines.all.first)
        let fields = line.dropLast().split(separator: " ", maxSplits: 2)
        #expect(line.hasSuffix("\n"))
        #expect(fields[0].hasPrefix("ts=") && fields[0].hasSuffix("Z"))
        #expect(fields[1] == "level=info")
        #expect(fields[2] == #"msg="started component" component_id=loki.write.default note="a b=\"c\"""#)
    }

    @Test func settingsHoldEveryLevelAndFormat() {
        let settings = LogSettings()
        #expect(settings.options == LoggingOptions())
        for level in Logger.Level.allCases {
            for format in LoggingOptions.Format.allCases {
                settings.apply(LoggingOptions(level: level, format: format))
                #expect(settings.options == LoggingOptions(level: level, format: format))
            }
        }
    }

    /// go-logfmt's rules, as Alloy writes its logs.
    @Test(arguments: [
        ("plain", "plain"), ("", #""""#), ("a b", #""a b""#), ("k=v", #""k=v""#), (#"say "hi""#, #""say \"hi\"""#),
        (#"C:\dir"#, #"C:\dir"#), ("héllo→", "héllo→"), ("tab\there", #""tab\there""#), ("bell\u{7}", #""bell\u0007""#),
        ("line\nbreak", #""line\nbreak""#), ("del\u{7F}", "del\u{7F}"), ("\u{FFFD}", #""\ufffd""#),
    ])
    func logfmtValuesAsGoLogfmtWritesThem(value: String, expected: String) {
        #expect(AgentLogHandler.logfmtValue(value) == expected)
    }

    @Test func jsonLinesAreOneObjectEach() throws {
        let lines = Lines()
        let logger = Self.logger(LogSettings(LoggingOptions(format: .json)), into: lines)
        logger.warning("slow", metadata: ["host": "a\"b"])
        let line = try #require(lines.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "warn" && object["msg"] == "slow" && object["host"] == "a\"b")
        #expect(object["ts"]?.hasSuffix("Z") == true)
    }

    @Test func theLevelDecidesWhatIsWrittenAndALoggerMayAskForLess() {
        let lines = Lines()
        let settings = LogSettings(LoggingOptions(level: .warning))
        var logger = Self.logger(settings, into: lines)
        logger.info("hidden")
        logger.error("shown")
        settings.apply(LoggingOptions(level: .debug))
        logger.debug("now shown")
        logger.logLevel = .error
        logger.warning("hidden again")
        #expect(lines.all.map { $0.contains("msg=shown") || $0.contains("msg=\"now shown\"") } == [true, true])
    }

    @Test func timestampsAreRFC3339NanoInUTC() {
        #expect(AgentLogHandler.timestamp(seconds: 0, nanoseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(AgentLogHandler.timestamp(seconds: 1_765_000_000, nanoseconds: 120_000_000) == "2025-12-06T05:46:40.12Z")
        #expect(AgentLogHandler.timestamp(seconds: -1, nanoseconds: 5) == "1969-12-31T23:59:59.000000005Z")
    }

    @Test func theBlockIsAppliedAtLoadAndAtReload() async throws {
        let settings = LogSettings()
        let graph = Self.graph(settings)
        try await Self.load(graph, "logging {\n  level = \"debug\"\n  format = \"json\"\n}\n")
        #expect(settings.options == LoggingOptions(level: .debug, format: .json))
        try await Self.load(graph, "logging {\n  level = \"warn\"\n}\n")
        #expect(settings.options == LoggingOptions(level: .warning, format: .logfmt))
        // Without the block, Alloy's defaults.
        try await Self.load(graph, "")
        #expect(settings.options == LoggingOptions())
        await graph.stop()
    }

    @Test(arguments: [
        ("logging {\n  level = \"loud\"\n}", #"2:11: logging: unrecognized log level "loud" (debug, info, warn or error)"#),
        ("logging {\n  format = \"xml\"\n}", #"2:12: logging: unrecognized log format "xml" (logfmt or json)"#),
        ("logging {\n  write_to = []\n}", "2:14: logging: write_to is not supported: the agent writes its own logs to standard error"),
        ("logging {\n  colour = true\n}", "2:3: unrecognized attribute name \"colour\" in logging"),
    ])
    func badSettingsAreRefusedAndChangeNothing(text: String, expected: String) async throws {
        let settings = LogSettings(LoggingOptions(level: .error))
        let graph = Self.graph(settings)
        do throws(Diagnostics) {
            try await Self.load(graph, text)
            Issue.record("expected an error")
        } catch {
            #expect(error.items.map { "\($0.range.start.line):\($0.range.start.column): \($0.message)" } == [expected])
        }
        #expect(settings.options == LoggingOptions(level: .error))
        await graph.stop()
    }
}
