import Foundation
import Logging
import Pipeline

/// The process-wide logger setup.
enum EstuaryLogging {
    /// The level and format every log line of the process follows: `LOG_LEVEL` (swift-log's level names, default
    /// info) at start, then what the agent configuration's `logging` block says.
    static let settings = LogSettings(LoggingOptions(
        level: ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info))

    /// A logger writing to standard error in Alloy's line formats (logfmt by default).
    static func makeLogger() -> Logger {
        LoggingSystem.bootstrap { _ in AgentLogHandler.standardError(settings: settings) }
        return Logger(label: "estuary")
    }
}
