import Foundation
import Logging

/// The process-wide logger setup.
enum EstuaryLogging {
    /// A logger writing to standard error at the level in `LOG_LEVEL` (default info).
    static func makeLogger() -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .info
            return handler
        }
        return Logger(label: "estuary")
    }
}
