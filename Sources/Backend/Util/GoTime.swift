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

    /// `a / b` rounded toward minus infinity, and the remainder in `0..<b` (`b > 0`).
    static func floorDivision(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// Go's `time.Parse(time.RFC3339Nano, text)` as nanoseconds since 1970: `2006-01-02T15:04:05[.frac](Z|±hh:mm)`,
    /// any number of fraction digits (those past nine are ignored, as Go does). Nil for anything else, including
    /// a valid date that nanoseconds since 1970 cannot hold in 64 bits (before 1677-09-21 or after 2262-04-11).
    static func parseRFC3339(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ digits: Int) -> Int64? {
            guard position + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + digits] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            position += digits
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
              let day = number(2), expect(UInt8(ascii: "T")), let hour = number(2), expect(UInt8(ascii: ":")),
              let minute = number(2), expect(UInt8(ascii: ":")), let second = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60,
              second < 60
        else { return nil }
        var fraction: Int64 = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") || bytes[position] == UInt8(ascii: ",") {
            position += 1
            var digits = 0
            while position < bytes.count, bytes[position] >= 0x30 && bytes[position] <= 0x39 {
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[position] - 0x30) }
                digits += 1
                position += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offset: Int64 = 0
        if expect(UInt8(ascii: "Z")) {
            offset = 0
        } else if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            guard let hours = number(2), expect(UInt8(ascii: ":")), let minutes = number(2), hours < 24, minutes < 60
            else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard position == bytes.count else { return nil }
        // Years 0000–9999 keep every intermediate far inside Int64; only the final scaling can overflow.
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        // Borrow a second before 1970 so that the instants just above Int64.min stay representable.
        let (whole, part) = seconds < 0 && fraction > 0 ? (seconds + 1, fraction - 1_000_000_000) : (seconds, fraction)
        return whole.checkedMultiplied(by: 1_000_000_000)?.checkedAdding(part)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
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
