/// Durations written as Go's `time.Duration.String()` writes them (`721h0m0s`, `1m30s`, `250ms`), so that
/// messages read like Loki's. Integer arithmetic only, as Go's: exact for every Int64, `Int64.min` included.
public enum LokiDurationText {
    public static func format(_ nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let negative = nanoseconds < 0
        let ns = nanoseconds.magnitude
        var text: String
        if ns < 1_000 {
            text = "\(ns)ns"
        } else if ns < 1_000_000 {
            text = decimal(ns, unit: 1_000, digits: 3) + "µs"
        } else if ns < 1_000_000_000 {
            text = decimal(ns, unit: 1_000_000, digits: 6) + "ms"
        } else {
            let hours = ns / 3_600_000_000_000
            let minutes = ns / 60_000_000_000 % 60
            text = hours > 0 ? "\(hours)h\(minutes)m" : (minutes > 0 ? "\(minutes)m" : "")
            text += decimal(ns % 60_000_000_000, unit: 1_000_000_000, digits: 9) + "s"
        }
        return negative ? "-" + text : text
    }

    /// `value / unit` with its fraction (`digits` decimals, trailing zeros dropped): `1500, 1000` is `1.5`.
    private static func decimal(_ value: UInt64, unit: UInt64, digits: Int) -> String {
        let whole = value / unit
        var fraction = value % unit
        guard fraction > 0 else { return "\(whole)" }
        var places = digits
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: places - text.count) + text
    }
}
