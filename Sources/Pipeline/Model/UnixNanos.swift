/// Conversions of times read from the outside (OTLP's `fixed64` nanoseconds, journald's microseconds) into the
/// signed nanoseconds of a `LogEntry`, which never trap: a value that does not fit is nil, and the caller picks
/// the fallback.
public enum UnixNanos {
    /// An OTLP `timeUnixNano`/`observedTimeUnixNano`: nil for 0 (unset) and for values of 2^63 and more, which
    /// are past the year 2262 and cannot be written as Loki's signed nanoseconds.
    public static func fromOTLP(_ nanoseconds: UInt64) -> Int64? {
        guard nanoseconds != 0, let value = Int64(exactly: nanoseconds) else { return nil }
        return value
    }

    /// Microseconds since the epoch (journald's `__REALTIME_TIMESTAMP`) as nanoseconds; nil when out of range.
    public static func fromMicroseconds(_ microseconds: UInt64) -> Int64? {
        guard let value = Int64(exactly: microseconds) else { return nil }
        let (nanoseconds, overflow) = value.multipliedReportingOverflow(by: 1_000)
        return overflow ? nil : nanoseconds
    }
}
