/// Durations as Loki's configuration reads and prints them.
///
/// Loki has two duration types: Go's `time.Duration` (`30m`, `1h30m`, `1.5s`, `500ms`; units ns, us/µs, ms, s, m,
/// h) for the ingester, and Prometheus' `model.Duration` (`1d`, `1w`, `1y` as well, whole numbers only) for limits.
/// Estuary reads the union of both everywhere, so `1d` and `1.5h` work for every key; `0` alone is zero.
/// Negative durations are refused: no key of this configuration means anything by them.
public enum DurationText {
    public enum ParseError: Error, Equatable, Sendable {
        case syntax
        /// A number without a unit (`30`): Go would read nanoseconds, which is never what was meant.
        case missingUnit
        case unknownUnit(String)
        case negative
        case tooLarge
    }

    private static let units: [String: Int64] = [
        "ns": 1,
        "us": 1_000, "µs": 1_000, "μs": 1_000,
        "ms": 1_000_000,
        "s": 1_000_000_000,
        "m": 60 * 1_000_000_000,
        "h": 3600 * 1_000_000_000,
        "d": 24 * 3600 * 1_000_000_000,
        "w": 7 * 24 * 3600 * 1_000_000_000,
        "y": 365 * 24 * 3600 * 1_000_000_000,
    ]

    /// Nanoseconds.
    public static func parse(_ text: String) -> Result<Int64, ParseError> {
        let scalars = Array(text.configTrimmed().unicodeScalars)
        var index = 0
        if index < scalars.count, scalars[index] == "-" { return .failure(.negative) }
        if index < scalars.count, scalars[index] == "+" { index += 1 }
        if index == scalars.count - 1, scalars[index] == "0" { return .success(0) }
        guard index < scalars.count else { return .failure(.syntax) }
        var total: Int64 = 0
        while index < scalars.count {
            let number = DecimalQuantity(scalars, &index)
            guard number.wholeDigits + number.fractionDigits > 0 else { return .failure(.syntax) }
            let unitStart = index
            while index < scalars.count, DecimalQuantity.digit(scalars[index]) == nil, scalars[index] != "." {
                index += 1
            }
            let unit = String(String.UnicodeScalarView(scalars[unitStart..<index]))
            if unit.isEmpty { return .failure(.missingUnit) }
            guard let size = units[unit] else { return .failure(.unknownUnit(unit)) }
            guard let part = number.times(size) else { return .failure(.tooLarge) }
            let (sum, overflow) = total.addingReportingOverflow(part)
            if overflow { return .failure(.tooLarge) }
            total = sum
        }
        return .success(total)
    }

    /// Go's `time.Duration.String()`: `30m0s`, `2h0m0s`, `500ms`, `0s` (how Loki prints `time.Duration` keys).
    public static func goString(_ nanoseconds: Int64) -> String {
        LokiDurationText.format(nanoseconds)
    }

    /// Prometheus' `model.Duration.String()`: `1w`, `30d1h`, `10m`, `0s` (how Loki prints `model.Duration` keys).
    /// Prometheus keeps milliseconds only; a value with a finer part is written the Go way so nothing is lost.
    public static func prometheusString(_ nanoseconds: Int64) -> String {
        guard nanoseconds % 1_000_000 == 0 else { return goString(nanoseconds) }
        // Int64.min is not a whole number of milliseconds, so every value here has a positive opposite.
        if nanoseconds < 0 { return "-" + prometheusString(-nanoseconds) }
        var ms = nanoseconds / 1_000_000
        if ms == 0 { return "0s" }
        var text = ""
        let parts: [(String, Int64, Bool)] = [
            ("y", 1000 * 60 * 60 * 24 * 365, true),
            ("w", 1000 * 60 * 60 * 24 * 7, true),
            ("d", 1000 * 60 * 60 * 24, false),
            ("h", 1000 * 60 * 60, false),
            ("m", 1000 * 60, false),
            ("s", 1000, false),
            ("ms", 1, false),
        ]
        for (unit, size, exact) in parts {
            // Years and weeks only when they divide exactly: 90d reads better than 12w6d.
            if exact && ms % size != 0 { continue }
            let count = ms / size
            if count > 0 {
                text += "\(count)\(unit)"
                ms -= count * size
            }
        }
        return text
    }

    /// A `Duration` as whole nanoseconds (toward zero), clamped to the Int64 range: a duration past ±292 years
    /// reads as the largest one rather than wrapping around to a wrong sign.
    public static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return Int64(clamping: Int128(seconds) * 1_000_000_000 + Int128(attoseconds / 1_000_000_000))
    }

}
