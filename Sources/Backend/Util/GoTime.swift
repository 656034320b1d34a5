/// Formats timestamps the way Go's `time.Time.String()` does in UTC, so error messages read like Loki's:
/// `2024-01-02 03:04:05.123456789 +0000 UTC`.
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
        let seconds = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        let fraction = ns - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        var time = "\(pad(secondOfDay / 3600)):\(pad(secondOfDay / 60 % 60)):\(pad(secondOfDay % 60))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            time += "." + digits
        }
        return ("\(year)-\(pad(month))-\(pad(day))", time)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// A proleptic Gregorian date to days since 1970-01-01.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func pad(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}
