import Foundation
import Wire
extension BackendSettings {
    /// Resolves a configuration into the settings the modules run with: limits and ingester settings in bytes and
    /// nanoseconds, the object store (the filesystem directory, or S3), the index prefix of the schema period in
    /// force today, and the configuration as YAML for `/config`.
    ///
    /// Throws a `ConfigError` when the object store cannot be set up from the configuration: no storage directory
    /// for the filesystem, no bucket or no credentials for S3, an object store other than those two, or periods
    /// naming different object stores.
    public init(_ config: BackendConfig) throws {
        try self.init(config, now: WallClock.nanoseconds(), environment: ProcessInfo.processInfo.environment)
    }

    /// `now` (Unix nanoseconds) picks the schema period in force; `environment` may hold S3 credentials.
    init(_ config: BackendConfig, now: Int64, environment: [String: String] = [:]) throws(ConfigError) {
        var stores: Set<String> = []
        for (index, period) in config.schemaConfig.configs.enumerated() {
            let store = period.objectStore.isEmpty ? "filesystem" : period.objectStore
            guard ["filesystem", "s3", "aws"].contains(store) else {
                throw ConfigError(
                    file: "", path: "schema_config.configs[\(index)].object_store",
                    message: "object store \"\(period.objectStore)\" is not supported; this version stores chunks "
                        + "and index on the local filesystem (object_store: filesystem) or in S3 (s3 or aws)")
            }
            stores.insert(store == "aws" ? "s3" : store)
        }
        guard stores.count <= 1 else {
            throw ConfigError(
                file: "", path: "schema_config.configs",
                message: "periods on different object stores (\(stores.sorted().joined(separator: ", "))) are not "
                    + "supported yet: every period must name the same object store")
        }
        let s3 = stores.contains("s3") ? try Self.s3(config, environment: environment) : nil
        self.init(
            // Loki's "" listens on every interface; the listener needs an address.
            host: config.server.httpListenAddress.isEmpty ? "0.0.0.0" : config.server.httpListenAddress,
            port: config.server.httpListenPort,
            authEnabled: config.authEnabled,
            maxRequestBytes: config.server.grpcServerMaxRecvMsgSize,
            limits: Limits(config.limitsConfig),
            ingester: IngesterSettings(config.ingester, walDirectory: Self.walDirectory(config)),
            storageDirectory: s3 == nil ? try Self.storageDirectory(config) : "",
            s3: s3,
            indexPrefix: Self.activePeriod(config.schemaConfig, now: now)?.index.prefix ?? "index_",
            configYAML: config.renderYAML(),
            runtimeConfig: RuntimeOverrides.Settings(config))
    }

    /// The S3 store of `storage_config.aws`, else `common.storage.s3`. Credentials come from the configuration,
    /// else from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    static func s3(_ config: BackendConfig, environment: [String: String]) throws(ConfigError) -> S3ObjectStore.Settings {
        let (aws, path) = config.storageConfig.aws.isSet
            ? (config.storageConfig.aws, "storage_config.aws") : (config.common.storage.s3, "common.storage.s3")
        guard aws.isSet else {
            throw ConfigError(file: "", path: "storage_config.aws.bucketnames",
                              message: "object_store is s3, but no bucket is configured: set "
                                + "storage_config.aws.bucketnames or common.storage.s3.bucketnames")
        }
        var settings = S3ObjectStore.Settings()
        settings.region = aws.region.isEmpty ? "us-east-1" : aws.region
        var endpoint = aws.endpoint
        settings.scheme = aws.insecure ? "http" : "https"
        for scheme in ["http", "https"] where endpoint.hasPrefix(scheme + "://") {
            settings.scheme = scheme
            endpoint.removeFirst(scheme.count + 3)
        }
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        settings.endpoint = endpoint.isEmpty
            ? (aws.region.isEmpty ? "s3.amazonaws.com" : "s3.\(aws.region).amazonaws.com") : endpoint
        settings.buckets = aws.bucketNames.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        settings.forcePathStyle = aws.forcePathStyle
        settings.storageClass = aws.storageClass == "STANDARD" ? "" : aws.storageClass
        switch aws.sseType {
        case "SSE-S3": settings.encryption = .s3
        case "SSE-KMS":
            guard !aws.kmsKeyID.isEmpty else {
                throw ConfigError(file: "", path: "\(path).sse.kms_key_id", message: "SSE-KMS needs a kms_key_id")
            }
            settings.encryption = .kms(keyID: aws.kmsKeyID,
                                       context: aws.kmsEncryptionContext.isEmpty ? nil : aws.kmsEncryptionContext)
        default: settings.encryption = nil
        }
        settings.backoff = .dskit(min: aws.backoffMinPeriod, max: aws.backoffMaxPeriod, maxAttempts: aws.maxRetries)
        if !aws.accessKeyID.isEmpty || !aws.secretAccessKey.isEmpty {
            guard !aws.accessKeyID.isEmpty, !aws.secretAccessKey.isEmpty else {
                throw ConfigError(file: "", path: "\(path).access_key_id",
                                  message: "set both access_key_id and secret_access_key, or neither")
            }
            settings.credentials = .init(accessKeyID: aws.accessKeyID, secretAccessKey: aws.secretAccessKey,
                                         sessionToken: aws.sessionToken.isEmpty ? nil : aws.sessionToken)
        } else if let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"],
                  !id.isEmpty, !secret.isEmpty {
            let token = environment["AWS_SESSION_TOKEN"] ?? ""
            settings.credentials = .init(accessKeyID: id, secretAccessKey: secret, sessionToken: token.isEmpty ? nil : token)
        } else {
            throw ConfigError(
                file: "", path: "\(path).access_key_id",
                message: "no S3 credentials: set \(path).access_key_id and secret_access_key, or the environment's "
                    + "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (web identity is not supported yet)")
        }
        return settings
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
    public init(_ config: BackendConfig.LimitsConfig) {
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
        retentionPeriod = DurationText.nanoseconds(config.retentionPeriod)
        retentionStreams = config.retentionStream
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
