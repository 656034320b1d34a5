import Foundation
import GoCompat

/// Go time layouts (`2006-01-02T15:04:05Z07:00`) for the template functions `date`, `toDate` and
/// `toDateInZone`, in UTC (Loki's servers run in UTC; other zones are read as UTC).
enum GoTimeFormat {
    private static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August",
                                     "September", "October", "November", "December"]
    private static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// `time.Time.Format(layout)` for the instant `nanoseconds` (UTC).
    static func format(_ nanoseconds: Int64, layout: String) -> String {
        let (secondsQuotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        let seconds = remainder < 0 ? secondsQuotient - 1 : secondsQuotient
        let nanos = remainder < 0 ? remainder + 1_000_000_000 : remainder
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = GoTemplate.civil(days)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        let hour = secondOfDay / 3600
        let minute = secondOfDay / 60 % 60
        let second = secondOfDay % 60
        func pad(_ value: Int64, _ width: Int, _ fill: Character = "0") -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: fill, count: width - text.count) + text
        }
        var out = ""
        var rest = Substring(layout)
        let tokens: [(String, () -> String)] = [
            ("January", { monthNames[Int(month) - 1] }),
            ("Jan", { String(monthNames[Int(month) - 1].prefix(3)) }),
            ("Monday", { dayNames[weekday] }),
            ("Mon", { String(dayNames[weekday].prefix(3)) }),
            ("2006", { pad(year, 4) }),
            ("-07:00:00", { "+00:00:00" }), ("-0700", { "+0000" }), ("-07:00", { "+00:00" }), ("-07", { "+00" }),
            ("Z07:00:00", { "Z" }), ("Z0700", { "Z" }), ("Z07:00", { "Z" }), ("Z07", { "Z" }),
            ("MST", { "UTC" }),
            ("01", { pad(month, 2) }), ("02", { pad(day, 2) }), ("_2", { pad(day, 2, " ") }),
            ("002", { pad(Int64(dayOfYear(year, month, day)), 3) }),
            ("06", { pad(year % 100, 2) }), ("15", { pad(hour, 2) }),
            ("03", { pad(hour % 12 == 0 ? 12 : hour % 12, 2) }), ("04", { pad(minute, 2) }), ("05", { pad(second, 2) }),
            ("PM", { hour >= 12 ? "PM" : "AM" }), ("pm", { hour >= 12 ? "pm" : "am" }),
            ("1", { String(month) }), ("2", { String(day) }), ("3", { String(hour % 12 == 0 ? 12 : hour % 12) }),
            ("4", { String(minute) }), ("5", { String(second) }),
        ]
        outer: while !rest.isEmpty {
            // Fractional seconds: `.000` / `,000` (fixed) and `.999` (trailing zeros trimmed).
            if let first = rest.first, first == "." || first == ",", rest.count > 1 {
                let digits = rest.dropFirst().prefix { $0 == "0" || $0 == "9" }
                if !digits.isEmpty, Set(digits).count == 1, !(rest.dropFirst(digits.count + 1).first?.isNumber ?? false) {
                    var fraction = pad(nanos, 9)
                    fraction = String(fraction.prefix(digits.count))
                    if digits.first == "9" {
                        while fraction.hasSuffix("0") { fraction.removeLast() }
                        if !fraction.isEmpty { out += String(first) + fraction }
                    } else {
                        out += String(first) + fraction
                    }
                    rest = rest.dropFirst(digits.count + 1)
                    continue
                }
            }
            for (token, value) in tokens where rest.hasPrefix(token) {
                out += value()
                rest = rest.dropFirst(token.count)
                continue outer
            }
            out.append(rest.removeFirst())
        }
        return out
    }

    private static func dayOfYear(_ year: Int64, _ month: Int64, _ day: Int64) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][Int(month) - 1]
        return before + Int(day) + (leap && month > 2 ? 1 : 0)
    }

    /// `time.ParseInLocation(layout, text, zone)` (UTC for an unknown zone): nanoseconds, nil when `text` does not
    /// fit the layout.
    static func parse(_ text: String, layout: String, zone: String = "UTC") -> Int64? {
        guard case .success(let parsed) = GoTimeLayout(layout).parse(text) else { return nil }
        return parsed.instant(in: TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC"))
    }
}
