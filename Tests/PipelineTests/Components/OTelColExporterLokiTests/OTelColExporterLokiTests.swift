@testable import AlloyLanguage
import AsyncHTTPClient
import Prometheus
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// `otelcol.exporter.loki` as the graph drives it: arguments from Alloy text, `input` fed OTLP logs, entries
/// forwarded to `forward_to`, reloads, backpressure and metrics.
@Suite struct OTelColExporterLokiTests {
    typealias T = LokiTest

    struct Harness {
        let component: OTelColExporterLoki
        let registry = PrometheusCollectorRegistry()

        init(forwardTo receivers: [any LogsReceiver]) throws {
            let context = ComponentHarness.context(id: "otelcol.exporter.loki.default", registry: registry)
            component = try OTelColExporterLoki(
                context: context, arguments: .init(forwardTo: LogsReceivers(receivers)), translator: T.translator)
        }

        /// The value of `name{component_id="otelcol.exporter.loki.default"}`, or nil when it is not exposed.
        func metric(_ name: String) -> Double? {
            registry.sample(name, ["component_id": "otelcol.exporter.loki.default"])
        }
    }

    enum Decoded: Equatable {
        case success(OTelColExporterLoki.Arguments)
        case failure(String)

        func map<R>(_ transform: (OTelColExporterLoki.Arguments) -> R) -> R? {
            if case .success(let arguments) = self { return transform(arguments) }
            return nil
        }
    }

    /// Decodes the component's block with `variables` in scope; the first problem's message on failure.
    static func decode(_ config: String, _ variables: [String: Value] = [:]) -> Decoded {
        do throws(ComponentHarness.Problem) {
            return .success(try ComponentHarness.decode(OTelColExporterLoki.Arguments.self, config, scope: Scope(variables)).arguments)
        } catch {
            return .failure(error.message)
        }
    }

    static func logs(_ bodies: [String], resource: [OTLPKeyValue] = [T.kv("service.name", T.str("checkout"))]) -> OTLPLogsData {
        OTLPLogsData(resourceLogs: [OTLPResourceLogs(
            resource: OTLPResource(attributes: resource),
            scopeLogs: [OTLPScopeLogs(logRecords: bodies.enumerated().map { index, body in
                OTLPLogRecord(timeUnixNano: UInt64(index + 1), severityNumber: 9, body: T.str(body))
            })])])
    }

    // MARK: Arguments

    @Test func decodesForwardTo() throws {
        let receiver = CollectingReceiver()
        let capsule = Value.capsule(Capsule(LogsReceiverCapsule.self, receiver))
        let decoded = Self.decode(#"otelcol.exporter.loki "default" { forward_to = [write] }"#, ["write": capsule])
        #expect(decoded.map { $0.forwardTo.items.map(ObjectIdentifier.init) } == [ObjectIdentifier(receiver)])
        #expect(decoded == .success(OTelColExporterLoki.Arguments(forwardTo: LogsReceivers([receiver]))))
    }

    @Test func refusesBadArguments() {
        #expect(Self.decode(#"otelcol.exporter.loki "default" { }"#)
            == .failure(#"missing required attribute "forward_to" in otelcol.exporter.loki.default"#))
        #expect(Self.decode(#"otelcol.exporter.loki "default" { forward_to = ["loki"] }"#)
            == .failure("forward_to[0]: expected loki.LogsReceiver, got string"))
        let rules = Value.capsule(RelabelRules.self, RelabelRules([]))
        #expect(Self.decode(#"otelcol.exporter.loki "default" { forward_to = [x] }"#, ["x": .string("no")])
            == .failure("forward_to[0]: expected loki.LogsReceiver, got string"))
        #expect(Self.decode("otelcol.exporter.loki \"default\" {\n  forward_to = [x]\n  format = \"json\"\n}", ["x": rules])
            == .failure("forward_to[0]: expected loki.LogsReceiver, got RelabelRules"))
        #expect(Self.decode("otelcol.exporter.loki \"default\" {\n  forward_to = []\n  format = \"json\"\n}")
            == .failure(#"unrecognized attribute name "format" in otelcol.exporter.loki.default"#))
        // An empty list is allowed, as in Alloy: converted entries then go nowhere.
        #expect(Self.decode(#"otelcol.exporter.loki "default" { forward_to = [] }"#)
            == .success(OTelColExporterLoki.Arguments(forwardTo: LogsReceivers())))
    }

    // MARK: Forwarding

    @Test func exportsAnOTLPConsumer() throws {
        let harness = try Harness(forwardTo: [])
        guard case .capsule(let capsule)? = harness.component.exports["input"] else {
            Issue.record("no input capsule in \(harness.component.exports)")
            return
        }
        #expect(capsule.typeName == "otelcol.Consumer")
        #expect(capsule.payload(OTLPConsumerCapsule.self) != nil)
        #expect(OTelColExporterLoki.name == "otelcol.exporter.loki")
    }

    @Test func convertsAndForwardsOneBatchToEveryReceiver() async throws {
        let first = CollectingReceiver()
        let second = CollectingReceiver()
        let harness = try Harness(forwardTo: [first, second])
        try await harness.component.consume(Self.logs(["one", "two", "three"]))
        #expect(first.batchCount == 1)
        #expect(second.batchCount == 1)
        #expect(first.entries == second.entries)
        // `job` comes from service.name, which stays in the line: only hinted attributes move to labels.
        #expect(first.entries.map { String(decoding: $0.line, as: UTF8.self) } == ["one", "two", "three"].map {
            #"{"body":"\#($0)","resources":{"service.name":"checkout"}}"#
        })
        #expect(first.entries.map(\.timestamp) == [1, 2, 3])
        #expect(first.entries.allSatisfy { $0.labels.description == #"{exporter="OTLP", job="checkout", level="INFO"}"# })
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 3)
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 0)
        #expect(harness.metric("otelcol_exporter_loki_entries_total") == 3)
        #expect(harness.metric("otelcol_exporter_loki_entries_processed") == 3)
        #expect(harness.metric("otelcol_exporter_loki_entries_failed") == 0)
    }

    @Test func updateSwapsTheReceivers() async throws {
        let old = CollectingReceiver()
        let new = CollectingReceiver()
        let harness = try Harness(forwardTo: [old])
        try await harness.component.consume(Self.logs(["before"]))
        try harness.component.update(.init(forwardTo: LogsReceivers([new])))
        try await harness.component.consume(Self.logs(["after"]))
        #expect(old.entries.map { String(decoding: $0.line, as: UTF8.self) }
            == [#"{"body":"before","resources":{"service.name":"checkout"}}"#])
        #expect(new.entries.map { String(decoding: $0.line, as: UTF8.self) }
            == [#"{"body":"after","resources":{"service.name":"checkout"}}"#])
    }

    @Test func recordsThatCannotConvertAreCountedAndTheRestGoOn() async throws {
        let receiver = CollectingReceiver()
        let harness = try Harness(forwardTo: [receiver])
        var logs = Self.logs(["good", "also good"])
        logs.resourceLogs[0].scopeLogs[0].logRecords.insert(
            OTLPLogRecord(body: .double(.nan)), at: 1)
        try await harness.component.consume(logs)
        #expect(receiver.entries.count == 2)
        #expect(harness.metric("otelcol_exporter_loki_entries_total") == 3)
        #expect(harness.metric("otelcol_exporter_loki_entries_failed") == 1)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 2)
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 1)
        // A batch with nothing convertible sends nothing.
        let unknownFormat = Self.logs(["x"], resource: [T.kv(LokiTranslator.formatHint, T.str("xml"))])
        try await harness.component.consume(unknownFormat)
        #expect(receiver.batchCount == 1)
        #expect(harness.metric("otelcol_exporter_loki_entries_failed") == 2)
    }

    @Test func backpressureIsPassedBackAndCounted() async throws {
        let full = CollectingReceiver(refusingEvery: .backpressure(retryAfter: .seconds(1), reason: "queue full"))
        let healthy = CollectingReceiver()
        let harness = try Harness(forwardTo: [full, healthy])
        await #expect(throws: PipelineError.backpressure(retryAfter: .seconds(1), reason: "queue full")) {
            try await harness.component.consume(Self.logs(["a", "b"]))
        }
        // The other receiver still got the batch; the records count as failed sends.
        #expect(healthy.entries.count == 2)
        #expect(harness.metric("otelcol_exporter_send_failed_log_records_total") == 2)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 0)
    }

    @Test func emptyForwardToDropsQuietly() async throws {
        let harness = try Harness(forwardTo: [])
        try await harness.component.consume(Self.logs(["nowhere"]))
        #expect(harness.metric("otelcol_exporter_loki_entries_processed") == 1)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == 0)
    }

    /// Concurrent senders and reloads: every record reaches exactly one of the receivers it was sent to.
    @Test func concurrentConsumeAndUpdate() async throws {
        let receivers = (0..<3).map { _ in CollectingReceiver() }
        let harness = try Harness(forwardTo: [receivers[0]])
        let component = harness.component
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<8 {
                group.addTask {
                    for round in 0..<50 {
                        try await component.consume(Self.logs(["\(sender)-\(round)-a", "\(sender)-\(round)-b"]))
                    }
                }
            }
            group.addTask {
                for round in 0..<100 {
                    try component.update(.init(forwardTo: LogsReceivers([receivers[round % 3]])))
                    await Task.yield()
                }
            }
            try await group.waitForAll()
        }
        let delivered = receivers.map(\.entries.count).reduce(0, +)
        #expect(delivered == 8 * 50 * 2)
        #expect(harness.metric("otelcol_exporter_sent_log_records_total") == Double(delivered))
    }
}
