import Testing
@testable import Backend
import TestSupport
import Wire

@Suite struct GoTimeTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01 00:00:00 +0000 UTC"),
        (Int64(1_704_067_200_000_000_000), "2024-01-01 00:00:00 +0000 UTC"),
        (Int64(1_709_210_096_123_456_789), "2024-02-29 12:34:56.123456789 +0000 UTC"),
        (Int64(1_500_000_000), "1970-01-01 00:00:01.5 +0000 UTC"),
        (Int64(-1), "1969-12-31 23:59:59.999999999 +0000 UTC"),
    ])
    func formatsLikeGo(ns: Int64, expected: String) {
        #expect(GoTime.format(nanoseconds: ns) == expected)
    }

    @Test func rfc3339() {
        #expect(GoTime.rfc3339(nanoseconds: 1_709_210_096_100_000_000) == "2024-02-29T12:34:56.1Z")
    }

    @Test func civilDaysRoundTrip() {
        for days in stride(from: Int64(-800_000), to: 800_000, by: 997) {
            let (y, m, d) = Civil.date(days: days)
            #expect(Civil.days(year: y, month: m, day: d) == days)
        }
    }

    @Test(arguments: [
        (Int64(721 * 3600) * 1_000_000_000, "721h0m0s"),
        (Int64(90) * 1_000_000_000, "1m30s"),
        (Int64(250_000_000), "250ms"),
        (Int64(1_500_000_000), "1.5s"),
    ])
    func goDurations(ns: Int64, expected: String) {
        #expect(LokiDurationText.format(ns) == expected)
    }

    @Test func everyInt64FormatsAndParsesBack() {
        var random = SeededRandom(seed: 5)
        var values: [Int64] = [.min, .min + 1, .min + 999_999_999, -86_400_000_000_001, -1, 0, 1, .max - 1, .max]
        for _ in 0..<20_000 { values.append(Int64(bitPattern: random.next()) >> Int64(random.int(0...63))) }
        for ns in values {
            _ = GoTime.format(nanoseconds: ns)
            #expect(RFC3339Time.parse(GoTime.rfc3339(nanoseconds: ns)) == ns)
        }
        #expect(GoTime.format(nanoseconds: .min) == "1677-09-21 00:12:43.145224192 +0000 UTC")
        #expect(GoTime.format(nanoseconds: .max) == "2262-04-11 23:47:16.854775807 +0000 UTC")
    }
}
