/// Go's `time.Parse(time.RFC3339Nano, s)` (which is also what `time.RFC3339` accepts): `YYYY-MM-DDTHH:MM:SS`,
/// an optional fraction of any length (digits past the ninth are ignored), then `Z` or `±HH:MM`. Out-of-range
/// fields fail. Returns nanoseconds since the epoch.
enum RFC3339Time {
    static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    static func parse(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard s.count >= 20 else { return nil }
        guard let year = digits(s, 0, 4), s[4] == UInt8(ascii: "-"),
              let month = digits(s, 5, 2), s[7] == UInt8(ascii: "-"),
              let day = digits(s, 8, 2), s[10] == UInt8(ascii: "T"),
              let hour = digits(s, 11, 2), s[13] == UInt8(ascii: ":"),
              let minute = digits(s, 14, 2), s[16] == UInt8(ascii: ":"),
              let second = digits(s, 17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Civil.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var position = 19
        var nanos: Int64 = 0
        if s[position] == UInt8(ascii: ".") || s[position] == UInt8(ascii: ",") {
            position += 1
            var scale: Int64 = 100_000_000
            let start = position
            while position < s.count, s[position] >= UInt8(ascii: "0"), s[position] <= UInt8(ascii: "9") {
                nanos += Int64(s[position] - UInt8(ascii: "0")) * scale
                scale /= 10
                position += 1
            }
            guard position > start else { return nil }
        }
        guard position < s.count else { return nil }
        var offset = 0
        if s[position] == UInt8(ascii: "Z") {
            position += 1
        } else {
            guard s.count - position == 6, s[position] == UInt8(ascii: "+") || s[position] == UInt8(ascii: "-"),
                  let hours = digits(s, position + 1, 2), s[position + 3] == UInt8(ascii: ":"),
                  let minutes = digits(s, position + 4, 2), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 60 + minutes) * 60
            if s[position] == UInt8(ascii: "-") { offset = -offset }
            position += 6
        }
        guard position == s.count else { return nil }
        let seconds = Civil.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
            - Int64(offset)
        // In 128 bits: at either end of the range the whole seconds overflow where the sum still fits
        // (1677-09-21T00:12:43.145224192Z is Int64.min), or the other way round.
        return Int64(exactly: Int128(seconds) * 1_000_000_000 + Int128(nanos))
    }

    private static func digits(_ s: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<start + count {
            let byte = s[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's `days_from_civil`), as Go's `time` package counts.
enum Civil {
    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func seconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64 {
        days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The civil date of a day count since 1970-01-01.
    static func date(days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
