import Foundation
import Testing
import TestSupport
import Wire
@testable import Pipeline

/// Times and sizes read from the wire, files and the configuration over the whole range of their numbers: the
/// conversions to signed nanoseconds never trap, and a value out of range is refused (nil) or replaced by the
/// documented fallback, never wrapped into a wrong time.
@Suite struct TimeRangePropertyTests {
    /// UInt64 values at the edges, one either side, and a seeded spread over the whole range.
    static let unsignedValues: [UInt64] = {
        var values: [UInt64] = [0, 1, 2, UInt64(Int64.max) - 1, UInt64(Int64.max), UInt64(Int64.max) + 1,
                                UInt64(Int64.max) + 2, UInt64.max - 1, UInt64.max, 1_700_000_000_000_000_000]
        var rng = SeededRandom(seed: 1 << 63)
        for _ in 0..<5_000 { values.append(rng.next() >> UInt64(rng.int(0...63))) }
        return values
    }()

    @Test func otlpTimesFitOrAreUnset() {
        for value in Self.unsignedValues {
            let converted = UnixNanos.fromOTLP(value)
            if value == 0 || value > UInt64(Int64.max) {
                #expect(converted == nil, "\(value)")
            } else {
                #expect(converted == Int64(value), "\(value)")
            }
        }
    }

    @Test func journalMicrosecondsFitOrAreRefused() {
        for value in Self.unsignedValues {
            let converted = UnixNanos.fromMicroseconds(value)
            let exact = Int128(value) * 1_000
            if exact <= Int128(Int64.max) {
                #expect(converted.map { Int128($0) } == exact, "\(value)")
            } else {
                #expect(converted == nil, "\(value)")
            }
        }
    }

    /// A record time of 2^63 ns or more is treated as unset: the observed time, else now, is used, and the entry
    /// is kept (never a negative time that Loki would refuse as too old).
    @Test func outOfRangeRecordTimesFallBackLikeAZeroTime() throws {
        for time in Self.unsignedValues {
            for observed in [UInt64(0), 1_600_000_000_000_000_000, UInt64.max, UInt64(Int64.max) + 1, UInt64(Int64.max)] {
                let record = OTLPLogRecord(timeUnixNano: time, observedTimeUnixNano: observed, body: .string("x"))
                let converted = try LokiTest.convert(record).get()
                let expected: Int64 = UnixNanos.fromOTLP(time) ?? UnixNanos.fromOTLP(observed) ?? LokiTest.now
                #expect(converted.timestamp == expected, "time \(time), observed \(observed)")
                #expect(converted.timestamp >= 0)
            }
        }
    }

    @Test func rfc3339TimesAtTheEdgesOfInt64() {
        #expect(RFC3339Time.parse("2262-04-11T23:47:16.854775807Z") == Int64.max)
        #expect(RFC3339Time.parse("2262-04-11T23:47:16.854775808Z") == nil)
        #expect(RFC3339Time.parse("2262-04-11T23:47:16.999999999Z") == nil)
        #expect(RFC3339Time.parse("2262-04-11T23:47:17Z") == nil)
        #expect(RFC3339Time.parse("1677-09-21T00:12:43.145224192Z") == Int64.min)
        #expect(RFC3339Time.parse("1677-09-21T00:12:43.145224191Z") == nil)
        #expect(RFC3339Time.parse("9999-12-31T23:59:59.999999999Z") == nil)
        #expect(RFC3339Time.parse("0000-01-01T00:00:00Z") == nil)
        #expect(RFC3339Time.parse("2262-04-12T01:47:16.854775807+02:00") == Int64.max)
        #expect(RFC3339Time.parse("2262-04-11T23:47:16.854775807-00:01") == nil)
        // Every second of every year: parses to the same instant as Foundation's calendar, or is out of range.
        var rng = SeededRandom(seed: 3339)
        for _ in 0..<3_000 {
            let year = rng.int(0...9999), month = rng.int(1...12), day = rng.int(1...28)
            let (hour, minute, second) = (rng.int(0...23), rng.int(0...59), rng.int(0...59))
            let fraction = rng.int(0...999_999_999)
            let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", year, month, day, hour, minute, second, fraction)
            let seconds = Int128(Self.daysFromCivil(year, month, day)) * 86_400 + Int128(hour * 3600 + minute * 60 + second)
            let exact = seconds * 1_000_000_000 + Int128(fraction)
            let parsed = RFC3339Time.parse(text)
            if exact >= Int128(Int64.min) && exact <= Int128(Int64.max) {
                #expect(parsed.map { Int128($0) } == exact, "\(text)")
            } else {
                #expect(parsed == nil, "\(text)")
            }
        }
    }

    /// `stage.timestamp` with a Go layout: both ends of Int64 are exact, one nanosecond past either is refused.
    @Test func goLayoutTimesAtTheEdgesOfInt64() {
        let format = TimestampStage.Format("2006-01-02 15:04:05.000000000 -0700")
        let parse = { (text: String) in format.parse(text, location: nil, now: 1_700_000_000_000_000_000) }
        #expect(parse("2262-04-11 23:47:16.854775807 +0000") == Int64.max)
        #expect(parse("2262-04-11 23:47:16.854775808 +0000") == nil)
        #expect(parse("1677-09-21 00:12:43.145224192 +0000") == Int64.min)
        #expect(parse("1677-09-21 00:12:43.145224191 +0000") == nil)
        #expect(parse("9999-12-31 23:59:59.999999999 +0000") == nil)
        #expect(parse("0000-01-01 00:00:00.000000000 -2359") == nil)
        #expect(parse("2024-02-29 12:00:00.500000000 +0100") == 1_709_204_400_500_000_000)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm), as a reference independent of the parser's.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        return era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
    }

    /// `stage.timestamp` with the Unix formats: a number past Int64 nanoseconds does not parse (the stage then
    /// keeps the entry's time and counts the failure), it never wraps.
    @Test func unixTimestampFormatsNeverWrap() {
        let now: Int64 = 1_700_000_000_000_000_000
        let parse = { (format: TimestampStage.Format, text: String) in format.parse(text, location: nil, now: now) }
        var texts = ["9223372036", "9223372037", "9223372036.854775807", "9223372036.854775808", "-9223372036",
                     "-9223372037", "0", "-0", "1.5", "0.000000001"]
        for value in Self.unsignedValues { texts.append(String(value)) }
        for value in [Int64.min, Int64.min + 1, Int64.max, Int64.max - 1] { texts.append(String(value)) }
        texts += TimeRangeEdges.doubles
        let formats: [(TimestampStage.Format, Int128)] = [(.unix, 1_000_000_000), (.unixMs, 1_000_000), (.unixUs, 1_000), (.unixNs, 1)]
        for text in texts {
            for (format, factor) in formats {
                let parsed = parse(format, text)
                guard !text.contains("."), let whole = Int128(text), Int64(exactly: whole) != nil else { continue }
                let exact = whole * factor
                if exact >= Int128(Int64.min) && exact <= Int128(Int64.max) {
                    #expect(parsed.map { Int128($0) } == exact, "\(text) as \(format)")
                } else {
                    #expect(parsed == nil, "\(text) as \(format)")
                }
            }
        }
        #expect(parse(.unix, "9223372036.854775807") == Int64.max)
        #expect(parse(.unix, "9223372036.854775808") == nil)
        #expect(parse(.unix, "1.5") == 1_500_000_000)
    }

    /// Sizes and durations in the configuration: out of range is a configuration error naming the attribute,
    /// never a trap or a wrapped value.
    @Test func configSizesAndDurationsAtTheEdges() {
        for text in TimeRangeEdges.integers + TimeRangeEdges.doubles {
            for unit in ["", "s", "ms", "ns", "h", "y", "KiB", "EiB"] {
                let config = """
                    loki.source.api "x" {
                      forward_to = [out]
                      graceful_shutdown_timeout = "\(text)\(unit)"
                      max_send_message_size = "\(text)\(unit)"
                    }
                    """
                let problem = LokiSourceAPITests.problem(config)
                if let problem {
                    #expect(problem.contains("graceful_shutdown_timeout") || problem.contains("max_send_message_size")
                        || problem.contains("max_in_flight_body_size"), "\(problem)")
                }
            }
        }
        // A number given for a size: whole and in range, or an error.
        for text in TimeRangeEdges.integers + ["1.5", "1e300", "-0"] {
            let problem = LokiSourceAPITests.problem("loki.source.api \"x\" {\n forward_to = [out]\n max_send_message_size = \(text)\n}")
            if let value = Int(text), value > 0, value <= Int.max / 4 {
                #expect(problem == nil, "\(text): \(problem ?? "")")
            } else if Int(text) == nil || Int(text)! <= 0 {
                #expect(problem != nil, "\(text) was accepted")
            }
        }
    }

    @Test func retryAfterValuesNeverTrap() {
        var inputs = TimeRangeEdges.integers + TimeRangeEdges.doubles
        inputs += ["Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 0000 00:00:00 GMT", " 120 ", String(repeating: "9", count: 400)]
        for text in inputs {
            for now in [Int64.min, -1, 0, 1_700_000_000, Int64.max] {
                if let wait = RetryAfter.parse(text, nowSeconds: now) {
                    #expect(wait >= .zero, "\(text) at \(now)")
                }
            }
        }
    }
}

/// Texts of numbers at the edges, shared by the property tests.
enum TimeRangeEdges {
    static let integers: [String] = {
        var values: [String] = []
        for base in [Int64.max, Int64.min, 0, 1] {
            for delta: Int64 in [-1, 0, 1] {
                let (value, overflow) = base.addingReportingOverflow(delta)
                if !overflow { values.append(String(value)) }
            }
        }
        return values + [String(UInt64.max), "9223372036854775808", "18446744073709551616"]
    }()

    static let doubles: [String] = [
        Double.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
        .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, Double(Int64.max).nextUp,
    ].map { "\($0)" }
}
