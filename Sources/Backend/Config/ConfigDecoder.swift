import Wire
import Yams

/// Reads a composed YAML document into a `BackendConfig`.
///
/// Every section is a `switch` over its keys: each key this version reads has a case; anything else becomes a
/// warning (a Loki key this version does not use, or an unknown key with a "did you mean" when one is close).
/// The first value of the wrong type or out of range stops decoding with a `ConfigError` naming its position.
struct ConfigDecoder {
    let file: String
    let expandEnv: Bool
    private(set) var warnings: [ConfigWarning] = []
    /// Keys brought in by merge keys so far: aliases can make merges grow exponentially, so they are capped.
    private var mergedKeys = 0
    private static let mergedKeyLimit = 10_000

    init(file: String, expandEnv: Bool) {
        self.file = file
        self.expandEnv = expandEnv
    }

    mutating func decode(_ root: Node?) throws(ConfigError) -> BackendConfig {
        var config = BackendConfig()
        guard let root else { return config }
        if case .scalar = root, isNull(root) { return config }
        guard case .mapping = root else {
            throw error(at: root, path: "",
                        "expected a mapping of configuration sections (server:, limits_config:, ...) at the top level, "
                            + "got \(found(root))")
        }
        var defaultIndexLabels: [String]?
        for entry in try entries(of: root, path: "") {
            switch entry.key {
            case "target": try readTarget(entry, into: &config.target)
            case "distributor": try decodeDistributor(entry, defaultIndexLabels: &defaultIndexLabels)
            case "auth_enabled": try readBool(entry, into: &config.authEnabled)
            case "server": try decodeServer(entry, into: &config.server)
            case "common": try decodeCommon(entry, into: &config.common)
            case "schema_config": try decodeSchemaConfig(entry, into: &config.schemaConfig)
            case "storage_config": try decodeStorageConfig(entry, into: &config.storageConfig)
            case "limits_config": try decodeLimits(entry, into: &config.limitsConfig)
            case "ingester": try decodeIngester(entry, into: &config.ingester)
            case "compactor": try decodeCompactor(entry, into: &config.compactor)
            case "runtime_config": try decodeRuntimeConfig(entry, into: &config.runtimeConfig)
            case "querier": try decodeQuerier(entry, into: &config.query)
            case "frontend": try decodeFrontend(entry, into: &config.query)
            case "query_range": try decodeQueryRange(entry, into: &config.query)
            default: ignore(entry, read: LokiKeys.topLevel, loki: LokiKeys.topLevelIgnored)
            }
        }
        // A global key every tenant's OTLP mapping uses, overrides included: it travels inside limits_config.
        if let defaultIndexLabels { config.limitsConfig.otlpConfig.defaultIndexLabels = defaultIndexLabels }
        return config
    }

    // MARK: Sections

    private mutating func decodeServer(_ section: Entry, into server: inout BackendConfig.Server) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "http_listen_address": try readString(entry, into: &server.httpListenAddress)
            case "http_listen_port": try readInt(entry, into: &server.httpListenPort, range: 0...65535)
            case "grpc_server_max_recv_msg_size":
                try readInt(entry, into: &server.grpcServerMaxRecvMsgSize, range: 1...Int.max)
            default: ignore(entry, read: LokiKeys.server, loki: LokiKeys.serverIgnored)
            }
        }
    }

    private mutating func decodeCommon(_ section: Entry, into common: inout BackendConfig.Common) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "path_prefix": try readString(entry, into: &common.pathPrefix)
            case "replication_factor": try readInt(entry, into: &common.replicationFactor, range: 1...Int.max)
            case "storage":
                for storage in try entries(of: entry) {
                    switch storage.key {
                    case "filesystem":
                        for key in try entries(of: storage) {
                            switch key.key {
                            case "chunks_directory":
                                try readString(key, into: &common.storage.filesystem.chunksDirectory)
                            case "rules_directory":
                                try readString(key, into: &common.storage.filesystem.rulesDirectory)
                            default: ignore(key, read: ["chunks_directory", "rules_directory"], loki: [])
                            }
                        }
                    case "s3": try decodeS3(storage, into: &common.storage.s3)
                    default: ignore(storage, read: ["filesystem", "s3"], loki: LokiKeys.objectStores)
                    }
                }
            default: ignore(entry, read: LokiKeys.common, loki: LokiKeys.commonIgnored)
            }
        }
    }

    private mutating func decodeSchemaConfig(
        _ section: Entry, into schema: inout BackendConfig.SchemaConfig
    ) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "configs":
                schema.configs = []
                var previous: (day: CalendarDay, node: Node)?
                for (index, item) in try elements(of: entry).enumerated() {
                    let path = "\(entry.path)[\(index)]"
                    let period = try decodePeriod(item, path: path)
                    if let previous, period.config.from <= previous.day {
                        throw error(at: period.fromNode, path: path + ".from",
                                    "\(period.config.from) is not after the previous period's from (\(previous.day)); "
                                        + "list periods oldest first, each starting on a later day")
                    }
                    previous = (period.config.from, period.fromNode)
                    schema.configs.append(period.config)
                }
            default: ignore(entry, read: ["configs"], loki: [])
            }
        }
    }

    private mutating func decodePeriod(
        _ node: Node, path: String
    ) throws(ConfigError) -> (config: BackendConfig.PeriodConfig, fromNode: Node) {
        guard case .mapping = node else {
            throw error(at: node, path: path,
                        "expected a schema period (a mapping with from:, store:, object_store:, schema:, index:), "
                            + "got \(found(node))")
        }
        var from: (CalendarDay, Node)?
        var period = BackendConfig.PeriodConfig(from: CalendarDay(year: 1970, month: 1, day: 1))
        var schemaSeen = false
        for entry in try entries(of: node, path: path) {
            switch entry.key {
            case "from":
                if let day = try readDay(entry) { from = (day, entry.value) }
            case "store": try readString(entry, into: &period.store)
            case "object_store": try readString(entry, into: &period.objectStore)
            case "schema":
                var schema = ""
                try readString(entry, into: &schema)
                guard schema == "v13" else {
                    throw error(at: entry.value, path: entry.path,
                                "schema \(quote(schema)) is not supported; this version reads and writes only v13 "
                                    + "(Loki's current schema): add a period with schema: v13")
                }
                period.schema = schema
                schemaSeen = true
            case "index":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "prefix": try readString(key, into: &period.index.prefix)
                    case "period":
                        var value = period.index.period
                        try readDuration(key, into: &value, minimum: .nanoseconds(1))
                        guard value == .seconds(24 * 3600) else {
                            throw error(at: key.value, path: key.path,
                                        "index period \(DurationText.prometheusString(DurationText.nanoseconds(value))) "
                                            + "is not supported; only 24h index periods are")
                        }
                        period.index.period = value
                    default: ignore(key, read: ["prefix", "period"], loki: ["tags"])
                    }
                }
            default: ignore(entry, read: LokiKeys.period, loki: LokiKeys.periodIgnored)
            }
        }
        guard let from else {
            throw error(at: node, path: path,
                        "missing from: the first day (UTC) this period applies to, such as from: 2024-01-01")
        }
        guard schemaSeen else {
            throw error(at: node, path: path, "missing schema: this version reads and writes schema: v13")
        }
        period.from = from.0
        return (period, from.1)
    }

    private mutating func decodeStorageConfig(
        _ section: Entry, into storage: inout BackendConfig.StorageConfig
    ) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "filesystem":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "directory": try readString(key, into: &storage.filesystem.directory)
                    default: ignore(key, read: ["directory"], loki: [])
                    }
                }
            case "aws": try decodeS3(entry, into: &storage.aws)
            case "disk_cache":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "directory": try readString(key, into: &storage.diskCache.directory)
                    case "max_size_mb": try readInt(key, into: &storage.diskCache.maxSizeMB)
                    default: ignore(key, read: ["directory", "max_size_mb"], loki: [])
                    }
                }
            default: ignore(entry, read: ["filesystem", "aws", "disk_cache"], loki: LokiKeys.storageConfigIgnored)
            }
        }
    }

    private mutating func decodeCompactor(
        _ section: Entry, into compactor: inout BackendConfig.CompactorConfig
    ) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "working_directory": try readString(entry, into: &compactor.workingDirectory)
            case "compaction_interval":
                try readDuration(entry, into: &compactor.compactionInterval, minimum: .nanoseconds(1))
            case "retention_enabled": try readBool(entry, into: &compactor.retentionEnabled)
            case "retention_delete_delay": try readDuration(entry, into: &compactor.retentionDeleteDelay)
            case "retention_delete_worker_count":
                try readInt(entry, into: &compactor.retentionDeleteWorkerCount, range: 1...Int.max)
            case "delete_request_store": try readString(entry, into: &compactor.deleteRequestStore)
            case "delete_request_cancel_period": try readDuration(entry, into: &compactor.deleteRequestCancelPeriod)
            case "delete_max_interval": try readDuration(entry, into: &compactor.deleteMaxInterval)
            default: ignore(entry, read: LokiKeys.compactor, loki: LokiKeys.compactorIgnored)
            }
        }
    }

    /// `storage_config.aws` or `common.storage.s3`.
    private mutating func decodeS3(_ section: Entry, into s3: inout BackendConfig.S3Config) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "endpoint": try readString(entry, into: &s3.endpoint)
            case "region": try readString(entry, into: &s3.region)
            case "bucketnames": try readString(entry, into: &s3.bucketNames)
            case "access_key_id": try readString(entry, into: &s3.accessKeyID)
            case "secret_access_key": try readString(entry, into: &s3.secretAccessKey, secret: true)
            case "session_token": try readString(entry, into: &s3.sessionToken, secret: true)
            case "s3forcepathstyle": try readBool(entry, into: &s3.forcePathStyle)
            case "insecure": try readBool(entry, into: &s3.insecure)
            case "storage_class": try readString(entry, into: &s3.storageClass)
            case "sse":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "type":
                        try readString(key, into: &s3.sseType)
                        guard ["", "SSE-S3", "SSE-KMS"].contains(s3.sseType) else {
                            throw error(at: key, "expected SSE-S3 or SSE-KMS, got \(quote(s3.sseType))")
                        }
                    case "kms_key_id": try readString(key, into: &s3.kmsKeyID)
                    case "kms_encryption_context": try readString(key, into: &s3.kmsEncryptionContext)
                    default: ignore(key, read: ["type", "kms_key_id", "kms_encryption_context"], loki: [])
                    }
                }
            case "backoff_config":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "min_period": try readDuration(key, into: &s3.backoffMinPeriod)
                    case "max_period": try readDuration(key, into: &s3.backoffMaxPeriod)
                    case "max_retries": try readInt(key, into: &s3.maxRetries)
                    default: ignore(key, read: ["min_period", "max_period", "max_retries"], loki: [])
                    }
                }
            case "s3":
                try readString(entry, into: &s3.url, secret: true)
                guard s3.url.isEmpty || S3URL(s3.url) != nil else {
                    throw error(at: entry, "expected s3://[access_key:secret_key@]endpoint-or-region/bucket")
                }
            case "sts_endpoint": try readString(entry, into: &s3.stsEndpoint)
            case "http_config":
                let keys = ["idle_conn_timeout", "response_header_timeout", "insecure_skip_verify", "ca_file"]
                for key in try entries(of: entry) {
                    switch key.key {
                    case "idle_conn_timeout": try readDuration(key, into: &s3.idleConnTimeout)
                    case "response_header_timeout": try readDuration(key, into: &s3.responseHeaderTimeout)
                    case "insecure_skip_verify": try readBool(key, into: &s3.insecureSkipVerify)
                    case "ca_file": try readString(key, into: &s3.caFile)
                    default: ignore(key, read: keys, loki: ["timeout", "max_idle_connections",
                                                             "max_idle_connections_per_host", "max_connections_per_host"])
                    }
                }
            default: ignore(entry, read: LokiKeys.s3, loki: LokiKeys.s3Ignored)
            }
        }
    }

    mutating func decodeLimits(
        _ section: Entry, into limits: inout BackendConfig.LimitsConfig
    ) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "ingestion_rate_mb": try readFloat(entry, into: &limits.ingestionRateMB)
            case "ingestion_burst_size_mb": try readFloat(entry, into: &limits.ingestionBurstSizeMB)
            case "per_stream_rate_limit": try readSize(entry, into: &limits.perStreamRateLimit)
            case "per_stream_rate_limit_burst": try readSize(entry, into: &limits.perStreamRateLimitBurst)
            case "max_line_size": try readSize(entry, into: &limits.maxLineSize)
            case "max_line_size_truncate": try readBool(entry, into: &limits.maxLineSizeTruncate)
            case "max_label_names_per_series": try readInt(entry, into: &limits.maxLabelNamesPerSeries)
            case "max_label_name_length": try readInt(entry, into: &limits.maxLabelNameLength)
            case "max_label_value_length": try readInt(entry, into: &limits.maxLabelValueLength)
            case "reject_old_samples": try readBool(entry, into: &limits.rejectOldSamples)
            case "reject_old_samples_max_age": try readDuration(entry, into: &limits.rejectOldSamplesMaxAge)
            case "creation_grace_period": try readDuration(entry, into: &limits.creationGracePeriod)
            case "max_global_streams_per_user": try readInt(entry, into: &limits.maxGlobalStreamsPerUser)
            case "max_entries_limit_per_query": try readInt(entry, into: &limits.maxEntriesLimitPerQuery)
            case "max_concurrent_tail_requests":
                try readInt(entry, into: &limits.maxConcurrentTailRequests, range: 0...Int.max)
            case "max_query_length": try readDuration(entry, into: &limits.maxQueryLength)
            case "query_timeout": try readDuration(entry, into: &limits.queryTimeout)
            case "max_query_series": try readInt(entry, into: &limits.maxQuerySeries, range: 0...Int.max)
            case "max_query_lookback": try readDuration(entry, into: &limits.maxQueryLookback)
            case "max_query_parallelism": try readInt(entry, into: &limits.maxQueryParallelism, range: 1...Int.max)
            case "tsdb_max_bytes_per_shard": try readSize(entry, into: &limits.tsdbMaxBytesPerShard)
            case "split_queries_by_interval": try readDuration(entry, into: &limits.splitQueriesByInterval)
            case "max_cache_freshness_per_query": try readDuration(entry, into: &limits.maxCacheFreshnessPerQuery)
            case "allow_structured_metadata": try readBool(entry, into: &limits.allowStructuredMetadata)
            case "discover_service_name": limits.discoverServiceName = try readStringList(entry)
            case "discover_log_levels": try readBool(entry, into: &limits.discoverLogLevels)
            case "otlp_config": try decodeOTLPConfig(entry, into: &limits.otlpConfig)
            case "retention_period": try readDuration(entry, into: &limits.retentionPeriod)
            case "retention_stream": limits.retentionStream = try readRetentionStream(entry)
            case "deletion_mode":
                var text = ""
                try readString(entry, into: &text)
                guard let mode = DeletionMode(rawValue: text) else {
                    throw error(at: entry, "unknown deletion mode \"\(text)\": expected disabled, filter-only or "
                        + "filter-and-delete")
                }
                limits.deletionMode = mode
            case "per_tenant_override_config": try readString(entry, into: &limits.perTenantOverrideConfig)
            case "per_tenant_override_period":
                try readDuration(entry, into: &limits.perTenantOverridePeriod, minimum: .nanoseconds(1))
            default: ignore(entry, read: LokiKeys.limits, loki: LokiKeys.limitsIgnored)
            }
        }
    }

    private mutating func decodeIngester(
        _ section: Entry, into ingester: inout BackendConfig.IngesterConfig
    ) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "chunk_encoding": try readChunkEncoding(entry, into: &ingester.chunkEncoding)
            case "chunk_block_size": try readInt(entry, into: &ingester.chunkBlockSize, range: 1...Int.max)
            case "chunk_target_size": try readInt(entry, into: &ingester.chunkTargetSize)
            case "chunk_idle_period": try readDuration(entry, into: &ingester.chunkIdlePeriod)
            case "max_chunk_age":
                try readDuration(entry, into: &ingester.maxChunkAge, minimum: .nanoseconds(1))
            case "flush_check_period":
                try readDuration(entry, into: &ingester.flushCheckPeriod, minimum: .nanoseconds(1))
            case "concurrent_flushes": try readInt(entry, into: &ingester.concurrentFlushes, range: 1...Int.max)
            case "chunk_retain_period": try readDuration(entry, into: &ingester.chunkRetainPeriod)
            case "wal": try decodeWAL(entry, into: &ingester.wal)
            case "memory_ceiling": try readSize(entry, into: &ingester.memoryCeiling)
            default: ignore(entry, read: LokiKeys.ingester, loki: LokiKeys.ingesterIgnored)
            }
        }
    }

    private mutating func decodeWAL(_ section: Entry, into wal: inout BackendConfig.WALConfig) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "enabled": try readBool(entry, into: &wal.enabled)
            case "dir": try readString(entry, into: &wal.dir)
            case "checkpoint_duration":
                try readDuration(entry, into: &wal.checkpointDuration, minimum: .nanoseconds(1))
            case "flush_on_shutdown": try readBool(entry, into: &wal.flushOnShutdown)
            case "replay_memory_ceiling": try readSize(entry, into: &wal.replayMemoryCeiling)
            case "disk_full_threshold":
                try readFloat(entry, into: &wal.diskFullThreshold)
                guard wal.diskFullThreshold <= 1 else {
                    throw error(at: entry, "must be a fraction between 0 and 1 (0 turns the check off), got \(wal.diskFullThreshold)")
                }
            case "sync_policy":
                guard case .text(let text, _) = try scalar(entry, expected: "segment or always") else { break }
                guard let policy = WALSyncPolicy(rawValue: text) else {
                    throw error(at: entry, "expected segment or always, got \(quote(text))")
                }
                wal.syncPolicy = policy
            default: ignore(entry, read: LokiKeys.wal, loki: [])
            }
        }
    }

    // MARK: Values

    /// `secret`: the value never appears in a warning (S3's secret access key and session token).
    mutating func readString(_ entry: Entry, into target: inout String, secret: Bool = false) throws(ConfigError) {
        guard case .text(let text, _) = try scalar(entry, expected: "a string") else { return }
        if !expandEnv, text.contains("${") {
            warn(entry, "\(entry.path) is \(secret ? "a secret holding ${" : quote(text)), taken as written: "
                    + "pass -config.expand-env=true to expand environment variables")
        }
        target = text
    }

    func readInt(_ entry: Entry, into target: inout Int, range: ClosedRange<Int> = 0...Int.max) throws(ConfigError) {
        guard case .text(let text, let plain) = try scalar(entry, expected: "an integer") else { return }
        guard plain else {
            throw error(at: entry, "expected an integer, got the string \(quote(text)) (write the number without quotes)")
        }
        guard let value = Self.integer(text) else {
            throw error(at: entry, "expected an integer, got \(quote(text))")
        }
        try check(value, in: range, entry)
        target = value
    }

    private func check(_ value: Int, in range: ClosedRange<Int>, _ entry: Entry) throws(ConfigError) {
        guard range.contains(value) else {
            let bound = range.upperBound == .max
                ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            throw error(at: entry, "must be \(bound), got \(value)")
        }
    }

    func readBool(_ entry: Entry, into target: inout Bool) throws(ConfigError) {
        guard case .text(let text, _) = try scalar(entry, expected: "true or false") else { return }
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": target = true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": target = false
        default: throw error(at: entry, "expected true or false, got \(quote(text))")
        }
    }

    private func readFloat(_ entry: Entry, into target: inout Double) throws(ConfigError) {
        guard case .text(let text, let plain) = try scalar(entry, expected: "a number") else { return }
        guard plain else {
            throw error(at: entry, "expected a number, got the string \(quote(text)) (write the number without quotes)")
        }
        guard let value = Self.number(text) else {
            throw error(at: entry, "expected a number such as 4 or 1.5, got \(quote(text))")
        }
        guard value >= 0 else { throw error(at: entry, "must not be negative, got \(text)") }
        target = value
    }

    private func readSize(_ entry: Entry, into target: inout Int) throws(ConfigError) {
        guard case .text(let text, _) = try scalar(entry, expected: "a size such as 256KB or 1MB") else { return }
        switch ByteSizeText.parse(text) {
        case .success(let bytes): target = bytes
        case .failure(.negative): throw error(at: entry, "must not be negative, got \(quote(text))")
        case .failure(.tooLarge): throw error(at: entry, "size \(quote(text)) is too large")
        case .failure(.syntax):
            throw error(at: entry, "expected a size such as 256KB or 1MB, got \(quote(text))")
        }
    }

    func readDuration(
        _ entry: Entry, into target: inout Duration, minimum: Duration = .zero
    ) throws(ConfigError) {
        guard case .text(let text, _) = try scalar(entry, expected: "a duration such as 30s, 5m or 1h") else { return }
        let expected = "expected a duration such as 30s, 5m or 1h"
        switch DurationText.parse(text) {
        case .success(let ns):
            let value = Duration.nanoseconds(ns)
            guard value >= minimum else {
                throw error(at: entry, "must be longer than 0s, got \(quote(text))")
            }
            target = value
        case .failure(.missingUnit):
            throw error(at: entry, "\(expected), got \(quote(text)): a duration needs a unit (ns, us, ms, s, m, h, d, w, y)")
        case .failure(.unknownUnit(let unit)):
            throw error(at: entry,
                        "\(expected), got \(quote(text)): unknown unit \(quote(unit)) (use ns, us, ms, s, m, h, d, w or y)")
        case .failure(.negative): throw error(at: entry, "must not be negative, got \(quote(text))")
        case .failure(.tooLarge): throw error(at: entry, "duration \(quote(text)) is too long (at most about 292 years)")
        case .failure(.syntax): throw error(at: entry, "\(expected), got \(quote(text))")
        }
    }

    private func readDay(_ entry: Entry) throws(ConfigError) -> CalendarDay? {
        guard case .text(let text, _) = try scalar(entry, expected: "a date such as 2024-01-01") else { return nil }
        guard let day = CalendarDay(text) else {
            throw error(at: entry, "expected a date such as 2024-01-01 (YYYY-MM-DD), got \(quote(text))")
        }
        return day
    }

    private func readTarget(_ entry: Entry, into target: inout Target) throws(ConfigError) {
        guard case .text(let text, _) = try scalar(entry, expected: "a target such as all") else { return }
        guard let value = Target(rawValue: text) else {
            let names = Target.allCases.map(\.rawValue).joined(separator: ", ")
            let detail = text.contains(",") ? " (a list of targets is not supported yet)" : ""
            throw error(at: entry, "expected one of \(names), got \(quote(text))\(detail)")
        }
        target = value
    }

    private func readChunkEncoding(_ entry: Entry, into target: inout ChunkEncoding) throws(ConfigError) {
        guard case .text(let text, _) = try scalar(entry, expected: "a chunk encoding such as gzip or snappy") else { return }
        let supported = ChunkEncoding.allCases.map(\.rawValue)
        // Loki matches encoding names case-insensitively.
        if let encoding = ChunkEncoding.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) {
            target = encoding
            return
        }
        if LokiKeys.lokiOnlyChunkEncodings.contains(text.lowercased()) {
            throw error(at: entry,
                        "chunk encoding \(quote(text)) is not supported yet; use one of \(supported.joined(separator: ", "))")
        }
        throw error(at: entry, "expected one of \(supported.joined(separator: ", ")), got \(quote(text))")
    }

    // MARK: Structure

    /// A key of a mapping with its value and its dotted path.
    struct Entry {
        let key: String
        let path: String
        let keyNode: Node
        let value: Node
    }

    enum ScalarValue {
        case null
        /// `plain` is false for quoted and block scalars, and for `!!str`.
        case text(String, plain: Bool)
    }

    mutating func entries(of section: Entry) throws(ConfigError) -> [Entry] {
        try entries(of: section.value, path: section.path)
    }

    /// The keys of a mapping, with YAML merge keys (`<<: *defaults`) resolved; a null value has no keys.
    mutating func entries(of node: Node, path: String) throws(ConfigError) -> [Entry] {
        if isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            throw error(at: node, path: path, "expected a mapping, got \(found(node))")
        }
        var explicit: [Entry] = []
        var merged: [Entry] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                let owner = path.isEmpty ? "a" : path + " has a"
                warn(at: keyNode, path: path, "\(owner) key that is not a name (\(found(keyNode))) (ignored)")
                continue
            }
            if key.string == "<<", key.style == .plain || key.style == .any {
                merged += try mergeSources(value, path: path)
                continue
            }
            explicit.append(Entry(key: key.string, path: path.isEmpty ? key.string : path + "." + key.string,
                                  keyNode: keyNode, value: value))
        }
        // Keys written in the mapping win over merged ones; among merged sources the first wins, as in YAML 1.1.
        var seen = Set(explicit.map(\.key))
        var result: [Entry] = []
        for entry in merged where !seen.contains(entry.key) {
            seen.insert(entry.key)
            result.append(entry)
        }
        return result + explicit
    }

    private mutating func mergeSources(_ value: Node, path: String) throws(ConfigError) -> [Entry] {
        let sources: [Node]
        switch value {
        case .mapping: sources = [value]
        case .sequence(let sequence): sources = Array(sequence)
        default: sources = [value]
        }
        var result: [Entry] = []
        for source in sources {
            guard case .mapping = source else {
                throw error(at: source, path: path,
                            "a merge key (<<) takes a mapping or a list of mappings, got \(found(source))")
            }
            let merged = try entries(of: source, path: path)
            mergedKeys += merged.count
            guard mergedKeys <= Self.mergedKeyLimit else {
                throw error(at: value, path: path,
                            "merge keys (<<) bring in more than \(Self.mergedKeyLimit) keys; the aliases repeat too deeply")
            }
            result += merged
        }
        return result
    }

    func elements(of entry: Entry) throws(ConfigError) -> [Node] {
        if isNull(entry.value) { return [] }
        guard case .sequence(let sequence) = entry.value else {
            throw error(at: entry, "expected a list, got \(found(entry.value))")
        }
        return Array(sequence)
    }

    func scalar(_ entry: Entry, expected: String) throws(ConfigError) -> ScalarValue {
        switch entry.value {
        case .scalar(let scalar):
            if isNull(entry.value) { return .null }
            let explicitString = scalar.tag.description == Tag.Name.str.rawValue
            let plain = (scalar.style == .plain || scalar.style == .any) && !explicitString
            return .text(scalar.string, plain: plain)
        default:
            throw error(at: entry, "expected \(expected), got \(found(entry.value))")
        }
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        if scalar.tag.description == Tag.Name.str.rawValue { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    // MARK: Warnings and errors

    mutating func ignore(_ entry: Entry, read: [String], loki: Set<String>) {
        if loki.contains(entry.key) {
            warn(entry, "\(entry.path) is a Loki setting this version does not use (ignored)")
            return
        }
        var message = "unknown key \(entry.path) (ignored)"
        if let suggestion = Self.closest(to: entry.key, in: read) {
            message = "unknown key \(entry.path) (ignored; did you mean \(suggestion)?)"
        }
        warn(entry, message)
    }

    private mutating func warn(_ entry: Entry, _ message: String) {
        warn(at: entry.keyNode, path: entry.path, message)
    }

    private mutating func warn(at node: Node, path: String, _ message: String) {
        let mark = node.mark
        warnings.append(ConfigWarning(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, path: path,
                                      message: message))
    }

    func error(at entry: Entry, _ message: String) -> ConfigError {
        error(at: entry.value, path: entry.path, message, fallback: entry.keyNode)
    }

    func error(at node: Node, path: String, _ message: String, fallback: Node? = nil) -> ConfigError {
        let mark = node.mark ?? fallback?.mark
        var text = message
        if !expandEnv, case .scalar(let scalar) = node, scalar.string.contains("${") {
            text += " (pass -config.expand-env=true to expand environment variables)"
        }
        return ConfigError(file: file, line: mark?.line, column: mark?.column, path: path, message: text)
    }

    /// How a value reads in a message: scalars quoted, collections by kind.
    func found(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): quote(scalar.string)
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// Go's `%q` quoting, shortened past 60 characters (`"…"` before the closing quote).
    func quote(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > 60 else { return GoQuote.quote(text) }
        let quoted = GoQuote.quote(String(String.UnicodeScalarView(scalars.prefix(60))))
        return quoted.dropLast() + "…\""
    }

    // MARK: Scalar syntax

    /// A YAML integer: decimal, `0x`, `0o` or `0b`, optional sign, `_` separators.
    static func integer(_ text: String) -> Int? {
        var digits = Substring(String(text.filter { $0 != "_" }))
        var negative = false
        if let first = digits.first, first == "-" || first == "+" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.hasPrefix(prefix) {
            radix = base
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, let magnitude = UInt(digits, radix: radix) else { return nil }
        if negative {
            return magnitude <= UInt(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt(Int.max) ? Int(magnitude) : nil
    }

    /// A finite YAML number: an integer or a decimal with optional exponent.
    static func number(_ text: String) -> Double? {
        let cleaned = String(text.filter { $0 != "_" })
        guard !cleaned.isEmpty,
              cleaned.unicodeScalars.allSatisfy({ "0123456789+-.eE".unicodeScalars.contains($0) }),
              cleaned.unicodeScalars.contains(where: { $0.properties.numericType != nil }),
              let value = Double(cleaned), value.isFinite
        else { return nil }
        return value
    }

    /// The candidate within edit distance 2 (1 for short keys) of `key`, if exactly one is closest.
    static func closest(to key: String, in candidates: [String]) -> String? {
        let limit = key.count <= 4 ? 1 : 2
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(Array(key.unicodeScalars), Array(candidate.unicodeScalars))
            if distance <= limit, distance < (best?.1 ?? .max) { best = (candidate, distance) }
        }
        return best?.0
    }

    private static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

