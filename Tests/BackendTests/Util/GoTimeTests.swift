import Testing
@testable import Backend
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
            let (y, m, d) = GoTime.civil(fromDays: days)
            #expect(GoTime.days(year: y, month: m, day: d) == days)
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
}
