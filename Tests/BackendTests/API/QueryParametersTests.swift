import Foundation
import Testing
import TestSupport
import Wire
@testable import Backend

@Suite struct QueryParametersTests {
    @Test(arguments: [
        ("1704067200", Int64(1_704_067_200_000_000_000)),
        ("1704067200000000000", Int64(1_704_067_200_000_000_000)),
        ("1704067200.5", Int64(1_704_067_200_500_000_000)),
        ("2024-01-01T00:00:00Z", Int64(1_704_067_200_000_000_000)),
        ("2024-01-01T00:00:00.123456789Z", Int64(1_704_067_200_123_456_789)),
        ("2024-01-01T01:00:00+01:00", Int64(1_704_067_200_000_000_000)),
    ])
    func times(text: String, expected: Int64) {
        #expect(QueryParameters.parseTime(text) == expected)
    }

    @Test func badTimesAreNil() {
        for text in ["", "yesterday", "12:00", "2024-13-01T00:00:00Z"] {
            #expect(QueryParameters.parseTime(text) == nil, "\(text)")
        }
    }

    @Test func durations() {
        #expect(QueryParameters.parseDuration("1h30m") == 5_400_000_000_000)
        #expect(QueryParameters.parseDuration("7d") == Int64(604_800_000_000_000))
        #expect(QueryParameters.parseDuration("250ms") == 250_000_000)
        #expect(QueryParameters.parseDuration("90") == 90_000_000_000)
        #expect(QueryParameters.parseDuration("1h30") == nil)
        #expect(QueryParameters.parseDuration("h") == nil)
        #expect(QueryParameters.parseDuration("") == nil)
    }

    @Test func formAndQueryAreMerged() {
        let params = QueryParameters(query: "query=%7Bjob%3D%22x%22%7D&match[]=a", formBody: Array("limit=5&match[]=b+c".utf8))
        #expect(params["query"] == #"{job="x"}"#)
        #expect(params["limit"] == "5")
        #expect(params.all("match[]") == ["a", "b c"])
    }

    // MARK: Numbers from outside never trap

    static let hostileTimes = [
        "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999", "9999999999", "-999999999", "1e308", "1.8e308", "-1.8e308", "10000000000.5",
        "9223372036.854775807", "9223372037.0", "-9223372037.5", "nan.", "NaN", "inf", ".inf", "-Infinity", "0.0",
        "-0.0", "4.9e-324", "2.2250738585072014e-308", "0x1p63", "0x1.0p62.", "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z", "1677-09-21T00:12:43.145224192Z", "1677-09-21T00:12:43.145224191Z",
        "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:16.854775808Z", "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567891234Z", "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00+99:00", "2024-01-01T00:00:00", "0000-00-00T00:00:00Z",
    ]

    @Test(arguments: hostileTimes)
    func hostileTimesAreNilOrInRange(text: String) {
        // Reaching the end without trapping is the property; the values that do parse must be the right ones.
        let parsed = QueryParameters.parseTime(text)
        if let integer = Int64(text), text.utf8.count > 10 { #expect(parsed == integer) }
        if text.hasPrefix("2262-04-11T23:47:16.854775807") { #expect(parsed == .max) }
        if text.hasPrefix("1677-09-21T00:12:43.145224192") { #expect(parsed == .min) }
        for outOfRange in ["9999999999", "1.8e308", "10000000000.5", "0001-01-01T00:00:00Z", "nan.",
                           "9999-12-31T23:59:59.999999999Z", "2262-04-11T23:47:16.854775808Z",
                           "1677-09-21T00:12:43.145224191Z", "2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z"]
        where text == outOfRange {
            #expect(parsed == nil, "\(text)")
        }
        #expect(QueryParameters.parseTime("2024-01-01T00:00:00.1234567891234Z") == 1_704_067_200_123_456_789)
    }

    @Test func everyInt64AndDoubleAsAParameter() {
        var random = SeededRandom(seed: 99)
        var integers: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max, 9_999_999_999, -999_999_999]
        for _ in 0..<2_000 { integers.append(Int64(bitPattern: random.next()) >> Int64(random.int(0...63))) }
        for value in integers {
            let text = String(value)
            let parsed = QueryParameters.parseTime(text)
            if text.utf8.count > 10 { #expect(parsed == value) }
            else { #expect(parsed == value.checkedMultiplied(by: 1_000_000_000)) }
            _ = QueryParameters.parseDuration(text)
            _ = QueryParameters.parseDuration(text + "y")
            _ = QueryParameters.parseDuration(text + "ns")
            _ = QueryParameters.parseDuration(text + "d" + text + "h")
        }
        var doubles = CheckedNumbersSamples.doubles
        for _ in 0..<5_000 { doubles.append(Double(bitPattern: random.next())) }
        for value in doubles {
            for text in [String(value), String(format: "%.3f", value), "\(value)."] {
                if let parsed = QueryParameters.parseTime(text), value.isFinite {
                    #expect(abs(Double(parsed) / 1e9 - value.rounded(.towardZero)) <= 1 + abs(value) * 1e-15)
                }
                if let parsed = QueryParameters.parseDuration(text) {
                    #expect(value.isFinite && abs(value * 1e9) < 9.3e18, "\(text) -> \(parsed)")
                }
            }
        }
        #expect(QueryParameters.parseDuration("10000y") == nil)
        #expect(QueryParameters.parseDuration("292y") == Int64(292) * 365 * 86_400 * 1_000_000_000)
        #expect(QueryParameters.parseDuration("NaN") == nil)
        #expect(QueryParameters.parseDuration("Inf") == nil)
        #expect(QueryParameters.parseDuration("99999999999999999999s") == nil)
        #expect(QueryParameters.parseDuration("1e300") == nil)
    }
}

enum CheckedNumbersSamples {
    static let doubles: [Double] = [
        .nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 9_223_372_036.854775807, 9_223_372_037, -9_223_372_037,
        9_223_372_036_854_775_807.0, -9_223_372_036_854_775_808.0, 10_000_000_000.5, 1.5, -1.5,
    ]
}
