import Testing

@testable import loadgen

@Suite struct ArgumentParsingTests {
    @Test(arguments: [
        ("30s", Duration.seconds(30)), ("2m", .seconds(120)), ("1h30m", .seconds(5400)), ("500ms", .milliseconds(500)),
        ("1.5s", .milliseconds(1500)), ("45", .seconds(45)), ("250us", .microseconds(250)),
    ])
    func parsesDurations(text: String, expected: Duration) throws {
        #expect(try DurationArgument.parse(text) == expected)
    }

    @Test(arguments: ["", "s", "10x", "1.2.3s", "m5", "-3s"])
    func rejectsBadDurations(text: String) {
        #expect(throws: LoadGenError.self) { try DurationArgument.parse(text) }
        #expect(DurationArgument(argument: text) == nil)
    }

    @Test(arguments: [
        ("1GB", 1_000_000_000), ("512MB", 512_000_000), ("1GiB", 1_073_741_824), ("100kB", 100_000), ("4096", 4096),
        ("1.5GB", 1_500_000_000), ("2mib", 2_097_152), ("7B", 7),
    ])
    func parsesSizes(text: String, expected: Int) throws {
        #expect(try ByteCountArgument.parse(text) == expected)
    }

    @Test(arguments: ["", "GB", "1ZB", "x1GB", "1 G B"])
    func rejectsBadSizes(text: String) {
        #expect(throws: LoadGenError.self) { try ByteCountArgument.parse(text) }
    }

    @Test func formatsNumbers() {
        #expect(String(fixed: 3.14159, decimals: 2) == "3.14")
        #expect(String(fixed: 2.005, decimals: 0) == "2")
        #expect(String(fixed: 0.5, decimals: 3) == "0.500")
        #expect(String(fixed: -1.25, decimals: 1) == "-1.3")
        #expect(Report.count(1_234_567) == "1.23M")
        #expect(Report.count(12_345) == "12.3k")
        #expect(Report.micros(850) == "850µs")
        #expect(Report.micros(3_210) == "3.21ms")
    }

    /// One rate over several gateway replicas: every `--url` is a target, and there must be a worker for each.
    @Test func otlpSpreadsOverSeveralTargets() throws {
        let command = try OTLPCommand.parse(["--url", "http://a:4318/v1/logs", "--url", "http://b:4318/v1/logs",
                                             "--concurrency", "4"])
        #expect(command.plan.mode.urls == ["http://a:4318/v1/logs", "http://b:4318/v1/logs"])
        #expect(try OTLPCommand.parse([]).plan.mode.urls == ["http://127.0.0.1:4318/v1/logs"])
        #expect(throws: (any Error).self) {
            try OTLPCommand.parse(["--url", "http://a/v1/logs", "--url", "http://b/v1/logs", "--concurrency", "1"])
        }
    }
}

@Suite struct LiveProgressTests {
    @Test func saysRateErrorsElapsedAndRemaining() {
        #expect(LiveProgress.text(elapsed: .seconds(12), total: .seconds(30), rate: 52_100, unit: "records",
                                  errorsLabel: "refused", errors: 3)
                == "  t=12s/30s  \(Report.count(52_100)) records/s  refused=3  18s left")
        #expect(LiveProgress.text(elapsed: .seconds(5), total: nil, rate: 10, unit: "lines", errorsLabel: "failures",
                                  errors: 0)
                == "  t=5s  \(Report.count(10)) lines/s  failures=0")
    }
}
