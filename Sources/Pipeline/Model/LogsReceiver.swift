import AlloyLanguage
import Logging
import Wire

/// Where a component sends Loki-style log entries: Alloy's `loki.LogsReceiver`, the `receiver` export of
/// `loki.write`, `loki.process` and `loki.relabel`, listed in other components' `forward_to`.
///
/// Called by upstream components from any task; one caller sends one batch at a time, several callers send
/// concurrently. `receive` returns once the batch is accepted (queued or handed on). It never waits without bound:
/// when a bounded queue is full it throws ``PipelineError/backpressure(retryAfter:reason:)`` at once, so the source
/// can answer 429/503 or retry. Cancelling the calling task may abandon the batch before it is accepted.
public protocol LogsReceiver: AnyObject, Sendable {
    func receive(_ batch: LogBatch) async throws
}

/// Where `otelcol.*` components send OTLP logs: Alloy's `otelcol.Consumer`, the `input` export of
/// `otelcol.processor.*` and `otelcol.exporter.*`, listed in other components' `output { logs = [...] }`.
///
/// The same contract as ``LogsReceiver``: returns once accepted, throws ``PipelineError`` when it cannot accept.
public protocol OTLPLogsConsumer: AnyObject, Sendable {
    func consume(_ logs: OTLPLogsData) async throws
}

/// The export `forward_to` takes (`loki.write.NAME.receiver`, `loki.process.NAME.receiver`, ...).
public enum LogsReceiverCapsule: CapsuleKind {
    public typealias Payload = any LogsReceiver
    public static let typeName = "loki.LogsReceiver"
}

/// The export an otelcol component's `output` takes (`otelcol.exporter.loki.NAME.input`, ...).
public enum OTLPConsumerCapsule: CapsuleKind {
    public typealias Payload = any OTLPLogsConsumer
    public static let typeName = "otelcol.Consumer"
}

/// Why a receiver or consumer did not accept data.
public enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Temporarily full: retry later (HTTP sources answer 429 or 503 with `Retry-After`).
    case backpressure(retryAfter: Duration?, reason: String)
    /// Never acceptable (e.g. every entry invalid): retrying the same data will fail again.
    case rejected(String)

    public var description: String {
        switch self {
        case .backpressure(_, let reason): "backpressure: \(reason)"
        case .rejected(let reason): "rejected: \(reason)"
        }
    }

    /// Whether sending the same data again later may succeed.
    public var isRetryable: Bool {
        if case .backpressure = self { return true }
        return false
    }
}

extension LogEntry {
    /// What holding one entry costs beyond its line and structured metadata: the entry itself and the headers of
    /// its arrays. A fixed figure, so that a batch of many empty lines is not free to hold.
    public static let heldOverhead = 64

    /// The bytes holding this entry takes, roughly: its line, its structured metadata's names and values, and
    /// ``heldOverhead``. Its labels are not counted: entries of one stream share them. The unit of what
    /// `loki.write`'s queue holds.
    public var heldBytes: Int {
        structuredMetadata.reduce(line.count + Self.heldOverhead) { $0 + $1.name.utf8.count + $1.value.utf8.count }
    }
}

extension LogBatch {
    /// What holding the batch's entries takes: the sum of their ``LogEntry/heldBytes``.
    public var heldBytes: Int {
        entries.reduce(0) { $0 + $1.heldBytes }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
}

/// A list of downstream components (a `forward_to` list of ``LogsReceiver``s, an `output { logs = [...] }` list of
/// ``OTLPLogsConsumer``s): compared by identity, so that arguments holding them stay `Equatable` and a reload that
/// points at the same components counts as unchanged.
public struct Downstream<Element: Sendable>: Sendable, Equatable {
    public var items: [Element]

    public init(_ items: [Element] = []) {
        self.items = items
    }

    public var isEmpty: Bool { items.isEmpty }

    /// Hands something to each item, in order, with `send`. An item that fails does not stop the others; the first
    /// error is rethrown after all were tried, so the source learns about backpressure.
    func fanOut(_ send: (Element) async throws -> Void) async throws {
        var firstError: (any Error)?
        for item in items {
            do {
                try await send(item)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    public static func == (lhs: Downstream, rhs: Downstream) -> Bool {
        lhs.items.map { ObjectIdentifier($0 as AnyObject) } == rhs.items.map { ObjectIdentifier($0 as AnyObject) }
    }
}

/// A `forward_to` list.
public typealias LogsReceivers = Downstream<any LogsReceiver>

/// An `output { logs = [...] }` list.
public typealias OTLPLogsConsumers = Downstream<any OTLPLogsConsumer>

extension Downstream where Element == any LogsReceiver {
    /// Sends `batch` to every receiver, in order; errors as ``Downstream/fanOut(_:)``.
    public func send(_ batch: LogBatch) async throws {
        try await fanOut { try await $0.receive(batch) }
    }

    /// How a source that reads at its own pace (files, the journal) hands a batch on: sends it until it is
    /// accepted, waiting out backpressure and taking the receivers from `latest()` again before each attempt (a
    /// reload may have changed them). The waits start at 5ms and double up to the `Retry-After` given (else 5s):
    /// a queue in the same process drains in milliseconds, and a source that slept the whole second a remote
    /// client is asked to would leave the endpoint idle. A refusal for good is logged and the batch is dropped
    /// (false is returned, for the caller's drop counter). Throws only `CancellationError`: stopped before the
    /// batch was taken.
    @discardableResult
    public static func deliver(_ batch: LogBatch, to latest: () -> LogsReceivers, logger: Logger) async throws -> Bool {
        var delay: Duration = .milliseconds(5)
        while true {
            do {
                try await latest().send(batch)
                return true
            } catch PipelineError.backpressure(let retryAfter, _) {
                let longest = retryAfter ?? .seconds(5)
                try await Task.sleep(for: min(delay, longest))  // not-a-wait: backoff while downstream is full
                delay = min(delay * 2, longest)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.error("entries refused by forward_to; dropped", metadata: [
                    "entries": "\(batch.count)", "error": "\(error)",
                ])
                return false
            }
        }
    }
}

extension Downstream where Element == any OTLPLogsConsumer {
    /// Sends `logs` to every consumer, in order; errors as ``Downstream/fanOut(_:)``.
    public func send(_ logs: OTLPLogsData) async throws {
        try await fanOut { try await $0.consume(logs) }
    }
}
