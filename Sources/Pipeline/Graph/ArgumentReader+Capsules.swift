import AlloyLanguage

extension ArgumentReader {
    /// A list of references to Loki receivers (`forward_to = [loki.write.default.receiver]`).
    public func logsReceivers(_ name: String) throws(Diagnostic) -> LogsReceivers {
        LogsReceivers(try capsules(name, LogsReceiverCapsule.self))
    }

    /// A list of references to OTLP consumers (`logs = [otelcol.exporter.loki.default.input]`).
    public func otlpConsumers(_ name: String) throws(Diagnostic) -> OTLPLogsConsumers {
        OTLPLogsConsumers(try capsules(name, OTLPConsumerCapsule.self))
    }

    /// The `output` block of an OpenTelemetry component that passes data on: the consumers its logs go to.
    /// `metrics` and `traces` are read so that a config written for Alloy loads, though only logs flow here.
    public func otelcolOutput() throws(Diagnostic) -> OTLPLogsConsumers {
        guard let output = try block("output") else {
            throw blockError("missing required block \"output\" in \(name)")
        }
        _ = try output.value("metrics")
        _ = try output.value("traces")
        return try output.otlpConsumers("logs")
    }
}
