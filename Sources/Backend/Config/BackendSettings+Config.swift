import Wire
extension BackendSettings {
    /// Resolves a configuration into the settings the modules run with: limits and ingester settings in bytes and
    /// nanoseconds, the storage directory, the index prefix of the schema period in force today, and the
    /// configuration as YAML for `/config`.
    ///
    /// Throws a `ConfigError` when no storage directory is configured or a schema period names an object store
    /// other than the filesystem (the only one this version has).
    public init(_ config: BackendConfig) throws {
        try self.init(config, now: WallClock.nanoseconds())
    }

    /// `now` (Unix nanoseconds) picks the schema period in force.
    init(_ config: BackendConfig, now: Int64) throws(ConfigError) {
        let directory = try Self.storageDirectory(config)
        for (index, period) in config.schemaConfig.configs.enumerated()
        where !period.objectStore.isEmpty && period.objectStore != "filesystem" {
            throw ConfigError(
                file: "", path: "schema_config.configs[\(index)].object_store",
                message: "object store \"\(period.objectStore)\" is not supported yet; this version stores chunks "
                    + "and index on the local filesystem (object_store: filesystem)")
        }
        self.init(
            // Loki's "" listens on every interface; the listener needs an address.
            host: config.server.httpListenAddress.isEmpty ? "0.0.0.0" : config.server.httpListenAddress,
            port: config.server.httpListenPort,
            authEnabled: config.authEnabled,
            maxRequestBytes: config.server.grpcServerMaxRecvMsgSize,
            limits: Limits(config.limitsConfig),
            ingester: IngesterSettings(config.ingester, walDirectory: Self.walDirectory(config)),
            storageDirectory: directory,
            indexPrefix: Self.activePeriod(config.schemaConfig, now: now)?.index.prefix ?? "index_",
            configYAML: config.renderYAML())
    }

    /// `storage_config.filesystem.directory`, else `common.storage.filesystem.chunks_directory`, else
    /// `common.path_prefix` + `/chunks`.
    private static func storageDirectory(_ config: BackendConfig) throws(ConfigError) -> String {
        if !config.storageConfig.filesystem.directory.isEmpty { return config.storageConfig.filesystem.directory }
        if !config.common.storage.filesystem.chunksDirectory.isEmpty {
            return config.common.storage.filesystem.chunksDirectory
        }
        if !config.common.pathPrefix.isEmpty {
            return config.common.pathPrefix.hasSuffix("/")
                ? config.common.pathPrefix + "chunks" : config.common.pathPrefix + "/chunks"
        }
        throw ConfigError(
            file: "", path: "storage_config.filesystem.directory",
            message: "no storage directory configured: set storage_config.filesystem.directory, "
                + "common.storage.filesystem.chunks_directory or common.path_prefix")
    }

    /// `ingester.wal.dir`, else `common.path_prefix` + `/wal`, else Loki's `wal`.
    private static func walDirectory(_ config: BackendConfig) -> String {
        if !config.ingester.wal.dir.isEmpty { return config.ingester.wal.dir }
        let prefix = config.common.pathPrefix
        if prefix.isEmpty { return "wal" }
        return prefix.hasSuffix("/") ? prefix + "wal" : prefix + "/wal"
    }

    /// The period with the latest `from` on or before today (UTC); before the first period, the first.
    static func activePeriod(_ schema: BackendConfig.SchemaConfig, now: Int64) -> BackendConfig.PeriodConfig? {
        let today = CalendarDay(nanoseconds: now)
        return schema.configs.last(where: { $0.from <= today }) ?? schema.configs.first
    }
}

extension Limits {
    /// `limits_config` in the units the write and read paths use.
    init(_ config: BackendConfig.LimitsConfig) {
        self.init()
        ingestionRateBytes = config.ingestionRateMB * 1_048_576
        ingestionBurstBytes = config.ingestionBurstSizeMB * 1_048_576
        perStreamRateBytes = Double(config.perStreamRateLimit)
        perStreamBurstBytes = Double(config.perStreamRateLimitBurst)
        maxLineSize = config.maxLineSize
        maxLineSizeTruncate = config.maxLineSizeTruncate
        maxLabelNamesPerSeries = config.maxLabelNamesPerSeries
        maxLabelNameLength = config.maxLabelNameLength
        maxLabelValueLength = config.maxLabelValueLength
        rejectOldSamples = config.rejectOldSamples
        rejectOldSamplesMaxAge = DurationText.nanoseconds(config.rejectOldSamplesMaxAge)
        creationGracePeriod = DurationText.nanoseconds(config.creationGracePeriod)
        maxStreamsPerUser = config.maxGlobalStreamsPerUser
        maxEntriesLimitPerQuery = config.maxEntriesLimitPerQuery
        maxQueryLength = DurationText.nanoseconds(config.maxQueryLength)
        queryTimeout = DurationText.nanoseconds(config.queryTimeout)
        allowStructuredMetadata = config.allowStructuredMetadata
    }
}

extension IngesterSettings {
    /// The `ingester` block in the units the ingester uses.
    init(_ config: BackendConfig.IngesterConfig, walDirectory: String) {
        self.init()
        wal.enabled = config.wal.enabled
        wal.directory = walDirectory
        wal.checkpointDuration = config.wal.checkpointDuration
        wal.flushOnShutdown = config.wal.flushOnShutdown
        wal.replayMemoryCeiling = config.wal.replayMemoryCeiling
        wal.diskFullThreshold = config.wal.diskFullThreshold
        wal.syncPolicy = config.wal.syncPolicy
        memoryCeiling = config.memoryCeiling > 0 ? config.memoryCeiling : MemoryLimit.defaultIngesterCeiling
        chunkEncoding = config.chunkEncoding
        blockSize = config.chunkBlockSize
        targetSize = config.chunkTargetSize
        idlePeriod = DurationText.nanoseconds(config.chunkIdlePeriod)
        maxChunkAge = DurationText.nanoseconds(config.maxChunkAge)
        flushCheckPeriod = config.flushCheckPeriod
        concurrentFlushes = config.concurrentFlushes
        retainPeriod = DurationText.nanoseconds(config.chunkRetainPeriod)
    }
}
