import AlloyLanguage
import Logging
import Wire

/// `loki.echo`: prints every entry it receives to the agent's log, for debugging pipelines. Exports `receiver`.
public final class LokiEcho: Component, LogsReceiver {
    public static let name = "loki.echo"

    public struct Arguments: ComponentArguments {
        public init(_ reader: ArgumentReader) throws(Diagnostic) {}
    }

    private let logger: Logger

    public var exports: ValueObject {
        ValueObject([("receiver", .capsule(LogsReceiverCapsule.self, self))])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        logger = context.logger
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {}

    public func receive(_ batch: LogBatch) async throws {
        for entry in batch.entries {
            logger.info("receiving log entry", metadata: [
                "labels": "\(entry.labels)", "ts": "\(entry.timestamp)",
                "entry": "\(String(decoding: entry.line, as: UTF8.self))",
                "structured_metadata": "\(entry.structuredMetadata.map { "\($0.name)=\($0.value)" }.joined(separator: ","))",
            ])
        }
    }
}
