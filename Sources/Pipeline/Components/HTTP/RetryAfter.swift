/// Reads an HTTP `Retry-After` header (RFC 9110 §10.2.3): delay seconds (`120`) or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`). Anything else is ignored, as a client should; never traps.
enum RetryAfter {
    /// The wait the server asked for, or nil when the value is not one of the two forms.
    /// - Parameter nowSeconds: the wall clock in seconds since the Unix epoch, for the date form.
    static func parse(_ value: String, nowSeconds: Int64) -> Duration? {
        let all = Array(value.utf8)
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = all.firstIndex(where: { !isSpace($0) }), let last = all.lastIndex(where: { !isSpace($0) })
        else { return nil }
        let bytes = Array(all[first...last])
        if bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // More than ten digits is centuries: clamp rather than overflow.
            if bytes.count > 10 { return .seconds(9_999_999_999) }
            return .seconds(bytes.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) })
        }
        guard let date = imfFixdate(bytes) else { return nil }
        // In 128 bits: a date and a clock at opposite ends of the range cannot overflow.
        return .seconds(Int64(clamping: Swift.max(0, Int128(date) - Int128(nowSeconds))))
    }

    private static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map { Array($0.utf8) }
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .map { Array($0.utf8) }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (29 bytes) as seconds since the epoch.
    static func imfFixdate(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count == 29, days.contains(Array(bytes[0..<3])), bytes[3] == UInt8(ascii: ","),
            bytes[4] == 0x20, bytes[7] == 0x20, bytes[11] == 0x20, bytes[16] == 0x20, bytes[19] == UInt8(ascii: ":"),
            bytes[22] == UInt8(ascii: ":"), bytes[25] == 0x20, Array(bytes[26..<29]) == Array("GMT".utf8),
            let month = months.firstIndex(of: Array(bytes[8..<11])),
            let day = number(bytes[5..<7]), let year = number(bytes[12..<16]), let hour = number(bytes[17..<19]),
            let minute = number(bytes[20..<22]), let second = number(bytes[23..<25]),
            (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: Int64(month + 1), day: day)
        return days * 86_400 + hour * 3_600 + minute * 60 + second
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for byte in digits {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
