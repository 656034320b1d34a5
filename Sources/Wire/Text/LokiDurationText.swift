/// Durations written as Go's `time.Duration.String()` writes them (`721h0m0s`, `1m30s`, `250ms`), so that
/// messages read like Loki's.
public enum LokiDurationText {
    public static func format(_ nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let negative = nanoseconds < 0
        let ns = nanoseconds.magnitude
        var text: String
        if ns < 1_000 {
            text = "\(ns)ns"
        } else if ns < 1_000_000 {
            text = trimmed(Double(ns) / 1e3) + "µs"
        } else if ns < 1_000_000_000 {
            text = trimmed(Double(ns) / 1e6) + "ms"
        } else {
            let hours = ns / 3_600_000_000_000
            let minutes = ns / 60_000_000_000 % 60
            let seconds = Double(ns % 60_000_000_000) / 1e9
            text = hours > 0 ? "\(hours)h\(minutes)m" : (minutes > 0 ? "\(minutes)m" : "")
            text += trimmed(seconds) + "s"
        }
        return negative ? "-" + text : text
    }

    private static func trimmed(_ value: Double) -> String {
        var text = String(format9: value)
        while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
        return text
    }
}

private extension String {
    /// Up to nine decimals, no exponent.
    init(format9 value: Double) {
        let whole = Int64(value)
        var fraction = Int64(((value - Double(whole)) * 1e9).rounded())
        var digits = ""
        for _ in 0..<9 {
            digits = String(fraction % 10) + digits
            fraction /= 10
        }
        self = "\(whole).\(digits)"
    }
}
