import TestSupport
import Testing
@testable import Backend
import Wire

@Suite struct ConfigRenderTests {
    func roundTrip(_ config: BackendConfig, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let yaml = config.renderYAML()
        let (parsed, warnings) = try parseConfig(yaml)
        #expect(parsed == config, "\(yaml)", sourceLocation: sourceLocation)
        // A value holding "${" is written back as it is and warned about again; nothing else may warn.
        let unexpected = warnings.filter { !$0.message.contains("taken as written") }
        #expect(unexpected.isEmpty, "\(unexpected)", sourceLocation: sourceLocation)
    }

    @Test func defaultsQuickstartAndEveryKeyRoundTrip() throws {
        try roundTrip(BackendConfig())
        try roundTrip(.quickstart)
        try roundTrip(try parseConfig(ConfigLoaderTests.everyKey).config)
    }

    @Test func rendersLokiSpelling() {
        let yaml = BackendConfig.quickstart.renderYAML()
        for line in [
            "auth_enabled: false", "  http_listen_address: 127.0.0.1", "  http_listen_port: 3100",
            "    - from: 2024-01-01", "        period: 1d", "  max_line_size: 256KB", "  per_stream_rate_limit: 3MB",
            "  reject_old_samples_max_age: 1w", "  max_query_length: 30d1h", "  ingestion_rate_mb: 4",
            "  chunk_encoding: snappy", "  chunk_idle_period: 30m0s", "  chunk_retain_period: 0s",
        ] {
            #expect(yaml.split(separator: "\n").contains(Substring(line)), "\(line) in\n\(yaml)")
        }
    }

    @Test func awkwardStringsAreQuotedAndSurvive() throws {
        for text in ["", " lead", "trail ", "a: b", "#x", "- x", "true", "no", "null", "~", "123", "0x1F", "1e3",
                     ".inf", "\"quoted\"", "back\\slash", "tab\there", "line\nbreak", "${VAR}", "ünïcödé/路径",
                     "\u{7}bell", "mid\u{FEFF}bom", "'single'", "[list]", "{map}", "*alias", "&anchor", "!tag", "%pct",
                     "@at", "`tick`", "|", ">", "a,b", "?", "-", "---", "..."] {
            var config = BackendConfig()
            config.common.pathPrefix = text
            config.server.httpListenAddress = text
            config.schemaConfig.configs = [.init(from: CalendarDay(year: 2024, month: 1, day: 1), store: text,
                                                 objectStore: text, index: .init(prefix: text))]
            try roundTrip(config)
        }
    }

    @Test func randomConfigsRoundTrip() throws {
        var random = SeededRandom(seed: 42)
        for _ in 0..<300 {
            try roundTrip(random.config())
        }
    }
}

extension SeededRandom {
    mutating func string() -> String {
        let pieces = ["a", "Z", "0", "/", ".", "_", "-", " ", ":", "#", "\"", "'", "\\", "\n", "\t", "é", "路", "$", "{",
                      "}", "[", "]", ",", "*", "&", "!", "%", "@", "`", "|", ">", "?", "\u{1}", "\u{85}", "😀"]
        return (0..<Int.random(in: 0...8, using: &self)).map { _ in pieces.randomElement(using: &self) ?? "" }.joined()
    }

    mutating func duration() -> Duration {
        let units: [Int64] = [1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000, 86_400_000_000_000]
        return .nanoseconds(Int64.random(in: 0...1000, using: &self) * (units.randomElement(using: &self) ?? 1))
    }

    mutating func config() -> BackendConfig {
        var config = BackendConfig()
        config.target = Target.allCases.randomElement(using: &self) ?? .all
        config.authEnabled = Bool.random(using: &self)
        config.server.httpListenAddress = string()
        config.server.httpListenPort = Int.random(in: 0...65535, using: &self)
        config.server.grpcServerMaxRecvMsgSize = Int.random(in: 1...Int.max, using: &self)
        config.common.pathPrefix = string()
        config.common.storage.filesystem.chunksDirectory = string()
        config.common.storage.filesystem.rulesDirectory = string()
        config.common.replicationFactor = Int.random(in: 1...5, using: &self)
        var day = Int64.random(in: 0...20_000, using: &self)
        config.schemaConfig.configs = (0..<Int.random(in: 0...3, using: &self)).map { _ in
            day += Int64.random(in: 1...400, using: &self)
            let (y, m, d) = Civil.date(days: day)
            return .init(from: CalendarDay(year: y, month: m, day: d), store: string(),
                         objectStore: string(), schema: "v13", index: .init(prefix: string()))
        }
        config.storageConfig.filesystem.directory = string()
        var limits = BackendConfig.LimitsConfig()
        limits.ingestionRateMB = Bool.random(using: &self)
            ? Double(Int.random(in: 0...100, using: &self)) : Double.random(in: 0...1e6, using: &self)
        limits.ingestionBurstSizeMB = Double.random(in: 0...1e-3, using: &self)
        limits.perStreamRateLimit = Int.random(in: 0...Int.max, using: &self)
        limits.perStreamRateLimitBurst = Int.random(in: 0...64, using: &self) << Int.random(in: 0...40, using: &self)
        limits.maxLineSize = Int.random(in: 0...(1 << 30), using: &self)
        limits.maxLineSizeTruncate = Bool.random(using: &self)
        limits.maxLabelNamesPerSeries = Int.random(in: 0...100, using: &self)
        limits.maxLabelNameLength = Int.random(in: 0...Int.max, using: &self)
        limits.maxLabelValueLength = Int.random(in: 0...10_000, using: &self)
        limits.rejectOldSamples = Bool.random(using: &self)
        limits.rejectOldSamplesMaxAge = duration()
        limits.creationGracePeriod = duration()
        limits.maxGlobalStreamsPerUser = Int.random(in: 0...1_000_000, using: &self)
        limits.maxEntriesLimitPerQuery = Int.random(in: 0...1_000_000, using: &self)
        limits.maxQueryLength = duration()
        limits.tsdbMaxBytesPerShard = Int.random(in: 0...64, using: &self) << Int.random(in: 0...40, using: &self)
        limits.allowStructuredMetadata = Bool.random(using: &self)
        config.limitsConfig = limits
        config.ingester.chunkEncoding = ChunkEncoding.allCases.randomElement(using: &self) ?? .gzip
        config.ingester.chunkBlockSize = Int.random(in: 1...(1 << 24), using: &self)
        config.ingester.chunkTargetSize = Int.random(in: 0...(1 << 24), using: &self)
        config.ingester.chunkIdlePeriod = duration()
        config.ingester.maxChunkAge = duration() + .nanoseconds(1)
        config.ingester.flushCheckPeriod = duration() + .nanoseconds(1)
        config.ingester.concurrentFlushes = Int.random(in: 1...64, using: &self)
        config.ingester.chunkRetainPeriod = duration()
        return config
    }
}
