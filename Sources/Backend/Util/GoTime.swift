import Wire

/// Formats timestamps the way Go's `time.Time.String()` does in UTC, so error messages read like Loki's:
/// `2024-01-02 03:04:05.123456789 +0000 UTC`. Every Int64 formats without trapping.

enum GoTime {
    static func format(nanoseconds ns: Int64) -> String {
        let (date, time) = split(ns)
        return date + " " + time + " +0000 UTC"
    }

    /// RFC 3339 with nanoseconds, as Loki prints `time.Time` in JSON.
    static func rfc3339(nanoseconds ns: Int64) -> String {
        let (date, time) = split(ns)
        return date + "T" + time + "Z"
    }

    /// `YYYY-MM-DD` and `hh:mm:ss[.fraction]` (trailing zeros of the fraction dropped, as Go does).
    private static func split(_ ns: Int64) -> (String, String) {
        // Floor division by remainder, never by `ns - 999_999_999`: that overflows near Int64.min.
        let (seconds, fraction) = floorDivision(ns, 1_000_000_000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = Civil.date(days: days)
        var time = "\(pad(Int(secondOfDay / 3600))):\(pad(Int(secondOfDay / 60 % 60))):\(pad(Int(secondOfDay % 60)))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            time += "." + digits
        }
        return ("\(year)-\(pad(month))-\(pad(day))", time)
    }

    /// `a / b` rounded toward minus infinity, and the remainder in `0..<b` (`b > 0`).
    static func floorDivision(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    private static func pad(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}
