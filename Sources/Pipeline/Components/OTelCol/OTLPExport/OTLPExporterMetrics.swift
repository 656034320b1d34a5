import Prometheus

/// The collector's exporter metrics of an OTLP exporter, labelled as Alloy exposes them: `component_id` and
/// `exporter` (`otlphttp/<component id>` or `otlp/<component id>`, the collector component id Alloy gives the
/// wrapped exporter); the queue gauges also carry `data_type="logs"`, as the collector's do. Counts are log
/// records; queue figures are in `sizer` units (batches by default).
struct OTLPExporterMetrics: Sendable {
    let sent: Counter
    let sendFailed: Counter
    let enqueueFailed: Counter
    let queueSize: Gauge
    let queueCapacity: Gauge

    /// `kind`: the collector's exporter type, `otlphttp` or `otlp`.
    init(_ context: ComponentContext, kind: String) {
        let registry = context.metrics
        let labels = [("component_id", context.id), ("exporter", "\(kind)/\(context.id)")]
        let queueLabels = labels + [("data_type", "logs")]
        func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        // The help texts must match otelcol.exporter.loki's for the two names both components register.
        sent = registry.makeCounter(
            descriptor: descriptor(
                "otelcol_exporter_sent_log_records_total", "Number of log record successfully sent to destination."),
            labels: labels)
        sendFailed = registry.makeCounter(
            descriptor: descriptor(
                "otelcol_exporter_send_failed_log_records_total",
                "Number of log records in failed attempts to send to destination."),
            labels: labels)
        enqueueFailed = registry.makeCounter(
            descriptor: descriptor(
                "otelcol_exporter_enqueue_failed_log_records_total",
                "Number of log records failed to be added to the sending queue."),
            labels: labels)
        queueSize = registry.makeGauge(
            descriptor: descriptor("otelcol_exporter_queue_size", "Current size of the retry queue (in batches)."),
            labels: queueLabels)
        queueCapacity = registry.makeGauge(
            descriptor: descriptor("otelcol_exporter_queue_capacity", "Fixed capacity of the retry queue (in batches)."),
            labels: queueLabels)
    }
}
