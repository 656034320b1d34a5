import Prometheus

extension MetricNameDescriptor {
    /// A metric named in full (`loki_ingester_memory_chunks`), as Loki's and Alloy's metric names are written:
    /// no namespace, subsystem or unit to join.
    init(_ name: String, help: String) {
        self.init(metricName: name, unitName: "", helpText: help)
    }
}
