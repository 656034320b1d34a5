/// Go's `time.Parse(time.RFC3339Nano, s)` (which is also what `time.RFC3339` accepts): `YYYY-MM-DDTHH:MM:SS`,
/// an optional fraction of any length (digits past the ninth are ignored), then `Z` or `±HH:MM`. Out-of-range
/// fields fail. Returns nanoseconds since the epoch.
public enum RFC3339Time {
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    public static func parse(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
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
