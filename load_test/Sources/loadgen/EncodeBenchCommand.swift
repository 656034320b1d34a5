import ArgumentParser

/// `loadgen encode-bench`: how fast this generator stamps and encodes bodies on one core, without any network, so
/// a reader can tell whether a push run was limited by the client.
struct EncodeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-bench", abstract: "Measure the generator's body encoding rate on one core (no network).")

    @OptionGroup var options: PushOptions

    @Option(help: "How long to encode.")
    var duration: DurationArgument = DurationArgument(.seconds(5))

    mutating func run() async throws {
        var pool = RequestPool(
            mode: options.mode, worker: 0, templateCount: options.templatesPerWorker,
            recordsPerRequest: options.linesPerRequest, lineBytes: options.lineBytes,
            startMillis: wallClockNanos() / 1_000_000, lineSizes: try options.lineSizes, sizeSeed: options.seed)
        let encoding = options.encoding
        let clock = ContinuousClock()
        let cpuBefore = try ProcessSample.capture(pid: "self").cpuSeconds
        let start = clock.now
        let deadline = start + duration.duration
        var bodies = 0
        var wireBytes = 0
        while clock.now < deadline {
            let (body, _) = pool.withNextRequest(nowNanos: wallClockNanos()) { encoding.encode($0) }
            wireBytes += body.count
            bodies += 1
        }
        let wall = (clock.now - start).seconds
        let cpu = try ProcessSample.capture(pid: "self").cpuSeconds - cpuBefore
        let lines = bodies * options.linesPerRequest
        let rawBytes = Int(Double(lines) * Double(pool.poolLineBytes) / Double(max(1, pool.poolRecords)))
        Report.say("encode-bench: \(encoding.rawValue) lines/request=\(options.linesPerRequest) line=\(options.lineSizeText) "
              + "streams=\(options.streams), one core")
        Report.line("bodies/s", String(format2: Double(bodies) / wall)
                    + "  (\(String(fixed: wall * 1000 / Double(max(bodies, 1)), decimals: 3)) ms/body)")
        Report.line("lines/s", Report.count(Double(lines) / wall))
        Report.line("raw MB/s", String(format2: Double(rawBytes) / wall / 1e6))
        Report.line("wire bytes/body", "\(wireBytes / max(bodies, 1))  (raw/wire = "
                    + "\(String(format2: Double(rawBytes) / Double(max(wireBytes, 1)))))")
        Report.line("CPU", String(format2: cpu / wall) + " cores")
        Report.printResult([
            "command": "encode-bench", "encoding": encoding.rawValue, "bodies_per_second": Double(bodies) / wall,
            "lines_per_second": Double(lines) / wall, "raw_mb_per_second": Double(rawBytes) / wall / 1e6,
            "wire_bytes_per_body": wireBytes / max(bodies, 1), "cpu_cores": cpu / wall,
        ])
    }
}
