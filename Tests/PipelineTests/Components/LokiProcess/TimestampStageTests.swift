import Testing
import Wire
@testable import Pipeline

@Suite struct TimestampStageTests {
    struct Case: Sendable, CustomStringConvertible {
        var format: String
        var value: String
        var expected: Int64?
        var location: String? = nil
        var description: String { "\(format) \(value)" }
    }

    static let cases: [Case] = [
        Case(format: "RFC3339", value: "2024-12-20T09:14:58+02:00", expected: utc(2024, 12, 20, 7, 14, 58)),
        Case(format: "RFC3339Nano", value: "2019-04-30T02:12:41.8443515Z", expected: utc(2019, 4, 30, 2, 12, 41, nanos: 844_351_500)),
        Case(format: "RFC3339", value: "2024-02-30T00:00:00Z", expected: nil),
        // Alloy's documented custom layout with a comma fraction.
        Case(format: "2006-01-02T15:04:05,000-07:00", value: "2024-12-20T09:14:58,381+02:00",
             expected: utc(2024, 12, 20, 7, 14, 58, nanos: 381_000_000)),
        Case(format: "02/Jan/2006:15:04:05 -0700", value: "01/Jan/2023:00:00:01 +0200", expected: utc(2022, 12, 31, 22, 0, 1)),
        Case(format: "2006-01-02 15:04:05", value: "2023-01-18 17:41:21", expected: utc(2023, 1, 18, 17, 41, 21)),
        // A fraction the layout does not mention is read anyway, as Go does.
        Case(format: "2006-01-02 15:04:05", value: "2023-01-18 17:41:21.5", expected: utc(2023, 1, 18, 17, 41, 21, nanos: 500_000_000)),
        Case(format: "ANSIC", value: "Mon Jan  2 15:04:05 2006", expected: utc(2006, 1, 2, 15, 4, 5)),
        Case(format: "RFC1123Z", value: "Mon, 02 Jan 2006 15:04:05 -0700", expected: utc(2006, 1, 2, 22, 4, 5)),
        Case(format: "RFC1123", value: "Mon, 02 Jan 2006 15:04:05 UTC", expected: utc(2006, 1, 2, 15, 4, 5)),
        Case(format: "RFC822", value: "02 Jan 06 15:04 MST", expected: utc(2006, 1, 2, 15, 4)),
        Case(format: "Jan 2 3:04:05 PM", value: "Feb 3 4:05:06 PM", expected: utc(2024, 2, 3, 16, 5, 6)),
        Case(format: "2006-01-02T15:04:05.000000Z07:00", value: "2024-01-01T00:00:00.123456Z", expected: utc(2024, 1, 1, nanos: 123_456_000)),
        Case(format: "2006-01-02T15:04:05.000000Z07:00", value: "2024-01-01T00:00:00.1234Z", expected: nil),
        Case(format: "Unix", value: "1562708916", expected: 1_562_708_916_000_000_000),
        Case(format: "Unix", value: "1562708916.000000123", expected: 1_562_708_916_000_000_123),
        Case(format: "UnixMs", value: "1562708916414", expected: 1_562_708_916_414_000_000),
        Case(format: "UnixUs", value: "1562708916414123", expected: 1_562_708_916_414_123_000),
        Case(format: "UnixNs", value: "1562708916000000123", expected: 1_562_708_916_000_000_123),
        Case(format: "UnixMs", value: "nope", expected: nil),
        Case(format: "2006-01-02 15:04:05", value: "2023-07-01 12:00:00", expected: utc(2023, 7, 1, 10), location: "Europe/Paris"),
        Case(format: "2006-01-02 15:04:05", value: "2023-01-01 12:00:00", expected: utc(2023, 1, 1, 17), location: "America/New_York"),
        // Named formats ignore the location, as Alloy's time.Parse does.
        Case(format: "RFC3339", value: "2023-07-01T12:00:00Z", expected: utc(2023, 7, 1, 12), location: "Europe/Paris"),
    ]

    @Test(arguments: cases) func parsesLikeGo(_ example: Case) throws {
        if example.location != nil, (try? TimestampStage.Config.loadLocation(example.location ?? "")) == nil { return }
        var stage = "stage.timestamp {\n source = \"ts\"\n format = \"\(example.format)\"\n action_on_failure = \"skip\"\n"
        if let location = example.location { stage += " location = \"\(location)\"\n" }
        stage += "}"
        let stages = "stage.regex { expression = \"^(?P<ts>.*)$\" }\n" + stage
        let out = try #require(try Stages.run(stages, [Stages.entry(example.value, timestamp: 42)]).entries.first)
        #expect(out.timestamp == (example.expected ?? 42))
    }

    @Test func fallbackFormatsAreTriedInOrder() throws {
        let stages = """
            stage.regex { expression = "^(?P<ts>.*)$" }
            stage.timestamp {
              source = "ts"
              format = "RFC3339"
              fallback_formats = ["UnixMs", "2006-01-02"]
            }
            """
        let out = try Stages.run(stages, [Stages.entry("1562708916414"), Stages.entry("2020-02-03")]).entries
        #expect(out.map(\.timestamp) == [1_562_708_916_414_000_000, utc(2020, 2, 3)])
    }

    @Test func fudgeUsesTheStreamsLastTimestampPlusOne() throws {
        let stages = """
            stage.regex { expression = "^(?P<ts>\\\\d+) " }
            stage.timestamp {
              source = "ts"
              format = "UnixMs"
            }
            """
        let out = try Stages.run(stages, [
            Stages.entry("1000 a", labels: ["s": "1"], timestamp: 5),
            Stages.entry("broken", labels: ["s": "1"], timestamp: 5),
            Stages.entry("broken", labels: ["s": "1"], timestamp: 5),
            Stages.entry("broken", labels: ["s": "2"], timestamp: 5),
        ]).entries
        #expect(out.map(\.timestamp) == [1_000_000_000, 1_000_000_001, 1_000_000_002, 5])
        let skipped = try Stages.run(stages.replacingOccurrences(of: "format = \"UnixMs\"", with: "format = \"UnixMs\"\n action_on_failure = \"skip\""), [
            Stages.entry("1000 a", timestamp: 5), Stages.entry("broken", timestamp: 5),
        ]).entries
        #expect(skipped.map(\.timestamp) == [1_000_000_000, 5])
    }

    @Test func yearlessLayoutsTakeTheCurrentYear() throws {
        let stages = "stage.regex { expression = \"^(?P<ts>.*)$\" }\nstage.timestamp {\n source = \"ts\"\n format = \"Jan _2 15:04:05\"\n}"
        // Now is June 2024.
        #expect(try Stages.run(stages, [Stages.entry("Mar  4 05:06:07")]).entries.first?.timestamp == utc(2024, 3, 4, 5, 6, 7))
        // In January, a December timestamp is last year's.
        let january = utc(2025, 1, 1, 0, 5)
        #expect(try Stages.run(stages, [Stages.entry("Dec 31 23:59:00")], now: january).entries.first?.timestamp == utc(2024, 12, 31, 23, 59))
    }

    @Test func badArguments() {
        #expect(Stages.problem("stage.timestamp {\n source = \"t\"\n format = \"RFC3339\"\n action_on_failure = \"drop\"\n}")?.contains("action_on_failure: invalid value \"drop\"") == true)
        #expect(Stages.problem("stage.timestamp {\n source = \"t\"\n format = \"RFC3339\"\n location = \"Mars/Olympus\"\n}")?.contains("location:") == true)
        #expect(Stages.problem("stage.timestamp {\n source = \"t\"\n}")?.contains("missing required attribute \"format\"") == true)
    }
}
