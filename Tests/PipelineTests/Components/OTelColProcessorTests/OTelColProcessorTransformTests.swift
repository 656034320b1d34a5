@testable import AlloyLanguage
import Prometheus
import Synchronization
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// Keeps every batch it is given.
final class RecordingConsumer: OTLPLogsConsumer {
    private let received = Mutex<[OTLPLogsData]>([])

    func consume(_ logs: OTLPLogsData) async throws {
        received.withLock { $0.append(logs) }
    }

    var batches: [OTLPLogsData] { received.withLock { $0 } }
    var records: [OTLPLogRecord] { batches.flatMap(OTTLTest.records) }
}

/// `otelcol.processor.transform` as the graph drives it: arguments from Alloy text, statements run on the batch,
/// error modes, configuration errors and the severity → `detected_level` mapping through `otelcol.exporter.loki`.
@Suite struct OTelColProcessorTransformTests {
    typealias T = OTTLTest

    static func make(_ body: String, sink: any OTLPLogsConsumer, registry: PrometheusCollectorRegistry = .init())
        throws -> OTelColProcessorTransform
    {
        try ComponentHarness.make(
            OTelColProcessorTransform.self, "otelcol.processor.transform \"default\" {\n\(body)\noutput { logs = [sink] }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": sink]), registry: registry)
    }

    static func problem(_ body: String) -> String? {
        ComponentHarness.problem(
            OTelColProcessorTransform.Arguments.self,
            "otelcol.processor.transform \"default\" {\n\(body)\noutput { logs = [sink] }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": RecordingConsumer()]))
    }

    @Test func runsGroupsInOrderInTheirContexts() async throws {
        let sink = RecordingConsumer()
        let registry = PrometheusCollectorRegistry()
        let processor = try Self.make(#"""
            log_statements {
              context    = "resource"
              statements = [`set(attributes["env"], "prod")`]
            }
            log_statements {
              context    = "log"
              statements = [
                `set(attributes["env"], resource.attributes["env"])`,
                `set(attributes["n"], 1) where body == "b"`,
              ]
            }
            """#, sink: sink, registry: registry)
        try await processor.consume(T.logs([OTLPLogRecord(body: .string("a")), OTLPLogRecord(body: .string("b"))]))
        let records = sink.records
        #expect(records.map(\.attributes) == [
            [T.kv("env", .string("prod"))],
            [T.kv("env", .string("prod")), T.kv("n", .int(1))],
        ])
        #expect(sink.batches.first?.resourceLogs.first?.resource.attributes == [T.kv("env", .string("prod"))])
        let labels = ["component_id": "otelcol.processor.transform.default", "otel_signal": "logs"]
        #expect(registry.sample("otelcol_processor_incoming_items_total", labels) == 2)
        #expect(registry.sample("otelcol_processor_outgoing_items_total", labels) == 2)
    }

    @Test func conditionsGateTheGroup() async throws {
        let sink = RecordingConsumer()
        let processor = try Self.make(#"""
            log_statements {
              context    = "log"
              conditions = [`severity_text == "ERROR"`, `IsMatch(body, "panic")`]
              statements = [`set(attributes["alert"], true)`]
            }
            """#, sink: sink)
        try await processor.consume(T.logs([
            OTLPLogRecord(severityText: "ERROR", body: .string("x")),
            OTLPLogRecord(severityText: "INFO", body: .string("panic: oh")),
            OTLPLogRecord(severityText: "INFO", body: .string("fine")),
        ]))
        #expect(sink.records.map { $0.attributes.isEmpty } == [false, false, true])
    }

    static let failing = #"""
        log_statements {
          context    = "log"
          statements = [
            `set(attributes["parsed"], ParseJSON(body))`,
            `set(attributes["after"], "ran")`,
          ]
        }
        """#

    @Test func propagateRefusesTheBatch() async throws {
        let sink = RecordingConsumer()
        let processor = try Self.make(Self.failing, sink: sink)  // propagate is the default
        await #expect(throws: PipelineError.self) {
            try await processor.consume(T.logs([OTLPLogRecord(body: .string("not json"))]))
        }
        #expect(sink.batches.isEmpty)
        do {
            try await processor.consume(T.logs([OTLPLogRecord(body: .string("not json"))]))
        } catch let error as PipelineError {
            #expect(!error.isRetryable)
            #expect(error.description.contains("ParseJSON"))
            #expect(error.description.contains(#"set(attributes[\"parsed\"], ParseJSON(body))"#))
        }
    }

    @Test(arguments: ["ignore", "silent"])
    func ignoreAndSilentGoOnWithTheNextStatement(mode: String) async throws {
        let sink = RecordingConsumer()
        let processor = try Self.make("error_mode = \"\(mode)\"\n" + Self.failing, sink: sink)
        try await processor.consume(T.logs([OTLPLogRecord(body: .string("not json")), OTLPLogRecord(body: .string(#"{"a":"b"}"#))]))
        #expect(sink.records.map(\.attributes) == [
            [T.kv("after", .string("ran"))],
            [T.kv("parsed", .kvlist([T.kv("a", .string("b"))])), T.kv("after", .string("ran"))],
        ])
    }

    @Test func reloadChangesTheStatements() async throws {
        let sink = RecordingConsumer()
        let processor = try Self.make(#"log_statements {\#ncontext = "log"\#nstatements = [`set(attributes["v"], 1)`]\#n}"#, sink: sink)
        let (_, next) = try ComponentHarness.decode(
            OTelColProcessorTransform.Arguments.self,
            "otelcol.processor.transform \"default\" {\nlog_statements {\ncontext = \"log\"\nstatements = [`set(attributes[\"v\"], 2)`]\n}\noutput { logs = [sink] }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": sink]))
        try processor.update(next)
        try await processor.consume(T.logs([OTLPLogRecord()]))
        #expect(sink.records.first?.attributes == [T.kv("v", .int(2))])
    }

    @Test(arguments: [
        (#"log_statements {\#ncontext = "log"\#nstatements = [`set(attributes["a"], Nope(body))`]\#n}"#,
         #"test.alloy:4:14: statements[0]: unsupported converter Nope (supported: "#),
        ("log_statements {\ncontext = \"log\"\nstatements = [`set(attributes[\"a\"], 1)`, `drop()`]\n}",
         #"test.alloy:4:14: statements[1]: unsupported editor drop (supported: "#),
        (#"log_statements {\#ncontext = "log"\#nstatements = [`set(attributes["a"], 1) where body = "x"`]\#n}"#,
         #"statements[0]: expected a comparison (==, !=, <, <=, >, >=) after body"#),
        (#"log_statements {\#ncontext = "span"\#nstatements = []\#n}"#, #"context: "span" is not one of "log", "resource", "scope""#),
        (#"log_statements {\#ncontext = "log"\#n}"#, #"missing required attribute "statements""#),
        (#"log_statements {\#nstatements = []\#n}"#, #"missing required attribute "context""#),
        (#"log_statements {\#ncontext = "log"\#nstatements = []\#nconditions = [`body ==`]\#n}"#, "conditions[0]: expected a value"),
        (#"error_mode = "loud""#, #"error_mode: "loud" is not one of "ignore", "silent", "propagate""#),
        (#"trace_statements {\#ncontext = "span"\#nstatements = []\#n}"#, "trace_statements is not supported"),
        (#"metric_statements {\#ncontext = "datapoint"\#nstatements = []\#n}"#, "metric_statements is not supported"),
        (#"log_statements {\#ncontext = "log"\#nstatements = []\#nerror_mode = "never"\#n}"#, #"error_mode: "never" is not one of"#),
        (#"statements {\#nlog = [`set(attributes["a"], 1)`]\#n}"#,
         #"log[0]: path attributes names no context: in the statements block every path starts with log., scope. or resource. at column 5"#),
        (#"statements {\#ntrace = [`set(span.name, "x")`]\#n}"#, "trace: only logs flow through Estuary"),
        (#"statements {\#nlog = [`set(resource.attributes["a"], 1)`, `set(scope.name, log.body)`, `keep_keys(log.attributes, [1])`]\#n}"#,
         #"log[2]: keys must be a list of string literals such as ["a", "b"] at column 27"#),
    ])
    func configurationErrors(body: String, expected: String) throws {
        let problem = try #require(Self.problem(body), "accepted: \(body)")
        #expect(problem.contains(expected), "\(problem)")
    }

    @Test func aBlocksErrorModeOverridesTheComponents() async throws {
        let sink = RecordingConsumer()
        let processor = try Self.make(#"""
            error_mode = "propagate"
            log_statements {
              context    = "LOG"
              error_mode = "silent"
              statements = [`set(attributes["p"], ParseJSON(body))`, `set(attributes["after"], 1)`]
            }
            """#, sink: sink)
        try await processor.consume(T.logs([OTLPLogRecord(body: .string("not json"))]))
        #expect(sink.records.first?.attributes == [T.kv("after", .int(1))])
    }

    @Test func theStatementsBlockInfersTheLowestContextNamed() async throws {
        let sink = RecordingConsumer()
        let processor = try Self.make(#"""
            statements {
              log = [
                `set(resource.attributes["seen"], "yes")`,
                `set(log.attributes["service"], resource.attributes["service.name"]) where log.severity_number >= SEVERITY_NUMBER_WARN`,
              ]
            }
            """#, sink: sink)
        try await processor.consume(T.logs([OTLPLogRecord(severityNumber: 13), OTLPLogRecord(severityNumber: 9)],
                                          resource: [T.kv("service.name", .string("api"))]))
        #expect(sink.records.map(\.attributes) == [[T.kv("service", .string("api"))], []])
        #expect(sink.batches.first?.resourceLogs.first?.resource.attributes.last == T.kv("seen", .string("yes")))

        // Only resource paths: the statements run once per resource.
        let resourceSink = RecordingConsumer()
        let resourceOnly = try Self.make(#"""
            statements {
              log = [`set(resource.attributes["n"], Concat([resource.attributes["n"], "x"], ""))`]
            }
            """#, sink: resourceSink)
        try await resourceOnly.consume(T.logs([OTLPLogRecord(), OTLPLogRecord()], resource: [T.kv("n", .string(""))]))
        #expect(resourceSink.batches.first?.resourceLogs.first?.resource.attributes == [T.kv("n", .string("x"))])
    }

    @Test func columnsPointIntoTheStatement() throws {
        let problem = try #require(Self.problem(#"log_statements {\#ncontext = "log"\#nstatements = [`set(attributes["a"], 1 * 2)`]\#n}"#))
        #expect(problem.hasPrefix("test.alloy:4:14: statements[0]: "), "\(problem)")
        #expect(problem.contains(#"math expressions (*) are not supported at column 24 of "set(attributes[\"a\"], 1 * 2)""#),
                "\(problem)")
    }
}
