import Prometheus
import Synchronization

extension LokiSourceFile {
    /// Alloy's metrics of `loki.source.file`, each with `component_id`; the per-file ones also with `path`.
    final class Metrics: Sendable {
        private struct PathMetrics {
            let readBytes: Gauge
            let fileBytes: Gauge
            let readLines: Counter
            let encodingFailures: Counter
            var lines = 0
            var failures = 0
        }

        private let registry: PrometheusCollectorRegistry
        private let componentID: String
        let filesActive: Gauge
        private let paths = Mutex<[String: PathMetrics]>([:])

        init(registry: PrometheusCollectorRegistry, componentID: String) {
            self.registry = registry
            self.componentID = componentID
            filesActive = registry.makeGauge(
                descriptor: Self.name("loki_source_file_files_active_total", "Number of active files."),
                labels: [("component_id", componentID)])
        }

        private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }

        /// Brings the reader's figures up to date.
        func record(_ reader: FileReader) {
            paths.withLock { paths in
                var metrics = paths[reader.path] ?? make(path: reader.path)
                metrics.readBytes.set(Double(reader.committedOffset))
                metrics.fileBytes.set(Double(reader.fileSize))
                if reader.linesRead > metrics.lines {
                    metrics.readLines.increment(by: Int64(reader.linesRead - metrics.lines))
                }
                if reader.encodingFailures > metrics.failures {
                    metrics.encodingFailures.increment(by: Int64(reader.encodingFailures - metrics.failures))
                }
                metrics.lines = reader.linesRead
                metrics.failures = reader.encodingFailures
                paths[reader.path] = metrics
            }
        }

        /// A file no longer read: its per-file series go away.
        func forget(path: String) {
            let removed = paths.withLock { $0.removeValue(forKey: path) }
            guard let removed else { return }
            registry.unregisterGauge(removed.readBytes)
            registry.unregisterGauge(removed.fileBytes)
            registry.unregisterCounter(removed.readLines)
            registry.unregisterCounter(removed.encodingFailures)
        }

        private func make(path: String) -> PathMetrics {
            let labels = [("component_id", componentID), ("path", path)]
            return PathMetrics(
                readBytes: registry.makeGauge(descriptor: Self.name("loki_source_file_read_bytes_total", "Number of bytes read."), labels: labels),
                fileBytes: registry.makeGauge(descriptor: Self.name("loki_source_file_file_bytes_total", "Number of bytes total."), labels: labels),
                readLines: registry.makeCounter(descriptor: Self.name("loki_source_file_read_lines_total", "Number of lines read."), labels: labels),
                encodingFailures: registry.makeCounter(
                    descriptor: Self.name("loki_source_file_encoding_failures_total", "Number of encoding failures."), labels: labels))
        }
    }
}
