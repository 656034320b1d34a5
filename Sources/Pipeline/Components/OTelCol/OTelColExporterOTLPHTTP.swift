import AlloyLanguage
import AsyncHTTPClient
import Synchronization
import Wire

/// `otelcol.exporter.otlphttp`: sends the OTLP logs it is given to an OTLP/HTTP endpoint (`POST …/v1/logs`,
/// protobuf or JSON, gzip by default), for example another agent's `otelcol.receiver.otlp` or Loki's OTLP endpoint
/// (`client { endpoint = "http://loki:3100/otlp" }`). Exports `input`, an `otelcol.Consumer`.
///
/// Batches wait in a bounded `sending_queue` for one of `num_consumers` senders (``OTLPExporterCore``, shared with
/// `otelcol.exporter.otlp`). A sender retries 429, 502, 503 and 504 and failed connections with the collector's
/// exponential backoff, honouring `Retry-After`; any other status is permanent and the batch is counted as failed.
public final class OTelColExporterOTLPHTTP: Component, OTLPLogsConsumer, OTLPExportTransport {
    public static let name = "otelcol.exporter.otlphttp"
    /// How long stopping waits for the queue to drain (Alloy has no argument for it: loki.write's default).
    public static let defaultDrainTimeout = LokiWrite.EndpointOptions.Defaults.drainTimeout

    let httpClient: HTTPClient
    /// The queue, senders, retries and metrics (shared with `otelcol.exporter.otlp`).
    let core: OTLPExporterCore
    private let arguments: Mutex<Arguments>

    /// The arguments in force now.
    var current: Arguments { arguments.withLock { $0 } }
    /// The sending queue.
    var queue: BoundedQueue<OTLPExportItem> { core.queue }

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    public convenience init(context: ComponentContext, arguments: Arguments) throws {
        try self.init(context: context, arguments: arguments, drainTimeout: Self.defaultDrainTimeout)
    }

    /// `drainTimeout` is for tests that stop against an endpoint that never recovers.
    init(context: ComponentContext, arguments: Arguments, drainTimeout: Duration) throws {
        httpClient = context.httpClient
        core = OTLPExporterCore(
            context: context, kind: "otlphttp", options: .init(retry: arguments.retry, queue: arguments.queue),
            drainTimeout: drainTimeout)
        self.arguments = Mutex(arguments)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        self.arguments.withLock { $0 = arguments }
        core.update(.init(retry: arguments.retry, queue: arguments.queue))
    }

    /// Runs the senders until cancelled, then drains (see ``OTLPExporterCore/run(_:)``).
    public func run() async throws {
        await core.run(self)
    }

    /// Queues `logs` for sending (see ``OTLPExporterCore/consume(_:via:)``).
    public func consume(_ logs: OTLPLogsData) async throws {
        try await core.consume(logs, via: self)
    }
}
