import Testing
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
}
