/// Which modules a backend process runs (`target`, `-target`), with Loki's names.
public enum Target: String, Sendable, CaseIterable {
    case all
    case distributor
    case ingester
    case querier
    case queryFrontend = "query-frontend"
    case indexGateway = "index-gateway"
    case compactor
    case read
    case write
    case backend
}

/// The backend's configuration: the part of Loki's YAML configuration this version reads, with Loki's key names
/// and Loki's defaults.
///
/// `ConfigLoader` builds it from a file; `BackendSettings(config)` turns it into the units the modules use;
/// `renderYAML()` writes it back for `/config`. Sizes are bytes, durations are `Duration`s.
public struct BackendConfig: Sendable, Equatable {
    /// `target`: the modules to run.
    public var target: Target = .all
    /// `auth_enabled`: when true every request needs `X-Scope-OrgID`; when false everything is tenant `fake`.
    /// Loki's default is true.
    public var authEnabled: Bool = true
    public var server = Server()
    public var common = Common()
    public var schemaConfig = SchemaConfig()
    public var storageConfig = StorageConfig()
    public var limitsConfig = LimitsConfig()
    public var ingester = IngesterConfig()
    public var compactor = CompactorConfig()
    public var runtimeConfig = RuntimeConfig()
    /// `querier`, `frontend` and `query_range`.
    public var query = QueryConfig()

    /// Loki's defaults for every key.
    public init() {}

    /// `compactor`.
    public struct CompactorConfig: Sendable, Equatable {
        /// `working_directory`: read for compatibility; markers live in the object store.
        public var workingDirectory = ""
        public var compactionInterval: Duration = .seconds(600)
        public var retentionEnabled = false
        public var retentionDeleteDelay: Duration = .seconds(7200)
        public var retentionDeleteWorkerCount = 150
        /// `delete_request_store`: where delete requests are kept; empty or the object store in use (they are
        /// always kept there, under `compactor/delete_requests/`).
        public var deleteRequestStore = ""
        /// `delete_request_cancel_period`: how long a delete request can be cancelled before it is carried out.
        public var deleteRequestCancelPeriod: Duration = .seconds(24 * 3600)
        /// `delete_max_interval`: the largest `max_interval` a delete request with line filters may name.
        public var deleteMaxInterval: Duration = .seconds(24 * 3600)

        public init() {}
    }

    /// `server`.
    public struct Server: Sendable, Equatable {
        /// `http_listen_address`; empty listens on every interface.
        public var httpListenAddress: String = ""
        /// `http_listen_port`; 0 picks a free port.
        public var httpListenPort: Int = 3100
        /// `grpc_server_max_recv_msg_size`, bytes: the largest request body (compressed or decompressed) accepted.
        public var grpcServerMaxRecvMsgSize: Int = 4_194_304

        public init() {}
    }

    /// `common`: settings several modules share.
    public struct Common: Sendable, Equatable {
        /// `path_prefix`: the directory under which data goes when nothing more specific is set.
        public var pathPrefix: String = ""
        public var storage = Storage()
        /// `replication_factor`: how many ingesters receive each stream (one process runs one ingester).
        public var replicationFactor: Int = 3

        public init() {}

        /// `common.storage`.
        public struct Storage: Sendable, Equatable {
            public var filesystem = Filesystem()
            /// `common.storage.s3`: used when `storage_config.aws` sets no bucket.
            public var s3 = S3Config()

            public init() {}
        }

        /// `common.storage.filesystem`.
        public struct Filesystem: Sendable, Equatable {
            /// `chunks_directory`.
            public var chunksDirectory: String = ""
            /// `rules_directory` (read for compatibility; the ruler is not part of this version).
            public var rulesDirectory: String = ""

            public init() {}
        }
    }

    /// `schema_config`: which schema and index each period of time uses.
    public struct SchemaConfig: Sendable, Equatable {
        /// `configs`, oldest first.
        public var configs: [PeriodConfig] = []

        public init() {}
    }

    /// One entry of `schema_config.configs`.
    public struct PeriodConfig: Sendable, Equatable {
        /// `from`: the first day (UTC) this period applies to.
        public var from: CalendarDay
        /// `store`: the index type (`tsdb` in current Loki configs).
        public var store: String = ""
        /// `object_store`: where chunks and index live: `filesystem`, or `s3` / `aws`.
        public var objectStore: String = ""
        /// `schema`: only `v13` is accepted.
        public var schema: String = "v13"
        public var index = IndexConfig()

        public init(from: CalendarDay, store: String = "", objectStore: String = "", schema: String = "v13",
                    index: IndexConfig = IndexConfig()) {
            self.from = from
            self.store = store
            self.objectStore = objectStore
            self.schema = schema
            self.index = index
        }
    }

    /// `schema_config.configs[].index`.
    public struct IndexConfig: Sendable, Equatable {
        /// `prefix` of the index tables.
        public var prefix: String = "index_"
        /// `period` of one index table; only 24h is accepted.
        public var period: Duration = .seconds(24 * 3600)

        public init(prefix: String = "index_", period: Duration = .seconds(24 * 3600)) {
            self.prefix = prefix
            self.period = period
        }
    }

    /// `storage_config`.
    public struct StorageConfig: Sendable, Equatable {
        public var filesystem = Filesystem()
        /// `storage_config.aws`.
        public var aws = S3Config()
        /// `storage_config.disk_cache` (Estuary's own): the local read cache in front of S3.
        public var diskCache = DiskCache()

        public init() {}

        /// `storage_config.disk_cache.{directory, max_size_mb}`.
        public struct DiskCache: Sendable, Equatable {
            /// Empty: `common.path_prefix` + `/cache`.
            public var directory = ""
            /// MiB; 0 turns the cache off.
            public var maxSizeMB = 1024

            public init() {}
        }

        /// `storage_config.filesystem`.
        public struct Filesystem: Sendable, Equatable {
            /// `directory`: root of the filesystem object store.
            public var directory: String = ""

            public init() {}
        }
    }

    /// `storage_config.aws` and `common.storage.s3`: Loki's S3 client keys, with Loki's defaults.
    public struct S3Config: Sendable, Equatable {
        /// `endpoint`: host and optional port (`s3.eu-west-1.amazonaws.com`, `127.0.0.1:9000`); empty: AWS's
        /// endpoint of `region`.
        public var endpoint = ""
        public var region = ""
        /// `bucketnames`: comma-separated; objects are spread over them by a hash of their key.
        public var bucketNames = ""
        public var accessKeyID = ""
        public var secretAccessKey = ""
        public var sessionToken = ""
        /// `s3forcepathstyle`.
        public var forcePathStyle = false
        /// `insecure`: plain HTTP.
        public var insecure = false
        /// `storage_class`.
        public var storageClass = "STANDARD"
        /// `sse.type` (`SSE-S3`, `SSE-KMS`, or empty), `sse.kms_key_id`, `sse.kms_encryption_context`.
        public var sseType = ""
        public var kmsKeyID = ""
        public var kmsEncryptionContext = ""
        /// `backoff_config.{min_period, max_period, max_retries}`.
        public var backoffMinPeriod: Duration = .milliseconds(100)
        public var backoffMaxPeriod: Duration = .seconds(3)
        public var maxRetries = 5
        /// `s3`: the URL form, `s3://key:secret@endpoint/bucket` or `s3://region/bucket`; the other keys, when
        /// set, take precedence over what it says.
        public var url = ""
        /// `sts_endpoint`: where web identity credentials are asked for; empty: AWS's STS of the region.
        public var stsEndpoint = ""
        /// `http_config.{idle_conn_timeout, response_header_timeout, insecure_skip_verify, ca_file}`.
        public var idleConnTimeout: Duration = .seconds(90)
        public var responseHeaderTimeout: Duration = .zero
        public var insecureSkipVerify = false
        public var caFile = ""

        public init() {}

        /// Whether any bucket is set: the section is in use.
        public var isSet: Bool { !bucketNames.isEmpty || !url.isEmpty }
    }

    /// `limits_config`: the limits every tenant gets.
    public struct LimitsConfig: Sendable, Equatable {
        /// `ingestion_rate_mb`: per-tenant ingestion rate, MiB (2^20 bytes) per second.
        public var ingestionRateMB: Double = 4
        /// `ingestion_burst_size_mb`: per-tenant burst, MiB.
        public var ingestionBurstSizeMB: Double = 6
        /// `per_stream_rate_limit`: bytes per second per stream.
        public var perStreamRateLimit: Int = 3 << 20
        /// `per_stream_rate_limit_burst`: bytes per stream.
        public var perStreamRateLimitBurst: Int = 15 << 20
        /// `max_line_size`: bytes; 0 disables the check.
        public var maxLineSize: Int = 256 << 10
        /// `max_line_size_truncate`: truncate long lines instead of rejecting them.
        public var maxLineSizeTruncate: Bool = false
        /// `max_label_names_per_series`.
        public var maxLabelNamesPerSeries: Int = 15
        /// `max_label_name_length`.
        public var maxLabelNameLength: Int = 1024
        /// `max_label_value_length`.
        public var maxLabelValueLength: Int = 2048
        /// `reject_old_samples`.
        public var rejectOldSamples: Bool = true
        /// `reject_old_samples_max_age`.
        public var rejectOldSamplesMaxAge: Duration = .seconds(7 * 24 * 3600)
        /// `creation_grace_period`: how far in the future an entry may be.
        public var creationGracePeriod: Duration = .seconds(10 * 60)
        /// `max_global_streams_per_user`: active streams per tenant; 0 disables the limit.
        public var maxGlobalStreamsPerUser: Int = 5000
        /// `max_entries_limit_per_query`.
        public var maxEntriesLimitPerQuery: Int = 5000
        /// `max_concurrent_tail_requests`: live tails the tenant may hold open at once.
        public var maxConcurrentTailRequests: Int = 10
        /// `max_query_length`: the longest time range a query may cover; 0 disables the check.
        public var maxQueryLength: Duration = .seconds(721 * 3600)
        /// `query_timeout`: how long a query may run before it is stopped with a 504; 0 disables the limit.
        public var queryTimeout: Duration = .seconds(60)
        /// `max_query_series`: the most series a metric query may answer with; 0 disables the limit.
        public var maxQuerySeries: Int = 500
        /// `max_query_lookback`: how far back queries may read; older parts of a query's range are left out.
        /// 0 disables the limit.
        public var maxQueryLookback: Duration = .zero
        /// `max_query_parallelism`: pieces of one query the frontend runs at once.
        public var maxQueryParallelism: Int = 32
        /// `tsdb_max_bytes_per_shard`: the frontend runs a shardable metric query as enough shards that each
        /// reads about this many bytes by the index statistics (at most `max_query_parallelism` shards).
        public var tsdbMaxBytesPerShard: Int = 600 << 20
        /// `split_queries_by_interval`: the frontend splits range queries into pieces this long; 0 disables it.
        public var splitQueriesByInterval: Duration = .seconds(3600)
        /// `max_cache_freshness_per_query`: pieces of a query newer than this are never cached.
        public var maxCacheFreshnessPerQuery: Duration = .seconds(600)
        /// `allow_structured_metadata`.
        public var allowStructuredMetadata: Bool = true
        /// `discover_service_name`: labels whose value becomes `service_name` when a stream has none, first found
        /// wins; empty turns the discovery off.
        public var discoverServiceName: [String] = Limits.lokiDiscoverServiceName
        /// `discover_log_levels`: add `detected_level` structured metadata to every entry that has none.
        public var discoverLogLevels: Bool = true
        /// `otlp_config`: how OTLP attributes become labels and structured metadata.
        public var otlpConfig = OTLPConfig()
        /// `retention_period`: how long the compactor keeps a tenant's streams; 0 keeps them forever.
        public var retentionPeriod: Duration = .zero
        /// `retention_stream`: retention per stream selector, each period at least 24h.
        public var retentionStream: [RetentionStreamRule] = []
        /// `deletion_mode`: `disabled`, `filter-only` or `filter-and-delete` (Loki's default).
        public var deletionMode: DeletionMode = .filterAndDelete
        /// `per_tenant_override_config` (deprecated in Loki): the runtime configuration file, used when
        /// `runtime_config.file` is empty.
        public var perTenantOverrideConfig: String = ""
        /// `per_tenant_override_period` (deprecated in Loki): the reload period, used when `runtime_config.file`
        /// is empty.
        public var perTenantOverridePeriod: Duration = .seconds(10)

        public init() {}
    }

    /// `ingester`.
    public struct IngesterConfig: Sendable, Equatable {
        /// `chunk_encoding`: Loki's default is gzip.
        public var chunkEncoding: ChunkEncoding = .gzip
        /// `chunk_block_size`: uncompressed bytes per block.
        public var chunkBlockSize: Int = 262_144
        /// `chunk_target_size`: compressed bytes per chunk.
        public var chunkTargetSize: Int = 1_572_864
        /// `chunk_idle_period`: flush a chunk that received nothing for this long.
        public var chunkIdlePeriod: Duration = .seconds(30 * 60)
        /// `max_chunk_age`: flush a chunk once it spans this long.
        public var maxChunkAge: Duration = .seconds(2 * 3600)
        /// `flush_check_period`: how often chunks are checked for flushing.
        public var flushCheckPeriod: Duration = .seconds(30)
        /// `concurrent_flushes`.
        public var concurrentFlushes: Int = 32
        /// `chunk_retain_period`: how long a flushed chunk stays in memory.
        public var chunkRetainPeriod: Duration = .zero
        /// `wal`.
        public var wal = WALConfig()
        /// `memory_ceiling` (Estuary's own key), in bytes: 0 means the default, half of the cgroup memory limit
        /// (or of physical memory without one).
        public var memoryCeiling = 0

        public init() {}
    }

    /// `ingester.wal`, with Loki's defaults.
    public struct WALConfig: Sendable, Equatable {
        /// `enabled`.
        public var enabled = true
        /// `dir`: empty means `<common.path_prefix>/wal`, or `wal` without a path prefix (Loki's default).
        public var dir = ""
        /// `checkpoint_duration`.
        public var checkpointDuration: Duration = .seconds(300)
        /// `flush_on_shutdown`.
        public var flushOnShutdown = false
        /// `replay_memory_ceiling`, in bytes.
        public var replayMemoryCeiling = 4 << 30
        /// `disk_full_threshold`: a fraction of the filesystem; 0 turns it off.
        public var diskFullThreshold = 0.90
        /// `sync_policy` (Estuary's own key): `segment` or `always`.
        public var syncPolicy: WALSyncPolicy = .segment

        public init() {}
    }

    /// The configuration `estuary` runs with no configuration file: the backend on port 3100 on loopback only (it
    /// has no authentication, so it is not open to the network unless asked), data under `./data`.
    /// `config/backend-local.yaml` is the same configuration as a file.
    public static var quickstart: BackendConfig {
        var config = BackendConfig()
        config.authEnabled = false
        config.server.httpListenAddress = "127.0.0.1"
        config.server.httpListenPort = 3100
        config.common.pathPrefix = "./data"
        config.common.storage.filesystem.chunksDirectory = "./data/chunks"
        config.common.replicationFactor = 1
        config.schemaConfig.configs = [
            PeriodConfig(from: CalendarDay(year: 2024, month: 1, day: 1), store: "tsdb", objectStore: "filesystem",
                         schema: "v13", index: IndexConfig(prefix: "index_", period: .seconds(24 * 3600))),
        ]
        config.ingester.chunkEncoding = .snappy
        return config
    }
}
