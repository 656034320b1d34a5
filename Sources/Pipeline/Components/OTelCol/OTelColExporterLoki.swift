import AlloyLanguage
import Logging
import Prometheus
import Synchronization
import Wire

/// `otelcol.exporter.loki`: converts the OTLP logs it is given into Loki entries and forwards them, one batch per
/// call, to the `forward_to` receivers (usually `loki.write` or `loki.process`). Exports `input`, an
/// `otelcol.Consumer`.
///
/// The conversion is Alloy's (``LokiTranslator``): labels from `exporter`, `job`, `instance`, `level` and the
/// `loki.resource.labels` / `loki.attribute.labels` hints, a JSON line by default (`loki.format` picks `logfmt`
/// or `raw`). A record that cannot be converted is dropped, logged and counted; the others go on. When a
/// receiver refuses the batch (backpressure), `consume` rethrows, so the sender can retry.
public final class OTelColExporterLoki: Component, OTLPLogsConsumer {
    public static let name = "otelcol.exporter.loki"

    public struct Arguments: ComponentArguments {
        /// Where to forward converted Loki logs. Required.
        public var forwardTo: LogsReceivers

        public init(forwardTo: LogsReceivers) {
            self.forwardTo = forwardTo
        }

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
        }
    }

    private let context: ComponentContext
    private let translator: LokiTranslator
    private let forwardTo: Mutex<LogsReceivers>
    private let metrics: Metrics

    /// The otelcol exporter counters, plus the three Alloy's converter keeps, all labelled `component_id`.
    private struct Metrics {
        let sent: Counter
        let sendFailed: Counter
        let entriesTotal: Counter
        let entriesFailed: Counter
        let entriesProcessed: Counter

        init(_ context: ComponentContext) {
            let labels = [("component_id", context.id)]
            let registry = context.metrics
            func counter(_ name: String, _ help: String) -> Counter {
                registry.makeCounter(
                    descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
            }
            sent = counter("otelcol_exporter_sent_log_records_total",
                           "Number of log record successfully sent to destination.")
            sendFailed = counter("otelcol_exporter_send_failed_log_records_total",
                                 "Number of log records in failed attempts to send to destination.")
            entriesTotal = counter("otelcol_exporter_loki_entries_total",
                                   "Total number of log entries passed through the converter")
            entriesFailed = counter("otelcol_exporter_loki_entries_failed", "Total number of log entries failed to convert")
            entriesProcessed = counter("otelcol_exporter_loki_entries_processed",
                                       "Total number of log entries successfully converted")
        }
    }

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    /// `translator` is for tests that need a fixed clock; the agent uses the wall clock.
    public init(context: ComponentContext, arguments: Arguments, translator: LokiTranslator) throws {
        self.context = context
        self.translator = translator
        forwardTo = Mutex(arguments.forwardTo)
        metrics = Metrics(context)
        try update(arguments)
    }

    public convenience init(context: ComponentContext, arguments: Arguments) throws {
        try self.init(context: context, arguments: arguments, translator: LokiTranslator())
    }

    public func update(_ arguments: Arguments) throws {
        forwardTo.withLock { $0 = arguments.forwardTo }
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        let translation = translator.translate(logs)
        metrics.entriesTotal.increment(by: Int64(translation.entries.count + translation.failedCount))
        metrics.entriesProcessed.increment(by: Int64(translation.entries.count))
        if translation.failedCount > 0 { conversionFailed(translation) }
        guard !translation.entries.isEmpty else { return }
        let targets = forwardTo.withLock { $0 }
        guard !targets.isEmpty else { return }
        let count = Int64(translation.entries.count)
        do {
            try await targets.send(LogBatch(entries: translation.entries))
        } catch {
            metrics.sendFailed.increment(by: count)
            throw error
        }
        metrics.sent.increment(by: count)
    }

    /// Records dropped because they could not be converted: one log line per batch, both counters.
    private func conversionFailed(_ translation: LokiTranslation) {
        metrics.entriesFailed.increment(by: Int64(translation.failedCount))
        metrics.sendFailed.increment(by: Int64(translation.failedCount))
        context.logger.error("failed to convert log to loki entry", metadata: [
            "component_id": "\(context.id)",
            "dropped_records": "\(translation.failedCount)",
            "err": "\(translation.firstFailure.map { "\($0)" } ?? "unknown")",
        ])
    }
}
