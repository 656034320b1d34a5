import Testing
@testable import Backend
import Wire

/// Sizes as Loki's flagext.ByteSize reads them (c2h5oh/datasize: every unit is a power of 1024).
@Suite struct ByteSizeTextTests {
    static let parsed: [(String, Int)] = [
        ("0", 0), ("1024", 1024), ("17B", 17), ("17 b", 17), ("1byte", 1),
        ("1KB", 1024), ("1kb", 1024), ("1kB", 1024), ("1KiB", 1024), ("1k", 1024), ("256KB", 262_144),
        ("1 MB", 1_048_576), ("3MB", 3_145_728), ("15MB", 15_728_640), ("1mib", 1_048_576), ("2megabytes", 2_097_152),
        ("1GB", 1_073_741_824), ("1GiB", 1_073_741_824), ("1TB", 1 << 40), ("1PB", 1 << 50), ("1EB", 1 << 60),
        ("1.5MB", 1_572_864), ("0.5KB", 512), ("1.1KB", 1126), ("  64kb  ", 65_536), ("+1KB", 1024),
    ]

    @Test(arguments: parsed)
    func parses(text: String, bytes: Int) {
        #expect(ByteSizeText.parse(text) == .success(bytes))
    }

    static let rejected: [(String, ByteSizeText.ParseError)] = [
        ("", .syntax), ("lots", .syntax), ("MB", .syntax), ("1XB", .syntax),
        ("1.MB", .syntax), (".5MB", .syntax), ("1 2MB", .syntax), ("-1KB", .negative), ("8EB", .tooLarge),
        ("99999999999999999999", .tooLarge), ("10000000000000000GB", .tooLarge),
    ]

    @Test(arguments: rejected)
    func rejects(text: String, error: ByteSizeText.ParseError) {
        #expect(ByteSizeText.parse(text) == .failure(error))
    }

    static let formatted: [(Int, String)] = [
        (0, "0B"), (17, "17B"), (1000, "1000B"), (1024, "1KB"), (262_144, "256KB"), (3 << 20, "3MB"),
        (1536, "1536B"), (1 << 30, "1GB"), (5 << 40, "5TB"), (Int.max, "\(Int.max)B"),
    ]

    @Test(arguments: formatted)
    func formatsLikeLoki(bytes: Int, text: String) {
        #expect(ByteSizeText.format(bytes) == text)
        #expect(ByteSizeText.parse(text) == .success(bytes))
    }
}

/// Durations as Go's time.ParseDuration and Prometheus' model.ParseDuration read them.
@Suite struct DurationTextTests {
    static let second: Int64 = 1_000_000_000

    static let parsed: [(String, Int64)] = [
        ("0", 0), ("0s", 0), ("+0", 0), ("30s", 30 * second), ("30m", 1800 * second), ("2h", 7200 * second),
        ("1h30m", 5400 * second), ("500ms", 500_000_000), ("1.5s", 1_500_000_000), ("1.5h", 5400 * second),
        ("250us", 250_000), ("250µs", 250_000), ("250μs", 250_000), ("7ns", 7), ("1d", 86_400 * second),
        ("1w", 604_800 * second), ("1y", 31_536_000 * second), ("721h", 721 * 3600 * second),
        ("30d1h", 721 * 3600 * second), ("2h0m0s", 7200 * second), (".5m", 30 * second), ("1.m", 60 * second),
        (" 10m ", 600 * second),
    ]

    @Test(arguments: parsed)
    func parses(text: String, nanoseconds: Int64) {
        #expect(DurationText.parse(text) == .success(nanoseconds))
    }

    static let rejected: [(String, DurationText.ParseError)] = [
        ("", .syntax), ("s", .syntax), ("1h.", .syntax), ("30", .missingUnit),
        ("1h30", .missingUnit), ("5 m", .unknownUnit(" m")), ("3 fortnights", .unknownUnit(" fortnights")),
        ("1H", .unknownUnit("H")), ("-5m", .negative), ("300y", .tooLarge), ("9223372036854775808ns", .tooLarge),
    ]

    @Test(arguments: rejected)
    func rejects(text: String, error: DurationText.ParseError) {
        #expect(DurationText.parse(text) == .failure(error))
    }

    static let formatted: [(Int64, String, String)] = [
        (0, "0s", "0s"), (30 * second, "30s", "30s"), (1800 * second, "30m0s", "30m"),
        (7200 * second, "2h0m0s", "2h"), (604_800 * second, "168h0m0s", "1w"), (721 * 3600 * second, "721h0m0s", "30d1h"),
        (90 * 86_400 * second, "2160h0m0s", "90d"), (365 * 86_400 * second, "8760h0m0s", "1y"),
        (500_000_000, "500ms", "500ms"), (1_500_000_000, "1.5s", "1s500ms"), (250_000, "250µs", "250µs"),
    ]

    @Test(arguments: formatted)
    func formatsLikeGoAndPrometheus(nanoseconds: Int64, go: String, prometheus: String) {
        #expect(DurationText.goString(nanoseconds) == go)
        #expect(DurationText.prometheusString(nanoseconds) == prometheus)
        #expect(DurationText.parse(go) == .success(nanoseconds))
        #expect(DurationText.parse(prometheus) == .success(nanoseconds))
    }
}

@Suite struct CalendarDayTests {
    @Test func parsesLikeGoTimeParse() {
        #expect(CalendarDay("2024-02-29") == CalendarDay(year: 2024, month: 2, day: 29))
        #expect(CalendarDay("2000-02-29") != nil)
        for bad in ["1900-02-29", "2023-02-29", "2024-04-31", "2024-00-10", "2024-1-01", "2024/01/01", "", "2024-01-01 "] {
            #expect(CalendarDay(bad) == nil, "\(bad)")
        }
        #expect(CalendarDay(year: 2024, month: 1, day: 1).description == "2024-01-01")
        #expect(CalendarDay(year: 2024, month: 1, day: 1).daysSinceEpoch == 19_723)
        #expect(CalendarDay(nanoseconds: 1_704_067_199_999_999_999) == CalendarDay(year: 2023, month: 12, day: 31))
        #expect(CalendarDay(nanoseconds: 1_704_067_200_000_000_000) == CalendarDay(year: 2024, month: 1, day: 1))
    }
}
