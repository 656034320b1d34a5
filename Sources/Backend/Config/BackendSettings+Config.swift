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
        try Self.checkDeleteRequestStore(config.compactor.deleteRequestStore, inUse: stores.first ?? "filesystem")
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
            diskCache: s3 == nil ? nil : try Self.diskCache(config),
            indexPrefix: Self.activePeriod(config.schemaConfig, now: now)?.index.prefix ?? "index_",
            configYAML: config.renderYAML(),
            runtimeConfig: RuntimeOverrides.Settings(config),
            compactor: CompactorSettings(config.compactor))
        frontend = QueryFrontend.Settings(config.query)
    }

    /// `compactor.delete_request_store` must be empty or name the object store the chunks are in: delete
    /// requests are kept beside them (`compactor/delete_requests/`), and Estuary has no other store for them.
    static func checkDeleteRequestStore(_ name: String, inUse: String) throws(ConfigError) {
        let named = name == "aws" ? "s3" : name
        guard !named.isEmpty, named != inUse else { return }
        throw ConfigError(
            file: "", path: "compactor.delete_request_store",
            message: "\"\(name)\" is not the object store in use (\(inUse)); delete requests are kept in the object "
                + "store that holds the chunks: set delete_request_store to \(inUse) or leave it out")
    }

    /// The S3 store of `storage_config.aws`, else `common.storage.s3`. The URL form (`s3`) fills in what the
    /// other keys leave empty. Credentials come, in this order, from the configuration; from `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; from web identity (`AWS_ROLE_ARN` and
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`, IRSA on EKS).
    static func s3(_ config: BackendConfig, environment: [String: String]) throws(ConfigError) -> S3ObjectStore.Settings {
        let (aws, path) = config.storageConfig.aws.isSet
            ? (config.storageConfig.aws, "storage_config.aws") : (config.common.storage.s3, "common.storage.s3")
        guard aws.isSet else {
            throw ConfigError(file: "", path: "storage_config.aws.bucketnames",
                              message: "object_store is s3, but no bucket is configured: set "
                                + "storage_config.aws.bucketnames or common.storage.s3.bucketnames")
        }
        let url = aws.url.isEmpty ? nil : S3URL(aws.url)
        var settings = S3ObjectStore.Settings()
        let region = !aws.region.isEmpty ? aws.region
            : !(url?.region ?? "").isEmpty ? url?.region ?? "" : environment["AWS_REGION"] ?? ""
        settings.region = region.isEmpty ? "us-east-1" : region
        var endpoint = aws.endpoint
        settings.scheme = aws.insecure ? "http" : "https"
        if endpoint.isEmpty, let url, !url.endpoint.isEmpty {
            // Loki reaches an endpoint named in the URL over plain HTTP.
            endpoint = url.endpoint
            settings.scheme = "http"
        }
        for scheme in ["http", "https"] where endpoint.hasPrefix(scheme + "://") {
            settings.scheme = scheme
            endpoint.removeFirst(scheme.count + 3)
        }
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        settings.endpoint = endpoint.isEmpty
            ? (region.isEmpty ? "s3.amazonaws.com" : "s3.\(region).amazonaws.com") : endpoint
        settings.buckets = (aws.bucketNames.isEmpty ? url?.bucket ?? "" : aws.bucketNames).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // Loki's URL form is always path style.
        settings.forcePathStyle = aws.forcePathStyle || url != nil
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
        settings.http.idleConnectionTimeout = aws.idleConnTimeout
        settings.http.responseHeaderTimeout = aws.responseHeaderTimeout == .zero ? nil : aws.responseHeaderTimeout
        settings.http.insecureSkipVerify = aws.insecureSkipVerify
        settings.http.caFile = aws.caFile
        (settings.credentials, settings.credentialsNote) = try credentials(
            aws, url: url, path: path, region: region, environment: environment)
        return settings
    }

    /// The first source of credentials that has them, and why the ones before it had none.
    private static func credentials(
        _ aws: BackendConfig.S3Config, url: S3URL?, path: String, region: String, environment: [String: String]
    ) throws(ConfigError) -> (S3CredentialSource, String) {
        let key = aws.accessKeyID.isEmpty ? url?.accessKeyID ?? "" : aws.accessKeyID
        let secret = aws.secretAccessKey.isEmpty ? url?.secretAccessKey ?? "" : aws.secretAccessKey
        if !key.isEmpty || !secret.isEmpty {
            guard !key.isEmpty, !secret.isEmpty else {
                throw ConfigError(file: "", path: "\(path).access_key_id",
                                  message: "set both access_key_id and secret_access_key, or neither")
            }
            let keys = SigV4Signer.Credentials(accessKeyID: key, secretAccessKey: secret,
                                               sessionToken: aws.sessionToken.isEmpty ? nil : aws.sessionToken)
            return (.fixed(keys, origin: path), "")
        }
        var passed = ["\(path) has no access_key_id and secret_access_key"]
        let id = environment["AWS_ACCESS_KEY_ID"] ?? "", envSecret = environment["AWS_SECRET_ACCESS_KEY"] ?? ""
        if !id.isEmpty, !envSecret.isEmpty {
            let token = environment["AWS_SESSION_TOKEN"] ?? ""
            let keys = SigV4Signer.Credentials(accessKeyID: id, secretAccessKey: envSecret,
                                               sessionToken: token.isEmpty ? nil : token)
            return (.fixed(keys, origin: "the environment (AWS_ACCESS_KEY_ID)"), passed.joined(separator: "; "))
        }
        passed.append(id.isEmpty && envSecret.isEmpty
            ? "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
            : "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set")
        let role = environment["AWS_ROLE_ARN"] ?? "", tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"] ?? ""
        if !role.isEmpty, !tokenFile.isEmpty {
            var sts = aws.stsEndpoint.isEmpty ? environment["AWS_ENDPOINT_URL_STS"] ?? "" : aws.stsEndpoint
            if sts.isEmpty { sts = region.isEmpty ? "https://sts.amazonaws.com" : "https://sts.\(region).amazonaws.com" }
            if !sts.contains("://") { sts = "https://" + sts }
            let session = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 }
                ?? "estuary-\(WallClock.nanoseconds() / 1_000_000)"
            let identity = S3CredentialSource.WebIdentity(roleARN: role, tokenFile: tokenFile, sessionName: session,
                                                          stsEndpoint: sts)
            return (.webIdentity(identity), passed.joined(separator: "; "))
        }
        passed.append(role.isEmpty && tokenFile.isEmpty
            ? "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set (no web identity)"
            : "only one of AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE is set")
        throw ConfigError(file: "", path: "\(path).access_key_id",
                          message: "no S3 credentials: " + passed.joined(separator: "; "))
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

    /// The read cache in front of S3: `storage_config.disk_cache.directory`, else `common.path_prefix` + `/cache`;
    /// none when neither is set or `max_size_mb` is 0.
    /// The cache deletes whatever files its directory holds past its size, so a directory that holds or lies within
    /// the WAL is refused.
    private static func diskCache(_ config: BackendConfig) throws(ConfigError) -> BackendSettings.DiskCache? {
        let cache = config.storageConfig.diskCache
        guard cache.maxSizeMB > 0 else { return nil }
        var directory = cache.directory
        if directory.isEmpty {
            let prefix = config.common.pathPrefix
            guard !prefix.isEmpty else { return nil }
            directory = prefix.hasSuffix("/") ? prefix + "cache" : prefix + "/cache"
        }
        let cachePath = URL(fileURLWithPath: directory).standardizedFileURL.path
        let walPath = URL(fileURLWithPath: walDirectory(config)).standardizedFileURL.path
        if cachePath == walPath || walPath.hasPrefix(cachePath + "/") || cachePath.hasPrefix(walPath + "/") {
            throw ConfigError(
                file: "", path: "storage_config.disk_cache.directory",
                message: "the read cache directory \(cachePath) overlaps the WAL directory \(walPath): the cache "
                    + "deletes files in its directory, so give it one of its own")
        }
        return .init(directory: directory, maxBytes: cache.maxSizeMB << 20)
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
        maxConcurrentTailRequests = config.maxConcurrentTailRequests
        maxQueryLength = DurationText.nanoseconds(config.maxQueryLength)
        queryTimeout = DurationText.nanoseconds(config.queryTimeout)
        maxQuerySeries = config.maxQuerySeries
        maxQueryLookback = DurationText.nanoseconds(config.maxQueryLookback)
        maxQueryParallelism = config.maxQueryParallelism
        tsdbMaxBytesPerShard = config.tsdbMaxBytesPerShard
        splitQueriesByInterval = DurationText.nanoseconds(config.splitQueriesByInterval)
        maxCacheFreshness = DurationText.nanoseconds(config.maxCacheFreshnessPerQuery)
        allowStructuredMetadata = config.allowStructuredMetadata
        discoverServiceName = config.discoverServiceName
        discoverLogLevels = config.discoverLogLevels
        otlpConfig = config.otlpConfig
        retentionPeriod = DurationText.nanoseconds(config.retentionPeriod)
        retentionStreams = config.retentionStream
        deletionMode = config.deletionMode
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

extension CompactorSettings {
    /// `compactor.*` in the units the compactor uses.
    init(_ config: BackendConfig.CompactorConfig) {
        self.init()
        interval = config.compactionInterval
        retentionEnabled = config.retentionEnabled
        deleteDelay = config.retentionDeleteDelay
        deleteWorkers = config.retentionDeleteWorkerCount
        deleteRequestCancelPeriod = config.deleteRequestCancelPeriod
        deleteMaxInterval = config.deleteMaxInterval
    }
}
