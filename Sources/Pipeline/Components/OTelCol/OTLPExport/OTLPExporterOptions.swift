import AlloyLanguage
import Wire

// The `retry_on_failure` and `sending_queue` blocks of the OTLP exporters (`otelcol.exporter.otlphttp`,
// `otelcol.exporter.otlp`): Alloy's names and the collector's defaults, read the same way for both.

/// `retry_on_failure`: the collector's exponential backoff. Waits start at `initial_interval`, grow by
/// `multiplier` up to `max_interval`, each randomized by ±`randomization_factor`; a batch is given up once the
/// next wait would pass `max_elapsed_time` since its first attempt (`"0s"`: retry forever).
public struct OTLPExporterRetryOptions: Sendable, Equatable {
    public var enabled = true
    public var initialInterval = Duration.seconds(5)
    public var randomizationFactor = 0.5
    public var multiplier = 1.5
    public var maxInterval = Duration.seconds(30)
    public var maxElapsedTime = Duration.seconds(300)

    public init() {}

    init(_ reader: ArgumentReader) throws(Diagnostic) {
        enabled = try reader.bool("enabled", default: enabled)
        initialInterval = try Self.positive(reader, "initial_interval", initialInterval)
        randomizationFactor = try reader.double("randomization_factor", default: randomizationFactor)
        if !(randomizationFactor >= 0 && randomizationFactor <= 1) {
            throw reader.error(
                "randomization_factor", "randomization_factor: must be between 0 and 1, got \(randomizationFactor)")
        }
        multiplier = try reader.double("multiplier", default: multiplier)
        if !(multiplier > 1 && multiplier.isFinite) {
            throw reader.error("multiplier", "multiplier: must be greater than 1.0, got \(multiplier)")
        }
        maxInterval = try Self.positive(reader, "max_interval", maxInterval)
        if maxInterval < initialInterval {
            throw reader.error(
                "max_interval",
                "max_interval: must be at least initial_interval (\(Self.text(initialInterval))), got \(Self.text(maxInterval))")
        }
        maxElapsedTime = try reader.duration("max_elapsed_time", default: maxElapsedTime)
        if maxElapsedTime < .zero {
            throw reader.error("max_elapsed_time", "max_elapsed_time: must not be negative (\"0s\" retries forever)")
        }
    }

    private static func positive(_ reader: ArgumentReader, _ name: String, _ fallback: Duration)
        throws(Diagnostic) -> Duration
    {
        let value = try reader.duration(name, default: fallback)
        if value <= .zero { throw reader.error(name, "\(name): must be greater than 0, got \(text(value))") }
        return value
    }

    static func text(_ duration: Duration) -> String { DurationText.goString(DurationText.nanoseconds(duration)) }

    var policy: RetryBackoff.Policy {
        .exponential(initial: initialInterval, multiplier: multiplier, randomizationFactor: randomizationFactor,
                     max: maxInterval, maxElapsed: maxElapsedTime)
    }
}

/// `sending_queue`: batches wait here for one of `num_consumers` senders.
public struct OTLPExporterQueueOptions: Sendable, Equatable {
    /// What `queue_size` counts.
    public enum Sizer: String, Sendable {
        /// Batches, as `consume` receives them (the default).
        case requests
        /// Log records.
        case items
    }

    /// `enabled`: when false, `consume` sends the batch itself and returns once it was sent or given up.
    public var enabled = true
    /// `num_consumers`: how many batches are sent at the same time.
    public var numConsumers = 10
    /// `queue_size`: how many batches (or records, with `sizer = "items"`) the queue holds.
    public var queueSize = 1000
    /// `block_on_overflow` (or the deprecated `blocking`): wait for room instead of refusing at once.
    public var blockOnOverflow = false
    /// `sizer`: `"requests"` (default) or `"items"`.
    public var sizer = Sizer.requests

    public init() {}

    init(_ reader: ArgumentReader) throws(Diagnostic) {
        enabled = try reader.bool("enabled", default: enabled)
        numConsumers = try reader.int("num_consumers", default: numConsumers)
        if numConsumers < 1 {
            throw reader.error("num_consumers", "num_consumers: must be at least 1, got \(numConsumers)")
        }
        queueSize = try reader.int("queue_size", default: queueSize)
        if enabled && queueSize <= 0 {
            throw reader.error("queue_size", "queue_size: must be greater than zero, got \(queueSize)")
        }
        let blocking = try reader.bool("blocking", default: blockOnOverflow)
        blockOnOverflow = try reader.bool("block_on_overflow", default: blockOnOverflow) || blocking
        let sizerText = try reader.string("sizer", default: sizer.rawValue)
        guard let sizer = Sizer(rawValue: sizerText) else {
            throw reader.error(
                "sizer",
                "sizer: \(GoQuote.quote(sizerText)) is not supported; use \"requests\" (batches) or \"items\" (log records)")
        }
        self.sizer = sizer
        if try reader.value("storage") != nil {
            throw reader.error(
                "storage", "storage: persistent queues (otelcol.storage.*) are not supported by Estuary yet; the queue is in memory")
        }
    }

    /// How much of `queue_size` a batch of `records` log records takes.
    func weight(records: Int) -> Int { sizer == .requests ? 1 : records }
}
