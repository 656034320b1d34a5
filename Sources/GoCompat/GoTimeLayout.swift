import Foundation
import Wire

/// A Go reference layout (`2006-01-02T15:04:05.000Z07:00`, `02/Jan/2006:15:04:05 -0700`, ...) compiled once and
/// parsed as Go's `time.Parse` / `time.ParseInLocation` parse: the same elements, the same leniencies (a fraction
/// after the seconds even when the layout has none, `_2` with a leading space, spaces in the layout matching any
/// run of spaces), the same range checks.
package struct GoTimeLayout: Sendable {
    enum Element: Sendable, Equatable {
        case literal([UInt8])
        case longMonth, month, numMonth, zeroMonth
        case longWeekDay, weekDay
        case day, underDay, zeroDay, underYearDay, zeroYearDay
        case hour, hour12, zeroHour12, minute, zeroMinute, second, zeroSecond
        case longYear, year
        case pm, lowerPM
        case zoneName
        /// `-07`, `-0700`, `-07:00`, `-070000`, `-07:00:00`; `iso` for the `Z07...` forms, which also take `Z`.
        case offset(hours: Bool, minutes: Bool, seconds: Bool, colons: Bool, iso: Bool)
        /// `.000` (exactly `digits` digits) or `.999` (optional, any number), with `.` or `,`.
        case fraction(digits: Int, exact: Bool)
    }

    /// What a successful parse read: the wall clock and, when the text had one, its zone.
    package struct Parsed: Sendable, Equatable {
        package var year = 0
        package var month = 1
        package var day = 1
        var hour = 0
        var minute = 0
        var second = 0
        var nanosecond = 0
        /// Seconds east of UTC, when the text had a numeric offset or `Z`.
        var offset: Int?
        /// A zone abbreviation (`MST`), when the text had one.
        var zoneName: String?
    }

    package struct ParseError: Error, Sendable, Equatable {
        var message: String
    }

    let layout: String
    let elements: [Element]
    /// Whether the layout mentions the year (`06` or `2006`); Alloy fills in the current year otherwise.
    package let hasYear: Bool

    package init(_ layout: String) {
        self.layout = layout
        elements = Self.compile(Array(layout.utf8))
        hasYear = layout.contains("06")
    }

    // MARK: Compiling

    private static func compile(_ bytes: [UInt8]) -> [Element] {
        var elements: [Element] = []
        var literal: [UInt8] = []
        var index = 0
        func flush() {
            if !literal.isEmpty {
                elements.append(.literal(literal))
                literal = []
            }
        }
        while index < bytes.count {
            if let (element, length) = standard(bytes, at: index) {
                flush()
                elements.append(element)
                index += length
            } else {
                literal.append(bytes[index])
                index += 1
            }
        }
        flush()
        return elements
    }

    private static func has(_ bytes: [UInt8], _ index: Int, _ word: String) -> Bool {
        let word = Array(word.utf8)
        guard bytes.count - index >= word.count else { return false }
        return bytes[index..<index + word.count].elementsEqual(word)
    }

    /// Go's `nextStdChunk`, one position at a time.
    private static func standard(_ b: [UInt8], at i: Int) -> (Element, Int)? {
        switch b[i] {
        case UInt8(ascii: "J"):
            if has(b, i, "January") { return (.longMonth, 7) }
            if has(b, i, "Jan") { return (.month, 3) }
        case UInt8(ascii: "M"):
            if has(b, i, "Monday") { return (.longWeekDay, 6) }
            if has(b, i, "Mon") { return (.weekDay, 3) }
            if has(b, i, "MST") { return (.zoneName, 3) }
        case UInt8(ascii: "0"):
            if has(b, i, "002") { return (.zeroYearDay, 3) }
            if i + 1 < b.count, (UInt8(ascii: "1")...UInt8(ascii: "6")).contains(b[i + 1]) {
                let elements: [Element] = [.zeroMonth, .zeroDay, .zeroHour12, .zeroMinute, .zeroSecond, .year]
                return (elements[Int(b[i + 1] - UInt8(ascii: "1"))], 2)
            }
        case UInt8(ascii: "1"):
            if has(b, i, "15") { return (.hour, 2) }
            return (.numMonth, 1)
        case UInt8(ascii: "2"):
            if has(b, i, "2006") { return (.longYear, 4) }
            return (.day, 1)
        case UInt8(ascii: "_"):
            if has(b, i, "_2") {
                // `_2006` is a literal `_` and the year.
                if has(b, i, "_2006") { return nil }
                return (.underDay, 2)
            }
            if has(b, i, "__2") { return (.underYearDay, 3) }
        case UInt8(ascii: "3"): return (.hour12, 1)
        case UInt8(ascii: "4"): return (.minute, 1)
        case UInt8(ascii: "5"): return (.second, 1)
        case UInt8(ascii: "P"):
            if has(b, i, "PM") { return (.pm, 2) }
        case UInt8(ascii: "p"):
            if has(b, i, "pm") { return (.lowerPM, 2) }
        case UInt8(ascii: "-"), UInt8(ascii: "Z"):
            let iso = b[i] == UInt8(ascii: "Z")
            let forms: [(String, Element)] = [
                ("07:00:00", .offset(hours: true, minutes: true, seconds: true, colons: true, iso: iso)),
                ("070000", .offset(hours: true, minutes: true, seconds: true, colons: false, iso: iso)),
                ("07:00", .offset(hours: true, minutes: true, seconds: false, colons: true, iso: iso)),
                ("0700", .offset(hours: true, minutes: true, seconds: false, colons: false, iso: iso)),
                ("07", .offset(hours: true, minutes: false, seconds: false, colons: false, iso: iso)),
            ]
            for (form, element) in forms where has(b, i + 1, form) { return (element, form.utf8.count + 1) }
        case UInt8(ascii: "."), UInt8(ascii: ","):
            if i + 1 < b.count, b[i + 1] == UInt8(ascii: "0") || b[i + 1] == UInt8(ascii: "9") {
                let digit = b[i + 1]
                var end = i + 1
                while end < b.count, b[end] == digit { end += 1 }
                // Only when no other digit follows the run.
                if end == b.count || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[end]) {
                    return (.fraction(digits: end - i - 1, exact: digit == UInt8(ascii: "0")), end - i)
                }
            }
        default:
            break
        }
        return nil
    }

    // MARK: Parsing

    private static let longMonths = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]
    private static let longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    package func parse(_ text: String) -> Result<Parsed, ParseError> {
        let v = Array(text.utf8)
        var p = 0
        var parsed = Parsed()
        var month = -1
        var day = -1
        var yearDay = -1
        var pmSet = false
        var amSet = false
        func fail(_ message: String) -> Result<Parsed, ParseError> {
            .failure(ParseError(message: "parsing time \(GoQuote.quote(text)) as \(GoQuote.quote(layout)): \(message)"))
        }
        func isDigit(_ at: Int) -> Bool { at < v.count && v[at] >= 48 && v[at] <= 57 }
        func number(fixed: Bool) -> Int? {
            guard isDigit(p) else { return nil }
            if !isDigit(p + 1) {
                if fixed { return nil }
                p += 1
                return Int(v[p - 1] - 48)
            }
            let value = Int(v[p] - 48) * 10 + Int(v[p + 1] - 48)
            p += 2
            return value
        }
        func digits(_ count: Int) -> Int? {
            guard v.count - p >= count else { return nil }
            var value = 0
            for offset in 0..<count {
                guard isDigit(p + offset) else { return nil }
                value = value * 10 + Int(v[p + offset] - 48)
            }
            p += count
            return value
        }
        func name(_ names: [String], short: Bool) -> Int? {
            for (index, full) in names.enumerated() {
                let word = Array((short ? String(full.prefix(3)) : full).utf8)
                guard v.count - p >= word.count else { continue }
                if zip(v[p..<p + word.count], word).allSatisfy({ Self.lower($0) == Self.lower($1) }) {
                    p += word.count
                    return index
                }
            }
            return nil
        }
        func nanoseconds(_ count: Int) -> Int {
            // `count` digits after the separator at `p`; past the ninth they are ignored.
            var value = 0
            var scale = 100_000_000
            for offset in 1...count {
                if offset <= 9 { value += Int(v[p + offset] - 48) * scale }
                scale /= 10
            }
            p += count + 1
            return value
        }
        for (elementIndex, element) in elements.enumerated() {
            switch element {
            case .literal(let literal):
                var index = 0
                while index < literal.count {
                    if literal[index] == UInt8(ascii: " ") {
                        if p < v.count, v[p] != UInt8(ascii: " ") { return fail("cannot parse \(rest(v, p)) as \(GoQuote.quote(String(decoding: literal[index...], as: UTF8.self)))") }
                        while index < literal.count, literal[index] == UInt8(ascii: " ") { index += 1 }
                        while p < v.count, v[p] == UInt8(ascii: " ") { p += 1 }
                        continue
                    }
                    guard p < v.count, v[p] == literal[index] else {
                        return fail("cannot parse \(rest(v, p)) as \(GoQuote.quote(String(decoding: literal[index...], as: UTF8.self)))")
                    }
                    p += 1
                    index += 1
                }
            case .longYear:
                guard let year = digits(4) else { return fail("cannot parse \(rest(v, p)) as \"2006\"") }
                parsed.year = year
            case .year:
                guard let year = digits(2) else { return fail("cannot parse \(rest(v, p)) as \"06\"") }
                parsed.year = year >= 69 ? 1900 + year : 2000 + year
            case .longMonth, .month:
                guard let index = name(Self.longMonths, short: element == .month) else { return fail("month out of range") }
                month = index + 1
            case .numMonth, .zeroMonth:
                guard let value = number(fixed: element == .zeroMonth), value >= 1, value <= 12 else { return fail("month out of range") }
                month = value
            case .longWeekDay, .weekDay:
                guard name(Self.longDays, short: element == .weekDay) != nil else { return fail("cannot parse \(rest(v, p)) as weekday") }
            case .day, .underDay, .zeroDay:
                if element == .underDay, p < v.count, v[p] == UInt8(ascii: " ") { p += 1 }
                guard let value = number(fixed: element == .zeroDay), value <= 31 else { return fail("day out of range") }
                day = value
            case .underYearDay, .zeroYearDay:
                if element == .underYearDay {
                    for _ in 0..<2 where p < v.count && v[p] == UInt8(ascii: " ") { p += 1 }
                }
                guard let value = digits(element == .zeroYearDay ? 3 : min(3, leadingDigits(v, p))), value >= 1, value <= 366
                else { return fail("day-of-year out of range") }
                yearDay = value
            case .hour:
                guard let value = number(fixed: false), value < 24 else { return fail("hour out of range") }
                parsed.hour = value
            case .hour12, .zeroHour12:
                guard let value = number(fixed: element == .zeroHour12), value <= 12 else { return fail("hour out of range") }
                parsed.hour = value
            case .minute, .zeroMinute:
                guard let value = number(fixed: element == .zeroMinute), value < 60 else { return fail("minute out of range") }
                parsed.minute = value
            case .second, .zeroSecond:
                guard let value = number(fixed: element == .zeroSecond), value < 60 else { return fail("second out of range") }
                parsed.second = value
                // A fraction the layout does not mention is still read.
                let nextIsFraction = elementIndex + 1 < elements.count
                    && { if case .fraction = elements[elementIndex + 1] { true } else { false } }()
                if !nextIsFraction, p + 1 < v.count, v[p] == UInt8(ascii: ".") || v[p] == UInt8(ascii: ","), isDigit(p + 1) {
                    parsed.nanosecond = nanoseconds(leadingDigits(v, p + 1))
                }
            case .pm, .lowerPM:
                guard v.count - p >= 2 else { return fail("cannot parse \(rest(v, p)) as \"PM\"") }
                let word = String(decoding: v[p..<p + 2], as: UTF8.self)
                switch (element, word) {
                case (.pm, "PM"), (.lowerPM, "pm"): pmSet = true
                case (.pm, "AM"), (.lowerPM, "am"): amSet = true
                default: return fail("cannot parse \(rest(v, p)) as \"PM\"")
                }
                p += 2
            case .offset(_, let minutes, let seconds, let colons, let iso):
                if iso, p < v.count, v[p] == UInt8(ascii: "Z") {
                    p += 1
                    parsed.offset = 0
                    continue
                }
                guard p < v.count, v[p] == UInt8(ascii: "+") || v[p] == UInt8(ascii: "-") else {
                    return fail("cannot parse \(rest(v, p)) as time zone offset")
                }
                let negative = v[p] == UInt8(ascii: "-")
                p += 1
                guard let hh = digits(2) else { return fail("cannot parse time zone offset") }
                var mm = 0
                var ss = 0
                if minutes {
                    if colons { guard p < v.count, v[p] == UInt8(ascii: ":") else { return fail("cannot parse time zone offset") }; p += 1 }
                    guard let value = digits(2) else { return fail("cannot parse time zone offset") }
                    mm = value
                }
                if seconds {
                    if colons { guard p < v.count, v[p] == UInt8(ascii: ":") else { return fail("cannot parse time zone offset") }; p += 1 }
                    guard let value = digits(2) else { return fail("cannot parse time zone offset") }
                    ss = value
                }
                guard hh <= 24, mm <= 60, ss <= 60 else { return fail("time zone offset out of range") }
                let total = hh * 3600 + mm * 60 + ss
                parsed.offset = negative ? -total : total
            case .zoneName:
                if v.count - p >= 3, v[p..<p + 3].elementsEqual("UTC".utf8) {
                    p += 3
                    parsed.offset = 0
                    continue
                }
                var end = p
                while end < v.count, end - p < 5, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(v[end]) { end += 1 }
                guard end - p >= 3 else { return fail("cannot parse \(rest(v, p)) as \"MST\"") }
                parsed.zoneName = String(decoding: v[p..<end], as: UTF8.self)
                p = end
            case .fraction(let count, let exact):
                if exact {
                    guard v.count - p > count, v[p] == UInt8(ascii: ".") || v[p] == UInt8(ascii: ","),
                          (1...count).allSatisfy({ isDigit(p + $0) })
                    else { return fail("cannot parse \(rest(v, p)) as fractional second") }
                    parsed.nanosecond = nanoseconds(count)
                } else if p + 1 < v.count, v[p] == UInt8(ascii: ".") || v[p] == UInt8(ascii: ","), isDigit(p + 1) {
                    parsed.nanosecond = nanoseconds(leadingDigits(v, p + 1))
                }
            }
        }
        guard p == v.count else { return fail("extra text: \(GoQuote.quote(String(decoding: v[p...], as: UTF8.self)))") }
        if pmSet, parsed.hour < 12 { parsed.hour += 12 } else if amSet, parsed.hour == 12 { parsed.hour = 0 }
        if yearDay >= 0 {
            var remaining = yearDay
            var m = 1
            while m <= 12, remaining > Civil.daysIn(month: m, year: parsed.year) {
                remaining -= Civil.daysIn(month: m, year: parsed.year)
                m += 1
            }
            guard m <= 12, month < 0 || month == m, day < 0 || day == remaining else { return fail("day-of-year does not match") }
            month = m
            day = remaining
        }
        parsed.month = month < 0 ? 1 : month
        parsed.day = day < 0 ? 1 : day
        guard parsed.day >= 1, parsed.day <= Civil.daysIn(month: parsed.month, year: parsed.year) else {
            return fail("day out of range")
        }
        return .success(parsed)
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte + 32 : byte
    }

    private func leadingDigits(_ v: [UInt8], _ start: Int) -> Int {
        var end = start
        while end < v.count, v[end] >= 48, v[end] <= 57 { end += 1 }
        return end - start
    }

    private func rest(_ v: [UInt8], _ p: Int) -> String {
        GoQuote.quote(String(decoding: v[min(p, v.count)...], as: UTF8.self))
    }
}

extension GoTimeLayout.Parsed {
    /// The instant, in nanoseconds since the epoch: with the text's offset when it had one, else in `location`
    /// (a zone abbreviation is looked up there), else in UTC (Go's `time.Parse`).
    package func instant(in location: TimeZone?) -> Int64? {
        let wall = Civil.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        var seconds = wall
        if let offset {
            seconds = wall - Int64(offset)
        } else if let location {
            if let zoneName {
                // Go looks the abbreviation up in the location; an unknown one means offset zero.
                var found = false
                for candidate in [wall - Int64(location.secondsFromGMT(for: Self.date(wall)))] {
                    if location.abbreviation(for: Self.date(candidate)) == zoneName {
                        seconds = candidate
                        found = true
                    }
                }
                if !found { seconds = wall - Self.gmtOffset(zoneName) }
            } else {
                let first = location.secondsFromGMT(for: Self.date(wall))
                var utc = wall - Int64(first)
                let second = location.secondsFromGMT(for: Self.date(utc))
                if second != first { utc = wall - Int64(second) }
                seconds = utc
            }
        } else if let zoneName {
            seconds = wall - Self.gmtOffset(zoneName)
        }
        // In 128 bits, so that both ends of the Int64 range are exact.
        return Int64(exactly: Int128(seconds) * 1_000_000_000 + Int128(nanosecond))
    }

    private static func date(_ seconds: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Go fabricates a zone with offset zero for an unknown abbreviation.
    private static func gmtOffset(_ name: String) -> Int64 { 0 }
}
