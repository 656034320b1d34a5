import Wire

/// What ``LokiTranslator/translate(_:)`` made of a batch.
public struct LokiTranslation: Sendable, Equatable {
    /// One entry per converted record, in the order of the records.
    public var entries: [LogEntry] = []
    /// Records that could not be converted and were dropped.
    public var failedCount = 0
    /// Why the first of them failed, for the log.
    public var firstFailure: LokiTranslationError?

    public init(entries: [LogEntry] = [], failedCount: Int = 0, firstFailure: LokiTranslationError? = nil) {
        self.entries = entries
        self.failedCount = failedCount
        self.firstFailure = firstFailure
    }
}
