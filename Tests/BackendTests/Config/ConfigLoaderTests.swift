import Testing
@testable import Backend

/// Parses `text` as `loki.yaml` without environment expansion.
func parseConfig(_ text: String, expandEnv: Bool = false, environment: [String: String] = [:])
    throws(ConfigError) -> (config: BackendConfig, warnings: [ConfigWarning])
{
    try ConfigLoader.parse(yaml: text, file: "loki.yaml", expandEnv: expandEnv, environment: environment)
}

/// The error `text` fails with, or nil when it parses.
func configError(_ text: String, expandEnv: Bool = false, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try parseConfig(text, expandEnv: expandEnv, environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite struct ConfigLoaderTests {
    @Test func emptyFilesGiveLokiDefaults() throws {
        for text in ["", "# only a comment\n", "---\n", "~\n"] {
            let (config, warnings) = try parseConfig(text)
            #expect(config == BackendConfig(), "\(text)")
            #expect(warnings.isEmpty)
        }
    }

    @Test func defaultsAreLokis() {
        let config = BackendConfig()
        #expect(config.target == .all)
        #expect(config.authEnabled == true)
        #expect(config.server.httpListenAddress == "")
        #expect(config.server.httpListenPort == 3100)
        #expect(config.server.grpcServerMaxRecvMsgSize == 4_194_304)
        #expect(config.common.replicationFactor == 3)
        #expect(config.schemaConfig.configs.isEmpty)
        let limits = config.limitsConfig
        #expect(limits.ingestionRateMB == 4)
        #expect(limits.ingestionBurstSizeMB == 6)
        #expect(limits.perStreamRateLimit == 3 * 1_048_576)
        #expect(limits.perStreamRateLimitBurst == 15 * 1_048_576)
        #expect(limits.maxLineSize == 262_144)
        #expect(limits.maxLineSizeTruncate == false)
        #expect(limits.maxLabelNamesPerSeries == 15)
        #expect(limits.maxLabelNameLength == 1024)
        #expect(limits.maxLabelValueLength == 2048)
        #expect(limits.rejectOldSamples == true)
        #expect(limits.rejectOldSamplesMaxAge == .seconds(7 * 86_400))
        #expect(limits.creationGracePeriod == .seconds(600))
        #expect(limits.maxGlobalStreamsPerUser == 5000)
        #expect(limits.maxEntriesLimitPerQuery == 5000)
        #expect(limits.maxQueryLength == .seconds(721 * 3600))
        #expect(limits.allowStructuredMetadata == true)
        let ingester = config.ingester
        #expect(ingester.chunkEncoding == .gzip)
        #expect(ingester.chunkBlockSize == 262_144)
        #expect(ingester.chunkTargetSize == 1_572_864)
        #expect(ingester.chunkIdlePeriod == .seconds(1800))
        #expect(ingester.maxChunkAge == .seconds(7200))
        #expect(ingester.flushCheckPeriod == .seconds(30))
        #expect(ingester.concurrentFlushes == 32)
        #expect(ingester.chunkRetainPeriod == .zero)
    }

    static let everyKey = """
        target: all
        auth_enabled: false
        server:
          http_listen_address: 127.0.0.1
          http_listen_port: 3200
          grpc_server_max_recv_msg_size: 8388608
        common:
          path_prefix: /var/lib/estuary
          storage:
            filesystem:
              chunks_directory: /var/lib/estuary/chunks
              rules_directory: /var/lib/estuary/rules
          replication_factor: 1
        schema_config:
          configs:
            - from: 2023-06-01
              store: tsdb
              object_store: filesystem
              schema: v13
              index:
                prefix: loki_index_
                period: 24h
            - from: "2024-02-29"
              store: tsdb
              object_store: filesystem
              schema: v13
              index:
                prefix: index_v2_
                period: 1d
        storage_config:
          filesystem:
            directory: /srv/chunks
        limits_config:
          ingestion_rate_mb: 10.5
          ingestion_burst_size_mb: 20
          per_stream_rate_limit: 5MB
          per_stream_rate_limit_burst: 20 MiB
          max_line_size: 1048576
          max_line_size_truncate: yes
          max_label_names_per_series: 30
          max_label_name_length: 512
          max_label_value_length: 4096
          reject_old_samples: off
          reject_old_samples_max_age: 2w
          creation_grace_period: 1h30m
          max_global_streams_per_user: 0
          max_entries_limit_per_query: 10000
          max_query_length: 0
          tsdb_max_bytes_per_shard: 1GB
          allow_structured_metadata: False
        ingester:
          chunk_encoding: FLATE
          chunk_block_size: 131072
          chunk_target_size: 0
          chunk_idle_period: 1h
          max_chunk_age: 90m
          flush_check_period: 500ms
          concurrent_flushes: 4
          chunk_retain_period: 15s
          memory_ceiling: 256MB
          wal:
            enabled: false
            dir: /srv/wal
            checkpoint_duration: 1m
            flush_on_shutdown: true
            replay_memory_ceiling: 512MB
            disk_full_threshold: 0.8
            sync_policy: always
        """

    @Test func everyKeyIsRead() throws {
        let (config, warnings) = try parseConfig(Self.everyKey)
        #expect(warnings.isEmpty, "\(warnings)")
        var expected = BackendConfig()
        expected.target = .all
        expected.authEnabled = false
        expected.server.httpListenAddress = "127.0.0.1"
        expected.server.httpListenPort = 3200
        expected.server.grpcServerMaxRecvMsgSize = 8_388_608
        expected.common.pathPrefix = "/var/lib/estuary"
        expected.common.storage.filesystem.chunksDirectory = "/var/lib/estuary/chunks"
        expected.common.storage.filesystem.rulesDirectory = "/var/lib/estuary/rules"
        expected.common.replicationFactor = 1
        expected.schemaConfig.configs = [
            .init(from: CalendarDay(year: 2023, month: 6, day: 1), store: "tsdb", objectStore: "filesystem",
                  schema: "v13", index: .init(prefix: "loki_index_", period: .seconds(86_400))),
            .init(from: CalendarDay(year: 2024, month: 2, day: 29), store: "tsdb", objectStore: "filesystem",
                  schema: "v13", index: .init(prefix: "index_v2_", period: .seconds(86_400))),
        ]
        expected.storageConfig.filesystem.directory = "/srv/chunks"
        expected.limitsConfig.ingestionRateMB = 10.5
        expected.limitsConfig.ingestionBurstSizeMB = 20
        expected.limitsConfig.perStreamRateLimit = 5 << 20
        expected.limitsConfig.perStreamRateLimitBurst = 20 << 20
        expected.limitsConfig.maxLineSize = 1_048_576
        expected.limitsConfig.maxLineSizeTruncate = true
        expected.limitsConfig.maxLabelNamesPerSeries = 30
        expected.limitsConfig.maxLabelNameLength = 512
        expected.limitsConfig.maxLabelValueLength = 4096
        expected.limitsConfig.rejectOldSamples = false
        expected.limitsConfig.rejectOldSamplesMaxAge = .seconds(14 * 86_400)
        expected.limitsConfig.creationGracePeriod = .seconds(5400)
        expected.limitsConfig.maxGlobalStreamsPerUser = 0
        expected.limitsConfig.maxEntriesLimitPerQuery = 10_000
        expected.limitsConfig.tsdbMaxBytesPerShard = 1 << 30
        expected.limitsConfig.maxQueryLength = .zero
        expected.limitsConfig.allowStructuredMetadata = false
        expected.ingester.chunkEncoding = .flate
        expected.ingester.chunkBlockSize = 131_072
        expected.ingester.chunkTargetSize = 0
        expected.ingester.chunkIdlePeriod = .seconds(3600)
        expected.ingester.maxChunkAge = .seconds(5400)
        expected.ingester.flushCheckPeriod = .milliseconds(500)
        expected.ingester.concurrentFlushes = 4
        expected.ingester.chunkRetainPeriod = .seconds(15)
        expected.ingester.memoryCeiling = 256 << 20
        expected.ingester.wal.enabled = false
        expected.ingester.wal.dir = "/srv/wal"
        expected.ingester.wal.checkpointDuration = .seconds(60)
        expected.ingester.wal.flushOnShutdown = true
        expected.ingester.wal.replayMemoryCeiling = 512 << 20
        expected.ingester.wal.diskFullThreshold = 0.8
        expected.ingester.wal.syncPolicy = .always
        #expect(config == expected)
    }

    @Test func nullValuesKeepDefaults() throws {
        let (config, _) = try parseConfig("""
            server:
              http_listen_port:
            limits_config:
            ingester: ~
            """)
        #expect(config == BackendConfig())
    }

    @Test func mergeKeysApply() throws {
        let (config, warnings) = try parseConfig("""
            x-defaults: &limits
              max_line_size: 1MB
              max_label_names_per_series: 20
            limits_config:
              <<: *limits
              max_label_names_per_series: 25
            """)
        #expect(config.limitsConfig.maxLineSize == 1 << 20)
        #expect(config.limitsConfig.maxLabelNamesPerSeries == 25)
        #expect(warnings.map(\.path) == ["x-defaults"])
    }

    @Test func targetsByLokiName() throws {
        for target in Target.allCases {
            #expect(try parseConfig("target: \(target.rawValue)").config.target == target)
        }
    }

    @Test(arguments: [
        ("true", true), ("True", true), ("TRUE", true), ("yes", true), ("on", true), ("Y", true),
        ("false", false), ("False", false), ("no", false), ("OFF", false), ("n", false), ("\"false\"", false),
    ])
    func booleansAsGoYAMLReadsThem(text: String, expected: Bool) throws {
        #expect(try parseConfig("auth_enabled: \(text)").config.authEnabled == expected)
    }

    @Test(arguments: [
        ("3100", 3100), ("0x10", 16), ("0o17", 15), ("0b101", 5), ("1_000", 1000), ("+80", 80), ("0", 0),
    ])
    func integersInYAMLForms(text: String, expected: Int) throws {
        #expect(try parseConfig("server:\n  http_listen_port: \(text)").config.server.httpListenPort == expected)
    }

    @Test func stringsAcceptAnyScalar() throws {
        let (config, _) = try parseConfig("""
            common:
              path_prefix: 2024
            schema_config:
              configs:
                - from: 2024-01-01
                  schema: v13
                  index:
                    prefix: 'it''s_'
            """)
        #expect(config.common.pathPrefix == "2024")
        #expect(config.schemaConfig.configs.first?.index.prefix == "it's_")
        // Omitted index keys keep Loki's defaults.
        #expect(config.schemaConfig.configs.first?.index.period == .seconds(86_400))
    }

    @Test func quickstartFileIsTheQuickstart() throws {
        let (config, warnings) = try ConfigLoader.load(path: Self.repositoryRoot + "/config/backend-local.yaml",
                                                       expandEnv: false, environment: [:])
        #expect(config == .quickstart)
        #expect(warnings.isEmpty, "\(warnings)")
    }

    @Test func quickstartValues() {
        let config = BackendConfig.quickstart
        #expect(config.authEnabled == false)
        #expect(config.server.httpListenPort == 3100)
        #expect(config.server.httpListenAddress == "127.0.0.1")
        #expect(config.common.pathPrefix == "./data")
        #expect(config.common.storage.filesystem.chunksDirectory == "./data/chunks")
        #expect(config.ingester.chunkEncoding == .snappy)
        #expect(config.schemaConfig.configs == [
            .init(from: CalendarDay(year: 2024, month: 1, day: 1), store: "tsdb", objectStore: "filesystem",
                  schema: "v13", index: .init(prefix: "index_", period: .seconds(86_400))),
        ])
    }

    @Test func missingFileNamesIt() {
        #expect(throws: ConfigError.self) {
            try ConfigLoader.load(path: "/nonexistent/loki.yaml", expandEnv: false, environment: [:])
        }
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/loki.yaml", expandEnv: false, environment: [:])
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/loki.yaml: cannot read the configuration file: No such file or directory"))
        }
    }

    /// The checkout this test file lives in: `<root>/Tests/BackendTests/Config/<file>`.
    static var repositoryRoot: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }
}
