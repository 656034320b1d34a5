/// What a processor does when an OTTL statement fails on some telemetry (`error_mode`).
public enum OTTLErrorMode: String, Sendable, Equatable, CaseIterable {
    /// Log the error and go on with the next statement.
    case ignore
    /// Go on with the next statement without logging.
    case silent
    /// Refuse the whole batch: the sender gets the error and the batch goes no further.
    case propagate
}
